"""IP fragment reassembly (stack/fragments.py): whole datagrams come back byte for byte in
any arrival order, and every limit (overlaps per RFC 5722, the 30 s timeout, the memory
cap, the piece count, the 65,535-octet size, the header chain of RFC 7112 and RFC 1858,
ECN per RFC 3168 §5.3) turns a fragment into a traced drop that names it."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.stack.fragments import DATAGRAM_COST, MAX_FRAGMENTS, Reassembler
from synack.stack.host import Host
from synack.timeunits import ms, sec
from synack.trace.events import IcmpEvent, Recorder, SegmentDropped, Tracer
from synack.wire.icmp import TIME_EXCEEDED, V6_TIME_EXCEEDED, parse_icmp_packet
from synack.wire.ip import emit_packet, fragment_packet, parse_ip, parse_packet
from synack.wire.ipv4 import IPv4Header, emit_ipv4
from synack.wire.ipv6 import IPv6Header, emit_ipv6
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, PSH, SYN, TcpSegment, emit_tcp

A4, B4 = "10.0.0.1", "10.0.0.2"
A6, B6 = "fd00::1", "fd00::2"
T0 = sec(5)


def reassembler(**kw) -> tuple[Reassembler, Recorder]:
    rec = Recorder(on=True)
    return Reassembler("server", Tracer("server", rec), frozenset({B4, B6}), **kw), rec


def drops(rec: Recorder) -> list[str]:
    return [e.reason for e in rec.events if isinstance(e, SegmentDropped)]


def datagram_v4(size: int = 3000, ident: int = 0x4242, tos: int = 0) -> bytes:
    """A whole IPv4 packet carrying a TCP segment of ``size`` octets (DF clear, as a
    fragmented datagram has it), so reassembly must give back exactly these bytes."""
    body = emit_tcp(TcpSegment(40000, 80, Seq(1000), Seq(1), ACK | PSH, 65535, bytes(range(256)) * (size // 256)
                               + bytes(size % 256)), A4, B4)
    return emit_ipv4(A4, B4, 6, body, ident=ident, df=False, tos=tos)


def datagram_v6(size: int = 3000) -> bytes:
    body = emit_tcp(TcpSegment(40000, 80, Seq(1000), Seq(1), ACK | PSH, 65535, bytes(size)), A6, B6)
    return emit_ipv6(A6, B6, 6, body, ext_headers=((0, bytes(6)),))


def feed(r: Reassembler, frags: list, now: int = T0) -> list:
    """Every non-None result of adding ``frags`` in order."""
    return [w for w in (r.add(f, now) for f in frags) if w is not None]


# ------------------------------------------------------------------ whole datagrams
@pytest.mark.parametrize("make", [datagram_v4, datagram_v6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("order", ["in-order", "reversed", "last-first"])
def test_pieces_in_any_order_give_back_the_datagram_byte_for_byte(make, order):
    whole = make()
    frags = fragment_packet(whole, 600)  # IPv4 keeps the datagram's Identification
    assert len(frags) >= 5
    if order == "reversed":
        frags.reverse()
    elif order == "last-first":
        frags = frags[-1:] + frags[:-1]
    r, rec = reassembler()
    assert feed(r, frags) == [whole]
    assert parse_packet(whole)[1].payload  # a TCP segment, checksum verified over the whole
    assert r.memory == 0 and len(r) == 0 and r.deadline is None
    assert r.stats == {"reassembled": 1} and drops(rec) == []


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4000), st.integers(68, 1500), st.randoms(use_true_random=False))
def test_any_shuffle_of_any_cut_reassembles(size, mtu, rnd):
    whole = datagram_v4(size)
    frags = fragment_packet(whole, mtu)
    rnd.shuffle(frags)
    r, _ = reassembler()
    assert feed(r, frags) == [whole]  # (a datagram that fits is no fragment: it passes as it is)
    assert r.memory == 0


def test_two_datagrams_interleaved_stay_apart():
    a, b = datagram_v4(2000, ident=1), datagram_v4(2500, ident=2)
    fa, fb = fragment_packet(a, 500), fragment_packet(b, 500)
    mixed = [f for pair in zip(fa, fb, strict=False) for f in pair] + fb[len(fa):]
    r, _ = reassembler()
    assert feed(r, mixed) == [a, b]


# ------------------------------------------------------------------ overlaps (RFC 5722)
def overlapping(whole: bytes, first_len: int = 1000) -> list:
    """Two pieces: 0..first_len and one that starts 8 octets before first_len ends,
    carrying different data there (the classic TCP-header rewrite of RFC 1858 §4)."""
    hdr, body = parse_ip(whole)
    f1 = emit_ipv4(A4, B4, 6, body[:first_len], ident=hdr.ident, df=False, mf=True)
    rest = bytearray(body[first_len - 8:])
    rest[0] ^= 0xFF
    f2 = emit_ipv4(A4, B4, 6, bytes(rest), ident=hdr.ident, df=False, frag_offset=first_len - 8)
    return [f1, f2]


def test_an_overlapping_piece_discards_the_datagram_and_its_later_pieces():
    whole = datagram_v4(3000)
    r, rec = reassembler()
    assert feed(r, overlapping(whole)) == []
    # Even the right piece for the gap cannot bring it back: the datagram is gone.
    assert feed(r, fragment_packet(whole, 600)) == []
    assert drops(rec) == ["frag-overlap"] + ["frag-discarded"] * len(fragment_packet(whole, 600))
    assert len(r) == 0 and r.memory == DATAGRAM_COST  # only the memory that it was discarded
    r.on_timeout(T0 + sec(30))
    assert r.memory == 0 and r.deadline is None
    assert feed(r, fragment_packet(whole, 600), T0 + sec(30)) == [whole]  # a new datagram, later


def test_ipv6_overlap_discards_the_datagram():
    whole = datagram_v6(2000)
    frags = fragment_packet(whole, 600, ident=99)
    hdr, piece = parse_ip(frags[1])
    assert isinstance(hdr, IPv6Header)
    shifted = emit_ipv6(A6, B6, 6, piece[:64], ext_headers=hdr.ext_headers[:-1] + (
        (44, (hdr.frag_offset + 8 | 1).to_bytes(2, "big") + (99).to_bytes(4, "big")),))
    r, rec = reassembler()
    assert feed(r, [frags[0], frags[1], shifted] + frags[2:]) == []
    assert drops(rec)[0] == "frag-overlap"
    assert parse_ip(shifted)[0].frag_offset == hdr.frag_offset + 8


def test_an_exact_duplicate_is_dropped_alone():
    whole = datagram_v4(3000)
    frags = fragment_packet(whole, 600)
    r, rec = reassembler()
    assert feed(r, frags[:2] + [frags[1]] + frags[2:]) == [whole]
    assert drops(rec) == ["frag-duplicate"]


def test_a_second_last_piece_that_disagrees_discards_the_datagram():
    whole = datagram_v4(3000)
    frags = fragment_packet(whole, 600)
    hdr, piece = parse_ip(frags[-1])
    other_end = emit_ipv4(A4, B4, 6, piece + bytes(8), ident=hdr.ident, df=False, frag_offset=hdr.frag_offset)
    r, rec = reassembler()
    assert feed(r, [frags[-1], other_end] + frags) == []
    assert drops(rec)[0] in ("frag-inconsistent", "frag-overlap")


def test_a_piece_beyond_the_last_one_discards_the_datagram():
    whole = datagram_v4(3000)
    frags = fragment_packet(whole, 600)
    hdr, _ = parse_ip(frags[-1])
    beyond = emit_ipv4(A4, B4, 6, bytes(16), ident=hdr.ident, df=False, mf=True,
                       frag_offset=hdr.frag_offset + 1024)
    r, rec = reassembler()
    assert feed(r, [frags[-1], beyond]) == []
    assert drops(rec) == ["frag-inconsistent"]


# ------------------------------------------------------------------ the 30 s timeout
def test_an_incomplete_datagram_times_out_after_30_s_with_icmp_time_exceeded():
    whole = datagram_v4(3000)
    frags = fragment_packet(whole, 600)
    r, rec = reassembler()
    feed(r, frags[:-1])
    assert r.deadline == T0 + sec(30) and r.memory > 0
    assert r.on_timeout(T0 + sec(30) - 1) == [] and len(r) == 1
    [icmp] = r.on_timeout(T0 + sec(30))
    assert len(r) == 0 and r.memory == 0 and r.deadline is None
    hdr, msg = parse_icmp_packet(icmp)
    assert (hdr.src, hdr.dst, msg.type, msg.code) == (B4, A4, TIME_EXCEEDED, 1)  # RFC 792: code 1
    assert msg.orig.src_port == 40000 and msg.orig.dst_port == 80  # quotes the first piece
    assert drops(rec) == ["frag-timeout"]
    assert [e.kind for e in rec.events if isinstance(e, IcmpEvent)] == ["reassembly-timeout"]
    assert feed(r, frags[-1:], T0 + sec(31)) == []  # the last piece alone starts a new datagram


def test_without_the_first_piece_a_timeout_sends_nothing():
    frags = fragment_packet(datagram_v6(3000), 600)
    r, rec = reassembler()
    feed(r, frags[1:])
    assert r.on_timeout(T0 + sec(30)) == []
    assert drops(rec) == ["frag-timeout"]


def test_ipv6_time_exceeded_is_icmpv6():
    frags = fragment_packet(datagram_v6(3000), 600)
    r, _ = reassembler()
    feed(r, frags[:1])
    [icmp] = r.on_timeout(T0 + sec(30))
    _, msg = parse_icmp_packet(icmp)
    assert (msg.type, msg.code) == (V6_TIME_EXCEEDED, 1)


def test_a_late_piece_after_the_deadline_finds_the_datagram_gone():
    """A driver may deliver before it runs the timers: ``add`` expires first."""
    frags = fragment_packet(datagram_v4(3000), 600)
    r, rec = reassembler()
    feed(r, frags[:-1])
    assert feed(r, frags[-1:], T0 + sec(31)) == []
    assert drops(rec) == ["frag-timeout"] and len(r) == 1


# ------------------------------------------------------------------ limits
def test_memory_stays_under_the_cap_and_the_oldest_datagrams_go_first():
    r, rec = reassembler(memory_limit=64 * 1024)
    peak = 0
    for ident in range(200):  # 200 first pieces of 1 KB, never completed
        r.add(fragment_packet(datagram_v4(3000, ident=ident), 1100)[0], T0 + ident)
        peak = max(peak, r.memory)
    assert peak <= 64 * 1024
    assert 0 < drops(rec).count("frag-memory") < 200
    whole = datagram_v4(3000, ident=5000)  # a real datagram still gets through
    assert feed(r, fragment_packet(whole, 1100), T0 + ms(1)) == [whole]
    assert r.memory <= 64 * 1024


def test_a_datagram_larger_than_the_cap_is_discarded():
    r, rec = reassembler(memory_limit=4000)
    assert feed(r, fragment_packet(datagram_v4(6000), 1500)) == []
    assert "frag-memory" in drops(rec) and r.memory <= 4000


def test_tiny_pieces_count_against_the_cap_by_their_overhead():
    r, _ = reassembler(memory_limit=32 * 1024)
    whole = datagram_v4(8000)
    frags = fragment_packet(whole, 44)  # 24 octets of data each
    for f in frags[: MAX_FRAGMENTS - 1]:
        r.add(f, T0)
        assert r.memory <= 32 * 1024


def test_too_many_pieces_discard_the_datagram():
    r, rec = reassembler()
    frags = fragment_packet(datagram_v4(4000), 44)  # 168 pieces of 24 octets
    assert feed(r, frags) == []
    assert drops(rec)[0] == "frag-too-many"
    assert drops(rec).count("frag-discarded") == len(frags) - MAX_FRAGMENTS - 1


def test_a_first_piece_with_long_options_cannot_push_the_datagram_past_65535():
    r, rec = reassembler()
    opts = bytes([1] * 40)  # 40 octets of NOPs: a 60-octet header on the first piece only
    first = emit_ipv4(A4, B4, 17, bytes(65464), ident=5, df=False, mf=True, options=opts)
    last = emit_ipv4(A4, B4, 17, bytes(40), ident=5, df=False, frag_offset=65464)
    assert feed(r, [first, last]) == []
    assert drops(rec) == ["frag-too-big"] and r.memory == 0


def test_no_time_exceeded_goes_to_a_broadcast_source():
    host = Host("server", [B4], seed=1)
    frag = emit_ipv4("255.255.255.255", B4, 17, bytes(64), ident=1, df=False, mf=True)
    host.deliver(frag, 0)
    host.on_timeout(sec(30))
    assert host.take_packets() == []


def test_a_datagram_beyond_65535_octets_is_refused():
    r, rec = reassembler()
    ping_of_death = emit_ipv4(A4, B4, 1, bytes(16), ident=3, df=False, frag_offset=65528)
    assert r.add(ping_of_death, T0) is None
    assert drops(rec) == ["frag-too-big"] and r.memory == 0


@pytest.mark.parametrize("desc, frag", [
    ("a middle piece of 12 octets", emit_ipv4(A4, B4, 6, bytes(12), ident=3, df=False, mf=True, frag_offset=8)),
    ("a piece with no data", emit_ipv4(A4, B4, 6, b"", ident=3, df=False, mf=True, frag_offset=8)),
])
def test_malformed_pieces_are_dropped(desc, frag):
    r, rec = reassembler()
    assert r.add(frag, T0) is None
    assert drops(rec) == ["frag-bad-length"] and r.memory == 0


def test_a_tiny_first_tcp_piece_is_refused():
    """RFC 1858 §3.2: a first fragment too short for the TCP header hides the flags."""
    body = emit_tcp(TcpSegment(40000, 80, Seq(1), Seq(0), SYN, 65535), A4, B4)
    first = emit_ipv4(A4, B4, 6, body[:8], ident=9, df=False, mf=True)
    rest = emit_ipv4(A4, B4, 6, body[8:], ident=9, df=False, frag_offset=8)
    r, rec = reassembler()
    assert feed(r, [first, rest]) == []
    assert drops(rec) == ["frag-header-chain", "frag-discarded"]


def test_an_ipv6_first_piece_without_the_whole_header_chain_is_refused():
    """RFC 7112 §5: the first fragment holds every header up to the upper-layer one."""
    body = emit_tcp(TcpSegment(40000, 80, Seq(1), Seq(0), SYN, 65535), A6, B6)
    whole = emit_ipv6(A6, B6, 6, body, ext_headers=((60, bytes(14)), (60, bytes(30))))
    frags = fragment_packet(whole, 40 + 8 + 16)  # 16 octets of data: part of the Dest Options
    r, rec = reassembler()
    assert feed(r, frags) == []
    assert drops(rec)[0] == "frag-header-chain"


def test_fragments_for_another_host_are_not_kept():
    r, rec = reassembler()
    frag = fragment_packet(emit_packet(B4, A4, TcpSegment(1, 2, Seq(0), Seq(0), ACK, 1, bytes(2000))), 600)[0]
    assert r.add(frag, T0) is None
    assert drops(rec) == ["not-my-address"] and r.memory == 0


# ------------------------------------------------------------------ ECN (RFC 3168 §5.3)
def with_ecn(frags: list, codepoints: list) -> list:
    out = []
    for f, cp in zip(frags, codepoints, strict=True):
        hdr, piece = parse_ip(f)
        out.append(emit_ipv4(A4, B4, 6, piece, ident=hdr.ident, df=False, mf=hdr.mf, frag_offset=hdr.frag_offset,
                             tos=cp))
    return out


def test_ce_on_one_piece_marks_the_datagram_ce():
    whole = datagram_v4(1500, tos=2)
    frags = fragment_packet(whole, 600)
    r, _ = reassembler()
    [back] = feed(r, with_ecn(frags, [2, 3, 2]))
    hdr = parse_ip(back)[0]
    assert isinstance(hdr, IPv4Header) and hdr.tos & 3 == 3


def test_not_ect_mixed_with_ect_is_dropped():
    frags = fragment_packet(datagram_v4(1500), 600)
    r, rec = reassembler()
    assert feed(r, with_ecn(frags, [0, 2, 0])) == []
    assert drops(rec) == ["frag-ecn"]


def test_limits_are_checked_when_made():
    with pytest.raises(ValueError, match="memory_limit"):
        reassembler(memory_limit=10)
    with pytest.raises(ValueError, match="timeout"):
        reassembler(timeout=0)
    with pytest.raises(ValueError, match="max_fragments"):
        reassembler(max_fragments=1)


# ------------------------------------------------------------------ in a Host
def test_a_host_answers_a_fragmented_syn_and_its_deadline_covers_reassembly():
    rec = Recorder(on=True)
    host = Host("server", [B4], seed=1, recorder=rec)
    host.listen(80, 0)
    syn = emit_tcp(TcpSegment(40000, 80, Seq(7), Seq(0), SYN, 65535, bytes(100)), A4, B4)
    frags = fragment_packet(emit_ipv4(A4, B4, 6, syn, ident=13, df=False), 68)
    host.deliver(frags[0], 0)
    assert host.take_packets() == []
    assert host.next_deadline() == sec(30)  # the reassembly timeout: no connection yet
    for f in frags[1:]:
        host.deliver(f, ms(1))
    [out] = host.take_packets()
    seg = parse_packet(out)[1]
    assert seg.flags == SYN | ACK and seg.ack == Seq(8)
    assert host.fragments.stats == {"reassembled": 1}
    assert host.next_deadline() != sec(30)  # the SYN,ACK's retransmission timer now


def test_a_tiny_first_piece_of_a_syn_gets_no_answer():
    rec = Recorder(on=True)
    host = Host("server", [B4], seed=1, recorder=rec)
    host.listen(80, 0)
    syn = emit_tcp(TcpSegment(40000, 80, Seq(7), Seq(0), SYN, 65535), A4, B4)
    host.deliver(emit_ipv4(A4, B4, 6, syn[:8], ident=11, df=False, mf=True), 0)
    host.deliver(emit_ipv4(A4, B4, 6, syn[8:], ident=11, df=False, frag_offset=8), 0)
    assert host.take_packets() == []
    assert drops(rec) == ["frag-header-chain", "frag-discarded"]


def test_a_host_sends_time_exceeded_from_on_timeout():
    host = Host("server", [B4], seed=1)
    frags = fragment_packet(datagram_v4(3000), 600)
    host.deliver(frags[0], 0)
    assert host.next_deadline() == sec(30)
    host.on_timeout(sec(30))
    [icmp] = host.take_packets()
    assert parse_icmp_packet(icmp)[1].type == TIME_EXCEEDED
    assert host.next_deadline() is None


def test_a_flood_of_pieces_from_random_sources_stays_within_the_cap():
    host = Host("server", [B4], seed=1)
    rnd = random.Random(3)
    for i in range(2000):
        src = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        host.deliver(emit_ipv4(src, B4, 6, bytes(512), ident=i, df=False, mf=True, frag_offset=8), i)
    assert host.fragments.memory <= host.fragments.memory_limit
    assert host.take_packets() == []
