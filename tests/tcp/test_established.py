"""RFC 9293 §3.10.7.4 in ESTABLISHED: the ACK field (fifth check), URG (sixth), segment
text (seventh) and FIN (eighth). Sequence, RST and SYN checks are in test_segment_checks.py.
"""

from __future__ import annotations

from harness import established, established_passive, ms

from synack.tcp.config import TcpConfig

# --------------------------------------------------------------------------- fifth: ACK field


def test_established_ack_of_new_data_advances_snd_una_and_stops_the_timer(isns):
    """RFC 9293 §3.10.7.4 fifth: if SND.UNA < SEG.ACK =< SND.NXT, SND.UNA <- SEG.ACK and the
    acknowledged segments leave the retransmission queue (RFC 6298 (5.2): timer off)."""
    t = established(isns)
    t.send(b"0123456789")
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 1, data=b"0123456789")
    assert t.conn.next_deadline() is not None
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 11)
    t.expect_silence()
    assert t.conn.snd_una == t.iss + 11
    assert t.conn.next_deadline() is None
    t.advance(ms(100_000))
    t.expect_silence()


def test_established_partial_ack_leaves_only_the_rest_to_retransmit(isns):
    """RFC 9293 §3.10.7.4 fifth: segments "entirely acknowledged are removed"; what is left is
    retransmitted from SND.UNA (§3.10.8)."""
    t = established(isns)
    t.send(b"0123456789")
    t.expect_sent("P.", seq=t.iss + 1, data=b"0123456789")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 6)
    t.expect_silence()
    t.advance(ms(200))  # the RTO (200 ms: the handshake measured RTT 0)
    t.expect_sent("P.", seq=t.iss + 6, ack=t.irs + 1, data=b"56789", cause="rto")


def test_established_old_duplicate_ack_is_ignored_and_the_text_is_taken(isns):
    """RFC 9293 §3.10.7.4 fifth: if the ACK is a duplicate (SEG.ACK < SND.UNA), it can be
    ignored; processing continues with the text."""
    t = established(isns)
    t.send(b"0123456789")
    t.expect_sent("P.", data=b"0123456789")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 11)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 4, data=b"late ack")
    t.expect_sent(".", seq=t.iss + 11, ack=t.irs + 9)
    assert t.conn.snd_una == t.iss + 11
    assert t.receive() == b"late ack"


def test_established_newer_segment_updates_the_send_window(isns):
    """RFC 9293 §3.10.7.4 fifth: SND.WL1 < SEG.SEQ: SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ,
    SND.WL2 <- SEG.ACK."""
    t = established(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, wnd=3000, data=b"abc")
    t.expect_sent(".", ack=t.irs + 4)
    c = t.conn
    assert (c.snd_wnd, c.snd_wl1, c.snd_wl2) == (3000, t.irs + 1, t.iss + 1)


def test_established_same_seq_newer_ack_updates_the_send_window(isns):
    """RFC 9293 §3.10.7.4 fifth: SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK: update."""
    t = established(isns)
    t.send(b"0123456789")
    t.expect_sent("P.", data=b"0123456789")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 11, wnd=2000)
    c = t.conn
    assert (c.snd_wnd, c.snd_wl1, c.snd_wl2) == (2000, t.irs + 1, t.iss + 11)


def test_established_older_segment_does_not_update_the_send_window(isns):
    """RFC 9293 §3.10.7.4 fifth: a segment with SEG.SEQ < SND.WL1 is older than the last
    window update; "the check here prevents using old segments to update the window"."""
    t = established(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, wnd=5000, data=b"abc")
    t.peer_sends("P.", seq=t.irs + 4, ack=t.iss + 1, wnd=4000, data=b"def")
    t.drain()
    assert (t.conn.snd_wnd, t.conn.snd_wl1) == (4000, t.irs + 4)
    # A retransmission that straddles RCV.NXT: acceptable, its new octets are taken ...
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, wnd=9999, data=b"abcdefgh")
    t.expect_sent(".", ack=t.irs + 9)
    assert t.receive() == b"abcdefgh"
    # ... but it is older than SND.WL1, so its window is not used.
    assert (t.conn.snd_wnd, t.conn.snd_wl1) == (4000, t.irs + 4)


def test_established_send_window_limits_what_we_send(isns):
    """RFC 9293 §3.8.6: we send no more than SND.UNA + SND.WND; a window update lets the rest
    go."""
    t = established(isns, nodelay=True)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1, wnd=100)
    t.send(b"x" * 300)
    # 100 octets are less than half the largest window offered: the sender's SWS avoidance
    # holds them until its override timeout (RFC 9293 §3.8.6.2.1 (4), MUST-38).
    t.expect_silence()
    t.advance(t.config.sws_override)
    t.expect_sent(".", seq=t.iss + 1, data=b"x" * 100)  # no PSH: more is queued
    t.expect_silence()
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 101, wnd=200)
    t.expect_sent("P.", seq=t.iss + 101, data=b"x" * 200)
    t.expect_silence()


# --------------------------------------------------------------------------- sixth: URG


def test_established_urg_advances_rcv_up_to_the_maximum(isns):
    """RFC 9293 §3.10.7.4 sixth: RCV.UP <- max(RCV.UP, SEG.UP); §3.8.5 MUST-62: the pointer
    names the octet after the urgent data."""
    t = established(isns)
    t.peer_sends("UP.", seq=t.irs + 1, ack=t.iss + 1, data=b"abc!", urg=4)
    assert t.conn.rcv_up == t.irs + 5
    t.peer_sends("UP.", seq=t.irs + 5, ack=t.iss + 1, data=b"d", urg=0)
    assert t.conn.rcv_up == t.irs + 5
    assert t.receive() == b"abc!d"  # urgent data stays in line


# --------------------------------------------------------------------------- seventh: text


def test_established_in_order_text_is_delivered_and_acked(isns):
    """RFC 9293 §3.10.7.4 seventh: the text is delivered, RCV.NXT advances over it, and
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> is sent."""
    t = established(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"hello")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 6, len=0)
    t.expect_silence()
    assert t.receive() == b"hello"
    assert t.receive() == b""


def test_established_text_on_a_passive_connection(isns):
    """RFC 9293 §3.10.7.4 seventh, on a connection that began in LISTEN."""
    t = established_passive(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"ping")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 5)
    t.send(b"pong")
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 5, data=b"pong")
    assert t.receive() == b"ping"


def test_established_text_straddling_rcv_nxt_only_the_new_part_is_taken(isns):
    """RFC 9293 §3.10.7.4 first: "If a segment's contents straddle the boundary between old
    and new, only the new parts are processed"."""
    t = established(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"hello")
    t.expect_sent(".", ack=t.irs + 6)
    t.peer_sends("P.", seq=t.irs + 4, ack=t.iss + 1, data=b"loworld")
    t.expect_sent(".", ack=t.irs + 11)
    assert t.receive() == b"helloworld"


def test_established_text_beyond_the_window_is_trimmed(isns):
    """RFC 9293 §3.10.7.4 first: portions beyond the window (including a FIN) are trimmed off;
    the rest is processed."""
    t = established(isns, rcv_buf=1000)
    t.peer_sends("FP.", seq=t.irs + 1, ack=t.iss + 1, data=b"y" * 1200)
    t.expect_sent(".", ack=t.irs + 1001, wnd=0)
    t.expect_state("ESTABLISHED")  # the FIN was outside the window
    assert t.receive() == b"y" * 1000


def test_established_out_of_order_text_is_queued_with_an_immediate_duplicate_ack(isns):
    """RFC 9293 §3.10.7.4 first (SHLD-31): segments beyond RCV.NXT are held for later; MAY-13
    and RFC 5681 §4.2: they are ACKed at once (a duplicate ACK of RCV.NXT), delayed ACKs
    or not. When the hole fills, everything is delivered and ACKed at once."""
    t = established(isns, config=TcpConfig())  # delayed ACKs on
    t.peer_sends("P.", seq=t.irs + 6, ack=t.iss + 1, data=b"world")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    assert t.receive() == b""
    t.peer_sends("P.", seq=t.irs + 11, ack=t.iss + 1, data=b"!")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"hello")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 12)
    t.expect_silence()
    assert t.receive() == b"helloworld!"


def test_established_out_of_order_text_with_two_holes(isns):
    """RFC 9293 §3.10.7.4 (SHLD-31): each hole filled delivers what became contiguous."""
    t = established(isns)
    t.peer_sends("P.", seq=t.irs + 3, ack=t.iss + 1, data=b"c")
    t.peer_sends("P.", seq=t.irs + 5, ack=t.iss + 1, data=b"e")
    t.expect_sent(".", ack=t.irs + 1)
    t.expect_sent(".", ack=t.irs + 1)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"ab")
    t.expect_sent(".", ack=t.irs + 4)
    assert t.receive() == b"abc"
    t.peer_sends("P.", seq=t.irs + 4, ack=t.iss + 1, data=b"d")
    t.expect_sent(".", ack=t.irs + 6)
    assert t.receive() == b"de"


# --------------------------------------------------------------------------- eighth: FIN


def test_established_fin_enters_close_wait_and_is_acked(isns):
    """RFC 9293 §3.10.7.4 eighth: advance RCV.NXT over the FIN, acknowledge it, signal
    "connection closing"; ESTABLISHED -> CLOSE-WAIT."""
    t = established(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 2)
    t.expect_silence()
    t.expect_state("CLOSE-WAIT")
    assert t.conn.fin_received and t.conn.at_eof


def test_established_fin_with_text_delivers_the_text_first(isns):
    """RFC 9293 §3.10.7.4 seventh then eighth; "FIN implies PUSH for any segment text not
    yet delivered"."""
    # delayed ACKs on, quick-ACK mode off: the RFC ACKs a FIN at once (Linux waits, test_quickack.py)
    t = established(isns, config=TcpConfig(quick_acks=0))
    t.peer_sends("FP.", seq=t.irs + 1, ack=t.iss + 1, data=b"bye")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 5)
    t.expect_state("CLOSE-WAIT")
    assert t.receive() == b"bye"


def test_established_retransmitted_text_with_fin_processes_the_new_fin(isns):
    """RFC 9293 §3.10.7.4 first: the old text is trimmed; the FIN at RCV.NXT is processed."""
    t = established(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"hello")
    t.expect_sent(".", ack=t.irs + 6)
    t.peer_sends("FP.", seq=t.irs + 1, ack=t.iss + 1, data=b"hello")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 7)
    t.expect_state("CLOSE-WAIT")
    assert t.receive() == b"hello"


def test_established_fin_after_a_hole_waits_for_the_hole(isns):
    """RFC 9293 §3.10.7.4: segments are processed in sequence; a FIN beyond a hole is held
    and takes effect once the text before it has arrived."""
    t = established(isns)
    t.peer_sends("FP.", seq=t.irs + 4, ack=t.iss + 1, data=b"def")
    t.expect_sent(".", ack=t.irs + 1)
    t.expect_state("ESTABLISHED")
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"abc")
    t.expect_sent(".", ack=t.irs + 8)
    t.expect_state("CLOSE-WAIT")
    assert t.receive() == b"abcdef"


def test_established_retransmitted_syn_ack_is_acked_again(isns):
    """RFC 9293 §3.10.7.4 first: the peer's SYN,ACK again (our ACK was lost) is below the
    window and gets <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, which completes its handshake."""
    t = established(isns)
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    t.expect_silence()
    t.expect_state("ESTABLISHED")
