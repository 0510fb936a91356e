"""TCP_QUICKACK through the socket API: Linux's switch for ping-pong mode (delayed ACKs)."""

from __future__ import annotations

from synack import api
from synack.timeunits import ms
from synack.trace.events import SegmentSent


def acks_from(net, host):
    return [(e.t, int(e.seg.ack)) for e in net.recorder.events
            if isinstance(e, SegmentSent) and e.host == host and not e.seg.payload and not e.seg.flags & 0x07]


def test_tcp_quickack_zero_delays_the_first_ack_and_reads_back(pair, net):
    cli, conn, _ = pair
    assert conn.getsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK) == 1
    conn.setsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK, 0)
    assert conn.getsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK) == 0
    before = len(acks_from(net, "server"))
    cli.sendall(b"x" * 10)
    start = net.now
    api.sleep(net, 0.1)
    (t, _ack), = acks_from(net, "server")[before:]
    assert t - start == ms(5) + ms(40)      # one way, then the delayed-ACK timer
    assert conn.getsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK) == 1  # the timer ended the mode


def test_tcp_quickack_one_sends_an_owed_ack_after_a_read(pair, net):
    cli, conn, _ = pair
    conn.setsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK, 0)
    before = len(acks_from(net, "server"))
    cli.sendall(b"x" * 10)
    assert conn.recv(100) == b"x" * 10
    assert acks_from(net, "server")[before:] == []
    conn.setsockopt(api.IPPROTO_TCP, api.TCP_QUICKACK, 1)
    (t, _ack), = acks_from(net, "server")[before:]
    assert t == net.now
