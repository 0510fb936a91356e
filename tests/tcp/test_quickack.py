"""Quick-ACK and ping-pong modes of the linux profile (Linux tcp_incr_quickack,
tcp_event_data_sent, tcp_fin), against the plain delayed ACK of RFC 9293 §3.8.6.3 that the
rfc profile keeps. What is checked is when ACKs leave, as a peer sees them."""

from __future__ import annotations

from harness import Tcb, ms

from synack.tcp.config import TcpConfig

SMALL = b"x" * 100  # a segment well under the MSS: the delayed ACK would hold it


def linux(isns, **knobs) -> Tcb:
    return Tcb(isns, config=TcpConfig(profile="linux", **knobs)).established()


def test_the_first_sixteen_segments_are_acked_at_once_then_the_delayed_ack(isns):
    """Linux TCP_MAX_QUICKACKS = 16: the window holds far more than 32 segments, so the
    first 16 lone segments are each ACKed at once; the 17th waits 40 ms (TCP_ATO_MIN)."""
    t = linux(isns)
    for i in range(16):
        t.peer_sends("P.", data=SMALL)
        t.expect_sent(".", ack=t.irs + 1 + 100 * (i + 1), at=0)
    t.peer_sends("P.", data=SMALL)
    t.expect_silence()
    t.advance(ms(40))
    t.expect_sent(".", ack=t.irs + 1 + 1700, at=ms(40))
    t.expect_silence()


def test_a_small_window_buys_fewer_quick_acks(isns):
    """The budget is half the window in segments (Linux: rcv_wnd / (2 * rcv_mss), with
    rcv_mss 536 until larger segments arrive): a 4380-octet window gives 4, not 16."""
    t = linux(isns, rcv_buf=4380)
    for i in range(4):
        t.peer_sends("P.", data=SMALL)
        t.expect_sent(".", ack=t.irs + 1 + 100 * (i + 1), at=0)
        assert t.receive() == SMALL
    t.peer_sends("P.", data=SMALL)
    t.expect_silence()
    t.advance(ms(40))
    t.expect_sent(".", ack=t.irs + 501)


def test_quick_acks_come_back_after_the_receiver_was_idle_longer_than_the_rto(isns):
    """After an idle spell longer than the RTO (200 ms here) the sender restarts in slow
    start: Linux ACKs it at once again. A shorter pause keeps the delayed ACK."""
    t = linux(isns)
    for _ in range(16):
        t.peer_sends("P.", data=SMALL)
        t.expect_sent(".")
    t.advance(ms(150))  # idle, but less than the RTO
    t.peer_sends("P.", data=SMALL)
    t.expect_silence()
    t.advance(ms(40))
    t.expect_sent(".", ack=t.irs + 1701)
    t.advance(ms(300))  # idle longer than the RTO
    t.peer_sends("P.", data=SMALL)
    t.expect_sent(".", ack=t.irs + 1801, at=t.now)


def test_an_answer_within_the_ack_delay_enters_ping_pong_mode(isns):
    """Request, answer, request: once the application answered within 40 ms of the data,
    the next request's ACK waits, so the next answer carries it (Linux ping-pong mode); an
    ACK the timer had to send ends the mode, and quick ACKs resume."""
    t = linux(isns)
    t.peer_sends("P.", data=b"ping")
    t.expect_sent(".", ack=t.irs + 5, at=0)
    t.advance(ms(10))
    t.send(b"pong")
    t.expect_sent("P.", data=b"pong", ack=t.irs + 5)
    t.peer_sends("P.", ack=t.iss + 5, data=b"ping")
    t.expect_silence()
    t.advance(ms(5))
    t.send(b"pong")
    t.expect_sent("P.", data=b"pong", ack=t.irs + 9)  # the ACK rides on the answer
    t.peer_sends("P.", ack=t.iss + 9, data=b"ping")
    t.expect_silence()
    t.advance(ms(40))
    t.expect_sent(".", ack=t.irs + 13)  # no answer came: the timer sent it, ping-pong ends
    t.advance(ms(100))
    t.peer_sends("P.", ack=t.iss + 9, data=b"ping")
    t.expect_sent(".", ack=t.irs + 17, at=t.now)


def test_a_fin_after_quickly_acked_data_waits_for_the_delayed_ack(isns):
    """Linux tcp_fin: the FIN that ends ESTABLISHED enters ping-pong mode, so its ACK waits
    40 ms, in case the application closes and its FIN carries it."""
    t = linux(isns)
    t.peer_sends("P.", data=b"0123456789")
    t.expect_sent(".", ack=t.irs + 11, at=0)
    t.advance(ms(100))
    t.peer_sends("F.")
    t.expect_silence()
    t.expect_state("CLOSE-WAIT")
    t.advance(ms(40))
    t.expect_sent(".", ack=t.irs + 12, at=ms(140))


def test_a_close_soon_after_the_fin_sends_one_segment_not_two(isns):
    """The FIN's delayed ACK rides on our own FIN when the application closes at once."""
    t = linux(isns)
    t.peer_sends("FP.", data=b"bye")
    t.expect_silence()
    assert t.receive() == b"bye"
    t.advance(ms(5))
    t.close()
    t.expect_sent("F.", seq=t.iss + 1, ack=t.irs + 5)
    t.advance(ms(100))
    t.expect_silence()
    t.expect_state("LAST-ACK")


def test_data_arriving_again_restores_quick_acks(isns):
    """A retransmission of data already ACKed means our ACK was lost or late: Linux ACKs it
    at once and gives the quick-ACK budget back (tcp_enter_quickack_mode)."""
    t = linux(isns)
    for _ in range(16):
        t.peer_sends("P.", data=SMALL)
        t.expect_sent(".")
    t.peer_sends("P.", seq=t.irs + 1501, data=SMALL)  # the 16th again
    t.expect_sent(".", ack=t.irs + 1601, at=0)
    t.peer_sends("P.", data=SMALL)
    t.expect_sent(".", ack=t.irs + 1701, at=0)


def test_reading_short_segments_sends_the_ack_the_timer_waits_for(isns):
    """Linux tcp_cleanup_rbuf: once quick ACKs are spent a lone short segment waits for the
    timer, unless the application reads it first: a read that empties the buffer of short
    segments sends the ACK then (10 ms here, not 40)."""
    t = linux(isns)
    for _ in range(16):
        t.peer_sends("P.", data=SMALL)
        t.expect_sent(".")
    t.peer_sends("P.", data=SMALL)
    t.expect_silence()
    t.advance(ms(10))
    assert t.receive() == SMALL * 17
    t.expect_sent(".", ack=t.irs + 1701, at=ms(10))
    t.advance(ms(100))
    t.expect_silence()


def test_in_ping_pong_mode_reading_one_short_segment_does_not_send_the_ack(isns):
    """In ping-pong mode a read of one short segment leaves the ACK to the timer (or to the
    answer); a second short segment read makes it go (Linux ICSK_ACK_PUSHED2)."""
    t = linux(isns)
    t.peer_sends("P.", data=b"ping")
    t.expect_sent(".", at=0)
    t.send(b"pong")
    t.expect_sent("P.", data=b"pong")
    t.peer_sends("P.", ack=t.iss + 5, data=b"ping")
    t.advance(ms(10))
    assert t.receive() == b"pingping"
    t.expect_silence()
    t.peer_sends("P.", ack=t.iss + 5, data=b"ping")
    assert t.receive() == b"ping"
    t.expect_sent(".", ack=t.irs + 13, at=ms(10))


def test_the_delayed_ack_time_doubles_after_the_timer_had_to_send_an_ack(isns):
    """Linux's ATO: a lone segment past the quick ACKs waits the least (40 ms); because the
    timer had to send that ACK the next one waits twice as long, bounded by the smoothed
    RTT (100 ms here); a segment in quick succession brings it back down."""
    t = Tcb(isns, config=TcpConfig(profile="linux")).established(rtt=ms(100))
    for _ in range(16):
        t.peer_sends("P.", data=SMALL)
        t.expect_sent(".")
    t.advance(ms(100))
    t.peer_sends("P.", data=SMALL)
    t.advance(ms(40))
    t.expect_sent(".", ack=t.irs + 1701, at=t.now)       # 40 ms
    t.advance(ms(100))
    start = t.now
    t.peer_sends("P.", data=SMALL)
    t.advance(ms(79))
    t.expect_silence()
    t.advance(ms(1))
    t.expect_sent(".", ack=t.irs + 1801, at=start + ms(80))  # 80 ms
    t.advance(ms(150))
    start = t.now
    t.peer_sends("P.", data=SMALL)                           # ATO 160 ms, the RTT bounds it
    t.advance(ms(100))
    t.expect_sent(".", ack=t.irs + 1901, at=start + ms(100))


def test_a_segment_arriving_as_the_timer_is_about_to_fire_is_acked_at_once(isns):
    """Linux tcp_send_delayed_ack: with the timer due within a quarter of the ATO, the next
    short segment's arrival sends the ACK for both; earlier in the wait it keeps waiting."""
    t = linux(isns)
    for _ in range(16):
        t.peer_sends("P.", data=SMALL)
        t.expect_sent(".")
    t.advance(ms(100))
    t.peer_sends("P.", data=SMALL)                 # the timer: 40 ms from now
    t.advance(ms(5))
    t.peer_sends("P.", data=SMALL)                 # 35 ms before it: the wait goes on
    t.expect_silence()
    t.advance(ms(30))
    t.peer_sends("P.", data=SMALL)                 # 5 ms before it: ACK now
    t.expect_sent(".", ack=t.irs + 1901, at=t.now)


def test_the_rfc_profile_delays_the_first_segments_ack_and_acks_a_fin_at_once(isns):
    """RFC 9293 §3.8.6.3 SHLD-18 (MUST-40: under 0.5 s): a lone segment's ACK is delayed, the
    first as any other (200 ms in the rfc profile); §3.10.7.4 eighth: the FIN is ACKed."""
    t = Tcb(isns, config=TcpConfig(profile="rfc")).established()
    t.peer_sends("P.", data=SMALL)
    t.expect_silence()
    t.advance(ms(200))
    t.expect_sent(".", ack=t.irs + 101, at=ms(200))
    t.peer_sends("F.")
    t.expect_sent(".", ack=t.irs + 102, at=ms(200))
    t.expect_state("CLOSE-WAIT")


def test_quick_acks_is_checked():
    import pytest

    with pytest.raises(ValueError, match="quick_acks"):
        TcpConfig(quick_acks=-1).validate()
    assert TcpConfig(profile="linux").quick_acks == 16
    assert TcpConfig(profile="rfc").quick_acks == 0
