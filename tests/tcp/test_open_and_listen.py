"""RFC 9293 §3.10.1 OPEN, §3.10.7.1 SEGMENT ARRIVES in CLOSED and §3.10.7.2 in LISTEN."""

from __future__ import annotations

import pytest
from harness import BUILDERS, LOW, Tcb, listen

from synack.tcp.connection import reset_for
from synack.tcp.errors import ConnectionExists
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, FIN, RST, SYN, Mss, TcpSegment

# --------------------------------------------------------------------------- §3.10.7.1 CLOSED


def test_closed_segment_with_ack_gets_rst_seq_seg_ack(isns):
    """RFC 9293 §3.10.7.1: if the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>."""
    t = Tcb(isns)
    t.peer_sends(".", seq=t.irs + 5, ack=t.iss + 7, data=b"abc")
    t.expect_sent("R", seq=t.iss + 7, len=0, data=b"")
    t.expect_silence()
    t.expect_state("CLOSED")


@pytest.mark.parametrize("flags, data, seg_len", [
    ("S", b"", 1),
    ("", b"hello", 5),
    ("F", b"hello", 6),
    ("SF", b"hi", 4),
], ids=["syn", "data", "data-fin", "syn-fin-data"])
def test_closed_segment_without_ack_gets_rst_ack_seg_seq_plus_len(isns, flags, data, seg_len):
    """RFC 9293 §3.10.7.1: if the ACK bit is off, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>;
    SEG.LEN counts the data and one each for SYN and FIN."""
    t = Tcb(isns)
    t.peer_sends(flags, seq=t.irs, data=data, options=())
    t.expect_sent("R.", seq=0, ack=t.irs + seg_len)
    t.expect_silence()


@pytest.mark.parametrize("flags", ["R", "R."])
def test_closed_rst_is_discarded(isns, flags):
    """RFC 9293 §3.10.7.1: an incoming segment containing a RST is discarded."""
    t = Tcb(isns)
    t.peer_sends(flags, seq=t.irs, ack=t.iss)
    t.expect_silence()
    t.expect_state("CLOSED")


def test_reset_for_is_the_closed_state_answer():
    """RFC 9293 §3.10.7.1, as a function the host uses when no TCB matches."""
    syn = TcpSegment(80, 5000, Seq(300), Seq(0), SYN, 1000)
    assert reset_for(syn) == TcpSegment(5000, 80, Seq(0), Seq(301), RST | ACK, 0)
    ack = TcpSegment(80, 5000, Seq(300), Seq(2**32 - 1), ACK, 1000, b"x")
    assert reset_for(ack) == TcpSegment(5000, 80, Seq(2**32 - 1), Seq(0), RST, 0)
    fin = TcpSegment(80, 5000, Seq(2**32 - 1), Seq(0), FIN, 1000)
    rst = reset_for(fin)
    assert rst is not None and rst.ack == Seq(0)  # SEG.SEQ + SEG.LEN wraps
    assert reset_for(TcpSegment(80, 5000, Seq(1), Seq(2), RST | ACK, 0)) is None


def test_closed_after_the_connection_ended_answers_with_rst(isns):
    """RFC 9293 §3.10.7.1: once the TCB is deleted (here by ABORT), segments get a reset."""
    t = Tcb(isns).established()
    t.abort()
    t.expect_sent("R.", seq=t.iss + 1)  # (Linux's RST,ACK: rst_ack)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1, data=b"late")
    t.expect_sent("R", seq=t.iss + 1)
    t.expect_silence()


# --------------------------------------------------------------------------- §3.10.1 OPEN


def test_closed_active_open_sends_syn_and_enters_syn_sent(isns):
    """RFC 9293 §3.10.1: <SEQ=ISS><CTL=SYN> is sent, SND.UNA = ISS, SND.NXT = ISS+1, SYN-SENT.
    §3.7.1 MUST-14: the SYN carries our MSS (1460 on a 1500-octet IPv4 path), and a window
    of 64240, the 65535-octet buffer in whole segments, as Linux offers it."""
    t = Tcb(isns)
    t.open_active()
    t.expect_sent("S", seq=t.iss, len=1, mss=1460, wnd=44 * 1460, data=b"")
    t.expect_silence()
    t.expect_state("SYN-SENT")
    assert (t.conn.snd_una, t.conn.snd_nxt) == (t.iss, t.iss + 1)


def test_closed_passive_open_enters_listen_silently(isns):
    """RFC 9293 §3.10.1: if passive, enter the LISTEN state and return."""
    t = Tcb(isns)
    t.open_passive()
    t.expect_silence()
    t.expect_state("LISTEN")
    assert t.conn.next_deadline() is None


def test_listen_active_open_sends_syn_and_enters_syn_sent(isns):
    """RFC 9293 §3.10.1 LISTEN: an active OPEN changes the connection from passive to active,
    sends a SYN and enters SYN-SENT."""
    t = listen(isns)
    t.open_active()
    t.expect_sent("S", seq=t.iss)
    t.expect_state("SYN-SENT")
    # Now it behaves as an active opener: a RST in SYN-RECEIVED would mean "refused".
    t.peer_sends("S", seq=t.irs)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    t.peer_sends("R", seq=t.irs + 1)
    t.expect_state("CLOSED")
    assert t.conn.error is not None and t.conn.error.code == "refused"


@pytest.mark.parametrize("state", [s for s in BUILDERS if s != "LISTEN"])
@pytest.mark.parametrize("active", [True, False], ids=["active", "passive"])
def test_open_in_any_other_state_returns_connection_already_exists(state, active):
    """RFC 9293 §3.10.1: in SYN-SENT ... TIME-WAIT, OPEN returns "error: connection already
    exists"; nothing is sent and the state does not change."""
    t = BUILDERS[state](Tcb(LOW))
    before = t.state
    with pytest.raises(ConnectionExists, match="connection already exists"):
        t.conn.open(t.now, active=active)
    t.expect_silence()
    t.expect_state(before)


# --------------------------------------------------------------------------- §3.10.7.2 LISTEN


@pytest.mark.parametrize("flags", ["R", "R.", "RS"])
def test_listen_rst_is_ignored(isns, flags):
    """RFC 9293 §3.10.7.2 first: an incoming RST should be ignored."""
    t = listen(isns)
    t.peer_sends(flags, seq=t.irs, ack=t.iss + 1, options=())
    t.expect_silence()
    t.expect_state("LISTEN")


@pytest.mark.parametrize("flags", [".", "S.", "F.", "P."])
def test_listen_ack_gets_rst_seq_seg_ack(isns, flags):
    """RFC 9293 §3.10.7.2 second: any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
    This check comes before the SYN check, so a SYN,ACK is reset too."""
    t = listen(isns)
    t.peer_sends(flags, seq=t.irs, ack=t.iss + 1000, data=b"x" if "P" in flags else b"")
    t.expect_sent("R", seq=t.iss + 1000, len=0)
    t.expect_silence()
    t.expect_state("LISTEN")


def test_listen_syn_sends_syn_ack_and_enters_syn_received(isns):
    """RFC 9293 §3.10.7.2 third: RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, <SEQ=ISS><ACK=RCV.NXT>
    <CTL=SYN,ACK>, SND.NXT = ISS+1, SND.UNA = ISS, SYN-RECEIVED. §3.7.1 MUST-14: with our MSS."""
    t = listen(isns)
    t.peer_sends("S", seq=t.irs, wnd=4000)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1, len=1, mss=1460, wnd=44 * 1460)
    t.expect_silence()
    t.expect_state("SYN-RECEIVED")
    c = t.conn
    assert (c.irs, c.rcv_nxt, c.snd_una, c.snd_nxt) == (t.irs, t.irs + 1, t.iss, t.iss + 1)


def test_listen_syn_ack_announces_the_configured_mss(isns):
    """RFC 9293 §3.7.1 MUST-14/MUST-67: the MSS we send is our receive limit (config.mss)."""
    t = Tcb(isns, mss=1200).listen()
    t.peer_sends("S", seq=t.irs)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1, options=(Mss(1200),))


@pytest.mark.parametrize("flags, data", [
    ("F", b""), ("", b"data"), ("P", b"data"), ("U", b"!"), ("", b""),
], ids=["fin", "data", "push-data", "urg", "no-flags"])
def test_listen_segment_without_syn_rst_or_ack_is_dropped(isns, flags, data):
    """RFC 9293 §3.10.7.2 fourth: any other control or text-bearing segment is dropped."""
    t = listen(isns)
    t.peer_sends(flags, seq=t.irs, data=data)
    t.expect_silence()
    t.expect_state("LISTEN")


def test_listen_survives_a_rejected_segment_and_then_accepts_a_syn(isns):
    """RFC 9293 §3.10.7.2: the reset for a stray ACK does not disturb the listener."""
    t = listen(isns)
    t.peer_sends(".", seq=t.irs, ack=t.iss + 5)
    t.expect_sent("R", seq=t.iss + 5)
    t.peer_sends("S", seq=t.irs)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    t.expect_state("SYN-RECEIVED")
