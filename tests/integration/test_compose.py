"""`pynet compose`: the issue's "Done when" file brought up, checked, edited and taken down.

A throwaway host with a LAN peer (198.51.100.0/24: host ``lan0`` .1, peer .2). The project
``demo``: a ``frontend`` network and an ``internal`` ``backend`` one, a ``proxy`` on both
publishing 8080 -> 80 (a tiny TCP server answering its name), an ``app`` (alias ``api``),
a ``db`` with a static address and the alias ``database``, two ``web`` replicas sharing
their service name in DNS, and an ``old`` service that a later edit drops.
"""

from __future__ import annotations

import json
import sys

import pytest

from harness import Host, wait_for

pytestmark = pytest.mark.integration

PY = sys.executable
PEER_IP, HOST_IP = "198.51.100.2", "198.51.100.1"
SERVER = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 80)); s.listen(8)\n"
    "while True:\n"
    "    c, _ = s.accept(); c.sendall(b'proxy says hello\\n'); c.close()\n"
)
CLIENT = (
    "import socket, sys\n"
    "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)\n"
    "print(s.recv(64).decode().strip())\n"
)
RESOLVE = "import socket, sys; print(' '.join(sorted({a[4][0] for a in socket.getaddrinfo(sys.argv[1], 0)})))"

FILE = f"""
services:
  proxy:
    command: [{PY}, -c, {json.dumps(SERVER)}]
    networks: [frontend, backend]
    ports: ["8080:80"]
    depends_on: [app]
  app:
    command: sleep infinity
    networks:
      backend:
        aliases: [api]
        x-pynet-link: {{rate: 10mbit}}
    depends_on:
      db: {{condition: service_started}}
  db:
    command: sleep infinity
    networks:
      backend:
        ipv4_address: 10.61.0.10
        aliases: [database]
  web:
    command: sleep infinity
    networks: [backend]
    deploy: {{replicas: 2}}
  old:
    command: sleep infinity
networks:
  frontend:
    ipam:
      config: [{{subnet: 10.60.0.0/24}}]
  backend:
    internal: true
    ipam:
      config:
        - subnet: 10.61.0.0/24
"""


def compose(host: Host, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    return host.pynet("compose", "-f", str(host.root / "compose.yaml"), "-p", "demo", *args, check=check)


def ids(host: Host) -> dict[str, str]:
    """Container name -> ID of the project's containers (by the label Compose sets)."""
    out = host.pynet(
        "ps", "-a", "--filter", "label=com.docker.compose.project=demo", "--format", "{{.Names}} {{.ID}}"
    ).stdout
    return dict(line.split() for line in out.splitlines())


def project_networks(host: Host) -> list[str]:
    out = host.pynet("network", "ls", "--filter", "label=com.docker.compose.project=demo", "--format", "{{.Name}}")
    return sorted(out.stdout.split())


def tbf_rates(host: Host, container: str) -> set[int]:
    qdiscs = json.loads(host.in_sandbox(container, "tc", "-j", "-d", "qdisc", "show").stdout or "[]")
    return {q.get("options", {}).get("rate", 0) for q in qdiscs if q.get("kind") == "tbf"}


def reaches(host: Host, container: str, target: str) -> bool:
    return host.pynet("exec", container, "ping", "-c1", "-W1", target, check=False).returncode == 0


def test_compose_up_edit_orphans_down(host: Host) -> None:
    peer = host.lan_peer()
    path = host.root / "compose.yaml"
    path.write_text(FILE)

    # --dry-run: the plan, and nothing made
    dry = compose(host, "up", "--dry-run")
    assert "+ network demo_frontend 10.60.0.0/24" in dry.stdout.splitlines()
    assert "+ network demo_backend 10.61.0.0/24 internal" in dry.stdout.splitlines()
    assert "+ container demo-web-2" in dry.stdout.splitlines()
    assert "9 to add, 0 to change, 0 to remove" in dry.stdout.splitlines()
    assert ids(host) == {} and project_networks(host) == []

    # up -d: everything made, in depends_on order, with Compose's names and labels
    first = compose(host, "up", "-d")
    assert "9 to add, 0 to change, 0 to remove" in first.stdout
    lines = first.stdout.splitlines()
    assert (
        lines.index("+ container demo-db-1")
        < lines.index("+ container demo-app-1")
        < lines.index("+ container demo-proxy-1")
    )
    before = ids(host)
    assert sorted(before) == [
        "demo-app-1",
        "demo-db-1",
        "demo-old-1",
        "demo-proxy-1",
        "demo-web-1",
        "demo-web-2",
    ]
    assert project_networks(host) == ["demo_backend", "demo_default", "demo_frontend"]
    assert host.pynet("ps", "--filter", "label=com.docker.compose.service=app", "--format", "{{.Names}}").stdout == (
        "demo-app-1\n"
    )
    assert "demo-proxy-1" in compose(host, "ps").stdout

    # reachability, each "cannot" next to a "can"
    assert reaches(host, "demo-proxy-1", "app") and reaches(host, "demo-proxy-1", "api")
    assert reaches(host, "demo-app-1", "database")
    assert host.pynet("exec", "demo-app-1", PY, "-c", RESOLVE, "database").stdout.split() == ["10.61.0.10"]
    web = host.pynet("exec", "demo-app-1", PY, "-c", RESOLVE, "web").stdout.split()
    assert len(web) == 2 and all(a.startswith("10.61.0.") for a in web)  # both replicas answer
    assert reaches(host, "demo-proxy-1", PEER_IP)  # frontend is not internal
    assert not reaches(host, "demo-db-1", PEER_IP)  # backend is
    wait_for(
        lambda: peer.sh(PY, "-c", CLIENT, HOST_IP, "8080", check=False).stdout.strip() == "proxy says hello",
        timeout=10,
        desc="the published port answering the LAN peer",
    )

    # a second up of the same file changes nothing
    again = compose(host, "up", "-d")
    assert "0 to add, 0 to change, 0 to remove" in again.stdout
    assert "Nothing to change" in again.stdout
    assert ids(host) == before

    # an edit: db's command changes (recreated), app joins frontend (connected in place)
    path.write_text(
        FILE.replace("  db:\n    command: sleep infinity", "  db:\n    command: sleep 99999").replace(
            "    depends_on:\n      db:", "      frontend: {}\n    depends_on:\n      db:"
        )
    )
    edit = compose(host, "up", "-d")
    assert "~ container demo-db-1: recreate (config changed)" in edit.stdout.splitlines()
    assert "~ container demo-app-1: connect demo_frontend" in edit.stdout.splitlines()
    assert "0 to add, 2 to change, 0 to remove" in edit.stdout
    after = ids(host)
    assert after["demo-db-1"] != before["demo-db-1"]
    assert {k: v for k, v in after.items() if k != "demo-db-1"} == {k: v for k, v in before.items() if k != "demo-db-1"}
    assert reaches(host, "demo-app-1", PEER_IP)  # now on frontend: out it goes
    assert reaches(host, "demo-app-1", "database")  # the recreated db has its address again

    # x-pynet-link: shaped in app's sandbox (tbf both ways), then changed live to 100% loss
    assert tbf_rates(host, "demo-app-1") == {1_250_000}  # bytes/s: 10 Mbit/s
    assert (
        host.pynet(
            "inspect", "-f", "{{json .NetworkSettings.Networks.demo_backend.PynetLink}}", "demo-app-1"
        ).stdout.strip()
        == '{"Rate":"10mbit"}'
    )
    path.write_text(path.read_text().replace("{rate: 10mbit}", "{loss: 100%}"))
    cut = compose(host, "up", "-d")
    assert cut.stdout.splitlines()[0] == "~ container demo-app-1: link demo_backend loss=100%"
    assert ids(host) == after  # changed in place
    assert not reaches(host, "demo-app-1", "database")
    assert reaches(host, "demo-app-1", PEER_IP)  # the frontend link is not shaped
    assert tbf_rates(host, "demo-app-1") == set()

    # a service gone from the file: warned about, removed only with --remove-orphans
    text = path.read_text()
    path.write_text(text[: text.index("  old:")] + text[text.index("networks:\n  frontend") :])
    warned = compose(host, "up", "-d")
    assert "Found orphan containers ([demo-old-1])" in warned.stderr
    assert "demo-old-1" in ids(host)
    removed = compose(host, "up", "-d", "--remove-orphans")
    assert "- container demo-old-1" in removed.stdout.splitlines()
    assert "0 to add, 0 to change, 1 to remove" in removed.stdout
    assert "demo-old-1" not in ids(host)

    # down: exactly what the project made
    host.pynet("run", "-d", "--name", "outsider", "sleep", "infinity")
    down = compose(host, "down")
    assert "- network demo_backend" in down.stdout.splitlines()
    assert ids(host) == {} and project_networks(host) == []
    assert host.pynet("ps", "--format", "{{.Names}}").stdout == "outsider\n"
    bridges = [link["ifname"] for link in host.ip_json("link", "show", "type", "bridge")]
    assert not any(name.startswith("br-") for name in bridges)
    assert "0 to add, 0 to change, 0 to remove" in compose(host, "down").stdout


def test_compose_file_errors_change_nothing(host: Host) -> None:
    path = host.root / "compose.yaml"
    path.write_text("services:\n  app:\n    command: sleep 1\n    networks: [nowhere]\n")
    bad = compose(host, "up", "-d", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().endswith(
        'compose.yaml:4:16: services.app.networks.nowhere: service "app" refers to undefined network nowhere'
    )
    assert len(bad.stderr.strip().splitlines()) == 1
    path.write_text("services:\n  app:\n    command: [sleep\n")
    broken = compose(host, "up", "-d", check=False)
    assert broken.returncode == 1 and "compose.yaml:4:1:" in broken.stderr
    assert ids(host) == {} and project_networks(host) == []


def test_up_without_detach_follows_the_output_until_all_exit(host: Host) -> None:
    (host.root / "compose.yaml").write_text(
        "services:\n"
        "  first:\n    command: sh -c 'echo hello from first; sleep 0.3; echo bye'\n"
        "  second:\n    command: echo hello from second\n    network_mode: none\n"
    )
    up = compose(host, "up")
    out = up.stdout.splitlines()
    assert "demo-first-1   | hello from first" in out and "demo-first-1   | bye" in out
    assert "demo-second-1  | hello from second" in out
    assert out.index("demo-first-1   | hello from first") < out.index("demo-first-1   | bye")
    status = host.pynet("ps", "-a", "--filter", "label=com.docker.compose.project=demo", "--format", "{{.Status}}")
    states = status.stdout.splitlines()
    assert len(states) == 2 and all(line.startswith("Exited (0)") for line in states), states
    assert "- network demo_default" in compose(host, "down").stdout.splitlines()
    assert ids(host) == {}


def test_a_failed_step_leaves_no_half_made_container(host: Host) -> None:
    (host.root / "compose.yaml").write_text(
        "services:\n"
        "  first:\n    command: sleep infinity\n    networks: {n2: {ipv4_address: 10.62.0.5}}\n"
        "  second:\n    command: sleep infinity\n    depends_on: [first]\n"
        "    networks: {n1: {}, n2: {ipv4_address: 10.62.0.5}}\n"
        "networks:\n  n1: {}\n  n2: {ipam: {config: [{subnet: 10.62.0.0/24}]}}\n"
    )
    failed = compose(host, "up", "-d", check=False)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == "Error response from daemon: Address already in use"
    assert "+ container demo-first-1" in failed.stdout and "demo-second-1" not in failed.stdout
    assert list(ids(host)) == ["demo-first-1"]  # second joined n1, failed on n2, and is gone
    assert compose(host, "down").returncode == 0 and ids(host) == {} and project_networks(host) == []


def test_netem_settings_need_netem(host: Host) -> None:
    from pynet.cnm.links import supported_impairments

    (host.root / "compose.yaml").write_text(
        "services:\n  a:\n    command: sleep infinity\n    networks:\n"
        "      n: {x-pynet-link: {delay: 50ms, rate: 10mbit}}\nnetworks:\n  n: {}\n"
    )
    up = compose(host, "up", "-d", check=False)
    if not supported_impairments()["delay"]:  # this kernel: no netem qdisc
        assert up.returncode == 1
        assert up.stderr.strip().splitlines()[-1] == (
            "services.a.networks.n.x-pynet-link: cannot set delay: this kernel has no netem qdisc "
            "(CONFIG_NET_SCH_NETEM); link shaping here supports rate, loss"
        )
        assert ids(host) == {} and project_networks(host) == []  # refused before anything was made
        return
    assert up.returncode == 0, up.stderr
    kinds = {q["kind"] for q in json.loads(host.in_sandbox("demo-a-1", "tc", "-j", "qdisc", "show").stdout)}
    assert "netem" in kinds and "tbf" in kinds
    compose(host, "down")


def test_a_service_runs_in_an_imported_image(host: Host) -> None:
    from harness import busybox_rootfs

    host.pynet("image", "import", str(busybox_rootfs(host.root / "bb")), "busybox")
    (host.root / "compose.yaml").write_text(
        "services:\n"
        "  db:\n    image: busybox\n    command: sleep 300\n"
        "  shell:\n    image: busybox\n    command: sleep 300\n    depends_on: [db]\n"
        "  hosted:\n    image: not-imported\n    command: sleep 300\n"
    )
    up = compose(host, "up", "-d")
    # said once, and only for the image pynet does not have
    assert up.stderr.count("does not have the image") == 1 and "hosted" in up.stderr and "shell" not in up.stderr
    # in the image: busybox's bare root (no /etc/os-release), the name resolved by the embedded DNS
    inside = host.pynet("exec", "demo-shell-1", "sh", "-c", "ls /etc; nslookup db 127.0.0.11")
    assert "os-release" not in inside.stdout and "hosts" in inside.stdout
    db_ip = host.pynet("inspect", "-f", "{{.NetworkSettings.Networks.demo_default.IPAddress}}", "demo-db-1").stdout
    assert f"Address: {db_ip.strip()}" in inside.stdout or f"Address 1: {db_ip.strip()}" in inside.stdout
    # positive control: the service without an imported image sees the host's files
    assert "os-release" in host.pynet("exec", "demo-hosted-1", "ls", "/etc").stdout
    images = host.pynet("ps", "--filter", "label=com.docker.compose.project=demo", "--format", "{{.Names}} {{.Image}}")
    assert "demo-shell-1 busybox" in images.stdout.splitlines()
    assert compose(host, "down").returncode == 0 and ids(host) == {}


def test_env_file_variables_reach_the_container(host: Host) -> None:
    (host.root / "app.env").write_text("# settings\nGREETING=hello world\nexport MODE='from file'\nLEVEL=1\n")
    (host.root / "compose.yaml").write_text(
        "services:\n  app:\n    command: sleep infinity\n    env_file: [app.env, gone.env]\n"
        "    environment: {LEVEL: '2'}\n"
    )
    missing = compose(host, "up", "-d", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"Couldn't find env file: {host.root}/gone.env"
    assert ids(host) == {} and project_networks(host) == []
    (host.root / "compose.yaml").write_text(
        "services:\n  app:\n    command: sh -c 'env; exec sleep infinity'\n"
        "    env_file: [app.env, {path: gone.env, required: false}]\n"
        "    environment: {LEVEL: '2'}\n"
    )
    compose(host, "up", "-d")
    wanted = {"GREETING=hello world", "MODE=from file", "LEVEL=2"}  # what the container's process sees
    env = wait_for(lambda: set(host.pynet("logs", "demo-app-1").stdout.splitlines()) >= wanted, desc="env in logs")
    assert env
    assert compose(host, "down").returncode == 0 and ids(host) == {}


def test_several_files_are_merged_for_up_ps_and_down(host: Host) -> None:
    (host.root / "compose.yaml").write_text(
        "services:\n  app:\n    command: sh -c 'env; exec sleep infinity'\n    environment: [A=1, B=1]\n"
        "    networks: [front]\nnetworks:\n  front: {}\n"
    )
    (host.root / "override.yaml").write_text(
        "services:\n  app:\n    environment: {B: '2'}\n    networks: {back: {aliases: [api]}}\nnetworks:\n  back: {}\n"
    )
    files = ("-f", str(host.root / "compose.yaml"), "-f", str(host.root / "override.yaml"), "-p", "demo")
    host.pynet("compose", *files, "up", "-d")
    assert project_networks(host) == ["demo_back", "demo_front"]
    nets = host.pynet("inspect", "demo-app-1", "--format", "{{json .NetworkSettings.Networks}}").stdout
    assert sorted(json.loads(nets)) == ["demo_back", "demo_front"]
    assert "api" in json.loads(nets)["demo_back"]["Aliases"]
    wanted = {"A=1", "B=2"}
    assert wait_for(lambda: set(host.pynet("logs", "demo-app-1").stdout.splitlines()) >= wanted, desc="env in logs")
    assert host.pynet("compose", *files, "ps", "--services").stdout.split() == ["app"]
    host.pynet("compose", *files, "down")
    assert ids(host) == {} and project_networks(host) == []
