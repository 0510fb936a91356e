"""SACK-based loss recovery for one connection: RFC 6675 (scoreboard, pipe, NextSeg), RFC 8985
(RACK-TLP: time-based loss detection and the tail loss probe) and RFC 9937 (Proportional Rate
Reduction, which obsoletes RFC 6937).

A :class:`Recovery` exists for a connection that negotiated SACK (RFC 2018), from the first
data segment it sends. It decides; the connection acts: it tells the object what it sent
and what each ACK said, asks it which segment to (re)transmit next and how many octets PRR
allows, and it alone builds segments, touches buffers and talks to the congestion-control
algorithm (STYLE anti-patterns: nothing here writes into the sender). Positions are absolute
stream offsets (ints), as in :mod:`synack.tcp.sack`; times are ns.

States, as Linux names them:

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

from typing import Optional

from .sack import DUPTHRESH, EVER_RTX, LOST, RETRANS, SACKED, Scoreboard, is_dsack

__all__ = ["OPEN", "RECOVERY", "LOSS", "Recovery", "WC_DEL_ACK"]

OPEN, RECOVERY, LOSS = "open", "recovery", "loss"
#: WCDelAckT, the worst-case delayed-ACK time the PTO allows for (RFC 8985 §7.2): 200 ms.
WC_DEL_ACK = 200_000_000
_INF = 1 << 62
_S, _E, _T, _F, _O = 0, 1, 2, 3, 4


class Recovery:
    """Loss detection and recovery state of one SACK connection (see the module docstring)."""

    __slots__ = (
        "sb", "smss", "rack",
        "state", "recovery_point", "dupacks", "high_rxt", "rescue_rxt",
        # RFC 9937 PRR
        "prr_delivered", "prr_out", "recover_fs", "ssthresh", "budget",
        # RFC 8985 RACK (§6) and TLP (§7); "xmits" numbers transmissions (RACK's order)
        "xmits", "rack_ts", "rack_order", "rack_rtt", "fack", "min_rtt", "reordering_seen",
        "reo_wnd_mult", "reo_wnd_persist", "dsack_round", "dsack_seen", "last_sacked",
        "tlp_end", "tlp_retrans",
        "timer",  # which of the connection's loss-recovery timers is armed: "tlp" or "rack"
        "marked",  # segments the last detect_loss() newly deemed lost
    )

    def __init__(self, smss: int, rack: bool = True) -> None:
        self.sb = Scoreboard()
        self.smss = smss
        self.rack = rack
        self.state = OPEN
        self.recovery_point = 0
        self.dupacks = 0
        self.high_rxt = 0
        self.rescue_rxt: Optional[int] = None
        self.prr_delivered = self.prr_out = self.recover_fs = self.ssthresh = self.budget = 0
        self.xmits = 0
        self.rack_ts = -1
        self.rack_order = 0
        self.rack_rtt = 0
        self.fack = 0
        self.min_rtt: Optional[int] = None
        self.reordering_seen = False
        self.reo_wnd_mult = 1
        self.reo_wnd_persist = 0
        self.dsack_round: Optional[int] = None
        self.dsack_seen = False
        #: octets newly SACKed by the last ACK
        self.last_sacked = 0
        self.tlp_end: Optional[int] = None
        self.tlp_retrans = False
        self.timer = "tlp"
        self.marked = 0

    def __repr__(self) -> str:
        return (f"<Recovery {self.state} pipe={self.sb.pipe()} rp={self.recovery_point} "
                f"prr={self.prr_delivered}/{self.prr_out} segs={len(self.sb)}>")

    # ------------------------------------------------------------------ what was sent
    def sent(self, start: int, end: int, now: int) -> None:
        """New data [start, end) left at ``now``."""
        self.xmits += 1
        self.sb.segs.append([start, end, now, 0, self.xmits])
        if self.state is not OPEN:
            self.prr_out += end - start

    def resent(self, start: int, end: int, now: int, rescue: bool = False) -> None:
        """[start, end) was retransmitted at ``now``. RFC 6675 (C.2): HighRxt moves, except
        for a rescue retransmission (rule (4))."""
        self.xmits += 1
        self.sb.retransmitted(start, end, now, self.xmits)
        if end > self.high_rxt and not rescue:
            self.high_rxt = end
        if self.state is not OPEN:
            self.prr_out += end - start

    # ------------------------------------------------------------------ what an ACK said
    def on_ack(self, una: int, blocks: list, snd_nxt: int, now: int) -> int:
        """Process an ACK whose cumulative point is ``una`` and whose SACK blocks (absolute,
        in the order received) are ``blocks``. Returns DeliveredData (RFC 9937 §3): octets
        newly acknowledged, cumulatively or selectively."""
        sb = self.sb
        if not blocks and not sb.nsacked and self.state is OPEN:
            return self._plain_ack(una, now)
        acked = sb.advance(una)
        dsack = is_dsack(blocks, una) if blocks else False
        self.dsack_seen = dsack
        sacked = sb.sack(blocks, una) if blocks else ()
        delivered = 0
        for r in acked:
            delivered += r[_E] - r[_S]
            self._rack_update(r, now)
        ns = 0
        for r in sacked:
            ns += r[_E] - r[_S]
            self._rack_update(r, now)
        self.last_sacked = ns
        delivered += ns
        sb.renege()
        # RFC 6675 §2 DupAck: an ACK that SACKs new data without moving SND.UNA.
        if sacked and not acked:
            self.dupacks += 1
        elif acked:
            self.dupacks = 0
        self._update_dsack_round(una, snd_nxt, dsack)
        return delivered

    def _plain_ack(self, una: int, now: int) -> int:
        """on_ack() for the common case (nothing SACKed, no SACK blocks, no recovery): the
        records below ``una`` leave; the highest of them is the newest delivered (new data
        goes out in sequence order) and feeds RACK."""
        segs = self.sb.segs
        k = 0
        for r in segs:
            if r[_E] > una:
                break
            k += 1
        delivered = 0
        if k:
            last = segs[k - 1]
            delivered = last[_E] - segs[0][_S]
            del segs[:k]
            self._rack_update(last, now)
        if segs and segs[0][_S] < una:
            delivered += una - segs[0][_S]
            segs[0][_S] = una
        self.dupacks = 0
        self.dsack_seen = False
        self.last_sacked = 0
        if self.dsack_round is not None and una >= self.dsack_round:
            self.dsack_round = None
        return delivered

    def _rack_update(self, r: list, now: int) -> None:
        """RFC 8985 §6.2 steps 1-3 for one newly delivered segment record."""
        rtt = now - r[_T]
        if r[_F] & EVER_RTX:
            # Step 2: a retransmitted segment's ACK may be for the original; skip it when
            # the RTT is too short to be the retransmission's. (Step 2's other test, the
            # echoed timestamp, is not used: by RFC 7323 §4.3 an ACK for out-of-order data
            # echoes the TSval of the last in-order segment, older than any retransmission
            # it SACKs, such as a tail loss probe's; Linux tests only the RTT.)
            if self.min_rtt is not None and rtt < self.min_rtt:
                return
        else:
            # Step 1: RACK.min_RTT from unambiguous samples.
            if self.min_rtt is None or rtt < self.min_rtt:
                self.min_rtt = rtt
            # Step 3: a never-retransmitted segment below RACK.fack arrived late: reordering.
            if r[_E] < self.fack:
                self.reordering_seen = True
        if r[_E] > self.fack:
            self.fack = r[_E]
        self.rack_rtt = rtt
        # RACK_sent_after(): later in time, or at the same instant later in order (the
        # RFC breaks ties by sequence number, which misorders a retransmission sent in
        # the same instant as new data).
        if r[_T] > self.rack_ts or (r[_T] == self.rack_ts and r[_O] > self.rack_order):
            self.rack_ts = r[_T]
            self.rack_order = r[_O]

    def _update_dsack_round(self, una: int, snd_nxt: int, dsack: bool) -> None:
        """RFC 8985 §6.2 step 4, first half: a D-SACK widens the reordering window once per
        round trip, for 16 recoveries."""
        if self.dsack_round is not None and una >= self.dsack_round:
            self.dsack_round = None
        if self.dsack_round is None and dsack:
            self.dsack_round = snd_nxt
            self.reo_wnd_mult += 1
            self.reo_wnd_persist = 16

    def reo_wnd(self, srtt: Optional[int]) -> int:
        """RFC 8985 §6.2 step 4: RACK.reo_wnd."""
        if not self.reordering_seen:
            if self.state is not OPEN or self.sb.nsacked >= DUPTHRESH:
                return 0
        if self.min_rtt is None:
            return 0
        w = self.reo_wnd_mult * self.min_rtt // 4
        return w if srtt is None or w < srtt else srtt

    # ------------------------------------------------------------------ loss detection
    def detect_loss(self, now: int, srtt: Optional[int]) -> int:
        """Mark lost segments. With RACK, RFC 8985 §6.2 step 5: a segment sent before the
        most recently delivered one is lost once RACK.rtt + RACK.reo_wnd have passed since
        it was sent; returns the time (ns) until the next segment would qualify (the RACK
        reordering timer), or 0. Without RACK, RFC 6675: IsLost() from the SACKs."""
        sb = self.sb
        self.marked = 0
        if not self.rack:
            if self.state is RECOVERY or self.state is LOSS or self.dupacks >= DUPTHRESH or \
                    sb.is_lost(sb.segs[0][_S] if sb.segs else 0, self.smss):
                self.marked = sb.mark_lost(self.high_rxt if self.state is RECOVERY else 0, self.smss)
                if self.state is OPEN and self.dupacks >= DUPTHRESH and sb.segs and \
                        not sb.segs[0][_F] & (SACKED | LOST):
                    # RFC 6675 §5 (1): DupThresh duplicate ACKs: the first segment is lost.
                    sb.segs[0][_F] |= LOST
                    self.marked += 1
            return 0
        if self.rack_ts < 0 or (self.state is OPEN and not sb.nsacked):
            # Nothing can have been sent before the newest delivered segment and still be
            # outstanding unless something above SND.UNA was SACKed (or we are recovering).
            return 0
        marked = 0
        reo = self.reo_wnd(srtt)
        rts, rorder, rtt = self.rack_ts, self.rack_order, self.rack_rtt
        timeout = 0
        for r in sb.segs:
            f = r[_F]
            t = r[_T]
            if t > rts or (t == rts and r[_O] >= rorder):
                if not f & EVER_RTX:
                    break  # sent after the newest delivered segment, and so is all the rest
                continue
            if f & SACKED or f & (LOST | RETRANS) == LOST:
                continue
            remaining = t + rtt + reo - now
            if remaining <= 0:
                r[_F] = (f | LOST) & ~RETRANS
                marked += 1
            elif remaining > timeout:
                timeout = remaining
        self.marked = marked
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
        self.ssthresh = ssthresh
        self.prr_delivered = 0
        self.prr_out = 0
        # RecoverFS: FlightSize right before recovery, less what was SACKed before this ACK
        # (those octets are not "delivered during recovery").
        fs = flight - (self.sb.sacked_bytes - self.last_sacked)
        self.recover_fs = fs if fs > 0 else 1
        self.budget = 0
        self.tlp_end = None

    def enter_loss(self, snd_nxt: int, now: int) -> None:
        """Retransmission timeout (RFC 6675 §5.1): RecoveryPoint = HighData; every segment
        not SACKed is lost."""
        self.state = LOSS
        self.recovery_point = snd_nxt
        self.high_rxt = 0
        self.rescue_rxt = None
        self.tlp_end = None
        self.dupacks = 0
        self.sb.mark_all_lost(now)

    def exit(self) -> str:
        """The episode ended (SND.UNA reached RecoveryPoint). Returns the state left."""
        old = self.state
        self.state = OPEN
        self.budget = 0
        # RFC 8985 §6.2 step 4: the widened reordering window decays over 16 recoveries.
        if self.reo_wnd_persist > 0:
            self.reo_wnd_persist -= 1
            if self.reo_wnd_persist <= 0:
                self.reo_wnd_mult = 1
        return old

    def prr_ack(self, delivered: int, pipe: int, safe_ack: bool) -> int:
        """RFC 9937 §4 on an ACK during recovery: returns sndcnt, the octets that may be sent
        now (also kept in ``budget``)."""
        if delivered <= 0 and self.prr_out:
            self.budget = 0 if self.budget < 0 else self.budget
            return self.budget
        self.prr_delivered += delivered
        ss = self.ssthresh
        if pipe > ss:
            # Proportional Rate Reduction: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
            sndcnt = -(-self.prr_delivered * ss // self.recover_fs) - self.prr_out
        else:
            # PRR-CRB, raised to PRR-SSRB while recovery makes good progress.
            sndcnt = self.prr_delivered - self.prr_out
            if sndcnt < delivered:
                sndcnt = delivered
            if safe_ack:
                sndcnt += self.smss
            room = ss - pipe
            if sndcnt > room:
                sndcnt = room
        if self.prr_out == 0 and sndcnt <= 0:
            sndcnt = self.smss  # force the fast retransmit on entering recovery
        self.budget = sndcnt if sndcnt > 0 else 0
        return self.budget

    # ------------------------------------------------------------------ what to send
    def next_retransmission(self) -> Optional[list]:
        """NextSeg() rules (1) (and, without RACK, (3)): the record to retransmit now, or
        None when new data (rule (2)) should go next."""
        r = self.sb.next_lost()
        if r is not None or self.rack:
            return r
        return None

    def rule3(self) -> Optional[list]:
        """NextSeg() rule (3) (RFC 6675 only): retransmit a segment not yet deemed lost."""
        if self.rack or self.state is not RECOVERY:
            return None
        return self.sb.next_rule3(self.high_rxt)

    def rescue(self, una: int) -> Optional[list]:
        """NextSeg() rule (4) (RFC 6675 only): once per recovery (HighACK > RescueRxt), when
        an unSACKed segment lies above HighRxt and below the highest SACKed octet (rules
        (1.a) and (1.b)), retransmit the highest unSACKed segment. The caller passes
        ``rescue=True`` to :meth:`resent`: HighRxt does not move."""
        if self.rack or self.state is not RECOVERY:
            return None
        if self.rescue_rxt is not None and una <= self.rescue_rxt:
            return None
        sb = self.sb
        hs = sb.high_sacked
        if not any(r[_S] >= self.high_rxt and r[_S] < hs and not r[_F] & SACKED for r in sb.segs):
            return None
        r = sb.last_unsacked()
        if r is not None:
            self.rescue_rxt = self.recovery_point
        return r

    # ------------------------------------------------------------------ TLP (RFC 8985 §7)
    def pto(self, srtt: Optional[int], flight: int) -> int:
        """TLP_calc_PTO (RFC 8985 §7.2), before the cap by the RTO's own expiry."""
        if srtt is None:
            return 1_000_000_000
        p = 2 * srtt
        if flight <= self.smss:
            p += WC_DEL_ACK
        return p if p > 10_000_000 else 10_000_000

    def tlp_allowed(self) -> bool:
        """May a loss probe be scheduled now (RFC 8985 §7.2)?"""
        return self.rack and self.state is OPEN and self.tlp_end is None

    def tlp_sent(self, end: int, is_retrans: bool) -> None:
        self.tlp_end = end
        self.tlp_retrans = is_retrans

    def tlp_ack(self, una: int, blocks: list) -> bool:
        """TLP_process_ack (RFC 8985 §7.4.2). Returns True when the probe repaired a loss,
        so the congestion controller must respond as to a loss."""
        end = self.tlp_end
        if end is None or una < end:
            return False
        self.tlp_end = None
        if not self.tlp_retrans:
            return False
        if self.dsack_seen and blocks and blocks[0][1] == end:
            return False  # the probe was a needless copy: both arrived
        return True
