"""RFC 9293 §3.10.7.4, the checks every "other state" shares, run in each of them.

SYN-RECEIVED (passive and active) and the seven synchronized states, in the RFC's order:
first the acceptability test (Table 6) and the ACK that answers an unacceptable segment;
second RST with RFC 5961 §3 (exact RCV.NXT resets, in the window gets a challenge ACK,
outside is dropped silently); fourth SYN (RFC 5961 §4 challenge ACK); fifth the ACK field
(no ACK bit, ACK of unsent data, RFC 5961 §5 too-old ACK). What each state does with an
acceptable segment is in the per-state files.

Values come from the wire: ``t.peer_nxt`` is RCV.NXT, ``t.our_nxt`` is SND.NXT, and
``t.window_edge`` is RCV.NXT + RCV.WND as we last advertised them.
"""

from __future__ import annotations

import pytest
from harness import OTHER_STATES, RECEIVING, SYNCHRONIZED, Tcb, at_state  # noqa: F401

from synack.tcp.errors import ConnectionReset

PEER_MAX_WND = 65535  # MAX.SND.WND: the largest window the scripted peer offers

states = pytest.mark.parametrize("state", OTHER_STATES)
synchronized = pytest.mark.parametrize("state", SYNCHRONIZED)


def una(t: Tcb):
    """SND.UNA as the peer knows it: the last ACK it sent (ISS before it acknowledged the SYN)."""
    return t.peer_ack if t.peer_ack is not None else t.iss


def unchanged(t: Tcb, state: str, readable: int = 0) -> None:
    t.expect_silence()
    t.expect_state(state.split(" ")[0])
    assert t.conn.error is None
    assert t.conn.readable == readable


# --------------------------------------------------------------------------- first: Table 6

UNACCEPTABLE = {
    # name: (seq relative to RCV.NXT or to the window edge, data)
    "empty-below-rcv-nxt": ("nxt", -1, b""),
    "empty-at-right-edge": ("edge", 0, b""),
    "empty-far-away": ("nxt", 2**31, b""),
    "data-ending-before-rcv-nxt": ("nxt", -5, b"12345"),
    "old-duplicate-far-below": ("nxt", -70000, b"12345"),
    "data-starting-at-right-edge": ("edge", 0, b"12345"),
    "data-beyond-right-edge": ("edge", 1000, b"x"),
}


@states
@pytest.mark.parametrize("case", list(UNACCEPTABLE))
def test_any_state_unacceptable_segment_gets_ack_and_is_dropped(isns, state, case):
    """RFC 9293 §3.10.7.4 first (Table 6): a segment that fails the acceptability test gets
    <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is dropped. Its ACK field acknowledges all we
    sent, so processing it would change the state: it must not be processed."""
    t = at_state(state, isns)
    base, off, data = UNACCEPTABLE[case]
    rcv_nxt, snd_nxt = t.peer_nxt, t.our_nxt
    seq = (rcv_nxt if base == "nxt" else t.window_edge) + off
    t.peer_sends("P." if data else ".", seq=seq, ack=snd_nxt, data=data)
    t.expect_sent(".", seq=snd_nxt, ack=rcv_nxt, len=0)
    unchanged(t, state)


@synchronized
@pytest.mark.parametrize("where", ["rcv-nxt", "rcv-nxt+100", "right-edge-1"])
def test_synchronized_empty_segment_in_window_is_acceptable(isns, state, where):
    """RFC 9293 §3.10.7.4 first, Table 6: zero length, RCV.WND > 0: acceptable when
    RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND; nothing new in it, so nothing is sent."""
    t = at_state(state, isns)
    seq = {"rcv-nxt": t.peer_nxt, "rcv-nxt+100": t.peer_nxt + 100,
           "right-edge-1": t.window_edge - 1}[where]
    t.peer_sends(".", seq=seq, ack=una(t))
    unchanged(t, state)


# --------------------------------------------------------------------------- second: RST


@states
@pytest.mark.parametrize("flags", ["R", "R."])
@pytest.mark.parametrize("where", ["rcv-nxt-1", "right-edge", "right-edge+1000", "rcv-nxt-70000"])
def test_any_state_rst_outside_window_is_dropped_silently(isns, state, flags, where):
    """RFC 9293 §3.10.7.4 second, RFC 5961 §3 (1): a RST whose sequence number is outside the
    receive window is silently dropped."""
    t = at_state(state, isns)
    seq = {"rcv-nxt-1": t.peer_nxt - 1, "right-edge": t.window_edge,
           "right-edge+1000": t.window_edge + 1000, "rcv-nxt-70000": t.peer_nxt - 70000}[where]
    t.peer_sends(flags, seq=seq, ack=una(t))
    unchanged(t, state)


@states
@pytest.mark.parametrize("flags", ["R", "R."])
@pytest.mark.parametrize("where", ["rcv-nxt+1", "right-edge-1"])
def test_any_state_rst_in_window_not_exact_gets_challenge_ack(isns, state, flags, where):
    """RFC 9293 §3.10.7.4 second, RFC 5961 §3 (3): a RST in the window but not at RCV.NXT
    gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is dropped."""
    t = at_state(state, isns)
    seq = t.peer_nxt + 1 if where == "rcv-nxt+1" else t.window_edge - 1
    t.peer_sends(flags, seq=seq, ack=una(t))
    t.expect_sent(".", seq=t.our_nxt, ack=t.peer_nxt, len=0)
    unchanged(t, state)


@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"])
@pytest.mark.parametrize("flags", ["R", "R."])
def test_synchronized_rst_at_rcv_nxt_resets_the_connection(isns, state, flags):
    """RFC 9293 §3.10.7.4 second, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT (RFC 5961
    §3 (2): the sequence number is exactly RCV.NXT): SENDs and RECEIVEs get "reset", queues
    are flushed, the user is told "connection reset", CLOSED. A RST is never answered."""
    t = at_state(state, isns)
    t.peer_sends(flags, seq=t.peer_nxt, ack=una(t))
    t.expect_silence()
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionReset)
    assert t.conn.next_deadline() is None
    with pytest.raises(ConnectionReset):
        t.send(b"more")
    with pytest.raises(ConnectionReset):
        t.receive()


@pytest.mark.parametrize("keeps", [False, True], ids=["rfc", "linux"])
def test_established_rst_flushes_undelivered_data(isns, keeps):
    """RFC 9293 §3.10.7.4 second: "All segment queues should be flushed"; the pending RECEIVE
    gets "reset" rather than the data. Linux (``rst_keeps_data``, tcp_reset) flushes only
    what was to be sent: the data received before the RST is read first, then "reset"."""
    t = at_state("ESTABLISHED", isns, rst_keeps_data=keeps)
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"unread")
    t.expect_sent(".", ack=t.irs + 7)
    t.send(b"unacked")
    t.expect_sent("P.", data=b"unacked")
    t.peer_sends("R", seq=t.irs + 7)
    t.expect_state("CLOSED")
    if keeps:
        assert t.receive(4) == b"unre"
        assert t.receive() == b"ad"
    with pytest.raises(ConnectionReset):
        t.receive()
    with pytest.raises(ConnectionReset):
        t.send(b"more")
    t.advance(10**12)
    t.expect_silence()  # nothing is retransmitted


@pytest.mark.parametrize("state", ["CLOSING", "LAST-ACK", "TIME-WAIT"])
@pytest.mark.parametrize("flags", ["R", "R."])
def test_closing_states_rst_at_rcv_nxt_closes(isns, state, flags):
    """RFC 9293 §3.10.7.4 second, CLOSING, LAST-ACK, TIME-WAIT: enter CLOSED and delete the
    TCB (no error for the user: both sides had closed)."""
    t = at_state(state, isns)
    t.peer_sends(flags, seq=t.peer_nxt, ack=una(t))
    t.expect_silence()
    t.expect_state("CLOSED")
    assert t.conn.error is None
    assert t.conn.next_deadline() is None


# --------------------------------------------------------------------------- fourth: SYN


@synchronized
@pytest.mark.parametrize("flags", ["S", "S."])
@pytest.mark.parametrize("where", ["rcv-nxt", "rcv-nxt+100", "irs", "right-edge+10"])
def test_synchronized_syn_gets_challenge_ack(isns, state, flags, where):
    """RFC 9293 §3.10.7.4 fourth (RFC 5961 §4): a SYN in a synchronized state, whatever its
    sequence number, gets <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is dropped; the connection
    is not reset. (Outside the window the first check sends the same ACK.)"""
    t = at_state(state, isns)
    rcv_nxt, snd_nxt = t.peer_nxt, t.our_nxt
    seq = {"rcv-nxt": rcv_nxt, "rcv-nxt+100": rcv_nxt + 100, "irs": t.irs,
           "right-edge+10": t.window_edge + 10}[where]
    t.peer_sends(flags, seq=seq, ack=una(t))
    t.expect_sent(".", seq=snd_nxt, ack=rcv_nxt, len=0)
    unchanged(t, state)


# --------------------------------------------------------------------------- fifth: ACK field


@states
@pytest.mark.parametrize("flags", ["P", "F", ""])
def test_any_state_segment_without_ack_bit_is_dropped(isns, state, flags):
    """RFC 9293 §3.10.7.4 fifth: if the ACK bit is off, drop the segment and return."""
    t = at_state(state, isns)
    t.peer_sends(flags, seq=t.peer_nxt, data=b"" if flags == "F" else b"text")
    unchanged(t, state)


@synchronized
@pytest.mark.parametrize("beyond", [1, 1000])
def test_synchronized_ack_of_unsent_data_gets_ack_and_is_dropped(isns, state, beyond):
    """RFC 9293 §3.10.7.4 fifth: if the ACK acks something not yet sent (SEG.ACK > SND.NXT),
    send an ACK, drop the segment, and return (the text is not taken)."""
    t = at_state(state, isns)
    rcv_nxt, snd_nxt = t.peer_nxt, t.our_nxt
    t.peer_sends("P.", seq=rcv_nxt, ack=snd_nxt + beyond, data=b"text")
    t.expect_sent(".", seq=snd_nxt, ack=rcv_nxt, len=0)
    unchanged(t, state)


@synchronized
def test_synchronized_ack_older_than_max_snd_wnd_gets_ack_and_is_dropped(isns, state):
    """RFC 9293 §3.10.7.4 fifth, RFC 5961 §5 (MAY-12): the ACK value is acceptable only if
    SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT; other segments are discarded and an ACK is
    sent back, whether or not data is outstanding."""
    t = at_state(state, isns)
    rcv_nxt, snd_nxt = t.peer_nxt, t.our_nxt
    t.peer_sends("P.", seq=rcv_nxt, ack=una(t) - PEER_MAX_WND - 1, data=b"inject")
    t.expect_sent(".", seq=snd_nxt, ack=rcv_nxt, len=0)
    unchanged(t, state)


@pytest.mark.parametrize("state", RECEIVING)
def test_receiving_ack_exactly_max_snd_wnd_old_is_acceptable(isns, state):
    """RFC 9293 §3.10.7.4 fifth, RFC 5961 §5: SEG.ACK = SND.UNA - MAX.SND.WND is still
    acceptable (an old duplicate ACK, ignored), so the text is delivered."""
    t = at_state(state, isns)
    t.peer_sends("P.", seq=t.peer_nxt, ack=una(t) - PEER_MAX_WND, data=b"fine")
    t.expect_sent(".", seq=t.our_nxt, ack=t.peer_nxt)  # the peer's SND.NXT, after "fine"
    assert t.receive() == b"fine"
    t.expect_state(state)


# --------------------------------------------------------------------------- zero window


def zero_window(state: str, isns, profile: str = "rfc") -> Tcb:
    """ESTABLISHED, FIN-WAIT-1 or FIN-WAIT-2 with a 1000-octet receive buffer the peer has
    filled (RCV.WND = 0); in ESTABLISHED ten octets of ours are unacknowledged. (The rfc
    profile: Table 6 as written.)"""
    t = Tcb(isns, rcv_buf=1000, profile=profile).established()
    if state == "ESTABLISHED":
        t.send(b"0123456789")
        t.expect_sent("P.", seq=t.iss + 1, data=b"0123456789")
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"z" * 1000)
    t.expect_sent(".", ack=t.irs + 1001, wnd=0)
    if state != "ESTABLISHED":
        t.close()
        t.expect_sent("F.", seq=t.iss + 1, ack=t.irs + 1001, wnd=0)
    if state == "FIN-WAIT-2":
        t.peer_sends(".", seq=t.irs + 1001, ack=t.iss + 2)
    t.expect_silence()
    t.expect_state(state)
    assert t.window_edge == t.peer_nxt  # RCV.WND = 0
    return t


@pytest.mark.parametrize("state", RECEIVING)
def test_receiving_zero_window_empty_segment_at_rcv_nxt_is_acceptable(isns, state):
    """RFC 9293 §3.10.7.4 first, Table 6: zero length, RCV.WND = 0: acceptable if
    SEG.SEQ = RCV.NXT. Its window is taken (SND.WND <- SEG.WND)."""
    t = zero_window(state, isns)
    t.peer_sends(".", seq=t.peer_nxt, ack=una(t), wnd=1234)
    t.expect_silence()
    assert t.conn.snd_wnd == 1234


@pytest.mark.parametrize("state", RECEIVING)
@pytest.mark.parametrize("off", [1, -1])
def test_receiving_zero_window_empty_segment_off_rcv_nxt_gets_ack(isns, state, off):
    """RFC 9293 §3.10.7.4 first, Table 6: zero length, RCV.WND = 0, SEG.SEQ != RCV.NXT is
    unacceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    t = zero_window(state, isns)
    t.peer_sends(".", seq=t.peer_nxt + off, ack=una(t), wnd=1234)
    t.expect_sent(".", seq=t.our_nxt, ack=t.peer_nxt, wnd=0)
    t.expect_silence()
    assert t.conn.snd_wnd != 1234


@pytest.mark.parametrize("state", RECEIVING)
def test_receiving_zero_window_data_is_refused_but_its_ack_is_processed(isns, state):
    """RFC 9293 §3.10.7.4 first, Table 6: SEG.LEN > 0 with RCV.WND = 0 is not acceptable (ACK
    sent, text dropped), but "special allowance should be made to accept valid ACKs"
    (§3.4 MUST-66): the window it carries is taken."""
    t = zero_window(state, isns)
    rcv_nxt = t.peer_nxt
    t.peer_sends("P.", seq=rcv_nxt, ack=una(t), wnd=1234, data=b"more")
    t.expect_sent(".", seq=t.our_nxt, ack=rcv_nxt, wnd=0)
    t.expect_silence()
    assert t.conn.snd_wnd == 1234
    assert t.conn.readable == 1000


def test_established_zero_window_data_acknowledging_our_data_advances_snd_una(isns):
    """RFC 9293 §3.10.7.4 first (MUST-66): with RCV.WND = 0 the valid ACK in a refused data
    segment still removes our acknowledged data from the retransmission queue."""
    t = zero_window("ESTABLISHED", isns)
    rcv_nxt = t.peer_nxt
    t.peer_sends("P.", seq=rcv_nxt, ack=t.iss + 11, data=b"more")
    t.expect_sent(".", seq=t.iss + 11, ack=rcv_nxt, wnd=0)
    assert t.conn.snd_una == t.iss + 11
    t.advance(10**11)
    t.expect_silence()  # nothing left to retransmit


def test_established_zero_window_fin_is_refused_by_the_rfc_and_taken_by_linux(isns):
    """RFC 9293 §3.10.7.4 first, Table 6: a FIN counts in SEG.LEN, so with RCV.WND = 0 it is
    not acceptable (the rfc profile: ACK of RCV.NXT, still ESTABLISHED). Linux takes a bare
    FIN at RCV.NXT into a zero window, since it needs no buffer (the linux profile)."""
    t = zero_window("ESTABLISHED", isns, "rfc")
    rcv_nxt = t.peer_nxt
    t.peer_sends("F.", seq=rcv_nxt, ack=t.iss + 11)
    t.expect_sent(".", ack=rcv_nxt, wnd=0)
    t.expect_state("ESTABLISHED")
    t = zero_window("ESTABLISHED", isns, "linux")
    t.peer_sends("F.", seq=rcv_nxt, ack=t.iss + 11)
    t.expect_sent(".", ack=rcv_nxt + 1, wnd=0)
    t.expect_state("CLOSE-WAIT")
    assert t.conn.readable == 1000                      # the data before it is still there


@pytest.mark.parametrize("state", RECEIVING)
def test_receiving_zero_window_rst_at_rcv_nxt_resets(isns, state):
    """RFC 9293 §3.4 MUST-66: RSTs are processed even when the receive window is zero."""
    t = zero_window(state, isns)
    t.peer_sends("R", seq=t.peer_nxt)
    t.expect_silence()
    t.expect_state("CLOSED")
    assert isinstance(t.conn.error, ConnectionReset)


@pytest.mark.parametrize("state", RECEIVING)
def test_receiving_zero_window_rst_off_rcv_nxt_is_dropped_silently(isns, state):
    """RFC 5961 §3 (1): with RCV.WND = 0 every other sequence number is outside the window."""
    t = zero_window(state, isns)
    t.peer_sends("R", seq=t.peer_nxt + 1)
    t.expect_silence()
    t.expect_state(state)


@pytest.mark.parametrize("state", RECEIVING)
def test_receiving_zero_window_reopens_when_the_user_reads(isns, state):
    """RFC 9293 §3.8.6.2.2: once the user takes the data the window opens again, and a
    window update tells the peer."""
    t = zero_window(state, isns)
    assert t.receive() == b"z" * 1000
    t.expect_sent(".", seq=t.our_nxt, ack=t.irs + 1001, wnd=1000)
    t.peer_sends("P.", seq=t.irs + 1001, ack=una(t), data=b"again")
    t.expect_sent(".", ack=t.irs + 1006)
    assert t.receive() == b"again"
