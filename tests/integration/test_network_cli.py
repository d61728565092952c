"""`pynet network ...` against Docker 20.10: output, JSON shape, messages, exit codes,
and what the kernel shows (every test runs in a throwaway host namespace).

Docker's reference outputs (``tests/reference/docker/``) are embedded below so the
suite runs on a fresh clone.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

from harness import Host, mounts_under

pytestmark = pytest.mark.integration

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX12 = re.compile(r"^[0-9a-f]{12}$")


# -- Docker 20.10 reference (docker network inspect / ls) ----------------------------------

CUSTOM_FLAGS = [
    "-d",
    "bridge",
    "--subnet",
    "10.50.0.0/24",
    "--gateway",
    "10.50.0.254",
    "--ip-range",
    "10.50.0.128/25",
    "--aux-address",
    "host1=10.50.0.5",
    "--label",
    "env=dev",
    "--label",
    "team=net",
    "-o",
    "com.docker.network.bridge.name=br-custom",
    "-o",
    "com.docker.network.driver.mtu=1400",
]

DOCKER_INSPECT_CUSTOM = {
    "Name": "custom",
    "Id": "ef36114e0ec07913705b8c8b2d2eced324455a1bc72e17b00b3a6b70a3de3bd3",
    "Created": "2026-11-27T21:52:52.514980298Z",
    "Scope": "local",
    "Driver": "bridge",
    "EnableIPv6": False,
    "IPAM": {
        "Driver": "default",
        "Options": {},
        "Config": [
            {
                "Subnet": "10.50.0.0/24",
                "IPRange": "10.50.0.128/25",
                "Gateway": "10.50.0.254",
                "AuxiliaryAddresses": {"host1": "10.50.0.5"},
            }
        ],
    },
    "Internal": False,
    "Attachable": False,
    "Ingress": False,
    "ConfigFrom": {"Network": ""},
    "ConfigOnly": False,
    "Containers": {},
    "Options": {"com.docker.network.bridge.name": "br-custom", "com.docker.network.driver.mtu": "1400"},
    "Labels": {"env": "dev", "team": "net"},
}


def _builtin(name: str, driver: str, config: list, ipam_options: Any, options: dict) -> dict:
    return {
        "Name": name,
        "Id": "0" * 64,
        "Created": "2026-11-27T21:51:16.5966629Z",
        "Scope": "local",
        "Driver": driver,
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": ipam_options, "Config": config},
        "Internal": False,
        "Attachable": False,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {},
        "Options": options,
        "Labels": {},
    }


DOCKER_INSPECT_BUILTINS = {
    "bridge": _builtin(
        "bridge",
        "bridge",
        [{"Subnet": "172.17.0.0/16"}],
        None,
        {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": "docker0",
            "com.docker.network.driver.mtu": "1500",
        },
    ),
    "host": _builtin("host", "host", [], None, {}),
    "none": _builtin("none", "null", [], None, {}),
}

DOCKER_INSPECT_INTERNAL = {
    **DOCKER_INSPECT_CUSTOM,
    "Name": "internalnet",
    "Internal": True,
    "Options": {},
    "Labels": {},
    "IPAM": {"Driver": "default", "Options": {}, "Config": [{"Subnet": "172.25.0.0/16", "Gateway": "172.25.0.1"}]},
}

DOCKER_CONTAINERS_ENTRY = {
    "Name": "c1",
    "EndpointID": "2fdf073552f4659695623e488de0d90dfef1974b4beb165aaba84ba2845cf952",
    "MacAddress": "02:42:ac:12:00:02",
    "IPv4Address": "172.18.0.2/16",
    "IPv6Address": "",
}

DOCKER_LS = """\
NETWORK ID     NAME          DRIVER    SCOPE
325db63ba756   bridge        bridge    local
ef36114e0ec0   custom        bridge    local
5a8954ffed70   host          host      local
77d80bcb99a2   internalnet   bridge    local
eafad29990a4   mynet         bridge    local
3c6765a9ade3   none          null      local
60b9b4324222   v6net         bridge    local
"""

DOCKER_LS_JSON_LINE = {
    "CreatedAt": "2026-11-27 21:51:16.5966629 +0000 UTC",
    "Driver": "bridge",
    "ID": "325db63ba756",
    "IPv6": "false",
    "Internal": "false",
    "Labels": "",
    "Name": "bridge",
    "Scope": "local",
}


def tabwrite(rows: list[list[str]]) -> str:
    """docker/cli's table writer: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)."""
    widths = [max(10, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]) - 1)]
    return "".join("".join(c.ljust(w) for c, w in zip(r, widths)) + r[-1] + "\n" for r in rows)


def test_table_writer_matches_docker_reference() -> None:
    """Self-check of the expected-output builder used below."""
    rows = [line.split() for line in DOCKER_LS.splitlines()]
    rows[0] = ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]
    assert tabwrite(rows) == DOCKER_LS


def shape(value: Any) -> Any:
    """Keys, nesting and JSON types of ``value`` (64-hex keys, i.e. IDs, become "<id>")."""
    if isinstance(value, dict):
        return {("<id>" if HEX64.match(k) else k): shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


# -- helpers ---------------------------------------------------------------------------


def create(host: Host, name: str, *flags: str) -> str:
    out = host.pynet("network", "create", *flags, name).stdout
    assert HEX64.match(out.strip()), f"create printed {out!r}, not a 64-hex ID"
    assert out.endswith("\n") and out.count("\n") == 1
    return out.strip()


def inspect_net(host: Host, *refs: str) -> list[dict]:
    return host.pynet_json("network", "inspect", *refs)


def links(host: Host, *args: str) -> dict[str, dict]:
    return {link["ifname"]: link for link in host.ip_json("link", "show", *args)}


def bridge_of(net: dict) -> str:
    return net["Options"].get("com.docker.network.bridge.name") or f"br-{net['Id'][:12]}"


def expect_error(host: Host, args: list[str], stderr: str, *, code: int = 1, stdout: str = "") -> None:
    """``pynet args`` fails with exactly Docker's stderr line, exit code and stdout."""
    cp = host.pynet(*args, check=False)
    assert (cp.returncode, cp.stderr, cp.stdout) == (code, stderr, stdout), f"pynet {' '.join(args)}"


def state_listing(host: Host) -> list[str]:
    """Every file under the state dir, except the lock file, the events log and empty name indexes."""
    root = host.state_dir
    out = []
    for path in root.rglob("*"):
        if path.is_dir() or path.name in ("pynet.lock", "events.log", "events.log.1"):
            continue  # the events log keeps what happened, by design (bounded: docs/events.md)
        if path.name == "_names.json" and json.loads(path.read_text()) == {}:
            continue
        out.append(str(path.relative_to(root)))
    return sorted(out)


def pynet_links(host: Host) -> list[str]:
    """Links in the host netns that pynet makes: bridges and veths (lo and pynet0 aside)."""
    return sorted(n for n, link in links(host).items() if n.startswith(("br-", "veth")) or n == "br-custom")


# -- create / ls / inspect ---------------------------------------------------------------


def test_builtin_networks_exist_from_first_use(host: Host) -> None:
    out = host.pynet("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").stdout
    assert out == "bridge bridge local\nhost host local\nnone null local\n"
    nets = {n["Name"]: n for n in inspect_net(host, "bridge", "host", "none")}
    for name, ref in DOCKER_INSPECT_BUILTINS.items():
        assert shape(nets[name]) == shape(ref), name
        assert list(nets[name]) == list(ref), f"{name}: key order differs from Docker"
        assert HEX64.match(nets[name]["Id"])
    bridge = nets["bridge"]
    assert bridge["Options"]["com.docker.network.bridge.name"] == "pynet0"
    assert bridge["IPAM"]["Config"] == [{"Subnet": "172.17.0.0/16"}]  # nothing else on this host
    assert set(bridge["Options"]) == set(DOCKER_INSPECT_BUILTINS["bridge"]["Options"])
    # the same IDs on every later call: built once, stored
    again = {n["Name"]: n["Id"] for n in inspect_net(host, "bridge", "host", "none")}
    assert again == {k: v["Id"] for k, v in nets.items()}


@pytest.mark.parametrize("name", ["bridge", "host", "none"])
def test_builtin_networks_cannot_be_removed(host: Host, name: str) -> None:
    expect_error(
        host,
        ["network", "rm", name],
        f"Error response from daemon: {name} is a pre-defined network and cannot be removed\n",
    )
    assert inspect_net(host, name)[0]["Name"] == name


def test_create_prints_id_and_makes_the_bridge(host: Host) -> None:
    net_id = create(host, "mynet", "--subnet", "10.1.0.0/24")
    br = f"br-{net_id[:12]}"
    link = links(host, "type", "bridge")[br]
    assert "UP" in link["flags"]
    addrs = host.ip_json("-4", "addr", "show", "dev", br)[0]["addr_info"]
    assert [(a["local"], a["prefixlen"]) for a in addrs] == [("10.1.0.1", 24)]
    [net] = inspect_net(host, "mynet")
    assert net["Id"] == net_id and net["Name"] == "mynet" and net["Driver"] == "bridge"
    assert net["IPAM"]["Config"] == [{"Subnet": "10.1.0.0/24"}]  # Docker hides the implied gateway
    # lookups: full ID, unique prefix, name
    for ref in (net_id, net_id[:5], "mynet"):
        assert inspect_net(host, ref)[0]["Id"] == net_id


def test_automatic_subnets_follow_dockers_pools(host: Host) -> None:
    first = create(host, "auto1")
    second = create(host, "auto2")
    nets = {n["Name"]: n for n in inspect_net(host, first, second)}
    # 172.17/16 belongs to the default bridge; user networks continue at 172.18, 172.19
    assert nets["auto1"]["IPAM"]["Config"] == [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]
    assert nets["auto2"]["IPAM"]["Config"] == [{"Subnet": "172.19.0.0/16", "Gateway": "172.19.0.1"}]
    # a subnet already routed on the host is skipped
    host.sh(
        "ip link add lanx type veth peer name lany && ip addr add 172.20.0.1/16 dev lanx "
        "&& ip link set lanx up && ip link set lany up"
    )
    create(host, "auto3")
    assert inspect_net(host, "auto3")[0]["IPAM"]["Config"][0]["Subnet"] == "172.21.0.0/16"


def test_inspect_shape_equals_docker_for_the_same_flags(host: Host) -> None:
    net_id = create(host, "custom", *CUSTOM_FLAGS)
    [net] = inspect_net(host, "custom")
    assert shape(net) == shape(DOCKER_INSPECT_CUSTOM)
    assert list(net) == list(DOCKER_INSPECT_CUSTOM), "top-level key order differs from Docker"
    assert list(net["IPAM"]["Config"][0]) == list(DOCKER_INSPECT_CUSTOM["IPAM"]["Config"][0])
    # the values that do not depend on time or randomness are Docker's too
    for key in (
        "Name",
        "Scope",
        "Driver",
        "EnableIPv6",
        "IPAM",
        "Internal",
        "Attachable",
        "Ingress",
        "ConfigFrom",
        "ConfigOnly",
        "Containers",
        "Options",
        "Labels",
    ):
        assert net[key] == DOCKER_INSPECT_CUSTOM[key], key
    assert net["Id"] == net_id
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$", net["Created"])
    # the kernel agrees: named bridge, MTU 1400, gateway 10.50.0.254/24
    link = links(host, "type", "bridge")["br-custom"]
    assert link["mtu"] == 1400
    addrs = host.ip_json("-4", "addr", "show", "dev", "br-custom")[0]["addr_info"]
    assert [(a["local"], a["prefixlen"]) for a in addrs] == [("10.50.0.254", 24)]
    # inspect output is Docker's 4-space indented array
    text = host.pynet("network", "inspect", "custom").stdout
    assert text.startswith('[\n    {\n        "Name": "custom",\n')
    assert text.endswith("\n]\n")


def test_internal_network_shape(host: Host) -> None:
    create(host, "internalnet", "--internal")
    [net] = inspect_net(host, "internalnet")
    assert shape(net) == shape(DOCKER_INSPECT_INTERNAL)
    assert net["Internal"] is True


def test_inspect_format_and_several_networks(host: Host) -> None:
    create(host, "n1", "--subnet", "10.1.0.0/24", "--label", "env=dev")
    create(host, "n2", "--subnet", "10.2.0.0/24")
    out = host.pynet("network", "inspect", "-f", "{{.Name}} {{json .IPAM.Config}} {{.Labels.env}}", "n1", "n2").stdout
    assert out == 'n1 [{"Subnet":"10.1.0.0/24"}] dev\nn2 [{"Subnet":"10.2.0.0/24"}] <no value>\n'
    assert [n["Name"] for n in inspect_net(host, "n2", "n1")] == ["n2", "n1"]


def test_ls_table_quiet_notrunc(host: Host) -> None:
    ids = {"custom": create(host, "custom", *CUSTOM_FLAGS), "mynet": create(host, "mynet")}
    ids.update({n["Name"]: n["Id"] for n in inspect_net(host, "bridge", "host", "none")})
    drivers = {"bridge": "bridge", "custom": "bridge", "host": "host", "mynet": "bridge", "none": "null"}
    order = sorted(ids)
    expected = tabwrite(
        [["NETWORK ID", "NAME", "DRIVER", "SCOPE"]] + [[ids[n][:12], n, drivers[n], "local"] for n in order]
    )
    assert host.pynet("network", "ls").stdout == expected
    assert host.pynet("network", "list").stdout == expected
    notrunc = tabwrite([["NETWORK ID", "NAME", "DRIVER", "SCOPE"]] + [[ids[n], n, drivers[n], "local"] for n in order])
    assert host.pynet("network", "ls", "--no-trunc").stdout == notrunc
    assert host.pynet("network", "ls", "-q").stdout == "".join(ids[n][:12] + "\n" for n in order)
    assert host.pynet("network", "ls", "-q", "--no-trunc").stdout == "".join(ids[n] + "\n" for n in order)


def test_ls_sorts_names_naturally_like_docker(host: Host) -> None:
    # docker/cli: sort.Slice(..., sortorder.NaturalLess(a.Name, b.Name))
    for name in ("n10", "n2", "n1"):
        create(host, name)
    out = host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert out == ["bridge", "host", "n1", "n2", "n10", "none"]


def test_ls_filters(host: Host) -> None:
    custom = create(host, "custom", *CUSTOM_FLAGS)
    mynet = create(host, "mynet", "--label", "env=prod")
    create(host, "internalnet", "--internal")

    def names(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return host.pynet("network", "ls", *args, "--format", "{{.Name}}").stdout.split()

    # ls-filter.txt: --filter driver=bridge --filter label=env=dev
    assert names("driver=bridge", "label=env=dev") == ["custom"]
    assert names("driver=bridge") == ["bridge", "custom", "internalnet", "mynet"]
    assert names("driver=null") == ["none"]
    assert names("label=env") == ["custom", "mynet"]
    assert names("label=team=net") == ["custom"]
    assert names("name=net") == ["internalnet", "mynet"]  # name: partial match
    assert names("id=" + custom[:6]) == ["custom"]  # id: prefix
    assert names("id=" + mynet) == ["mynet"]
    assert names("type=builtin") == ["bridge", "host", "none"]
    assert names("type=custom") == ["custom", "internalnet", "mynet"]
    assert names("scope=local", "name=custom") == ["custom"]
    assert names("name=custom", "name=mynet") == ["custom", "mynet"]  # same key: OR
    assert names("name=nothing") == []
    # ls-filter.txt is a table with the default columns
    out = host.pynet("network", "ls", "--filter", "driver=bridge", "--filter", "label=env=dev").stdout
    assert out == tabwrite([["NETWORK ID", "NAME", "DRIVER", "SCOPE"], [custom[:12], "custom", "bridge", "local"]])


def test_ls_unknown_filter_is_dockers_error(host: Host) -> None:
    expect_error(host, ["network", "ls", "--filter", "foo=bar"], "Error response from daemon: Invalid filter 'foo'\n")


def test_ls_format_json_and_table(host: Host) -> None:
    create(host, "custom", *CUSTOM_FLAGS)
    out = host.pynet("network", "ls", "--format", "{{json .}}").stdout
    rows = [json.loads(line) for line in out.splitlines() if line]
    assert [r["Name"] for r in rows] == ["bridge", "custom", "host", "none"]
    for row in rows:
        assert sorted(row) == sorted(DOCKER_LS_JSON_LINE)
        assert all(isinstance(v, str) for v in row.values())
        assert HEX12.match(row["ID"])
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$", row["CreatedAt"])
    custom = rows[1]
    assert (custom["Labels"], custom["Internal"], custom["IPv6"], custom["Driver"]) == (
        "env=dev,team=net",
        "false",
        "false",
        "bridge",
    )
    # ls-format-table.txt: --format 'table {{.Name}}\t{{.Driver}}'
    assert out.endswith("}\n") and "\n\n" not in out, "one JSON object per line, nothing else"
    assert host.pynet("network", "ls", "--format", "json").stdout == out
    out = host.pynet("network", "ls", "--format", "table {{.Name}}\t{{.Driver}}").stdout
    assert out == tabwrite(
        [["NAME", "DRIVER"], ["bridge", "bridge"], ["custom", "bridge"], ["host", "host"], ["none", "null"]]
    )


def test_read_only_commands_never_import_pyroute2(host: Host) -> None:
    create(host, "mynet", "--subnet", "10.1.0.0/24")
    probe = (
        "import sys\n"
        "from pynet.cli.main import main\n"
        "sys.argv = ['pynet'] + sys.argv[1:]\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print('PYROUTE2' if 'pyroute2' in sys.modules else 'CLEAN', code, file=sys.stderr)\n"
    )
    for args in (
        ["network", "ls"],
        ["network", "inspect", "mynet"],
        ["ps", "-a"],
        ["network", "ls", "-q"],
        ["inspect", "mynet"],
    ):
        cp = host.sh(sys.executable, "-c", probe, *args, check=False)
        assert cp.stderr.strip().splitlines()[-1] == "CLEAN 0", (args, cp.stderr)


# -- errors (errors.txt) ------------------------------------------------------------------


def test_create_errors_are_dockers(host: Host) -> None:
    create(host, "mynet")
    subnet = inspect_net(host, "mynet")[0]["IPAM"]["Config"][0]["Subnet"]  # 172.18.0.0/16
    inside = subnet.replace(".0.0/16", ".5.0/24")
    create(host, "dup", "--subnet", "10.50.0.0/24")
    before = pynet_links(host)
    expect_error(
        host, ["network", "create", "mynet"], "Error response from daemon: network with name mynet already exists\n"
    )
    expect_error(
        host,
        ["network", "create", "--subnet", inside, "overlapnet"],
        "Error response from daemon: Pool overlaps with other one on this address space\n",
    )
    expect_error(
        host,
        ["network", "create", "--subnet", "10.50.0.0/24", "dupsubnet"],
        "Error response from daemon: Pool overlaps with other one on this address space\n",
    )
    expect_error(
        host,
        ["network", "create", "--subnet", "10.60.0.0/33", "badsubnet"],
        "Error response from daemon: Invalid subnet 10.60.0.0/33 : invalid CIDR address: 10.60.0.0/33\n",
    )
    expect_error(
        host,
        ["network", "create", "--subnet", "notacidr", "badsubnet2"],
        "Error response from daemon: Invalid subnet notacidr : invalid CIDR address: notacidr\n",
    )
    expect_error(
        host,
        ["network", "create", "--subnet", "10.61.0.0/24", "--gateway", "10.62.0.1", "gwout"],
        "no matching subnet for gateway 10.62.0.1\n",
    )
    expect_error(
        host,
        ["network", "create", "-d", "nosuchdriver", "x1"],
        'Error response from daemon: plugin "nosuchdriver" not found\n',
    )
    # nothing was made by any of the failures
    assert pynet_links(host) == before
    names = host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert names == ["bridge", "dup", "host", "mynet", "none"]


def test_inspect_and_rm_of_a_missing_network(host: Host) -> None:
    expect_error(host, ["network", "inspect", "nosuchnet"], "Error: No such network: nosuchnet\n", stdout="[]\n")
    expect_error(host, ["network", "rm", "nosuchnet"], "Error: No such network: nosuchnet\n")
    create(host, "n1")
    cp = host.pynet("network", "inspect", "n1", "nosuchnet", check=False)
    assert cp.returncode == 1
    assert cp.stderr == "Error: No such network: nosuchnet\n"
    assert [n["Name"] for n in json.loads(cp.stdout)] == ["n1"]


def test_rm_many_goes_on_past_failures(host: Host) -> None:
    a, b = create(host, "a"), create(host, "b")
    cp = host.pynet("network", "rm", "a", "nosuch", b[:12], check=False)
    assert cp.returncode == 1
    assert cp.stdout == f"a\n{b[:12]}\n"
    assert cp.stderr == "Error: No such network: nosuch\n"
    assert f"br-{a[:12]}" not in links(host) and f"br-{b[:12]}" not in links(host)
    assert host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split() == ["bridge", "host", "none"]


def test_rm_with_active_endpoints_and_connect_errors(host: Host) -> None:
    net_id = create(host, "mynet")
    cid = host.pynet("run", "-d", "--name", "c1", "--network", "mynet", "sleep", "300").stdout.strip()
    try:
        expect_error(
            host,
            ["network", "rm", "mynet"],
            "Error response from daemon: error while removing network: network mynet id "
            f"{net_id} has active endpoints\n",
        )
        expect_error(
            host, ["network", "connect", "nosuchnet", "c1"], "Error response from daemon: network nosuchnet not found\n"
        )
        expect_error(
            host,
            ["network", "connect", "mynet", "nosuchcontainer"],
            "Error response from daemon: No such container: nosuchcontainer\n",
        )
        expect_error(
            host,
            ["network", "disconnect", "mynet", "nosuchcontainer"],
            "Error response from daemon: No such container: nosuchcontainer\n",
        )
        expect_error(
            host,
            ["run", "--rm", "--network", "nosuchnet", "true"],
            "pynet: Error response from daemon: network nosuchnet not found.\n",
            code=125,
        )
        assert inspect_net(host, "mynet")[0]["Containers"][cid]["Name"] == "c1"
    finally:
        host.pynet("rm", "-f", "c1")
    host.pynet("network", "rm", "mynet")


def test_errors_are_one_line_without_traceback(host: Host) -> None:
    for args in (
        ["network", "create", "--subnet", "bad", "x"],
        ["network", "rm", "nope"],
        ["network", "connect", "nope", "nope"],
        ["network", "create", "-d", "nope", "x"],
        ["network", "create", "   "],  # blank: dockerd takes any other name ("bad name" too)
    ):
        cp = host.pynet(*args, check=False)
        assert cp.returncode == 1, args
        assert "Traceback" not in cp.stderr
        assert len(cp.stderr.splitlines()) == 1, (args, cp.stderr)


# -- prune ---------------------------------------------------------------------------------


def test_prune_removes_unused_user_networks_only(host: Host) -> None:
    create(host, "unused1")
    create(host, "unused2", "--label", "keep=yes")
    create(host, "used")
    host.pynet("run", "-d", "--name", "c1", "--network", "used", "sleep", "300")
    try:
        out = host.pynet("network", "prune", "-f", "--filter", "label!=keep").stdout
        assert out == "Deleted Networks:\nunused1\n\n"
        out = host.pynet("network", "prune", "-f").stdout
        assert out == "Deleted Networks:\nunused2\n\n"
        assert host.pynet("network", "prune", "-f").stdout == ""
        names = host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert names == ["bridge", "host", "none", "used"]
    finally:
        host.pynet("rm", "-f", "c1")


# -- the whole lifecycle leaves no trace ----------------------------------------------------


def test_full_lifecycle_leaves_no_trace(host: Host) -> None:
    host.pynet("network", "ls", "-q")  # first use: built-in records only
    state0 = state_listing(host)
    links0 = sorted(links(host))
    assert links0 == ["lo"]

    create(host, "mynet", "--subnet", "10.1.0.0/24")
    create(host, "othernet", "--subnet", "10.2.0.0/24")
    host.pynet("run", "-d", "--name", "c1", "--network", "mynet", "sleep", "300")
    host.pynet("run", "-d", "--name", "c2", "--network", "mynet", "sleep", "300")
    host.pynet("network", "connect", "--ip", "10.2.0.9", "othernet", "c1")
    host.pynet("exec", "c1", "ping", "-c1", "-W2", "10.1.0.3")
    host.pynet("run", "--rm", "--network", "mynet", "true")
    assert len([n for n in links(host) if n.startswith("veth")]) == 3
    assert list((host.run_dir / "netns").iterdir())

    host.pynet("network", "disconnect", "othernet", "c1")
    host.pynet("stop", "-t", "1", "c2")
    host.pynet("rm", "-f", "c1")
    host.pynet("rm", "c2")
    host.pynet("network", "rm", "mynet", "othernet")

    after = host.ip_json("link", "show")
    assert [link["ifname"] for link in after] == links0, "links left in the host netns"
    assert not any(link["ifname"].startswith(("br-", "veth")) for link in after)
    assert list((host.run_dir / "netns").iterdir()) == [], "sandbox netns files left"
    assert [m for m in mounts_under(host.run_dir) if m[1] == "nsfs"] == [], "netns mounts left"
    assert state_listing(host) == state0, "state files left"
    assert not (host.state_dir / "journal.json").exists()
    assert host.pynet("ps", "-aq").stdout == ""


def _bridge_link(host: Host, net: str) -> dict[str, Any]:
    bridge = "br-" + host.pynet("network", "inspect", "-f", "{{.Id}}", net).stdout.strip()[:12]
    [link] = host.ip_json("addr", "show", "dev", bridge)
    return link


def test_an_empty_network_s_bridge_has_no_carrier_as_docker_s(host: Host) -> None:
    """Docker 20.10 (same kernel): a new network's bridge has a 02:42 MAC and shows
    ``<NO-CARRIER,...,UP> state DOWN`` with no IPv6 link-local address until a container
    joins; then carrier, and again none when the last one leaves."""
    host.pynet("network", "create", "--subnet", "10.97.0.0/24", "mynet")
    empty = _bridge_link(host, "mynet")
    assert empty["address"].startswith("02:42:")
    assert "NO-CARRIER" in empty["flags"] and "UP" in empty["flags"] and empty["operstate"] == "DOWN"
    assert [a["family"] for a in empty["addr_info"]] == ["inet"]  # no fe80:: yet
    host.pynet("run", "-d", "--name", "c1", "--network", "mynet", "sleep", "300")
    joined = _bridge_link(host, "mynet")
    assert "LOWER_UP" in joined["flags"] and "NO-CARRIER" not in joined["flags"]
    assert any(host.in_sandbox("c1", "ping", "-c1", "-W1", "10.97.0.1", check=False).returncode == 0 for _ in range(3))
    host.pynet("rm", "-f", "c1")
    assert "NO-CARRIER" in _bridge_link(host, "mynet")["flags"]
