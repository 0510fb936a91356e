"""Fragmented segments through a Host on the simulator: a path that cuts every large packet
into pieces (as a router in front of a small-MTU link does) still delivers every byte in
order, in both address families and whatever order the pieces arrive in; a datagram whose
pieces overlap is discarded whole (RFC 5722) and TCP's retransmission repairs the loss."""

from __future__ import annotations

import hashlib

import pytest
from simhelp import V4, V6, open_connection, transfer, two_hosts

from synack.stack.host import Host
from synack.timeunits import ms
from synack.trace.events import SegmentDropped, SegmentReceived
from synack.wire.ip import fragment_packet, parse_ip
from synack.wire.ipv4 import emit_ipv4


def fragment_on_the_way(net, mtu: int, *, reverse: bool, only: int | None = None):
    """Every client -> server packet longer than ``mtu`` is replaced by its fragments
    (in reverse order if asked), each arriving 1 ms apart; ``only`` limits how many."""
    done = [0]

    def cut(pkt) -> bool:
        if pkt.src_host != "client" or len(pkt.raw) <= mtu or (only is not None and done[0] >= only):
            return False
        done[0] += 1
        frags = fragment_packet(pkt.raw, mtu, ident=done[0])
        if reverse:
            frags.reverse()
        for i, f in enumerate(frags):
            net.inject("client", f, delay=ms(10) + i * ms(1))
        return True

    net.drop_if(cut)
    return done


@pytest.mark.parametrize("addrs", [V4, V6], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "reversed"])
def test_a_fragmenting_path_delivers_every_byte(addrs, reverse):
    net, client, server = two_hosts(seed=3, addrs=addrs)
    assert isinstance(server, Host)
    c, s = open_connection(net, client, server)
    done = fragment_on_the_way(net, 576 if addrs is V4 else 1280 - 200, reverse=reverse)
    data = bytes(range(256)) * 400  # 100 KB
    got_c, got_s = transfer(net, c, s, data, b"ok")
    assert hashlib.sha256(got_s).digest() == hashlib.sha256(data).digest() and got_c == b"ok"
    assert done[0] > 50  # most data segments travelled in pieces
    assert server.fragments.stats["reassembled"] == done[0]
    assert server.fragments.memory == 0
    drops = [e.reason for e in net.recorder.events if isinstance(e, SegmentDropped) and e.host == "server"]
    assert not [r for r in drops if r.startswith("frag")]


def test_overlapping_pieces_lose_the_segment_and_tcp_sends_it_again():
    net, client, server = two_hosts(seed=4)
    assert isinstance(server, Host)
    c, s = open_connection(net, client, server)
    seen: list[bytes] = []

    def forge(pkt) -> bool:
        """The first data segment arrives as two pieces whose data overlaps by 8 octets and
        differs there (RFC 1858 §4); the segment itself never arrives."""
        if pkt.src_host != "client" or len(pkt.raw) < 1000 or seen:
            return False
        seen.append(pkt.raw)
        hdr, body = parse_ip(pkt.raw)
        first = emit_ipv4(hdr.src, hdr.dst, 6, body[:512], ident=77, df=False, mf=True)
        evil = bytearray(body[504:])
        evil[:8] = b"EVILDATA"
        second = emit_ipv4(hdr.src, hdr.dst, 6, bytes(evil), ident=77, df=False, frag_offset=504)
        net.inject("client", first, delay=ms(10))
        net.inject("client", second, delay=ms(11))
        return True

    net.drop_if(forge)
    data = bytes(range(256)) * 40
    _, got_s = transfer(net, c, s, data, b"")
    assert got_s == data and b"EVILDATA" not in got_s
    reasons = [e.reason for e in net.recorder.events if isinstance(e, SegmentDropped) and e.host == "server"]
    assert "frag-overlap" in reasons
    assert server.fragments.stats.get("reassembled", 0) == 0
    # the data of the lost segment reached the server whole, later: a retransmission
    first_seq = parse_ip(seen[0])[1][4:8]
    arrivals = [e for e in net.recorder.events if isinstance(e, SegmentReceived) and e.host == "server"
                and int(e.seg.seq).to_bytes(4, "big") == first_seq and e.seg.payload]
    assert arrivals
