"""Docker 20.10's default IPAM, in pure Python (stdlib ``ipaddress`` only, no I/O).

Four jobs, each named after what Docker does:

* ``build_pools`` — docker/cli's consolidation of ``--subnet/--gateway/--ip-range/--aux-address``
  (``cli/command/network/create.go consolidateIpam``) followed by the daemon's own parsing
  (``daemon/network.go getIpamConfig``, libnetwork ``parsePoolRequest``), same messages.
* ``finalize_pool`` — libnetwork ``network.ipamAllocateVersion``: reserve the gateway (the first
  free address of the dynamic range when none was given) and the auxiliary addresses.
* ``choose_subnet`` / ``check_overlap`` — pool selection among Docker's predefined local pools
  (``ipamutils``) and the "Pool overlaps" check.
* ``AddressSpace`` — the per-network address allocator (libnetwork's bitmask, as a dict of
  allocated addresses plus a round-robin ``last`` pointer, like netavark), JSON-serialisable.

Addresses are handled as integers internally so that a /16 or an IPv6 /64 is never enumerated.

Layout: ``consolidate`` (``build_pools``), ``pools`` (constants, pool geometry,
``finalize_pool``, subnet selection, MAC/address helpers), ``space`` (``AddressSpace``,
``PoolExhausted``); every public name is re-exported here.
"""

from __future__ import annotations

from pynet.cnm.ipam.consolidate import build_pools
from pynet.cnm.ipam.pools import (
    ADDRESS_SPACE_LOCAL,
    DEFAULT_POOLS_V4,
    ERR_ADDRESS_IN_USE,
    ERR_NO_ADDRESSES,
    ERR_NO_DEFAULT_POOL,
    ERR_OUT_OF_RANGE,
    ERR_POOL_OVERLAP,
    ERR_STATIC_NEEDS_SUBNET,
    check_overlap,
    choose_subnet,
    finalize_pool,
    host_address_in_pool,
    host_in_subnet,
    mac_from_ipv4,
    with_prefix,
)
from pynet.cnm.ipam.space import SCHEMA_VERSION, AddressSpace, PoolExhausted

__all__ = [
    "ADDRESS_SPACE_LOCAL",
    "DEFAULT_POOLS_V4",
    "ERR_ADDRESS_IN_USE",
    "ERR_NO_ADDRESSES",
    "ERR_NO_DEFAULT_POOL",
    "ERR_OUT_OF_RANGE",
    "ERR_POOL_OVERLAP",
    "ERR_STATIC_NEEDS_SUBNET",
    "SCHEMA_VERSION",
    "AddressSpace",
    "PoolExhausted",
    "build_pools",
    "check_overlap",
    "choose_subnet",
    "finalize_pool",
    "host_address_in_pool",
    "host_in_subnet",
    "mac_from_ipv4",
    "with_prefix",
]
