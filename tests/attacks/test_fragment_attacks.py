"""IP fragments against synack's echo server (``echo_server.py``) on a TUN device, cut by scapy (an
independent implementation of RFC 791 §3.2): a segment in pieces, in any order, is put
back together and echoed; overlapping pieces that rewrite data (RFC 1858 §4, RFC 5722)
discard the datagram; a first piece too small for the TCP header (RFC 1858 §3.2) and a
piece beyond 65,535 octets are refused; a flood of incomplete datagrams stays within the
host's memory cap while a real one still gets through and the bystander keeps echoing."""

from __future__ import annotations

import random

import pytest
from attack_helpers import SYNACK, RawPeer, scapy

MiB = 1 << 20


def fragments(pkt, size: int) -> list:
    from scapy.layers.inet import fragment

    return fragment(pkt, fragsize=size)


def rss(arena) -> int:
    """The synack process's resident memory, in octets."""
    with open(f"/proc/{arena.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("order", ["in-order", "reversed", "shuffled"])
def test_a_segment_in_pieces_is_reassembled_and_echoed(arena, bystander, order):
    peer = RawPeer(arena)
    peer.connect()
    data = bytes(random.Random(order).randbytes(1200))
    pieces = fragments(peer.seg("PA", data), 400)
    assert len(pieces) == 4
    if order == "reversed":
        pieces.reverse()
    elif order == "shuffled":
        random.Random(5).shuffle(pieces)
    m = arena.mark()
    arena.send(*pieces)
    peer.snd_nxt += len(data)
    assert peer.read(m, len(data)) == data
    peer.close()


def test_overlapping_pieces_that_rewrite_data_discard_the_datagram(arena, bystander):
    IP, _, raw = scapy()
    peer = RawPeer(arena)
    peer.connect()
    data = b"G" * 1000
    whole = raw(peer.seg("PA", data))
    body = whole[20:]
    evil = bytearray(body[504:])
    evil[:8] = b"EVILDATA"
    first = IP(src=peer.src, dst=SYNACK, id=4242, flags="MF", frag=0, proto=6) / body[:512]
    second = IP(src=peer.src, dst=SYNACK, id=4242, frag=504 // 8, proto=6) / bytes(evil)
    m = arena.mark()
    arena.send(first, second)
    assert arena.from_synack(m, port=peer.sport, wait=0.3) == []  # nothing was delivered
    m = arena.mark()
    arena.send(whole)  # the segment again, whole: accepted
    peer.snd_nxt += len(data)
    assert peer.read(m, len(data)) == data
    peer.close()


def test_a_first_piece_too_small_for_the_tcp_header_gets_no_answer(arena, bystander):
    IP, _, raw = scapy()
    peer = RawPeer(arena)
    syn = raw(peer.seg("S", seq=peer.iss, ack=0, options=[("MSS", 1460)]))[20:]
    m = arena.mark()
    arena.send(IP(src=peer.src, dst=SYNACK, id=77, flags="MF", proto=6) / syn[:8],
               IP(src=peer.src, dst=SYNACK, id=77, frag=1, proto=6) / syn[8:])
    assert arena.from_synack(m, port=peer.sport, wait=0.3) == []


def test_a_piece_beyond_65535_octets_is_refused(arena, bystander):
    IP, _, _ = scapy()
    m = arena.mark()
    arena.send(IP(src="10.99.0.3", dst=SYNACK, id=9, frag=65528 // 8, proto=6) / bytes(64))
    assert arena.from_synack(m, wait=0.3) == []


def test_a_flood_of_incomplete_datagrams_stays_within_the_cap(arena, bystander):
    """3,000 first pieces of 1,400 octets that never complete: 4.2 MB, beyond the 4 MiB
    cap, from 250 sources. synack's memory grows by little more than the cap, and a real
    fragmented segment still gets through during the flood."""
    IP, _, raw = scapy()
    template = bytearray(raw(IP(src="10.99.0.3", dst=SYNACK, id=1, flags="MF", proto=6) / bytes(1400)))
    junk = []
    for i in range(3000):  # the kernel fills in the header checksum of a raw socket's packets
        template[4:6] = (i + 1).to_bytes(2, "big")
        template[15] = 3 + i % 250
        junk.append(bytes(template))
    before = rss(arena)
    bystander.start()
    arena.send_many(junk[:1500], pace=25)
    peer = RawPeer(arena)
    peer.connect()
    data = b"R" * 1200
    m = arena.mark()
    arena.send(*fragments(peer.seg("PA", data), 400))
    arena.send_many(junk[1500:], pace=25)
    peer.snd_nxt += len(data)
    assert peer.read(m, len(data)) == data
    bystander.stop()
    grown = rss(arena) - before
    assert grown < 12 * MiB, f"synack grew by {grown / MiB:.1f} MiB for a 4 MiB cap"
    peer.close()
