"""pynet's firewall policy: Docker's bridge semantics in pynet's OWN nftables tables.

Fixed rules in ``table inet pynet`` read per-network and per-container data from sets and
maps, so a change is element updates in ONE nftables transaction, at a cost that does not
grow with the number of networks; nothing pynet does not own is touched (but its tagged
accept rules in a foreign forward chain). The design and its reasons: firewall.md.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import replace

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.records import options as opt
from pynet.records import ports as portspec
from pynet.records.model import Endpoint, Network, PortBinding
from pynet.records.undo import UndoLog
from pynet.errors import Conflict, InvalidArgument
from pynet.kernel import nft

TABLE = "pynet"
EPHEMERAL = (49153, 65535)  # Docker's random host port range
ICC = opt.BRIDGE_ENABLE_ICC
MASQ = opt.BRIDGE_ENABLE_IP_MASQUERADE
HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"
ALLOW_CMD = "pynet system firewall-allow-docker"
Elem = tuple[str, str, str, "str | None"]  # (family, set, key, value) in nft syntax

_INET_SETS = """\
set bridges { type ifname; }
set same { type ifname . ifname; }
set internal { type ifname; }
set noicc { type ifname; }
set subnets4 { type ipv4_addr . ifname; flags interval; }
set subnets6 { type ipv6_addr . ifname; flags interval; }
set masq4 { type ipv4_addr; flags interval; }
set masq6 { type ipv6_addr; flags interval; }
set lo_pub4 { type ipv4_addr . inet_proto . inet_service; }
map pub4_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
map pub4_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
map pub6_any { type inet_proto . inet_service : ipv6_addr . inet_service; }
map pub6_ip { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }"""

# chain name -> (base chain spec or "", rules). Order matters: `publish` is jumped to.
_INET_CHAINS: list[tuple[str, str, list[str]]] = [
    (
        "publish",
        "",
        [
            "meta l4proto != { tcp, udp, sctp } return",
            "dnat ip to ip daddr . meta l4proto . th dport map @pub4_ip",
            "dnat ip to meta l4proto . th dport map @pub4_any",
            "dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6_ip",
            "dnat ip6 to meta l4proto . th dport map @pub6_any",
        ],
    ),
    (
        "raw_prerouting",
        "type filter hook prerouting priority raw; policy accept;",
        [
            # route_localnet=1 on our bridges must not open the host's loopback services
            "iifname @bridges ip daddr 127.0.0.0/8 drop",
            # a port published on 127.x is not reachable from outside (CVE-2020-8558 class)
            'iifname != "lo" meta l4proto { tcp, udp, sctp } ip daddr . meta l4proto . th dport @lo_pub4 drop',
        ],
    ),
    (
        "prerouting",
        "type nat hook prerouting priority dstnat; policy accept;",
        [
            'iifname != "lo" ip daddr 127.0.0.0/8 return',
            "fib daddr type local jump publish",
        ],
    ),
    (
        "output",
        "type nat hook output priority -100; policy accept;",
        [
            "fib daddr type local jump publish",
        ],
    ),
    (
        "postrouting",
        "type nat hook postrouting priority srcnat; policy accept;",
        [
            # hairpin: DNATed back out of the bridge it came in on
            "ct status dnat ip saddr . oifname @subnets4 masquerade",
            "ct status dnat ip6 saddr . oifname @subnets6 masquerade",
            # the host reaching a port published on 127.0.0.1
            "oifname @bridges ip saddr 127.0.0.0/8 masquerade",
            "ip saddr @masq4 ip saddr . oifname != @subnets4 masquerade",
            "ip6 saddr @masq6 ip6 saddr . oifname != @subnets6 masquerade",
        ],
    ),
    (
        "forward",
        "type filter hook forward priority filter; policy accept;",
        [
            "iifname @internal iifname . oifname != @same drop",
            "oifname @internal iifname . oifname != @same drop",
            "iifname @bridges ct state invalid drop",
            "oifname @bridges ct state invalid drop",
            "oifname @bridges ct state established,related accept",
            "iifname @bridges ct state established,related accept",
            "iifname @noicc iifname . oifname @same drop",
            "oifname @bridges ct status dnat accept",
            "oifname @bridges iifname . oifname != @same drop",
        ],
    ),
]

_BRIDGE_SETS = """\
set noicc4 { type ipv4_addr; flags interval; }
set noicc6 { type ipv6_addr; flags interval; }"""
_BRIDGE_RULES = ["ip daddr @noicc4 drop", "ip6 daddr @noicc6 drop"]


# -- the static skeleton ---------------------------------------------------------------


def _declare(family: str, line: str) -> str:
    kind, name, body = line.split(" ", 2)  # "set bridges { type ifname; }"
    return f"add {kind} {family} {TABLE} {name} {body}"


def inet_skeleton() -> str:
    """Idempotent script that (re)creates ``table inet pynet``'s sets, chains and rules.

    Sets keep their elements; each chain is flushed and refilled in the same
    transaction, so running it again heals edited chains and never duplicates rules.
    """
    lines = [f"add table inet {TABLE}"]
    lines += [_declare("inet", line) for line in _INET_SETS.splitlines()]
    for name, base, rules in _INET_CHAINS:
        lines.append(f"add chain inet {TABLE} {name}" + (f" {{ {base} }}" if base else ""))
        lines.append(f"flush chain inet {TABLE} {name}")
        lines += [f"add rule inet {TABLE} {name} {rule}" for rule in rules]
    return "\n".join(lines) + "\n"


def bridge_skeleton() -> str:
    """Idempotent script for ``table bridge pynet`` (icc=false without br_netfilter)."""
    lines = [f"add table bridge {TABLE}"]
    lines += [_declare("bridge", line) for line in _BRIDGE_SETS.splitlines()]
    lines.append(f"add chain bridge {TABLE} forward {{ type filter hook forward priority filter; policy accept; }}")
    lines.append(f"flush chain bridge {TABLE} forward")
    lines += [f"add rule bridge {TABLE} forward {rule}" for rule in _BRIDGE_RULES]
    return "\n".join(lines) + "\n"


# -- records -> elements (pure) --------------------------------------------------------


def _flag(net: Network, key: str) -> bool:
    return opt.bool_option(net.options, key)


#: what a bridge name written into nft scripts may hold (a set, not `re`: design.md, "Start-up")
_BRIDGE_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@+-")


def bridge_of(net: Network) -> str:
    """The bridge device of ``net`` (validated: it is written into nft scripts)."""
    name = opt.bridge_device(net)
    if not (1 <= len(name) <= 15 and _BRIDGE_NAME_CHARS.issuperset(name)):
        raise InvalidArgument(f"invalid bridge name {name!r}")
    return name


def _subnets(net: Network) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(p.subnet, strict=False) for p in net.ipam_config if p.subnet]


def _fam(subnet: Any) -> str:
    return "4" if subnet.version == 4 else "6"


def network_elements(net: Network) -> list[Elem]:
    """Every set element that describes ``net`` (bridge, subnets, flags)."""
    br = f'"{bridge_of(net)}"'
    elems: list[Elem] = [("inet", "bridges", br, None), ("inet", "same", f"{br} . {br}", None)]
    if net.internal:
        elems.append(("inet", "internal", br, None))
    noicc = not _flag(net, ICC)
    if noicc:
        elems.append(("inet", "noicc", br, None))
    for sn in _subnets(net):
        elems.append(("inet", f"subnets{_fam(sn)}", f"{sn} . {br}", None))
        if not net.internal and _flag(net, MASQ):
            elems.append(("inet", f"masq{_fam(sn)}", str(sn), None))
        if noicc:
            elems.append(("bridge", f"noicc{_fam(sn)}", str(sn), None))
    return elems


def effective_bindings(net: Network, bindings: list[PortBinding]) -> list[PortBinding]:
    """Bindings with the network's default host address (``host_binding_ipv4``) applied."""
    default = (net.options.get(HOST_BINDING) or "").strip()
    if not default or default == "0.0.0.0":
        return list(bindings)
    return [replace(b, host_ip=default) if not b.host_ip else b for b in bindings]


def _addr(cidr: str) -> str:
    return cidr.split("/")[0] if cidr else ""


def publish_elements(net: Network, ep: Endpoint, bindings: list[PortBinding]) -> list[Elem]:
    """The map/set elements that publish ``bindings`` to ``ep`` (skips unresolved ports)."""
    elems: list[Elem] = []
    ip4, ip6 = _addr(ep.ipv4), _addr(ep.ipv6)
    for b in effective_bindings(net, bindings):
        if not b.host_port:
            continue
        svc, fam = f"{b.proto} . {b.host_port}", portspec.host_ip_family(b.host_ip)
        if ip4 and fam in (0, 4):
            if b.host_ip in ("", "0.0.0.0"):
                elems.append(("inet", "pub4_any", svc, f"{ip4} . {b.container_port}"))
            else:
                elems.append(("inet", "pub4_ip", f"{b.host_ip} . {svc}", f"{ip4} . {b.container_port}"))
                if ipaddress.ip_address(b.host_ip).is_loopback:
                    elems.append(("inet", "lo_pub4", f"{b.host_ip} . {svc}", None))
        if ip6 and fam in (0, 6):
            if b.host_ip in ("", "::"):
                elems.append(("inet", "pub6_any", svc, f"{ip6} . {b.container_port}"))
            else:
                elems.append(("inet", "pub6_ip", f"{b.host_ip} . {svc}", f"{ip6} . {b.container_port}"))
    return elems


def _elem_text(e: Elem) -> str:
    return f"{e[2]} : {e[3]}" if e[3] is not None else e[2]


def add_script(elems: list[Elem]) -> str:
    """``add element`` lines for ``elems``."""
    return "".join(f"add element {f} {TABLE} {s} {{ {_elem_text((f, s, k, v))} }}\n" for f, s, k, v in elems)


def delete_script(elems: list[Elem]) -> str:
    """Idempotent removal: ``add`` (a no-op when present with the same value) then ``delete``.

    nft 1.0.6 has no ``destroy``; a key bound to ANOTHER value makes the ``add`` fail
    (EEXIST), which protects a mapping that now belongs to someone else.
    """
    return add_script(elems) + "".join(f"delete element {f} {TABLE} {s} {{ {k} }}\n" for f, s, k, _v in elems)


# -- the kernel side -------------------------------------------------------------------
def _key_atoms(key: str) -> tuple[str, ...]:
    """An element key in script syntax as the kernel lists it (an interval: its first address)."""
    return tuple(part.strip().strip('"').split("/")[0] for part in key.split(" . "))


def network_view(net: Network, published: list[tuple[Endpoint, list[PortBinding]]]) -> dict[str, Any]:
    """pynet's nftables objects for ``net`` (``network inspect -v``): each set/map element
    that describes it or publishes one of its ports, whether the kernel holds it, and
    the chains that read those sets."""
    expected = network_elements(net) + [e for ep, b in published for e in publish_elements(net, ep, b)]
    listed: dict[tuple[str, str], set[tuple[str, ...]]] = {}
    sets: dict[str, list[dict[str, Any]]] = {}
    for fam, name, key, value in expected:
        if (fam, name) not in listed:
            found = nft.elements(fam, TABLE, name) or []
            listed[(fam, name)] = {tuple(str(a) for a in k) for k, _v in found}
        text = _elem_text((fam, name, key, value)).replace('"', "")
        sets.setdefault(f"{fam} {TABLE} {name}", []).append(
            {"Element": text, "Present": _key_atoms(key) in listed[(fam, name)]}
        )
    names = {(fam, name) for fam, name in listed}
    chains = [
        f"inet {TABLE} {c}"
        for c, _b, rules in _INET_CHAINS
        if any(f"@{n}" in r for f, n in names if f == "inet" for r in rules)
    ]
    if any(f == "bridge" for f, _n in names):
        chains.append(f"bridge {TABLE} forward")
    return {"Sets": sets, "Chains": chains}


def _needs_bridge_table(elems: list[Elem]) -> bool:
    return any(e[0] == "bridge" for e in elems)


def _apply(elems: list[Elem], *, bridge_table: bool) -> None:
    """Skeleton (heals edited chains) + elements, one transaction."""
    script = inet_skeleton() + (bridge_skeleton() if bridge_table else "") + add_script(elems)
    nft.run(script)


def _apply_elements(elems: list[Elem], *, bridge_table: bool) -> None:
    """Elements only while pynet's sets exist; the skeleton too when they do not.

    One transaction in the usual case: no listing first, no rewrite of the fixed rules.
    A missing table or set (a flushed ruleset; a set this pynet version added) fails the
    first transaction with ENOENT before anything changed; then skeleton + elements go in.
    """
    try:
        nft.run(add_script(elems))
    except nft.NftError as exc:
        if not exc.missing:
            raise
        _apply(elems, bridge_table=bridge_table)


def _sysctls(net: Network) -> list[str]:
    """ip_forward (with a notice when pynet turned it on), route_localnet on the bridge."""
    notices = []
    if net.internal:
        return notices
    if nft.write_sysctl("net/ipv4/ip_forward", "1"):
        _internal_forwarding_off()  # the flip just turned forwarding on for every device
        notices.append(
            "pynet enabled IPv4 forwarding in this network namespace "
            "(net.ipv4.ip_forward=1) so that containers can reach other networks"
        )
    br = bridge_of(net)
    if nft.read_sysctl(f"net/ipv4/conf/{br}/route_localnet") is not None:
        # lets the host reach ports published on 127.0.0.1 (DNAT towards the bridge)
        nft.write_sysctl(f"net/ipv4/conf/{br}/route_localnet", "1")
    if net.enable_ipv6 and nft.read_sysctl("net/ipv6/conf/all/forwarding") == "0":
        notices.append(
            f"WARNING: IPv6 forwarding is disabled (net.ipv6.conf.all.forwarding=0): containers on "
            f"network {net.name} have no IPv6 connectivity beyond the host. pynet does not turn it on "
            "for you because it stops router advertisements on interfaces with accept_ra=1; set "
            "accept_ra=2 there first, then `sysctl -w net.ipv6.conf.all.forwarding=1`"
        )
    return notices


def _internal_forwarding_off() -> None:
    """Per-device forwarding back off on internal bridges (see the bridge driver)."""
    for key, _value in nft.elements("inet", TABLE, "internal") or []:
        if nft.read_sysctl(f"net/ipv4/conf/{key[0]}/forwarding") is not None:
            nft.write_sysctl(f"net/ipv4/conf/{key[0]}/forwarding", "0")


def setup_network(net: Network, undo: UndoLog) -> list[str]:
    """Install ``net``'s elements (and the skeleton); return notices and warnings."""
    elems = network_elements(net)
    undo.add({"kind": "nft", "op": "network", "elements": [list(e) for e in elems]})
    _apply(elems, bridge_table=_needs_bridge_table(elems))
    notices = _sysctls(net)
    targets = foreign_targets()
    if targets and foreign_auto():
        undo.add({"kind": "nft", "op": "foreign", "bridge": bridge_of(net)})
        notices += open_foreign([bridge_of(net)], targets=targets)
    return notices + foreign_warnings([bridge_of(net)], targets) + legacy_warnings(bridge_of(net))


def _atoms(value: Any) -> list[Any]:
    if isinstance(value, dict) and "elem" in value:
        value = value["elem"].get("val")
    if isinstance(value, dict) and "concat" in value:
        return list(value["concat"])
    if isinstance(value, dict) and "prefix" in value:
        return [f"{value['prefix']['addr']}/{value['prefix']['len']}"]
    return [value]


def _listed(table: list[dict[str, Any]] | None) -> dict[str, list[Any]]:
    """set/map name -> raw elements, from ``nft -j list table``."""
    out: dict[str, list[Any]] = {}
    for obj in table or []:
        body = obj.get("set") or obj.get("map")
        if body:
            out[body["name"]] = list(body.get("elem", []))
    return out


def _stale_publish(net: Network) -> list[Elem]:
    """DNAT elements whose target lies in ``net`` (left by a crash: A1 in the research).

    Reads only the DNAT maps of ``net``'s address families: the cost follows the
    published ports, never the networks.
    """
    nets = _subnets(net)
    stale: list[Elem] = []
    for name in [f"pub{f}_{kind}" for f in sorted({_fam(sn) for sn in nets}) for kind in ("any", "ip")]:
        for key, value in nft.elements("inet", TABLE, name) or []:
            if not value or not any(ipaddress.ip_address(value[0]) in sn for sn in nets):
                continue
            ktext = " . ".join(str(a) for a in key)
            stale.append(("inet", name, ktext, " . ".join(str(a) for a in value)))
            if name == "pub4_ip" and ipaddress.ip_address(key[0]).is_loopback:
                stale.append(("inet", "lo_pub4", ktext, None))
    return stale


def update_network(old: Network, new: Network) -> list[str]:
    """Replace the elements of ``old`` by those of ``new`` in one transaction (e.g. the
    ``internal`` set and masquerading when ``--internal`` flips); return notices."""
    before, after = network_elements(old), network_elements(new)
    gone = [e for e in before if e not in after]
    added = [e for e in after if e not in before]
    skeleton = inet_skeleton() + (bridge_skeleton() if _needs_bridge_table(after) else "")
    nft.run(skeleton + delete_script(gone) + add_script(added))
    return _sysctls(new)


def teardown_network(net: Network) -> None:
    """Remove everything ``net`` installed (idempotent); drop pynet's tables after the last.

    One transaction, and no listing of a table or of the ruleset: "the last network?"
    reads at most two elements of ``bridges`` (one other than ours is the answer), so the
    cost is the same with 1 or 1000 networks.
    """
    br = bridge_of(net)
    mine = network_elements(net)
    nft.run(_inet_teardown(net, br, mine) + _bridge_teardown(mine) + _foreign_removal(br))


def _inet_teardown(net: Network, br: str, mine: list[Elem]) -> str:
    present = nft.elements("inet", TABLE, "bridges", limit=2)
    if present is None:
        return ""
    if any(key != (br,) for key, _v in present):
        return delete_script([e for e in mine if e[0] == "inet"] + _stale_publish(net))
    return f"delete table inet {TABLE}\n"


def _bridge_teardown(mine: list[Elem]) -> str:
    if not nft.table_exists("bridge", TABLE):
        return ""
    ours = [e for e in mine if e[0] == "bridge"]
    firsts = {e[2].split("/")[0] for e in ours}  # an interval is listed by its first address
    for name in ("noicc4", "noicc6"):
        left = nft.elements("bridge", TABLE, name, limit=len(ours) + 1) or []
        if any(key[0] not in firsts for key, _v in left):
            return delete_script(ours)
    return f"delete table bridge {TABLE}\n"


def undo_resource(resource: dict[str, Any]) -> None:
    """Reverse a resource logged by setup_network/publish (idempotent, after a failure)."""
    if resource.get("op") == "foreign":
        nft.run(_foreign_removal(str(resource.get("bridge"))))
        return
    elems = [tuple(e) for e in resource.get("elements", [])]
    families = {e[0] for e in elems}
    present = {f for f in families if nft.table_exists(f, TABLE)}
    _remove_elements([e for e in elems if e[0] in present])  # type: ignore[misc]
    if resource.get("op") == "network":
        _prune_empty_tables()


def _remove_elements(elems: list[Elem]) -> None:
    if not elems:
        return
    try:
        nft.run(delete_script(elems))
    except nft.NftError as exc:
        if not exc.exists:
            raise
        for e in elems:  # one of them now belongs to someone else: remove the rest
            try:
                nft.run(delete_script([e]))
            except nft.NftError as one:
                if not one.exists:
                    raise


def _prune_empty_tables() -> None:
    script = ""
    inet = nft.try_list_json(f"table inet {TABLE}")
    if inet is not None and not _listed(inet).get("bridges"):
        script += f"delete table inet {TABLE}\n"
    brt = nft.try_list_json(f"table bridge {TABLE}")
    if brt is not None and not any(_listed(brt).values()):
        script += f"delete table bridge {TABLE}\n"
    nft.run(script)


# -- published ports -------------------------------------------------------------------


def allocate_host_ports(bindings: list[PortBinding], in_use: set[tuple[str, str, int]]) -> list[PortBinding]:
    """Resolve ``host_port == 0`` (and host ranges) to free ports; Conflict on a clash.

    ``in_use``: (host_ip, proto, port) already published by pynet. Host processes
    holding a port (/proc/net of this namespace) count as taken too: pynet's DNAT
    would silently steal their traffic.
    """
    return portspec.allocate(bindings, in_use, nft.host_listeners(), EPHEMERAL)


def publish(net: Network, ep: Endpoint, bindings: list[PortBinding], undo: UndoLog) -> None:
    """DNAT the (resolved) host ports of ``bindings`` to ``ep``; nothing on internal networks."""
    if net.internal:
        return
    if any(not b.host_port for b in bindings):
        raise InvalidArgument("publish: host ports must be allocated first (allocate_host_ports)")
    elems = publish_elements(net, ep, bindings)
    if not elems:
        return
    undo.add({"kind": "nft", "op": "publish", "elements": [list(e) for e in elems]})
    mine = network_elements(net)  # re-adding is a no-op; heals a flushed ruleset for this network
    try:
        _apply_elements(mine + elems, bridge_table=_needs_bridge_table(mine))
    except nft.NftError as exc:
        if exc.exists:
            raise _conflict_for(net, bindings) from None
        raise


def _conflict_for(net: Network, bindings: list[PortBinding]) -> Conflict:
    sets = _listed(nft.try_list_json(f"table inet {TABLE}"))
    keys = {
        " . ".join(str(a) for a in _atoms(k))
        for name in ("pub4_any", "pub4_ip", "pub6_any", "pub6_ip")
        for k, _v in sets.get(name, [])
    }
    for b in effective_bindings(net, bindings):
        if {f"{b.proto} . {b.host_port}", f"{b.host_ip} . {b.proto} . {b.host_port}"} & keys:
            return Conflict(portspec.already_allocated(b.host_ip, b.host_port))
    return Conflict("port is already allocated")


def unpublish(net: Network, ep: Endpoint, bindings: list[PortBinding]) -> None:
    """Remove exactly these DNAT elements (idempotent; keeps a key now bound to someone else)."""
    if net.internal or not nft.table_exists("inet", TABLE):
        return
    _remove_elements(publish_elements(net, ep, bindings))


def unpublish_targets(net: Network, ep: Endpoint) -> None:
    """Remove every DNAT element that leads to ``ep``'s addresses, whatever its bindings
    (``rm -f`` of a container whose record, and so its port list, is lost)."""
    targets = {_addr(a) for a in (ep.ipv4, ep.ipv6) if a}
    if net.internal or not targets or not nft.table_exists("inet", TABLE):
        return
    stale = _stale_publish(net)
    mine = [e for e in stale if e[3] is not None and e[3].split(" . ")[0] in targets]
    loopback_keys = {e[2] for e in mine if e[1] == "pub4_ip"}
    mine += [e for e in stale if e[1] == "lo_pub4" and e[2] in loopback_keys]
    _remove_elements(mine)


def reload(networks: list[Network], published: list[tuple[Network, Endpoint, list[PortBinding]]]) -> list[str]:
    """Rebuild pynet's tables from records (= current state) in one transaction.

    For a ruleset flushed by someone else, or stale: rules of containers that are not in
    ``published`` are gone afterwards. Returns notices (ip_forward turned on...).
    """
    elems = [e for net in networks for e in network_elements(net)]
    elems += [e for net, ep, bindings in published if not net.internal for e in publish_elements(net, ep, bindings)]
    script = "".join(f"add table {f} {TABLE}\ndelete table {f} {TABLE}\n" for f in ("inet", "bridge"))
    if networks:
        bridge_table = _needs_bridge_table(elems)
        script += inet_skeleton() + (bridge_skeleton() if bridge_table else "") + add_script(elems)
    nft.run(script)
    notices = [n for net in networks for n in _sysctls(net)]
    targets = foreign_targets()
    if targets and foreign_auto():
        notices += sync_foreign([bridge_of(n) for n in networks], targets)
    return notices + (foreign_warnings([bridge_of(n) for n in networks], targets) if networks else [])


# -- other tables: accept rules where a foreign drop policy would kill pynet's traffic --
#
# Docker sets `iptables -P FORWARD DROP` (table ip filter); with br_netfilter even frames
# between two ports of one pynet bridge go through it. A drop there is final whatever
# pynet's own table says, so pynet puts narrow accept rules for ITS bridges where the
# owner of that table expects them: Docker's DOCKER-USER chain, or else the policy-drop
# chain itself. Each rule carries the comment "pynet:<bridge> in|out"; nothing else in
# those tables is touched. Per bridge, in this order (every IN rule before every OUT rule,
# so a DNATed connection into another pynet bridge is never sent back to Docker's rules):
#   IN   oifname "br" accept                      (pynet's own table filtered it already)
#   OUT  iifname "br" oifname "docker0" return    Docker's bridges stay Docker's to decide
#        iifname "br" oifname "br-*" return
#        iifname "br" accept                      egress to the LAN
# Every rule is one iptables-nft can show (`iptables -S DOCKER-USER`).

FOREIGN_SETTING = "PYNET_FOREIGN_FIREWALL"  # "auto" (default) or "manual"
TAG = "pynet:"
_FOREIGN_FAMILIES = ("ip", "ip6", "inet")
_RULE_KINDS = ["in", "out", "out", "out"]


def foreign_auto() -> bool:
    """False when the user manages other tables' chains (``PYNET_FOREIGN_FIREWALL=manual``)."""
    return os.environ.get(FOREIGN_SETTING, "auto").strip().lower() != "manual"


def _in_rule(br: str) -> str:
    return f'oifname "{br}" accept comment "{TAG}{br} in"'


def _out_rules(br: str) -> list[str]:
    tag = f'comment "{TAG}{br} out"'
    return [
        f'iifname "{br}" oifname "docker0" return {tag}',
        f'iifname "{br}" oifname "br-*" return {tag}',
        f'iifname "{br}" accept {tag}',
    ]


def _tag_of(rule: dict[str, Any]) -> tuple[str, str] | None:
    """(bridge, kind) of a rule pynet tagged, else None (older pynet tagged "pynet:<br>")."""
    comment = str(rule.get("comment") or "")
    if not comment.startswith(TAG):
        return None
    br, _sep, kind = comment[len(TAG) :].partition(" ")
    return br, kind


def _drops_forward(c: dict[str, Any]) -> bool:
    return c.get("hook") == "forward" and c.get("policy") == "drop" and c.get("family") in _FOREIGN_FAMILIES


def _foreign(chains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in chains if c.get("table") != TABLE or c.get("family") not in ("inet", "bridge")]


Target = tuple[str, str, str]  # (family, table, chain)


def foreign_targets(chains: list[dict[str, Any]] | None = None) -> list[tuple[Target, Target]]:
    """(policy-drop forward chain, the chain pynet's rules go into) for each foreign one.

    The rules go into ``DOCKER-USER`` when the chain's table has one (Docker's place for
    rules of its users), else into the policy-drop chain itself.
    """
    chains = _foreign(nft.chains() if chains is None else chains)
    names = {(c["family"], c["table"], c["name"]) for c in chains}
    out = []
    for c in chains:
        if _drops_forward(c):
            where = (c["family"], c["table"], c["name"])
            user = (c["family"], c["table"], "DOCKER-USER")
            out.append((where, user if user in names else where))
    return out


def _sweep_chains(chains: list[dict[str, Any]]) -> list[Target]:
    """Chains that may hold pynet's tagged rules: DOCKER-USER and foreign forward chains."""
    return sorted(
        {
            (c["family"], c["table"], c["name"])
            for c in _foreign(chains)
            if c.get("family") in _FOREIGN_FAMILIES and (c.get("name") == "DOCKER-USER" or c.get("hook") == "forward")
        }
    )


def _complete(rules: list[dict[str, Any]], br: str) -> bool:
    return sorted(t[1] for r in rules if (t := _tag_of(r)) and t[0] == br) == _RULE_KINDS


def _chain_script(target: Target, rules: list[dict[str, Any]], add: list[str], drop: set[str]) -> tuple[str, list[str]]:
    """Script that gives ``target`` complete rules for ``add`` and none for ``drop``.

    A bridge with an incomplete set (a rule deleted by hand, an older pynet's pair) gets
    all of them anew. Returns (script, the bridges whose rules were (re)inserted).
    """
    where = " ".join(target)
    redo = [br for br in dict.fromkeys(add) if not _complete(rules, br)]
    gone = drop | set(redo)
    script = "".join(f"delete rule {where} handle {r['handle']}\n" for r in rules if (t := _tag_of(r)) and t[0] in gone)
    kept = [r for r in rules if not ((t := _tag_of(r)) and t[0] in gone)]
    anchor = next((r["handle"] for r in kept if (t := _tag_of(r)) is None or t[1] != "in"), None)
    script += "".join(f"insert rule {where} {_in_rule(br)}\n" for br in redo)
    for br in redo:
        for rule in _out_rules(br):
            script += (
                f"insert rule {where} position {anchor} {rule}\n"
                if anchor is not None
                else f"add rule {where} {rule}\n"
            )
    return script, redo


def _open_script(bridges: list[str], drop: set[str], targets: list[tuple[Target, Target]]) -> tuple[str, list[str]]:
    script, lines = "", []
    for target in dict.fromkeys(t for _where, t in targets):
        part, done = _chain_script(target, nft.chain_rules(*target) or [], bridges, drop)
        script += part
        if done:
            lines.append(f"table {target[0]} {target[1]} chain {target[2]}: {', '.join(done)}")
    return script, lines


def open_foreign(
    bridges: list[str],
    *,
    drop: set[str] | frozenset[str] = frozenset(),
    targets: list[tuple[Target, Target]] | None = None,
) -> list[str]:
    """Give ``bridges`` their accept rules in every foreign policy-drop chain (idempotent).

    ``drop``: bridges whose tagged rules must go (pynet no longer has them). Returns one
    notice when something was added, else nothing.
    """
    targets = foreign_targets() if targets is None else targets
    if not targets:
        return []
    script, lines = _open_script(bridges, set(drop), targets)
    nft.run(script)
    if not lines:
        return []
    return [
        f"pynet added accept rules for its bridges to {'; '.join(lines)} (that table's forward "
        f"policy drops other traffic); set {FOREIGN_SETTING}=manual to manage that chain yourself"
    ]


def heal_foreign() -> list[str]:
    """At the start of a command: put back accept rules that a dockerd restart or a flush removed.

    Cheap when no foreign chain drops forwarded traffic (one chain dump). The bridges are
    those of pynet's own ``bridges`` set; rules of bridges pynet no longer has go too.
    """
    if not foreign_auto():
        return []
    targets = foreign_targets()
    if not targets:
        return []
    present = nft.elements("inet", TABLE, "bridges")
    if present is None:
        return []  # pynet's table is gone: firewall-reload rebuilds both
    return sync_foreign([str(key[0]) for key, _v in present], targets)


def sync_foreign(ours: list[str], targets: list[tuple[Target, Target]]) -> list[str]:
    """Rules for exactly the bridges ``ours`` in ``targets`` (others' tagged rules removed)."""
    stale = set()
    for target in dict.fromkeys(t for _where, t in targets):
        stale |= {t[0] for r in nft.chain_rules(*target) or [] if (t := _tag_of(r))} - set(ours)
    return open_foreign(ours, drop=stale, targets=targets)


def foreign_warnings(bridges: list[str] | None = None, targets: list[tuple[Target, Target]] | None = None) -> list[str]:
    """Warnings for foreign policy-drop forward chains that still lack rules for ``bridges``.

    Without ``bridges``: every such chain (nothing is known to be open).
    """
    out = []
    for where, target in foreign_targets() if targets is None else targets:
        if bridges and all(_complete(nft.chain_rules(*target) or [], br) for br in bridges):
            continue
        fam, table, name = where
        fix = f"run `{ALLOW_CMD}` to add accept rules for pynet's bridges to table {fam} {table} chain {target[2]}" + (
            f" ({FOREIGN_SETTING}=manual: pynet does not add them itself)" if not foreign_auto() else ""
        )
        out.append(
            f"WARNING: table {fam} {table} chain {name} has policy drop: it will drop forwarded "
            f"traffic of pynet networks; {fix}"
        )
    return out


def legacy_warnings(br: str) -> list[str]:
    """Warnings for iptables-legacy FORWARD chains with policy DROP (pynet cannot see inside).

    Each names the chain and gives the exact commands that let ``br`` through (the same
    narrow rules pynet adds itself where nft can reach: into DOCKER-USER when it exists).
    """
    out = []
    for fam, program in (("ip", "iptables-legacy"), ("ip6", "ip6tables-legacy")):
        rules = nft.legacy_filter_rules(fam)
        if not rules or "-P FORWARD DROP" not in rules:
            continue
        chain = "DOCKER-USER" if "-N DOCKER-USER" in rules else "FORWARD"
        inserts = [
            f"-i {br} -j ACCEPT",
            f"-i {br} -o br-+ -j RETURN",
            f"-i {br} -o docker0 -j RETURN",
            f"-o {br} -j ACCEPT",
        ]  # each goes on top: the last one ends up first
        if chain == "FORWARD":
            inserts = [f"-i {br} -j ACCEPT", f"-o {br} -j ACCEPT"]
        fix = " && ".join(f"{program} -I {chain} {rule}" for rule in inserts)
        out.append(
            f"WARNING: iptables-legacy table {fam} filter chain FORWARD has policy DROP: it will "
            f"drop forwarded traffic of pynet network bridge {br}, and pynet cannot change "
            f"iptables-legacy rules; run `{fix}`"
        )
    return out


def allow_docker_user(networks: list[Network]) -> list[str]:
    """Explicit: the accept rules of ``open_foreign`` for ``networks``, whatever the setting."""
    targets = foreign_targets()
    if not targets:
        return ["No foreign forward chain with policy drop found: nothing to change"]
    return open_foreign([bridge_of(n) for n in networks], targets=targets) or [
        "The foreign forward chains already accept the traffic of these pynet networks"
    ]


def _foreign_removal(br: str) -> str:
    """Delete-rule lines for every rule tagged for ``br`` in other tables' chains."""
    script = ""
    for target in _sweep_chains(nft.chains()):
        script += "".join(
            f"delete rule {' '.join(target)} handle {r['handle']}\n"
            for r in nft.chain_rules(*target) or []
            if (t := _tag_of(r)) and t[0] == br
        )
    return script
