"""RFC 9293 §3.10.7.4 in the closing states: FIN-WAIT-1, FIN-WAIT-2, CLOSING, TIME-WAIT,
CLOSE-WAIT and LAST-ACK (their ACK-field additions, text and FIN), and the TIME-WAIT timeout
of §3.10.8 (§3.6.1 MUST-13: 2*MSL). Sequence, RST and SYN checks are in
test_segment_checks.py.
"""

from __future__ import annotations

from harness import (
    close_wait, closing, established, fin_wait_1, fin_wait_2, last_ack, ms, sec, time_wait,
)

from synack.tcp.config import TcpConfig

MSL = TcpConfig().msl  # 30 s: TIME-WAIT lasts 60 s


# --------------------------------------------------------------------------- FIN-WAIT-1


def test_fin_wait_1_ack_of_fin_enters_fin_wait_2(isns):
    """RFC 9293 §3.10.7.4 fifth, FIN-WAIT-1: if the FIN segment is now acknowledged, enter
    FIN-WAIT-2. Nothing is left to retransmit."""
    t = fin_wait_1(isns)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_silence()
    t.expect_state("FIN-WAIT-2")
    assert t.conn.next_deadline() is None


def test_fin_wait_1_ack_of_data_but_not_fin_stays(isns):
    """RFC 9293 §3.10.7.4 fifth, FIN-WAIT-1: an ACK that does not cover the FIN leaves us in
    FIN-WAIT-1."""
    t = established(isns)
    t.send(b"data")
    t.expect_sent("P.", seq=t.iss + 1, data=b"data")
    t.close()
    t.expect_sent("F.", seq=t.iss + 5, data=b"")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 5)
    t.expect_silence()
    t.expect_state("FIN-WAIT-1")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 6)
    t.expect_state("FIN-WAIT-2")


def test_fin_wait_1_fin_enters_closing_and_is_acked(isns):
    """RFC 9293 §3.10.7.4 eighth, FIN-WAIT-1: our FIN is not acknowledged: enter CLOSING; the
    FIN is acknowledged <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (simultaneous close)."""
    t = fin_wait_1(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 2, len=0)
    t.expect_silence()
    t.expect_state("CLOSING")


def test_fin_wait_1_fin_acking_our_fin_enters_time_wait(isns):
    """RFC 9293 §3.10.7.4 eighth, FIN-WAIT-1: if our FIN has been ACKed (perhaps in this
    segment), enter TIME-WAIT, start the time-wait timer, turn off the other timers."""
    t = fin_wait_1(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 2)
    t.expect_silence()
    t.expect_state("TIME-WAIT")
    assert t.conn.next_deadline() == t.now + 2 * MSL


def test_fin_wait_1_text_is_still_received(isns):
    """RFC 9293 §3.10.7.4 seventh, FIN-WAIT-1 (half-close, §3.6): after our CLOSE the peer's
    text is still delivered and acknowledged."""
    t = fin_wait_1(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"still talking")
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 14)
    t.expect_state("FIN-WAIT-1")
    assert t.receive() == b"still talking"


# --------------------------------------------------------------------------- FIN-WAIT-2


def test_fin_wait_2_fin_enters_time_wait_and_is_acked(isns):
    """RFC 9293 §3.10.7.4 eighth, FIN-WAIT-2: enter TIME-WAIT, start the time-wait timer,
    acknowledge the FIN."""
    t = fin_wait_2(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 2, len=0)
    t.expect_silence()
    t.expect_state("TIME-WAIT")
    assert t.conn.next_deadline() == t.now + 2 * MSL


def test_fin_wait_2_text_is_still_received(isns):
    """RFC 9293 §3.10.7.4 seventh, FIN-WAIT-2 (half-close): text is delivered and ACKed."""
    t = fin_wait_2(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 2, data=b"more")
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 5)
    t.peer_sends("FP.", seq=t.irs + 5, ack=t.iss + 2, data=b" and bye")
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 14)
    t.expect_state("TIME-WAIT")
    assert t.receive() == b"more and bye"


def test_fin_wait_2_has_no_timer(isns):
    """RFC 9293 §3.10.7.4: FIN-WAIT-2 waits for the peer's FIN; nothing is outstanding."""
    t = fin_wait_2(isns)
    assert t.conn.next_deadline() is None


# --------------------------------------------------------------------------- CLOSING


def test_closing_ack_of_fin_enters_time_wait(isns):
    """RFC 9293 §3.10.7.4 fifth, CLOSING: if the ACK acknowledges our FIN, enter TIME-WAIT."""
    t = closing(isns)
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 2)
    t.expect_silence()
    t.expect_state("TIME-WAIT")
    assert t.conn.next_deadline() == t.now + 2 * MSL


def test_closing_other_ack_is_ignored(isns):
    """RFC 9293 §3.10.7.4 fifth, CLOSING: otherwise, ignore the segment."""
    t = closing(isns)
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 1)
    t.expect_silence()
    t.expect_state("CLOSING")


def test_closing_retransmitted_fin_is_acked(isns):
    """RFC 9293 §3.10.7.4 first and eighth (CLOSING: remain): the peer's FIN again is old and
    gets <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    t = closing(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 2)
    t.expect_state("CLOSING")


def test_closing_text_is_ignored(isns):
    """RFC 9293 §3.10.7.4 seventh, CLOSING: a FIN has been received; ignore segment text."""
    t = closing(isns)
    t.peer_sends("P.", seq=t.irs + 2, ack=t.iss + 1, data=b"after fin")
    t.expect_silence()
    t.expect_state("CLOSING")
    assert t.conn.readable == 0


# --------------------------------------------------------------------------- LAST-ACK


def test_last_ack_ack_of_fin_closes(isns):
    """RFC 9293 §3.10.7.4 fifth, LAST-ACK: if our FIN is now acknowledged, delete the TCB,
    enter CLOSED; a normal close reports no error."""
    t = last_ack(isns)
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 2)
    t.expect_silence()
    t.expect_state("CLOSED")
    assert t.conn.error is None
    assert t.conn.next_deadline() is None


def test_last_ack_other_ack_is_ignored(isns):
    """RFC 9293 §3.10.7.4 fifth, LAST-ACK: the only thing that can arrive is an ACK of our
    FIN; anything else changes nothing."""
    t = last_ack(isns)
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 1)
    t.expect_silence()
    t.expect_state("LAST-ACK")


def test_last_ack_retransmitted_fin_is_acked(isns):
    """RFC 9293 §3.10.7.4 first and eighth (LAST-ACK: remain)."""
    t = last_ack(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 2)
    t.expect_state("LAST-ACK")


def test_last_ack_text_is_ignored(isns):
    """RFC 9293 §3.10.7.4 seventh, LAST-ACK: ignore the segment text."""
    t = last_ack(isns)
    t.peer_sends("P.", seq=t.irs + 2, ack=t.iss + 1, data=b"after fin")
    t.expect_silence()
    assert t.conn.readable == 0


def test_last_ack_then_closed_answers_with_rst(isns):
    """RFC 9293 §3.10.7.1: after LAST-ACK the TCB is gone; a late segment gets a reset."""
    t = last_ack(isns)
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 2)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_sent("R", seq=t.iss + 2)


# --------------------------------------------------------------------------- TIME-WAIT


def test_time_wait_expires_after_exactly_2msl(isns):
    """RFC 9293 §3.10.8 TIME-WAIT TIMEOUT, §3.6.1 MUST-13: after 2*MSL delete the TCB, enter
    CLOSED. Nothing is sent."""
    t = time_wait(isns)
    t.advance(2 * MSL - 1)
    t.expect_state("TIME-WAIT")
    t.advance(1)
    t.expect_state("CLOSED")
    t.expect_silence()
    assert t.conn.error is None
    assert t.conn.next_deadline() is None


def test_time_wait_retransmitted_fin_is_acked_and_restarts_2msl(isns):
    """RFC 9293 §3.10.7.4 fifth and eighth, TIME-WAIT: the only thing that can arrive is a
    retransmission of the remote FIN: acknowledge it, and restart the 2 MSL timeout."""
    t = time_wait(isns)
    t.advance(sec(20))
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 2)
    t.expect_silence()
    t.advance(2 * MSL - 1)
    t.expect_state("TIME-WAIT")
    t.advance(1)
    t.expect_state("CLOSED")


def test_time_wait_from_closing_lasts_2msl(isns):
    """RFC 9293 §3.10.7.4 fifth, CLOSING -> TIME-WAIT; §3.6.1 MUST-13."""
    t = closing(isns)
    t.advance(ms(5))
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 2)
    t.expect_state("TIME-WAIT")
    t.advance(2 * MSL - 1)
    t.expect_state("TIME-WAIT")
    t.advance(1)
    t.expect_state("CLOSED")
    t.expect_silence()


def test_time_wait_turns_off_the_other_timers(isns):
    """RFC 9293 §3.10.7.4 eighth: entering TIME-WAIT turns off the other timers (no more
    retransmissions, no delayed ACK)."""
    t = established(isns, config=TcpConfig())
    t.close()
    t.expect_sent("F.", seq=t.iss + 1)
    t.peer_sends("FP.", seq=t.irs + 1, ack=t.iss + 2, data=b"x")
    t.expect_sent(".", seq=t.iss + 2, ack=t.irs + 3)
    t.expect_state("TIME-WAIT")
    assert t.conn.next_deadline() == t.now + 2 * MSL
    t.advance(2 * MSL)
    t.expect_silence()
    t.expect_state("CLOSED")


def test_time_wait_text_and_acks_are_ignored(isns):
    """RFC 9293 §3.10.7.4 fifth and seventh, TIME-WAIT: no text can be taken, an ACK changes
    nothing, and neither restarts the timer."""
    t = time_wait(isns)
    deadline = t.conn.next_deadline()
    t.advance(sec(1))
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 2)
    t.peer_sends("P.", seq=t.irs + 2, ack=t.iss + 2, data=b"late")
    t.expect_silence()
    t.expect_state("TIME-WAIT")
    assert t.conn.readable == 0
    assert t.conn.next_deadline() == deadline


def test_time_wait_then_closed_answers_with_rst(isns):
    """RFC 9293 §3.10.7.1: once TIME-WAIT has expired, a late FIN gets a reset."""
    t = time_wait(isns)
    t.advance(2 * MSL)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_sent("R", seq=t.iss + 2)


# --------------------------------------------------------------------------- CLOSE-WAIT


def test_close_wait_text_after_fin_is_ignored(isns):
    """RFC 9293 §3.10.7.4 seventh, CLOSE-WAIT: a FIN has been received from the remote side;
    ignore the segment text."""
    t = close_wait(isns)
    t.peer_sends("P.", seq=t.irs + 2, ack=t.iss + 1, data=b"after fin")
    t.expect_silence()
    t.expect_state("CLOSE-WAIT")
    assert t.conn.readable == 0


def test_close_wait_retransmitted_fin_is_acked(isns):
    """RFC 9293 §3.10.7.4 first and eighth (CLOSE-WAIT: remain)."""
    t = close_wait(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 2)
    t.expect_state("CLOSE-WAIT")


def test_close_wait_we_can_still_send(isns):
    """RFC 9293 §3.10.2 CLOSE-WAIT: SEND segmentizes and sends with ACK = RCV.NXT;
    §3.10.7.4 fifth, CLOSE-WAIT: ACKs are processed as in ESTABLISHED."""
    t = close_wait(isns)
    t.send(b"reply")
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 2, data=b"reply")
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 6)
    assert t.conn.snd_una == t.iss + 6
    assert t.conn.next_deadline() is None


def test_close_wait_close_sends_fin_after_queued_data(isns):
    """RFC 9293 §3.10.4 CLOSE-WAIT: queue the CLOSE until preceding SENDs are segmentized,
    then send a FIN and enter LAST-ACK."""
    t = close_wait(isns)
    t.send(b"last")
    t.expect_sent("P.", seq=t.iss + 1, data=b"last")
    t.send(b" words")  # held by Nagle behind the unacknowledged "last"
    t.close()
    t.expect_sent("FP.", seq=t.iss + 5, ack=t.irs + 2, data=b" words")
    t.expect_state("LAST-ACK")
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 12)
    t.expect_state("CLOSED")
