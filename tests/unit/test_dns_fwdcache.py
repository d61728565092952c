"""Upstream answers kept for their TTL (``pynet.dns.fwdcache``): what is kept, for how long,
and TTLs counted down by the seconds held, never served past expiry."""

from __future__ import annotations

import random
import struct

import pytest

from pynet.dns import fwdcache, wire
from pynet.dns.fwdcache import ForwardCache

pytestmark = pytest.mark.unit

QUERY = wire.build_query("www.example.test", wire.TYPE_A, qid=7, opt=wire.opt_for_query(1232))
KEY = QUERY[2:]


def upstream(rcode: int = wire.NOERROR, answers=(), authority=(), *, flags: int = 0) -> bytes:
    """A complete upstream response to QUERY (ID 0x5555), with an OPT record."""
    q = wire.parse_query(QUERY)
    question, opt = q.question, wire.opt_record(q.edns, rcode)
    header = wire.HEADER.pack(0x5555, wire.response_flags(q.flags, rcode) | flags, 1, len(answers), len(authority), 1)
    return b"".join((header, question, *answers, *authority, opt))


def soa(ttl: int, minimum: int) -> bytes:
    rdata = wire.encode_name("ns.example.test") + wire.encode_name("admin.example.test")
    rdata += struct.pack(">IIIII", 1, 3600, 600, 86400, minimum)
    return wire.encode_name("example.test") + struct.pack(">HHIH", fwdcache.TYPE_SOA, 1, ttl, len(rdata)) + rdata


def ttls(message: bytes) -> list[int]:
    """The TTL of every record but OPT."""
    found = fwdcache.layout(message)
    assert found is not None
    return [struct.unpack_from(">I", message, at)[0] for at, _ in found[0]]


def test_a_positive_answer_lives_as_long_as_its_shortest_ttl_and_opt_is_not_a_ttl():
    message = upstream(answers=[wire.rr_a("192.0.2.1", 300), wire.rr_a("192.0.2.2", 60)])
    found = fwdcache.layout(message)
    assert found is not None and found[1] == 60
    assert [ttl for _, ttl in found[0]] == [300, 60]  # two A records; the OPT's flags untouched


@pytest.mark.parametrize(
    "message",
    [
        upstream(answers=[wire.rr_a("192.0.2.1", 0)]),  # TTL 0: use once
        upstream(answers=[wire.rr_a("192.0.2.1", 1 << 31)]),  # RFC 2181: treat as 0
        upstream(answers=[wire.rr_a("192.0.2.1", 60)], flags=wire.TC),  # truncated
        upstream(wire.SERVFAIL),
        upstream(wire.REFUSED),
        upstream(wire.NXDOMAIN),  # negative without an SOA: no lifetime
        upstream(wire.NOERROR),  # NODATA without an SOA
        upstream(answers=[wire.rr_a("192.0.2.1", 60)])[:-5],  # cut short
    ],
)
def test_answers_that_say_nothing_about_their_lifetime_are_not_kept(message):
    assert fwdcache.layout(message) is None
    cache = ForwardCache()
    cache.store(KEY, message, 100.0)
    assert cache.refresh(KEY, 100.5) is None and not cache.hot and not cache.entries


def test_a_negative_answer_lives_for_the_soas_ttl_or_minimum_whichever_is_less():
    assert fwdcache.layout(upstream(wire.NXDOMAIN, authority=[soa(900, 30)]))[1] == 30
    assert fwdcache.layout(upstream(wire.NOERROR, authority=[soa(20, 300)]))[1] == 20


def test_ttls_count_down_by_the_whole_seconds_held_and_the_answer_expires_with_the_shortest():
    message = upstream(answers=[wire.rr_a("192.0.2.1", 300), wire.rr_a("192.0.2.2", 3)])
    cache = ForwardCache()
    cache.store(KEY, message, 100.0)
    assert KEY not in cache.hot  # walked and served from its first reuse on
    assert cache.refresh(KEY, 100.4) == message[2:] and cache.hot[KEY] == (101.0, message[2:])
    later = cache.refresh(KEY, 101.7)
    assert later is not None and ttls(b"\0\0" + later) == [299, 2]
    assert cache.hot[KEY] == (102.0, later)  # exact until the next whole second
    assert ttls(b"\0\0" + cache.refresh(KEY, 102.0)) == [298, 1]
    assert cache.refresh(KEY, 103.0) is None  # the 3 s record is gone: so is the answer
    assert KEY not in cache.hot and KEY not in cache.entries


def test_a_full_cache_starts_again_and_long_queries_are_not_kept(monkeypatch):
    monkeypatch.setattr(fwdcache, "MAX_ENTRIES", 2)
    message = upstream(answers=[wire.rr_a("192.0.2.1", 60)])
    cache = ForwardCache()
    for key in (b"a", b"b", b"c"):
        cache.store(key, message, 0.0)
        cache.refresh(key, 0.0)
    assert set(cache.hot) == set(cache.entries) == {b"c"}
    cache.store(b"x" * 301, message, 0.0)
    assert b"x" * 301 not in cache.entries


def test_an_answer_in_use_is_renewed_once_in_its_last_tenth_or_last_second():
    cache = ForwardCache()
    cache.store(KEY, upstream(answers=[wire.rr_a("192.0.2.1", 60)]), 100.0)
    assert cache.refresh(KEY, 153.9) is not None  # renewal is asked after a reuse
    assert not cache.renew_now(KEY, 153.9)  # 6.1 s left
    assert cache.renew_now(KEY, 154.0) and not cache.renew_now(KEY, 155.0)  # once
    cache.store(KEY, upstream(answers=[wire.rr_a("192.0.2.1", 60)]), 155.0)  # the renewal's answer
    assert cache.refresh(KEY, 160.5) is not None and ttls(b"\0\0" + cache.refresh(KEY, 160.5)) == [55]
    cache.store(KEY, upstream(answers=[wire.rr_a("192.0.2.1", 2)]), 200.0)
    assert KEY not in cache.hot and cache.refresh(KEY, 200.9) is not None  # the renewed one, anew
    assert not cache.renew_now(KEY, 200.9) and cache.renew_now(KEY, 201.0)  # short TTLs: the last second
    assert not cache.renew_now(b"unknown", 0.0)


def test_mutated_upstream_answers_never_raise_and_what_is_kept_counts_down():
    from test_dns_fuzz import mutate  # the fuzzer's own mutations

    rng = random.Random(1515)
    good = [
        upstream(answers=[wire.rr_a("192.0.2.1", 300), wire.rr_a("192.0.2.2", 60)]),
        upstream(wire.NXDOMAIN, authority=[soa(900, 30)]),
    ]
    cache, kept = ForwardCache(), 0
    for i in range(2000):
        message = mutate(rng, rng.choice(good))
        key = b"k%d" % i
        cache.store(key, message, 0.0)
        later = cache.refresh(key, 5.5)
        if later is not None:  # kept: every TTL is 5 less than received
            found = fwdcache.layout(message)
            assert found is not None and found[1] > 5
            assert ttls(b"\0\0" + later) == [ttl - 5 for _, ttl in found[0]]
            kept += 1
    assert 0 < kept < 2000  # some mutations stay well-formed and are kept, most are not
