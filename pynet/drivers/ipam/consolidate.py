"""``build_pools``: the ``network create`` IPAM flags (``--subnet/--gateway/--ip-range/
--aux-address``) to pools.

docker/cli's consolidation (``cli/command/network/create.go consolidateIpam``) followed by
the daemon's own parsing (``daemon/network.go getIpamConfig``, libnetwork
``parsePoolRequest``), same messages.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

    from pynet.drivers.ipam.pools import IPAddr

from pynet.drivers.ipam.pools import ADDRESS_SPACE_LOCAL, _go_parse_cidr, _go_parse_ip, _network
from pynet.records.model import IPAMPool
from pynet.errors import InvalidArgument


def _cli_error(message: str) -> InvalidArgument:
    """docker/cli reports these before calling the daemon (no 'Error response' prefix)."""
    return InvalidArgument(message, from_daemon=False)


def _subnet_matches(subnet: str, data: str) -> bool:
    """docker/cli ``subnetMatches``: does ``subnet`` contain the address written in ``data``?"""
    try:
        net = _go_parse_cidr(subnet)[1]
    except ValueError as err:
        raise _cli_error(f"invalid subnet: {err}") from None
    if "/" in data:
        try:
            ip: IPAddr | None = _go_parse_cidr(data)[0]
        except ValueError as err:
            raise _cli_error(str(err)) from None
    else:
        ip = _go_parse_ip(data)
    return ip is not None and ip.version == net.version and ip in net


# ---------------------------------------------------------------- build_pools (create flags)


def _consolidate(
    subnets: list[str], gateways: list[str], ip_ranges: list[str], aux_addresses: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """docker/cli ``consolidateIpam``, check for check and message for message."""
    if len(subnets) < len(ip_ranges) or len(subnets) < len(gateways):
        raise _cli_error("every ip-range or gateway must have a corresponding subnet")
    configs: dict[str, dict[str, Any]] = {}
    for s in subnets:
        for k in list(configs):
            inner, outer = _subnet_matches(s, k), _subnet_matches(k, s)  # Go checks both errors
            if inner or outer:
                raise _cli_error("multiple overlapping subnet configuration is not supported")
        configs[s] = {"range": "", "gateway": "", "aux": {}}
    for field, values, fmt in (
        ("range", ip_ranges, "cannot configure multiple ranges ({}, {}) on the same subnet ({})"),
        ("gateway", gateways, "cannot configure multiple gateways ({}, {}) for the same subnet ({})"),
    ):
        for value in values:
            matched = False
            for s in subnets:
                if not _subnet_matches(s, value):
                    continue
                if configs[s][field]:
                    raise _cli_error(fmt.format(value, configs[s][field], s))
                configs[s][field] = value
                matched = True
            if not matched:
                raise _cli_error(f"no matching subnet for {field} {value}")
    for key, value in aux_addresses.items():
        matched = False
        for s in subnets:
            if _subnet_matches(s, value):
                configs[s]["aux"][key] = value
                matched = True
        if not matched:
            raise _cli_error(f"no matching subnet for aux-address {value}")
    return configs


def _daemon_pool(subnet: str, cfg: dict[str, Any], network_name: str) -> IPAMPool:
    """What the daemon makes of one consolidated config (subnet already known to parse)."""
    net = _network(subnet)
    gateway = ""
    if cfg["gateway"]:
        gw = _go_parse_ip(cfg["gateway"])
        if gw is None:
            raise InvalidArgument(f"invalid gateway address {cfg['gateway']} in Ipam configuration")
        gateway = str(gw)
    ip_range = ""
    if cfg["range"]:
        try:
            ip_range = str(_go_parse_cidr(cfg["range"])[1])
        except ValueError:
            raise InvalidArgument(
                f'failed to parse pool request for address space "{ADDRESS_SPACE_LOCAL}" pool '
                f'"{subnet}" subpool "{cfg["range"]}": Invalid Address SubPool'
            ) from None
    aux: dict[str, str] = {}
    for key, value in cfg["aux"].items():
        ip = _go_parse_ip(value)
        if ip is None:
            raise InvalidArgument(
                f"non parsable secondary ip address ({key}:{value}) passed for network {network_name}"
            )
        aux[key] = str(ip)
    return IPAMPool(subnet=str(net), gateway=gateway, ip_range=ip_range, aux_addresses=aux, user_configured=True)


def build_pools(
    subnets: list[str],
    gateways: list[str],
    ip_ranges: list[str],
    aux_addresses: dict[str, str],
    *,
    network_name: str = "",
) -> list[IPAMPool]:
    """Turn ``network create`` IPAM flags into pools, with Docker's checks and messages.

    CLI-side errors (consolidation) carry ``from_daemon=False``; daemon-side ones (a subnet
    that is not a CIDR, ...) the default. A subnet written with host bits (10.1.0.5/24) is
    accepted, as Docker 20.10 does, and stored masked (10.1.0.0/24: the pool Docker allocates
    from). Gateway is "" when not given: ``finalize_pool`` fills it. IPv4 pools come first
    (Docker lists v4 configs before v6 ones).
    """
    configs = _consolidate(subnets, gateways, ip_ranges, aux_addresses)
    for subnet in configs:  # daemon getIpamConfig: every subnet parsed before anything else
        _network(subnet)
    pools = [_daemon_pool(s, cfg, network_name) for s, cfg in configs.items()]
    return sorted(pools, key=lambda p: p.is_ipv6)
