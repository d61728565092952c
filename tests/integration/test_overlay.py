"""Multi-host overlay networks for real: three simulated hosts on an underlay, etcd as store.

Topology (every namespace made by the harness and deleted afterwards)::

    h1, h2, h3   "hosts": a netns each with its own pynet state/run dirs and eth0 on ...
    underlay     a bridge 203.0.113.0/24 joining the hosts' eth0; etcd listens on .254

Each host joins with a 2 s lease TTL so liveness tests stay short. The firewall is on, as
for a user: every host has pynet's nftables table while the overlay carries traffic.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time

import pytest

from harness import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not shutil.which("etcd") or not shutil.which("bridge"), reason="needs etcd and iproute2's bridge"
    ),
]

TTL = 2
SUBNET = "10.10.0.0/24"


class Cluster:
    def __init__(self, hosts, ul) -> None:
        self.hosts = hosts
        self.ul = ul
        self.store = ul.etcd_url.replace("http://", "etcd://")

    def join(self, host) -> str:
        return host.pynet(
            "cluster", "join", "--store", self.store, "--advertise-addr", self.ul.ip_of(host), "--ttl", TTL
        ).stdout

    def etcd_keys(self, prefix: str) -> list[str]:
        out = self.ul.etcdctl("get", "--prefix", "--keys-only", prefix).stdout
        return [line for line in out.splitlines() if line.strip()]


@pytest.fixture
def cluster(hosts, underlay):
    hs = hosts(3)
    ul = underlay(hs)
    ul.start_etcd()
    c = Cluster(hs, ul)
    for h in hs:
        assert "joined the cluster" in c.join(h)
    yield c
    from pynet.daemon import client

    for h in hs:
        client.stop(run_dir=h.run_dir)


def ip_of(host, container: str, network: str = "ov1") -> str:
    return host.pynet(
        "inspect", "-f", '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % network, container
    ).stdout.strip()


def vxlan_dev(host, network: str = "ov1") -> str:
    info = host.pynet_json("network", "inspect", network)[0]
    return "vx-" + info["Options"]["com.docker.network.driver.overlay.vxlanid_list"]


def bridge_name(host, network: str = "ov1") -> str:
    return "ov-" + host.pynet_json("network", "inspect", network)[0]["Id"][:12]


def fdb(host, dev: str) -> str:
    return host.sh(f"bridge fdb show dev {dev} 2>/dev/null || true").stdout


def neigh(host, dev: str) -> str:
    return host.sh(f"ip neigh show dev {dev} 2>/dev/null || true").stdout


def overlay_links(host) -> list[str]:
    names = [link["ifname"] for link in host.ip_json("link", "show")]
    return [n for n in names if n.startswith(("ov-", "vx-"))]


def test_cross_host_ping_by_ip_and_name_then_removal_cleans_every_host(cluster):
    h1, h2, h3 = cluster.hosts
    nodes = h1.pynet("cluster", "ls").stdout
    assert nodes.count(" alive") == 3, nodes
    assert "already part of the cluster" in cluster.join(h1)  # idempotent

    enc = h1.pynet("network", "create", "-d", "overlay", "-o", "encrypted", "x", check=False)
    assert enc.returncode == 1 and "IPsec (ESP)" in enc.stderr

    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    h1.pynet("network", "create", "-d", "overlay", "closed")
    ls = h2.pynet("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").stdout
    assert "ov1 overlay global" in ls and "closed overlay global" in ls
    dup = h3.pynet("network", "create", "-d", "overlay", "ov1", check=False)
    assert "network with name ov1 already exists" in dup.stderr

    denied = h2.pynet("run", "--rm", "--network", "closed", "true", check=False)
    assert denied.returncode == 125
    assert "network closed not manually attachable" in denied.stderr

    h1.pynet("run", "-d", "--name", "alpha", "--network", "ov1", "--network-alias", "web", "sleep", "1000")
    ip_a = ip_of(h1, "alpha")
    assert ip_a.startswith("10.10.0.")
    # From another host: by name (embedded DNS knows remote containers) and by alias.
    h2.pynet("run", "--rm", "--network", "ov1", "ping", "-c1", "-W2", "alpha", timeout=30)
    h3.pynet("run", "-d", "--name", "gamma", "--network", "ov1", "sleep", "1000")
    h3.in_sandbox("gamma", f"ping -c1 -W2 {ip_a}")
    h3.in_container("gamma", "ping -c1 -W2 web")
    h1.in_sandbox("alpha", f"ping -c1 -W2 {ip_of(h3, 'gamma')}")
    for h in (h1, h3):  # the traffic above crossed pynet's firewall, which is active
        assert "table inet pynet" in h.sh("nft list tables").stdout
        assert bridge_name(h1) in h.sh("nft list table inet pynet").stdout

    inspect = h1.pynet_json("network", "inspect", "ov1")[0]
    assert inspect["Scope"] == "global" and inspect["Driver"] == "overlay"
    assert inspect["IPAM"]["Config"][0]["Subnet"] == SUBNET
    assert {p["IP"] for p in inspect["Peers"]} == {cluster.ul.ip_of(h1), cluster.ul.ip_of(h3)}
    dev = vxlan_dev(h1)
    details = h1.sh(f"ip -d link show {dev}").stdout
    assert "dstport 4789" in details and "nolearning" in details and "mtu 1450" in details

    busy = h2.pynet("network", "rm", "ov1", check=False)
    assert busy.returncode == 1 and "has active endpoints" in busy.stderr

    h1.pynet("rm", "-f", "alpha")
    h3.pynet("rm", "-f", "gamma")
    h2.pynet("network", "rm", "ov1", "closed")
    for h in cluster.hosts:
        names = h.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert "ov1" not in names and "closed" not in names
        assert overlay_links(h) == []
    for prefix in ("/pynet/networks/", "/pynet/ipam/", "/pynet/endpoints/"):
        assert cluster.etcd_keys(prefix) == []

    for h in cluster.hosts:
        assert "left the cluster" in h.pynet("cluster", "leave").stdout
        assert "not part of a cluster" in h.pynet("cluster", "leave").stdout  # idempotent
    assert cluster.etcd_keys("/pynet/nodes/") == []
    refused = h1.pynet("network", "create", "-d", "overlay", "ov9", check=False)
    assert refused.returncode == 1 and "not part of a cluster" in refused.stderr


def test_concurrent_runs_on_every_host_get_distinct_addresses(cluster):
    h1, h2, h3 = cluster.hosts
    h2.pynet("network", "create", "-d", "overlay", "--attachable", "ov1")  # subnet from 10.0.0.0/8
    subnet = h3.pynet_json("network", "inspect", "ov1")[0]["IPAM"]["Config"][0]["Subnet"]
    assert subnet == "10.0.0.0/24"
    errors: list[str] = []

    def start(host, name: str) -> None:
        cp = host.pynet("run", "-d", "--name", name, "--network", "ov1", "sleep", "1000", check=False)
        if cp.returncode:
            errors.append(cp.stderr)

    threads = [threading.Thread(target=start, args=(h, f"{h.label}-c{i}")) for i in range(3) for h in cluster.hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors, errors
    ips = [ip_of(h, f"{h.label}-c{i}") for i in range(3) for h in cluster.hosts]
    assert len(set(ips)) == 9 and all(ip.startswith("10.0.0.") for ip in ips), ips
    assert len(cluster.etcd_keys("/pynet/ipam/")) == 9
    # every host reaches every other host's containers
    h1.in_sandbox("h1-c0", f"ping -c1 -W2 {ip_of(h2, 'h2-c2')}")
    h3.in_sandbox("h3-c1", f"ping -c1 -W2 {ip_of(h1, 'h1-c1')}")


def test_a_dead_node_is_withdrawn_everywhere_within_the_ttl(cluster):
    h1, h2, h3 = cluster.hosts
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    for h in cluster.hosts:
        h.pynet("run", "-d", "--name", f"on-{h.label}", "--network", "ov1", "sleep", "1000")
    vtep3, ip3 = cluster.ul.ip_of(h3), ip_of(h3, "on-h3")
    dev = vxlan_dev(h1)
    for h in (h1, h2):
        wait_for(
            lambda h=h: vtep3 in fdb(h, dev) and ip3 in neigh(h, dev),
            timeout=3,
            desc=f"{h.label} to program h3's endpoint",
        )
    h1.in_container("on-h1", "ping -c1 -W2 on-h3")
    assert ip3 in dig(h2, "on-h2", "on-h3")

    from pynet.daemon import client

    pid = client.daemon_pid(h3.run_dir)
    assert pid
    os.kill(pid, signal.SIGKILL)
    cluster.ul.unplug(h3)
    killed = time.monotonic()
    for h in (h1, h2):
        wait_for(
            lambda h=h: vtep3 not in fdb(h, dev) and ip3 not in neigh(h, dev),
            timeout=TTL + 3,
            desc=f"{h.label} to withdraw h3's endpoint",
        )
    withdrawn = time.monotonic() - killed
    assert withdrawn < TTL + 2, withdrawn
    status = node_status(h1)
    assert status == {cluster.ul.ip_of(h1): "alive", cluster.ul.ip_of(h2): "alive", vtep3: "down"}
    # the others still talk to each other, and no longer resolve the dead node's container
    h2.in_sandbox("on-h2", f"ping -c1 -W2 {ip_of(h1, 'on-h1')}")
    assert ip3 not in dig(h1, "on-h1", "on-h3")


def node_status(host) -> dict[str, str]:
    """``cluster ls`` as {underlay address: alive|down}."""
    return {line.split()[-2]: line.split()[-1] for line in host.pynet("cluster", "ls").stdout.splitlines()[1:]}


def dig(host, container: str, name: str) -> str:
    return host.in_sandbox(container, f"dig +short +time=1 +tries=1 @127.0.0.11 {name}", check=False).stdout


def test_store_down_global_commands_fail_fast_local_networks_still_work(cluster):
    h1 = cluster.hosts[0]
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "ov1")
    h1.pynet("run", "-d", "--name", "stays", "--network", "ov1", "sleep", "1000")
    cluster.ul.stop_etcd()
    started = time.monotonic()
    failed = h1.pynet("network", "create", "-d", "overlay", "ov2", check=False)
    took = time.monotonic() - started
    assert failed.returncode == 1, failed
    assert "cannot reach the cluster store at etcd://" in failed.stderr
    assert took < 6, took
    h1.pynet("network", "create", "--subnet", "172.30.0.0/24", "local1")
    out = h1.pynet("run", "--rm", "--network", "local1", "sh", "-c", "ip -4 -o addr show eth0").stdout
    assert "172.30.0.2/24" in out
    names = h1.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert "ov1" in names and "local1" in names  # the last known global networks stay listed
    # A container on the overlay can still be removed; the cluster records follow later.
    h1.pynet("rm", "-f", "stays")
    assert overlay_links(h1) == []
    cluster.ul.start_etcd()
    h1.pynet("network", "ls")  # the next command replays the cleanup
    assert cluster.etcd_keys("/pynet/ipam/") == [] and cluster.etcd_keys("/pynet/endpoints/") == []
    h1.pynet("network", "rm", "ov1")


def test_an_address_last_used_on_another_host_is_reachable_at_once(cluster):
    """Issue #10.9: the MAC follows the IP, so bridges must not keep a learnt remote entry."""
    h1, h2, h3 = cluster.hosts
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    h1.pynet("run", "-d", "--name", "a1", "--network", "ov1", "sleep", "1000")
    h2.pynet("run", "-d", "--name", "c2", "--network", "ov1", "sleep", "1000")
    h3.pynet("run", "-d", "--name", "b3", "--network", "ov1", "sleep", "1000")
    ip_b, dev = ip_of(h3, "b3"), vxlan_dev(h1)
    h1.in_sandbox("a1", f"ping -c1 -W2 {ip_b}")  # replies from b3 cross h1's and h2's bridge
    h2.in_sandbox("c2", f"ping -c1 -W2 {ip_b}")
    h3.pynet("rm", "-f", "b3")
    h1.pynet("run", "-d", "--name", "n1", "--network", "ov1", "--ip", ip_b, "sleep", "1000")
    vtep1 = cluster.ul.ip_of(h1)
    wait_for(
        lambda: f"dst {vtep1}" in fdb(h2, dev) and ip_b in neigh(h2, dev), timeout=5, desc="h2 to program n1 on h1"
    )
    # no learning on the tunnel port: the bridge's own table has no entry pointing into it
    port = h1.sh(f"bridge -d -j link show dev {dev}").stdout
    assert '"learning":false' in port.replace(" ", ""), port
    # ... but a static one per remote MAC (c2 on h2), none for the new local holder
    mac = '{{(index .NetworkSettings.Networks "ov1").MacAddress}}'
    mac_n1, mac_c2 = (h.pynet("inspect", "-f", mac, c).stdout.strip() for h, c in ((h1, "n1"), (h2, "c2")))
    static = {
        e["mac"]
        for e in json.loads(h1.sh(f"bridge -j fdb show dev {dev}").stdout)
        if e.get("master") and e.get("state") == "static"
    }
    assert static == {mac_c2} and mac_n1 != mac_c2, static
    h1.in_sandbox("a1", f"ping -c1 -W2 {ip_b}")  # the new local holder, not the tunnel
    h2.in_sandbox("c2", f"ping -c1 -W2 {ip_b}")  # from another host, through h1's bridge
    h1.in_sandbox("n1", f"ping -c1 -W2 {ip_of(h2, 'c2')}")  # positive control, the other way


def test_a_hung_store_costs_a_command_one_short_wait_and_a_warning(cluster):
    """Issue #10.9: a store that accepts but never answers (SIGSTOP): one 1.5 s wait per command."""
    h1 = cluster.hosts[0]
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "ov1")
    etcd = cluster.ul.etcd
    os.kill(etcd.pid, signal.SIGSTOP)
    try:
        failed = h1.pynet("network", "create", "-d", "overlay", "ov2", check=False)
        assert failed.returncode == 1, failed
        assert "cannot reach the cluster store at etcd://" in failed.stderr
        # the sync's wait (1.5 s) is the only one: the create's own call (3 s) no longer waits
        # again (was 7.7 s in all); the unit test counts the connections
        assert "no answer within 1.5 s" in failed.stderr, failed.stderr
        nodes = h1.pynet("cluster", "ls", check=False)
        assert nodes.returncode == 1 and "no answer within 1.5 s" in nodes.stderr
        listed = h1.pynet("network", "ls", "--format", "{{.Name}}", check=False)
        assert listed.returncode == 0 and "ov1" in listed.stdout.split()
        assert "WARNING: cannot reach the cluster store" in listed.stderr, listed.stderr  # was silent
    finally:
        os.kill(etcd.pid, signal.SIGCONT)
    assert "WARNING" not in h1.pynet("network", "ls").stderr  # positive control: store back
    h1.pynet("network", "rm", "ov1")


def test_a_partitioned_node_is_not_removed_without_force(cluster):
    """Issue #10.9: `cluster rm` of a node that is only cut off handed its addresses out again."""
    h1, h2, h3 = cluster.hosts
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    h1.pynet("run", "-d", "--name", "a1", "--network", "ov1", "sleep", "1000")
    h3.pynet("run", "-d", "--name", "b3", "--network", "ov1", "sleep", "1000")
    ip_b, vtep3 = ip_of(h3, "b3"), cluster.ul.ip_of(h3)
    cluster.ul.unplug(h3)  # a partition: h3 and its helper keep running
    try:
        wait_for(lambda: node_status(h1).get(vtep3) == "down", timeout=TTL + 5, desc="h3 to show as down")
        refused = h1.pynet("cluster", "rm", vtep3, check=False)
        assert refused.returncode == 1, refused
        assert "may only be cut off from the cluster store" in refused.stderr
        assert "Use --force" in refused.stderr
        taken = h2.pynet("run", "--rm", "--network", "ov1", "--ip", ip_b, "true", check=False)
        assert taken.returncode == 125 and "Address already in use" in taken.stderr, taken
    finally:
        cluster.ul.plug(h3)
    # the node comes back with its container and address intact, reachable again
    dev = vxlan_dev(h1)
    # (the helper retries with a backoff of up to 8 s; its watch notices a dead link in ~11 s)
    wait_for(lambda: ip_b in neigh(h1, dev), timeout=30, desc="h3's endpoint to be programmed again")
    # h3's underlay ARP entry for h1 may be FAILED from the partition: its first reply can be lost
    wait_for(
        lambda: h1.in_sandbox("a1", f"ping -c1 -W1 {ip_b}", check=False).returncode == 0,
        timeout=10,
        desc="a1 to reach b3 again",
    )


def test_cleanups_queued_during_a_partition_are_replayed_by_the_helper_on_heal(cluster):
    """Issue #10.9: they waited for the next pynet command on that host."""
    h1, h2, h3 = cluster.hosts
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    h1.pynet("run", "-d", "--name", "a1", "--network", "ov1", "sleep", "1000")
    h3.pynet("run", "-d", "--name", "q3", "--network", "ov1", "sleep", "1000")
    ip_q, dev = ip_of(h3, "q3"), vxlan_dev(h1)
    wait_for(lambda: ip_q in neigh(h1, dev), timeout=5, desc="h1 to program q3")
    cluster.ul.unplug(h3)
    try:
        gone = h3.pynet("rm", "-f", "q3")  # local objects go now, the store's records later
        assert "cluster records will be cleaned up later" in gone.stderr, gone.stderr
    finally:
        cluster.ul.plug(h3)
    # no pynet command on h3 from here on: its helper replays the queue once the store answers
    node3 = json.loads((h3.state_dir / "cluster.json").read_text())["node_id"]
    wait_for(
        lambda: (
            not [k for k in cluster.etcd_keys("/pynet/ipam/") if k.endswith("/" + ip_q)]
            and not [k for k in cluster.etcd_keys("/pynet/endpoints/") if f"/{node3}/" in k]
        ),
        timeout=30,
        desc="h3's helper to clean q3's address and endpoint records",
    )
    assert not (h3.state_dir / "cluster-outbox.json").exists()
    # the other hosts drop its peer entries (h3 is alive again, so they were put back)
    wait_for(lambda: node_status(h1).get(cluster.ul.ip_of(h3)) == "alive", timeout=10, desc="h3 alive")
    wait_for(lambda: ip_q not in neigh(h1, dev), timeout=5, desc="h1 to withdraw q3")
    assert [k for k in cluster.etcd_keys("/pynet/ipam/") if k.endswith("/" + ip_of(h1, "a1"))]  # control
    h2.pynet("run", "--rm", "--network", "ov1", "--ip", ip_q, "true")  # the address is free again


def test_a_store_stall_longer_than_the_ttl_does_not_flap_the_peers(cluster):
    """Issue #10.9: every lease expired at once, so every helper withdrew every peer and reinstalled it."""
    h1, h2, h3 = cluster.hosts
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    h1.pynet("run", "-d", "--name", "a1", "--network", "ov1", "sleep", "1000")
    h3.pynet("run", "-d", "--name", "b3", "--network", "ov1", "sleep", "1000")
    ip_b, dev = ip_of(h3, "b3"), vxlan_dev(h1)
    wait_for(lambda: ip_b in neigh(h1, dev), timeout=5, desc="h1 to program b3")
    monitor = h1.spawn("ip", "monitor", "neigh", "dev", dev)  # every change of h1's entries
    time.sleep(0.5)  # (let the monitor subscribe)
    etcd = cluster.ul.etcd
    os.kill(etcd.pid, signal.SIGSTOP)
    try:
        time.sleep(TTL + 2)  # longer than the lease TTL: every lease has run out
    finally:
        os.kill(etcd.pid, signal.SIGCONT)
    # the leases are renewed (or replaced) and every node is alive again ...
    wait_for(lambda: set(node_status(h1).values()) == {"alive"}, timeout=15, desc="every node alive")
    time.sleep(TTL)  # (time for a withdrawal, had there been one)
    monitor.terminate()
    monitor.wait(timeout=5)
    events = monitor.log.read_text()
    # ... and h1 never withdrew b3's entry (nor its name); it still reaches b3
    assert f"Deleted {ip_b}" not in events, events
    assert ip_b in neigh(h1, dev) and ip_b in dig(h1, "a1", "b3")
    h1.in_sandbox("a1", f"ping -c1 -W2 {ip_b}")
    # positive control: the monitor sees a real withdrawal
    h3.pynet("rm", "-f", "b3")
    wait_for(lambda: ip_b not in neigh(h1, dev), timeout=5, desc="h1 to withdraw b3")


FAULT_POINTS = ("ipam_reserve", "bridge_add", "veth_add", "netns_config", "nft_apply", "state_commit")


def test_a_failure_or_kill_in_any_overlay_step_leaves_before_or_complete(cluster):
    """testing.md "Fault injection", for an overlay `run` (etcd records included)."""
    h1, h2, _ = cluster.hosts
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    h2.pynet("run", "-d", "--name", "peer", "--network", "ov1", "sleep", "1000")

    def picture() -> tuple:
        links = sorted(
            n for n in (link["ifname"] for link in h1.ip_json("link", "show")) if n.startswith(("ov-", "vx-", "veth"))
        )
        return links, cluster.etcd_keys("/pynet/ipam/"), cluster.etcd_keys("/pynet/endpoints/")

    before = picture()
    assert before[0] == [] and len(before[1]) == len(before[2]) == 1
    outcomes = {}
    for var in ("PYNET_FAULT", "PYNET_FAULT_KILL"):
        for point in FAULT_POINTS:
            failed = h1.pynet(
                "run", "-d", "--name", "ff1", "--network", "ov1", "sleep", "1000", env={var: point}, check=False
            )
            assert failed.returncode != 0, (var, point, failed)
            names = h1.pynet("ps", "-a", "--format", "{{.Names}}").stdout.split()  # recovers
            assert not (h1.state_dir / "journal.json").exists()
            if "ff1" in names:  # complete: the commit was written before the kill
                links, ipam, eps = picture()
                assert len(ipam) == len(eps) == 2 and any(n.startswith("ov-") for n in links), (var, point)
                h1.pynet("rm", "-f", "ff1")
                outcomes[(var, point)] = "complete"
            else:
                outcomes[(var, point)] = "before"
            assert picture() == before, (var, point, picture())
    assert outcomes[("PYNET_FAULT", "bridge_add")] == "before"  # the others are either
    h1.pynet("run", "-d", "--name", "ff1", "--network", "ov1", "sleep", "1000")  # positive control
    h1.in_sandbox("ff1", f"ping -c1 -W2 {ip_of(h2, 'peer')}")


def test_a_node_removed_while_cut_off_reconciles_on_return(cluster):
    """Issue #10.9: after `cluster rm -f` it came back a zombie, its address held twice."""
    h1, _, h3 = cluster.hosts
    h1.pynet("network", "create", "-d", "overlay", "--attachable", "--subnet", SUBNET, "ov1")
    h1.pynet("run", "-d", "--name", "a1", "--network", "ov1", "sleep", "1000")
    h3.pynet("run", "-d", "--name", "b3", "--network", "ov1", "sleep", "1000")  # its address goes
    h3.pynet("run", "-d", "--name", "k3", "--network", "ov1", "sleep", "1000")  # its address stays
    ip_b, ip_k, vtep3 = ip_of(h3, "b3"), ip_of(h3, "k3"), cluster.ul.ip_of(h3)
    sandbox_b = h3.sandbox_key("b3")
    node3 = json.loads((h3.state_dir / "cluster.json").read_text())["node_id"]
    cluster.ul.unplug(h3)
    try:
        wait_for(lambda: node_status(h1).get(vtep3) == "down", timeout=TTL + 5, desc="h3 to show as down")
        h1.pynet("cluster", "rm", "--force", vtep3)
        h1.pynet("run", "-d", "--name", "n1", "--network", "ov1", "--ip", ip_b, "sleep", "1000")
    finally:
        cluster.ul.plug(h3)
    # no pynet command on h3: its helper notices the removal and reconciles
    wait_for(lambda: node_status(h1).get(vtep3) == "alive", timeout=30, desc="h3 to register again")
    wait_for(
        lambda: [k for k in cluster.etcd_keys("/pynet/endpoints/") if f"/{node3}/" in k] != [],
        timeout=10,
        desc="h3 to publish k3 again",
    )
    owners = {
        k.rsplit("/", 1)[1]: json.loads(cluster.ul.etcdctl("get", "--print-value-only", k).stdout)
        for k in cluster.etcd_keys("/pynet/ipam/")
    }
    assert owners[ip_b]["node"] != node3 and owners[ip_k]["node"] == node3, owners
    # b3 no longer holds the address that n1 holds now; k3 kept its own and is reachable again
    wait_for(
        lambda: ip_b not in h3.in_sandbox(sandbox_b, "ip -o addr").stdout,
        timeout=10,
        desc="b3 to be disconnected from ov1",
    )
    h1.in_sandbox("a1", f"ping -c1 -W2 {ip_b}")  # n1, on h1
    wait_for(
        lambda: h1.in_sandbox("a1", f"ping -c1 -W1 {ip_k}", check=False).returncode == 0,
        timeout=10,
        desc="a1 to reach k3 on h3",
    )
    assert (
        "b3" not in h3.pynet("network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", "ov1").stdout.split()
    )
