"""pynet.kernel.nft talking to libnftables through ctypes, and its fall-back to ``nft``.

A fake library stands in for libnftables (and a fake ``subprocess.run`` for the nft
program): no test here opens a netlink socket or changes any namespace. What the real
library does with pynet's scripts is proved by tests/integration/test_firewall.py, whose
firewall calls run in-process through it.
"""

from __future__ import annotations

import ctypes
import errno
import subprocess
from typing import Any

import pytest

from pynet.errors import KernelError, Unavailable
from pynet.kernel import nft

pytestmark = pytest.mark.unit

NFT = "/usr/sbin/nft"


class FakeFn:
    """One C function: ctypes lets the wrapper set restype/argtypes; calls go to ``impl``."""

    def __init__(self, impl: Any) -> None:
        self.impl = impl
        self.restype: Any = "unset"
        self.argtypes: Any = "unset"

    def __call__(self, *args: Any) -> Any:
        return self.impl(*args)


class FakeLib:
    """Stands in for ``ctypes.CDLL("libnftables.so.1")``.

    ``answers`` maps a command (bytes) to (rc, output, error); anything else succeeds
    silently. Output and error buffers behave like libnftables': reading one rewinds it.
    """

    def __init__(self) -> None:
        self.commands: list[tuple[int, bytes, int]] = []  # (ctx, command, output flags)
        self.answers: dict[bytes, tuple[int, bytes, bytes]] = {}
        self.new_ctx_result: int | None = None
        self.created: list[int] = []
        self.freed: list[int] = []
        self.buffered: list[tuple[str, int]] = []
        self._flags: dict[int, int] = {}
        self._out: dict[int, bytes] = {}
        self._err: dict[int, bytes] = {}
        impls = {
            "nft_ctx_new": self._new,
            "nft_ctx_free": self.freed.append,
            "nft_ctx_buffer_output": lambda c: self.buffered.append(("output", c)) or 0,
            "nft_ctx_buffer_error": lambda c: self.buffered.append(("error", c)) or 0,
            "nft_ctx_output_set_flags": self._flags.__setitem__,
            "nft_run_cmd_from_buffer": self._run,
            "nft_ctx_get_output_buffer": lambda c: self._out.pop(c, b""),
            "nft_ctx_get_error_buffer": lambda c: self._err.pop(c, b""),
        }
        for name, impl in impls.items():
            setattr(self, name, FakeFn(impl))

    def _new(self, flags: int) -> int | None:
        assert flags == nft.NFT_CTX_DEFAULT
        if self.new_ctx_result is not None:
            return self.new_ctx_result
        ctx = 0x1000 + len(self.created)
        self.created.append(ctx)
        return ctx

    def _run(self, ctx: int, command: bytes) -> int:
        assert isinstance(command, bytes)
        self.commands.append((ctx, command, self._flags.get(ctx, 0)))
        rc, out, err = self.answers.get(command, (0, b"", b""))
        self._out[ctx], self._err[ctx] = out, err
        return rc


class FakeProgram:
    """Records ``subprocess.run`` calls (the nft program) and answers them."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []
        self.answer = subprocess.CompletedProcess([], 0, "", "")

    def __call__(self, args: list[str], input: str | None = None, **kw: Any) -> subprocess.CompletedProcess:
        assert kw.get("timeout"), "every subprocess gets a timeout"
        self.calls.append((list(args), input))
        return self.answer


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fresh module state, nft installed, a fake library and a fake program; no kernel."""
    lib, prog, loaded = FakeLib(), FakeProgram(), []

    def cdll(name: str) -> FakeLib:
        loaded.append(name)
        return lib

    monkeypatch.setattr(nft, "_lib", nft._UNTRIED)
    monkeypatch.setattr(nft, "_lib_error", "")
    monkeypatch.delenv(nft.BACKEND_ENV, raising=False)
    monkeypatch.setattr(nft.shutil, "which", lambda name: NFT if name == "nft" else None)
    monkeypatch.setattr(nft.ctypes, "CDLL", cdll)
    monkeypatch.setattr(nft.subprocess, "run", prog)
    monkeypatch.setattr(nft, "_probe_netlink", lambda: None)
    netns = {"id": (4, 4026531840)}
    monkeypatch.setattr(nft, "_netns_id", lambda: netns["id"])
    return {"lib": lib, "prog": prog, "loaded": loaded, "netns": netns, "mp": monkeypatch}


# -- loading ---------------------------------------------------------------------------


def test_library_is_loaded_by_soname_with_typed_signatures(env: dict[str, Any]) -> None:
    nft.run("add table inet pynet")
    assert env["loaded"] == ["libnftables.so.1"]  # no find_library (it runs ldconfig)
    assert env["prog"].calls == []  # no nft process
    lib = env["lib"]
    assert lib.nft_run_cmd_from_buffer.argtypes == [ctypes.c_void_p, ctypes.c_char_p]
    assert lib.nft_ctx_new.restype is ctypes.c_void_p  # a pointer, not a truncated int
    assert lib.nft_ctx_get_error_buffer.restype is ctypes.c_char_p
    assert nft.describe_backend() == "libnftables in-process (libnftables.so.1)"


def test_one_cached_context_with_buffered_streams(env: dict[str, Any]) -> None:
    lib = env["lib"]
    nft.run("add table inet pynet\n")
    nft.run("add table inet pynet\n")
    nft.table_exists("inet", "pynet")
    assert len(lib.created) == 1 and env["loaded"] == ["libnftables.so.1"]
    assert lib.buffered == [("output", lib.created[0]), ("error", lib.created[0])]
    assert [c[1] for c in lib.commands] == [b"add table inet pynet\n", b"add table inet pynet\n", b"list tables inet"]
    assert lib.freed == []


def test_json_flag_only_for_json_listings(env: dict[str, Any]) -> None:
    lib = env["lib"]
    lib.answers[b"list chains"] = (
        0,
        b'{"nftables": [{"metainfo": {"version": "1.0.6"}}, '
        b'{"chain": {"family": "inet", "table": "pynet", "name": "forward"}}]}\n',
        b"",
    )
    lib.answers[b"list tables inet"] = (0, b"table inet other\ntable inet pynet\n", b"")
    assert nft.chains() == [{"family": "inet", "table": "pynet", "name": "forward"}]
    assert nft.table_exists("inet", "pynet") and not nft.table_exists("inet", "pyne")
    nft.run("flush chain inet pynet forward")
    assert [flags for _ctx, _cmd, flags in lib.commands] == [nft.NFT_CTX_OUTPUT_JSON, 0, 0, 0]


def test_list_text_returns_the_output_buffer(env: dict[str, Any]) -> None:
    env["lib"].answers[b"list ruleset"] = (0, b"table inet pynet {\n}\n", b"")
    assert nft.list_text() == "table inet pynet {\n}\n"


# -- errors: the same translation as with the nft program ------------------------------

EEXIST = b"Error: Could not process rule: File exists\nadd element inet pynet pub4_any { tcp . 80 : 10.0.0.2 . 80 }\n"
ENOENT = b"Error: No such file or directory\nlist table inet pynet\n                ^^^^^\n"


def test_refused_script_raises_nft_error_with_nfts_words(env: dict[str, Any]) -> None:
    script = "add element inet pynet pub4_any { tcp . 80 : 10.0.0.2 . 80 }\n"
    env["lib"].answers[script.encode()] = (-1, b"", EEXIST)
    with pytest.raises(nft.NftError) as info:
        nft.run(script)
    assert str(info.value) == "nftables refused the change: Error: Could not process rule: File exists"
    assert info.value.exists and not info.value.missing
    assert info.value.stderr == EEXIST.decode().strip()
    nft.run(script.replace("10.0.0.2", "10.0.0.3"))  # buffers were rewound: no stale error


def test_missing_objects_in_listings(env: dict[str, Any]) -> None:
    lib = env["lib"]
    lib.answers[b"list table inet pynet"] = (-1, b"", ENOENT)
    assert nft.try_list_json("table inet pynet") is None
    with pytest.raises(nft.NftError, match=r"^nft list table inet pynet failed: Error: No such file") as info:
        nft.list_json("table inet pynet")
    assert info.value.missing
    lib.answers[b"list ruleset"] = (-1, b"", b"Error: Could not receive tables from kernel: Operation not permitted\n")
    with pytest.raises(nft.NftError, match="Operation not permitted"):
        nft.try_list_json("ruleset")  # only ENOENT means "not there"
    lib.answers[b"list chains"] = (0, b"{not json", b"")
    with pytest.raises(KernelError, match="unreadable JSON"):
        nft.chains()


def test_error_without_words_names_the_return_code(env: dict[str, Any]) -> None:
    env["lib"].answers[b"add table inet x"] = (-1, b"", b"")
    with pytest.raises(nft.NftError, match=r"^nftables refused the change: exit status -1$"):
        nft.run("add table inet x")


def test_empty_script_is_not_sent(env: dict[str, Any]) -> None:
    nft.run("  \n")
    assert env["lib"].commands == [] and env["loaded"] == []


def test_nul_byte_is_refused_not_truncated(env: dict[str, Any]) -> None:
    with pytest.raises(KernelError, match="NUL"):
        nft.run('add element inet pynet bridges { "br\0" }')
    assert env["lib"].commands == []


# -- namespaces and processes ----------------------------------------------------------


def test_a_thread_in_another_netns_gets_a_context_made_there(env: dict[str, Any]) -> None:
    lib = env["lib"]
    nft.run("add table inet a")
    env["netns"]["id"] = (4, 4026532999)  # the thread moved (setns)
    nft.run("add table inet b")
    assert lib.created == [0x1000, 0x1001] and lib.freed == [0x1000]
    assert [c[0] for c in lib.commands] == [0x1000, 0x1001]


def test_a_forked_child_does_not_reuse_or_free_its_parents_context(env: dict[str, Any]) -> None:
    lib = env["lib"]
    nft.run("add table inet a")
    env["mp"].setattr(nft.os, "getpid", lambda: 999_999)
    nft.run("add table inet b")
    assert lib.created == [0x1000, 0x1001] and lib.freed == []


def test_no_netfilter_socket_is_an_error_not_an_exit(env: dict[str, Any]) -> None:
    # libnftables exit()s the process when nft_ctx_new cannot open its socket
    def refuse() -> None:
        raise OSError(errno.EPROTONOSUPPORT, "Protocol not supported")

    env["mp"].setattr(nft, "_probe_netlink", refuse)
    with pytest.raises(KernelError, match="cannot open a netfilter netlink socket: Protocol not supported"):
        nft.run("add table inet pynet")
    assert env["lib"].created == []


def test_context_creation_failures(env: dict[str, Any]) -> None:
    env["lib"].new_ctx_result = 0
    with pytest.raises(KernelError, match="could not create a context"):
        nft.run("add table inet pynet")
    env["lib"].new_ctx_result = None
    env["lib"].nft_ctx_buffer_error = FakeFn(lambda c: -1)
    with pytest.raises(KernelError, match="could not buffer"):
        nft.run("add table inet pynet")
    assert env["lib"].freed == env["lib"].created  # the half-made context is not leaked


# -- fall-back to the nft program ------------------------------------------------------


def _no_library(env: dict[str, Any], exc: Exception) -> None:
    def cdll(name: str) -> Any:
        env["loaded"].append(name)
        raise exc

    env["mp"].setattr(nft.ctypes, "CDLL", cdll)


@pytest.mark.parametrize(
    "exc",
    [
        OSError("libnftables.so.1: cannot open shared object file"),
        AttributeError("undefined symbol: nft_ctx_output_set_flags"),
    ],
)
def test_program_is_used_when_the_library_cannot_be_loaded(env: dict[str, Any], exc: Exception) -> None:
    _no_library(env, exc)
    prog = env["prog"]
    nft.run("add table inet pynet\n")
    prog.answer = subprocess.CompletedProcess([], 0, '{"nftables": [{"metainfo": {}}, {"chain": {"name": "c"}}]}', "")
    assert nft.chains() == [{"name": "c"}]
    prog.answer = subprocess.CompletedProcess([], 0, "table inet pynet\n", "")
    assert nft.table_exists("inet", "pynet")
    assert prog.calls == [
        ([NFT, "-f", "-"], "add table inet pynet\n"),
        ([NFT, "-j", "list", "chains"], None),
        ([NFT, "list", "tables", "inet"], None),
    ]
    assert env["loaded"] == ["libnftables.so.1"]  # tried once per process, not per call
    assert nft.describe_backend() == f"the nft program ({exc})"


def test_program_errors_translate_the_same_way(env: dict[str, Any]) -> None:
    _no_library(env, OSError("gone"))
    env["prog"].answer = subprocess.CompletedProcess(
        [], 1, "", "/dev/stdin:1:24-25: Error: Could not process rule: File exists\nadd element ...\n"
    )
    with pytest.raises(nft.NftError) as info:
        nft.run("add element inet pynet pub4_any { tcp . 80 : 10.0.0.2 . 80 }")
    assert str(info.value) == (
        "nftables refused the change: /dev/stdin:1:24-25: Error: Could not process rule: File exists"
    )
    assert info.value.exists


def test_program_timeout_is_a_kernel_error(env: dict[str, Any]) -> None:
    _no_library(env, OSError("gone"))

    def slow(args: list[str], **kw: Any) -> None:
        raise subprocess.TimeoutExpired(args, kw["timeout"])

    env["mp"].setattr(nft.subprocess, "run", slow)
    with pytest.raises(KernelError, match=r"^nft -f - timed out after 30s$"):
        nft.run("add table inet pynet")


def test_env_forces_the_program(env: dict[str, Any]) -> None:
    env["mp"].setenv(nft.BACKEND_ENV, "exec")
    nft.run("add table inet pynet")
    assert env["loaded"] == [] and env["prog"].calls == [([NFT, "-f", "-"], "add table inet pynet")]
    assert nft.describe_backend() == "the nft program (PYNET_NFT=exec)"


def test_nftables_not_installed_is_unavailable_even_with_the_library(env: dict[str, Any]) -> None:
    env["mp"].setattr(nft.shutil, "which", lambda name: None)
    env["mp"].setattr(nft, "NFT_FALLBACKS", ())
    with pytest.raises(Unavailable, match=r"^nftables \(nft\) is not installed$"):
        nft.run("add table inet pynet")
    assert env["lib"].created == [] and env["prog"].calls == []
    assert nft.describe_backend() == "nftables (nft) is not installed"


# -- the real library: symbols only (dlopen; no context, no socket, no kernel) ---------


def test_real_library_has_every_symbol_pynet_uses() -> None:
    try:
        cdll = ctypes.CDLL(nft.LIBNFTABLES)
    except OSError:
        pytest.skip("libnftables1 is not installed")
    nft.LibNft(cdll)  # AttributeError when a symbol is missing
