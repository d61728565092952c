"""The Engine API socket's defences: who may talk to it, and what a request cannot do.

Malformed JSON, oversize bodies and the parser fuzz are unit tests
(tests/unit/test_api_server.py); here: peer credentials and names that try to escape.
"""

from __future__ import annotations

import grp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apiclient import call, request
from harness import Host, wait_for

NOBODY = 65534


class Served:
    """``pynet system service`` in ``host`` on a short socket path; stopped by PID."""

    def __init__(self, host: Host, sock_dir: Path, *args: str) -> None:
        self.sock = str(sock_dir / "d.sock")
        self.log = sock_dir / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                host.pynet_argv("system", "service", "-H", f"unix://{self.sock}", *args),
                env=host.env,
                cwd=host.root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        wait_for(self._answers, timeout=20, desc="the API server", ignore=(OSError,))

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the API server exited: {self.log.read_text()}")
        return request(self.sock, "GET", "/_ping", timeout=2)[0] == 200

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def sock_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = Path(os.path.realpath("/tmp")) / f"pynet-api-{os.getpid()}-{os.urandom(3).hex()}"
    d.mkdir(mode=0o755)
    yield d
    for p in d.iterdir():
        p.unlink()
    d.rmdir()


def _as_user(sock: str, uid: int, gid: int) -> tuple[str, str]:
    """GET /_ping from a child running as ``uid:gid`` (no supplementary groups):
    ("connect-refused", errno text) or ("answered", status line)."""
    code = (
        "import os, socket, sys\n"
        f"os.setgroups([]); os.setgid({gid}); os.setuid({uid})\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        f"    s.connect({sock!r})\n"
        "except OSError as e:\n"
        "    print('connect-refused', e.strerror); sys.exit(0)\n"
        "s.sendall(b'GET /_ping HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
        "print('answered', s.recv(4096).decode('latin-1').replace('\\r\\n', '|'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    kind, _, rest = out.stdout.strip().partition(" ")
    return kind, rest


def test_the_socket_is_root_only_and_a_non_root_peer_is_refused(host: Host, sock_dir: Path) -> None:
    server = Served(host, sock_dir, "-G", "root")
    try:
        st = os.stat(server.sock)
        assert (oct(st.st_mode & 0o777), st.st_uid, st.st_gid) == ("0o660", 0, 0)
        # the file mode keeps nobody out...
        assert _as_user(server.sock, NOBODY, NOBODY) == ("connect-refused", "Permission denied")
        # ...and if someone loosens it, the peer check still does (SO_PEERCRED)
        os.chmod(server.sock, 0o666)
        kind, reply = _as_user(server.sock, NOBODY, NOBODY)
        assert kind == "answered" and reply.startswith("HTTP/1.1 403 Forbidden"), reply
        assert f"permission denied: uid {NOBODY} may not use this socket" in reply
        # positive control: root is served on the same socket
        assert request(server.sock, "GET", "/_ping")[:3:2] == (200, b"OK")
    finally:
        server.stop()
    assert not os.path.exists(server.sock)


def test_a_member_of_the_sockets_group_is_served(host: Host, sock_dir: Path) -> None:
    group = grp.getgrgid(NOBODY).gr_name
    server = Served(host, sock_dir, "-G", group)
    try:
        assert os.stat(server.sock).st_gid == NOBODY
        kind, reply = _as_user(server.sock, NOBODY, NOBODY)
        assert kind == "answered" and reply.startswith("HTTP/1.1 200 OK"), reply
        # another non-root user outside the group: refused by the file mode
        assert _as_user(server.sock, 4242, 4242)[0] == "connect-refused"
    finally:
        server.stop()


def test_no_tcp_listener_can_be_asked_for(host: Host) -> None:
    cp = host.pynet("system", "service", "-H", "tcp://127.0.0.1:2375", check=False, timeout=20)
    assert cp.returncode == 1
    assert "pynet serves only unix:///ABSOLUTE/PATH (no TCP listener)" in cp.stderr
    assert "Traceback" not in cp.stderr


def test_names_with_slashes_or_dots_cannot_escape_the_state_dir(host: Host, sock_dir: Path) -> None:
    server = Served(host, sock_dir)
    try:
        for name in ("../../escape-net", "a/b", "..", "/etc/passwd"):
            status, body = call(server.sock, "POST", "/networks/create", {"Name": name})
            if status == 201:
                # stored under its ID; the name is only data: found and removed by name
                status2, net = call(server.sock, "GET", "/networks/" + name.replace("/", "%2F"))
                assert status2 == 200 and net["Name"] == name and net["Id"] == body["Id"]
                assert (host.state_dir / "networks" / f"{body['Id']}.json").is_file()
                assert call(server.sock, "DELETE", "/networks/" + name.replace("/", "%2F"))[0] == 204
            else:
                assert status == 400, (name, status, body)
        for name in ("../../escape-ctr", "a/b", ".."):
            status, body = call(server.sock, "POST", f"/containers/create?name={name}", {"Cmd": ["true"]})
            assert status == 400 and "Invalid container name" in body["message"], (name, body)
        # a path in the URL does not walk out of the route either
        assert call(server.sock, "GET", "/networks/..%2F..%2F..%2Fetc%2Fpasswd")[0] == 404
        assert call(server.sock, "GET", "/containers/../../etc/passwd/json")[0] == 404
        escaped = [p for p in host.root.parent.rglob("escape-*")] + list(Path("/").glob("escape-*"))
        assert escaped == []
    finally:
        server.stop()
