"""The warm server's client protocol, identity, staleness check, and the audit that no pynet
module computes anything at import time from the environment, cwd or argv (a warm
server imports them once for many clients). Real servers: tests/integration/test_warm_server.py."""

from __future__ import annotations

import ast
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pynet.warm import identity as warm
from pynet.warm import server

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# A fake server in the client's own process (a thread): it answers as MODE says and
# prints what it was sent; the main thread runs the client.
_FAKE = r"""
import _socket, marshal, os, select, sys, threading
from pynet.warm import client, identity as warm
mode, args = sys.argv[1], sys.argv[2:]
sock_path = warm.files(warm.run_root(), warm.identity())[0]
lis = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
lis.bind(sock_path)
lis.listen(4)

def serve():
    fd, _ = lis._accept()
    c = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET, 0, fd)
    data, anc, _f, _a = c.recvmsg(1 << 20, _socket.CMSG_SPACE(4 * 7))
    ident, argv, env, umask, nice, streams = marshal.loads(data)
    print("REQUEST", argv[2:], env.get("MARK"), oct(umask), len(anc[0][2]) // 4, ident == warm.identity(), flush=True)
    if mode == "refuse":
        c.send(marshal.dumps({"refused": "test"}))
        return
    pidfd = os.pidfd_open(os.getpid()).to_bytes(4, sys.byteorder)
    c.sendmsg([marshal.dumps({"started": 1})], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, pidfd)])
    c.send(marshal.dumps({"exit": 7} if mode == "exit" else {"status": int(mode)}))  # a wait status

if mode != "off":
    threading.Thread(target=serve, daemon=True).start()
os.umask(0o027)
client.delegate(args)
print("IN-PROCESS", "pending" if select.select([lis], [], [], 0)[0] else "nothing pending", flush=True)
"""


def _fake(run_dir: Path, mode: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    run_dir.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", _FAKE, mode, *args],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=run_dir,
        env={"PYTHONPATH": str(ROOT), "PYNET_RUN_DIR": str(run_dir), "MARK": "m1", **env},
    )


def test_a_refused_command_runs_in_process_and_the_request_carries_the_client(tmp_path: Path) -> None:
    out = _fake(tmp_path, "refuse", "network", "create", "n1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "REQUEST ['network', 'create', 'n1'] m1 0o27 7 True",
        "IN-PROCESS nothing pending",
    ]


def test_the_client_leaves_with_the_commands_exit_code(tmp_path: Path) -> None:
    out = _fake(tmp_path, "exit", "network", "rm", "n1")
    assert out.returncode == 7, out.stderr
    assert "IN-PROCESS" not in out.stdout


@pytest.mark.parametrize("sig", [15, 9, 2])
def test_a_command_killed_by_a_signal_kills_the_client_by_it(tmp_path: Path, sig: int) -> None:
    out = _fake(tmp_path, str(sig), "network", "connect", "n1", "c1")  # wait status = the signal
    assert out.returncode == -sig, out.stderr
    assert out.stderr == ""  # no traceback: it died as the command did


def test_pynet_warm_0_never_contacts_a_server(tmp_path: Path) -> None:
    out = _fake(tmp_path / "off", "off", "network", "create", "n1", PYNET_WARM="0")
    assert (out.returncode, out.stdout) == (0, "IN-PROCESS nothing pending\n"), out.stderr
    # positive control: the same client without PYNET_WARM=0 sends its request
    out = _fake(tmp_path / "on", "refuse", "network", "create", "n1")
    assert out.stdout.startswith("REQUEST ['network', 'create', 'n1']"), out.stderr


@pytest.mark.parametrize("args", [["network", "ls"], ["ps"], ["run", "--rm", "x"], ["network"], []])
def test_commands_not_served_never_contact_a_server(tmp_path: Path, args: list[str]) -> None:
    out = _fake(tmp_path, "off", *args)  # a client that connected would wait for an answer: timeout
    assert out.stdout == "IN-PROCESS nothing pending\n", out.stderr


def test_served_commands() -> None:
    assert warm.served(["network", "create", "x"]) and warm.served(["network", "remove", "x"])
    assert warm.served(["network", "disconnect", "n", "c"]) and warm.served(["network", "prune", "-f"])
    assert not warm.served(["network", "ls"]) and not warm.served(["network"]) and not warm.served(["create"])


def test_the_client_imports_only_builtins_and_the_socket_extension(tmp_path: Path) -> None:
    code = (
        "import sys, pynet\nbefore = set(sys.modules)\nfrom pynet.warm import client\n"
        "client.delegate(['network', 'create', 'n1'])()\n"  # no run dir: it starts one after the command
        "new = set(sys.modules) - before\n"
        "print(sorted(m for m in new if type(sys.modules[m]).__name__ == 'module' and not m.startswith('pynet')))\n"
    )
    env = {"PYTHONPATH": str(ROOT), "PYNET_RUN_DIR": str(tmp_path / "missing")}  # no server, none started
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=env, check=True)
    assert out.stdout.strip() == "['__future__', '_socket', 'fcntl']"  # fcntl: to start a server


def test_the_identity_tells_apart_what_a_child_cannot_adopt() -> None:
    code = "from pynet.warm import identity as w; import sys; sys.stdout.buffer.write(w.identity())"

    def ident(**env: str) -> bytes:
        base = {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "")}
        return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, env={**base, **env}).stdout

    plain = ident()
    assert plain == ident(PYNET_STATE_DIR="/elsewhere", HOME="/x")  # adopted: same server
    assert plain != ident(LANG="C.UTF-8")  # the locale: another interpreter start
    assert plain != ident(PYTHONHASHSEED="1")
    sock, pid, lock = warm.files("/run/pynet", plain)
    assert sock.startswith("/run/pynet/warm-") and sock[:-5] == pid[:-4] == lock[:-5]


def test_a_changed_module_file_is_stale(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("x = 1\n")
    st = f.stat()
    versions = {str(f): (st.st_mtime_ns, st.st_size)}
    assert not server.stale(versions)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert server.stale(versions)
    f.unlink()
    assert server.stale(versions)
    assert any(p.endswith("pynet/warm/server.py") for p in server.module_versions())


# -- module-level state: what a warm server computes once must not depend on its client ---

_PER_PROCESS = {("os", "environ"), ("os", "getenv"), ("os", "getcwd"), ("sys", "argv"), ("Path", "cwd")}


def _import_time_nodes(tree: ast.Module):  # type: ignore[no-untyped-def]
    """Nodes evaluated when the module is imported: all but function bodies and the
    ``if __name__ == "__main__":`` block (defaults and decorators are evaluated)."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
            stack += getattr(node, "decorator_list", [])
            continue
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            continue
        yield node
        stack += list(ast.iter_child_nodes(node))


def test_no_module_reads_the_environment_cwd_or_argv_at_import() -> None:
    found = []
    for path in sorted((ROOT / "pynet").rglob("*.py")):
        if path.name == "__main__.py":
            continue  # an entry point: run, never imported by a server
        for node in _import_time_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if (node.value.id, node.attr) in _PER_PROCESS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert found == []


def test_the_console_script_asks_a_server_for_exactly_the_served_commands() -> None:
    text = (ROOT / "bin" / "pynet").read_text()
    listed = set(re.findall(r'\["(\w+)"\]', text.split("sys.argv[2:3] in", 1)[1].split(":", 1)[0]))
    assert listed == set(warm.SERVED)
