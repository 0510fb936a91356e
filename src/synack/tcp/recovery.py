"""SACK-based loss recovery for one connection: RFC 6675 (scoreboard, pipe, NextSeg) with
RFC 8985 (RACK-TLP) and RFC 9937 (PRR) as its parts.

A :class:`LossRecovery` exists for a connection that negotiated SACK (RFC 2018), from the
first data segment it sends. It owns the RFC 6675 scoreboard (:class:`~synack.tcp.sack.Scoreboard`),
RACK and TLP (:mod:`synack.tcp.rack`) and PRR (:mod:`synack.tcp.prr`), and decides: what was
lost, which segment goes next, how many octets PRR allows. The sender
(:mod:`synack.tcp.sender`) acts: it tells this object what it sent and what each ACK said,
builds and sends the segments, and alone talks to the congestion control algorithm, which
owns cwnd and ssthresh. Positions are absolute stream offsets (ints); times are ns.

The states (:class:`CaState`, named as Linux's ``ca_state``):

- ``OPEN``: no loss known. RACK (or, with ``rack=False``, RFC 6675's DupAcks and IsLost)
  watches every ACK; the tail loss probe timer covers the end of a flight.
- ``RECOVERY``: fast recovery (RFC 6675 §5) from the first loss until the cumulative ACK
  reaches RecoveryPoint. What may be sent on each ACK is PRR's ``sndcnt`` (RFC 9937 §4);
  NextSeg() chooses what: lost segments first, then new data.
- ``LOSS``: after a retransmission timeout, until RecoveryPoint (= SND.NXT at the timeout)
  is acknowledged: every segment not SACKed is lost and goes out again as slow start's
  window allows (RFC 6675 §5.1, RFC 8985 §6.3), skipping what the receiver holds.
"""

from __future__ import annotations

import enum

from .prr import Prr
from .rack import WC_DEL_ACK, Rack, Tlp
from .sack import DUPTHRESH, LOST, SACKED, Scoreboard, SegmentRecord, is_dsack

__all__ = ["CaState", "OPEN", "RECOVERY", "LOSS", "LossRecovery", "WC_DEL_ACK"]


class CaState(enum.StrEnum):
    """The loss-recovery state of a sender (Linux's ``ca_state`` names)."""

    OPEN = "open"
    RECOVERY = "recovery"
    LOSS = "loss"


OPEN, RECOVERY, LOSS = CaState.OPEN, CaState.RECOVERY, CaState.LOSS


class LossRecovery:
    """Loss detection and recovery state of one SACK connection (see the module docstring)."""

    __slots__ = ("sb", "smss", "use_rack", "rack", "tlp", "prr", "state", "recovery_point", "dupacks",
                 "high_rxt", "rescue_rxt", "xmits", "last_sacked", "marked")

    def __init__(self, smss: int, rack: bool = True) -> None:
        #: the RFC 6675 scoreboard
        self.sb = Scoreboard()
        self.smss = smss
        #: RACK-TLP decides losses (RFC 8985); False: RFC 6675's DupThresh and IsLost()
        self.use_rack = rack
        #: RFC 8985 §6 state (kept even without RACK: its RTT samples feed HyStart++)
        self.rack = Rack()
        #: RFC 8985 §7: the loss probe in flight
        self.tlp = Tlp()
        #: RFC 9937 state of the current recovery
        self.prr = Prr(smss)
        self.state = OPEN
        #: RecoveryPoint (RFC 6675 §5): the episode ends when SND.UNA reaches it
        self.recovery_point = 0
        #: DupAcks (RFC 6675 §2): ACKs that SACKed new data without moving SND.UNA
        self.dupacks = 0
        #: HighRxt and RescueRxt (RFC 6675 §2)
        self.high_rxt = 0
        self.rescue_rxt: int | None = None
        #: transmissions so far (numbers each one for RACK's "sent after")
        self.xmits = 0
        #: octets newly SACKed by the last ACK
        self.last_sacked = 0
        #: segments the last detect_loss() newly deemed lost
        self.marked = 0

    def __repr__(self) -> str:
        return (f"<LossRecovery {self.state} pipe={self.sb.pipe()} rp={self.recovery_point} "
                f"prr={self.prr.delivered}/{self.prr.out} segs={len(self.sb)}>")

    # ------------------------------------------------------------------ what was sent
    def sent(self, start: int, end: int, now: int) -> None:
        """New data [start, end) left at ``now``."""
        self.xmits += 1
        self.sb.segs.append(SegmentRecord(start, end, now, 0, self.xmits))
        if self.state is not OPEN:
            self.prr.out += end - start

    def resent(self, start: int, end: int, now: int, rescue: bool = False) -> None:
        """[start, end) was retransmitted at ``now``. RFC 6675 (C.2): HighRxt moves, except
        for a rescue retransmission (rule (4))."""
        self.xmits += 1
        self.sb.retransmitted(start, end, now, self.xmits)
        if end > self.high_rxt and not rescue:
            self.high_rxt = end
        if self.state is not OPEN:
            self.prr.out += end - start

    # ------------------------------------------------------------------ what an ACK said
    def on_ack(self, una: int, blocks: list, snd_nxt: int, now: int) -> int:
        """Process an ACK whose cumulative point is ``una`` and whose SACK blocks (absolute,
        in the order received) are ``blocks``. Returns DeliveredData (RFC 9937 §3): octets
        newly acknowledged, cumulatively or selectively."""
        sb = self.sb
        rack = self.rack
        if not blocks and not sb.nsacked and self.state is OPEN:
            # The common case: nothing SACKed and no recovery. The records below ``una``
            # leave; the highest of them is the newest delivered (new data goes out in
            # sequence order) and feeds RACK.
            last, delivered = sb.advance_plain(una)
            if last is not None:
                rack.update(last, now)
            self.dupacks = 0
            rack.dsack_seen = False
            self.last_sacked = 0
            if rack.dsack_round is not None and una >= rack.dsack_round:
                rack.dsack_round = None
            return delivered
        acked = sb.advance(una)
        dsack = is_dsack(blocks, una) if blocks else False
        rack.dsack_seen = dsack
        sacked = sb.sack(blocks, una) if blocks else ()
        delivered = 0
        for r in acked:
            delivered += r.end - r.start
            rack.update(r, now)
        ns = 0
        for r in sacked:
            ns += r.end - r.start
            rack.update(r, now)
        self.last_sacked = ns
        delivered += ns
        sb.renege()
        # RFC 6675 §2 DupAck: an ACK that SACKs new data without moving SND.UNA.
        if sacked and not acked:
            self.dupacks += 1
        elif acked:
            self.dupacks = 0
        rack.on_dsack_round(una, snd_nxt, dsack)
        return delivered

    # ------------------------------------------------------------------ loss detection
    def detect_loss(self, now: int, srtt: int | None) -> int:
        """Mark lost segments: with RACK, RFC 8985 §6.2 step 5 (returns the RACK reordering
        timeout in ns, or 0); without, RFC 6675 IsLost() from the SACKs (returns 0)."""
        sb = self.sb
        self.marked = 0
        if not self.use_rack:
            if self.state is RECOVERY or self.state is LOSS or self.dupacks >= DUPTHRESH or \
                    sb.is_lost(sb.segs[0].start if sb.segs else 0, self.smss):
                self.marked = sb.mark_lost(self.high_rxt if self.state is RECOVERY else 0, self.smss)
                if self.state is OPEN and self.dupacks >= DUPTHRESH and sb.segs and \
                        not sb.segs[0].flags & (SACKED | LOST):
                    # RFC 6675 §5 (1): DupThresh duplicate ACKs: the first segment is lost.
                    sb.segs[0].flags |= LOST
                    self.marked += 1
            return 0
        rack = self.rack
        if rack.xmit_ts < 0 or (self.state is OPEN and not sb.nsacked):
            # Nothing can have been sent before the newest delivered segment and still be
            # outstanding unless something above SND.UNA was SACKed (or we are recovering).
            return 0
        reo = rack.reo_wnd(srtt, self.state is not OPEN, sb.nsacked)
        self.marked, timeout = rack.detect_loss(sb, now, reo)
        return timeout

    def lost_pending(self) -> bool:
        """Is a segment waiting to be retransmitted?"""
        return self.sb.next_lost() is not None

    # ------------------------------------------------------------------ recovery episodes
    def enter_recovery(self, snd_nxt: int, flight: int, ssthresh: int) -> None:
        """Start fast recovery (RFC 6675 §5 (4)) with PRR's initial state (RFC 9937 §4)."""
        self.state = RECOVERY
        self.recovery_point = snd_nxt
        self.high_rxt = 0
        self.rescue_rxt = None
        # RecoverFS: FlightSize right before recovery, less what was SACKed before this ACK
        # (those octets are not "delivered during recovery").
        self.prr.start(flight - (self.sb.sacked_bytes - self.last_sacked), ssthresh)
        self.tlp.end = None

    def enter_loss(self, snd_nxt: int, now: int) -> None:
        """Retransmission timeout (RFC 6675 §5.1): RecoveryPoint = HighData; every segment
        not SACKed is lost."""
        self.state = LOSS
        self.recovery_point = snd_nxt
        self.high_rxt = 0
        self.rescue_rxt = None
        self.tlp.end = None
        self.dupacks = 0
        self.sb.mark_all_lost(now)

    def exit(self) -> CaState:
        """The episode ended (SND.UNA reached RecoveryPoint). Returns the state left."""
        old = self.state
        self.state = OPEN
        self.prr.budget = 0
        self.rack.recovery_ended()
        return old

    # ------------------------------------------------------------------ what to send
    def rule3(self) -> SegmentRecord | None:
        """NextSeg() rule (3) (RFC 6675 only): retransmit a segment not yet deemed lost."""
        if self.use_rack or self.state is not RECOVERY:
            return None
        return self.sb.next_rule3(self.high_rxt)

    def rescue(self, una: int) -> SegmentRecord | None:
        """NextSeg() rule (4) (RFC 6675 only): once per recovery (HighACK > RescueRxt), when
        an unSACKed segment lies above HighRxt and below the highest SACKed octet (rules
        (1.a) and (1.b)), retransmit the highest unSACKed segment. The caller passes
        ``rescue=True`` to :meth:`resent`: HighRxt does not move."""
        if self.use_rack or self.state is not RECOVERY:
            return None
        if self.rescue_rxt is not None and una <= self.rescue_rxt:
            return None
        sb = self.sb
        hs = sb.high_sacked
        if not any(r.start >= self.high_rxt and r.start < hs and not r.flags & SACKED for r in sb.segs):
            return None
        r = sb.last_unsacked()
        if r is not None:
            self.rescue_rxt = self.recovery_point
        return r

    # ------------------------------------------------------------------ TLP (RFC 8985 §7)
    def pto(self, srtt: int | None, flight: int) -> int:
        """TLP_calc_PTO (RFC 8985 §7.2), before the cap by the RTO's own expiry."""
        return Tlp.pto(srtt, flight, self.smss)

    def tlp_allowed(self) -> bool:
        """May a loss probe be scheduled now (RFC 8985 §7.2)?"""
        return self.use_rack and self.state is OPEN and self.tlp.end is None
