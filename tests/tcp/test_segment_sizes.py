"""What goes into each segment and when: the MSS option (RFC 9293 §3.7.1), Nagle's
algorithm (§3.7.4) and delayed acknowledgments (§3.8.6.3)."""

from __future__ import annotations

import pytest
from harness import Tcb, established, ms

from synack.tcp.cc.cubic import Cubic
from synack.tcp.config import TcpConfig
from synack.wire.tcp import SYN, Mss, SackPermitted, Timestamps

# --------------------------------------------------------------------------- §3.7.1 MSS

MSS = 1460


def handshake(isns, options, **cfg) -> Tcb:
    cfg.setdefault("psh_every", 0)  # (PSH on the last segment only, as RFC 9293 MUST-61)
    t = Tcb(isns, **cfg).syn_sent()
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1, options=options)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    return t


@pytest.mark.parametrize("options, smss", [
    ((Mss(1000),), 1000),
    ((), 536),
    ((Mss(9000),), 1460),
], ids=["peer-1000", "absent-536", "peer-9000-capped"])
def test_syn_sent_send_mss_comes_from_the_peer_mss_option(isns, options, smss):
    """RFC 9293 §3.7.1 MUST-15/MUST-16: segments carry at most the MSS the peer announced in
    its SYN, 536 for IPv4 when it sent none, and never more than our own path allows."""
    t = handshake(isns, options, nodelay=True)
    t.send(b"x" * (2 * smss + 10))
    t.expect_sent(".", seq=t.iss + 1, len=smss)
    t.expect_sent(".", seq=t.iss + 1 + smss, len=smss)
    t.expect_sent("P.", seq=t.iss + 1 + 2 * smss, len=10)
    t.expect_silence()
    assert t.conn.snd_mss == smss


def test_listen_send_mss_comes_from_the_peer_syn(isns):
    """RFC 9293 §3.7.1 MUST-15: the same for a passive open."""
    t = Tcb(isns, nodelay=True).listen()
    t.peer_sends("S", seq=t.irs, options=(Mss(700),))
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1, mss=1460)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)
    t.send(b"y" * 1000)
    t.expect_sent(".", seq=t.iss + 1, len=700)
    t.expect_sent("P.", seq=t.iss + 701, len=300)


def test_mss_option_only_in_syn_segments(isns):
    """RFC 9293 §3.2 MUST-65: the MSS option is sent only in SYN segments."""
    t = established(isns)
    t.send(b"data")
    t.peer_sends("FP.", seq=t.irs + 1, ack=t.iss + 5, data=b"reply")
    t.close()
    for _, seg, _ in t.sent:
        assert (seg.mss is not None) == bool(seg.flags & SYN), seg


# --------------------------------------------------------------------------- §3.7.4 Nagle


def test_established_nagle_holds_a_small_segment_while_data_is_unacknowledged(isns):
    """RFC 9293 §3.7.4 SHLD-7: with unacknowledged data outstanding, a new small segment is
    held until that data is acknowledged, then the held octets go out together."""
    t = established(isns)
    t.send(b"a")
    t.expect_sent("P.", seq=t.iss + 1, data=b"a")
    t.send(b"b")
    t.send(b"c")
    t.expect_silence()
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_sent("P.", seq=t.iss + 2, data=b"bc")
    t.expect_silence()


def test_established_nagle_still_sends_full_sized_segments(isns):
    """RFC 9293 §3.7.4 / §3.8.6.2.1: a full-sized segment may always be sent."""
    t = established(isns)
    t.send(b"a")
    t.expect_sent("P.", data=b"a")
    t.send(b"b" * 1460)
    t.expect_sent("P.", seq=t.iss + 2, data=b"b" * 1460)


def test_established_nodelay_turns_nagle_off(isns):
    """RFC 9293 §3.7.4 MUST-17: the application can disable Nagle per connection."""
    t = established(isns, nodelay=True)
    t.send(b"a")
    t.send(b"b")
    t.expect_sent("P.", seq=t.iss + 1, data=b"a")
    t.expect_sent("P.", seq=t.iss + 2, data=b"b")


# --------------------------------------------------------------------------- §3.8.6.3 delayed ACK


def test_established_delayed_ack_is_sent_within_the_delay(isns):
    """RFC 9293 §3.8.6.3 SHLD-18, MUST-40 (under 0.5 s): one small segment is ACKed when the
    delayed-ACK timer (40 ms) expires, not before."""
    t = Tcb(isns, config=TcpConfig(quick_acks=0)).established()  # the delayed ACK alone
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"abc")
    t.expect_silence()
    delay = TcpConfig().delayed_ack
    assert delay is not None
    t.advance(delay - 1)
    t.expect_silence()
    t.advance(1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 4, at=ms(40))
    t.expect_silence()


def test_established_every_second_full_sized_segment_is_acked_at_once(isns):
    """RFC 9293 §3.8.6.3 SHLD-19: an ACK for at least every second full-sized segment."""
    t = Tcb(isns, config=TcpConfig(quick_acks=0)).established()  # the delayed ACK alone
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1, data=b"1" * 1460)
    t.expect_silence()
    t.peer_sends(".", seq=t.irs + 1461, ack=t.iss + 1, data=b"2" * 1460)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 2921, at=0)
    t.peer_sends(".", seq=t.irs + 2921, ack=t.iss + 1, data=b"3" * 1460)
    t.expect_silence()
    t.peer_sends("P.", seq=t.irs + 4381, ack=t.iss + 1, data=b"4" * 1460)
    t.expect_sent(".", ack=t.irs + 5841)
    t.advance(ms(100))
    t.expect_silence()


def test_established_delayed_ack_rides_on_our_data(isns):
    """RFC 9293 §3.10.7.4 seventh: the acknowledgment "should be piggybacked on a segment
    being transmitted if possible"; then no separate ACK follows."""
    t = Tcb(isns, config=TcpConfig(quick_acks=0)).established()  # the delayed ACK alone
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"ping")
    t.advance(ms(10))
    t.send(b"pong")
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 5, data=b"pong")
    t.advance(ms(100))
    t.expect_silence()


def test_config_refuses_a_delayed_ack_of_half_a_second():
    """RFC 9293 §3.8.6.3 MUST-40: the delay must be less than 0.5 seconds."""
    with pytest.raises(ValueError, match="500 ms"):
        TcpConfig(delayed_ack=ms(500)).validate()


# --------------------------------------------------------------------------- segments for TSO

def test_established_a_link_that_splits_segments_gets_segments_larger_than_the_mss(isns):
    """A link with TCP segmentation offload splits large segments itself: the sender may
    then put up to ``max_segment_bytes`` in one segment. The initial window (ten MSS)
    leaves in one segment instead of ten; the receiver's window still bounds it, and a
    segment the window cuts short carries whole MSS-sized wire segments only."""
    t = established(isns, nodelay=True, psh_every=0)
    t.conn.set_max_segment_bytes(64000)
    t.send(bytes(30 * MSS))
    t.expect_sent(".", seq=t.iss + 1, len=10 * MSS)      # cwnd: ten full-sized segments
    t.expect_silence()
    t.peer_sends(".", ack=t.iss + 1 + 10 * MSS, wnd=8000)
    t.expect_sent(".", seq=t.iss + 1 + 10 * MSS, len=5 * MSS)  # the peer's window, in whole MSS
    t.expect_silence()                                   # (the 700 octets left: SWS avoidance)


def test_established_segments_are_one_mss_unless_the_link_splits_them(isns):
    t = established(isns, nodelay=True)
    t.send(bytes(3 * MSS))
    for k in range(3):
        t.expect_sent(seq=t.iss + 1 + k * MSS, len=MSS)


@pytest.mark.parametrize("n", [0, 70000, 1.5])
def test_max_segment_bytes_out_of_range_is_refused(isns, n):
    t = established(isns)
    with pytest.raises(ValueError, match="max_segment_bytes"):
        t.conn.set_max_segment_bytes(n)


def test_hystart_takes_the_rtt_of_the_newest_segment_a_stretch_ack_covers(isns):
    """An ACK for segments sent over 5 ms echoes the timestamp of the oldest (RFC 7323
    §4.3), so its TSecr sample is 5 ms longer than the path's RTT. HyStart++ (RFC 9406)
    gets the RTT of the newest segment the ACK delivered instead, as with every other
    ACK, so that stretch and delayed ACKs do not look like a queue building up."""
    t = Tcb(isns, nodelay=True)
    t.syn_sent()
    t.advance(ms(2))
    (syn_ts,) = [o for o in t.sent[-1][1].options if type(o) is Timestamps]
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1, options=(Mss(1460), SackPermitted(), Timestamps(100, syn_ts.tsval)))
    t.expect_sent(".", seq=t.iss + 1)
    conn = t.conn
    assert conn.ts_ok and conn.sack_ok
    mss = conn.eff_snd_mss
    t.send(bytes(2 * mss))                       # two segments now ...
    first = t.sent[-2][1]
    t.advance(ms(5))
    t.send(bytes(8 * mss))                       # ... eight more 5 ms later
    t.advance(ms(2))
    (ts,) = [o for o in first.options if type(o) is Timestamps]
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1 + 10 * mss,
                 options=(Timestamps(101, ts.tsval),))   # one ACK for all ten, echoing the first
    alg = conn.snd.cc
    assert isinstance(alg, Cubic)                # (the default algorithm, with HyStart++)
    hs = alg.hs
    # the RFC 6298 estimator took the echoed timestamp's 7 ms (after the handshake's 2 ms)
    assert conn.snd.rtt.srtt == (7 * ms(2) + ms(7)) // 8
    assert hs is not None and hs.last_round_min_rtt == ms(2)   # (the ACK ended the round)
