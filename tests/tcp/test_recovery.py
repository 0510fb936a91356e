"""Loss recovery against a scripted peer: SACK-based recovery (RFC 6675) with proportional
rate reduction (RFC 9937), RACK-TLP (RFC 8985), limited transmit (RFC 3042), and NewReno
(RFC 6582) when SACK is not negotiated.

The peer negotiates timestamps and SACK (optpeer.OptTcb), so full-sized segments carry
1448 octets. Segment k (from 0) of a flight starts at ``t.iss + 1 + k * MSS``. Congestion
control is NewReno, whose loss response is the RFC 5681 one: ssthresh = FlightSize / 2."""

from __future__ import annotations

import pytest
from harness import ms
from optpeer import opt_established

from synack.tcp.prr import Prr
from synack.tcp.recovery import OPEN, RECOVERY
from synack.trace.events import TimerFired

MSS = 1448


def start(t, k):
    return t.iss + 1 + k * MSS


def flight(t, n, **kw):
    """Send n full segments; return what we sent."""
    t.send(bytes(n * MSS))
    return [seg for _, seg, _ in t.drain()]


def retransmissions(t):
    return [(int(seg.seq - t.iss - 1) // MSS, c) for _, seg, c in t.sent if c not in (None, "zero-window-probe")]


def setup(isns, **kw):
    kw.setdefault("congestion", "newreno")
    kw.setdefault("nodelay", True)
    kw.setdefault("psh_every", 0)  # (PSH on the last segment only, as RFC 9293 MUST-61)
    return opt_established(isns, rtt=ms(20), **kw)


def sacked(t, *ranges):
    """SACK blocks covering segments [a, b) for each (a, b), most recent first."""
    return [(start(t, a), start(t, b)) for a, b in ranges]


# ----------------------------------------------------------------- SACK recovery (RFC 6675)

def test_established_sack_repairs_two_holes_in_one_round_trip(isns):
    """Segments 1 and 4 of ten are lost. SACKs show both holes: each is retransmitted on
    the ACKs that follow, without waiting a round trip per hole (NewReno) or the RTO."""
    t = setup(isns)
    assert len(flight(t, 10)) == 10
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 1))                              # segment 0
    t.peer_sends(".", ack=start(t, 1), sacks=sacked(t, (2, 3)))
    t.peer_sends(".", ack=start(t, 1), sacks=sacked(t, (2, 4)))
    t.expect_silence()                                              # limited transmit: no new data
    t.peer_sends(".", ack=start(t, 1), sacks=sacked(t, (5, 6), (2, 4)))
    rtx = t.expect_sent(".", seq=start(t, 1), cause="fast-retransmit")
    assert len(rtx.payload) == MSS
    for k in range(6, 10):
        t.peer_sends(".", ack=start(t, 1), sacks=sacked(t, (5, k + 1), (2, 4)))
    assert retransmissions(t) == [(1, "fast-retransmit"), (4, "sack-recovery")]
    assert t.status()["ca_state"] == RECOVERY
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 4), sacks=sacked(t, (5, 10)))    # hole 1 repaired
    t.peer_sends(".", ack=start(t, 10))                             # hole 2 repaired
    assert t.status()["ca_state"] == OPEN
    assert t.conn.cc.ssthresh == 9 * MSS // 2                       # FlightSize/2 at the loss
    assert not [e for e in t.recorder.events if isinstance(e, TimerFired) and e.name == "rto"]


def test_established_prr_spreads_the_reduction_over_the_acks(isns):
    """RFC 9937: while pipe > ssthresh, PRR sends in proportion ssthresh/RecoverFS of what
    is delivered: about one segment for every two ACKs here, never a burst."""
    t = setup(isns, initial_window=20)
    assert len(flight(t, 20)) == 20
    t.send(bytes(40 * MSS))                                         # more to send as PRR allows
    t.advance(ms(20))
    sent = []
    for k in range(1, 20):                                          # segment 0 is lost
        before = len(t.sent)
        t.peer_sends(".", ack=start(t, 0), sacks=sacked(t, (1, k + 1)))
        sent.append(len(t.sent) - before)
    after_loss = sent[2:]                                           # from the third SACK on
    assert max(after_loss) == 1
    assert abs(sum(after_loss) - len(after_loss) / 2) <= 1


def test_prr_unit_proportional_then_slow_start_bound():
    """RFC 9937 §4 with SMSS units: RecoverFS 20, ssthresh 10; each ACK delivers one."""
    prr = Prr(smss=1)
    prr.start(recover_fs=20, ssthresh=10)
    pipe, out = 19, []
    for _ in range(8):
        n = prr.on_ack(1, pipe, safe_ack=False)
        prr.out += n
        out.append(n)
        pipe += n - 1
    assert out == [1, 0, 1, 0, 1, 0, 1, 0]                         # sndcnt = CEIL(d*10/20) - out
    # Once pipe is at ssthresh, PRR-CRB sends what was delivered, PRR-SSRB one more
    prr.out, prr.delivered = 10, 20
    assert prr.on_ack(1, pipe=9, safe_ack=False) == 1
    assert prr.on_ack(1, pipe=8, safe_ack=True) == 2


def test_established_limited_transmit_with_sack(isns):
    """RFC 3042 (RFC 6675 §5 (3)): each of the first two duplicate ACKs releases one new
    segment beyond cwnd."""
    t = setup(isns)
    flight(t, 10)
    t.send(bytes(5 * MSS))                                          # beyond the window
    t.expect_silence()
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 0), sacks=sacked(t, (1, 2)))
    t.expect_sent(".", seq=start(t, 10), cause=None)
    t.peer_sends(".", ack=start(t, 0), sacks=sacked(t, (1, 3)))
    t.expect_sent(".", seq=start(t, 11), cause=None)
    t.expect_silence()


def test_established_newreno_without_sack_uses_limited_transmit_then_fast_retransmit(isns):
    """SACK not negotiated: RFC 3042 on the first two duplicate ACKs, RFC 5681 fast
    retransmit on the third, RFC 6582 recovery."""
    t = setup(isns, peer_sack=False)
    assert not t.conn.sack_ok
    flight(t, 10)
    t.send(bytes(5 * MSS))
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 0))
    t.expect_sent(".", seq=start(t, 10))
    t.peer_sends(".", ack=start(t, 0))
    t.expect_sent(".", seq=start(t, 11))
    t.peer_sends(".", ack=start(t, 0))
    t.expect_sent(".", seq=start(t, 0), cause="fast-retransmit")


def test_established_without_rack_dupthresh_starts_recovery(isns):
    """rack=False: RFC 6675's DupAcks and IsLost() decide; the third SACK of new data
    triggers the fast retransmit."""
    t = setup(isns, rack=False)
    flight(t, 10)
    t.advance(ms(20))
    for k in (1, 2):
        t.peer_sends(".", ack=start(t, 0), sacks=sacked(t, (1, k + 1)))
    assert not any(c == "fast-retransmit" for _, _, c in t.drain())
    t.peer_sends(".", ack=start(t, 0), sacks=sacked(t, (1, 4)))
    t.expect_sent(".", seq=start(t, 0), cause="fast-retransmit")


def test_established_rto_after_sack_resends_only_what_the_peer_lacks(isns):
    """RFC 6675 §5.1: after a timeout, every segment not SACKed is resent as the window
    grows; SACKed ones are not (the RTO here because rack=False and two SACKs are fewer
    than DupThresh)."""
    t = setup(isns, rack=False)
    flight(t, 6)
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 0), sacks=sacked(t, (2, 4)))     # segments 2 and 3 arrived
    t.drain()
    t.advance(ms(200))
    t.expect_sent(".", seq=start(t, 0), cause="rto")
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 1), sacks=sacked(t, (2, 4)))     # slow start: 2 segments
    assert [k for k, c in retransmissions(t)] == [0, 1, 4]          # 2 and 3 skipped
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 5))                              # 1..4 all there now
    assert retransmissions(t) == [(0, "rto"), (1, "rto"), (4, "rto"), (5, "rto")]
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 6))
    assert t.status()["ca_state"] == OPEN


# ----------------------------------------------------------------- RACK (RFC 8985 §6)

def warm(t):
    """One segment and its ACK 20 ms later: RACK.min_RTT = 20 ms."""
    t.send(bytes(MSS))
    t.drain()
    t.advance(ms(20))
    t.peer_sends(".", ack=t.iss + 1 + MSS)
    t.iss_data = t.iss + 1 + MSS


def start2(t, k):
    return t.iss_data + k * MSS


def test_established_rack_waits_out_reordering(isns):
    """A segment delivered late (reordered), within RACK.reo_wnd = min_RTT/4 (RFC 8985
    §6.2 step 4): no retransmission; the reordering timer is cancelled."""
    t = setup(isns)
    warm(t)
    t.send(bytes(4 * MSS))
    t.drain()
    t.advance(ms(20))
    t.peer_sends(".", ack=start2(t, 0), sacks=[(start2(t, 1), start2(t, 2))])
    t.expect_silence()
    t.advance(ms(3))                                                # less than 20/4 ms
    t.peer_sends(".", ack=start2(t, 2))
    t.peer_sends(".", ack=start2(t, 4))
    t.advance(ms(500))
    assert retransmissions(t) == []


def test_established_rack_timer_declares_the_loss_after_the_reordering_window(isns):
    """Segment 0 never arrives: RACK marks it lost once RACK.rtt + reo_wnd have passed
    since it was sent (RFC 8985 §6.2 step 5), from the timer (§6.3), not the RTO."""
    t = setup(isns)
    warm(t)
    sent_at = t.now
    t.send(bytes(4 * MSS))
    t.drain()
    t.advance(ms(20))
    t.peer_sends(".", ack=start2(t, 0), sacks=[(start2(t, 1), start2(t, 2))])
    t.expect_silence()
    t.advance(ms(10))
    seg = t.expect_sent(".", seq=start2(t, 0), cause="fast-retransmit")
    assert t.sent[-1][0] - sent_at == ms(20) + ms(20) // 4
    assert seg


# ----------------------------------------------------------------- TLP (RFC 8985 §7)

def test_established_tail_loss_probe_repairs_the_tail_without_the_rto(isns):
    """The last two of four segments are lost: no ACK will say so. The probe timeout (2 *
    SRTT) sends the last segment again; its SACK lets RACK find the other loss."""
    t = setup(isns)
    flight(t, 4)
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 2))                              # 0 and 1 arrive
    t.expect_silence()
    t.advance(ms(39))
    t.expect_silence()
    t.advance(ms(1))                                                # PTO = 2 * SRTT = 40 ms
    t.expect_sent("P.", seq=start(t, 3), cause="tlp")
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 2), sacks=[(start(t, 3), start(t, 4))])
    t.expect_sent(".", seq=start(t, 2), cause="fast-retransmit")
    t.advance(ms(20))
    t.peer_sends(".", ack=start(t, 4))
    assert not [e for e in t.recorder.events if isinstance(e, TimerFired) and e.name == "rto"]
    assert t.status()["ca_state"] == OPEN


def test_established_tail_loss_probe_sends_new_data_when_it_can(isns):
    """RFC 8985 §7.3: with unsent data the peer's window allows, the probe is new data
    (beyond cwnd), not a retransmission."""
    t = setup(isns)
    flight(t, 10)
    t.send(bytes(2 * MSS))                                          # held by cwnd
    t.expect_silence()
    t.advance(ms(40))
    t.expect_sent(".", seq=start(t, 10), cause=None)
    t.expect_silence()


def test_established_a_lone_segment_is_probed_at_the_rto_time_then_the_rto_follows(isns):
    """With one segment in flight the PTO adds the peer's delayed-ACK time (WCDelAckT =
    200 ms, RFC 8985 §7.2): 240 ms, later than the RTO (200 ms), so the PTO is cut to the
    RTO's time and the probe goes out in its place; the RTO restarts from the probe (as
    Linux: "flight of 1 with SACK: probe at about 200 ms, then the RTO")."""
    t = setup(isns)
    t.send(b"x" * 100)
    sent_at = t.now
    t.drain()
    t.advance(ms(200))
    t.expect_sent("P.", cause="tlp", at=sent_at + ms(200))
    t.expect_silence()
    t.advance(ms(200))
    t.expect_sent("P.", cause="rto", at=sent_at + ms(400))


def test_established_the_fin_restarts_the_probe_timer(isns):
    """RFC 8985 §7.2: the PTO restarts after every transmission of new data, the FIN too.
    Data leaves, the FIN 30 ms later: the probe (the FIN again, the last segment sent)
    comes a PTO after the FIN, not after the data."""
    t = setup(isns)
    t.send(bytes(4 * MSS))
    t.drain()
    t.advance(ms(30))
    t.close()
    fin = t.expect_sent("F.", seq=start(t, 4))
    fin_at = t.now
    t.advance(ms(39))
    t.expect_silence()
    t.advance(ms(1))                                                # PTO = 2 * SRTT = 40 ms
    probe = t.expect_sent("F.", cause="tlp", at=fin_at + ms(40))
    assert probe.seq == fin.seq and not probe.payload


@pytest.mark.parametrize("rack", [True, False])
def test_established_sack_connection_delivers_after_random_holes(isns, rack):
    """A longer exchange: every fifth segment of 40 lost once; all arrive in the end."""
    t = setup(isns, rack=rack, initial_window=40)
    flight(t, 40)
    t.advance(ms(20))
    got = [k for k in range(40) if k % 5 != 1]
    holes = [k for k in range(40) if k % 5 == 1]
    cum = 0
    for k in got:
        if k == cum:
            cum += 1
        blocks = []
        run = None
        for j in got:
            if j < cum:
                continue
            if j <= k:
                if run and run[1] == j:
                    run[1] = j + 1
                else:
                    run = [j, j + 1]
                    blocks.append(run)
        t.peer_sends(".", ack=start(t, cum), sacks=[(start(t, a), start(t, b)) for a, b in reversed(blocks)][:3])
    resent = {k for k, _ in retransmissions(t)}
    assert set(holes) <= resent

