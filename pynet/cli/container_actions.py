"""The bodies of the container commands: run, ps, inspect, exec, stop, kill, rm, logs, port.

No click here: ``pynet.cli.container`` declares Docker's flags, and these functions take
the parsed parameters by name (also when the fast path parsed them).
"""

from __future__ import annotations

import os
import sys
import time

from pynet.cli.base import controller, echo, print_inspect, print_notices, reader
from pynet.errors import ExitStatus, InvalidArgument, NotFound, PynetError, RunFailed


def _env(values: tuple[str, ...], env_files: tuple[str, ...], hostname: str, tty: bool) -> dict[str, str]:
    from pynet.cnm.containers import DEFAULT_PATH

    env = {"PATH": DEFAULT_PATH, "HOSTNAME": hostname, "HOME": "/root"}
    if tty:
        env["TERM"] = "xterm"
    lines: list[str] = []
    for path in env_files:
        try:
            with open(path) as f:
                lines += [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
        except OSError as exc:
            raise InvalidArgument(
                f"open {path}: {exc.strerror.lower() if exc.strerror else exc}", from_daemon=False
            ) from None
    for item in [*lines, *values]:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable: {item}", from_daemon=False)
        if sep:
            env[key] = value
        elif key in os.environ:
            env[key] = os.environ[key]
    return env


def _check_input(tty: bool, attach_stdin: bool) -> None:
    """Docker's client refuses ``-i -t`` (attached) when its stdin is no terminal."""
    if tty and attach_stdin and not os.isatty(0):
        raise PynetError("the input device is not a TTY", from_daemon=False)


# -- run ---------------------------------------------------------------------------------
def run(**kw) -> None:  # type: ignore[no-untyped-def]
    """Run a command in a new container (its own network sandbox).

    \b
    Examples:
      pynet run -d --name c1 --network mynet sleep 1000
      pynet run --rm --network mynet ping -c1 c1
    """
    if not kw["command"] and not kw["image"]:
        echo("\"pynet run\" requires at least 1 argument.\nSee 'pynet run --help'.", err=True)
        raise ExitStatus(1)
    _check_input(kw["tty"], kw["interactive"] and not kw["detach"])
    try:
        code = _run(**kw)
    except ExitStatus:
        raise
    except PynetError as exc:
        raise RunFailed(exc) from None
    raise ExitStatus(code)


def _run(**kw) -> int:  # type: ignore[no-untyped-def]
    from pynet.records import inputs
    from pynet.cnm.containers import RunRequest
    from pynet.cnm.endpoints import AttachRequest

    inputs.endpoint_address(kw["ip"], 4)
    inputs.endpoint_address(kw["ip6"], 6)
    inputs.dns_servers(kw["dns"])
    mac = inputs.mac_address(kw["mac_address"])
    kw["network"] = _network(kw["network"], kw["aliases"])

    req = RunRequest(
        argv=list(kw["command"]),
        name=kw["name"],
        network=kw["network"],
        attach=AttachRequest(ipv4=kw["ip"], ipv6=kw["ip6"], aliases=list(kw["aliases"]), mac=mac),
        hostname=kw["hostname"],
        domainname=kw["domainname"],
        dns=list(kw["dns"]),
        dns_search=list(kw["dns_search"]),
        dns_options=list(kw["dns_options"]),
        extra_hosts=_extra_hosts(kw["add_host"]),
        env=list(kw["env"]),
        workdir=kw["workdir"],
        rootfs=kw["rootfs"],
        image=kw["image"],
        detach=kw["detach"],
        auto_remove=kw["auto_remove"],
        tty=kw["tty"],
        interactive=kw["interactive"],
        labels=dict(x.partition("=")[::2] for x in kw["label"]),
    )
    _ports(req, kw)
    if kw["rootfs"] and not os.path.isdir(kw["rootfs"]):
        raise InvalidArgument(f"--rootfs {kw['rootfs']}: no such directory")
    if kw["rootfs"] and kw["image"]:
        raise InvalidArgument("--rootfs and --image cannot be used together", from_daemon=False)
    if kw["image"]:
        from pynet.records.image import check_reference

        check_reference(kw["image"])
    # Read (and check) --env-file before anything is created: a bad file changes nothing.
    env = _env(kw["env"], kw["env_file"], "", kw["tty"])
    ctl = controller()
    c = ctl.create_container(req)
    if c.image_id:  # the image's Env under the user's (c.env holds both, merged)
        given = _given(kw, env)
        env.update(e.partition("=")[::2] for e in c.env if e.partition("=")[0] not in given)
    print_notices(ctl)
    if not env["HOSTNAME"]:
        env["HOSTNAME"] = c.hostname
    if kw["detach"]:
        ctl.start_detached(c, env)
        echo(c.id)
        return 0
    return ctl.run_foreground(c, env)


def _network(names: tuple[str, ...], aliases: tuple[str, ...]) -> str:
    """The one network of ``--network`` (bridge when none is given), refused as docker
    20.10's client refuses it (its ``parseNetworkOpts``) and then its daemon: one network
    per ``run``, ``network connect`` adds more."""
    from pynet.records.model import DEFAULT_NETWORK, ENDPOINTLESS_MODES

    names = names or (DEFAULT_NETWORK,)

    def user_defined(name: str) -> bool:
        return name not in (DEFAULT_NETWORK, "default", *ENDPOINTLESS_MODES) and not name.startswith("container:")

    if aliases and not user_defined(names[0]):
        raise InvalidArgument("network-scoped aliases are only supported for user-defined networks", from_daemon=False)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InvalidArgument(f'network "{name}" is specified multiple times', from_daemon=False)
    if len({user_defined(n) for n in names}) > 1:
        raise InvalidArgument(
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes",
            from_daemon=False,
        )
    if len(names) > 1:
        raise InvalidArgument(f"Container cannot be connected to network endpoints: {', '.join(names)}")
    return names[0]


def _given(kw, env: dict[str, str]) -> set[str]:  # type: ignore[no-untyped-def]
    """Keys the user set (-e, --env-file): pynet's defaults (PATH, HOME...) are not."""
    defaults = _env((), (), "", kw["tty"])
    return {e.partition("=")[0] for e in kw["env"]} | (set(env) - set(defaults))


def _ports(req, kw) -> None:  # type: ignore[no-untyped-def]
    if not (kw["publish"] or kw["publish_all"] or kw["expose"]):
        return
    from pynet.records import ports

    req.ports = ports.parse_publish(list(kw["publish"]))
    req.exposed = sorted(
        set(ports.parse_expose(list(kw["expose"]))) | {f"{p.container_port}/{p.proto}" for p in req.ports}
    )
    if kw["publish_all"]:
        req.publish_all = True
        published = {f"{p.container_port}/{p.proto}" for p in req.ports}
        req.ports += ports.publish_all([e for e in req.exposed if e not in published])
    if kw["network"] == "host" and req.ports:
        echo("WARNING: Published ports are discarded when using host network mode", err=True)
        req.ports = []


def _extra_hosts(values: tuple[str, ...]) -> list[str]:
    from pynet.records import inputs

    return [inputs.extra_host(item) for item in values]


# -- internal: a detached container exited -----------------------------------------------
def exited(container_id: str, code: int) -> None:
    """(internal) record that a detached container exited."""
    from pynet import wiring

    wiring.controller().container_exited(container_id, code)


# -- ps ----------------------------------------------------------------------------------
PS_HEADERS = {"ID": "CONTAINER ID"}


def ps(
    show_all: bool, quiet: bool, no_trunc: bool, filters: tuple[str, ...], fmt: str | None, last: int, latest: bool
) -> None:
    """List containers."""
    from pynet.cli import formatting
    from pynet.cnm import listing, views

    parsed = formatting.parse_filters(list(filters), listing.CONTAINER_FILTERS)
    repo = reader(documents=True)
    now = time.time_ns()
    if latest:
        last = 1
    cs = listing.containers(repo, parsed, show_all or last >= 0)
    if last >= 0:
        cs = cs[:last]
    items = []
    for c in cs:
        item = views.ps_item(c, repo, now)
        if no_trunc:
            item["ID"] = c.id
            item["Command"] = '"' + " ".join([c.path, *c.args]) + '"'
        items.append(item)
    out = formatting.format_list(
        items,
        fmt,
        default_table=formatting.DEFAULT_CONTAINER_TABLE,
        quiet_field="ID",
        quiet=quiet,
        headers=PS_HEADERS,
        type_name="*container.containerContext",
    )
    echo(out, nl=False)


# -- inspect -------------------------------------------------------------------------------
def inspect(fmt: str | None, size: bool, kind: str, names: tuple[str, ...]) -> None:
    """Display detailed information on containers (and networks)."""
    from pynet.cnm import views

    repo = reader()
    found, missing = [], []
    for ref in names:
        c = repo.find_container(ref) if kind in ("", "container") else None
        if c is not None:
            found.append(views.container_inspect(c, repo))
            continue
        net = repo.find_network(ref) if kind in ("", "network") else None
        if net is not None:
            found.append(views.network_inspect(net, repo))
        else:
            missing.append(ref)
    print_inspect(found, fmt, missing, "object")


# -- exec ----------------------------------------------------------------------------------
def exec_(
    detach: bool,
    env: tuple[str, ...],
    interactive: bool,
    tty: bool,
    workdir: str,
    user: str,
    container: str,
    command: tuple[str, ...],
) -> None:
    """Run a command in a running container."""
    _check_input(tty, interactive and not detach)
    ctl = controller()
    code = ctl.exec_in(
        container,
        list(command),
        _env(env, (), "", tty),
        workdir=workdir,
        detach=detach,
        tty=tty,
        interactive=interactive,
    )
    raise ExitStatus(code)


# -- stop / kill / rm ----------------------------------------------------------------------
class _Missing(NotFound):
    """No container has this name or ID (``docker rm -f`` prints it yet exits 0)."""


def _each(names: tuple[str, ...], action, *, missing_ok: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Apply ``action`` to each name; an error is printed and makes the exit 1, except
    a missing container when ``missing_ok``."""
    failed = False
    for ref in names:
        try:
            action(ref)
            echo(ref)
        except PynetError as exc:
            echo(exc.render(), err=True)
            failed = failed or not (missing_ok and isinstance(exc, _Missing))
    if failed:
        raise ExitStatus(1)


def stop(timeout: int, sig: str, names: tuple[str, ...]) -> None:
    """Stop one or more running containers."""
    signum = _signum(sig)
    ctl = controller()
    _each(names, lambda ref: ctl.stop(ref, timeout=float(timeout), sig=signum))


def kill(sig: str, names: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    signum = _signum(sig)
    ctl = controller()
    _each(names, lambda ref: ctl.kill(ref, signum))


def rm(force: bool, volumes: bool, names: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    ctl = controller()

    def remove(ref: str) -> None:
        try:
            ctl.remove_container(ref, force=force)
        except NotFound as exc:
            if not exc.message.startswith("No such container"):
                raise  # a kernel object gone mid-teardown is not a missing container
            raise _Missing(f"No such container: {ref}") from exc

    _each(names, remove, missing_ok=force)
    print_notices(ctl)


_SIGRTMAX = 64


def _signum(value: str) -> int:
    """A signal name or number as Docker's ``signal.ParseSignal`` and daemon take it."""
    name = value.upper()
    if name.isascii() and name.isdigit():
        number = int(name)
        if number == 0:
            raise InvalidArgument(f"Invalid signal: {value}")
        if number > _SIGRTMAX:
            raise InvalidArgument(f"the linux daemon does not support signal {number}")
        return number
    if not name.startswith("SIG"):
        name = "SIG" + name
    import signal  # here, not at the top: `ps` and `inspect` share this module

    try:
        return int(getattr(signal, name))
    except AttributeError:
        raise InvalidArgument(f"Invalid signal: {value}") from None


# -- logs / port -----------------------------------------------------------------------------
def logs(follow: bool, tail: str, timestamps: bool, container: str) -> None:
    """Fetch the output of a detached container (stdout to stdout, stderr to stderr)."""
    from pynet import paths
    from pynet.cnm.processes import container_running
    from pynet.records import logframes
    from pynet.records.inputs import tail_lines

    lines = tail_lines(tail)
    repo = reader()
    c = repo.get_container(container)
    path = paths.container_dir(c.id) / "container.log"
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        data = f.read()
        frames = logframes.FrameReader(logframes.is_framed(data[: logframes.HEADER]))
        records = logframes.lines(frames.feed(data))
        if lines is not None:
            records = records[-lines:] if lines > 0 else []
        _write_frames(records)
        while follow:
            chunk = f.read()
            if chunk:
                _write_frames(frames.feed(chunk))
                continue
            current = repo.container(c.id)
            if current is None or not container_running(current):
                break
            time.sleep(0.1)


def _write_frames(frames: list[tuple[int, bytes]]) -> None:
    for stream, payload in frames:
        out = sys.stderr if stream == 2 else sys.stdout
        out.buffer.write(payload)
        out.flush()


def port(container: str, private_port: str | None) -> None:
    """List port mappings for the container."""
    from pynet.records.ports import port_lines

    repo = reader()
    c = repo.get_container(container)
    for line in port_lines(c, private_port or ""):
        echo(line)
