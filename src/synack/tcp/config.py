"""Per-connection settings, with Linux's defaults where the RFC leaves a choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..timeunits import ms, sec


@dataclass(slots=True)
class TcpConfig:
    """Knobs of one connection. Every field has a default that matches Linux or the RFC.

    Times are integer nanoseconds.
    """

    #: MSS we advertise (RFC 9293 §3.7.1 MUST-67); None = derived from the MTU.
    mss: Optional[int] = None
    #: Receive buffer: the most unread data we hold, and so the largest window we offer.
    rcv_buf: int = 65535
    #: Send buffer: how much unacknowledged plus unsent data SEND accepts.
    snd_buf: int = 256 * 1024
    #: RFC 6298 timer bounds (Linux: 1 s initial, 200 ms floor, 120 s ceiling).
    initial_rto: int = sec(1)
    min_rto: int = ms(200)
    max_rto: int = sec(120)
    #: Maximum segment lifetime; TIME-WAIT lasts 2*MSL (RFC 9293 §3.6.1 MUST-13). Linux: 60 s.
    msl: int = sec(30)
    #: R1 (retransmissions before negative advice) and R2 (time before giving up) of
    #: RFC 9293 §3.8.3 MUST-20; None for R2 means retry for ever (MUST-21).
    r1: int = 3
    r2: Optional[int] = sec(100)
    #: R2 for a SYN: at least three minutes (RFC 9293 §3.8.3 MUST-23).
    r2_syn: Optional[int] = sec(180)
    #: Delayed-ACK timeout (RFC 9293 §3.8.6.3 MUST-40: < 500 ms); None acks every segment.
    delayed_ack: Optional[int] = ms(40)
    #: Disable Nagle (TCP_NODELAY, RFC 9293 §3.7.4 MUST-17).
    nodelay: bool = False
    #: Initial congestion window in segments (RFC 6928; Linux uses 10).
    initial_window: int = 10
    #: Congestion control algorithm, by name (see ``synack.tcp.cc``).
    congestion: str = "newreno"
    #: Limit on out-of-order data held (RFC 9293 SHLD-31); None = rcv_buf.
    ooo_limit: Optional[int] = None

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        if self.mss is not None and not 88 <= self.mss <= 65495:
            raise ValueError(f"mss must be between 88 and 65495, not {self.mss}")
        if not 1 <= self.rcv_buf <= 65535:
            raise ValueError(f"rcv_buf must be between 1 and 65535 (no window scaling), not {self.rcv_buf}")
        if self.snd_buf < 1:
            raise ValueError(f"snd_buf must be positive, not {self.snd_buf}")
        if not 0 < self.min_rto <= self.initial_rto <= self.max_rto:
            raise ValueError("need 0 < min_rto <= initial_rto <= max_rto")
        if self.msl < 0:
            raise ValueError(f"msl must not be negative, not {self.msl}")
        if self.delayed_ack is not None and not 0 < self.delayed_ack < ms(500):
            raise ValueError("delayed_ack must be under 500 ms (RFC 9293 §3.8.6.3 MUST-40)")
        if self.initial_window < 1:
            raise ValueError("initial_window must be at least 1 segment")
