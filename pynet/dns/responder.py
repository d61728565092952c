"""Turn one query into a local response or a decision to forward it.

This is the slow path: the daemon's UDP loop first looks the raw query (minus its ID) up
in the view's caches, and only calls ``handle`` on a miss. ``handle`` fills those caches
for every locally answered UDP query, so the next identical query never gets here.

Never raises on input: malformed packets get FORMERR, or are dropped when not even a
header can be read (or when they are responses, to avoid loops).
"""

from __future__ import annotations

import logging
from collections.abc import Container
from dataclasses import dataclass

from pynet.dns import wire
from pynet.dns.names import MAX_ROTATIONS, Answer, View


@dataclass(slots=True)
class Outcome:
    """What to do with a query: send ``response``, or forward ``query``; neither = drop."""

    response: bytes | None = None
    query: wire.Query | None = None


DROP = Outcome()
log = logging.getLogger("pynetd")


def handle(
    view: View, data: bytes, *, tcp: bool = False, can_forward: bool = True, held: Container[str] = frozenset()
) -> Outcome:
    """Answer ``data`` from ``view``; see the module docstring."""
    try:
        return _handle(view, data, tcp, can_forward, held)
    except Exception:  # noqa: BLE001 - the server must survive any input; a bug is logged
        log.exception("cannot answer a query; answering SERVFAIL")
        response = _safe_error(data, wire.SERVFAIL)
        return Outcome(response=response) if response else DROP


def _safe_error(data: bytes, rcode: int) -> bytes | None:
    try:
        return wire.error_response(data, rcode)
    except Exception:  # noqa: BLE001 - not even a header to answer: drop (the caller logged)
        return None


def _handle(view: View, data: bytes, tcp: bool, can_forward: bool, held: Container[str]) -> Outcome:
    if len(data) < 12 or data[2] & 0x80:
        return DROP  # no header, or a response (QR set)
    try:
        query = wire.parse_query(data)
    except wire.FormatError:
        response = wire.error_response(data, wire.FORMERR)
        return Outcome(response=response) if response else DROP
    if query.opcode != 0:
        return Outcome(response=wire.build_response(query, wire.NOTIMP))
    if query.edns is not None and query.edns.version != 0:
        return Outcome(response=wire.build_response(query, wire.BADVERS))
    answer = view.lookup(query.qname, query.qtype) if query.qclass == wire.CLASS_IN else None
    if answer is None:
        if "." not in query.qname and query.qname in held:
            # A container name on a network this sandbox does not share.
            return Outcome(response=wire.build_response(query, wire.NXDOMAIN))
        if can_forward:
            if not tcp and "." in query.qname:
                view.remember_forward(data[2:], query)
            return Outcome(query=query)
        # Internal networks only: nothing leaves, like Docker's resolver without proxyDNS.
        return Outcome(response=wire.build_response(query, wire.SERVFAIL))
    return Outcome(response=_local(view, data, query, answer, tcp))


def _local(view: View, data: bytes, query: wire.Query, answer: Answer, tcp: bool) -> bytes:
    limit = None if tcp else query.udp_limit()
    records = answer.records
    if not answer.rotate:
        response = wire.build_response(query, answer.rcode, records, limit=limit)
        if not tcp:
            view.remember(data[2:], [response[2:]])
        return response
    count = len(records)
    turn = view.next_turn(query.qname, query.qtype, count)
    if not tcp and count <= MAX_ROTATIONS:
        rotations = [
            wire.build_response(query, answer.rcode, records[i:] + records[:i], limit=limit)[2:] for i in range(count)
        ]
        # The cached cycle starts after the one we send now.
        view.remember(data[2:], rotations[turn + 1 :] + rotations[: turn + 1])
        return data[:2] + rotations[turn]
    rotated = records[turn:] + records[:turn]
    return wire.build_response(query, answer.rcode, rotated, limit=limit)
