"""The unmodified docker CLI drives pynet through `pynet system service`.

In a throwaway host: busybox imported as `busybox`, the API served on a socket of the
test's own (the server started by the test and stopped by its PID), and the clients run
with DOCKER_HOST pointing at it. Debian's docker.io client (20.10, installed by
scripts/install-deps.sh) is always tested; a 28.x client at /usr/local/bin/docker is
tested too where it is installed (it is not a Debian package). Their outputs are compared
with pynet's own CLI on the same state; where a client words a message itself, with what
that client prints against dockerd (docker/cli's inspect and rm: 20.10 says
"Error: No such network: X", 28.x prints the daemon's "network X not found").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from apiserve import Service
from harness import Host, busybox_rootfs, run, wait_for

pytestmark = pytest.mark.integration

DOCKER_2010 = "/usr/bin/docker"
DOCKER_28 = "/usr/local/bin/docker"
CLIENTS = {"20.10": DOCKER_2010, **({"28": DOCKER_28} if os.access(DOCKER_28, os.X_OK) else {})}
MISSING_NETWORK = {
    "20.10": "Error: No such network: nope\n",
    "28": "Error response from daemon: network nope not found\n",
}
# docker/cli 28's `network rm` ends with its own StatusError "exit status 1" (cli/command/network/remove.go)
RM_MISSING_NETWORK = {**MISSING_NETWORK, "28": MISSING_NETWORK["28"] + "exit status 1\n"}


class Api(Service):
    """The service and the docker CLI ``client`` pointed at it."""

    def __init__(self, host: Host, client: str, version: str, sock_dir: Path) -> None:
        super().__init__(host, sock_dir)
        self.client, self.version = client, version
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(sock_dir),
            "DOCKER_CONFIG": str(sock_dir / ".docker"),
            "DOCKER_HOST": f"unix://{self.sock}",
        }

    def docker(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return run([self.client, *args], check=check, timeout=timeout, env=self.env)


@pytest.fixture(params=sorted(CLIENTS))
def api(request: pytest.FixtureRequest, host: Host, tmp_path: Path):  # type: ignore[no-untyped-def]
    host.pynet("image", "import", busybox_rootfs(tmp_path / "bb"), "busybox")
    sock_dir = Path(tempfile.mkdtemp(prefix="pn-api-", dir="/tmp"))
    server = Api(host, CLIENTS[request.param], request.param, sock_dir)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_the_debian_client_is_there_and_20_10() -> None:
    """The 20.10 client is never skipped: CI installs docker.io (scripts/install-deps.sh)."""
    out = run([DOCKER_2010, "--version"]).stdout
    assert out.startswith("Docker version 20.10."), out


def test_network_commands_print_what_pynet_prints(api: Api) -> None:
    host = api.host
    created = api.docker(
        "network", "create", "--driver", "bridge", "--subnet", "10.77.0.0/24", "--gateway", "10.77.0.1",
        "--ip-range", "10.77.0.128/25", "--aux-address", "a=10.77.0.5", "--label", "k=v",
        "-o", "com.docker.network.bridge.name=br-acc", "--attachable", "n1",
    ).stdout.strip()  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{64}", created)
    api.docker("network", "create", "--internal", "n2")
    assert host.pynet_json("network", "inspect", "n1")[0]["Id"] == created
    assert run(["ip", "-n", host.name, "-j", "addr", "show", "br-acc"]).stdout.count("10.77.0.1") == 1
    for args in (
        [],
        ["-q"],
        ["--no-trunc"],
        ["--filter", "driver=bridge", "--filter", "name=n"],
        ["--filter", "label=k=v"],
        ["--format", "{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.IPv6}} {{.Labels}}"],
    ):
        assert api.docker("network", "ls", *args).stdout == host.pynet("network", "ls", *args).stdout, args
    assert json.loads(api.docker("network", "inspect", "n1", "n2").stdout) == host.pynet_json(
        "network", "inspect", "n1", "n2"
    )
    fmt = '{{.Name}} {{.Driver}} {{.Internal}} {{.Attachable}} {{index .Labels "k"}} {{.Options}}'
    assert (
        api.docker("network", "inspect", "-f", fmt, "n1").stdout
        == host.pynet("network", "inspect", "-f", fmt, "n1").stdout
    )
    missing = api.docker("network", "inspect", "nope", check=False)
    assert (missing.returncode, missing.stdout, missing.stderr) == (1, "[]\n", MISSING_NETWORK[api.version])
    rm_missing = api.docker("network", "rm", "nope", check=False)
    assert (rm_missing.returncode, rm_missing.stderr) == (1, RM_MISSING_NETWORK[api.version])
    dup = api.docker("network", "create", "n2", check=False)
    assert (dup.returncode, dup.stderr) == (1, "Error response from daemon: network with name n2 already exists\n")

    # connect / disconnect a container made by the docker CLI; pynet sees the same endpoint
    api.docker("run", "-d", "--name", "c1", "--network", "n2", "busybox", "sleep", "300")
    api.docker("network", "connect", "--alias", "web", "--ip", "10.77.0.200", "n1", "c1")
    net = host.pynet_json("inspect", "c1")[0]["NetworkSettings"]["Networks"]["n1"]
    assert net["IPAddress"] == "10.77.0.200" and "web" in net["Aliases"]
    assert api.docker("network", "disconnect", "n1", "c1").stdout == ""
    assert "n1" not in host.pynet_json("inspect", "c1")[0]["NetworkSettings"]["Networks"]
    api.docker("network", "connect", "--link", "c1:other", "--driver-opt", "x=y", "n1", "c1")
    assert host.pynet_json("inspect", "c1")[0]["NetworkSettings"]["Networks"]["n1"]["Links"] == ["c1:other"]
    api.docker("network", "disconnect", "-f", "n1", "c1")
    verbose = json.loads(api.docker("network", "inspect", "--verbose", "n2").stdout)
    # Docker's verbose adds only a swarm network's services; pynet's -v adds kernel facts
    assert verbose == host.pynet_json("network", "inspect", "n2")
    assert api.docker("network", "rm", "n1").stdout == "n1\n"
    api.docker("rm", "-f", "c1")
    api.docker("network", "create", "--label", "keep=1", "n4")
    assert api.docker("network", "prune", "-f", "--filter", "label!=keep").stdout.split()[-1] == "n2"
    assert host.pynet("network", "ls", "-q", "--filter", "name=n4").stdout != ""
    pruned = api.docker("network", "prune", "-f").stdout
    assert pruned.split()[-1] == "n4"
    assert host.pynet("network", "ls", "--format", "{{.Name}}").stdout.split() == ["bridge", "host", "none"]


#: what each client prints for `run` on a network that does not exist, against dockerd 20.10
#: (the create is taken, the start fails; 20.10 also logs "error waiting for container")
RUN_MISSING_NETWORK = {
    "20.10": "docker: Error response from daemon: network nope not found.\n",
    "28": "docker: Error response from daemon: network nope not found\n\nRun 'docker run --help' for more information\n",
}


def test_run_on_a_missing_network_prints_the_starts_404_and_exits_125(api: Api) -> None:
    host = api.host
    for auto_remove, left in (("--rm", ""), ("--name=kept", "kept created\n")):
        ran = api.docker("run", auto_remove, "--network", "nope", "busybox", "true", check=False)
        assert ran.returncode == 125, ran
        assert RUN_MISSING_NETWORK[api.version] in ran.stderr, ran.stderr
        assert "pull" not in ran.stderr.lower()  # a 404 of create would have sent the client to pull
        assert host.pynet("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout == left
    assert "network nope not found" in api.docker("inspect", "--format", "{{.State.Error}}", "kept").stdout


def test_run_ps_inspect_exec_rm_and_events(api: Api) -> None:
    host = api.host
    since = f"{time.time() - 1:.0f}"
    api.docker("network", "create", "n3")
    cid = api.docker("run", "-d", "--name", "c2", "--network", "n3", "busybox", "sleep", "300").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    # attached: the output comes back, the exit code passes through
    ping = api.docker("run", "--rm", "--network", "n3", "busybox", "ping", "-c1", "-W2", "c2")
    assert "1 packets received" in ping.stdout
    # positive control: a name nobody has is not reached
    nobody = api.docker("run", "--rm", "--network", "n3", "busybox", "ping", "-c1", "-W1", "nobody", check=False)
    assert nobody.returncode != 0 and "bytes from" not in nobody.stdout
    assert api.docker("run", "--rm", "--network", "n3", "busybox", "sh", "-c", "exit 3", check=False).returncode == 3
    # no --network: the default bridge (the 28.x client names it "default" in NetworkMode and EndpointsConfig)
    plain = api.docker("run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0")
    assert "inet 172.17." in plain.stdout
    # ps and inspect equal pynet's own
    fmt = "{{.ID}} {{.Names}} {{.Image}} {{.Command}} {{.Networks}} {{.Ports}}"
    assert api.docker("ps", "--format", fmt).stdout == host.pynet("ps", "--format", fmt).stdout
    assert api.docker("ps", "-q").stdout == host.pynet("ps", "-q").stdout == cid[:12] + "\n"
    [mine] = host.pynet_json("inspect", "c2")
    [theirs] = json.loads(api.docker("inspect", "c2").stdout)
    for key in ("Id", "Name", "Path", "Args", "Image"):
        assert theirs[key] == mine[key], key
    assert theirs["NetworkSettings"]["Networks"] == mine["NetworkSettings"]["Networks"]
    # exec: both streams, the exit code, DNS inside
    ex = api.docker("exec", "c2", "sh", "-c", "echo out; echo err >&2; exit 4", check=False)
    assert (ex.returncode, ex.stdout, ex.stderr) == (4, "out\n", "err\n")
    c2_ip = mine["NetworkSettings"]["Networks"]["n3"]["IPAddress"]
    # --network container:c2 joins c2's sandbox: its address, no endpoint of its own
    joined = api.docker("run", "--rm", "--network", "container:c2", "busybox", "sh", "-c", "ip -4 -o addr show eth0")
    assert f"inet {c2_ip}/" in joined.stdout
    looked = api.docker("exec", "c2", "nslookup", "c2").stdout
    assert "127.0.0.11" in looked and f"Address: {c2_ip}" in looked, looked
    piped = run([api.client, "exec", "-i", "c2", "cat"], env=api.env, input="through exec\n")
    assert piped.stdout == "through exec\n"
    # Ctrl-C on an attached run: the CLI kills the container with INT, exit 130
    env = api.env
    attached = subprocess.Popen(
        [api.client, "run", "--rm", "--name", "c3", "--network", "n3", "busybox", "sleep", "30"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: "c3" in host.pynet("ps", "--format", "{{.Names}}").stdout, timeout=20, desc="c3 runs")
        attached.send_signal(signal.SIGINT)
        assert attached.wait(timeout=20) == 130
    finally:
        if attached.poll() is None:
            attached.kill()
            attached.wait(timeout=10)
    wait_for(lambda: "c3" not in host.pynet("ps", "-a", "--format", "{{.Names}}").stdout, timeout=10, desc="c3 removed")
    # images and logs: the same as pynet's own
    table = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}"  # CREATED may tick between the two
    assert api.docker("images", "--format", table).stdout == host.pynet("image", "ls", "--format", table).stdout
    assert api.docker("images").stdout.splitlines()[0] == host.pynet("image", "ls").stdout.splitlines()[0]
    assert api.docker("image", "ls", "-q").stdout == host.pynet("image", "ls", "-q").stdout
    assert json.loads(api.docker("image", "inspect", "busybox").stdout) == host.pynet_json(
        "image", "inspect", "busybox"
    )
    refused = api.docker("rmi", "busybox", check=False)
    assert (refused.returncode, refused.stderr) == (1, host.pynet("image", "rm", "busybox", check=False).stderr)
    api.docker("run", "-d", "--name", "talk", "--network", "n3", "busybox", "sh", "-c", "echo out; echo err >&2")
    wait_for(lambda: api.docker("logs", "talk").stderr == "err\n", timeout=10, desc="talk's output")
    logs = api.docker("logs", "talk")
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n") == (host.pynet("logs", "talk").stdout, "err\n")
    api.docker("rm", "talk")
    # logs -f follows a running container to its end
    api.docker("run", "-d", "--name", "slow", "--network", "n3", "busybox", "sh", "-c", "echo a; sleep 1; echo b")
    assert api.docker("logs", "-f", "slow", timeout=30).stdout == "a\nb\n"
    api.docker("rm", "slow")
    # docker inspect NAME falls through containers to images
    assert json.loads(api.docker("inspect", "busybox").stdout) == host.pynet_json("image", "inspect", "busybox")
    # -i: the client's input reaches the container, its end ends `cat`
    echoed = run([api.client, "run", "-i", "--rm", "--network", "n3", "busybox", "cat"], env=api.env, input="hello\n")
    assert echoed.stdout == "hello\n"
    # a stopped container started again, attached
    assert api.docker("run", "--name", "again", "--network", "n3", "busybox", "echo", "x").stdout == "x\n"
    assert api.docker("start", "-a", "again").stdout == "x\n"
    api.docker("rm", "again")
    assert api.docker("rm", "-f", "c2").stdout == "c2\n"
    assert host.pynet("ps", "-a", "-q").stdout == ""
    # events: what the docker CLI shows equals pynet's own log
    until = f"{time.time() + 1:.0f}"
    time.sleep(1.1)  # `until` must have passed for a replay that ends
    efmt = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"
    theirs_ev = api.docker("events", "--since", since, "--until", until, "--format", efmt).stdout
    assert theirs_ev == host.pynet("events", "--since", since, "--until", until, "--format", efmt).stdout
    for line in ("network create n3", "container create c2", "container start c2", "container destroy c2"):
        assert line in theirs_ev.splitlines(), (line, theirs_ev)
    # without --until the CLI follows: a network made now shows up at once
    follower = subprocess.Popen(
        [api.client, "events", "--filter", "type=network", "--format", "{{.Action}} {{.Actor.Attributes.name}}"],
        env=api.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = threading.Timer(20, follower.kill)  # a readline that never returns ends here
    deadline.start()
    try:
        time.sleep(0.5)  # the CLI has asked for the stream
        api.docker("network", "create", "live1")
        assert follower.stdout is not None
        assert follower.stdout.readline() == "create live1\n"
    finally:
        deadline.cancel()
        follower.kill()
        follower.wait(timeout=10)


def test_docker_run_t_gets_a_pty_and_raw_streams(api: Api) -> None:
    """`-t` through the API: the process has a pty (dockerd's output: /dev/pts/0, \\r\\n),
    streamed raw (no frame headers); with `-i -t` on a terminal the typed input reaches it."""
    argv = [api.client, "run", "--rm", "-t", "busybox", "sh", "-c", "busybox tty; echo a"]
    ran = subprocess.run(argv, env=api.env, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (ran.returncode, ran.stdout) == (0, b"/dev/pts/0\r\na\r\n"), ran
    api.docker("run", "-d", "--name", "tc", "busybox", "sleep", "300")
    argv = [api.client, "exec", "-t", "tc", "sh", "-c", "busybox tty; exit 4"]
    ex = subprocess.run(argv, env=api.env, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert (ex.returncode, ex.stdout) == (4, b"/dev/pts/0\r\n"), ex
    import pty

    master, slave = pty.openpty()
    typed = subprocess.Popen(
        [api.client, "run", "--rm", "-i", "-t", "busybox", "sh", "-c", "read l; echo got:$l; exit 5"],
        env=api.env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    try:
        time.sleep(0.5)  # the CLI attaches before it starts the container: input waits in the FIFO
        os.write(master, b"hello\r")
        assert typed.wait(timeout=60) == 5
        out = b""
        while select_ready(master):
            try:
                out += os.read(master, 4096)
            except OSError:
                break
    finally:
        if typed.poll() is None:
            typed.kill()
            typed.wait()
        os.close(master)
        os.close(slave)
    assert b"got:hello\r\n" in out, out


def select_ready(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0.5)[0])
