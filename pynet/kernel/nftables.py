"""The one module of pynet that talks to nftables (plus the few /proc reads the firewall needs).

It talks to nftables IN-PROCESS through libnftables, the C library behind the ``nft``
program (Debian package libnftables1, installed with nftables), via ctypes: one nft
context per process, cached, with its output and error streams buffered. A command costs
tens of microseconds to a millisecond instead of one ``nft`` process (~8-10 ms) each.
When the library cannot be loaded (or ``PYNET_NFT=exec``) the same commands run through
the ``nft`` program; callers see the same API and the same errors either way.

Everything happens in the CURRENT network namespace of the process: ``nft`` and the
netlink socket of a libnftables context talk to the netfilter of the namespace they were
created in, and ``/proc/sys/net`` and ``/proc/net`` show the namespace of the reader.
pynet does all firewall work in its own namespace (the user's host namespace; tests run it
inside throwaway namespaces via ``nsenter --net=``), so one context per process is right.
A thread that has switched namespaces (setns) gets a new context made in ITS namespace,
never the cached one: rules can never land in the wrong namespace.

Writes are whole scripts: nftables applies a script as ONE transaction (all of it or none
of it), which is what makes every firewall change atomic.
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

from pynet.errors import KernelError, Unavailable

NFT_TIMEOUT = 30.0                     # seconds; nft returns in milliseconds when healthy
_PROC_NET = Path("/proc/net")
_SYSCTL = Path("/proc/sys")


class NftError(KernelError):
    """nftables refused a script or a listing; ``stderr`` holds nft's own words."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr

    @property
    def exists(self) -> bool:
        """The kernel said EEXIST (e.g. a map key already bound to another value)."""
        return "File exists" in self.stderr

    @property
    def missing(self) -> bool:
        """The kernel said ENOENT (table, chain, set or element not there)."""
        return "No such file or directory" in self.stderr


NFT_FALLBACKS = ("/usr/sbin/nft", "/sbin/nft")  # sbin is not always on a user's PATH
BACKEND_ENV = "PYNET_NFT"              # "exec": always run the nft program (debugging, benchmarks)


def _nft() -> str:
    path = shutil.which("nft") or next((p for p in NFT_FALLBACKS if Path(p).exists()), None)
    if path is None:
        raise Unavailable("nftables (nft) is not installed")
    return path


# -- libnftables through ctypes --------------------------------------------------------

# The soname, not ctypes.util.find_library: that runs `ldconfig -p` (a process per
# command); dlopen finds the soname through the ld.so cache by itself.
LIBNFTABLES = "libnftables.so.1"
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4
_NETLINK_NETFILTER = 12
_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[Any, list[Any]]] = {
    "nft_ctx_new": (_P, [ctypes.c_uint32]),
    "nft_ctx_free": (None, [_P]),
    "nft_ctx_buffer_output": (ctypes.c_int, [_P]),
    "nft_ctx_buffer_error": (ctypes.c_int, [_P]),
    "nft_ctx_output_set_flags": (None, [_P, ctypes.c_uint]),
    "nft_run_cmd_from_buffer": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "nft_ctx_get_output_buffer": (ctypes.c_char_p, [_P]),
    "nft_ctx_get_error_buffer": (ctypes.c_char_p, [_P]),
}


def _netns_id() -> tuple[int, int]:
    """Identity of the calling thread's network namespace."""
    st = os.stat("/proc/thread-self/ns/net")
    return st.st_dev, st.st_ino


def _probe_netlink() -> None:
    """Open (and close) a NETLINK_NETFILTER socket; OSError when the kernel refuses.

    libnftables calls exit() when it cannot open its socket in nft_ctx_new: find out first.
    """
    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER).close()


class LibNft:
    """libnftables (ctypes): one cached context with buffered output and error streams.

    The context belongs to the process and network namespace that created it (its netlink
    socket is bound to that namespace); a call from another namespace or from a forked
    child makes a fresh one. One lock: a context is not thread-safe.
    """

    def __init__(self, cdll: Any) -> None:
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(cdll, name)           # AttributeError: too old a library
            fn.restype, fn.argtypes = restype, argtypes
        self.cdll = cdll
        self._ctx: int | None = None
        self._owner: tuple[int, tuple[int, int]] | None = None
        self._lock = threading.Lock()

    def _context(self) -> int:
        owner = (os.getpid(), _netns_id())
        if self._ctx is not None and self._owner == owner:
            return self._ctx
        if self._ctx is not None and self._owner and self._owner[0] == owner[0]:
            self.cdll.nft_ctx_free(self._ctx)  # (a forked child leaves its parent's copy alone)
        self._ctx = self._owner = None
        try:
            _probe_netlink()
        except OSError as exc:
            raise KernelError(f"nftables: cannot open a netfilter netlink socket: "
                              f"{exc.strerror or exc}") from None
        ctx = self.cdll.nft_ctx_new(NFT_CTX_DEFAULT)
        if not ctx:
            raise KernelError("nftables: libnftables could not create a context")
        if self.cdll.nft_ctx_buffer_output(ctx) or self.cdll.nft_ctx_buffer_error(ctx):
            self.cdll.nft_ctx_free(ctx)
            raise KernelError("nftables: libnftables could not buffer its output")
        self._ctx, self._owner = ctx, owner
        return ctx

    def cmd(self, text: str, json_output: bool = False) -> tuple[int, str, str]:
        """Run ``text`` (one transaction); (return code, output, error text)."""
        if "\0" in text:
            raise KernelError("nftables: NUL byte in a command")
        with self._lock:
            ctx = self._context()
            self.cdll.nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON if json_output else 0)
            rc = self.cdll.nft_run_cmd_from_buffer(ctx, text.encode())
            # reading a buffer also rewinds it: read both after every command
            out = self.cdll.nft_ctx_get_output_buffer(ctx) or b""
            err = self.cdll.nft_ctx_get_error_buffer(ctx) or b""
        return rc, out.decode(errors="replace"), err.decode(errors="replace")


_UNTRIED: Any = object()
_lib: LibNft | None = _UNTRIED
_lib_error = ""                        # why the library could not be loaded


def _load_library() -> LibNft | None:
    global _lib, _lib_error
    if _lib is _UNTRIED:
        try:
            _lib = LibNft(ctypes.CDLL(LIBNFTABLES))
        except (OSError, AttributeError) as exc:
            _lib, _lib_error = None, str(exc)
    return _lib


def backend() -> LibNft | None:
    """The libnftables wrapper, or None when commands run through the ``nft`` program.

    Raises Unavailable when nftables is not installed: the ``nft`` program is its
    package's mark, whichever way pynet then talks to it.
    """
    _nft()
    if os.environ.get(BACKEND_ENV, "") == "exec":
        return None
    return _load_library()


def describe_backend() -> str:
    """How this process talks to nftables, in words (benchmarks, bug reports)."""
    try:
        lib = backend()
    except Unavailable as exc:
        return str(exc)
    if lib is not None:
        return f"libnftables in-process ({LIBNFTABLES})"
    why = f"{BACKEND_ENV}=exec" if os.environ.get(BACKEND_ENV, "") == "exec" else _lib_error
    return f"the nft program ({why})"


def _call(args: list[str], script: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [_nft(), *args], input=script, capture_output=True, text=True, timeout=NFT_TIMEOUT,
            stdin=None if script is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise KernelError(f"nft {' '.join(args)} timed out after {NFT_TIMEOUT:.0f}s") from None


def _script(script: str) -> tuple[int, str, str]:
    lib = backend()
    if lib is not None:
        return lib.cmd(script)
    cp = _call(["-f", "-"], script)
    return cp.returncode, cp.stdout, cp.stderr


def _list(what: str, json_output: bool) -> tuple[int, str, str]:
    lib = backend()
    if lib is not None:
        return lib.cmd(f"list {what}", json_output)
    cp = _call([*(["-j"] if json_output else []), "list", *what.split()])
    return cp.returncode, cp.stdout, cp.stderr


def run(script: str) -> None:
    """Apply ``script`` as one atomic transaction (like ``nft -f -``). Raises NftError."""
    if not script.strip():
        return
    rc, _out, err = _script(script)
    if rc != 0:
        err = err.strip()
        first = err.splitlines()[0] if err else f"exit status {rc}"
        raise NftError(f"nftables refused the change: {first}", err)


def list_json(what: str) -> list[dict[str, Any]]:
    """``nft -j list <what>`` as its list of objects (metainfo dropped). Raises NftError."""
    rc, out, err = _list(what, True)
    if rc != 0:
        raise NftError(f"nft list {what} failed: {err.strip()}", err)
    try:
        data = json.loads(out or "{}")
    except json.JSONDecodeError as exc:
        raise KernelError(f"nft list {what}: unreadable JSON: {exc}") from None
    return [o for o in data.get("nftables", []) if "metainfo" not in o]


def try_list_json(what: str) -> list[dict[str, Any]] | None:
    """Like :func:`list_json`, but None when the object does not exist."""
    try:
        return list_json(what)
    except NftError as exc:
        if exc.missing:
            return None
        raise


def list_text(what: str = "ruleset") -> str:
    """``nft list <what>`` as text (for humans and tests)."""
    rc, out, err = _list(what, False)
    if rc != 0:
        raise NftError(f"nft list {what} failed: {err.strip()}", err)
    return out


def table_exists(family: str, name: str) -> bool:
    """True when ``table <family> <name>`` exists in this namespace."""
    rc, out, _err = _list(f"tables {family}", False)
    return rc == 0 and f"table {family} {name}\n" in out + "\n"


def chains() -> list[dict[str, Any]]:
    """Every chain of every table (``nft -j list chains``), as nft's JSON objects."""
    return [o["chain"] for o in list_json("chains") if "chain" in o]


def set_elements(obj: dict[str, Any]) -> list[Any]:
    """The raw elements of a listed set or map object (``[]`` when empty)."""
    body = obj.get("set") or obj.get("map") or {}
    return list(body.get("elem", []))


# -- /proc helpers the firewall needs (kernel I/O, so they live in the kernel layer) ----

def read_sysctl(name: str) -> str | None:
    """A sysctl of this namespace ('net/ipv4/ip_forward'), or None when it does not exist."""
    try:
        return (_SYSCTL / name).read_text().strip()
    except OSError:
        return None


def write_sysctl(name: str, value: str) -> bool:
    """Set a sysctl; True when it changed. Raises KernelError when it cannot be written."""
    if read_sysctl(name) == value:
        return False
    try:
        (_SYSCTL / name).write_text(value + "\n")
    except OSError as exc:
        raise KernelError(f"set sysctl {name}={value}: {exc.strerror or exc}") from None
    return True


def _hex_ip(text: str) -> str:
    raw = bytes.fromhex(text)
    # /proc/net prints each 32-bit word in host (little-endian) byte order
    fixed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    addr = ipaddress.ip_address(fixed)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        return str(addr.ipv4_mapped)
    return str(addr)


def parse_proc_net(text: str, proto: str, listen_only: bool) -> set[tuple[str, str, int]]:
    """(local ip, proto, port) of the sockets in one /proc/net/{tcp,udp}{,6} text."""
    found = set()
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4 or ":" not in parts[1]:
            continue
        if listen_only and parts[3] != "0A":          # 0A = TCP_LISTEN
            continue
        ip_hex, port_hex = parts[1].rsplit(":", 1)
        port = int(port_hex, 16)
        if port:
            found.add((_hex_ip(ip_hex), proto, port))
    return found


def host_listeners() -> set[tuple[str, str, int]]:
    """Ports host processes hold in this namespace: TCP listeners and bound UDP sockets."""
    found: set[tuple[str, str, int]] = set()
    for name, proto, listen_only in (("tcp", "tcp", True), ("tcp6", "tcp", True),
                                     ("udp", "udp", False), ("udp6", "udp", False)):
        try:
            text = (_PROC_NET / name).read_text()
        except OSError:
            continue
        found |= parse_proc_net(text, proto, listen_only)
    return found
