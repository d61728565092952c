"""``/networks``: list, inspect, create, remove, prune, connect, disconnect.

The same core operations and views as ``pynet network ...`` (``pynet network ...``'s bodies),
so the API and the CLI show identical JSON.
"""

from __future__ import annotations

from pynet.api import core
from pynet.api.http import Request, Response, empty, json_response
from pynet.errors import InvalidArgument, NoSuchNetwork

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any


def list_networks(req: Request) -> Response:
    """``GET /networks``: every network as inspect shows it, without its containers."""
    from pynet.cnm import listing, views

    filters = req.filters()
    listing.check_filter_keys(filters, listing.NETWORK_FILTERS)
    repo = core.reader()
    out = []
    for net in listing.networks(repo, filters):
        view = views.network_inspect(net, repo)
        view["Containers"] = {}
        out.append(view)
    return json_response(out)


def inspect(req: Request) -> Response:
    """``GET /networks/{id}`` (``verbose`` adds nothing for local networks; ``scope`` must match)."""
    from pynet.cnm import views

    repo = core.reader()
    ref = req.params["id"]
    net = repo.find_network(ref)
    scope = req.arg("scope")
    if net is None or (scope and scope != net.scope):
        raise NoSuchNetwork(ref)
    return json_response(views.network_inspect(net, repo))


def _ipam(body: dict[str, Any]) -> dict[str, Any]:
    ipam = body.get("IPAM")
    ipam = {} if ipam is None else ipam
    if not isinstance(ipam, dict):
        raise InvalidArgument("invalid JSON: IPAM must be an object")
    return ipam


def create_request(body: dict[str, Any]) -> Any:
    """``POST /networks/create``'s body as the core's NetworkCreateRequest, with Docker's
    defaults for what docker-py leaves out (it may send only ``Name``). A field of the
    wrong JSON type is a 400, never a 500."""
    try:
        return _create_request(body)
    except (TypeError, AttributeError, ValueError) as exc:
        raise InvalidArgument(f"invalid JSON: a field of the network config has the wrong type: {exc}") from None


def _create_request(body: dict[str, Any]) -> Any:
    from pynet.cnm.networks import NetworkCreateRequest

    name = body.get("Name")
    if not isinstance(name, str) or not name:
        raise InvalidArgument("network name must be specified")
    if body.get("ConfigOnly") or body.get("ConfigFrom"):
        raise InvalidArgument("config-only networks (ConfigOnly, ConfigFrom) are not supported by pynet")
    ipam = _ipam(body)
    subnets, gateways, ranges, aux = [], [], [], {}
    for cfg in ipam.get("Config") or []:
        if not isinstance(cfg, dict):
            raise InvalidArgument("invalid JSON: IPAM.Config entries must be objects")
        subnets += [cfg["Subnet"]] if cfg.get("Subnet") else []
        gateways += [cfg["Gateway"]] if cfg.get("Gateway") else []
        ranges += [cfg["IPRange"]] if cfg.get("IPRange") else []
        aux.update(cfg.get("AuxiliaryAddresses") or {})
    return NetworkCreateRequest(
        name=name,
        driver=body.get("Driver") or "bridge",
        subnets=subnets,
        gateways=gateways,
        ip_ranges=ranges,
        aux_addresses={str(k): str(v) for k, v in aux.items()},
        enable_ipv6=bool(body.get("EnableIPv6")),
        internal=bool(body.get("Internal")),
        attachable=bool(body.get("Attachable")),
        ingress=bool(body.get("Ingress")),
        options=_strings(body.get("Options"), "Options"),
        labels=_strings(body.get("Labels"), "Labels"),
        ipam_driver=ipam.get("Driver") or "default",
        ipam_options=None if ipam.get("Options") is None else _strings(ipam["Options"], "IPAM.Options"),
        scope=body.get("Scope") or "",
    )


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid JSON: {what} must be an object of strings")
    return {str(k): str(v) for k, v in value.items()}


def create(req: Request) -> Response:
    """``POST /networks/create`` -> 201 ``{"Id", "Warning"}``; a taken name is 409."""
    request = create_request(req.json(required=True))
    with core.controller() as ctl:
        net = ctl.create_network(request)
        warning = "\n".join(dict.fromkeys(ctl.notices))
    return json_response({"Id": net.id, "Warning": warning}, status=201)


def remove(req: Request) -> Response:
    """``DELETE /networks/{id}`` -> 204 (403 built-in or in use, 404 missing)."""
    with core.controller() as ctl:
        ctl.remove_network(req.params["id"])
    return empty(204)


def prune(req: Request) -> Response:
    """``POST /networks/prune`` -> ``{"NetworksDeleted": [names]}``."""
    from pynet.cnm import listing

    filters = req.filters()
    listing.check_filter_keys(filters, listing.PRUNE_FILTERS)
    keep = listing.keep_filter(filters)
    with core.controller() as ctl:
        removed = ctl.prune_networks(keep)
    return json_response({"NetworksDeleted": removed or None})


def attach_request(config: dict[str, Any] | None) -> Any:
    """An ``EndpointConfig``/``EndpointSettings`` as the core's AttachRequest."""
    from pynet.cnm.endpoints import AttachRequest

    config = config or {}
    if not isinstance(config, dict):
        raise InvalidArgument("invalid JSON: EndpointConfig must be an object")
    ipam = config.get("IPAMConfig") or {}
    if not isinstance(ipam, dict):
        raise InvalidArgument("invalid JSON: IPAMConfig must be an object")
    from pynet.records import inputs

    ipv4, ipv6 = _text(ipam, "IPv4Address"), _text(ipam, "IPv6Address")
    inputs.endpoint_address(ipv4, 4)
    inputs.endpoint_address(ipv6, 6)
    return AttachRequest(
        ipv4=ipv4,
        ipv6=ipv6,
        aliases=[str(a) for a in config.get("Aliases") or []],
        mac=inputs.mac_address(_text(config, "MacAddress")),
        driver_opts=_strings(config.get("DriverOpts"), "DriverOpts") or None,
        links=[str(x) for x in config.get("Links") or []],
        link_local_ips=[str(x) for x in ipam.get("LinkLocalIPs") or []],
    )


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key) or ""
    if not isinstance(value, str):
        raise InvalidArgument(f"invalid JSON: {key} must be a string")
    return value


def connect(req: Request) -> Response:
    """``POST /networks/{id}/connect`` ``{"Container", "EndpointConfig"}`` -> 200."""
    body = req.json(required=True)
    container = body.get("Container")
    if not isinstance(container, str) or not container:
        raise InvalidArgument("container is required")
    try:
        attach = attach_request(body.get("EndpointConfig"))
    except (TypeError, AttributeError, ValueError) as exc:
        raise InvalidArgument(f"invalid JSON: a field of EndpointConfig has the wrong type: {exc}") from None
    with core.controller() as ctl:
        ctl.connect(req.params["id"], container, attach)
    return empty(200)


def disconnect(req: Request) -> Response:
    """``POST /networks/{id}/disconnect`` ``{"Container", "Force"}`` -> 200."""
    body = req.json(required=True)
    container = body.get("Container")
    if not isinstance(container, str) or not container:
        raise InvalidArgument("container is required")
    with core.controller() as ctl:
        ctl.disconnect(req.params["id"], container, bool(body.get("Force")))
    return empty(200)
