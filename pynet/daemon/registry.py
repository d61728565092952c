"""pynet's state, as the DNS server needs it: name tables per network, views per sandbox.

Reads the state store WITHOUT its lock (files are replaced atomically, and the CLI holds
the exclusive lock while it asks us to sync, so taking it would deadlock). A sync of some
containers re-reads only those containers, their endpoints and networks, and rebuilds
only the tables of the networks they left or joined.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any

from pynet.dns import upstreams
from pynet.dns.names import HeldNames, Member, NetworkTable, View, member_from_records
from pynet.state.store import Store

log = logging.getLogger("pynetd")

LIVE = ("created", "running")


@dataclass(frozen=True)
class SandboxPlan:
    """How one container's sandbox is served."""

    container_id: str
    netns_path: str
    view_key: tuple[str, ...]  # its DNS networks, in attach order
    can_forward: bool  # False when every network is internal
    own_dns: tuple[str, ...]  # the container's --dns servers ("" -> host's)


def dns_enabled(network: dict[str, Any]) -> bool:
    """User-defined networks have embedded DNS; bridge/host/none (built-ins) do not."""
    return not network.get("builtin") and _driver_serves_dns(network)


def _driver_serves_dns(network: dict[str, Any]) -> bool:
    """The network's driver gives its containers embedded DNS (the core records it)."""
    return network.get("embedded_dns", True) is not False


LINK = "link:"


def _link_keys(record: dict[str, Any], members: dict[str, Member]) -> tuple[str, ...]:
    """A container's legacy links (``Links: ["target:alias"]`` asked for on its DNS
    networks) as view-key entries ``link:alias=target``: a view with links is its own."""
    keys = set()
    for entry in record.get("requested_networks") or []:
        if not isinstance(entry, dict) or entry.get("network_id") not in members:
            continue
        for link in entry.get("links") or []:
            if isinstance(link, str) and link:
                target, _, alias = link.partition(":")
                keys.add(f"{LINK}{(alias or target).lower()}={target.lstrip('/').lower()}")
    return tuple(sorted(keys))


def _links(key: tuple[str, ...]) -> dict[str, str]:
    return dict(k[len(LINK) :].split("=", 1) for k in key if k.startswith(LINK))


class Registry:
    """Name tables, views and sandbox plans, kept in step with the state store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.host_upstreams: tuple[str, ...] = ()
        self._remote: dict[str, dict[str, Member]] = {}  # network -> members on other hosts
        self._reset()

    def _reset(self) -> None:
        self.plans: dict[str, SandboxPlan] = {}
        self.views: dict[tuple[str, ...], View] = {}
        self.held = HeldNames()
        self._members: dict[str, dict[str, Member]] = {}  # network -> container -> member
        self._joined: dict[str, tuple[str, ...]] = {}  # container -> its DNS networks
        self._networks: dict[str, dict[str, Any]] = {}  # network records seen
        self._tables: dict[str, NetworkTable] = {}
        self._view_users: dict[tuple[str, ...], set[str]] = {}
        self._views_of: dict[str, set[tuple[str, ...]]] = {}  # network -> view keys using it

    # -- reading state ---------------------------------------------------------------
    def reload_host_upstreams(self) -> None:
        """Re-read the host resolv.conf."""
        found = upstreams.read_host_nameservers()
        self.host_upstreams = upstreams.select(found, drop_loopback=True)

    def upstreams_for(self, plan: SandboxPlan) -> tuple[str, ...]:
        return plan.own_dns or self.host_upstreams

    def _get(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        try:
            return self.store.get(kind, obj_id)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the rest
            log.warning("cannot read %s/%s: %s", kind, obj_id, exc)
            return None

    def _load(self, cid: str) -> tuple[SandboxPlan | None, dict[str, Member]]:
        record = self._get("containers", cid)
        if record is None or record.get("status") not in LIVE:
            return None, {}
        netns_path = record.get("netns_path") or ""
        if not netns_path or not os.path.exists(netns_path):
            return None, {}
        members: dict[str, Member] = {}
        can_forward = False
        for nid, eid in (record.get("endpoints") or {}).items():
            network = self._get("networks", nid)
            endpoint = self._get("endpoints", eid)
            if network is None or endpoint is None:
                continue
            self._networks[nid] = network
            if _driver_serves_dns(network) and not network.get("internal"):
                can_forward = True
            if dns_enabled(network):
                members[nid] = member_from_records(record, endpoint)
        if not members:
            return None, {}
        own = upstreams.select(list(record.get("dns") or []), drop_loopback=False)
        plan = SandboxPlan(cid, netns_path, tuple(members) + _link_keys(record, members), can_forward, own)
        return plan, members

    # -- updates ---------------------------------------------------------------------
    def sync(self, container_ids: list[str]) -> None:
        """Re-read these containers and rebuild what their change touches."""
        affected: set[str] = set()
        touched: set[tuple[str, ...]] = set()
        removed: dict[str, list[Member]] = {}
        added: dict[str, list[Member]] = {}
        for cid in dict.fromkeys(container_ids):
            for nid in self._joined.pop(cid, ()):
                gone = self._members.get(nid, {}).pop(cid, None)
                if gone is not None:
                    removed.setdefault(nid, []).append(gone)
                affected.add(nid)
            old_plan = self.plans.pop(cid, None)
            if old_plan is not None:
                self._view_users.get(old_plan.view_key, set()).discard(cid)
                touched.add(old_plan.view_key)
            plan, members = self._load(cid)
            for nid, member in members.items():
                self._members.setdefault(nid, {})[cid] = member
                added.setdefault(nid, []).append(member)
                affected.add(nid)
            if members:
                self._joined[cid] = tuple(members)
            if plan is not None:
                self.plans[cid] = plan
                self._view_users.setdefault(plan.view_key, set()).add(cid)
                touched.add(plan.view_key)
        for nid in affected:
            self._update_table(nid, removed.get(nid, []), added.get(nid, []))
        self._rebuild_views(affected, touched)

    def _update_table(self, nid: str, removed: list[Member], added: list[Member]) -> None:
        """Apply one sync's changes to a network's table: O(changed members), not O(network)."""
        old = self._tables.get(nid)
        if old is None or not self._members.get(nid) or len(removed) + len(added) > 64:
            self._rebuild_table(nid)
            return
        new, left, joined = old.changed(removed, added)
        self._tables[nid] = new
        self.held.update(left, joined)

    def resync(self) -> None:
        """Forget everything and rebuild from the whole state."""
        self._reset()
        self.reload_host_upstreams()
        self.sync(self.store.ids("containers"))

    def set_remote(self, nid: str, members: dict[str, Member]) -> None:
        """Members of overlay network ``nid`` on other hosts (from etcd): names across hosts."""
        if members:
            self._remote[nid] = dict(members)
        elif self._remote.pop(nid, None) is None:
            return
        if nid in self._members:
            self._rebuild_table(nid)
            self._rebuild_views({nid}, set())

    def _rebuild_table(self, nid: str) -> None:
        old = self._tables.pop(nid, None)
        members = self._members.get(nid)
        new = None
        if members:
            network = self._get("networks", nid) or self._networks.get(nid) or {}
            new = NetworkTable(nid, network.get("name", nid), [*members.values(), *self._remote.get(nid, {}).values()])
            self._tables[nid] = new
        else:
            self._members.pop(nid, None)
            self._networks.pop(nid, None)
        self.held.update(old.names() if old else (), new.names() if new else ())

    def _rebuild_views(self, affected: set[str], touched: set[tuple[str, ...]]) -> None:
        keys = set(touched)
        for nid in affected:
            keys |= self._views_of.get(nid, set())
        for key in keys:
            if self._view_users.get(key):
                self.views[key] = View([self._tables[n] for n in key if n in self._tables], _links(key))
                for nid in key:
                    self._views_of.setdefault(nid, set()).add(key)
                continue
            self._view_users.pop(key, None)
            self.views.pop(key, None)
            for nid in key:
                users = self._views_of.get(nid)
                if users is not None:
                    users.discard(key)
                    if not users:
                        del self._views_of[nid]
