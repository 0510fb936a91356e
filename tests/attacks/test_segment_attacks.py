"""Attacks on an established connection, against synack's echo server (``echo_server.py``) on a TUN
device: blind resets and SYNs (RFC 5961), old data, impossible ACKs, overlapping data,
bad checksums, closed and tiny windows, out-of-order and duplicate-ACK floods, garbage
SACK blocks. The attacker owns its connection (it did the handshake from a raw socket);
each test checks what synack put on the wire and that a bystander kept working."""

from __future__ import annotations

from typing import Any

import pytest
from attack_helpers import KERNEL, RawPeer, scapy

M32 = 0xFFFFFFFF


def opened(arena, **kw) -> RawPeer:
    peer = RawPeer(arena)
    peer.connect(**kw)
    assert peer.echo(b"hello") == b"hello"
    return peer


def sack_blocks(seen) -> list[tuple[int, int]]:
    for name, val in seen.tcp.options:
        if name == "SAck":
            return list(zip(val[::2], val[1::2], strict=True))
    return []


# ------------------------------------------------------------------ RFC 5961: blind RST and SYN
def test_an_in_window_rst_gets_a_challenge_ack_and_the_connection_lives(arena, bystander):
    peer = opened(arena)
    m = arena.mark()
    arena.send(peer.seg("R", seq=peer.snd_nxt + 1000, ack=0))
    got = arena.from_synack(m, port=peer.sport, wait=0.3)
    assert [s.flags for s in got] == ["A"], got  # RFC 5961 §3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    assert (got[0].tcp.seq, got[0].tcp.ack) == (peer.rcv_nxt, peer.snd_nxt)
    assert peer.echo(b"still here") == b"still here"
    peer.close()


def test_an_rst_exactly_at_rcv_nxt_resets(arena, bystander):
    peer = opened(arena)
    arena.send(peer.seg("R", ack=0))
    m = arena.mark()
    peer.send(b"anyone?")
    got = arena.from_synack(m, port=peer.sport, wait=0.3, until=lambda g: bool(g))
    assert got and "R" in got[0].flags  # the connection is gone: RFC 9293 §3.10.7.1


def test_an_in_window_syn_gets_a_challenge_ack_and_the_connection_lives(arena, bystander):
    peer = opened(arena)
    m = arena.mark()
    arena.send(peer.seg("S", seq=peer.snd_nxt + 10, ack=0, options=[("MSS", 1460)]))
    got = arena.from_synack(m, port=peer.sport, wait=0.3)
    assert [s.flags for s in got] == ["A"], got  # RFC 5961 §4.2
    assert got[0].tcp.ack == peer.snd_nxt
    assert peer.echo(b"still here") == b"still here"
    peer.close()


# ------------------------------------------------------------------ old data and impossible ACKs
def test_old_data_is_acknowledged_and_not_delivered_again(arena, bystander):
    peer = opened(arena)
    m = arena.mark()
    arena.send(peer.seg("PA", b"hello", seq=peer.snd_nxt - 5))  # the first request, again
    got = arena.from_synack(m, port=peer.sport, wait=0.3)
    assert got and all(not s.payload for s in got), got
    assert got[0].tcp.ack == peer.snd_nxt
    assert sack_blocks(got[0]) == [((peer.snd_nxt - 5) & M32, peer.snd_nxt)]  # RFC 2883 D-SACK
    assert peer.echo(b"next") == b"next"
    peer.close()


def test_data_acking_far_below_snd_una_is_challenged_not_accepted(arena, bystander):
    """RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND draws a challenge ACK; the data
    is not accepted."""
    peer = opened(arena)
    m = arena.mark()
    arena.send(peer.seg("PA", b"evil", ack=peer.rcv_nxt - (1 << 30)))
    got = arena.from_synack(m, port=peer.sport, wait=0.3)
    assert [s.flags for s in got] == ["A"] and got[0].tcp.ack == peer.snd_nxt, got
    assert peer.echo(b"good") == b"good"  # the same sequence numbers, a sane ACK
    peer.close()


def test_data_acking_beyond_snd_nxt_is_answered_with_an_ack_and_dropped(arena, bystander):
    """RFC 9293 §3.10.7.4: an ACK of something not yet sent: send an ACK, drop the segment."""
    peer = opened(arena)
    m = arena.mark()
    arena.send(peer.seg("PA", b"evil", ack=peer.rcv_nxt + 100_000))
    got = arena.from_synack(m, port=peer.sport, wait=0.3)
    assert [s.flags for s in got] == ["A"] and got[0].tcp.ack == peer.snd_nxt, got
    assert peer.echo(b"good") == b"good"
    peer.close()


OUT_OF_WINDOW = {
    "old-data": lambda p: p.raw("PA", b"hello", seq=p.snd_nxt - 5),
    "ack-below-snd-una": lambda p: p.raw("PA", b"evil", ack=p.rcv_nxt - (1 << 30)),
    "ack-beyond-snd-nxt": lambda p: p.raw("PA", b"evil", ack=p.rcv_nxt + 100_000),
}


@pytest.mark.parametrize("kind", list(OUT_OF_WINDOW))
def test_a_flood_of_out_of_window_segments_draws_few_acks(arena, bystander, kind):
    peer = opened(arena)
    pkt = OUT_OF_WINDOW[kind](peer)
    m = arena.mark()
    arena.flood([pkt] * 100, arena.count_from_synack(m, peer.sport))
    got = arena.from_synack(m, port=peer.sport, wait=0.5)
    peer.close()
    assert len(got) <= 2, f"{len(got)} ACKs for 100 segments in half a second"


# ------------------------------------------------------------------ overlapping data
def test_overlapping_retransmission_with_different_data_delivers_only_the_new_octets(arena, bystander):
    peer = opened(arena)
    m = arena.mark()
    peer.send(b"abcde")
    assert peer.read(m, 5) == b"abcde"
    # the same five octets again, changed, and five new ones after them
    m = arena.mark()
    arena.send(peer.seg("PA", b"VWXYZfghij", seq=peer.snd_nxt - 5))
    peer.snd_nxt = (peer.snd_nxt + 5) & M32
    assert peer.read(m, 5) == b"fghij"
    peer.close()


def test_overlapping_out_of_order_pieces_give_one_consistent_stream(arena, bystander):
    peer = opened(arena)
    base = peer.snd_nxt
    m = arena.mark()
    arena.send(peer.seg("PA", b"A" * 10, seq=base + 5))    # octets 5..15
    arena.send(peer.seg("PA", b"B" * 20, seq=base + 10))   # octets 10..30, overlapping 10..15
    arena.send(peer.seg("PA", b"01234", seq=base))         # the hole
    peer.snd_nxt = (base + 30) & M32
    back = peer.read(m, 30)
    assert back[:10] == b"01234AAAAA" and back[15:] == b"B" * 15
    assert set(back[10:15]) <= {ord("A"), ord("B")}
    assert peer.echo(b"more") == b"more"
    peer.close()


# ------------------------------------------------------------------ bad checksums
def test_a_segment_with_a_bad_checksum_is_ignored(arena, bystander):
    _, TCP, raw = scapy()
    peer = opened(arena)
    good = peer.seg("PA", b"check")
    correct = TCP(raw(good)[20:]).chksum
    bad = peer.seg("PA", b"check")
    bad[TCP].chksum = correct ^ 0x0101
    m = arena.mark()
    arena.send(bad)
    assert arena.from_synack(m, port=peer.sport, wait=0.3) == []  # RFC 9293 §3.1 MUST-3: dropped
    assert peer.echo(b"check") == b"check"
    peer.close()


# ------------------------------------------------------------------ windows
def test_a_zero_window_with_a_silent_peer_gets_backed_off_probes_without_data(arena, bystander):
    peer = RawPeer(arena)
    peer.connect(window=0)
    m = arena.mark()
    peer.send(b"x" * 100, window=0)
    got = arena.from_synack(m, port=peer.sport, wait=2.0)
    probes = [s for s in got if not s.payload or len(s.payload) <= 1]
    assert got == probes, "synack sent data into a closed window"
    assert 1 <= len(probes) <= 4, f"{len(probes)} probes in 2 s"
    gaps = [b.t - a.t for a, b in zip(probes[1:], probes[2:], strict=False)]
    assert all(g2 >= g1 * 0.8 for g1, g2 in zip(gaps, gaps[1:], strict=False)), gaps  # backing off
    m = arena.mark()
    arena.send(peer.seg("A", window=65535))  # the window opens: the echo comes
    assert peer.read(m, 100) == b"x" * 100
    peer.close()


def test_a_one_octet_window_gets_one_octet_at_a_time(arena, bystander):
    peer = RawPeer(arena)
    peer.connect(window=1)
    m = arena.mark()
    peer.send(b"0123456789", window=1)
    got = b""
    for _ in range(10):
        got += peer.read(m, 1, wait=2.0, ack=False)
        m = arena.mark()
        arena.send(peer.seg("A", window=1))
    assert got == b"0123456789"
    seen = arena.from_synack(0, port=peer.sport, wait=0)
    assert max(len(s.payload) for s in seen) == 1
    peer.close()


# ------------------------------------------------------------------ out-of-order floods
@pytest.mark.parametrize("sack", [True, False], ids=["sack", "no-sack"])
def test_an_out_of_order_flood_keeps_acks_sane_and_the_bystander_echoing(arena, bystander, sack):
    """400 one-octet segments, each after a one-octet hole (fewer than the out-of-order
    queue holds): every one is acknowledged at once with ACK = RCV.NXT; with SACK, at most
    4 blocks (no timestamps), inside the window, the first one holding the newest segment
    (RFC 2018 §4). Filling the first hole then delivers what follows it."""
    n = 400
    peer = opened(arena, sack=sack)
    base = peer.snd_nxt
    flood = peer.raw_at([base + 2 + 2 * i for i in range(n)], b"o")
    bystander.start()
    m = arena.mark()
    arena.flood(flood, arena.count_from_synack(m, peer.sport))
    acks = arena.from_synack(m, port=peer.sport, wait=3.0, until=lambda g: len(g) >= n)
    rtts = bystander.stop()
    assert len(acks) == n and all(a.ack == base for a in acks)
    if sack:
        for a in acks[::50] + acks[-1:]:
            blocks = sack_blocks(a)
            assert 1 <= len(blocks) <= 4
            assert all(((left - base) & M32) < 2 * n + 2 and ((right - left) & M32) == 1 for left, right in blocks)
        newest = (base + 2 * n) & M32
        assert sack_blocks(acks[-1])[0] == (newest, (newest + 1) & M32)
    else:
        assert not any(sack_blocks(a) for a in acks[::50] + acks[-1:])
    assert rtts
    m = arena.mark()
    arena.send(peer.seg("PA", b"xy", seq=base))
    peer.snd_nxt = (base + 3) & M32
    assert peer.read(m, 3) == b"xyo"
    peer.close()


#: the bound the out-of-order queue must keep to for one-octet segments, at the default
#: 64 KiB receive buffer (whose full-sized segments number 45)
OOO_BOUND = 512


def test_the_out_of_order_queue_holds_a_bounded_number_of_segments(arena, bystander):
    n = OOO_BOUND + 100
    peer = opened(arena)
    base = peer.snd_nxt
    m = arena.mark()
    arena.flood(peer.raw_at([base + 2 + 2 * i for i in range(n)], b"o"), arena.count_from_synack(m, peer.sport))
    acks = arena.from_synack(m, port=peer.sport, wait=3.0, until=lambda g: len(g) >= n)
    peer.close()
    last = (base + 2 * n) & M32
    held = [a for a in acks[-5:] if any(left == last for left, _ in sack_blocks(a))]
    assert not held, f"segment {n} was still held (and SACKed) beyond {OOO_BOUND} segments"


# ------------------------------------------------------------------ duplicate ACKs and garbage SACK
def test_a_duplicate_ack_flood_does_not_multiply_retransmissions(arena, bystander):
    peer = opened(arena)
    m0 = arena.mark()
    peer.send(bytes(1400))
    first = arena.from_synack(m0, port=peer.sport, wait=1.0, until=lambda g: any(s.payload for s in g))
    assert first
    m = arena.mark()
    arena.flood([peer.raw("A")] * 300, lambda: 300)  # 300 duplicate ACKs of nothing new
    after = [s for s in arena.from_synack(m, port=peer.sport, wait=1.0) if s.payload]
    assert len(after) <= 4, f"{len(after)} retransmissions for 300 duplicate ACKs"
    assert peer.read(m0, 1400) == bytes(1400)  # the echo itself is intact
    peer.close()


GARBAGE = {
    "beyond-snd-nxt": lambda b: (b + 100_000, b + 100_100),
    "below-snd-una": lambda b: (b - 100_000, b - 99_000),
    "reversed": lambda b: (b + 2000, b + 1000),
    "half-the-space": lambda b: (b, b + (1 << 31)),
    "empty": lambda b: (b + 500, b + 500),
}


def test_garbage_sack_blocks_are_ignored(arena, bystander):
    peer = opened(arena)
    una = peer.rcv_nxt
    m = arena.mark()
    peer.send(bytes(range(256)) * 5)  # 1280 octets to echo
    first = arena.from_synack(m, port=peer.sport, wait=1.0, until=lambda g: any(s.payload for s in g))
    assert first
    m2 = arena.mark()
    for make in GARBAGE.values():
        blocks = make(una)
        arena.send(peer.seg("A", options=[("SAck", tuple(x & M32 for x in blocks))]))
    arena.send(peer.seg("A", options=[("SAck", tuple(x & M32 for x in (una + 10, una + 20, una + 15, una + 30,
                                                                      una + 5, una + 25, una + 12, una + 13)))]))
    later = arena.from_synack(m2, port=peer.sport, wait=0.3)
    end = (una + 1280) & M32
    assert not any("R" in s.flags for s in later)
    assert all(((s.tcp.seq + len(s.payload) - una) & M32) <= 1280 for s in later), "data beyond SND.NXT"
    assert peer.read(m, 1280) == bytes(range(256)) * 5
    assert peer.rcv_nxt == end
    assert peer.echo(b"still fine") == b"still fine"
    peer.close()


# ------------------------------------------------------------------ the capture itself
def _one_echo(segments: list, size: int) -> list:
    """The segments that carry one echo of ``size`` octets, in sequence, each once: on a
    loaded machine the capture may also hold a retransmission or the end of an earlier echo."""
    by_seq: dict[int, Any] = {}
    for s in segments:
        by_seq.setdefault(s.seq, s)
    for start in by_seq:
        chain, seq, total = [], start, 0
        while seq in by_seq and total < size:
            seg = by_seq[seq]
            chain.append(seg)
            total += len(seg.payload)
            seq = (seq + len(seg.payload)) & 0xFFFFFFFF
        if total == size:
            return chain
    return segments


def test_the_device_shows_wire_sized_segments_with_full_checksums(arena, bystander):
    """The suite runs synack without the device's offloads, so a large echo crosses the
    device as segments of at most one MSS, each with its own valid checksum: what the
    sniffer and tcpdump see is what a wire would carry (with offloads, one super-segment
    of up to 64 KB and a partial checksum would stand for many)."""
    _, TCP, _ = scapy()
    m = arena.mark()
    bystander.echo(20_000)
    echoed = _one_echo([s for s in arena.from_synack(m, to=KERNEL, wait=0.5) if s.payload], 20_000)
    assert sum(len(s.payload) for s in echoed) == 20_000
    assert max(len(s.raw) for s in echoed) <= 1500, "a segment larger than the device's MTU: offloads are on"
    assert len(echoed) >= 20_000 // 1460 + 1
    for s in echoed:
        again = s.pkt.copy()
        del again[TCP].chksum
        assert again.__class__(bytes(again))[TCP].chksum == s.tcp.chksum, f"{s!r}: partial or wrong checksum"
