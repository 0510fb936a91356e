"""RFC 9293 §3.10.2-§3.10.6: SEND, RECEIVE, CLOSE, ABORT and STATUS in every state.

OPEN (§3.10.1) is in test_open_and_listen.py. Each state is reached by replaying the real
exchange (harness.BUILDERS); "SYN-RECEIVED" is the passive one.
"""

from __future__ import annotations

import pytest
from harness import BUILDERS, Tcb, at_state, established, listen

from synack.tcp.errors import ConnectionClosing, ConnectionDoesNotExist

ALL = list(BUILDERS)


# --------------------------------------------------------------------------- §3.10.2 SEND


def test_closed_send_returns_connection_does_not_exist():
    """RFC 9293 §3.10.2 CLOSED: return "error: connection does not exist"."""
    t = Tcb()
    with pytest.raises(ConnectionDoesNotExist, match="connection does not exist"):
        t.send(b"x")
    t.expect_silence()


def test_closed_after_a_normal_close_send_returns_connection_does_not_exist(isns):
    """RFC 9293 §3.10.2 CLOSED: after LAST-ACK the TCB no longer exists."""
    t = at_state("LAST-ACK", isns)
    t.peer_sends(".", seq=t.irs + 2, ack=t.iss + 2)
    t.expect_state("CLOSED")
    with pytest.raises(ConnectionDoesNotExist):
        t.send(b"x")


def test_listen_send_turns_active_and_sends_syn(isns):
    """RFC 9293 §3.10.2 LISTEN: with the remote socket specified, change the connection from
    passive to active, send a SYN, enter SYN-SENT; the data is queued for ESTABLISHED."""
    t = listen(isns)
    assert t.send(b"hello") == 5
    t.expect_sent("S", seq=t.iss, data=b"")
    t.expect_state("SYN-SENT")
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)
    t.expect_sent("P.", seq=t.iss + 1, ack=t.irs + 1, data=b"hello")


@pytest.mark.parametrize("state", ["SYN-SENT", "SYN-RECEIVED", "SYN-RECEIVED (active)"])
def test_unsynchronized_send_is_queued(isns, state):
    """RFC 9293 §3.10.2 SYN-SENT, SYN-RECEIVED: queue the data for transmission after
    entering ESTABLISHED."""
    t = at_state(state, isns)
    assert t.send(b"later") == 5
    t.expect_silence()
    t.expect_state(state.split(" ")[0])


@pytest.mark.parametrize("state", ["ESTABLISHED", "CLOSE-WAIT"])
def test_established_and_close_wait_send_segmentizes_with_ack_rcv_nxt(isns, state):
    """RFC 9293 §3.10.2 ESTABLISHED, CLOSE-WAIT: segmentize the buffer and send it with a
    piggybacked acknowledgment (acknowledgment value = RCV.NXT)."""
    t = at_state(state, isns, psh_every=0, minshall=False)  # (RFC 9293: PSH on the last, classic Nagle)
    rcv_nxt = t.peer_nxt
    assert t.send(b"x" * 3000) == 3000
    t.expect_sent(".", seq=t.iss + 1, ack=rcv_nxt, data=b"x" * 1460)
    t.expect_sent(".", seq=t.iss + 1461, ack=rcv_nxt, data=b"x" * 1460)
    t.expect_silence()  # §3.7.4 Nagle: the 80-octet tail waits for the ACK
    t.peer_sends(".", seq=rcv_nxt, ack=t.iss + 2921)
    t.expect_sent("P.", seq=t.iss + 2921, ack=rcv_nxt, data=b"x" * 80)
    t.expect_silence()


@pytest.mark.parametrize("state", ["FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "LAST-ACK", "TIME-WAIT"])
def test_closing_states_send_returns_connection_closing(isns, state):
    """RFC 9293 §3.10.2 FIN-WAIT-1 ... TIME-WAIT: return "error: connection closing" and do
    not service the request."""
    t = at_state(state, isns)
    with pytest.raises(ConnectionClosing, match="connection closing"):
        t.send(b"too late")
    t.expect_silence()
    t.expect_state(state)


def test_established_send_beyond_the_buffer_accepts_only_what_fits(isns):
    """RFC 9293 §3.10.2: "If there is insufficient space to remember this buffer" the call
    cannot take it all: SEND returns how many octets it accepted."""
    t = established(isns, snd_buf=100, nodelay=True)
    assert t.send(b"a" * 150) == 100
    t.expect_sent("P.", data=b"a" * 100)
    assert t.send(b"b") == 0
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 101)
    assert t.send(b"b" * 150) == 100


# --------------------------------------------------------------------------- §3.10.3 RECEIVE


def test_closed_receive_returns_connection_does_not_exist():
    """RFC 9293 §3.10.3 CLOSED: return "error: connection does not exist"."""
    with pytest.raises(ConnectionDoesNotExist, match="connection does not exist"):
        Tcb().receive()


@pytest.mark.parametrize("state", ["LISTEN", "SYN-SENT", "SYN-RECEIVED", "SYN-RECEIVED (active)"])
def test_unsynchronized_receive_has_nothing_yet(isns, state):
    """RFC 9293 §3.10.3 LISTEN, SYN-SENT, SYN-RECEIVED: the request is queued until
    ESTABLISHED; a non-blocking RECEIVE returns nothing and sends nothing."""
    t = at_state(state, isns)
    assert t.receive() == b""
    t.expect_silence()


@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2"])
def test_receiving_states_receive_returns_the_data_in_order(isns, state):
    """RFC 9293 §3.10.3 ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2: reassemble queued segments into
    the receive buffer and return them; with nothing queued, nothing yet."""
    t = at_state(state, isns)
    assert t.receive() == b""
    t.peer_sends("P.", seq=t.irs + 1, data=b"abcdef")
    assert t.receive(4) == b"abcd"
    assert t.receive(4) == b"ef"
    assert t.receive(4) == b""


def test_close_wait_receive_returns_data_on_hand_then_connection_closing(isns):
    """RFC 9293 §3.10.3 CLOSE-WAIT: RECEIVEs are satisfied by data already on hand; if no text
    is awaiting delivery, the RECEIVE gets "error: connection closing"."""
    t = established(isns)
    t.peer_sends("FP.", seq=t.irs + 1, ack=t.iss + 1, data=b"tail")
    t.expect_state("CLOSE-WAIT")
    assert t.receive(2) == b"ta"
    assert t.receive() == b"il"
    with pytest.raises(ConnectionClosing, match="connection closing"):
        t.receive()


@pytest.mark.parametrize("state", ["CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"])
def test_after_peer_fin_receive_returns_connection_closing(isns, state):
    """RFC 9293 §3.10.3 CLOSE-WAIT (nothing on hand), CLOSING, LAST-ACK, TIME-WAIT: return
    "error: connection closing"."""
    t = at_state(state, isns)
    with pytest.raises(ConnectionClosing, match="connection closing"):
        t.receive()
    t.expect_silence()


# --------------------------------------------------------------------------- §3.10.4 CLOSE


def test_closed_close_returns_connection_does_not_exist():
    """RFC 9293 §3.10.4 CLOSED: return "error: connection does not exist"."""
    with pytest.raises(ConnectionDoesNotExist, match="connection does not exist"):
        Tcb().close()


def test_listen_close_deletes_the_tcb(isns):
    """RFC 9293 §3.10.4 LISTEN: delete the TCB, enter CLOSED, and return."""
    t = listen(isns)
    t.close()
    t.expect_silence()
    t.expect_state("CLOSED")


def test_syn_sent_close_deletes_the_tcb_without_a_segment(isns):
    """RFC 9293 §3.10.4 SYN-SENT: delete the TCB (nothing is sent, the SYN is not
    retransmitted any more)."""
    t = at_state("SYN-SENT", isns)
    t.close()
    t.expect_silence()
    t.expect_state("CLOSED")
    assert t.conn.next_deadline() is None


def test_established_close_sends_fin_after_the_queued_data(isns):
    """RFC 9293 §3.10.4 ESTABLISHED: queue the CLOSE until all preceding SENDs have been
    segmentized, then form a FIN segment and send it; in any case enter FIN-WAIT-1."""
    t = established(isns, psh_every=0, minshall=False)  # (RFC 9293: PSH on the last, classic Nagle)
    t.send(b"x" * 2000)
    t.close()
    t.expect_state("FIN-WAIT-1")
    t.expect_sent(".", seq=t.iss + 1, data=b"x" * 1460)
    t.expect_sent("FP.", seq=t.iss + 1461, data=b"x" * 540)
    t.expect_silence()


@pytest.mark.parametrize("state", ["FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "LAST-ACK", "TIME-WAIT"])
def test_closing_states_close_returns_connection_closing(isns, state):
    """RFC 9293 §3.10.4 FIN-WAIT-1, FIN-WAIT-2 ("strictly speaking, this is an error"),
    CLOSING, LAST-ACK, TIME-WAIT: "error: connection closing"; no second FIN is sent."""
    t = at_state(state, isns)
    with pytest.raises(ConnectionClosing, match="connection closing"):
        t.close()
    t.expect_silence()
    t.expect_state(state)


# --------------------------------------------------------------------------- §3.10.5 ABORT


def test_closed_abort_returns_connection_does_not_exist():
    """RFC 9293 §3.10.5 CLOSED: return "error: connection does not exist"."""
    with pytest.raises(ConnectionDoesNotExist, match="connection does not exist"):
        Tcb().abort()


@pytest.mark.parametrize("state", ["LISTEN", "SYN-SENT"])
def test_unsynchronized_abort_deletes_the_tcb_silently(isns, state):
    """RFC 9293 §3.10.5 LISTEN, SYN-SENT: delete the TCB, enter CLOSED; nothing is sent."""
    t = at_state(state, isns)
    t.abort()
    t.expect_silence()
    t.expect_state("CLOSED")
    assert t.conn.next_deadline() is None


RST = pytest.mark.parametrize("rst_ack", [False, True], ids=["rfc-rst", "linux-rst-ack"])


def rst(rst_ack: bool) -> str:
    """The reset ABORT sends: <CTL=RST> (RFC 9293 §3.10.5) or Linux's RST,ACK (``rst_ack``)."""
    return "R." if rst_ack else "R"


@RST
@pytest.mark.parametrize("state", ["SYN-RECEIVED", "SYN-RECEIVED (active)", "ESTABLISHED",
                                   "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"])
def test_synchronized_abort_sends_rst_seq_snd_nxt(isns, state, rst_ack):
    """RFC 9293 §3.10.5 SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT: send
    <SEQ=SND.NXT><CTL=RST>, flush every queue, delete the TCB, enter CLOSED. Linux's reset
    (``rst_ack``, the linux profile) also acknowledges RCV.NXT."""
    t = at_state(state, isns, rst_ack=rst_ack)
    snd_nxt, rcv_nxt = t.our_nxt, t.conn.rcv_nxt
    t.abort()
    t.expect_sent(rst(rst_ack), seq=snd_nxt, ack=rcv_nxt if rst_ack else 0, len=0, data=b"")
    t.expect_silence()
    t.expect_state("CLOSED")
    assert t.conn.next_deadline() is None


@RST
def test_established_abort_flushes_unsent_and_unacknowledged_data(isns, rst_ack):
    """RFC 9293 §3.10.5: all segments queued for transmission (except the RST) or
    retransmission are flushed."""
    t = established(isns, rst_ack=rst_ack)
    t.send(b"in flight")
    t.expect_sent("P.", data=b"in flight")
    t.send(b"queued")  # Nagle holds it
    t.abort()
    t.expect_sent(rst(rst_ack), seq=t.iss + 10)
    t.advance(10**11)
    t.expect_silence()


@pytest.mark.parametrize("state", ["CLOSING", "LAST-ACK", "TIME-WAIT"])
def test_closing_states_abort_deletes_the_tcb_without_rst(isns, state):
    """RFC 9293 §3.10.5 CLOSING, LAST-ACK, TIME-WAIT: respond with "ok", delete the TCB,
    enter CLOSED; no reset is sent."""
    t = at_state(state, isns)
    t.abort()
    t.expect_silence()
    t.expect_state("CLOSED")
    assert t.conn.next_deadline() is None


# --------------------------------------------------------------------------- §3.10.6 STATUS


@pytest.mark.parametrize("state", ALL)
def test_status_reports_the_state_and_the_tcb(isns, state):
    """RFC 9293 §3.10.6: return "state = <state>" and the TCB."""
    t = at_state(state, isns)
    st = t.status()
    assert st["state"] == state.split(" ")[0]
    assert st["local"] == ("10.0.0.1", 5000) and st["remote"] == ("10.0.0.2", 80)
    if state not in ("LISTEN",):
        assert st["iss"] == t.iss
        assert st["snd_nxt"] == t.our_nxt
    if state not in ("LISTEN", "SYN-SENT"):
        assert st["irs"] == t.irs
        assert st["rcv_nxt"] == t.peer_nxt
