"""RFC 9293 §3.10.7.3 SEGMENT ARRIVES in SYN-SENT, every branch in the RFC's order."""

from __future__ import annotations

import pytest
from harness import syn_sent

from synack.tcp.errors import ConnectionRefused

# --------------------------------------------------------------------------- first: the ACK bit


@pytest.mark.parametrize("flags", [".", "S.", "F.", "P."])
@pytest.mark.parametrize("ack_offset", [0, -1, -1000, 2, 3, 70000],
                         ids=["iss", "iss-1", "iss-1000", "snd_nxt+1", "snd_nxt+2", "far"])
def test_syn_sent_unacceptable_ack_gets_rst_seq_seg_ack(isns, flags, ack_offset):
    """RFC 9293 §3.10.7.3 first: if SEG.ACK =< ISS or SEG.ACK > SND.NXT, send
    <SEQ=SEG.ACK><CTL=RST>, discard the segment and return (still SYN-SENT)."""
    t = syn_sent(isns)
    t.peer_sends(flags, seq=t.irs, ack=t.iss + ack_offset, data=b"x" if "P" in flags else b"")
    t.expect_sent("R", seq=t.iss + ack_offset, len=0)
    t.expect_silence()
    t.expect_state("SYN-SENT")


@pytest.mark.parametrize("ack_offset", [0, 2], ids=["iss", "snd_nxt+1"])
def test_syn_sent_rst_with_unacceptable_ack_is_dropped(isns, ack_offset):
    """RFC 9293 §3.10.7.3 first: an unacceptable ACK on a RST is not answered (unless the RST
    bit is set, if so drop the segment and return)."""
    t = syn_sent(isns)
    t.peer_sends("R.", seq=0, ack=t.iss + ack_offset)
    t.expect_silence()
    t.expect_state("SYN-SENT")
    assert t.conn.error is None


# --------------------------------------------------------------------------- second: the RST bit


def test_syn_sent_rst_with_acceptable_ack_refuses(isns):
    """RFC 9293 §3.10.7.3 second: if the ACK was acceptable, signal the user, drop the
    segment, enter CLOSED and delete the TCB (the connection was refused)."""
    t = syn_sent(isns)
    t.peer_sends("R.", seq=0, ack=t.iss + 1)
    t.expect_silence()
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionRefused)
    assert t.conn.next_deadline() is None  # the SYN is no longer retransmitted


def test_syn_sent_rst_without_ack_is_dropped(isns):
    """RFC 9293 §3.10.7.3 second: a RST without ACK: drop the segment and return."""
    t = syn_sent(isns)
    t.peer_sends("R", seq=t.irs)
    t.expect_silence()
    t.expect_state("SYN-SENT")
    assert t.conn.error is None


# --------------------------------------------------------------------------- fourth: the SYN bit


def test_syn_sent_syn_ack_establishes_and_acks(isns):
    """RFC 9293 §3.10.7.3 fourth: RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, SND.UNA = SEG.ACK; our
    SYN is acknowledged, so ESTABLISHED and <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    t = syn_sent(isns)
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1, wnd=5000)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1, len=0, mss=None)
    t.expect_silence()
    t.expect_state("ESTABLISHED")
    c = t.conn
    assert (c.irs, c.rcv_nxt, c.snd_una, c.snd_nxt) == (t.irs, t.irs + 1, t.iss + 1, t.iss + 1)
    # The window variables start from this segment (SND.WND, SND.WL1, SND.WL2).
    assert (c.snd_wnd, c.snd_wl1, c.snd_wl2) == (5000, t.irs, t.iss + 1)
    assert c.next_deadline() is None  # nothing left to retransmit


def test_syn_sent_syn_ack_carries_queued_data_with_the_ack(isns):
    """RFC 9293 §3.10.7.3 fourth: data queued for transmission MAY be included in the ACK."""
    t = syn_sent(isns)
    assert t.send(b"hello") == 5
    t.expect_silence()  # §3.10.2 SYN-SENT: queued until ESTABLISHED
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 1, data=b"hello")
    t.expect_silence()


def test_syn_sent_syn_ack_with_data_continues_at_the_sixth_step(isns):
    """RFC 9293 §3.10.7.3 fourth: other text in the segment continues processing at the sixth
    step of §3.10.7.4: it is delivered and acknowledged."""
    t = syn_sent(isns)
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1, data=b"early")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 6)
    t.expect_silence()
    t.expect_state("ESTABLISHED")
    assert t.receive() == b"early"


def test_syn_sent_syn_ack_with_fin_enters_close_wait(isns):
    """RFC 9293 §3.10.7.3 fourth, then §3.10.7.4 eighth: a FIN in the SYN,ACK is processed in
    ESTABLISHED, which moves to CLOSE-WAIT and acknowledges it."""
    t = syn_sent(isns)
    t.peer_sends("SF.", seq=t.irs, ack=t.iss + 1, data=b"bye")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 5)
    t.expect_silence()
    t.expect_state("CLOSE-WAIT")
    assert t.receive() == b"bye"


def test_syn_sent_syn_without_ack_enters_syn_received(isns):
    """RFC 9293 §3.10.7.3 fourth (simultaneous open, §3.5 MUST-10): enter SYN-RECEIVED and
    send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ."""
    t = syn_sent(isns)
    t.peer_sends("S", seq=t.irs, wnd=3000)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1, len=1, mss=1460)
    t.expect_silence()
    t.expect_state("SYN-RECEIVED")
    assert (t.conn.irs, t.conn.rcv_nxt) == (t.irs, t.irs + 1)
    assert (t.conn.snd_wnd, t.conn.snd_wl1) == (3000, t.irs)


def test_syn_sent_simultaneous_open_figure_7(isns):
    """RFC 9293 §3.5 Figure 7: each side sends SYN, then SYN,ACK; the peer's SYN,ACK
    <SEQ=300><ACK=101><CTL=SYN,ACK> takes SYN-RECEIVED to ESTABLISHED (line 6), and
    nothing more is sent (the rfc profile)."""
    t = syn_sent(isns, profile="rfc")                    # line 2
    t.peer_sends("S", seq=t.irs)                         # line 3
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)        # line 5
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)         # line 6
    t.expect_state("ESTABLISHED")
    t.expect_silence()
    t.send(b"x")
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 1, data=b"x")


def test_linux_simultaneous_open_acknowledges_the_syn_ack(isns):
    """The linux profile: the peer's SYN,ACK that ends a simultaneous open is acknowledged."""
    t = syn_sent(isns, profile="linux")
    t.peer_sends("S", seq=t.irs)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)
    t.expect_state("ESTABLISHED")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    t.expect_silence()


def test_syn_sent_simultaneous_open_completes_with_a_plain_ack(isns):
    """RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: an ACK of our SYN enters ESTABLISHED."""
    t = syn_sent(isns)
    t.peer_sends("S", seq=t.irs)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_silence()
    t.expect_state("ESTABLISHED")


# --------------------------------------------------------------------------- fifth: neither


@pytest.mark.parametrize("flags, data", [
    (".", b""), ("P.", b"data"), ("F.", b""), ("F", b""), ("", b"data"), ("U.", b"!"),
], ids=["ack", "ack-data", "fin-ack", "fin", "data", "urg"])
def test_syn_sent_segment_without_syn_or_rst_is_dropped(isns, flags, data):
    """RFC 9293 §3.10.7.3 fifth: neither SYN nor RST: drop the segment and return. (Eighth
    check of §3.10.7.4: a FIN is not processed in SYN-SENT since SEG.SEQ cannot be
    validated.)"""
    t = syn_sent(isns)
    t.peer_sends(flags, seq=t.irs, ack=t.iss + 1, data=data)
    t.expect_silence()
    t.expect_state("SYN-SENT")
    assert t.receive() == b""


def test_syn_sent_after_dropped_segments_still_establishes(isns):
    """RFC 9293 §3.10.7.3: the drops above leave the TCB as it was."""
    t = syn_sent(isns)
    t.peer_sends(".", seq=t.irs, ack=t.iss + 1)
    t.peer_sends("R", seq=t.irs)
    t.peer_sends(".", seq=t.irs, ack=t.iss + 9)
    t.expect_sent("R", seq=t.iss + 9)
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    t.expect_state("ESTABLISHED")
