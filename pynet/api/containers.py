"""``/containers``: list, inspect, create, start, stop, kill, wait, remove.

Bodies go through the same core operations and views as ``pynet run/ps/inspect/...``.
"""

from __future__ import annotations

import calendar
import sys
import time

from pynet.api import core, version
from pynet.api.http import Request, Response, json_response
from pynet.errors import InvalidArgument

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


def _epoch(rfc3339: str) -> int:
    try:
        return calendar.timegm(time.strptime(rfc3339[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return 0


def _summary(c: Any, repo: Any, now_ns: int) -> dict[str, Any]:
    """One ``GET /containers/json`` item (dockerd's ``types.Container``)."""
    from pynet.cnm import views

    inspect = views.container_inspect(c, repo)
    ports = []
    for p in c.ports:
        item: dict[str, Any] = {"PrivatePort": p.container_port, "Type": p.proto}
        if p.host_port:
            item.update(IP=p.host_ip or "0.0.0.0", PublicPort=p.host_port)
        ports.append(item)
    return {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": inspect["Config"]["Image"],
        "ImageID": inspect["Image"],
        "Command": " ".join([c.path, *c.args]),
        "Created": _epoch(c.created),
        "Ports": ports,
        "Labels": dict(c.labels),
        "State": c.status,
        "Status": views.status_text(c, now_ns),
        "HostConfig": {"NetworkMode": c.network_mode},
        "NetworkSettings": {"Networks": inspect["NetworkSettings"]["Networks"]},
        "Mounts": [],
    }


def list_containers(req: Request) -> Response:
    """``GET /containers/json[?all=1&filters=...]``, newest first."""
    from pynet.cnm import listing

    filters = req.filters()
    listing.check_filter_keys(filters, listing.CONTAINER_FILTERS)
    repo = core.reader()
    now = time.time_ns()
    limit = req.int_arg("limit", -1)
    cs = listing.containers(repo, filters, req.flag("all"))
    if limit > 0:
        cs = cs[:limit]
    return json_response([_summary(c, repo, now) for c in cs])


def inspect(req: Request) -> Response:
    """``GET /containers/{id}/json``: the same JSON as ``pynet inspect``."""
    from pynet.cnm import views

    repo = core.reader()
    c = repo.get_container(req.params["id"])
    return json_response(views.container_inspect(c, repo))


def _signal(raw: str) -> int:
    """``9``, ``KILL`` or ``SIGKILL`` -> 9 (dockerd's ``signal.ParseSignal``)."""
    import signal

    if raw.isascii() and raw.isdigit():
        if not 0 < int(raw) < signal.NSIG:
            raise InvalidArgument(f"Invalid signal: {raw}")
        return int(raw)
    name = raw.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {raw}") from None


def stop(req: Request) -> Response:
    """``POST /containers/{id}/stop[?t=N&signal=S]`` -> 204, 304 when not running."""
    import signal

    from pynet.api.http import empty

    ctl = core.waiting_controller()
    c = ctl.reader().get_container(req.params["id"])
    if not ctl.is_running(c):
        return empty(304)
    timeout = float(req.int_arg("t", 10))
    sig = _signal(req.arg("signal")) if req.arg("signal") else int(signal.SIGTERM)
    ctl.stop(c.id, timeout=timeout, sig=sig)
    return empty(204)


def kill(req: Request) -> Response:
    """``POST /containers/{id}/kill[?signal=S]`` -> 204 (409 when not running)."""
    import signal

    from pynet.api.http import empty

    sig = _signal(req.arg("signal")) if req.arg("signal") else int(signal.SIGKILL)
    core.waiting_controller().kill(req.params["id"], sig)
    return empty(204)


def remove(req: Request) -> Response:
    """``DELETE /containers/{id}[?force=1]`` -> 204 (409 running without force)."""
    from pynet.api.http import empty

    with core.controller() as ctl:
        ctl.remove_container(req.params["id"], force=req.flag("force"))
    return empty(204)


WAIT_CONDITIONS = ("not-running", "next-exit", "removed")
#: how often wait looks at the container's record
WAIT_POLL = 0.05


def wait(req: Request) -> Response:
    """``POST /containers/{id}/wait[?condition=...]``: headers at once, then
    ``{"StatusCode": N}`` when the condition holds (a client that hangs up ends it)."""
    condition = req.arg("condition") or "not-running"
    if condition not in WAIT_CONDITIONS:
        raise InvalidArgument(f"invalid condition: {condition!r}")
    repo = core.reader()
    c = repo.get_container(req.params["id"])
    return Response(content_type="application/json", stream=_wait_stream(req, c, condition))


def _wait_stream(req: Request, c: Any, condition: str) -> Any:
    """Poll the record: ``not-running`` ends when it is not running, ``next-exit`` at its
    next recorded exit (a new FinishedAt), ``removed`` when the record is gone."""
    import json

    from pynet import wiring

    finished = c.finished_at
    code = c.exit_code
    while not req.client_gone():
        current = wiring.open_repo().container(c.id)
        if current is None:
            code = _removed_exit_code(c.id, code)
            break
        code = current.exit_code
        if condition == "not-running" and current.status != "running":
            break
        if condition == "next-exit" and current.finished_at != finished:
            break
        time.sleep(WAIT_POLL)
    else:
        return
    yield (json.dumps({"StatusCode": code, "Error": None}, separators=(",", ":")) + "\n").encode()


def _removed_exit_code(container_id: str, last_seen: int) -> int:
    """The exit code of a container that is gone (AutoRemove): the core's record of it."""
    from pynet.cnm import exits

    code = exits.last_code(container_id)
    return last_seen if code is None else code


def _argv(body: dict[str, Any]) -> list[str]:
    """Entrypoint + Cmd (each a list, or a string split as a shell would not: one word)."""
    argv: list[str] = []
    for key in ("Entrypoint", "Cmd"):
        value = body.get(key)
        if isinstance(value, str):
            argv.append(value)
        elif isinstance(value, list):
            argv += [str(v) for v in value]
        elif value is not None:
            raise InvalidArgument(f"invalid JSON: {key} must be a list of strings")
    return argv


def _publish_specs(bindings: Any) -> list[str]:
    """``HostConfig.PortBindings`` as ``-p`` values (``[IP:][HOST]:PORT/PROTO``)."""
    specs = []
    for port, hosts in (bindings or {}).items():
        for h in hosts or [{}]:
            h = h or {}
            ip, host_port = h.get("HostIp") or "", h.get("HostPort") or ""
            if ip:
                specs.append(f"{ip}:{host_port}:{port}")
            elif host_port:
                specs.append(f"{host_port}:{port}")
            else:
                specs.append(str(port))
    return specs


def _networks(host_config: dict[str, Any], body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(the primary network, every EndpointsConfig entry): ``NetworkMode`` names the first
    (``default`` = bridge); without it, the first endpoint config does."""
    from pynet.records.model import DEFAULT_NETWORK

    networking = body.get("NetworkingConfig") or {}
    endpoints = networking.get("EndpointsConfig") if isinstance(networking, dict) else None
    # the 28.x client names the default network "default" (NetworkMode and its key): bridge
    endpoints = {
        (DEFAULT_NETWORK if k == "default" else k): v for k, v in (endpoints or {}).items() if isinstance(k, str)
    }
    mode = host_config.get("NetworkMode") or ""
    if mode in ("", "default"):
        mode = next(iter(endpoints), DEFAULT_NETWORK)
    return mode, endpoints


def create_request(req: Request) -> tuple[Any, list[tuple[str, Any]]]:
    """``POST /containers/create``'s body as the core's RunRequest + the other networks.

    A field of the wrong JSON type is a 400 naming the body, never a 500.
    """
    try:
        return _create_request(req)
    except (TypeError, AttributeError, ValueError) as exc:
        raise InvalidArgument(f"invalid JSON: a field of the container config has the wrong type: {exc}") from None


def _create_request(req: Request) -> tuple[Any, list[tuple[str, Any]]]:
    from pynet.api.networks import attach_request
    from pynet.records import inputs
    from pynet.cnm.containers import RunRequest
    from pynet.records import ports

    body = req.json(required=True)
    host = body.get("HostConfig")
    host = {} if host is None else host
    if not isinstance(host, dict):
        raise InvalidArgument("invalid JSON: HostConfig must be an object")
    argv = _argv(body)
    image = body.get("Image") or ""
    if not isinstance(image, str):
        raise InvalidArgument("invalid JSON: Image must be a string")
    if not argv and not image:
        raise InvalidArgument("No command specified")
    if image:
        from pynet.records.image import check_reference

        check_reference(image)
    network, endpoints = _networks(host, body)
    old_api = version.before(req.version, "1.44")
    if old_api and len(endpoints) > 1:  # several networks at create came with API 1.44 (moby 25)
        # dockerd 20.10's words (the CLI's `run --network a --network b` says the same)
        raise InvalidArgument(f"Container cannot be connected to network endpoints: {', '.join(endpoints)}")
    attach = attach_request(endpoints.get(network))
    dns = [str(d) for d in host.get("Dns") or []]
    inputs.dns_servers(tuple(dns))
    if old_api:  # before 1.44 the endpoint's MacAddress was ignored: the container-wide one counts
        attach.mac = ""
    attach.mac = attach.mac or inputs.mac_address(body.get("MacAddress") or "")
    run = RunRequest(
        argv=argv,
        image=image,
        name=req.arg("name"),
        network=network,
        attach=attach,
        hostname=body.get("Hostname") or "",
        domainname=body.get("Domainname") or "",
        dns=dns,
        dns_search=[str(d) for d in host.get("DnsSearch") or []],
        dns_options=[str(d) for d in host.get("DnsOptions") or []],
        extra_hosts=[inputs.extra_host(str(h)) for h in host.get("ExtraHosts") or []],
        env=[str(e) for e in body.get("Env") or []],
        workdir=body.get("WorkingDir") or "",
        detach=True,
        auto_remove=bool(host.get("AutoRemove")),
        tty=bool(body.get("Tty")),
        interactive=bool(body.get("OpenStdin")),
        labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
    )
    publish = _publish_specs(host.get("PortBindings"))
    exposed = [str(p) for p in (body.get("ExposedPorts") or {})]
    if publish or exposed or host.get("PublishAllPorts"):
        run.ports = ports.parse_publish(publish)
        run.exposed = sorted(set(ports.parse_expose(exposed)) | {f"{p.container_port}/{p.proto}" for p in run.ports})
        if host.get("PublishAllPorts"):
            run.publish_all = True
            taken = {f"{p.container_port}/{p.proto}" for p in run.ports}
            run.ports += ports.publish_all([e for e in run.exposed if e not in taken])
    more = [(name, attach_request(cfg)) for name, cfg in endpoints.items() if name != network]
    return run, more


def create(req: Request) -> Response:
    """``POST /containers/create[?name=N]`` -> 201 ``{"Id", "Warnings"}``: a "created"
    container holding no kernel resource. A network that does not exist is taken, as
    dockerd takes it: the start answers its 404 (the docker CLI pulls on a 404 of create).
    Host notices (forwarding...) go to the service's stderr: dockerd's ``Warnings`` are
    about the container's config only."""
    from pynet import wiring

    run, more = create_request(req)
    if run.image:  # the one 404 of create: the client's cue to pull
        wiring.images().lookup(run.image)
    with core.controller() as ctl:
        c = ctl.create_stored(run, more)
        for notice in dict.fromkeys(ctl.notices):
            sys.stderr.write(f"pynet-api: {notice}\n")
    return json_response({"Id": c.id, "Warnings": []}, status=201)


def _env(c: Any) -> dict[str, str]:
    """The process environment: Docker's defaults, then the container's ``Env``."""
    from pynet.cnm.containers import DEFAULT_PATH

    env = {"PATH": DEFAULT_PATH, "HOSTNAME": c.hostname, "HOME": "/root"}
    if c.tty:
        env["TERM"] = "xterm"
    for item in c.env:
        key, sep, value = item.partition("=")
        if key and sep:
            env[key] = value
    return env


def start(req: Request) -> Response:
    """``POST /containers/{id}/start`` -> 204 (304 when it runs already)."""
    from pynet.api.http import empty

    ref = req.params["id"]
    with core.controller() as ctl:
        c = ctl.reader().get_container(ref)
        if ctl.is_running(c):
            return empty(304)
        ctl.start_stored(c.id, _env(c))
    return empty(204)
