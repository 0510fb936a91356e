"""RACK-TLP (RFC 8985): loss detection by time, and the tail loss probe.

:class:`Rack` keeps RFC 8985 §6's state (RACK.xmit_ts, RACK.rtt, RACK.min_RTT, RACK.fack,
the reordering window) and marks lost the segments sent long enough before the most recently
delivered one. :class:`Tlp` keeps §7's: the probe in flight and whether it was a
retransmission. Both read the RFC 6675 scoreboard (:mod:`synack.tcp.sack`) and decide; the
sender acts (:mod:`synack.tcp.recovery` coordinates them). Positions are absolute stream
offsets, times ns.
"""

from __future__ import annotations


from .sack import DUPTHRESH, EVER_RTX, LOST, RETRANS, SACKED, Scoreboard, SegmentRecord

__all__ = ["Rack", "Tlp", "WC_DEL_ACK"]

#: WCDelAckT, the worst-case delayed-ACK time the PTO allows for (RFC 8985 §7.2): 200 ms.
WC_DEL_ACK = 200_000_000


class Rack:
    """RFC 8985 §6: the most recently delivered segment, and the reordering window."""

    __slots__ = ("xmit_ts", "order", "end", "rtt", "fack", "min_rtt", "reordering_seen", "reo_wnd_mult",
                 "reo_wnd_persist", "dsack_round", "dsack_seen")

    def __init__(self) -> None:
        #: RACK.xmit_ts: when the most recently delivered segment was (last) sent; -1: none yet
        self.xmit_ts = -1
        #: the transmission number of that segment (orders transmissions at the same instant)
        self.order = 0
        #: its end offset: orders the pieces of one super-segment, which share time and order
        self.end = 0
        #: RACK.rtt: the RTT of that segment
        self.rtt = 0
        #: RACK.fack: the highest octet delivered (end offset)
        self.fack = 0
        #: RACK.min_RTT, from segments never retransmitted
        self.min_rtt: int | None = None
        #: RACK.reordering_seen
        self.reordering_seen = False
        #: RACK.reo_wnd_mult and RACK.reo_wnd_persist (§6.2 step 4)
        self.reo_wnd_mult = 1
        self.reo_wnd_persist = 0
        #: RACK.dsack_round: SND.NXT when a D-SACK last widened the window (None: no round)
        self.dsack_round: int | None = None
        #: the last ACK carried a D-SACK block
        self.dsack_seen = False

    def __repr__(self) -> str:
        return (f"Rack(xmit_ts={self.xmit_ts}, rtt={self.rtt}, min_rtt={self.min_rtt}, fack={self.fack}, "
                f"reo_mult={self.reo_wnd_mult})")

    def update(self, r: SegmentRecord, now: int) -> None:
        """RFC 8985 §6.2 steps 1-3 for one newly delivered segment record."""
        rtt = now - r.sent_at
        if r.flags & EVER_RTX:
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
            if r.end < self.fack:
                self.reordering_seen = True
        if r.end > self.fack:
            self.fack = r.end
        self.rtt = rtt
        # RACK_sent_after(): later in time, or at the same instant later in order (the
        # RFC breaks ties by sequence number, which misorders a retransmission sent in
        # the same instant as new data); pieces of one super-segment by sequence number.
        ts = self.xmit_ts
        if r.sent_at > ts or (r.sent_at == ts and (r.order > self.order
                                                   or (r.order == self.order and r.end > self.end))):
            self.xmit_ts = r.sent_at
            self.order = r.order
            self.end = r.end

    def on_dsack_round(self, una: int, snd_nxt: int, dsack: bool) -> None:
        """RFC 8985 §6.2 step 4, first half: a D-SACK widens the reordering window once per
        round trip, for 16 recoveries."""
        if self.dsack_round is not None and una >= self.dsack_round:
            self.dsack_round = None
        if self.dsack_round is None and dsack:
            self.dsack_round = snd_nxt
            self.reo_wnd_mult += 1
            self.reo_wnd_persist = 16

    def recovery_ended(self) -> None:
        """RFC 8985 §6.2 step 4: the widened reordering window decays over 16 recoveries."""
        if self.reo_wnd_persist > 0:
            self.reo_wnd_persist -= 1
            if self.reo_wnd_persist <= 0:
                self.reo_wnd_mult = 1

    def reo_wnd(self, srtt: int | None, recovering: bool, nsacked: int) -> int:
        """RFC 8985 §6.2 step 4: RACK.reo_wnd."""
        if not self.reordering_seen and (recovering or nsacked >= DUPTHRESH):
            return 0
        if self.min_rtt is None:
            return 0
        w = self.reo_wnd_mult * self.min_rtt // 4
        return w if srtt is None or w < srtt else srtt

    def detect_loss(self, sb: Scoreboard, now: int, reo_wnd: int) -> tuple[int, int]:
        """RFC 8985 §6.2 step 5: a segment sent before the most recently delivered one is
        lost once RACK.rtt + RACK.reo_wnd have passed since it was sent. Marks them LOST;
        returns (how many were marked, the time in ns until the next would qualify, or 0)."""
        marked = 0
        rts, rorder, rend, rtt = self.xmit_ts, self.order, self.end, self.rtt
        timeout = 0
        for r in sb.segs:
            f = r.flags
            t = r.sent_at
            if t > rts or (t == rts and (r.order > rorder or (r.order == rorder and r.end >= rend))):
                if not f & EVER_RTX:
                    break  # sent after the newest delivered segment, and so is all the rest
                continue
            if f & SACKED or f & (LOST | RETRANS) == LOST:
                continue
            remaining = t + rtt + reo_wnd - now
            if remaining <= 0:
                r.flags = (f | LOST) & ~RETRANS
                marked += 1
            elif remaining > timeout:
                timeout = remaining
        return marked, timeout


class Tlp:
    """RFC 8985 §7: the tail loss probe in flight, if any."""

    __slots__ = ("end", "is_retrans")

    def __init__(self) -> None:
        #: TLP.end_seq: SND.NXT (as an offset) when the probe was sent; None: no probe out
        self.end: int | None = None
        #: TLP.is_retrans: the probe retransmitted old data (else it was new data)
        self.is_retrans = False

    def __repr__(self) -> str:
        return f"Tlp(end={self.end}, is_retrans={self.is_retrans})"

    @staticmethod
    def pto(srtt: int | None, flight: int, smss: int) -> int:
        """TLP_calc_PTO (RFC 8985 §7.2), before the cap by the RTO's own expiry."""
        if srtt is None:
            return 1_000_000_000
        p = 2 * srtt
        if flight <= smss:
            p += WC_DEL_ACK
        return p if p > 10_000_000 else 10_000_000

    def sent(self, end: int, is_retrans: bool) -> None:
        """A probe left; ``end`` is SND.NXT after it."""
        self.end = end
        self.is_retrans = is_retrans

    def on_ack(self, una: int, blocks: list, dsack_seen: bool) -> bool:
        """TLP_process_ack (RFC 8985 §7.4.2). Returns True when the probe repaired a loss,
        so the congestion controller must respond as to a loss."""
        end = self.end
        if end is None or una < end:
            return False
        self.end = None
        if not self.is_retrans:
            return False
        # (a D-SACK of the probe's end: the probe was a needless copy, both arrived)
        return not (dsack_seen and blocks and blocks[0][1] == end)
