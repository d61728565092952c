"""Network service: create, remove, prune, the built-in networks, restore after reboot."""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from dataclasses import dataclass, field

from pynet.cnm import events
from pynet.records import options as opt
from pynet.records.model import DEFAULT_NETWORK, IPAMPool, Network
from pynet.cnm.repo import Repo
from pynet.drivers import driver_class, get_driver, ipam
from pynet.kernel import procnet
from pynet.records.undo import UndoLog
from pynet.errors import Conflict, Forbidden, InvalidArgument, NoSuchNetwork, NotFound
from pynet.ids import new_id

#: a network's name is only data (files and devices are named by its ID); dockerd takes any
#: name (docker-py's tests make "test 01"): refused are only control characters (a set,
#: not a regex: a compile costs every create ~0.2 ms)
_NAME_REFUSED = frozenset(map(chr, [*range(0x20), 0x7F]))


def now_rfc3339() -> str:
    """UTC time with Docker's nanosecond precision, trailing zeros trimmed."""
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


@dataclass
class NetworkCreateRequest:
    """What ``network create`` asked for (already parsed by the CLI)."""

    name: str
    driver: str = "bridge"
    subnets: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    ip_ranges: list[str] = field(default_factory=list)
    aux_addresses: dict[str, str] = field(default_factory=dict)
    enable_ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    ingress: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ipam_driver: str = "default"
    #: None: not given (the API without IPAM.Options; inspect shows null, as Docker)
    ipam_options: dict[str, str] | None = field(default_factory=dict)
    scope: str = ""
    ignore_existing: bool = False  # --ignore (Podman's): an identical network is success


@dataclass
class NetworkUpdate:
    """What ``network update`` changes (None: keep)."""

    label_add: dict[str, str] = field(default_factory=dict)
    label_rm: list[str] = field(default_factory=list)
    internal: bool | None = None
    attachable: bool | None = None


def differences(req: NetworkCreateRequest, net: Network) -> list[str]:
    """What ``req`` asks that the existing ``net`` does not have, one phrase per setting
    (``--ignore``: settings left out of the request are not compared)."""
    pools = net.ipam_config
    pairs = [
        ("driver", net.driver, req.driver),
        ("ipv6", net.enable_ipv6, req.enable_ipv6),
        ("internal", net.internal, req.internal),
        ("attachable", net.attachable, req.attachable),
        ("ingress", net.ingress, req.ingress),
        ("options", net.options, req.options),
        ("labels", net.labels, req.labels),
        ("ipam-driver", net.ipam_driver, req.ipam_driver),
        ("ipam-opt", net.ipam_options or {}, req.ipam_options),
    ]
    if req.scope:
        pairs.append(("scope", net.scope, req.scope))
    if req.subnets:
        pairs.append(("subnet", sorted(_cidr(p.subnet) for p in pools), sorted(_cidr(s) for s in req.subnets)))
    if req.gateways:
        pairs.append(("gateway", sorted(p.gateway for p in pools if p.gateway), sorted(req.gateways)))
    if req.ip_ranges:
        pairs.append(
            (
                "ip-range",
                sorted(_cidr(p.ip_range) for p in pools if p.ip_range),
                sorted(_cidr(r) for r in req.ip_ranges),
            )
        )
    if req.aux_addresses:
        pairs.append(("aux-address", {k: v for p in pools for k, v in p.aux_addresses.items()}, req.aux_addresses))
    return [f"{name} (existing {_show(old)}, requested {_show(new)})" for name, old, new in pairs if old != new]


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def _show(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items())) or "none"
    if isinstance(value, list):
        return ",".join(value) or "none"
    return str(value) or "none"


class NetworkService:
    """Sequences IPAM, the driver and the store for network objects."""

    def __init__(self, repo: Repo, undo: UndoLog) -> None:
        self.repo = repo
        self.undo = undo

    def _used_subnets(self) -> list[str]:
        """Subnets of every pynet network (from the summary: no file per network)."""
        return self.repo.network_summary().all_subnets()

    def _used_subnet_spans(self) -> list[tuple[int, int, int]]:
        """The same as integer spans, as the summary keeps them (none parsed per create)."""
        return self.repo.network_summary().spans

    # -- create ----------------------------------------------------------------------
    def create(self, req: NetworkCreateRequest) -> Network:
        if req.ignore_existing and req.name in self.repo.network_names():
            return self._existing(req)
        self._check_name(req.name)
        driver = get_driver(req.driver)
        if driver.singleton:  # the built-in one always exists (ensure_ready made it)
            raise Forbidden(f'only one instance of "{driver.name}" network is allowed')
        net = Network(
            id=new_id(),
            name=req.name,
            driver=req.driver,
            created=now_rfc3339(),
            scope=req.scope or driver.scope,
            enable_ipv6=req.enable_ipv6,
            internal=req.internal,
            attachable=req.attachable,
            ingress=req.ingress,
            ipam_driver=req.ipam_driver,
            ipam_options=None if req.ipam_options is None else dict(req.ipam_options),
            options=dict(req.options),
            labels=dict(req.labels),
            embedded_dns=driver.embedded_dns,
        )
        net.ipam_config = ipam.ipam_for(net, driver).request_pools(self._pool_request(req), net, self.undo)
        driver.validate_create(net)
        self._check_bridge_unique(net)
        driver.create_network(net, self.undo)
        self.repo.put_network(net)
        # No ipam/<id>.json yet: an absent allocator is an empty one (Repo.ipam_head), so
        # a create writes one record file less (and fsyncs one less).
        self.repo.emit(events.network_event("create", net))
        return net

    def _existing(self, req: NetworkCreateRequest) -> Network:
        """``--ignore``: the network of that name when it has the requested settings."""
        net = self.get(req.name)
        diff = differences(req, net)
        if diff:
            raise Conflict(f"network with name {req.name} already exists with other settings: {'; '.join(diff)}")
        return net

    def _check_name(self, name: str) -> None:
        if not name.strip():  # libnetwork's IsValidName: anything but blank
            raise InvalidArgument("network name cannot be empty")
        if not _NAME_REFUSED.isdisjoint(name):
            raise InvalidArgument(f"invalid network name {name!r}: control characters are not allowed")
        if name in self.repo.network_names():
            raise Conflict(f"network with name {name} already exists")

    def _pool_request(self, req: NetworkCreateRequest) -> ipam.PoolRequest:
        return ipam.PoolRequest(
            name=req.name,
            ipam_driver=req.ipam_driver,
            enable_ipv6=req.enable_ipv6,
            subnets=req.subnets,
            gateways=req.gateways,
            ip_ranges=req.ip_ranges,
            aux_addresses=req.aux_addresses,
            used_subnets=self._used_subnets,
            used_subnet_spans=self._used_subnet_spans,
            host_subnets=procnet.host_subnets,
        )

    def _check_bridge_unique(self, net: Network) -> None:
        dev = net.driver_data.get("bridge")
        if not dev:
            return
        user = self.repo.network_summary().bridge_user(dev)
        if user is not None:
            other = self.repo.network(user)
            raise Conflict(f"bridge name {dev} is already used by network {other.name if other else user}")

    # -- remove ----------------------------------------------------------------------
    def get(self, ref: str) -> Network:
        """The network ``ref`` names (name, ID or ID prefix), else NotFound in Docker's words."""
        net = self.repo.find_network(ref)
        if net is None:
            raise NotFound(f"network {ref} not found")
        return net

    def remove(self, ref: str) -> Network:
        net = self.repo.find_network(ref)
        if net is None:
            raise NoSuchNetwork(ref)
        if net.builtin:
            raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        if self.repo.member_count(net.id):
            raise Forbidden(f"error while removing network: network {net.name} id {net.id} has active endpoints")
        driver = get_driver(net.driver)
        driver.delete_network(net)
        ipam.ipam_for(net, driver).release_network(net)
        self.repo.delete_network(net.id)
        self.repo.emit(events.network_event("destroy", net))
        return net

    def update(self, ref: str, upd: NetworkUpdate) -> tuple[Network, list[str]]:
        """Change labels, ``internal``, ``attachable`` of a live network; (network, notices)."""
        old = self.get(ref)
        if old.builtin:
            raise Forbidden(f"{old.name} is a pre-defined network and cannot be updated")
        missing = [k for k in upd.label_rm if k not in old.labels and k not in upd.label_add]
        if missing:
            raise InvalidArgument(f"network {old.name} has no label {missing[0]!r}")
        new = dataclasses.replace(old, labels=dict(old.labels))
        for key in upd.label_rm:
            new.labels.pop(key, None)
        new.labels.update(upd.label_add)
        if upd.internal is not None:
            new.internal = upd.internal
        if upd.attachable is not None:
            new.attachable = upd.attachable
        notices = get_driver(new.driver).update_network(old, new)
        self.repo.put_network(new)
        return new, notices

    def in_use(self, net: Network) -> bool:
        if self.repo.member_count(net.id):
            return True
        return get_driver(net.driver).in_use(net)  # overlay: endpoints on other hosts


# -- built-ins -----------------------------------------------------------------------------
def builtin_networks(used: list[str]) -> list[Network]:
    """Records of ``bridge`` (device pynet0), ``host`` and ``none`` for a fresh state."""
    created = now_rfc3339()
    subnet = "172.17.0.0/16"
    if any(ipaddress.ip_network(subnet).overlaps(ipaddress.ip_network(u, strict=False)) for u in used if ":" not in u):
        subnet = ipam.choose_subnet(used)
    gateway = str(next(ipaddress.ip_network(subnet).hosts()))
    bridge = Network(
        id=new_id(),
        name=DEFAULT_NETWORK,
        driver="bridge",
        created=created,
        builtin=True,
        ipam_options=None,
        ipam_config=[IPAMPool(subnet=subnet, gateway=gateway, show_gateway=False)],
        options={
            opt.BRIDGE_DEFAULT_BRIDGE: "true",
            opt.BRIDGE_ENABLE_ICC: "true",
            opt.BRIDGE_ENABLE_IP_MASQUERADE: "true",
            opt.BRIDGE_HOST_BINDING_IPV4: "0.0.0.0",
            opt.BRIDGE_NAME: "pynet0",
            opt.DRIVER_MTU: "1500",
        },
        driver_data={"bridge": "pynet0", "mtu": 1500},
    )
    host = Network(id=new_id(), name="host", driver="host", created=created, builtin=True, ipam_options=None)
    none = Network(id=new_id(), name="none", driver="null", created=created, builtin=True, ipam_options=None)
    for net in (bridge, host, none):
        net.embedded_dns = driver_class(net.driver).embedded_dns
    return [bridge, host, none]
