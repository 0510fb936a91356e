"""Sequence numbers across 2**32 (RFC 9293 §3.4: all arithmetic is modulo 2**32).

Every state test already runs with ISS = 2**32 - 3 and IRS = 2**32 - 2. These tests put the
boundary at each position of interest: on the SYN, inside a segment, in a hole of the
reassembly queue, inside the receive window, and between SND.UNA and MAX.SND.WND.
"""

from __future__ import annotations

import pytest
from harness import Tcb, ms

from synack.tcp.errors import ConnectionReset
from synack.wire.seq import Seq

TOP = 2**32


@pytest.mark.parametrize("k", range(1, 6))
def test_syn_sent_ack_check_when_snd_nxt_wraps(k):
    """RFC 9293 §3.10.7.3 first: ISS < SEG.ACK =< SND.NXT decides, modulo 2**32."""
    iss = TOP - k
    t = Tcb((iss, 7)).syn_sent()
    t.peer_sends(".", seq=7, ack=Seq(iss))          # SEG.ACK = ISS
    t.expect_sent("R", seq=iss)
    t.peer_sends(".", seq=7, ack=Seq(iss) + 2)      # SEG.ACK = SND.NXT + 1
    t.expect_sent("R", seq=Seq(iss) + 2)
    t.peer_sends("S.", seq=7, ack=Seq(iss) + 1)     # SEG.ACK = SND.NXT
    t.expect_sent(".", seq=Seq(iss) + 1, ack=8)
    t.expect_state("ESTABLISHED")


@pytest.mark.parametrize("k", [1, 2, 700, 1460, 1461, 3000])
def test_established_bulk_transfer_both_ways_across_2_32(k):
    """RFC 9293 §3.10.7.4 fifth and seventh across the boundary: 5000 octets each way in
    full-sized segments, the boundary k octets into the stream."""
    t = Tcb((TOP - k, TOP - k), nodelay=True).established()
    ours = bytes(range(256)) * 20
    theirs = bytes(reversed(range(256))) * 20
    ours, theirs = ours[:5000], theirs[:5000]
    assert t.send(ours) == 5000
    sent = b""
    for _ in range(4):
        seg = t.expect_sent(seq=t.iss + 1 + len(sent))
        sent += seg.payload
    assert sent == ours
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 5001)
    assert t.conn.snd_una == t.iss + 5001 and t.conn.next_deadline() is None
    for off in range(0, 5000, 1460):
        chunk = theirs[off:off + 1460]
        t.peer_sends("P.", seq=t.irs + 1 + off, ack=t.iss + 5001, data=chunk)
        t.expect_sent(".", seq=t.iss + 5001, ack=t.irs + 1 + off + len(chunk))
    assert t.receive() == theirs


@pytest.mark.parametrize("k", [1, 5, 10])
def test_established_out_of_order_hole_across_2_32(k):
    """RFC 9293 §3.10.7.4 (SHLD-31): a hole that contains the boundary is filled correctly."""
    t = Tcb((100, TOP - 3)).established()   # RCV.NXT = 2**32 - 2
    t.peer_sends("P.", seq=t.irs + 1 + k, ack=101, data=b"B" * 10)
    t.expect_sent(".", ack=t.irs + 1)
    t.peer_sends("P.", seq=t.irs + 1, ack=101, data=b"A" * k)
    t.expect_sent(".", ack=t.irs + 11 + k)
    assert t.receive() == b"A" * k + b"B" * 10


def test_established_window_spanning_2_32_accepts_and_challenges_correctly():
    """RFC 9293 §3.10.7.4 first and second with RCV.NXT = 2**32 - 2 and the window reaching
    past 0: a RST at 5 (in the window) gets a challenge ACK, one at 2**32 - 3 (just below)
    is dropped silently, one at RCV.NXT resets."""
    t = Tcb((100, TOP - 3), syn_window_whole_segments=False).established()
    assert t.window_edge == Seq(TOP - 2 + 65535)
    t.peer_sends("R", seq=5)
    t.expect_sent(".", seq=101, ack=TOP - 2)
    t.peer_sends("R", seq=TOP - 3)
    t.expect_silence()
    t.peer_sends(".", seq=5, ack=101)       # empty, in window past 0: acceptable
    t.expect_silence()
    t.advance(ms(500))  # (one ACK per 500 ms answers unacceptable segments: invalid_ratelimit)
    t.peer_sends(".", seq=TOP - 3, ack=101)  # empty, just below RCV.NXT: unacceptable
    t.expect_sent(".", seq=101, ack=TOP - 2)
    t.peer_sends("R", seq=TOP - 2)
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionReset)


def test_established_too_old_ack_across_2_32_is_refused():
    """RFC 5961 §5: SND.UNA = 101, so SND.UNA - MAX.SND.WND lies below 0; an ACK of
    2**32 - 65535 + 101 - 1 is one too old, 2**32 - 65535 + 101 is still acceptable."""
    t = Tcb((100, 300)).established()
    oldest = Seq(101) - 65535
    t.peer_sends("P.", seq=301, ack=oldest - 1, data=b"x")
    t.expect_sent(".", seq=101, ack=301)
    assert t.conn.readable == 0
    t.peer_sends("P.", seq=301, ack=oldest, data=b"x")
    t.expect_sent(".", seq=101, ack=302)
    assert t.receive() == b"x"


def test_time_wait_retransmitted_fin_at_2_32_minus_1():
    """RFC 9293 §3.10.7.4 TIME-WAIT: the peer's FIN occupies 2**32 - 1; RCV.NXT is 0."""
    t = Tcb((500, TOP - 2)).time_wait()
    t.peer_sends("F.", seq=TOP - 1, ack=502)
    t.expect_sent(".", seq=502, ack=0)
    t.expect_state("TIME-WAIT")
