"""The one error model: every failure a user sees is a PynetError carrying its exit code,
rendered at one boundary; options are read by one function per kind of value."""

from __future__ import annotations

import errno

import pytest

from pynet import errors
from pynet.cli.main import boundary
from pynet.records import options
from pynet.records.model import Network
from pynet.kernel.nft import NftError, errnos_reported

ID = "0123456789abcdef" * 4


# -- the hierarchy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        errors.NotFound,
        errors.Conflict,
        errors.InvalidArgument,
        errors.Forbidden,
        errors.Unavailable,
        errors.Unsupported,
        errors.StateCorrupt,
        errors.StateTooNew,
        errors.KernelError,
        errors.Timeout,
    ],
)
def test_every_error_exits_1(cls: type[errors.PynetError]) -> None:
    assert issubclass(cls, errors.PynetError) and cls("x").exit_code == errors.EXIT_ERROR == 1


def test_docker_exit_codes_are_named_once() -> None:
    assert (errors.EXIT_USAGE, errors.EXIT_CANNOT_INVOKE, errors.EXIT_NOT_FOUND) == (125, 126, 127)


def test_a_run_failure_is_125_and_printed_as_dockers_client_does() -> None:
    failed = errors.RunFailed(errors.NotFound("network n not found"))
    assert (failed.exit_code, failed.render()) == (125, "pynet: Error response from daemon: network n not found.")


@pytest.mark.parametrize("code", [126, 127])
def test_a_run_whose_command_cannot_start_keeps_the_launch_code(code: int) -> None:
    failed = errors.RunFailed(errors.LaunchFailed("failed to create task: x: unknown", code))
    assert (failed.exit_code, failed.render()) == (
        code,
        "pynet: Error response from daemon: failed to create task: x: unknown.",
    )


def test_exec_prints_the_launch_failure_bare() -> None:
    exc = errors.LaunchFailed("OCI runtime exec failed: x: unknown", 127, from_daemon=False)
    assert (exc.render(), exc.exit_code) == ("OCI runtime exec failed: x: unknown", 127)


def test_no_such_network_is_a_type_with_dockers_line() -> None:
    exc = errors.NoSuchNetwork("n1")
    assert isinstance(exc, errors.NotFound)
    assert (exc.render(), exc.exit_code) == ("Error: No such network: n1", 1)


def test_the_boundary_prints_one_line_and_returns_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        raise errors.Conflict("network with name n already exists")

    assert boundary(body) == 1
    assert capsys.readouterr().err == "Error response from daemon: network with name n already exists\n"


def test_the_boundary_prints_nothing_for_an_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        raise errors.ExitStatus(7)

    assert boundary(body) == 7
    assert capsys.readouterr().err == ""


def test_the_boundary_prints_warnings_before_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> int:
        exc = errors.KernelError("injected")
        exc.warnings = ("WARNING: cleanup: link x: busy",)
        raise exc

    assert boundary(body) == 1
    assert capsys.readouterr().err == "WARNING: cleanup: link x: busy\nError response from daemon: injected\n"


# -- nft's words read in one place --------------------------------------------------------


def test_nft_errors_carry_errnos_not_text() -> None:
    assert errnos_reported("Error: Could not process rule: File exists\n") == {errno.EEXIST}
    assert errnos_reported("Error: No such file or directory; did you mean table 'x'?") == {errno.ENOENT}
    assert errnos_reported("Error: syntax error, unexpected newline") == frozenset()
    exc = NftError("nftables refused the change", "Error: Could not process rule: File exists")
    assert (exc.exists, exc.missing) == (True, False)


# -- options: one reading per kind of value ------------------------------------------------


@pytest.mark.parametrize("value", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_true_is_gos(value: str) -> None:
    assert options.parse_bool(value) is True


@pytest.mark.parametrize("value", ["0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_false_is_gos(value: str) -> None:
    assert options.parse_bool(value) is False


@pytest.mark.parametrize("value", ["", "yes", "on", "no", "TrUe", " true", "2", "fAlse"])
def test_parse_bool_refuses_what_go_refuses(value: str) -> None:
    assert options.parse_bool(value) is None
    with pytest.raises(errors.InvalidArgument) as info:
        options.check_bool_option(options.BRIDGE_ENABLE_ICC, value)
    assert info.value.message == (
        f"failed to parse {options.BRIDGE_ENABLE_ICC} value: {value} "
        f'(strconv.ParseBool: parsing "{value}": invalid syntax)'
    )


def test_bool_option_of_a_record() -> None:
    key = options.BRIDGE_ENABLE_ICC
    assert options.bool_option({}, key) is True
    assert options.bool_option({key: "False"}, key) is False
    assert options.bool_option({key: " false"}, key) is False  # an older record: read as then
    assert options.bool_option({key: "0"}, key, default=True) is False


@pytest.mark.parametrize("value", ["67", "65536", "0", "-1"])
def test_mtu_out_of_range(value: str) -> None:
    with pytest.raises(errors.InvalidArgument) as info:
        options.parse_mtu(value)
    assert info.value.message == f"invalid MTU number: {int(value)}"


def test_mtu_is_atoi_then_range() -> None:
    assert options.parse_mtu("+1400") == 1400
    with pytest.raises(errors.InvalidArgument) as info:
        options.parse_mtu("abc")
    assert info.value.message.startswith("failed to parse com.docker.network.driver.mtu value: abc")


def test_bridge_device_is_named_in_one_place() -> None:
    def net(**kw) -> Network:  # type: ignore[no-untyped-def]
        return Network(ID, "n", "bridge", "now", **kw)

    assert options.bridge_device(net()) == f"br-{ID[:12]}" == options.default_bridge_device(ID)
    assert options.bridge_device(net(options={options.BRIDGE_NAME: "lanbr"})) == "lanbr"
    assert options.bridge_device(net(options={options.BRIDGE_NAME: "lanbr"}, driver_data={"bridge": "ov-1"})) == "ov-1"


# -- network rm -f: a missing network is skipped by its type ------------------------------


def test_network_rm_force_skips_only_missing_networks(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cli_inproc import fence_kernel_deep, invoke, seed_state

    seed_state(tmp_path / "state", tmp_path / "run")
    fence_kernel_deep(monkeypatch, tmp_path / "state", tmp_path / "run")
    plain = invoke(["network", "rm", "nosuch"])
    assert (plain.code, plain.err) == (1, "Error: No such network: nosuch\n")  # control
    forced = invoke(["network", "rm", "-f", "nosuch"])
    assert (forced.code, forced.out, forced.err) == (0, "", "")
    builtin = invoke(["network", "rm", "-f", "nosuch", "bridge"])
    assert (builtin.code, builtin.err) == (
        1,
        "Error response from daemon: bridge is a pre-defined network and cannot be removed\n",
    )


@pytest.mark.parametrize("group", ["", "network ", "system ", "cluster "])
def test_an_unknown_subcommand_is_known_by_its_type(group: str) -> None:
    from cli_inproc import invoke

    path = f"pynet {group}".strip()
    result = invoke([*group.split(), "no'such"])
    assert (result.code, result.err) == (1, f"{path}: 'no'such' is not a {path} command.\nSee '{path} --help'.\n")
