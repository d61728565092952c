"""Typed access to the state store: records in, records out, lookups with Docker's rules.

Lookups accept a name, a full ID or a unique ID prefix. Docker's order: exact ID, then
exact name, then ID prefix (ambiguous prefixes are an error).
"""

from __future__ import annotations

TYPE_CHECKING = False  # no `typing` at run time: design.md, "Start-up"
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

    from pynet.cnm.network_summary import NetworkSummary
    from pynet.records.model import Container, Endpoint, Network

from pynet.records.fields import RecordInvalid, document
from pynet.errors import InvalidArgument, NotFound, StateCorrupt, StateTooNew
from pynet.ids import is_full_id
from pynet.state.store import Store, Transaction

_SUMMARY = "network-summary.packed"
_SUMMARY_JSON = "network-summary"  # its JSON form, which pynet wrote before: removed on write


class Repo:
    """Records of one state directory, read through an optional open transaction.

    A record that cannot be used (unreadable JSON, wrong field types) is a StateCorrupt
    naming its file and what to do. With ``salvage`` (``rm -f``) such a record is read
    leniently instead, completed from what else the state knows (memberships), so that
    what it describes can still be torn down.
    """

    def __init__(
        self, store: Store, txn: Transaction | None = None, *, salvage: bool = False, documents: bool = False
    ) -> None:
        self.store = store
        self.txn = txn
        self.salvage = salvage
        #: read-only commands: records come as ``records.fields.document``s (same fields,
        #: same checks, no dataclass: design.md, "Start-up")
        self.documents = documents
        self.damaged: set[str] = set()  # IDs of the records read leniently (salvage only)
        self.events: list[dict[str, Any]] = []  # Docker-shaped events, logged after the commit
        self._summary: NetworkSummary | None = None  # under a transaction: read once, then as written
        #: a read-only view's networks, each read once (``ps`` of 4000 containers on 4
        #: networks read 4000 network records): documents are never changed by their reader
        self._networks: dict[str, Any] | None = {} if documents and txn is None else None

    def emit(self, event: dict[str, Any]) -> None:
        """Queue an event (``pynet.cnm.events``); the Controller logs it once committed."""
        self.events.append(event)

    # -- generic ---------------------------------------------------------------------
    def _raw(self, kind: str, obj_id: str) -> dict[str, Any] | None:
        try:
            if self.txn is not None:
                return self.txn.pending(kind, obj_id)
            return self.store.get(kind, obj_id)
        except (RecordInvalid, StateTooNew):
            raise  # a newer pynet's file: its message says what to do
        except StateCorrupt as exc:
            raise StateCorrupt(exc.message + _advice(kind, obj_id)) from None

    def _get(self, name: str, kind: str, obj_id: str) -> Any:
        """The record (class ``name`` of records.model) stored as ``kind/obj_id``, or None."""
        try:
            raw = self._raw(kind, obj_id)
            if raw is None:
                return None
            if self.documents:
                return document(name, raw)
            from pynet.records import model

            return model.from_dict(getattr(model, name), raw)
        except StateCorrupt as exc:
            if self.salvage and kind in _SALVAGED:
                return self._salvaged(name, kind, obj_id)
            if isinstance(exc, RecordInvalid):
                raise StateCorrupt(
                    f"state file {self.store.path(kind, obj_id)} is corrupt: {exc.message}{_advice(kind, obj_id)}"
                ) from None
            raise

    def _salvaged(self, name: str, kind: str, obj_id: str) -> Container | Endpoint:
        """What can still be known of a damaged record (``rm -f`` only)."""
        from pynet.records import model

        record = model.from_dict(getattr(model, name), self.store.get_lenient(kind, obj_id), lenient=True)
        record.id = obj_id
        self.damaged.add(obj_id)
        if isinstance(record, model.Container):
            if not record.endpoints:
                record.endpoints = self._memberships(obj_id)
            if not record.name:
                record.name = next((n for n, i in self._names(kind).items() if i == obj_id), "")
        elif isinstance(record, model.Endpoint):
            self._complete_endpoint(record)
        return record

    def _memberships(self, container_id: str) -> dict[str, str]:
        """``{network_id: endpoint_id}`` of a container, from the member records."""
        out = {}
        for net_id in self._ids("networks"):
            for ep_id in self._member_ids(net_id):
                member = self.store.get_lenient("members", f"{net_id}/{ep_id}")
                if member.get("container") == container_id:
                    out[net_id] = ep_id
        return out

    def _complete_endpoint(self, ep: Endpoint) -> None:
        """Network, container and addresses of a damaged endpoint, from its member record
        (so its published ports and its addresses can be released)."""
        for net_id in self._ids("networks"):
            member = self.store.get_lenient("members", f"{net_id}/{ep.id}")
            if not member:
                continue
            ep.network_id = ep.network_id or net_id
            if isinstance(member.get("container"), str):
                ep.container_id = ep.container_id or member["container"]
            for address in member.get("addresses") or []:
                if isinstance(address, str) and ":" in address:
                    ep.ipv6 = ep.ipv6 or address
                elif isinstance(address, str):
                    ep.ipv4 = ep.ipv4 or address
            return

    def _put(self, kind: str, obj_id: str, record: Any) -> None:
        assert self.txn is not None, "writes need a transaction"
        from pynet.records.model import to_dict

        self.txn.put(kind, obj_id, to_dict(record))

    def _resolve(self, kind: str, ref: str) -> str | None:
        """ID of the object ``ref`` names, or None."""
        if not ref:
            return None
        if is_full_id(ref) and self._present(kind, ref):
            return ref
        names = self._names(kind)
        if ref in names:
            return names[ref]
        if all(c in "0123456789abcdef" for c in ref):
            matches = [i for i in self._ids(kind) if i.startswith(ref)]
            if len(matches) > 1:
                noun = "network" if kind == "networks" else "container"
                raise InvalidArgument(f"{noun} {ref} is ambiguous ({len(matches)} matches found based on ID prefix)")
            if matches:
                return matches[0]
        return None

    def _present(self, kind: str, obj_id: str) -> bool:
        """Whether the record exists (not read: a damaged one is still found by its ID)."""
        if self.txn is not None:
            key = f"{kind}/{obj_id}"
            if key in self.txn.deletes:
                return False
            if key in self.txn.puts:
                return True
        return self.store.exists(kind, obj_id)

    def _names(self, kind: str) -> dict[str, str]:
        names = dict(self.store.names(kind))
        if self.txn is not None:
            for key in self.txn.deletes:
                k, obj_id = key.split("/", 1)
                if k == kind:
                    names = {n: i for n, i in names.items() if i != obj_id}
            for key, rec in self.txn.puts.items():
                k, obj_id = key.split("/", 1)
                if k == kind:
                    names = {n: i for n, i in names.items() if i != obj_id}
                    names[rec["name"]] = obj_id
        return names

    def _ids(self, kind: str) -> list[str]:
        ids = set(self.store.ids(kind))
        if self.txn is not None:
            for key in self.txn.deletes:
                k, obj_id = key.split("/", 1)
                if k == kind:
                    ids.discard(obj_id)
            for key in self.txn.puts:
                k, obj_id = key.split("/", 1)
                if k == kind:
                    ids.add(obj_id)
        return sorted(ids)

    # -- networks --------------------------------------------------------------------
    def network(self, obj_id: str) -> Network | None:
        if self._networks is None:
            return self._get("Network", "networks", obj_id)
        if obj_id not in self._networks:
            self._networks[obj_id] = self._get("Network", "networks", obj_id)
        return self._networks[obj_id]

    def find_network(self, ref: str) -> Network | None:
        obj_id = self._resolve("networks", ref)
        return self.network(obj_id) if obj_id else None

    def networks(self) -> list[Network]:
        out = [self.network(i) for i in self._ids("networks")]
        return [n for n in out if n is not None]

    def network_names(self) -> dict[str, str]:
        return self._names("networks")

    def put_network(self, net: Network) -> None:
        self._put("networks", net.id, net)
        self._put_summary(self.network_summary().with_network(net))

    def delete_network(self, obj_id: str) -> None:
        assert self.txn is not None
        self.txn.delete("networks", obj_id)
        self.txn.delete("ipam", obj_id)
        for ep_id in self._member_ids(obj_id):  # none when removed normally: Forbidden first
            self.txn.delete("members", f"{obj_id}/{ep_id}")
        self._put_summary(self.network_summary().without(obj_id))

    def network_summary(self) -> NetworkSummary:
        """Every network's ID, bridge and subnets (``cnm/network_summary.py``) from one
        derived file, so checks across all networks (subnet overlap, bridge names) read
        one file, not one per network. Under a transaction it is read once per command."""
        if self.txn is None:
            return self._read_summary()
        if self._summary is None:
            self._summary = self._read_summary()
        return self._summary

    def _read_summary(self) -> NetworkSummary:
        from pynet.cnm.network_summary import NetworkSummary

        summary = NetworkSummary.unpacked(self.store.get_packed("meta", _SUMMARY))
        # derived data: a missing or damaged file is rebuilt from the network records
        return summary if summary is not None else NetworkSummary.of(self.networks())

    def _put_summary(self, summary: NetworkSummary) -> None:
        assert self.txn is not None
        self._summary = summary
        # Derived data: written with the commit, not copied into its journal (store.py).
        self.txn.put_packed("meta", _SUMMARY, summary.packed())
        self.txn.drop_derived("meta", _SUMMARY_JSON)

    # -- IPAM and membership of one network --------------------------------------------
    # ipam/<net>.json holds the allocator (compact runs) and the member count; one small
    # members/<net>/<endpoint>.json per endpoint holds who it is and what it got. So `run`
    # and `rm` read and write a few hundred bytes however full the network is.
    def ipam_head(self, network_id: str) -> dict[str, Any]:
        """``{"space": <AddressSpace compact dict or None>, "count": members}`` in one read."""
        raw = self._raw("ipam", network_id)
        if raw is None:
            return {"space": None, "count": 0}
        _check_ipam(raw, self.store.file("ipam", f"{network_id}.json"))
        if "endpoints" in raw:  # written by an older pynet: one file with every member
            return self._upgrade_ipam(network_id, raw)
        return raw

    def _upgrade_ipam(self, network_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        """An old single-file IPAM state as head + members (stored when writing)."""
        members = self._v1_members(raw)
        head = {"space": raw.get("space"), "count": len(members)}
        if self.txn is not None:
            for ep_id, member in members.items():
                self.txn.put("members", f"{network_id}/{ep_id}", member)
            self.txn.put("ipam", network_id, head)
        return head

    @staticmethod
    def _v1_members(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
        owned: dict[str, list[str]] = {}
        for entry in ((raw.get("space") or {}).get("pools") or {}).values():
            for addr, owner in (entry.get("allocated") or {}).items():
                owned.setdefault(owner, []).append(addr)
        return {
            ep: {"container": cid, "addresses": owned.get(ep, [])} for ep, cid in (raw.get("endpoints") or {}).items()
        }

    def ipam_space(self, network_id: str) -> dict[str, Any] | None:
        """The network's ``AddressSpace`` state (None: nothing allocated yet)."""
        return self.ipam_head(network_id).get("space")

    def member_count(self, network_id: str) -> int:
        """How many endpoints the network has (one small read, whatever the size)."""
        return int(self.ipam_head(network_id).get("count") or 0)

    def init_ipam(self, network_id: str) -> None:
        """A new network: nothing allocated, no members."""
        assert self.txn is not None
        self.txn.put("ipam", network_id, {"space": None, "count": 0})

    def put_ipam_space(self, network_id: str, space: dict[str, Any] | None, count: int) -> None:
        assert self.txn is not None
        self.txn.put("ipam", network_id, {"space": space, "count": count})

    def member(self, network_id: str, endpoint_id: str) -> dict[str, Any] | None:
        """``{"container": id, "addresses": [...]}`` of one endpoint of the network."""
        raw = self._raw("ipam", network_id)
        if raw is not None and "endpoints" in raw:  # an old single file
            if self.txn is None:
                return self._v1_members(raw).get(endpoint_id)
            self._upgrade_ipam(network_id, raw)  # its members become pending records
        key = f"{network_id}/{endpoint_id}"
        try:
            member = self._raw("members", key)
        except StateCorrupt:
            if not self.salvage:
                raise
            member = self.store.get_lenient("members", key)  # rm -f: release what it still says
        if member is not None and not _is_member(member):
            if not self.salvage:
                raise StateCorrupt(
                    f"state file {self.store.path('members', key)} is corrupt: "
                    "unexpected types in the member record" + _advice("members", key)
                )
            member = {"container": "", "addresses": []}
        return member

    def members(self, network_id: str) -> dict[str, str]:
        """``{endpoint_id: container_id}`` of every member (reads one file per member)."""
        raw = self._raw("ipam", network_id)
        if raw is not None and "endpoints" in raw:
            return dict(raw["endpoints"])
        out = {}
        for ep_id in self._member_ids(network_id):
            rec = self._raw("members", f"{network_id}/{ep_id}")
            if rec is not None:
                out[ep_id] = str(rec.get("container", ""))
        return out

    def _member_ids(self, network_id: str) -> list[str]:
        ids = set(self.store.ids(f"members/{network_id}"))
        if self.txn is not None:
            prefix = f"members/{network_id}/"
            ids -= {k[len(prefix) :] for k in self.txn.deletes if k.startswith(prefix)}
            ids |= {k[len(prefix) :] for k in self.txn.puts if k.startswith(prefix)}
        return sorted(ids)

    def put_member(self, network_id: str, endpoint_id: str, container_id: str, addresses: list[str]) -> None:
        assert self.txn is not None
        self.txn.put("members", f"{network_id}/{endpoint_id}", {"container": container_id, "addresses": addresses})

    def delete_member(self, network_id: str, endpoint_id: str) -> None:
        assert self.txn is not None
        self.txn.delete("members", f"{network_id}/{endpoint_id}")

    # -- endpoints -------------------------------------------------------------------
    def endpoint(self, obj_id: str) -> Endpoint | None:
        return self._get("Endpoint", "endpoints", obj_id)

    def put_endpoint(self, ep: Endpoint) -> None:
        self._put("endpoints", ep.id, ep)

    def delete_endpoint(self, obj_id: str) -> None:
        assert self.txn is not None
        self.txn.delete("endpoints", obj_id)

    def network_endpoints(self, network_id: str) -> list[Endpoint]:
        out = [self.endpoint(i) for i in self.members(network_id)]
        return [e for e in out if e is not None]

    # -- containers ------------------------------------------------------------------
    def container(self, obj_id: str) -> Container | None:
        return self._get("Container", "containers", obj_id)

    def find_container(self, ref: str) -> Container | None:
        obj_id = self._resolve("containers", ref.lstrip("/"))
        return self.container(obj_id) if obj_id else None

    def get_container(self, ref: str) -> Container:
        found = self.find_container(ref)
        if found is None:
            raise NotFound(f"No such container: {ref}")
        return found

    def containers(self) -> list[Container]:
        out = [self.container(i) for i in self._ids("containers")]
        return [c for c in out if c is not None]

    def container_names(self) -> dict[str, str]:
        return self._names("containers")

    def put_container(self, c: Container) -> None:
        self._put("containers", c.id, c)

    def delete_container(self, obj_id: str) -> None:
        assert self.txn is not None
        self.txn.delete("containers", obj_id)


_SALVAGED = ("containers", "endpoints")


def _advice(kind: str, obj_id: str) -> str:
    """What the user can do about a corrupt record (the second half of its one line)."""
    if kind == "containers":
        return f"; remove the container with `pynet rm -f {obj_id}`"
    if kind == "endpoints":
        return "; remove its container with `pynet rm -f CONTAINER`"
    return "; restore the file from a backup, or delete it to make pynet forget the object"


def _is_member(data: Any) -> bool:
    addresses = data.get("addresses", [])
    return (
        isinstance(data.get("container", ""), str)
        and isinstance(addresses, list)
        and all(isinstance(a, str) for a in addresses)
    )


def _check_ipam(raw: dict[str, Any], path: Any) -> None:
    """The allocator file's outer shape (its inside is the IPAM's to check)."""
    space, count = raw.get("space"), raw.get("count", 0)
    ok = (space is None or isinstance(space, dict)) and isinstance(count, int) and not isinstance(count, bool)
    if "endpoints" in raw:
        ok = ok and isinstance(raw["endpoints"], dict)
    if not ok:
        raise StateCorrupt(
            f"state file {path} is corrupt: unexpected types in the address allocator" + _advice("ipam", "")
        )
