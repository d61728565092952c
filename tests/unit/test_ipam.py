"""Unit tests for pynet.drivers.ipam (the default IPAM): Docker 20.10's default IPAM behaviour and messages."""

from __future__ import annotations

import ipaddress
import json
import random
import time

import pytest

from pynet.drivers.ipam.consolidate import build_pools
from pynet.drivers.ipam.pools import (
    DEFAULT_POOLS_V4,
    check_overlap,
    subnet_spans,
    choose_subnet,
    finalize_pool,
    mac_from_ipv4,
    with_prefix,
)
from pynet.drivers.ipam.space import AddressSpace, PoolExhausted
from pynet.records.model import IPAMPool
from pynet.errors import Conflict, InvalidArgument, StateCorrupt, Unavailable


def _pool(
    subnet: str, gateway: str = "", ip_range: str = "", aux: dict[str, str] | None = None, user: bool = True
) -> IPAMPool:
    """A finalized pool, as the controller would hold it."""
    return finalize_pool(IPAMPool(subnet, gateway, ip_range, aux or {}, user))


# ---------------------------------------------------------------- defaults


@pytest.mark.unit
def test_default_pools_are_dockers():
    assert len(DEFAULT_POOLS_V4) == 31
    assert DEFAULT_POOLS_V4[0] == "172.17.0.0/16"
    assert DEFAULT_POOLS_V4[14] == "172.31.0.0/16"
    assert DEFAULT_POOLS_V4[15] == "192.168.0.0/20"
    assert DEFAULT_POOLS_V4[16] == "192.168.16.0/20"
    assert DEFAULT_POOLS_V4[-1] == "192.168.240.0/20"


# ---------------------------------------------------------------- build_pools


@pytest.mark.unit
def test_build_pools_like_reference_custom_network():
    pools = build_pools(["10.50.0.0/24"], ["10.50.0.254"], ["10.50.0.128/25"], {"host1": "10.50.0.5"})
    assert pools == [IPAMPool("10.50.0.0/24", "10.50.0.254", "10.50.0.128/25", {"host1": "10.50.0.5"}, True)]


@pytest.mark.unit
def test_build_pools_without_gateway_leaves_it_for_finalize():
    [pool] = build_pools(["10.60.0.0/16"], [], [], {})
    assert pool.gateway == "" and pool.user_configured
    assert finalize_pool(pool).gateway == "10.60.0.1"
    assert pool.gateway == ""  # the user's config is kept for display


@pytest.mark.unit
def test_build_pools_masks_host_bits_like_docker_20_10():
    [pool] = build_pools(["10.1.0.5/24"], [], [], {})
    assert pool.subnet == "10.1.0.0/24"


@pytest.mark.unit
def test_build_pools_lists_ipv4_before_ipv6():
    pools = build_pools(["fd00:1::/64", "10.70.0.0/24"], ["fd00:1::1"], [], {})
    assert [p.subnet for p in pools] == ["10.70.0.0/24", "fd00:1::/64"]
    assert pools[1].gateway == "fd00:1::1"


@pytest.mark.unit
@pytest.mark.parametrize(
    "subnets,gateways,ranges,aux,message",
    [
        (["notacidr"], [], [], {}, "Invalid subnet notacidr : invalid CIDR address: notacidr"),
        (["10.60.0.0/33"], [], [], {}, "Invalid subnet 10.60.0.0/33 : invalid CIDR address: 10.60.0.0/33"),
        (["10.61.0.0/24"], ["10.62.0.1"], [], {}, "no matching subnet for gateway 10.62.0.1"),
        (["10.61.0.0/24"], [], ["10.62.0.0/25"], {}, "no matching subnet for range 10.62.0.0/25"),
        (["10.61.0.0/24"], [], [], {"a": "10.62.0.9"}, "no matching subnet for aux-address 10.62.0.9"),
        ([], ["10.0.0.1"], [], {}, "every ip-range or gateway must have a corresponding subnet"),
        (
            ["10.0.0.0/24"],
            [],
            ["10.0.0.0/25", "10.0.0.128/25"],
            {},
            "every ip-range or gateway must have a corresponding subnet",
        ),
        (["10.1.0.0/16", "10.1.2.0/24"], [], [], {}, "multiple overlapping subnet configuration is not supported"),
        (["10.1.0.0/24", "10.1.0.0/24"], [], [], {}, "multiple overlapping subnet configuration is not supported"),
        (
            ["10.1.2.0/23", "10.1.3.248/30"],
            ["255.0.255.0/24"],
            ["255.255.0.0/24"],
            {},
            "multiple overlapping subnet configuration is not supported",
        ),
        # docker/cli create_test.go cases
        (
            ["192.168.2.0/24", "192.168.1.250/24"],
            ["192.168.1.1", "192.168.1.4"],
            ["192.168.1.0/24", "192.168.1.200/24"],
            {},
            "cannot configure multiple ranges (192.168.1.200/24, 192.168.1.0/24) on the same subnet (192.168.1.250/24)",
        ),
        (
            ["192.168.2.0/24", "192.168.1.250/24"],
            ["192.168.1.1", "192.168.1.4"],
            ["192.168.1.0/24"],
            {},
            "cannot configure multiple gateways (192.168.1.4, 192.168.1.1) for the same subnet (192.168.1.250/24)",
        ),
        (
            ["192.168.2.0/24", "192.168.1.250/24"],
            ["192.168.4.1", "192.168.5.4"],
            ["192.168.1.0/24"],
            {},
            "no matching subnet for gateway 192.168.4.1",
        ),
        (
            ["255.255.255.0/24", "255.255.0.255/24"],
            ["255.0.255.0/24"],
            ["255.255.200.0/24", "255.255.120.0/24"],
            {},
            "no matching subnet for range 255.255.200.0/24",
        ),
        (
            ["10.1.2.0.30.50"],
            ["255.0.255.0/24"],
            ["255.255.0.0/24"],
            {},
            "invalid subnet: invalid CIDR address: 10.1.2.0.30.50",
        ),
        (["255.0.0.0/24"], ["255.0.255.0/24"], ["255.255.0.0.30/24"], {}, "invalid CIDR address: 255.255.0.0.30/24"),
        # accepted by the CLI, refused by the daemon
        (
            ["192.168.4.0/24"],
            ["192.168.4.1/24"],
            [],
            {},
            "invalid gateway address 192.168.4.1/24 in Ipam configuration",
        ),
        (
            ["10.9.0.0/24"],
            [],
            ["10.9.0.7"],
            {},
            'failed to parse pool request for address space "LocalDefault" pool "10.9.0.0/24" '
            'subpool "10.9.0.7": Invalid Address SubPool',
        ),
    ],
)
def test_build_pools_errors_use_dockers_words(subnets, gateways, ranges, aux, message):
    with pytest.raises(InvalidArgument) as exc:
        build_pools(subnets, gateways, ranges, aux)
    assert exc.value.message == message


@pytest.mark.unit
def test_cli_side_errors_are_not_daemon_errors():
    with pytest.raises(InvalidArgument) as exc:
        build_pools(["10.61.0.0/24"], ["10.62.0.1"], [], {})
    assert exc.value.from_daemon is False
    with pytest.raises(InvalidArgument) as exc:
        build_pools(["notacidr"], [], [], {})
    assert exc.value.from_daemon is True


# ---------------------------------------------------------------- finalize_pool


@pytest.mark.unit
@pytest.mark.parametrize(
    "subnet,ip_range,gateway",
    [
        ("172.18.0.0/16", "", "172.18.0.1"),
        ("10.50.0.0/24", "10.50.0.128/25", "10.50.0.128"),  # Docker: first address of the range
        ("10.50.0.0/24", "10.50.0.0/25", "10.50.0.1"),  # ... never the network address
        ("10.50.0.0/24", "10.50.0.0/16", "10.50.0.1"),  # a range larger than its subnet = subnet
        ("fd00:aa::/64", "", "fd00:aa::1"),
        ("10.9.0.0/30", "", "10.9.0.1"),
    ],
)
def test_default_gateway(subnet, ip_range, gateway):
    assert finalize_pool(IPAMPool(subnet, ip_range=ip_range)).gateway == gateway


@pytest.mark.unit
@pytest.mark.parametrize(
    "pool,message",
    [
        (
            IPAMPool("10.61.0.0/24", "10.62.0.1"),
            "failed to allocate gateway (10.62.0.1): Requested address is out of range",
        ),
        (IPAMPool("10.61.0.0/24", "10.61.0.0"), "failed to allocate gateway (10.61.0.0): Address already in use"),
        (IPAMPool("10.61.0.0/24", "10.61.0.255"), "failed to allocate gateway (10.61.0.255): Address already in use"),
        (IPAMPool("10.61.0.0/31"), "failed to allocate gateway (): No available addresses on this pool"),
        (IPAMPool("10.61.0.7/32"), "failed to allocate gateway (): No available addresses on this pool"),
        (
            IPAMPool("10.61.0.0/24", aux_addresses={"h": "10.62.0.5"}),
            "auxilairy address: (h:10.62.0.5) must belong to the master pool: 10.61.0.0/24",
        ),
        (
            IPAMPool("10.61.0.0/24", aux_addresses={"h": "10.61.0.1"}),
            "failed to allocate secondary ip address (h:10.61.0.1): Address already in use",
        ),
        (
            IPAMPool("10.61.0.0/24", aux_addresses={"a": "10.61.0.9", "b": "10.61.0.9"}),
            "failed to allocate secondary ip address (b:10.61.0.9): Address already in use",
        ),
        (
            IPAMPool("10.61.0.0/24", ip_range="10.62.0.0/25"),
            "invalid ip-range 10.62.0.0/25: parent subnet 10.61.0.0/24 doesn't contain ip-range",
        ),
    ],
)
def test_finalize_errors(pool, message):
    with pytest.raises(InvalidArgument) as exc:
        finalize_pool(pool)
    assert exc.value.message == message


@pytest.mark.unit
def test_aux_outside_ip_range_but_inside_subnet_is_fine():
    pool = _pool("10.50.0.0/24", "10.50.0.254", "10.50.0.128/25", {"host1": "10.50.0.5"})
    assert pool.aux_addresses == {"host1": "10.50.0.5"}


# ---------------------------------------------------------------- dynamic allocation


@pytest.mark.unit
def test_first_addresses_skip_network_and_gateway():
    pool = _pool("172.18.0.0/16")
    space = AddressSpace()
    assert [space.allocate(pool, f"ep{i}") for i in range(3)] == ["172.18.0.2", "172.18.0.3", "172.18.0.4"]
    assert space.count() == 3


@pytest.mark.unit
def test_unfinalized_pool_still_reserves_default_gateway():
    # e.g. a built-in network stored without a Gateway for display: .1 is still the bridge's
    assert AddressSpace().allocate(IPAMPool("172.17.0.0/16"), "a") == "172.17.0.2"
    assert AddressSpace().allocate(IPAMPool("10.3.0.0/24", ip_range="10.3.0.64/26"), "a") == "10.3.0.65"


@pytest.mark.unit
def test_custom_gateway_frees_dot_one():
    pool = _pool("10.50.0.0/24", "10.50.0.254")
    assert AddressSpace().allocate(pool, "a") == "10.50.0.1"


@pytest.mark.unit
def test_ip_range_and_aux_are_respected():
    pool = _pool("10.50.0.0/24", "10.50.0.130", "10.50.0.128/29", {"h": "10.50.0.131"})
    space = AddressSpace()
    got = [space.allocate(pool, f"e{i}") for i in range(5)]
    # .128-.135, minus gateway .130 and aux .131
    assert got == ["10.50.0.128", "10.50.0.129", "10.50.0.132", "10.50.0.133", "10.50.0.134"]
    space.allocate(pool, "e5")  # .135
    with pytest.raises(PoolExhausted):
        space.allocate(pool, "e6")


@pytest.mark.unit
def test_exhaustion_release_and_reuse():
    pool = _pool("10.20.0.0/24", aux={"router": "10.20.0.200"})
    space = AddressSpace(name="mynet", network_id="abc123")
    got = [space.allocate(pool, f"e{i}") for i in range(252)]  # 256 - net - bcast - gw - aux
    assert len(set(got)) == 252
    assert not {"10.20.0.0", "10.20.0.1", "10.20.0.200", "10.20.0.255"} & set(got)
    with pytest.raises(PoolExhausted) as exc:
        space.allocate(pool, "late")
    assert isinstance(exc.value, Unavailable)
    assert exc.value.message == ("no available IPv4 addresses on this network's address pools: mynet (abc123)")
    space.release(pool, "10.20.0.77")
    assert space.allocate(pool, "late") == "10.20.0.77"
    assert space.owner_of("10.20.0.77") == "late"


@pytest.mark.unit
def test_round_robin_after_release():
    pool = _pool("10.30.0.0/24")
    space = AddressSpace()
    for i in range(4):
        space.allocate(pool, f"e{i}")  # .2 .3 .4 .5
    space.release(pool, "10.30.0.2")
    assert space.allocate(pool, "n1") == "10.30.0.6"  # the freed .2 is not reused at once


@pytest.mark.unit
def test_wraps_around_to_freed_addresses():
    pool = _pool("10.30.0.0/29")  # usable .2-.6 after gateway .1
    space = AddressSpace()
    assert [space.allocate(pool, f"e{i}") for i in range(5)][-1] == "10.30.0.6"
    space.release(pool, "10.30.0.3")
    assert space.allocate(pool, "again") == "10.30.0.3"


@pytest.mark.unit
def test_pool_exhausted_can_be_reworded():
    exc = PoolExhausted(4)
    assert exc.message == "no available IPv4 addresses on this network's address pools"
    assert exc.for_network("n", "id").message == ("no available IPv4 addresses on this network's address pools: n (id)")


@pytest.mark.unit
def test_allocation_is_fast_in_big_pools():
    space = AddressSpace()
    pool16, pool8 = _pool("10.40.0.0/16"), _pool("11.0.0.0/8")
    start = time.perf_counter()
    for i in range(1000):
        space.allocate(pool16, f"a{i}")
        space.allocate(pool8, f"b{i}")
    for i in range(0, 1000, 2):
        space.release_owner(f"a{i}")
    for i in range(500):
        space.allocate(pool16, f"c{i}")
    assert time.perf_counter() - start < 2.0
    assert space.count() == 2000


# ---------------------------------------------------------------- static allocation


@pytest.mark.unit
def test_static_addresses():
    pool = _pool("10.50.0.0/24", "10.50.0.254", "10.50.0.128/25", {"host1": "10.50.0.5"})
    space = AddressSpace()
    assert space.allocate(pool, "s1", "10.50.0.10") == "10.50.0.10"  # outside range: allowed
    assert space.allocate(pool, "s2", "10.50.0.11/24") == "10.50.0.11"  # prefix tolerated
    for taken in ("10.50.0.10", "10.50.0.254", "10.50.0.5", "10.50.0.0", "10.50.0.255"):
        with pytest.raises(Conflict) as exc:
            space.allocate(pool, "x", taken)
        assert exc.value.message == "Address already in use"
    with pytest.raises(InvalidArgument) as exc:
        space.allocate(pool, "x", "10.51.0.3")
    assert exc.value.message == "Invalid address 10.51.0.3: It does not belong to any of this network's subnets"
    assert space.allocate(pool, "d") == "10.50.0.128"  # statics do not move the pointer


@pytest.mark.unit
def test_static_in_full_pool_reports_full_pool_first():
    pool = _pool("10.31.0.0/30")  # .1 gateway, .2 the only host address
    space = AddressSpace()
    space.allocate(pool, "a")
    with pytest.raises(Unavailable) as exc:
        space.allocate(pool, "b", "10.31.0.2")
    assert exc.value.message == "No available addresses on this pool"


@pytest.mark.unit
def test_dynamic_skips_static_ones():
    pool = _pool("10.30.0.0/24")
    space = AddressSpace()
    space.allocate(pool, "s", "10.30.0.2")
    assert space.allocate(pool, "d") == "10.30.0.3"


@pytest.mark.unit
def test_allocate_from_picks_pool_and_reports_network():
    pools = [_pool("10.1.0.0/30"), _pool("10.2.0.0/30"), _pool("fd00:5::/64")]
    space = AddressSpace(name="multi", network_id="f00")
    assert space.allocate_from(pools, "a") == (pools[0], "10.1.0.2")
    assert space.allocate_from(pools, "b") == (pools[1], "10.2.0.2")
    with pytest.raises(PoolExhausted) as exc:
        space.allocate_from(pools, "c")
    assert exc.value.message == "no available IPv4 addresses on this network's address pools: multi (f00)"
    assert space.allocate_from(pools, "a", v6=True) == (pools[2], "fd00:5::2")
    assert space.allocate_from(pools, "d", "fd00:5::99", v6=True) == (pools[2], "fd00:5::99")
    with pytest.raises(InvalidArgument) as exc:
        space.allocate_from(pools, "e", "10.3.0.2")
    assert exc.value.message == "Invalid address 10.3.0.2: It does not belong to any of this network's subnets"


@pytest.mark.unit
def test_static_needs_user_configured_subnet():
    pools = [_pool("172.19.0.0/16", user=False)]
    with pytest.raises(InvalidArgument) as exc:
        AddressSpace().allocate_from(pools, "a", "172.19.0.9")
    assert exc.value.message == (
        "user specified IP address is supported only when connecting to networks with user configured subnets"
    )


# ---------------------------------------------------------------- release / owners


@pytest.mark.unit
def test_release_is_idempotent_and_owner_tracking():
    pool4, pool6 = _pool("10.5.0.0/24"), _pool("fd00:9::/64")
    space = AddressSpace()
    a4, a6 = space.allocate(pool4, "ep1"), space.allocate(pool6, "ep1")
    space.allocate(pool4, "ep2")
    assert space.addresses_of("ep1") == [a4, a6]
    assert space.owner_of(a6) == "ep1" and space.owner_of("10.9.9.9") is None
    assert sorted(space.release_owner("ep1")) == sorted([a4, a6])
    assert space.release_owner("ep1") == []
    space.release(pool4, "10.5.0.3")
    space.release(pool4, "10.5.0.3")
    space.release(pool4, "192.0.2.1")
    assert space.count() == 0


# ---------------------------------------------------------------- dual stack


@pytest.mark.unit
def test_dual_stack_pools():
    pools = [finalize_pool(p) for p in build_pools(["172.30.0.0/16", "fd00:dead::/48"], [], [], {})]
    space = AddressSpace.from_dict(None, pools)
    assert space.allocate_from(pools, "c1")[1] == "172.30.0.2"
    assert space.allocate_from(pools, "c1", v6=True)[1] == "fd00:dead::2"
    assert pools[1].gateway == "fd00:dead::1"
    assert with_prefix(pools[1], "fd00:dead::2") == "fd00:dead::2/48"
    assert with_prefix(pools[0], "172.30.0.2") == "172.30.0.2/16"


# ---------------------------------------------------------------- serialisation


@pytest.mark.unit
def test_roundtrip_keeps_allocations_and_pointer():
    pools = [_pool("10.7.0.0/24"), _pool("fd00:7::/64")]
    space = AddressSpace.from_dict(None, pools)
    for i in range(5):
        space.allocate(pools[0], f"e{i}")
    space.allocate(pools[1], "e0")
    space.release(pools[0], "10.7.0.2")
    data = json.loads(json.dumps(space.to_dict()))
    again = AddressSpace.from_dict(data, pools)
    assert again.to_dict() == data
    assert again.count() == 5
    assert again.allocate(pools[0], "n") == "10.7.0.7"  # continues after the last one
    assert again.owner_of("fd00:7::2") == "e0"


@pytest.mark.unit
@pytest.mark.parametrize(
    "data",
    [
        {"pools": {"10.7.0.0/24": {"allocated": {"10.8.0.1": "x"}}}},
        {"pools": {"10.7.0.0/24": {"allocated": {"nope": "x"}}}},
        {"pools": {"bad": {}}},
        {"pools": []},
        {"version": 99, "pools": {}},
    ],
)
def test_corrupt_state_is_reported(data):
    with pytest.raises(StateCorrupt):
        AddressSpace.from_dict(data, [_pool("10.7.0.0/24")])


# ---------------------------------------------------------------- subnet choice / overlap


@pytest.mark.unit
def test_choose_subnet_skips_used_ones():
    assert choose_subnet([]) == "172.17.0.0/16"
    used = ["172.17.0.0/16", "172.18.0.1/32", "172.19.4.0/24", "0.0.0.0/0", "fe80::/64", "junk"]
    assert choose_subnet(used) == "172.20.0.0/16"
    assert choose_subnet(["172.16.0.0/12"]) == "192.168.0.0/20"
    assert choose_subnet(["172.16.0.0/12", "192.168.1.1"]) == "192.168.16.0/20"


@pytest.mark.unit
def test_choose_subnet_exhausted_and_v6():
    with pytest.raises(Unavailable) as exc:
        choose_subnet(["172.16.0.0/12", "192.168.0.0/16"])
    assert exc.value.message == (
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
    )
    with pytest.raises(Unavailable) as exc:
        choose_subnet([], v6=True)
    assert "non-overlapping IPv6 address pool" in exc.value.message


@pytest.mark.unit
def test_check_overlap():
    pools = [IPAMPool("10.50.0.0/24"), IPAMPool("fd00::/64")]
    check_overlap(pools, subnet_spans(["10.51.0.0/16", "fd01::/64", "10.50.1.0/24", "junk", "10.50.0.0/99"]))
    for used in (["10.50.0.0/24"], ["10.0.0.0/8"], ["10.50.0.77"], ["10.50.0.5/30"], ["fd00::1/128"]):
        with pytest.raises(Conflict) as exc:
            check_overlap(pools, subnet_spans(["junk", *used]))
        assert exc.value.message == "Pool overlaps with other one on this address space"


# ---------------------------------------------------------------- small helpers


@pytest.mark.unit
def test_mac_from_ipv4():
    assert mac_from_ipv4("172.18.0.2") == "02:42:ac:12:00:02"
    assert mac_from_ipv4("10.0.255.1/24") == "02:42:0a:00:ff:01"


# ---------------------------------------------------------------- property-style


@pytest.mark.unit
@pytest.mark.parametrize("seed", range(8))
def test_random_allocate_release_keeps_invariants(seed):
    rng = random.Random(seed)
    pool = _pool("10.88.0.0/26", "10.88.0.40", "10.88.0.32/27", {"a": "10.88.0.35", "b": "10.88.0.3"})
    net, rng_net = ipaddress.ip_network(pool.subnet), ipaddress.ip_network(pool.ip_range)
    forbidden = {"10.88.0.0", "10.88.0.63", "10.88.0.40", "10.88.0.35", "10.88.0.3"}
    capacity = 32 - 3  # the /27 minus gateway, aux .35, broadcast
    space = AddressSpace()
    model: dict[str, str] = {}  # address -> owner
    for step in range(600):
        op = rng.random()
        if op < 0.55:
            owner = f"o{step}"
            dynamic_used = sum(1 for a in model if ipaddress.ip_address(a) in rng_net)
            if dynamic_used >= capacity:
                with pytest.raises(PoolExhausted):
                    space.allocate(pool, owner)
                continue
            addr = space.allocate(pool, owner)
            assert addr not in model and ipaddress.ip_address(addr) in rng_net
            model[addr] = owner
        elif op < 0.65:
            want = str(net[rng.randrange(net.num_addresses)])
            if want in model or want in forbidden:
                with pytest.raises(Conflict):
                    space.allocate(pool, "s", want)
            else:
                assert space.allocate(pool, f"s{step}", want) == want
                model[want] = f"s{step}"
        elif model:
            addr = rng.choice(sorted(model))
            if rng.random() < 0.5:
                space.release(pool, addr)
                del model[addr]
            else:
                assert space.release_owner(model.pop(addr)) == [addr]
        assert not forbidden & set(model)
        assert space.count() == len(model)
    state = space.to_dict()["pools"]["10.88.0.0/26"]["allocated"]
    assert state == {a: model[a] for a in state} and set(state) == set(model)


def _span_by_ipaddress(text: str):
    """The reference: what ``pools._span`` computed with ``ipaddress`` before its fast path."""
    addr, _, plen = text.strip().partition("/")
    try:
        ip = ipaddress.ip_address(addr)
        length = int(plen) if plen else ip.max_prefixlen
    except ValueError:
        return None
    if not 0 < length <= ip.max_prefixlen:
        return None
    host = (1 << (ip.max_prefixlen - length)) - 1
    return ip.version, int(ip) & ~host, int(ip) | host


def test_span_fast_path_equals_ipaddress():
    from pynet.drivers.ipam.pools import _span

    rng = random.Random(7)
    texts = [
        "10.1.2.0/24",
        "10.1.2.3",
        " 10.0.0.1/8 ",
        "1.2.3.4/0",
        "1.2.3.4/33",
        "1.2.3.4/ab",
        "x/8",
        "",
        "010.1.1.1/8",
        "1.2.3/8",
        "256.1.1.1/8",
        "fd00::/64",
        "fe80::1%eth0/64",
        "::ffff:1.2.3.4/120",
        "::/0",
        "::1",
        "1.2.3.4/-1",
        "1.2.3.4/ 8",
        "fd00::/129",
        "gg::1/64",
    ]
    for _ in range(2000):
        if rng.random() < 0.5:
            texts.append(f"{ipaddress.IPv4Address(rng.getrandbits(32))}/{rng.randint(0, 33)}")
        else:
            texts.append(f"{ipaddress.IPv6Address(rng.getrandbits(128))}/{rng.randint(0, 129)}")
    for text in texts:
        assert _span(text) == _span_by_ipaddress(text), text
