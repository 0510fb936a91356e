"""SACK-based loss recovery for one connection: RFC 6675 (scoreboard, pipe, NextSeg) with
RFC 8985 (RACK-TLP) and RFC 9937 (PRR) as its parts.

A :class:`LossRecovery` exists for a connection that negotiated SACK (RFC 2018), from the
first data segment it sends. It owns the RFC 6675 scoreboard (:class:`~synack.tcp.sack.Scoreboard`),
RACK and TLP (:mod:`synack.tcp.rack`) and PRR (:mod:`synack.tcp.prr`), and decides: what was
lost, which segment goes next, how many octets PRR allows. The sender
(:mod:`synack.tcp.sender`) acts: it tells this object what it sent and what each ACK said,
builds and sends the segments, and alone talks to the congestion control algorithm, which
owns cwnd and ssthresh. What the sender does in SACK recovery (on each ACK, on the loss
timers, when it may send) is :class:`SackSending`, a part of the sender kept here beside
the decisions it carries out. Positions are absolute stream offsets (ints); times are ns.

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
from typing import TYPE_CHECKING

from ..wire.seq import Seq, seq_add, seq_dist
from ..wire.tcp import ACK, FIN, PSH, Sack, TcpSegment
from .prr import Prr
from .rack import WC_DEL_ACK, Rack, Tlp
from .sack import DUPTHRESH, LOST, SACKED, Scoreboard, SegmentRecord, is_dsack
from .state import SENDING
from .tcb import SendSequence
from .timers import LOSS_SLOT, RTO_SLOT, Timer

if TYPE_CHECKING:  # pragma: no cover
    from .cc import CongestionControl
    from .connection import Connection
    from .rtt import RttEstimator

__all__ = ["CaState", "OPEN", "RECOVERY", "LOSS", "LossRecovery", "SackSending", "WC_DEL_ACK"]

_EMPTY = b""
_TLP, _RACK = Timer.TLP, Timer.RACK


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
    def sent(self, start: int, end: int, now: int, mss: int = 0) -> None:
        """New data [start, end) left at ``now``; ``mss``: as a super-segment that the link
        splits into wire segments of that size."""
        self.xmits += 1
        self.sb.segs.append(SegmentRecord(start, end, now, 0, self.xmits, mss))
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


class SackSending(SendSequence):
    """The sender's part in SACK recovery (the base of :class:`~synack.tcp.sender.Sender`):
    each ACK through the scoreboard, RACK and TLP (RFC 8985) into recovery and PRR (RFC
    6675 §5, RFC 9937 §4), transmissions as NextSeg() and PRR allow, and the loss timers.
    The sender's fields it changes are kept here; the sender sets them up."""

    __slots__ = ("rtt_seq", "retransmits", "bytes_retrans", "dupacks", "cwr", "ecn_rec", "gso_size")

    #: the end of the segment being timed for an RTT sample, or None (Karn: none in flight)
    rtt_seq: Seq | None
    #: segments retransmitted so far
    retransmits: int
    #: data octets sent again (TCP_INFO's tcpi_bytes_retrans)
    bytes_retrans: int
    #: duplicate ACKs counted (RFC 5681 §3.2; with SACK, RFC 6675 DupAcks capped at 2)
    dupacks: int
    #: RFC 3168: set CWR on the next new data; SND.NXT at the last window reduction
    cwr: bool
    ecn_rec: Seq | None
    #: data octets per wire segment of the super-segments sent last (TSO: the link's gso_size)
    gso_size: int

    # What else of the sender it reads (declared for readers and type checkers).
    if TYPE_CHECKING:  # pragma: no cover
        conn: Connection
        lr: LossRecovery | None
        cc: CongestionControl
        rtt: RttEstimator
        una_abs: int
        buf: bytearray
        buf_seq: Seq
        fin_queued: bool

        @property
        def flight_size(self) -> int: ...
        @property
        def unsent(self) -> int: ...
        def eff_mss(self) -> int: ...
        def abs(self, seq: Seq) -> int: ...
        def fin_seq(self) -> Seq: ...
        def most_data(self, mss: int) -> int: ...
        def trace_cc(self, now: int, cause: str) -> None: ...
        def arm_rto(self, now: int) -> None: ...
        def send_data(self, now: int, limit: int | None = None, force: bool = False) -> None: ...

    def _sack_in(self, seg: TcpSegment) -> list:
        """The SACK blocks of an arriving ACK as stream offsets, in the order received
        (RFC 2018 §3); a block that is empty or reaches past SND.NXT is ignored."""
        for o in seg.options:
            if type(o) is Sack:
                break
        else:
            return []
        una = self.snd_una
        ua = self.una_abs
        top = seq_dist(self.snd_nxt, una)
        out = []
        for left, right in o.blocks:
            a = seq_dist(left, una)
            b = seq_dist(right, una)
            if a < b <= top:
                out.append((ua + a, ua + b))
        return out

    def _sack_ack(self, seg: TcpSegment, una_before: Seq, now: int) -> None:
        """An ACK in a SACK connection: the scoreboard and RACK (RFC 8985 §6.2), the loss
        probe's outcome (§7.4), entering and leaving recovery (RFC 6675 §5), PRR (RFC 9937
        §4) or window growth, and the loss-recovery timers."""
        lr = self.lr
        assert lr is not None
        cc = self.cc
        timers = self.conn.timers
        # (the SACK option may sit anywhere in the list: RFC 9293 §3.2 MUST-64, RFC 2018 §3)
        blocks = self._sack_in(seg) if seg.options else []
        acked = seq_dist(self.snd_una, una_before)
        una = self.una_abs
        flight = seq_dist(self.snd_nxt, self.snd_una)
        delivered = lr.on_ack(una, blocks, una + flight, now)
        if not delivered and not acked:
            return  # no news for loss recovery (a window update, a duplicate)
        if delivered and lr.rack.rtt and not (delivered == acked and acked < self.eff_mss()):
            # Per-ACK samples (RFC 9406 wants several), of the newest segment delivered, so
            # that a stretch ACK does not inflate them; none from a cumulative ACK of less
            # than a full segment, which the receiver probably delayed (as Linux's
            # FLAG_ACK_MAYBE_DELAYED keeps such samples from HyStart).
            cc.on_rtt_sample(lr.rack.rtt, now)
        srtt = self.rtt.srtt
        if lr.tlp.end is not None and lr.tlp.on_ack(una, blocks, lr.rack.dsack_seen) and lr.state is OPEN:
            # RFC 8985 §7.4.2: the probe repaired a tail loss: respond as to a loss.
            ss = cc.on_congestion_event(self.flight_size + acked, now)
            cc.set_cwnd(cc.cwnd if cc.cwnd < ss else ss, now)
            self.trace_cc(now, "tlp-recovered")
        if lr.state is not OPEN and una >= lr.recovery_point and lr.exit() is RECOVERY:
            cc.exit_recovery(self.flight_size, now)  # PRR brought pipe to ssthresh
            self.trace_cc(now, "recovery-exit")
        if lr.sb.nsacked or lr.state is not OPEN or not lr.use_rack:
            timeout = lr.detect_loss(now, srtt)
        else:
            timeout = lr.marked = 0  # (nothing can be lost: see LossRecovery.detect_loss)
        if lr.state is OPEN and lr.marked:
            self._enter_fast_recovery(now)
        state = lr.state
        if state is RECOVERY:
            pipe = lr.sb.pipe()
            # RFC 9937 SafeACK: SND.UNA advanced and no further loss indicated.
            sndcnt = lr.prr.on_ack(delivered, pipe, acked > 0 and not lr.marked)
            before = cc.cwnd
            cc.set_cwnd(pipe + sndcnt, now)
            if cc.cwnd != before:
                self.trace_cc(now, "prr")
        elif acked > 0:
            before = cc.cwnd
            cc.on_ack(acked, flight, now, srtt)  # (slow start after an RTO)
            if cc.cwnd != before:
                self.trace_cc(now, "ack")
        # RFC 3042 limited transmit in send_data, on RFC 6675 DupAcks (SACKs of new data).
        self.dupacks = (lr.dupacks if lr.dupacks < 2 else 2) if state is OPEN else 0
        if timeout:
            timers.arm(_RACK, now + timeout, now)  # RFC 8985 §6.2 step 5: wait reo_wnd more
        elif state is OPEN and flight and lr.use_rack and lr.tlp.end is None:
            if acked > 0 or timers.at[LOSS_SLOT] is None:
                self._arm_tlp(now)
        elif timers.at[LOSS_SLOT] is not None and (timers.armed(_RACK) or self.snd_una == self.snd_nxt
                                                   or state is not OPEN):
            timers.cancel(_TLP, now)

    def _enter_fast_recovery(self, now: int) -> None:
        """RFC 6675 §5 (4): fast recovery begins. ssthresh comes from the congestion
        control algorithm; PRR (RFC 9937) then leads cwnd down to it."""
        lr = self.lr
        assert lr is not None
        flight = self.flight_size
        ss = self.cc.on_congestion_event(flight, now)
        lr.enter_recovery(self.abs(self.snd_nxt), flight, ss)
        self.rtt_seq = None
        self.conn.timers.cancel(_TLP, now)
        if self.conn.ecn_ok:
            # RFC 3168 §6.1.2: this reduction also answers any ECE of this window.
            self.cwr = True
            self.ecn_rec = self.snd_nxt
        self.trace_cc(now, "fast-retransmit")

    def _send_recovery(self, now: int) -> None:
        """Transmit during SACK-based recovery: NextSeg() (RFC 6675 §4) picks what: lost
        segments, then new data, then (RFC 6675 without RACK) rules (3) and (4). How much:
        PRR's sndcnt in fast recovery (RFC 9937 §4), cwnd - pipe after a timeout (RFC 6675
        §5.1). A budget above zero allows one more segment (PRR settles the difference)."""
        lr = self.lr
        assert lr is not None
        rec = lr.state is RECOVERY
        budget = lr.prr.budget if rec else self.cc.cwnd - lr.sb.pipe()
        mss = self.eff_mss()
        while budget > 0:
            r = lr.sb.next_lost()
            if r is not None:
                cause = "rto" if not rec else "fast-retransmit" if not lr.prr.out else "sack-recovery"
                budget -= self._resend(r, now, cause, limit=budget)
                continue
            before = self.snd_nxt
            self.send_data(now, limit=-(-budget // mss) * mss)
            if self.snd_nxt != before:
                budget -= seq_dist(self.snd_nxt, before)
                continue
            r = lr.rule3()
            if r is not None:
                budget -= self._resend(r, now, "sack-recovery", limit=budget)
                continue
            r = lr.rescue(self.una_abs)
            if r is None:
                break
            budget -= self._resend(r, now, "rescue", rescue=True, tail=True)
        if rec:
            lr.prr.budget = budget if budget > 0 else 0

    def _resend(self, r: SegmentRecord, now: int, cause: str, rescue: bool = False, limit: int = 0,
                tail: bool = False) -> int:
        """Retransmit scoreboard record ``r`` (one segment, with the FIN if it ends with
        it; RFC 6675 (C.1)). Returns its length in sequence space.

        A super-segment is resent in part: the whole wire segments ``limit`` octets allow
        (at least one; the most one segment may carry), from its start, or with ``tail``
        its last wire segment (a loss probe, a rescue retransmission). The rest stays on
        the scoreboard as it was."""
        conn = self.conn
        start, end = r.start, r.end
        n = end - start
        mss = self.eff_mss()
        if n > mss:
            lr = self.lr
            assert lr is not None
            fin = 1 if self.fin_queued and end == self.abs(self.fin_seq()) + 1 else 0
            if tail:
                k = (n - fin) % mss or mss
                if k + fin < n:
                    r = lr.sb.split(r, end - k - fin)
                    start = r.start
                    n = end - start
            else:
                most = self.most_data(mss)
                cap = limit if limit < most else most
                cap = cap - cap % mss if cap > mss else mss
                if cap + fin < n:
                    lr.sb.split(r, start + cap)
                    end = start + cap
                    n = cap
        seq = seq_add(self.snd_una, start - self.una_abs)
        sbuf = self.buf
        off = seq_dist(seq, self.buf_seq)
        data = len(sbuf) - off
        if data > n:
            data = n
        flags = ACK
        if data > 0:
            payload = bytes(sbuf[off:off + data])
            if off + data == len(sbuf):
                flags |= PSH
        else:
            data = 0
            payload = _EMPTY
        if data < n and self.fin_queued:
            flags |= FIN
        self.gso_size = mss
        conn._emit(conn._segment(seq, conn.rcv.rcv_nxt, flags, payload), now, cause)
        self.retransmits += 1
        self.bytes_retrans += data
        self.rtt_seq = None  # Karn (RFC 6298 §3)
        assert self.lr is not None
        self.lr.resent(start, end, now, rescue)
        if conn.timers.at[RTO_SLOT] is None:
            self.arm_rto(now)
        return n

    def _arm_tlp(self, now: int) -> None:
        """RFC 8985 §7.2: (re)start the probe timeout, PTO = 2*SRTT (plus WCDelAckT with a
        single segment in flight); a PTO that would come after the RTO is cut to it, so the
        probe goes out in the RTO's place (the RTO is then restarted from the probe)."""
        lr = self.lr
        assert lr is not None
        timers = self.conn.timers
        at = now + lr.pto(self.rtt.srtt, seq_dist(self.snd_nxt, self.snd_una))
        rto = timers.at[RTO_SLOT]
        if rto is not None and at > rto:
            at = rto
        timers.arm(_TLP, at, now)

    def tlp_expired(self, now: int) -> None:
        """RFC 8985 §7.3: the loss probe: one segment of new data if the peer's window
        allows, else the last segment again, to draw an ACK whose SACKs let RACK find the
        losses at the tail of the flight; the RTO is then rearmed."""
        lr = self.lr
        assert lr is not None
        if self.conn.state not in SENDING or self.snd_una == self.snd_nxt or lr.state is not OPEN \
                or lr.tlp.end is not None:
            return
        before = self.snd_nxt
        room = seq_dist(self.snd_una + self.snd_wnd, before)
        if self.unsent and room > 0:
            self.send_data(now, limit=self.eff_mss(), force=True)
        if self.snd_nxt != before:
            lr.tlp.sent(self.abs(self.snd_nxt), False)
        else:
            r = lr.sb.last_unsacked()
            if r is None:
                return
            self._resend(r, now, "tlp", tail=True)
            lr.tlp.sent(self.abs(self.snd_nxt), True)
        self.conn.timers.cancel(_TLP, now)
        self.arm_rto(now)

    def rack_expired(self, now: int) -> None:
        """RFC 8985 §6.3: the reordering window has passed for the segments RACK waited on:
        those not delivered now are lost."""
        lr = self.lr
        assert lr is not None
        conn = self.conn
        if conn.state not in SENDING or self.snd_una == self.snd_nxt:
            return
        timeout = lr.detect_loss(now, self.rtt.srtt)
        if lr.state is OPEN and lr.marked:
            self._enter_fast_recovery(now)
        if lr.state is RECOVERY:
            pipe = lr.sb.pipe()
            self.cc.set_cwnd(pipe + lr.prr.on_ack(0, pipe, False), now)
            self.trace_cc(now, "prr")
        if timeout:
            conn.timers.arm(_RACK, now + timeout, now)
        conn._output(now)
