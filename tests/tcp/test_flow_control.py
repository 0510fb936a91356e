"""Flow control (RFC 9293 §3.8.6) against a scripted peer: the sender's and the receiver's
silly-window avoidance (MUST-38, MUST-39), zero-window probing (MUST-35/36/37, SHLD-29/30),
a shrinking offered window (MUST-34, SHLD-15/16/17), window updates, delayed ACKs (MUST-40,
SHLD-18/19), Nagle and TCP_NODELAY (SHLD-7, MUST-17), and the bounded out-of-order queue
(SHLD-31). The peer does not use options unless a test says so (harness.Tcb)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from harness import Tcb, established, ms, sec
from optpeer import opt_established

from synack.tcp.config import TcpConfig
from synack.tcp.errors import ConnectionTimeout
from synack.trace.events import SegmentDropped
from synack.wire.seq import Seq

MSS = 1460


def edges(t) -> list[int]:
    """The right edges (SEG.ACK + SEG.WND) of the ACK-bearing segments we sent, in order."""
    return [int(seg.ack + seg.wnd) for _, seg, _ in t.sent if seg.flags & 0x10]


# ----------------------------------------------------------------- receiver SWS (MUST-39)

def test_receiver_moves_the_right_edge_only_in_useful_steps(isns):
    """RFC 9293 §3.8.6.2.2: RCV.NXT + RCV.WND stays put until it can move by at least
    min(Fr * RCV.BUFF, Eff.snd.MSS) (Fr = 1/2), however small the reads."""
    t = established(isns, rcv_buf=8000)
    for _ in range(10):
        t.peer_sends("P.", data=bytes(700))
        t.receive(300)
    moves = [(b - a) % 2**32 for a, b in pairwise(edges(t)) if a != b]
    assert moves and all(m >= min(8000 // 2, MSS) for m in moves)


def test_receiver_never_moves_the_right_edge_left(isns):
    """RFC 9293 §3.8.6 SHLD-14."""
    t = established(isns, rcv_buf=5000)
    for k in range(8):
        t.peer_sends("P.", data=bytes(900))
        if k % 3 == 0:
            t.receive(2000)
    e = edges(t)
    assert all(Seq(b).ge(Seq(a)) for a, b in pairwise(e))


def test_reading_sends_a_window_update_when_the_window_opens_enough(isns):
    """§3.8.6.2.2: a read that moves the edge by min(RCV.BUFF/2, MSS) or more is announced
    at once; smaller reads are not. (The rfc profile: its SYN offers the whole buffer.)"""
    t = established(isns, profile="rfc", rcv_buf=4000, delayed_ack=None)
    t.peer_sends("P.", data=bytes(4000))
    t.expect_sent(".", ack=t.irs + 4001, wnd=0)
    t.receive(1000)
    t.expect_silence()                                      # 1000 < min(2000, 1460)
    t.receive(1000)
    t.expect_sent(".", ack=t.irs + 4001, wnd=2000)          # the window update


# ----------------------------------------------------------------- sender SWS (MUST-38)

def test_sender_holds_a_window_limited_runt_while_data_is_in_flight(isns):
    t = established(isns, psh_every=0)  # (PSH on the last segment only: RFC 9293 MUST-61)
    t.peer_sends(".", ack=t.iss + 1, wnd=3000)
    t.send(bytes(5000))
    t.expect_sent(".", data=bytes(MSS))
    t.expect_sent(".", data=bytes(MSS))
    t.expect_silence()                                      # 80 octets of window: a runt
    t.peer_sends(".", ack=t.iss + 1 + 2 * MSS, wnd=3000)
    t.expect_sent(".", seq=t.iss + 1 + 2 * MSS, data=bytes(MSS))


def test_sender_override_timeout_sends_the_runt(isns):
    """Rule (4): with nothing in flight to bring an ACK, the override timeout (0.1-1 s,
    TcpConfig.sws_override) sends what the small window allows."""
    t = established(isns, sws_override=ms(500))
    t.peer_sends(".", ack=t.iss + 1, wnd=1000)             # max window stays 65535
    t.send(bytes(3000))
    t.expect_silence()
    t.advance(ms(499))
    t.expect_silence()
    t.advance(ms(1))
    t.expect_sent(".", seq=t.iss + 1, data=bytes(1000))


def test_sender_override_timer_is_cancelled_by_its_own_name_when_the_window_opens(isns):
    """The override timer shares the persist timer's slot; the trace names what was armed
    and then cancelled: sws-override both times (a view pairs them by name)."""
    t = established(isns)
    t.peer_sends(".", ack=t.iss + 1, wnd=1000)
    t.send(bytes(3000))
    t.expect_silence()                                      # the runt waits: override armed
    t.peer_sends(".", ack=t.iss + 1, wnd=65535)             # a window update
    t.expect_sent(".", data=bytes(MSS))
    timers = [(type(e).__name__, e.name) for e in t.recorder.events
              if type(e).__name__ in ("TimerArmed", "TimerCancelled") and e.name in ("persist", "sws-override")]
    assert timers == [("TimerArmed", "sws-override"), ("TimerCancelled", "sws-override")]


def small_window_peer(isns, wnd: int) -> Tcb:
    """The peer's SYN,ACK offers 2000 octets, the largest window it will ever offer; its
    next ACK offers ``wnd``. (RFC 9293's sender SWS avoidance as written: not Linux's
    half-window segments, PSH on the last segment only.)"""
    t = Tcb(isns, sws_half_window=False, psh_every=0).syn_sent()
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1, wnd=2000)
    t.expect_sent(".")
    t.peer_sends(".", ack=t.iss + 1, wnd=wnd)
    return t


def test_sender_sends_a_runt_of_half_the_largest_window_at_once(isns):
    """Rule (3): min(D, U) >= Fs * Max(SND.WND) (Fs = 1/2), nothing in flight: send now."""
    t = small_window_peer(isns, 1200)
    t.send(bytes(3000))
    t.expect_sent(".", data=bytes(1200), at=0)


def test_sender_holds_a_runt_below_half_the_largest_window(isns):
    t = small_window_peer(isns, 900)
    t.send(bytes(3000))
    t.expect_silence()
    t.advance(t.config.sws_override)
    t.expect_sent(".", data=bytes(900), cause=None)


@pytest.mark.parametrize("value", [ms(99), sec(2)])
def test_config_bounds_the_override_timeout(value):
    with pytest.raises(ValueError, match="sws_override"):
        TcpConfig(sws_override=value).validate()


# ----------------------------------------------------------------- zero window (MUST-35/36/37)

def zero_window_sender(isns, **cfg) -> Tcb:
    t = established(isns, **cfg)
    t.send(bytes(1000))
    t.expect_sent("P.", data=bytes(1000))
    t.peer_sends(".", ack=t.iss + 1001, wnd=0)
    t.send(bytes(500))
    t.expect_silence()
    return t


def probes(t) -> list[int]:
    return [at for at, _, c in t.sent if c == "zero-window-probe"]


def test_zero_window_is_probed_with_exponential_backoff(isns):
    """MUST-36; SHLD-29: the first probe after one RTO; SHLD-30: then doubling intervals.
    A probe is <SEQ=SND.UNA-1><ACK=RCV.NXT>, which the peer must answer (§3.8.6.1)."""
    t = zero_window_sender(isns)
    start = t.now
    t.advance(sec(10))
    p = probes(t)
    gaps = [b - a for a, b in pairwise([start, *p])]
    assert gaps[:4] == [ms(200), ms(400), ms(800), ms(1600)]
    probe = next(s for _, s, c in t.sent if c == "zero-window-probe")
    assert probe.seq == t.iss + 1000 and probe.payload == b""


def test_zero_window_stays_open_while_the_probes_are_answered(isns):
    """MUST-37: "As long as the receiving TCP peer continues to send acknowledgments in
    response to the probe segments, the sending TCP peer MUST allow the connection to stay
    open" - here for five minutes, beyond R2 (100 s)."""
    t = zero_window_sender(isns)
    for _ in range(60):
        t.advance(sec(5))
        t.peer_sends(".", ack=t.iss + 1001, wnd=0)
    t.expect_state("ESTABLISHED")
    assert len(probes(t)) > 5
    t.drain()
    t.peer_sends(".", ack=t.iss + 1001, wnd=1000)           # the window opens
    t.expect_sent("P.", seq=t.iss + 1001, data=bytes(500))


def test_zero_window_probes_unanswered_for_r2_time_out(isns):
    t = zero_window_sender(isns, r2=sec(30))
    t.advance(sec(60))
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionTimeout)


def test_window_shrinking_below_what_is_in_flight(isns):
    """MUST-34: robust against a right edge that moves left; SHLD-15: no new data then;
    SHLD-16: the old data within the window is retransmitted normally."""
    t = established(isns, nodelay=True)
    t.send(bytes(5 * MSS))
    t.drain()
    t.peer_sends(".", ack=t.iss + 1 + MSS, wnd=MSS)         # edge back to 2 * MSS
    t.send(bytes(MSS))
    t.expect_silence()
    t.advance(ms(200))
    t.expect_sent(".", seq=t.iss + 1 + MSS, cause="rto")


def test_window_shrinking_to_zero_with_data_in_flight_does_not_time_out(isns):
    """SHLD-17: data beyond the right edge that is not acknowledged does not time the
    connection out while the peer answers; MUST-35: the retransmissions probe the window."""
    t = established(isns, r2=sec(20))
    t.send(bytes(1000))
    t.drain()
    t.peer_sends(".", ack=t.iss + 1, wnd=0)
    for _ in range(12):
        t.advance(sec(5))
        t.peer_sends(".", ack=t.iss + 1, wnd=0)
    t.expect_state("ESTABLISHED")
    t.peer_sends(".", ack=t.iss + 1001, wnd=65535)
    assert t.status()["unacked"] == 0


# ----------------------------------------------------------------- delayed ACK (MUST-40, SHLD-18/19)

@pytest.mark.parametrize("delay", [ms(1), ms(40), ms(200), ms(499)])
def test_delayed_ack_delay_is_configurable_below_half_a_second(isns, delay):
    t = Tcb(isns, config=TcpConfig(delayed_ack=delay, quick_acks=0)).established()
    t.peer_sends("P.", data=b"abc")
    t.expect_silence()
    t.advance(delay)
    t.expect_sent(".", ack=t.irs + 4, at=delay)


@pytest.mark.parametrize("delay", [ms(500), 0])
def test_delayed_ack_of_half_a_second_or_none_is_refused(delay):
    with pytest.raises(ValueError, match="delayed_ack"):
        TcpConfig(delayed_ack=delay).validate()


def test_out_of_order_data_is_acked_at_once(isns):
    """RFC 5681 §4.2 (RFC 9293 §3.8.6.3): out-of-order data and data filling a hole are
    acknowledged immediately."""
    t = Tcb(isns, config=TcpConfig()).established()
    t.peer_sends("P.", seq=t.irs + 11, data=b"later")
    t.expect_sent(".", ack=t.irs + 1, at=0)
    t.peer_sends("P.", seq=t.irs + 1, data=b"0123456789")
    t.expect_sent(".", ack=t.irs + 16, at=0)


def test_every_second_full_segment_with_timestamps(isns):
    """SHLD-19 counts full-sized segments: beside timestamps they carry MSS - 12 octets."""
    t = opt_established(isns, delayed_ack=ms(40), quick_acks=0)
    t.peer_sends(".", data=bytes(1448))
    t.expect_silence()
    t.peer_sends(".", data=bytes(1448))
    t.expect_sent(".", ack=t.irs + 2897, at=0)


# ----------------------------------------------------------------- Nagle and TCP_NODELAY

def test_nagle_coalesces_small_writes(isns):
    t = established(isns)
    t.send(b"a")
    t.expect_sent("P.", data=b"a")
    for ch in b"bcde":
        t.send(bytes([ch]))
    t.expect_silence()
    t.peer_sends(".", ack=t.iss + 2)
    t.expect_sent("P.", data=b"bcde")


def test_set_nodelay_sends_what_nagle_held(isns):
    """MUST-17: switching Nagle off (TCP_NODELAY) sends the held data at once, as Linux
    does; switching it back on holds small writes again."""
    t = established(isns)
    t.send(b"a")
    t.expect_sent("P.", data=b"a")
    t.send(b"bc")
    t.expect_silence()
    t.conn.set_nodelay(True, t.now)
    t.expect_sent("P.", seq=t.iss + 2, data=b"bc")
    t.send(b"d")
    t.expect_sent("P.", data=b"d")
    t.conn.set_nodelay(False, t.now)
    t.send(b"e")
    t.expect_silence()
    assert t.conn.config.nodelay is False


def test_socket_tcp_nodelay_pushes_held_data():
    """Through the socket API on the simulator: setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)."""
    import socket as pysocket

    from synack import api
    from synack.link.sim import Network
    from synack.trace.events import SegmentSent

    net = Network(seed=4)
    net.add_host("client", ["10.0.0.1"])
    net.add_host("server", ["10.0.0.2"])
    net.default_path.delay = ms(10)
    srv = api.create_server(net, "server", ("", 9000))
    cli = api.create_connection(net, "client", ("server", 9000))
    conn, _ = srv.accept()
    cli.sendall(b"a")
    cli.sendall(b"b")                                        # held by Nagle: "a" is in flight
    held_at = net.now
    cli.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
    net.run_for(0)
    sent = [e for e in net.recorder.events if isinstance(e, SegmentSent) and e.host == "client"
            and e.seg.payload == b"b"]
    assert sent and sent[0].t == held_at
    assert conn.recv(10) in (b"a", b"ab")


# ----------------------------------------------------------------- out-of-order queue (SHLD-31)

def test_out_of_order_queue_is_bounded(isns):
    t = established(isns, ooo_limit=1000)
    t.peer_sends("P.", seq=t.irs + 101, data=bytes(800))
    t.expect_sent(".", ack=t.irs + 1)
    t.peer_sends("P.", seq=t.irs + 1001, data=bytes(800))   # would hold 1600 > 1000
    t.expect_sent(".", ack=t.irs + 1)
    full = [e for e in t.recorder.events if isinstance(e, SegmentDropped) and e.reason == "ooo-full"]
    assert len(full) == 1
    t.peer_sends("P.", seq=t.irs + 1, data=bytes(100))
    t.expect_sent(".", ack=t.irs + 901)                     # the held 800 follow the hole
