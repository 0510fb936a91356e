"""RFC 7323 §3-5: the Timestamps option (TSopt), RTT measurement from TSecr (RTTM, §4) and
protection against wrapped sequence numbers (PAWS, §5), against a scripted peer."""

from __future__ import annotations

import pytest
from harness import ms, sec
from optpeer import OptTcb, PEER_TSVAL, opt_established, opt_established_passive, ts_of, tsecr_of, tsval_of

from synack.tcp import timestamps as T
from synack.trace.events import RttSample, SegmentDropped
from synack.wire.tcp import RST, Mss, Nop, SackPermitted, Timestamps, WindowScale

DAY = sec(24 * 3600)


def drops(t, reason):
    return [e for e in t.recorder.events if isinstance(e, SegmentDropped) and e.reason == reason]


def rtt_samples(t):
    return [e.rtt for e in t.recorder.events if isinstance(e, RttSample)]


# ----------------------------------------------------------------- negotiation (§3.2)

def test_syn_sent_offers_timestamps_with_tsecr_zero_in_linux_order(isns):
    t = OptTcb(isns)
    t.open_active()
    syn = t.expect_sent("S", seq=t.iss)
    assert [type(o) for o in syn.options] == [Mss, SackPermitted, Timestamps, Nop, WindowScale]
    assert tsecr_of(syn) == 0  # "the TSecr field ... MUST be zero" when ACK is off


def test_syn_received_echoes_the_peers_tsval(isns):
    t = OptTcb(isns).listen()
    t.peer_sends("S", seq=t.irs, tsval=777)
    syn_ack = t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    assert tsecr_of(syn_ack) == 777


def test_syn_received_without_peer_timestamps_sends_none(isns):
    t = OptTcb(isns, peer_ts=False).listen()
    t.peer_sends("S", seq=t.irs)
    syn_ack = t.expect_sent("S.", seq=t.iss, ack=t.irs + 1)
    assert ts_of(syn_ack) is None
    assert not t.conn.ts_ok


def test_config_without_timestamps_neither_offers_nor_accepts_them(isns):
    t = OptTcb(isns, timestamps=False)
    t.open_active()
    syn = t.expect_sent("S", seq=t.iss)
    assert ts_of(syn) is None
    t.peer_sends("S.", seq=t.irs, ack=t.iss + 1)  # the peer includes TSopt anyway
    ack = t.expect_sent(".", ack=t.irs + 1)
    assert ts_of(ack) is None and not t.conn.ts_ok


def test_established_every_segment_carries_timestamps_the_rst_too(isns):
    """RFC 7323 §3.2: TSopt "MUST be sent in every non-<RST> segment" and "SHOULD be sent
    in an <RST> segment": the abort's RST echoes TS.Recent like the rest."""
    t = opt_established(isns)
    t.send(b"hello")
    data = t.expect_sent("P.", data=b"hello")
    t.close()
    fin = t.expect_sent("F.")
    assert ts_of(data) is not None and ts_of(fin) is not None
    t.advance(ms(5))
    t.abort()
    rst = t.expect_sent("R.")
    assert ts_of(rst) == (tsval_of(fin) + 5, tsecr_of(fin))


@pytest.mark.parametrize("how", ["close-with-unread-data", "keep-alive-give-up"])
def test_established_resets_of_a_timestamp_connection_carry_tsopt(isns, how):
    """RFC 7323 §3.2: every RST the connection sends of its own accord carries TSopt: the
    one for a CLOSE with unread data (RFC 9293 §3.6.1 SHLD-3) and the keep-alive give-up."""
    t = opt_established(isns, keepalive=True, keepalive_idle=sec(10), keepalive_interval=sec(1),
                        keepalive_count=1)
    if how == "close-with-unread-data":
        t.peer_sends("P.", data=b"unread")
        t.expect_sent(".")
        t.conn.close(t.now, keep_receiving=False)
    else:
        t.advance(sec(12))
        t.expect_sent(".", cause="keepalive")
    rst = [s for _, s, _ in t.drain() if s.flags & RST]
    assert len(rst) == 1 and ts_of(rst[0]) is not None


def test_tsval_clock_ticks_once_a_millisecond(isns):
    """RFC 7323 §5.4: between 1 ms and 1 s per tick; synack ticks every millisecond."""
    t = opt_established(isns)
    t.send(b"a")
    first = tsval_of(t.expect_sent("P.", data=b"a"))
    t.advance(ms(150))
    t.peer_sends(".", ack=t.iss + 2)
    t.send(b"b")
    second = tsval_of(t.expect_sent("P.", data=b"b"))
    assert (second - first) & 0xFFFFFFFF == 150


def test_tsvals_of_different_connections_are_offset(isns):
    """RFC 7323 §7.1: each connection starts its TSval clock at its own offset."""
    a = OptTcb((100, 300))
    b = OptTcb((2**31 + 7, 300))
    a.open_active()
    b.open_active()
    assert tsval_of(a.expect_sent("S")) != tsval_of(b.expect_sent("S"))


def test_data_segments_leave_room_for_the_option(isns):
    """RFC 9293 §3.7.1: Eff.snd.MSS excludes the options: 1460 - 12 octets of data."""
    t = opt_established(isns, nodelay=True, psh_every=0)
    t.send(bytes(3000))
    sizes = [len(t.expect_sent(".").payload), len(t.expect_sent(".").payload), len(t.expect_sent("P.").payload)]
    assert sizes == [1448, 1448, 104]
    assert t.conn.eff_snd_mss == 1448 and t.conn.snd_mss == 1460


# ----------------------------------------------------------------- TS.Recent (§4.3)

def test_delayed_ack_echoes_the_earliest_unacknowledged_tsval(isns):
    """RFC 7323 §4.3 case (A): with delayed ACKs the ACK echoes the TSval of the first of
    the segments it acknowledges (TS.Recent changes only at or left of Last.ACK.sent)."""
    t = opt_established(isns, delayed_ack=ms(40), quick_acks=0)
    t.peer_sends("P.", data=b"one", tsval=PEER_TSVAL + 1)
    t.peer_sends("P.", data=b"two", tsval=PEER_TSVAL + 2)
    t.expect_silence()
    t.advance(ms(40))
    ack = t.expect_sent(".", ack=t.irs + 7)
    assert tsecr_of(ack) == PEER_TSVAL + 1


def test_out_of_order_segment_does_not_update_ts_recent_but_the_hole_filler_does(isns):
    """RFC 7323 §4.3 cases (B) and (C): the ACK for data beyond a hole echoes the TSval of
    the last in-order segment; the segment that fills the hole sets TS.Recent."""
    t = opt_established(isns)
    t.peer_sends("P.", data=b"A", tsval=PEER_TSVAL + 1)
    t.expect_sent(".", ack=t.irs + 2)
    t.peer_sends("P.", seq=t.irs + 3, data=b"C", tsval=PEER_TSVAL + 3)  # "B" is missing
    dup = t.expect_sent(".", ack=t.irs + 2)
    assert tsecr_of(dup) == PEER_TSVAL + 1
    t.peer_sends("P.", seq=t.irs + 2, data=b"B", tsval=PEER_TSVAL + 4)  # the retransmission
    full = t.expect_sent(".", ack=t.irs + 4)
    assert tsecr_of(full) == PEER_TSVAL + 4


# ----------------------------------------------------------------- RTTM (§4.1)

def test_rtt_is_measured_from_the_echoed_tsval(isns):
    t = opt_established(isns)
    t.send(b"x" * 100)
    seg = t.expect_sent("P.")
    t.advance(ms(37))
    t.peer_sends(".", ack=t.iss + 101, tsecr=tsval_of(seg))
    assert rtt_samples(t)[-1] == ms(37)


def test_rtt_is_measured_after_a_retransmission(isns):
    """With timestamps the ACK says which transmission it answers, so a retransmitted
    segment gives an RTT sample (RFC 7323 §4.2: Karn's rule is not needed)."""
    t = opt_established(isns, rack=False)  # (no tail loss probe in the RTO's place)
    before = len(rtt_samples(t))
    t.send(b"x" * 100)
    t.expect_sent("P.", cause=None)
    t.advance(ms(200))  # the RTO (RFC 6298 (2.4): at least 200 ms)
    again = t.expect_sent("P.", cause="rto")
    t.advance(ms(30))
    t.peer_sends(".", ack=t.iss + 101, tsecr=tsval_of(again))
    assert rtt_samples(t)[before:] == [ms(30)]


# ----------------------------------------------------------------- PAWS (§5)

PAWS_CASES = [
    # (what, TS.Recent, SEG.TSval, idle, rejected)
    ("newer TSval", 1000, 1001, 0, False),
    ("equal TSval is not older", 1000, 1000, 0, False),
    ("older TSval", 1000, 999, 0, True),
    ("newer across 2**32", 2**32 - 10, 5, 0, False),
    ("older across 2**32", 5, 2**32 - 10, 0, True),
    ("half the space ahead counts as older", 0, 2**31, 0, True),
    ("TS.Recent 24 days old is still valid", 1000, 999, DAY * 24, True),
    ("TS.Recent idle over 24 days is invalid (§5.5)", 1000, 999, DAY * 24 + 1, False),
]


@pytest.mark.parametrize("what,recent,tsval,idle,rejected", PAWS_CASES, ids=[c[0] for c in PAWS_CASES])
def test_paws_rule_r1(what, recent, tsval, idle, rejected):
    assert T.paws_rejects(tsval, recent, 0, idle) is rejected


def test_established_paws_drops_an_old_duplicate_with_an_ack(isns):
    """RFC 7323 §5.3 R1: SEG.TSval < TS.Recent: "treat the arriving segment as not
    acceptable: Send an acknowledgment in reply ... and drop the segment". Here the old
    segment's sequence numbers lie in the window (as after a wrap of the sequence space):
    without PAWS its stale data would be taken."""
    t = opt_established(isns)
    t.peer_sends("P.", data=b"new!", tsval=PEER_TSVAL + 10)
    t.expect_sent(".", ack=t.irs + 5)
    t.peer_sends("P.", seq=t.irs + 5, data=b"OLD!", tsval=PEER_TSVAL + 2)
    ack = t.expect_sent(".", ack=t.irs + 5)
    assert tsecr_of(ack) == PEER_TSVAL + 10
    assert len(drops(t, "paws")) == 1
    assert t.receive() == b"new!"
    t.peer_sends("P.", seq=t.irs + 5, data=b"good", tsval=PEER_TSVAL + 11)
    t.expect_sent(".", ack=t.irs + 9)
    assert t.receive() == b"good"


def test_established_paws_does_not_apply_to_rst(isns):
    t = opt_established(isns)
    t.peer_sends("P.", data=b"x", tsval=PEER_TSVAL + 10)
    t.expect_sent(".")
    t.peer_sends("R", seq=t.irs + 2, tsval=PEER_TSVAL + 1)
    t.expect_state("CLOSED")


def test_established_segment_without_timestamps_is_dropped_silently(isns):
    """RFC 7323 §3.2: once negotiated, "a TCP SHOULD silently drop" a non-RST segment
    without TSopt (and "MUST NOT abort")."""
    t = opt_established(isns)
    t.peer_sends("P.", data=b"bare", ts=False)
    t.expect_silence()
    assert drops(t, "no-timestamp") and t.receive() == b""
    t.expect_state("ESTABLISHED")


def test_established_ts_recent_expires_after_24_days_idle(isns):
    """RFC 7323 §5.5: after 24 days without an update TS.Recent is invalid, and a segment
    with an older TSval is accepted (and its TSval adopted)."""
    t = opt_established(isns)
    t.peer_sends("P.", data=b"a", tsval=PEER_TSVAL + 1000)
    t.expect_sent(".")
    t.advance(DAY * 25)
    t.peer_sends("P.", seq=t.irs + 2, data=b"b", tsval=PEER_TSVAL + 1)
    ack = t.expect_sent(".", ack=t.irs + 3)
    assert tsecr_of(ack) == PEER_TSVAL + 1
    assert t.receive() == b"ab"


def test_syn_received_paws_checks_the_handshake_ack(isns):
    """TS.Recent comes from the SYN (RFC 7323 §4.3): an ACK of our SYN,ACK whose TSval is
    older is an old duplicate."""
    t = OptTcb(isns).listen()
    t.peer_sends("S", seq=t.irs, tsval=PEER_TSVAL)
    t.expect_sent("S.")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1, tsval=PEER_TSVAL - 100)
    t.expect_sent(".", ack=t.irs + 1)
    t.expect_state("SYN-RECEIVED")
    t.peer_sends(".", seq=t.irs + 1, ack=t.iss + 1, tsval=PEER_TSVAL + 1)
    t.expect_state("ESTABLISHED")


def test_passive_connection_uses_timestamps_too(isns):
    t = opt_established_passive(isns)
    t.send(b"hi")
    assert tsecr_of(t.expect_sent("P.", data=b"hi")) == PEER_TSVAL


@pytest.mark.parametrize("forged", ["in-window SYN", "ACK too old"])
def test_established_forged_segments_do_not_move_ts_recent(isns, forged):
    """A segment that fails the SYN or ACK checks (RFC 5961 §4, §5) does not set TS.Recent,
    as in Linux: else a blind attacker's large TSval would have PAWS drop the real peer."""
    t = opt_established(isns)
    big = PEER_TSVAL + 10**6
    if forged == "in-window SYN":
        t.peer_sends("S", seq=t.irs + 1, tsval=big)
    else:
        t.peer_sends("P.", seq=t.irs + 1, ack=t.iss - 100_000, data=b"evil", tsval=big)
    t.drain()                                                  # the challenge ACK
    t.peer_sends("P.", seq=t.irs + 1, ack=t.iss + 1, data=b"real", tsval=PEER_TSVAL + 1)
    t.expect_sent(".", ack=t.irs + 5)
    assert not drops(t, "paws") and t.receive() == b"real"
