"""Bad flag values are refused with Docker's one line and exit code, before any work.

The CLI runs in-process with the controller fenced off (``cli_inproc``): a refused value
must never get as far as the controller (no lock, no state, no kernel object).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_inproc import fence_kernel, invoke, seed_state
from pynet.cnm.controller import NEED_ROOT
from pynet.records import options
from pynet.cnm.containers import _check_mode_mac, check_mode_settings
from pynet.cnm.endpoints import AttachRequest
from pynet.cnm.networks import NetworkCreateRequest, NetworkService
from pynet.cnm.repo import Repo
from pynet.errors import Forbidden, InvalidArgument
from pynet.state.store import Store


@pytest.fixture(autouse=True)
def _fenced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fence_kernel(monkeypatch, tmp_path / "state", tmp_path / "run")


RUN_REFUSALS = [
    (["--ip", "10.123.0.300"], "pynet: Error response from daemon: invalid IPv4 address: 10.123.0.300."),
    (["--ip", "notanip"], "pynet: Error response from daemon: invalid IPv4 address: notanip."),
    (["--ip", "fd00::5"], "pynet: Error response from daemon: invalid IPv4 address: fd00::5."),
    (["--ip6", "10.1.2.3"], "pynet: Error response from daemon: invalid IPv6 address: 10.1.2.3."),
    (["--ip6", "zz::zz"], "pynet: Error response from daemon: invalid IPv6 address: zz::zz."),
    (
        ["--dns", "notanip"],
        'pynet: invalid argument "notanip" for "--dns" flag: IP address is not correctly formatted: notanip.',
    ),
    (["--mac-address", "zz"], "pynet: zz is not a valid mac address."),
    (["--mac-address", "02:42:ac:11:00"], "pynet: 02:42:ac:11:00 is not a valid mac address."),
    (
        ["--add-host", "a:notip"],
        'pynet: invalid argument "a:notip" for "--add-host" flag: invalid IP address in add-host: "notip".',
    ),
    # docker 20.10's client parses the image reference before it asks the daemon anything
    (["--image", "UPPER/case"], "pynet: invalid reference format: repository name must be lowercase."),
    (["--image", "localhost:5000/Foo"], "pynet: invalid reference format: repository name must be lowercase."),
    (["--image", "bad image"], "pynet: invalid reference format."),
    (["--image", "bb@sha256:zz"], "pynet: invalid reference format."),
]


@pytest.mark.parametrize("flags,line", RUN_REFUSALS, ids=[" ".join(f) for f, _ in RUN_REFUSALS])
def test_run_refuses_malformed_values_with_one_line_and_125(flags: list[str], line: str) -> None:
    result = invoke(["run", "--network", "n1", *flags, "true"])
    assert result.code == 125, result
    assert result.err == line + "\n"
    assert result.out == ""


def test_run_with_good_values_gets_to_the_controller() -> None:
    """Positive control: the same checks let well-formed values through."""
    result = invoke(
        [
            "run",
            "--network",
            "n1",
            "--ip",
            "10.123.0.3",
            "--ip6",
            "fd00::3",
            "--dns",
            "10.0.0.53",
            "--mac-address",
            "02-42-AC-11-00-02",
            "--add-host",
            "db:10.0.0.9",
            "--add-host",
            "v6:[fd00::9]",
            "true",
        ]
    )
    assert result.code is None, result


@pytest.mark.parametrize(
    "args,line",
    [
        (["kill", "-s", "99", "c1"], "Error response from daemon: the linux daemon does not support signal 99"),
        (["kill", "-s", "0", "c1"], "Error response from daemon: Invalid signal: 0"),
        (["stop", "-s", "SIGNOPE", "c1"], "Error response from daemon: Invalid signal: SIGNOPE"),
        (
            ["logs", "--tail", "x", "c1"],
            'Error response from daemon: invalid value for "tail": "x": strconv.Atoi: parsing "x": invalid syntax',
        ),
    ],
)
def test_signal_and_tail_values_are_refused_before_any_work(args: list[str], line: str) -> None:
    result = invoke(args)
    assert (result.code, result.err) == (1, line + "\n")


def test_good_signal_gets_to_the_controller() -> None:
    assert invoke(["kill", "-s", "64", "c1"]).code is None  # control


# docker 20.10 (client + dockerd 20.10), checked against the real ones: the client's checks in
# this order (aliases on the first network, duplicates, a mix), then the daemon's one-network rule
_MANY = "Error response from daemon: Container cannot be connected to network endpoints: "
_MIXED = "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
_ALIAS = "network-scoped aliases are only supported for user-defined networks"
NETWORK_REFUSALS = [
    ("--network a --network b", _MANY + "a, b"),
    ("--network a --network nosuch", _MANY + "a, nosuch"),
    ("--network bridge --network host", _MANY + "bridge, host"),
    ("--network a --network a", 'network "a" is specified multiple times'),
    ("--net bridge --network bridge", 'network "bridge" is specified multiple times'),
    ("--network host --network a", _MIXED),
    ("--network a --network container:c1", _MIXED),
    ("--network host --network a --network-alias x", _ALIAS),
    ("--network a --network a --network-alias x", 'network "a" is specified multiple times'),
    ("--network bridge --network-alias x", _ALIAS),
    ("--network host --network-alias x", _ALIAS),
    ("--network none --network-alias x", _ALIAS),
    ("--network-alias x", _ALIAS),
]


@pytest.mark.parametrize("flags,line", NETWORK_REFUSALS, ids=[f for f, _ in NETWORK_REFUSALS])
def test_run_takes_one_network_as_docker_does(flags: str, line: str) -> None:
    result = invoke(["run", *flags.split(), "true"])
    assert (result.code, result.err, result.out) == (125, f"pynet: {line}.\n", "")


def test_one_network_with_an_alias_gets_to_the_controller() -> None:
    assert invoke(["run", "--network", "a", "--network-alias", "x", "true"]).code is None  # control


def test_host_mode_refuses_a_mac_address_first() -> None:
    # the MAC is checked first (and at the API's create; the addresses at its start, as dockerd)
    with pytest.raises(InvalidArgument, match="^conflicting options: mac-address and the network mode$"):
        _check_mode_mac("host", AttachRequest(ipv4="10.0.0.5", mac="02:42:ac:11:00:09"))
    _check_mode_mac("none", AttachRequest(ipv4="10.0.0.5", mac="02:42:ac:11:00:09"))  # none takes a MAC, as Docker
    with pytest.raises(InvalidArgument, match="^user specified IP address"):
        check_mode_settings("none", AttachRequest(ipv4="10.0.0.5", mac="02:42:ac:11:00:09"))


def test_host_and_none_modes_refuse_endpoint_settings() -> None:
    for mode in ("host", "none"):
        with pytest.raises(
            InvalidArgument, match="^user specified IP address is supported on user defined networks only$"
        ):
            check_mode_settings(mode, AttachRequest(ipv4="10.0.0.5"))
        with pytest.raises(InvalidArgument, match="network-scoped alias is supported only"):
            check_mode_settings(mode, AttachRequest(aliases=["x"]))
    check_mode_settings("mynet", AttachRequest(ipv4="10.0.0.5", aliases=["x"]))  # control


@pytest.mark.parametrize("driver", ["host", "null"])
def test_second_host_or_null_network_is_refused(tmp_path: Path, driver: str) -> None:
    store = Store(tmp_path / "s")
    svc = NetworkService(Repo(store, store.begin()), undo=None)  # type: ignore[arg-type]
    with pytest.raises(Forbidden) as info:
        svc.create(NetworkCreateRequest(name="x", driver=driver))
    assert info.value.render() == f'Error response from daemon: only one instance of "{driver}" network is allowed'
    assert info.value.exit_code == 1


@pytest.mark.parametrize("value", ["abc", "", " 1500", "1_500", "١٥٠٠", "15.0"])
def test_int_option_is_read_as_go_atoi(value: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        options.parse_int_option(options.DRIVER_MTU, value)
    assert info.value.message == (
        f"failed to parse com.docker.network.driver.mtu value: {value} "
        f'(strconv.Atoi: parsing "{value}": invalid syntax)'
    )


def test_int_option_accepts_what_atoi_accepts() -> None:
    assert options.parse_int_option(options.DRIVER_MTU, "1400") == 1400
    assert options.parse_int_option(options.DRIVER_MTU, "+9000") == 9000


# -- without root ---------------------------------------------------------------------------

NOBODY = 65534


def _as_nobody(state: Path, run: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYNET_STATE_DIR": str(state), "PYNET_RUN_DIR": str(run)}
    env.pop("PYNET_DEBUG", None)
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run(
        [*drop, sys.executable, "-m", "pynet", *args], capture_output=True, text=True, env=env, cwd="/", timeout=60
    )


@pytest.fixture
def shared_state() -> Iterator[tuple[Path, Path]]:
    """A seeded state that an unprivileged user can read (pytest's tmp_path cannot)."""
    root = Path(tempfile.mkdtemp(prefix="pynet-nonroot-"))
    try:
        root.chmod(0o755)
        seed_state(root / "state", root / "run")
        yield root / "state", root / "run"
    finally:
        shutil.rmtree(root)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != "pynet.lock"}


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="dropping to an unprivileged user needs root and setpriv"
)
def test_without_root_mutations_are_one_line_and_change_nothing(shared_state: tuple[Path, Path]) -> None:
    state, run = shared_state
    before = _files(state)
    ls = _as_nobody(state, run, "network", "ls", "--format", "{{.Name}}")
    assert (ls.returncode, ls.stdout, ls.stderr) == (0, "bridge\nhost\nn1\nnone\n", "")  # reads work
    for args, code in (
        (["network", "create", "x"], 1),
        (["run", "true"], 125),
        (["rm", "-f", "c1"], 1),
        (["network", "rm", "n1"], 1),
        (["system", "reset", "-f"], 1),
    ):
        cp = _as_nobody(state, run, *args)
        assert cp.returncode == code, (args, cp)
        line = NEED_ROOT + "." if code == 125 else NEED_ROOT
        assert cp.stderr == ("pynet: " if code == 125 else "") + line + "\n", (args, cp.stderr)
        assert cp.stdout == ""
    assert _files(state) == before


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="dropping to an unprivileged user needs root and setpriv"
)
def test_without_root_an_unreadable_state_is_one_line(shared_state: tuple[Path, Path]) -> None:
    state, run = shared_state
    (state / "networks").chmod(0o700)
    cp = _as_nobody(state, run, "network", "ls")
    assert cp.returncode == 1
    assert cp.stderr.splitlines() == [cp.stderr.strip()]
    assert cp.stderr.startswith("Error: permission denied: ") and "pynet needs root" in cp.stderr
    assert "internal error" not in cp.stderr


def test_host_binding_option_must_be_an_ip() -> None:
    from pynet.records.model import Network
    from pynet.drivers.bridge import BridgeDriver

    def net(value: str) -> Network:
        return Network(
            id="1" * 64, name="t", driver="bridge", created="x", options={options.BRIDGE_HOST_BINDING_IPV4: value}
        )

    with pytest.raises(InvalidArgument) as info:
        BridgeDriver().validate_create(net("notip"))
    assert info.value.message == "failed to parse com.docker.network.bridge.host_binding_ipv4 value: notip (nil ip)"
    BridgeDriver().validate_create(net("127.0.0.1"))  # control
