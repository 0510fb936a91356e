"""SYN cookies (RFC 4987 §3.6) that survive the loss of the ACK that carried them.

The cookie rides in the ACK field of every segment the client sends until the server's
first data, but its MAC covers the client's ISN, which only a segment at the first octet
(SEG.SEQ = IRS + 1) tells: the handshake's ACK, the first data segment, or their
retransmission. When those are lost, later segments cannot prove the cookie: they are
dropped without an RST (a reset would kill a connection the client rightly thinks open),
and the client's retransmission from its first unacknowledged octet completes the
handshake. Every test lists the server "10.0.0.2:80" with syncookies=2 (always cookies)."""

from __future__ import annotations

from synack.link.sim import Network
from synack.tcp.config import TcpConfig
from synack.tcp.state import State
from synack.timeunits import ms, sec
from synack.trace.events import SegmentDropped, SegmentSent
from synack.wire.tcp import ACK, RST

SERVER, PORT = "10.0.0.2", 80


def cookie_net(**server_kw):
    net = Network(seed=3)
    client = net.add_host("client", ["10.0.0.1"], config=TcpConfig(nodelay=True))
    server = net.add_host("server", [SERVER], syncookies=2, **server_kw)
    net.set_both("client", "server", delay=ms(10))
    return net, client, server, server.listen(PORT, 0)


def lose(net, what, count=1):
    """Lose ``count`` of the client's segments for which ``what(seg)`` holds."""
    net.drop_if(lambda p: p.src_host == "client" and p.seg is not None and what(p.seg), count=count)


def resets_from(net, host):
    return [e for e in net.recorder.events if isinstance(e, SegmentSent) and e.host == host and e.seg.flags & RST]


def test_established_later_data_waits_for_the_first_octet_when_ack_and_first_data_are_lost():
    net, client, server, lst = cookie_net()
    lose(net, lambda s: s.flags == ACK and not s.payload)      # the handshake's ACK
    first = {"seen": False}

    def first_data(seg) -> bool:  # the first data segment, its first transmission only
        if seg.payload and not first["seen"]:
            first["seen"] = True
            return True
        return False

    lose(net, first_data)
    conn = client.connect(SERVER, PORT, 0)
    assert net.run_until(lambda: conn.state is State.ESTABLISHED, sec(1))
    data = bytes(range(256)) * 12  # three segments of 1024
    for k in range(3):
        conn.send(data[k * 1024:(k + 1) * 1024], net.now)
        client.call(conn, net.now)
    assert net.run_until(lambda: bool(lst.accept_queue), sec(5))
    peer = lst.accept(net.now)
    got = bytearray()

    def read() -> bool:
        got.extend(peer.receive(1 << 16, net.now))
        return len(got) >= len(data)

    assert net.run_until(read, sec(5))
    assert bytes(got) == data
    assert conn.state is State.ESTABLISHED and conn.error is None
    assert not resets_from(net, "server")
    unverified = [e for e in net.recorder.events if isinstance(e, SegmentDropped) and e.reason == "cookie-unverifiable"]
    assert unverified and lst.stats.cookies_unverified == len(unverified) and lst.stats.cookies_accepted == 1


def test_an_ack_with_no_fresh_cookie_still_gets_its_reset():
    """Data for no connection whose ACK field is no cookie of the last two periods is
    answered as RFC 9293 §3.10.7.2 says: <SEQ=SEG.ACK><CTL=RST>."""
    from synack.wire.ip import emit_packet
    from synack.wire.seq import Seq
    from synack.wire.tcp import TcpSegment

    net, client, server, lst = cookie_net()
    net.run_for(sec(300))  # (periods of 64 s: the time counter is 4 now)
    stale = Seq(0x1000_0000)  # a time counter of 1: too old
    net.inject("client", emit_packet("10.0.0.1", SERVER, TcpSegment(40000, PORT, Seq(777), stale + 1, ACK, 100,
                                                                     b"data")))
    net.run_for(ms(5))
    assert [int(e.seg.seq) for e in resets_from(net, "server")] == [int(stale + 1)]
    assert lst.stats.cookies_rejected == 1 and lst.stats.cookies_unverified == 0
