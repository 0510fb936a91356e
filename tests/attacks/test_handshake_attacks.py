"""Attacks on the handshake, against synack's echo server (``echo_server.py``) on a TUN device: tiny
MSS values, SYNs from sources no SYN may come from (and LAND), malformed options, and a
SYN flood while a legitimate client connects. Each test checks what synack put on the
wire and that a bystander connection kept working."""

from __future__ import annotations

import secrets
from collections import Counter
import socket

import pytest
from attack_helpers import SYNACK, Bystander, RawPeer, scapy

#: Linux's net.ipv4.tcp_min_snd_mss
MIN_SND_MSS = 48


def data_segments(arena, peer, mark, want: int, wait: float = 1.0) -> list:
    """synack's data segments to ``peer`` since ``mark``, each sequence number once (on a
    loaded machine the peer's ACK can come after synack's RTO, and the segment again)."""
    seen: set = set()
    out = []
    for s in arena.from_synack(mark, port=peer.sport, wait=wait,
                               until=lambda g: sum(len(s.payload) for s in g) >= want):
        if s.payload and s.seq not in seen:
            seen.add(s.seq)
            out.append(s)
    return out


# ------------------------------------------------------------------ MSS 0 and 1
@pytest.mark.parametrize("mss", [0, 1])
def test_a_tiny_mss_does_not_cut_the_echo_into_tiny_segments(arena, bystander, mss):
    peer = RawPeer(arena)
    peer.connect(mss=mss)
    m = arena.mark()
    peer.send(bytes(400))
    segs = data_segments(arena, peer, m, 400)
    peer.close()
    sizes = [len(s.payload) for s in segs]
    assert sizes, "synack echoed nothing"
    assert all(n >= MIN_SND_MSS for n in sizes[:-1]), f"segment sizes {sizes[:20]}..."
    assert len(segs) <= 400 // MIN_SND_MSS + 1


def test_a_normal_mss_is_used_as_given(arena, bystander):
    peer = RawPeer(arena)
    peer.connect(mss=536)
    m = arena.mark()
    peer.send(bytes(1400))
    sizes = [len(s.payload) for s in data_segments(arena, peer, m, 1400)]
    peer.close()
    assert sizes == [536, 536, 328]


# ------------------------------------------------------------------ bad sources and LAND
BAD_SOURCES = [
    pytest.param("224.0.0.5", id="multicast-224.0.0.5"),
    pytest.param("255.255.255.255", id="limited-broadcast"),
    pytest.param("10.99.0.255", id="subnet-broadcast"),
    pytest.param("127.0.0.1", id="loopback"),
    pytest.param(SYNACK, id="land-own-address"),
    pytest.param("0.0.0.0", id="unspecified"),
]


@pytest.mark.parametrize("src", BAD_SOURCES)
def test_a_syn_from_a_source_no_syn_comes_from_gets_no_answer(arena, bystander, src):
    """RFC 9293 §3.9.2.3 MUST-63 (and MUST-57): such a SYN is silently ignored."""
    peer = RawPeer(arena, src=src, sport=7 if src == SYNACK else None)  # LAND: same address and port
    m = arena.mark()
    arena.send(peer.seg("S", seq=peer.iss, ack=0, options=[("MSS", 1460), ("SAckOK", b"")]))
    answers = arena.from_synack(m, to=src, wait=0.5)
    assert answers == [], f"synack answered a SYN from {src}: {answers}"


# ------------------------------------------------------------------ malformed options
BAD_OPTIONS = [
    ("MSS of length 0", b"\x02\x00\x05\xb4"),
    ("MSS of length 1", b"\x02\x01\x05\xb4"),
    ("an option running past the header", b"\x01\x01\x08\x40"),
    ("an unknown option of length 0", b"\x1e\x00\x00\x00"),
]


@pytest.mark.parametrize("desc, opts", BAD_OPTIONS, ids=[b[0] for b in BAD_OPTIONS])
def test_a_syn_with_an_illegal_option_length_is_not_accepted(arena, bystander, desc, opts):
    """RFC 9293 §3.1 MUST-7: be prepared for an illegal option length. synack drops the
    segment (a traced malformed drop): no SYN,ACK, nothing half-open."""
    peer = RawPeer(arena)
    m = arena.mark()
    arena.send(peer.raw_options("S", opts, seq=peer.iss, ack=0))
    answers = arena.from_synack(m, port=peer.sport, wait=0.3)
    assert [s.flags for s in answers] in ([], ["R"], ["RA"]), answers
    peer.connect()  # the same port, with good options: accepted
    assert peer.echo(b"fine") == b"fine"
    peer.close()


@pytest.mark.parametrize("desc, opts", BAD_OPTIONS, ids=[b[0] for b in BAD_OPTIONS])
def test_data_with_an_illegal_option_length_is_dropped_and_the_connection_lives(arena, bystander, desc, opts):
    peer = RawPeer(arena)
    peer.connect()
    m = arena.mark()
    arena.send(peer.raw_options("PA", opts, b"evil"))
    answers = arena.from_synack(m, port=peer.sport, wait=0.3)
    assert not any(s.payload for s in answers), "synack echoed a malformed segment's data"
    assert not any("R" in s.flags for s in answers)
    assert peer.echo(b"good") == b"good"  # the same sequence number, well formed
    peer.close()


# ------------------------------------------------------------------ SYN flood (last: it fills the SYN queue)
def test_a_syn_flood_lets_a_legitimate_client_in(arena, bystander):
    """600 SYNs from 100 spoofed sources overflow the SYN queue (backlog 100), SYN
    cookies answer the rest; the bystander keeps echoing and a new kernel client connects
    and echoes during the flood. Each SYN gets one SYN,ACK at most: no amplification."""
    IP, TCP, raw = scapy()
    sources = [f"10.99.0.{10 + i}" for i in range(100)]
    isn: dict[tuple, int] = {}
    flood = []
    for i in range(600):
        src, sport, seq = sources[i % 100], 1024 + i, secrets.randbelow(1 << 32)
        isn[(src, sport)] = seq
        flood.append(raw(IP(src=src, dst=SYNACK) / TCP(sport=sport, dport=7, flags="S", seq=seq,
                                                        options=[("MSS", 1460), ("SAckOK", b"")])))
    bystander.start()
    m = arena.mark()
    arena.send_many(flood, pace=50)
    newcomer = Bystander(arena)
    try:
        newcomer.echo()
    finally:
        newcomer.close()
    flooded = {socket.inet_aton(a) for a in sources}
    answers = [s for s in arena.from_synack(m, to=None, wait=0.8) if s.raw[16:20] in flooded]
    per_syn = Counter(s.raw[16:20] + s.raw[22:24] for s in answers)
    assert len(per_syn) > 100, "synack answered few of the flood's SYNs: no cookies beyond the SYN queue?"
    # one SYN,ACK per SYN, and for the 100 queued ones a retransmission 1 s later at most
    assert max(per_syn.values()) <= 2 and sum(n == 2 for n in per_syn.values()) <= 100
    for s in answers[::10]:
        assert s.flags == "SA"
        assert s.tcp.ack == (isn[(s.pkt.dst, s.tcp.dport)] + 1) & 0xFFFFFFFF
