"""The one module of pynet that runs ``nft`` (plus the few /proc reads the firewall needs).

Everything happens in the CURRENT network namespace of the process: ``nft`` talks to the
netfilter of the namespace it runs in, and ``/proc/sys/net`` and ``/proc/net`` show the
namespace of the reader. pynet runs in the user's host namespace; tests run it inside
throwaway namespaces via ``nsenter --net=``.

Writes are whole ``nft -f -`` scripts: nftables applies a script as ONE transaction
(all of it or none of it), which is what makes every firewall change atomic.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from pynet.errors import KernelError, Unavailable

NFT_TIMEOUT = 30.0                     # seconds; nft returns in milliseconds when healthy
_PROC_NET = Path("/proc/net")
_SYSCTL = Path("/proc/sys")


class NftError(KernelError):
    """``nft`` refused a script or a listing; ``stderr`` holds nft's own words."""

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


def _nft() -> str:
    path = shutil.which("nft") or next((p for p in NFT_FALLBACKS if Path(p).exists()), None)
    if path is None:
        raise Unavailable("nftables (nft) is not installed")
    return path


def _call(args: list[str], script: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [_nft(), *args], input=script, capture_output=True, text=True, timeout=NFT_TIMEOUT,
            stdin=None if script is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise KernelError(f"nft {' '.join(args)} timed out after {NFT_TIMEOUT:.0f}s") from None


def run(script: str) -> None:
    """Apply ``script`` as one atomic transaction (``nft -f -``). Raises NftError."""
    if not script.strip():
        return
    cp = _call(["-f", "-"], script)
    if cp.returncode != 0:
        err = cp.stderr.strip()
        first = err.splitlines()[0] if err else f"exit status {cp.returncode}"
        raise NftError(f"nftables refused the change: {first}", err)


def list_json(what: str) -> list[dict[str, Any]]:
    """``nft -j list <what>`` as its list of objects (metainfo dropped). Raises NftError."""
    cp = _call(["-j", "list", *what.split()])
    if cp.returncode != 0:
        raise NftError(f"nft list {what} failed: {cp.stderr.strip()}", cp.stderr)
    try:
        data = json.loads(cp.stdout or "{}")
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
    cp = _call(["list", *what.split()])
    if cp.returncode != 0:
        raise NftError(f"nft list {what} failed: {cp.stderr.strip()}", cp.stderr)
    return cp.stdout


def table_exists(family: str, name: str) -> bool:
    """True when ``table <family> <name>`` exists in this namespace."""
    cp = _call(["list", "tables", family])
    return cp.returncode == 0 and f"table {family} {name}\n" in cp.stdout + "\n"


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
