"""Which IPAM a network gets (``pynet.drivers.ipam.ipam_for``): one interface, four kinds."""

from __future__ import annotations

import pytest

from pynet.drivers import driver_class, ipam
from pynet.drivers.ipam.base import NoIPAM
from pynet.drivers.ipam.cluster import ClusterIPAM
from pynet.drivers.ipam.local import LocalIPAM
from pynet.drivers.ipam.remote import PluginIPAM
from pynet.records.model import Endpoint, IPAMPool, Network
from pynet.records.undo import UndoLog


def _net(driver: str, ipam_driver: str = "default") -> Network:
    return Network(id="n" * 64, name="n", driver=driver, created="", ipam_driver=ipam_driver)


def _ep(letter: str) -> Endpoint:
    return Endpoint(id=letter * 64, network_id="n" * 64, container_id=letter * 64, name=letter)


def _driver(name: str):
    return driver_class(name).__new__(driver_class(name))  # no side effects: abilities only


@pytest.mark.parametrize(
    ("driver", "ipam_driver", "kind"),
    [
        ("bridge", "default", LocalIPAM),
        ("macvlan", "", LocalIPAM),
        ("bridge", "myipam", PluginIPAM),
        ("overlay", "default", ClusterIPAM),
        ("host", "default", NoIPAM),
        ("null", "myipam", NoIPAM),
    ],
)
def test_each_network_gets_one_ipam_behind_the_interface(driver: str, ipam_driver: str, kind: type) -> None:
    chosen = ipam.ipam_for(_net(driver, ipam_driver), _driver(driver))
    assert type(chosen) is kind and isinstance(chosen, ipam.IPAM)


def test_overlay_with_an_ipam_plugin_takes_pools_from_the_plugin() -> None:
    chosen = ipam.ipam_for(_net("overlay", "myipam"), _driver("overlay"))
    assert isinstance(chosen, ClusterIPAM) and isinstance(chosen.plugin, PluginIPAM)


def test_local_ipam_assigns_and_releases_through_the_interface() -> None:
    net = _net("bridge")
    net.ipam_config = [IPAMPool(subnet="10.9.0.0/24", gateway="10.9.0.1")]
    space = ipam.AddressSpace.from_dict(None, net.ipam_config)
    local = ipam.ipam_for(net, _driver("bridge"), space)
    first, second = _ep("a"), _ep("b")
    local.assign(net, first, "", "", UndoLog())
    local.assign(net, second, "", "", UndoLog())
    assert (first.ipv4, first.gateway, second.ipv4) == ("10.9.0.2/24", "10.9.0.1", "10.9.0.3/24")
    local.release_addresses(net, [first.ipv4])
    again = _ep("c")
    local.assign(net, again, "10.9.0.2", "", UndoLog())  # free again: the preferred address is given
    assert again.ipv4 == "10.9.0.2/24"
