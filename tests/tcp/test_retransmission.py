"""RFC 9293 §3.10.8 RETRANSMISSION TIMEOUT with RFC 6298 on the wire: the SYN, SYN,ACK, data
and FIN are retransmitted with exponential backoff, Karn's algorithm keeps retransmitted
segments out of the RTT estimate (§3.8.1 MUST-18), and R1/R2 of §3.8.3 (MUST-20..23) end
with ConnectionTimeout.

These tests run with the default TcpConfig (initial RTO 1 s, minimum 200 ms, maximum 120 s,
R1 = 3, R2 = 100 s, R2 for a SYN = 180 s) and check exact times.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from harness import Tcb, ms, sec

from synack.tcp.config import TcpConfig
from synack.tcp.errors import ConnectionTimeout

DEFAULT = TcpConfig()


def tcb(isns, **cfg) -> Tcb:
    return Tcb(isns, config=TcpConfig(**cfg))


# --------------------------------------------------------------------------- SYN and SYN,ACK


def test_syn_sent_syn_retransmitted_at_1_3_7_15_31_63_127_s_then_r2_syn_times_out(isns):
    """RFC 6298 (2.1) initial RTO 1 s, (5.5) doubled at each expiry (1, 2, 4, ... s, at most
    120 s); RFC 9293 §3.8.3 MUST-22/MUST-23: the SYN is retried for R2 = 180 s, then the
    connection closes with ConnectionTimeout. (The rfc profile: Linux's differ, below.)"""
    t = tcb(isns, profile="rfc").syn_sent()
    assert DEFAULT.r2_syn is not None
    t.advance(DEFAULT.r2_syn - 1)
    for at in (1, 3, 7, 15, 31, 63, 127):
        t.expect_sent("S", seq=t.iss, mss=1460, data=b"", cause="rto", at=sec(at))
    t.expect_silence()
    t.expect_state("SYN-SENT")
    t.advance(1)
    t.expect_state("CLOSED")
    t.expect_silence()
    assert isinstance(t.conn.error, ConnectionTimeout)
    assert t.conn.next_deadline() is None


def test_syn_sent_r2_syn_is_settable(isns):
    """RFC 9293 §3.8.3 MUST-21: the application can set R2 for a connection (here 10 s)."""
    t = tcb(isns, profile="rfc", r2_syn=sec(10)).syn_sent()
    t.advance(sec(10) - 1)
    for at in (1, 3, 7):
        t.expect_sent("S", cause="rto", at=sec(at))
    t.expect_state("SYN-SENT")
    t.advance(1)
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionTimeout)


def test_linux_syn_sent_first_four_retransmissions_keep_the_rto_then_ten_end_it(isns):
    """The linux profile: tcp_syn_linear_timeouts = 4 keeps the first retransmissions 1 s
    apart (0, 1, 2, 3, 4, 5 s), then the RTO doubles (7, 11, 19, 35, 67 s); after
    tcp_syn_retries + 4 = 10 retransmissions the connection times out at 131 s, as measured
    on Linux 6.x (well before R2 for a SYN)."""
    t = tcb(isns, profile="linux").syn_sent()
    t.advance(sec(131) - 1)
    for at in (1, 2, 3, 4, 5, 7, 11, 19, 35, 67):
        t.expect_sent("S", seq=t.iss, cause="rto", at=sec(at))
    t.expect_silence()
    t.expect_state("SYN-SENT")
    t.advance(1)
    t.expect_state("CLOSED")
    t.expect_silence()
    assert isinstance(t.conn.error, ConnectionTimeout) and "10 SYN retransmissions" in str(t.conn.error)


def test_syn_received_syn_ack_retransmitted_with_backoff_then_r2_syn_times_out(isns):
    """RFC 9293 §3.10.8 and RFC 6298 (5.5): the SYN,ACK is resent at 1, 3, 7 ... s; §3.8.3
    MUST-22: the same R2 applies."""
    t = tcb(isns).syn_received()
    assert DEFAULT.r2_syn is not None
    t.advance(DEFAULT.r2_syn - 1)
    for at in (1, 3, 7, 15, 31, 63, 127):
        t.expect_sent("S.", seq=t.iss, ack=t.irs + 1, mss=1460, cause="rto", at=sec(at))
    t.expect_silence()
    t.advance(1)
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionTimeout)


def test_syn_sent_retransmitted_syn_gives_no_rtt_sample_and_data_starts_with_rto_3_s(isns):
    """RFC 6298 §3 (Karn, RFC 9293 §3.8.1 MUST-18): the SYN,ACK answers a retransmitted SYN,
    so no RTT sample is taken (SRTT stays undefined); RFC 6298 (5.7): data then starts with
    RTO = 3 s, doubling as usual (3, 6, 12 s)."""
    t = tcb(isns).syn_sent()
    t.advance(ms(1500))
    t.expect_sent("S", cause="rto", at=sec(1))
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    assert t.conn.rtt.srtt is None
    t.send(b"data")
    t.expect_sent("P.", seq=t.iss + 1, data=b"data", at=ms(1500))
    t.advance(sec(21) + 1)
    for at in (3, 9, 21):
        t.expect_sent("P.", seq=t.iss + 1, data=b"data", cause="rto", at=ms(1500) + sec(at))
    t.expect_silence()
    assert t.conn.rtt.srtt is None


def test_syn_sent_clean_handshake_takes_an_rtt_sample(isns):
    """RFC 6298 (2.2): the first measurement R gives SRTT = R, RTTVAR = R/2, RTO = SRTT +
    max(G, 4*RTTVAR): 100 ms -> 300 ms."""
    t = tcb(isns).established(rtt=ms(100))
    rt = t.conn.rtt
    assert (rt.srtt, rt.rttvar, rt.rto) == (ms(100), ms(50), ms(300))


# --------------------------------------------------------------------------- data


def test_established_data_retransmitted_with_doubling_rto(isns):
    """RFC 9293 §3.10.8: the segment at the front of the queue is sent again; RFC 6298
    (5.4)-(5.6): the timer doubles each time (300 ms measured: 0.3, 0.9, 2.1, 4.5 s)."""
    t = tcb(isns).established(rtt=ms(100))
    t0 = t.now
    t.send(b"x" * 100)
    t.expect_sent("P.", seq=t.iss + 1, data=b"x" * 100, cause=None, at=t0)
    t.advance(ms(4500))
    for at in (300, 900, 2100, 4500):
        t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 1, data=b"x" * 100, cause="rto", at=t0 + ms(at))
    t.expect_silence()


def test_established_ack_of_a_retransmission_gives_no_rtt_sample(isns):
    """RFC 6298 §3, RFC 9293 §3.8.1 MUST-18 (Karn): an ACK for a retransmitted segment is
    ambiguous and is not measured; SRTT keeps the handshake's 100 ms. The backed-off RTO
    (600 ms) stays until a valid sample (RFC 6298 §5): the next segment is retransmitted 600
    ms after it left, and only an ACK that measures an RTT brings the RTO down again."""
    t = tcb(isns).established(rtt=ms(100))
    t.send(b"a" * 10)
    t.expect_sent("P.", data=b"a" * 10)
    t.advance(ms(300))
    t.expect_sent("P.", data=b"a" * 10, cause="rto")
    t.advance(ms(50))  # an ACK 350 ms after the first transmission, 50 ms after the second
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 11)
    assert t.conn.rtt.srtt == ms(100)
    t1 = t.now
    t.send(b"b" * 10)
    t.expect_sent("P.", seq=t.iss + 11, data=b"b" * 10, at=t1)
    t.advance(ms(599))
    t.expect_silence()
    t.advance(ms(1))
    t.expect_sent("P.", seq=t.iss + 11, data=b"b" * 10, cause="rto", at=t1 + ms(600))
    t.advance(ms(100))  # this ACK is again ambiguous: the backoff (now 1.2 s) stays
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 21)
    t2 = t.now
    t.send(b"c" * 10)
    t.expect_sent("P.", seq=t.iss + 21, at=t2)
    t.advance(ms(100))  # a clean sample of 100 ms: the RTO collapses (SRTT + 4 RTTVAR = 250 ms)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 31)
    assert t.conn.rtt.backoff == 0 and t.conn.rtt.timeout == ms(250)
    t3 = t.now
    t.send(b"d" * 10)
    t.expect_sent("P.", seq=t.iss + 31, at=t3)
    t.advance(ms(250))
    t.expect_sent("P.", seq=t.iss + 31, cause="rto", at=t3 + ms(250))


def test_established_ack_of_new_data_restarts_the_timer(isns):
    """RFC 6298 (5.3): when an ACK acknowledges new data, restart the timer so that it expires
    after RTO (for the current value of RTO)."""
    t = tcb(isns, nodelay=True).established(rtt=ms(100))
    t0 = t.now
    t.send(b"1" * 1460)
    t.send(b"2" * 1460)
    t.expect_sent("P.", seq=t.iss + 1, data=b"1" * 1460)
    t.expect_sent("P.", seq=t.iss + 1461, data=b"2" * 1460)
    t.advance(ms(200))
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1461)
    t.expect_silence()
    rto = t.conn.rtt.rto  # updated by this ACK's sample (RFC 6298 (2.3))
    t.advance(rto - 1)
    t.expect_silence()
    t.advance(1)
    t.expect_sent("P.", seq=t.iss + 1461, data=b"2" * 1460, cause="rto", at=t0 + ms(200) + rto)


def test_established_r1_reports_then_r2_times_out(isns):
    """RFC 9293 §3.8.3 MUST-20: after R1 = 3 retransmissions, pass negative advice (a soft
    error for the user, SHLD-9); at R2 = 100 s after the data was first sent, close the
    connection with ConnectionTimeout. RTO 300 ms: resent at 0.3, 0.9, 2.1, 4.5, 9.3, 18.9,
    38.1, 76.5 s. (R2 = 100 s is the RFC's floor, SHLD-11, and the rfc profile's; Linux's
    tcp_retries2 comes to 924.6 s.)"""
    t = tcb(isns, r2=sec(100)).established(rtt=ms(100))
    t0 = t.now
    t.send(b"hello?")
    t.expect_sent("P.", data=b"hello?", at=t0)
    times = (300, 900, 2100, 4500, 9300, 18900, 38100, 76500)
    for i, at in enumerate(times, 1):
        t.advance_to(t0 + ms(at))
        t.expect_sent("P.", seq=t.iss + 1, data=b"hello?", cause="rto", at=t0 + ms(at))
        assert (t.conn.soft_error is not None) == (i >= DEFAULT.r1), f"after retransmission {i}"
    t.advance_to(t0 + sec(100) - 1)
    t.expect_silence()
    t.expect_state("ESTABLISHED")
    t.advance(1)
    t.expect_state("CLOSED")
    t.expect_silence()
    assert isinstance(t.conn.error, ConnectionTimeout)
    assert t.conn.next_deadline() is None


def test_established_without_r2_retransmits_for_ever(isns):
    """RFC 9293 §3.8.3 MUST-21: R2 may be set to infinity; the RTO stops growing at 120 s
    (RFC 6298 (2.5))."""
    t = tcb(isns, r2=None).established(rtt=ms(100))
    t.send(b"?")
    t.expect_sent("P.", data=b"?")
    t.advance(sec(1000))
    resent = t.drain()
    assert len(resent) > 10
    gaps = [b[0] - a[0] for a, b in pairwise(resent)]
    assert max(gaps) == sec(120)
    t.expect_state("ESTABLISHED")


# --------------------------------------------------------------------------- FIN


@pytest.mark.parametrize("state", ["FIN-WAIT-1", "LAST-ACK", "CLOSING"])
def test_closing_states_fin_retransmitted_with_doubling_rto(isns, state):
    """RFC 9293 §3.10.8: an unacknowledged FIN is retransmitted like data; the handshake
    measured RTT 0, so RTO = 200 ms (the minimum) and then 400, 800 ms."""
    t = Tcb(isns, config=TcpConfig())
    {"FIN-WAIT-1": t.fin_wait_1, "LAST-ACK": t.last_ack, "CLOSING": t.closing}[state]()
    rcv_nxt = t.peer_nxt
    t0 = [s for s in t.sent if s[1].flags & 0x01][-1][0]  # when our FIN left
    t.advance_to(t0 + ms(1400))
    for at in (200, 600, 1400):
        t.expect_sent("F.", seq=t.iss + 1, ack=rcv_nxt, data=b"", cause="rto", at=t0 + ms(at))
    t.expect_silence()
    t.expect_state(state)


def test_fin_wait_1_fin_sent_with_data_is_retransmitted_with_it(isns):
    """RFC 9293 §3.10.8: the front of the queue, data and FIN together, is sent again."""
    t = tcb(isns).established()
    t.send(b"first")
    t.expect_sent("P.", seq=t.iss + 1, data=b"first")
    t.send(b"bye")  # held by Nagle ...
    t.close()       # ... until the CLOSE: data and FIN leave together
    t.expect_sent("FP.", seq=t.iss + 6, data=b"bye")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 6)
    t.advance(ms(200))
    t.expect_sent("FP.", seq=t.iss + 6, data=b"bye", cause="rto")


def test_syn_received_close_retransmits_syn_ack_then_fin(isns):
    """RFC 9293 §3.10.4 SYN-RECEIVED sends the FIN at once; §3.10.8: the front of the
    retransmission queue is the SYN,ACK, and once it is acknowledged, the FIN."""
    t = tcb(isns).syn_received()
    t.close()
    t.expect_sent("F.", seq=t.iss + 1, ack=t.irs + 1)
    t.advance(sec(1))
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1, cause="rto", at=sec(1))
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_silence()
    t.expect_state("FIN-WAIT-1")
    t.advance(sec(3))
    t.expect_sent("F.", seq=t.iss + 1, ack=t.irs + 1, cause="rto", at=sec(4))


def test_time_wait_retransmits_nothing(isns):
    """RFC 9293 §3.10.7.4 eighth: TIME-WAIT turns off the other timers; only 2*MSL runs."""
    t = tcb(isns).time_wait()
    t.advance(2 * DEFAULT.msl)
    t.expect_silence()
    t.expect_state("CLOSED")


def test_syn_received_back_in_listen_next_syn_ack_starts_from_the_initial_rto(isns):
    """RFC 9293 §3.10.7.4 second (passive SYN-RECEIVED returns to LISTEN, the retransmission
    queue flushed); RFC 6298 (2.1): the next handshake's SYN,ACK is retransmitted after the
    initial 1 s, not with the backoff of the attempt that was reset."""
    t = tcb(isns).syn_received()
    t.advance(sec(3))
    t.expect_sent("S.", cause="rto", at=sec(1))
    t.expect_sent("S.", cause="rto", at=sec(3))
    t.peer_sends("R", seq=t.irs + 1)
    t.expect_state("LISTEN")
    t.peer_sends("S", seq=t.irs + 1000)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1001, cause=None, at=sec(3))
    t.advance(sec(3))
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1001, cause="rto", at=sec(4))
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1001, cause="rto", at=sec(6))
