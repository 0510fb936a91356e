"""Proportional Rate Reduction (RFC 9937, which obsoletes RFC 6937).

During fast recovery PRR decides how many octets may be sent on each ACK, so that the
window comes down to ssthresh smoothly as data is delivered (and, once pipe is below
ssthresh, grows back to it no faster than slow start). :class:`Prr` holds RFC 9937 §3's
variables; the loss recovery coordinator (:mod:`synack.tcp.recovery`) feeds it each ACK's
DeliveredData and the pipe, and the sender sends what ``sndcnt`` allows.
"""

from __future__ import annotations

__all__ = ["Prr"]


class Prr:
    """RFC 9937 state of one recovery episode."""

    __slots__ = ("smss", "delivered", "out", "recover_fs", "ssthresh", "budget")

    def __init__(self, smss: int) -> None:
        self.smss = smss
        #: prr_delivered: octets delivered to the receiver since recovery began
        self.delivered = 0
        #: prr_out: octets sent since recovery began
        self.out = 0
        #: RecoverFS: FlightSize when recovery began (less what was SACKed before)
        self.recover_fs = 0
        #: ssthresh as the congestion control algorithm set it for this recovery
        self.ssthresh = 0
        #: sndcnt still unspent: octets the sender may send now
        self.budget = 0

    def __repr__(self) -> str:
        return (f"Prr(delivered={self.delivered}, out={self.out}, recover_fs={self.recover_fs}, "
                f"ssthresh={self.ssthresh}, budget={self.budget})")

    def start(self, recover_fs: int, ssthresh: int) -> None:
        """RFC 9937 §4, on entering recovery."""
        self.ssthresh = ssthresh
        self.delivered = 0
        self.out = 0
        self.recover_fs = recover_fs if recover_fs > 0 else 1
        self.budget = 0

    def on_ack(self, delivered: int, pipe: int, safe_ack: bool) -> int:
        """RFC 9937 §4 on an ACK during recovery: returns sndcnt, the octets that may be sent
        now (also kept in ``budget``). ``safe_ack``: SND.UNA advanced and no further loss
        was indicated (RFC 9937's SafeACK)."""
        if delivered <= 0 and self.out:
            self.budget = 0 if self.budget < 0 else self.budget
            return self.budget
        self.delivered += delivered
        ss = self.ssthresh
        if pipe > ss:
            # Proportional Rate Reduction: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
            sndcnt = -(-self.delivered * ss // self.recover_fs) - self.out
        else:
            # PRR-CRB, raised to PRR-SSRB while recovery makes good progress.
            sndcnt = self.delivered - self.out
            if sndcnt < delivered:
                sndcnt = delivered
            if safe_ack:
                sndcnt += self.smss
            room = ss - pipe
            if sndcnt > room:
                sndcnt = room
        if self.out == 0 and sndcnt <= 0:
            sndcnt = self.smss  # force the fast retransmit on entering recovery
        self.budget = sndcnt if sndcnt > 0 else 0
        return self.budget
