"""THE one module of pynet that talks to nftables (plus the few /proc reads the firewall needs).

One API over three ways in: raw nf_tables netlink (private ``_session``) for the hot
paths' element scripts, libnftables in-process for everything else, the ``nft`` program
as fall-back (``PYNET_NFT=exec|lib``). A script is ONE transaction; everything happens in
the current network namespace of the calling thread: firewall.md, "Talking to nftables".
"""

from __future__ import annotations

import _thread
import errno
import os

from pynet import paths
from pynet.errors import KernelError, Unavailable
from pynet.kernel.nft import _elements as nftelements
from pynet.kernel.nft import _nfnetlink as nfnetlink
from pynet.kernel.nft import _session as nftraw

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    Atoms = tuple[Any, ...]


class _LazyModule:
    """A module imported on first use: ``shutil`` alone costs ~1.6 ms (bz2, lzma), and the
    raw path needs none of these. (Patching an attribute, as tests do, patches this stand-in.)"""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(__import__(self._name), attr)


class _Shutil(_LazyModule):
    """``shutil`` on first use, but ``which`` (all pynet takes from it on the way to nft)
    answered here: creating the first network would otherwise import it just for that."""

    @staticmethod
    def which(name: str) -> str | None:
        for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
            path = os.path.join(directory or ".", name)
            if os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        return None


ctypes: Any = _LazyModule("ctypes")
shutil: Any = _Shutil("shutil")
subprocess: Any = _LazyModule("subprocess")

NFT_TIMEOUT = 30.0  # seconds; nft returns in milliseconds when healthy
_PROC_NET = "/proc/net"
_SYSCTL = "/proc/sys"


class NftError(KernelError):
    """nftables refused a script or a listing; ``stderr`` holds nft's own words and
    ``errnos`` the kernel errors they report (callers test these, never the text)."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr
        self.errnos = errnos_reported(stderr)

    @property
    def exists(self) -> bool:
        """The kernel said EEXIST (e.g. a map key already bound to another value)."""
        return errno.EEXIST in self.errnos

    @property
    def missing(self) -> bool:
        """The kernel said ENOENT (table, chain, set or element not there)."""
        return errno.ENOENT in self.errnos


#: the kernel errors pynet acts on, in the words nft prints for them (strerror, C locale)
_NFT_ERRNO_TEXT = {errno.EEXIST: "File exists", errno.ENOENT: "No such file or directory"}


def errnos_reported(stderr: str) -> frozenset[int]:
    """The kernel errors named in nft's error output.

    The one place pynet reads nft's text: libnftables and the nft program report a
    refused command only as text (``Error: Could not process rule: File exists``), with
    the kernel's errno as strerror() words; the raw netlink path has the errno itself but
    hands a refused batch to libnftables, whose answer is what the user sees.
    """
    return frozenset(code for code, text in _NFT_ERRNO_TEXT.items() if text in stderr)


NFT_FALLBACKS = ("/usr/sbin/nft", "/sbin/nft")  # sbin is not always on a user's PATH
BACKEND_ENV = "PYNET_NFT"  # "exec": only the nft program; "lib": no raw netlink (debugging, benchmarks)


def _nft() -> str:
    path = shutil.which("nft") or next((p for p in NFT_FALLBACKS if os.path.exists(p)), None)
    if path is None:
        raise Unavailable("nftables (nft) is not installed")
    return path


# -- libnftables through ctypes --------------------------------------------------------

# The soname, not ctypes.util.find_library: that runs `ldconfig -p` (a process per
# command); dlopen finds the soname through the ld.so cache by itself.
LIBNFTABLES = "libnftables.so.1"
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4


def _signatures() -> dict[str, tuple[Any, list[Any]]]:
    ptr = ctypes.c_void_p
    return {
        "nft_ctx_new": (ptr, [ctypes.c_uint32]),
        "nft_ctx_free": (None, [ptr]),
        "nft_ctx_buffer_output": (ctypes.c_int, [ptr]),
        "nft_ctx_buffer_error": (ctypes.c_int, [ptr]),
        "nft_ctx_output_set_flags": (None, [ptr, ctypes.c_uint]),
        "nft_run_cmd_from_buffer": (ctypes.c_int, [ptr, ctypes.c_char_p]),
        "nft_ctx_get_output_buffer": (ctypes.c_char_p, [ptr]),
        "nft_ctx_get_error_buffer": (ctypes.c_char_p, [ptr]),
    }


def _netns_id() -> tuple[int, int]:
    """Identity of the calling thread's network namespace."""
    st = os.stat("/proc/thread-self/ns/net")
    return st.st_dev, st.st_ino


def _probe_netlink() -> Any:
    """Open a NETLINK_NETFILTER socket in this namespace; OSError when the kernel refuses.

    libnftables calls exit() when it cannot open its socket in nft_ctx_new: the library
    path opens one first (and closes it); the raw path keeps it as its own socket.
    """
    return nfnetlink.open_socket()


class LibNft:
    """libnftables (ctypes): one cached context with buffered output and error streams.

    The context belongs to the process and network namespace that created it (its netlink
    socket is bound to that namespace); a call from another namespace or from a forked
    child makes a fresh one. One lock: a context is not thread-safe.
    """

    def __init__(self, cdll: Any) -> None:
        import _thread  # threading's Lock, without importing threading

        for name, (restype, argtypes) in _signatures().items():
            fn = getattr(cdll, name)  # AttributeError: too old a library
            fn.restype, fn.argtypes = restype, argtypes
        self.cdll = cdll
        self._ctx: int | None = None
        self._owner: tuple[int, tuple[int, int]] | None = None
        self._lock = _thread.allocate_lock()

    def _context(self) -> int:
        owner = (os.getpid(), _netns_id())
        if self._ctx is not None and self._owner == owner:
            return self._ctx
        if self._ctx is not None and self._owner and self._owner[0] == owner[0]:
            self.cdll.nft_ctx_free(self._ctx)  # (a forked child leaves its parent's copy alone)
        self._ctx = self._owner = None
        try:
            probe = _probe_netlink()
        except OSError as exc:
            raise KernelError(f"nftables: cannot open a netfilter netlink socket: {exc.strerror or exc}") from None
        if probe is not None:
            probe.close()
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
_lib_error = ""  # why the library could not be loaded


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


# -- the raw path ------------------------------------------------------------------------

SKELETON_CACHE = "nft-skeleton.cache"  # in the runtime dir: what pynet's skeleton looks like
_raw: tuple[tuple[int, int, tuple[int, int]], nftraw.Raw] | None = None


def raw() -> nftraw.Raw | None:
    """This thread's raw nf_tables session in the current namespace, or None when unused.

    Unused with ``PYNET_NFT=lib`` or ``exec``, when no socket could be opened (the
    library path then says why), and in any thread but the one that opened it (the
    socket is not shared; libnftables, behind its lock, serves the others). A thread
    that switched namespaces gets a new session made in its new namespace.
    """
    global _raw
    if os.environ.get(BACKEND_ENV, "") in ("exec", "lib"):
        return None
    owner = (os.getpid(), _thread.get_ident(), _netns_id())
    if _raw is not None:
        if _raw[0] == owner:
            return _raw[1]
        if _raw[0][0] == owner[0] and _raw[0][1] != owner[1]:
            return None
        _drop_raw()
    try:
        sock = _probe_netlink()
    except OSError:
        return None
    if sock is None:  # a probe that opens nothing: no raw path
        return None
    try:
        _raw = (owner, nftraw.Raw(_probe_netlink, os.path.join(paths.run_root(), SKELETON_CACHE), sock))
    except OSError:
        sock.close()
        return None
    return _raw[1]


def _drop_raw() -> None:
    """Forget the raw session (a socket in an unknown state, another namespace or process)."""
    global _raw
    if _raw is not None and _raw[0][0] == os.getpid():
        _raw[1].close()  # (a forked child leaves its parent's socket alone)
    _raw = None


def _raw_for(script: str) -> nftraw.Raw | None:
    """The raw session when ``script`` might go raw at all (decided without any I/O)."""
    prefix, rest = nftraw.split_prefix(script)
    if nftelements.parse_script(rest) is None or (prefix and not nftraw.declared_chains(prefix)):
        return None
    return raw()


def describe_backend() -> str:
    """How this process talks to nftables, in words (benchmarks, bug reports)."""
    try:
        lib = backend()
    except Unavailable as exc:
        return str(exc)
    fast = "raw nf_tables netlink for elements and questions, " if raw() is not None else ""
    if lib is not None:
        return f"{fast}libnftables in-process ({LIBNFTABLES})"
    why = f"{BACKEND_ENV}=exec" if os.environ.get(BACKEND_ENV, "") == "exec" else _lib_error
    return f"{fast}the nft program ({why})"


def _call(args: list[str], script: str | None = None) -> Any:
    try:
        return subprocess.run(
            [_nft(), *args],
            input=script,
            capture_output=True,
            text=True,
            timeout=NFT_TIMEOUT,
            stdin=None if script is not None else subprocess.DEVNULL,
        )
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
    """Apply ``script`` as one atomic transaction (like ``nft -f -``). Raises NftError.

    pynet's element scripts go raw (one batch, no cache fetch), also behind a skeleton
    prefix that is provably in effect already (:class:`pynet.kernel.nft._session.Raw`); the rest,
    and anything the kernel refused on the raw path, goes to libnftables.
    """
    if not script.strip():
        return
    if "\0" in script:
        raise KernelError("nftables: NUL byte in a command")
    session = _raw_for(script)
    try:
        if session is not None and session.run(script):
            return
    except OSError:
        _drop_raw()  # a socket in an unknown state: libnftables does it
        session = None
    rc, _out, err = _script(script)
    if session is not None:
        session.forget()
    if rc != 0:
        err = err.strip()
        first = err.splitlines()[0] if err else f"exit status {rc}"
        raise NftError(f"nftables refused the change: {first}", err)
    if session is not None:
        try:
            session.remember(script)
        except OSError:
            _drop_raw()  # only a cache: the next change re-sends the skeleton


def list_json(what: str) -> list[dict[str, Any]]:
    """``nft -j list <what>`` as its list of objects (metainfo dropped). Raises NftError."""
    import json

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


_NO_ANSWER: Any = object()


def _ask(question: str, *args: Any) -> Any:
    """The raw session's answer to ``question``; ``_NO_ANSWER`` when it cannot answer."""
    session = raw()
    if session is None:
        return _NO_ANSWER
    try:
        return getattr(session, question)(*args)
    except nfnetlink.NfnlError:
        return _NO_ANSWER  # refused (EPERM...): libnftables answers, or says why
    except OSError:
        _drop_raw()  # the socket itself failed: start afresh next time
        return _NO_ANSWER


def table_exists(family: str, name: str) -> bool:
    """True when ``table <family> <name>`` exists in this namespace."""
    answer = _ask("table_exists", family, name)
    if answer is not _NO_ANSWER:
        return bool(answer)
    rc, out, _err = _list(f"tables {family}", False)
    return rc == 0 and f"table {family} {name}\n" in out + "\n"


def chains() -> list[dict[str, Any]]:
    """Every chain of every table (``nft -j list chains``), as nft's JSON objects.

    Base chains carry ``type``, ``hook``, ``prio`` and ``policy``.
    """
    answer = _ask("chains")
    if answer is not _NO_ANSWER:
        return answer
    return [o["chain"] for o in list_json("chains") if "chain" in o]


def elements(family: str, table: str, name: str, limit: int | None = None) -> list[tuple[Atoms, Atoms | None]] | None:
    """(key, value) of the elements of a set or map; None when it (or its table) is missing.

    Keys and values are tuples of nft's JSON atoms: ``("tcp", 8080)``, ``("br-a",)``; an
    interval appears once, as its first address. With ``limit`` the answer may stop after
    that many elements (a bounded question: "is anyone but me in there?").
    """
    answer = _ask("elements", family, table, name, limit)
    if answer is not _NO_ANSWER:
        return None if answer is None else [(e.key, e.data) for e in answer]
    return elements_from_listing(try_list_json(f"table {family} {table}"), name)


def elements_from_listing(listing: list[dict[str, Any]] | None, name: str) -> list[tuple[Atoms, Atoms | None]] | None:
    """:func:`elements` out of a JSON listing of the table (``nft -j list table``)."""
    if listing is None:
        return None
    for obj in listing:
        body = obj.get("set") or obj.get("map")
        if body and body.get("name") == name:
            out = []
            for item in body.get("elem", []):
                if isinstance(item, list) and len(item) == 2:  # a map element: [key, value]
                    out.append((json_atoms(item[0]), json_atoms(item[1])))
                else:
                    out.append((json_atoms(item), None))
            return out
    return None


def json_atoms(value: Any) -> Atoms:
    """nft JSON's element value as a tuple of atoms (an interval as its first address)."""
    if isinstance(value, dict) and "elem" in value:
        value = value["elem"].get("val")
    if isinstance(value, dict) and "concat" in value:
        return tuple(a for part in value["concat"] for a in json_atoms(part))
    if isinstance(value, dict) and "prefix" in value:
        return (value["prefix"]["addr"],)
    if isinstance(value, dict) and "range" in value:
        return (value["range"][0],)
    return (value,)


def chain_rules(family: str, table: str, chain: str) -> list[dict[str, Any]] | None:
    """``handle`` (and ``comment``) of each rule of one chain; None when it does not exist."""
    answer = _ask("chain_rules", family, table, chain)
    if answer is not _NO_ANSWER:
        return answer
    return rules_from_listing(try_list_json(f"chain {family} {table} {chain}"))


def rules_from_listing(listing: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """:func:`chain_rules` out of a JSON listing of the chain."""
    if listing is None:
        return None
    return [{k: r["rule"][k] for k in ("handle", "comment") if k in r["rule"]} for r in listing if "rule" in r]


# -- /proc helpers the firewall needs (kernel I/O, so they live in the kernel layer) ----


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def read_sysctl(name: str) -> str | None:
    """A sysctl of this namespace ('net/ipv4/ip_forward'), or None when it does not exist."""
    try:
        return _read_text(f"{_SYSCTL}/{name}").strip()
    except OSError:
        return None


def write_sysctl(name: str, value: str) -> bool:
    """Set a sysctl; True when it changed. Raises KernelError when it cannot be written."""
    if read_sysctl(name) == value:
        return False
    try:
        with open(f"{_SYSCTL}/{name}", "w") as f:
            f.write(value + "\n")
    except OSError as exc:
        raise KernelError(f"set sysctl {name}={value}: {exc.strerror or exc}") from None
    return True


def _hex_ip(text: str) -> str:
    import ipaddress

    packed = bytes.fromhex(text)
    # /proc/net prints each 32-bit word in host (little-endian) byte order
    fixed = b"".join(packed[i : i + 4][::-1] for i in range(0, len(packed), 4))
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
        if listen_only and parts[3] != "0A":  # 0A = TCP_LISTEN
            continue
        ip_hex, port_hex = parts[1].rsplit(":", 1)
        port = int(port_hex, 16)
        if port:
            found.add((_hex_ip(ip_hex), proto, port))
    return found


def host_listeners() -> set[tuple[str, str, int]]:
    """Ports host processes hold in this namespace: TCP listeners and bound UDP sockets."""
    found: set[tuple[str, str, int]] = set()
    for name, proto, listen_only in (
        ("tcp", "tcp", True),
        ("tcp6", "tcp", True),
        ("udp", "udp", False),
        ("udp6", "udp", False),
    ):
        try:
            text = _read_text(f"{_PROC_NET}/{name}")
        except OSError:
            continue
        found |= parse_proc_net(text, proto, listen_only)
    return found


def legacy_filter_rules(family: str) -> list[str] | None:
    """``iptables-legacy -S`` (``ip6tables-legacy`` for "ip6") of this namespace's filter table.

    None when no legacy filter table is in use here (``/proc/net/ip_tables_names``: the
    kernel makes it per namespace on first use) or its program is missing. nft cannot
    show these rules, yet their FORWARD policy drops pynet's traffic all the same.
    """
    names = "ip6_tables_names" if family == "ip6" else "ip_tables_names"
    try:
        if "filter" not in _read_text(f"{_PROC_NET}/{names}").split():
            return None
    except OSError:
        return None
    program = shutil.which("ip6tables-legacy" if family == "ip6" else "iptables-legacy")
    if program is None:
        return None
    cp = subprocess.run(
        [program, "-w", "5", "-t", "filter", "-S"], capture_output=True, text=True, timeout=10, check=False
    )
    return cp.stdout.splitlines() if cp.returncode == 0 else None
