"""Answers to unacceptable segments, rate-limited per connection (RFC 9293 §3.10.7.4 first
and fifth checks, RFC 5961 §7; Linux's net.ipv4.tcp_invalid_ratelimit, 500 ms).

RFC 9293 answers a segment outside the window, or one acknowledging data not yet sent,
with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>; RFC 5961 answers an in-window RST or any SYN
with a challenge ACK. A peer (or a forger) that floods such segments would get one ACK
each. With the limit, a connection answers at most one every 500 ms; an ACK that reports
a new D-SACK block (a spurious retransmission, RFC 2883) always leaves."""

from __future__ import annotations

import pytest
from harness import established, ms
from optpeer import opt_established, sack_of

from synack.tcp.config import TcpConfig

FLOODS = {
    "beyond the window": lambda t: t.peer_sends(".", seq=t.peer_nxt + 200_000),
    "ACK of unsent data": lambda t: t.peer_sends("P.", ack=t.our_nxt + 100_000, data=b"evil"),
    "in-window RST (RFC 5961 §3.2)": lambda t: t.peer_sends("R", seq=t.peer_nxt + 10),
    "SYN (RFC 5961 §4.2)": lambda t: t.peer_sends("S", seq=t.peer_nxt + 10),
    "the same old data again": lambda t: t.peer_sends("P.", seq=t.peer_nxt - 5, data=b"hello"),
}


def answers(t) -> int:
    return sum(1 for _, seg, _ in t.drain())


@pytest.mark.parametrize("kind", list(FLOODS))
def test_established_a_flood_of_unacceptable_segments_draws_one_ack_per_500_ms(isns, kind):
    t = established(isns)
    t.peer_sends("P.", data=b"hello")  # (old data needs something received before)
    t.expect_sent(".", ack=t.peer_nxt)
    flood = FLOODS[kind]
    for _ in range(50):
        flood(t)
    assert answers(t) == 1
    t.advance(ms(499))
    flood(t)
    assert answers(t) == 0
    t.advance(ms(1))
    for _ in range(50):
        flood(t)
    assert answers(t) == 1
    t.expect_state("ESTABLISHED")
    assert t.conn.rcv.oow_acks_skipped == 99


def test_established_each_new_duplicate_gets_its_d_sack(isns):
    """RFC 2883: spurious retransmissions of different old segments are each reported."""
    t = opt_established(isns)
    t.peer_sends("P.", data=b"0123456789")
    t.expect_sent(".", ack=t.irs + 11)
    for lo, hi in ((0, 5), (5, 10), (2, 8)):
        t.peer_sends("P.", seq=t.irs + 1 + lo, data=b"x" * (hi - lo))
        ack = t.expect_sent(".", ack=t.irs + 11)
        assert sack_of(ack)[0] == (int(t.irs + 1 + lo), int(t.irs + 1 + hi))
    t.peer_sends("P.", seq=t.irs + 3, data=b"x" * 6)  # (2, 8) again: no news
    t.expect_silence()


def test_established_probes_of_a_zero_window_are_always_answered(isns):
    """A zero-window probe is not out of the window's spirit: each gets its ACK (RFC 9293
    §3.8.6.1), however often it comes."""
    t = established(isns, rcv_buf=100, window_scale=False)
    t.peer_sends("P.", data=b"z" * 100)
    t.expect_sent(".", ack=t.peer_nxt, wnd=0)
    for _ in range(3):
        t.peer_sends("P.", seq=t.irs + 101, data=b"?")  # at RCV.NXT, into the closed window
        t.expect_sent(".", ack=t.irs + 101, wnd=0)


def test_time_wait_a_retransmitted_fin_is_acknowledged_each_time(isns):
    t = established(isns)
    t.close()
    t.expect_sent("F.")
    t.peer_sends("F.", ack=t.our_nxt)
    t.expect_sent(".")
    t.expect_state("TIME-WAIT")
    for _ in range(3):
        t.peer_sends("F.", seq=t.peer_nxt - 1, ack=t.our_nxt)
        t.expect_sent(".", ack=t.peer_nxt)


def test_without_the_limit_every_unacceptable_segment_is_answered(isns):
    t = established(isns, invalid_ratelimit=None)
    for _ in range(20):
        t.peer_sends(".", seq=t.peer_nxt + 200_000)
    assert answers(t) == 20


@pytest.mark.parametrize("bad", [-1, 61 * 10**9])
def test_config_refuses_an_invalid_ratelimit_out_of_range(bad):
    with pytest.raises(ValueError, match="invalid_ratelimit"):
        TcpConfig(invalid_ratelimit=bad).validate()
