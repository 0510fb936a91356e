"""RFC 9293 §3.10.7.4 in SYN-RECEIVED: the passive one (from LISTEN) and the active one
(from SYN-SENT, simultaneous open), which differ on RST and SYN (§3.5 MUST-11).

The checks every "other state" shares (acceptability, RFC 5961 RST and SYN handling) are
in test_segment_checks.py; this file has what is particular to SYN-RECEIVED.
"""

from __future__ import annotations

import pytest
from harness import syn_received, syn_received_active

from synack.tcp.errors import ConnectionRefused

BOTH = pytest.mark.parametrize("make", [syn_received, syn_received_active], ids=["passive", "active"])

# --------------------------------------------------------------------------- second: RST


def test_syn_received_passive_rst_returns_to_listen(isns):
    """RFC 9293 §3.10.7.4 second, SYN-RECEIVED: a connection from a passive OPEN returns to
    LISTEN; the user need not be informed; the retransmission queue is flushed."""
    t = syn_received(isns)
    t.peer_sends("R", seq=t.irs + 1)
    t.expect_silence()
    t.expect_state("LISTEN")
    assert t.conn.error is None
    assert t.conn.next_deadline() is None  # the SYN,ACK is no longer retransmitted


def test_syn_received_passive_rst_then_a_new_syn_is_accepted(isns):
    """RFC 9293 §3.10.7.4 second: back in LISTEN, the next SYN starts a new handshake."""
    t = syn_received(isns)
    t.peer_sends("R", seq=t.irs + 1)
    t.peer_sends("S", seq=t.irs + 5000)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 5001)
    t.expect_state("SYN-RECEIVED")
    t.peer_sends(".", seq=t.irs + 5001, ack=t.iss + 1)
    t.expect_state("ESTABLISHED")


def test_syn_received_active_rst_refuses(isns):
    """RFC 9293 §3.10.7.4 second, SYN-RECEIVED: from an active OPEN the connection was refused:
    signal "connection refused", enter CLOSED, delete the TCB."""
    t = syn_received_active(isns)
    t.peer_sends("R", seq=t.irs + 1)
    t.expect_silence()
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionRefused)
    assert t.conn.next_deadline() is None


# --------------------------------------------------------------------------- fourth: SYN


def test_syn_received_passive_syn_in_window_returns_to_listen(isns):
    """RFC 9293 §3.10.7.4 fourth, SYN-RECEIVED: from a passive OPEN, return to LISTEN."""
    t = syn_received(isns)
    t.peer_sends("S", seq=t.irs + 1)
    t.expect_silence()
    t.expect_state("LISTEN")


def test_syn_received_active_syn_in_window_gets_challenge_ack(isns):
    """RFC 9293 §3.10.7.4 fourth, SYN-RECEIVED from an active OPEN: handled as in the
    synchronized states: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 5961 §4)."""
    t = syn_received_active(isns)
    t.peer_sends("S", seq=t.irs + 1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    t.expect_silence()
    t.expect_state("SYN-RECEIVED")


@BOTH
def test_syn_received_retransmitted_syn_is_unacceptable_and_gets_ack(isns, make):
    """RFC 9293 §3.10.7.4 first: the peer's SYN again (SEG.SEQ = IRS = RCV.NXT-1) fails the
    acceptability test, so it gets <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is dropped (the
    rfc profile)."""
    t = make(isns, profile="rfc")
    t.peer_sends("S", seq=t.irs)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 1)
    t.expect_silence()
    t.expect_state("SYN-RECEIVED")


def test_linux_syn_received_retransmitted_syn_gets_the_syn_ack_again(isns):
    """The linux profile (tcp_check_req): the peer's SYN again in a passive SYN-RECEIVED means
    our SYN,ACK was lost, so it goes again, with the same ISN; the handshake then completes."""
    t = syn_received(isns, profile="linux")
    t.peer_sends("S", seq=t.irs)
    t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    t.expect_silence()
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_state("ESTABLISHED")


# --------------------------------------------------------------------------- fifth: ACK


@BOTH
def test_syn_received_ack_of_syn_establishes(isns, make):
    """RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: if SND.UNA < SEG.ACK =< SND.NXT, enter
    ESTABLISHED with SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK."""
    t = make(isns)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1, wnd=7000)
    t.expect_silence()
    t.expect_state("ESTABLISHED")
    c = t.conn
    assert (c.snd_una, c.snd_wnd, c.snd_wl1, c.snd_wl2) == (t.iss + 1, 7000, t.irs + 1, t.iss + 1)
    assert c.next_deadline() is None  # the SYN,ACK is acknowledged


@BOTH
@pytest.mark.parametrize("ack_offset", [0, -1, 2, 100], ids=["iss", "iss-1", "snd_nxt+1", "snd_nxt+99"])
def test_syn_received_unacceptable_ack_gets_rst_seq_seg_ack(isns, make, ack_offset):
    """RFC 9293 §3.10.7.4 fifth, SYN-RECEIVED: if the acknowledgment is not acceptable, send
    <SEQ=SEG.ACK><CTL=RST>. The connection stays in SYN-RECEIVED."""
    t = make(isns)
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + ack_offset)
    t.expect_sent("R", seq=t.iss + ack_offset, len=0)
    t.expect_silence()
    t.expect_state("SYN-RECEIVED")


@BOTH
def test_syn_received_segment_without_ack_is_dropped(isns, make):
    """RFC 9293 §3.10.7.4 fifth: if the ACK bit is off, drop the segment and return."""
    t = make(isns)
    t.peer_sends("P", seq=t.irs + 1, data=b"no ack")
    t.peer_sends("F", seq=t.irs + 1)
    t.expect_silence()
    t.expect_state("SYN-RECEIVED")
    # The data was not taken: once the ACK arrives the same octets are new.
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"no ack")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 7)
    assert t.receive() == b"no ack"


@BOTH
def test_syn_received_ack_with_data_establishes_and_delivers(isns, make):
    """RFC 9293 §3.10.7.4 fifth then seventh: ESTABLISHED, then the text is delivered and
    acknowledged."""
    t = make(isns)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"GET /")
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 6)
    t.expect_silence()
    t.expect_state("ESTABLISHED")
    assert t.receive() == b"GET /"


@BOTH
def test_syn_received_ack_with_fin_enters_close_wait(isns, make):
    """RFC 9293 §3.10.7.4 eighth, SYN-RECEIVED/ESTABLISHED: a FIN enters CLOSE-WAIT and is
    acknowledged (the ACK in the same segment first makes the connection ESTABLISHED)."""
    t = make(isns)
    t.peer_sends("F.", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent(".", seq=t.iss + 1, ack=t.irs + 2)
    t.expect_silence()
    t.expect_state("CLOSE-WAIT")


@BOTH
def test_syn_received_queued_send_goes_out_once_established(isns, make):
    """RFC 9293 §3.10.2 SYN-RECEIVED: SEND data is queued for transmission after entering
    ESTABLISHED."""
    t = make(isns)
    assert t.send(b"queued") == 6
    t.expect_silence()
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 1, data=b"queued")
    t.expect_silence()


@BOTH
def test_syn_received_close_sends_fin_and_enters_fin_wait_1(isns, make):
    """RFC 9293 §3.10.4 SYN-RECEIVED: if no SENDs have been issued and there is no pending
    data, form a FIN segment and send it, and enter FIN-WAIT-1."""
    t = make(isns)
    t.close()
    t.expect_sent("F.", seq=t.iss + 1, ack=t.irs + 1)
    t.expect_silence()
    t.expect_state("FIN-WAIT-1")
    # The peer acknowledges SYN and FIN together.
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 2)
    t.expect_silence()
    t.expect_state("FIN-WAIT-2")


@BOTH
def test_syn_received_close_with_queued_data_sends_data_then_fin_once_established(isns, make):
    """RFC 9293 §3.10.4 SYN-RECEIVED: with SENDs pending, the CLOSE waits for ESTABLISHED;
    then the data and the FIN follow the ACK of our SYN."""
    t = make(isns)
    t.send(b"last words")
    t.close()
    t.expect_silence()
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1)
    t.expect_sent("FP.", seq=t.iss + 1, ack=t.irs + 1, data=b"last words")
    t.expect_silence()
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 12)
    t.expect_state("FIN-WAIT-2")


@BOTH
def test_syn_received_abort_sends_rst_seq_snd_nxt(isns, make):
    """RFC 9293 §3.10.5 SYN-RECEIVED: send <SEQ=SND.NXT><CTL=RST>, enter CLOSED (Linux's
    RST,ACK also acknowledges the peer's SYN)."""
    t = make(isns)
    t.abort()
    t.expect_sent("R.", seq=t.iss + 1, ack=t.irs + 1, len=0)
    t.expect_silence()
    t.expect_state("CLOSED")
