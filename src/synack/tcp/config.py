"""Per-connection settings, with Linux's defaults where the RFC leaves a choice."""

from __future__ import annotations

from dataclasses import dataclass

from ..timeunits import ms, sec


@dataclass(slots=True)
class TcpConfig:
    """Knobs of one connection. Every field has a default that matches Linux or the RFC.

    Times are integer nanoseconds.
    """

    #: MSS we advertise (RFC 9293 §3.7.1 MUST-67); None = derived from the MTU.
    mss: int | None = None
    #: Receive buffer: the most unread data we hold, and so the largest window we offer.
    #: Above 65535 only with ``window_scale`` (RFC 7323 §2: up to 65535 * 2**14 octets).
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
    r2: int | None = sec(100)
    #: R2 for a SYN: at least three minutes (RFC 9293 §3.8.3 MUST-23).
    r2_syn: int | None = sec(180)
    #: Delayed-ACK timeout (RFC 9293 §3.8.6.3 MUST-40: < 500 ms); None acks every segment.
    delayed_ack: int | None = ms(40)
    #: Disable Nagle (TCP_NODELAY, RFC 9293 §3.7.4 MUST-17).
    nodelay: bool = False
    #: Initial congestion window in segments (RFC 6928; Linux uses 10).
    initial_window: int = 10
    #: Congestion control algorithm, by name (see ``synack.tcp.cc``): CUBIC (RFC 9438), as
    #: Linux's default; "newreno" and "reno" are the RFC 6582 / RFC 5681 alternatives.
    congestion: str = "cubic"
    #: Limit on out-of-order data held (RFC 9293 SHLD-31); None = rcv_buf.
    ooo_limit: int | None = None
    # -- keep-alives and half-open limits --
    #: Keep-alives (RFC 9293 §3.8.4): off by default (MUST-25), switched per connection
    #: (MUST-24); Linux's TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT defaults (MUST-27,
    #: MUST-28: the idle time is at least two hours unless the user says otherwise).
    keepalive: bool = False
    keepalive_idle: int = sec(7200)
    keepalive_interval: int = sec(75)
    keepalive_count: int = 9
    #: SYN,ACK retransmissions before a half-open passive connection is given up; None =
    #: retry until R2 for a SYN (RFC 9293 §3.8.3). A Host applies its own limit to its
    #: listeners (Linux net.ipv4.tcp_synack_retries = 5: about 63 s) unless this is set.
    synack_retries: int | None = None
    #: Abort synchronized connections on hard ICMP errors as RFC 9293 §3.9.2.2 SHLD-26
    #: says. False (Linux, RFC 5927 §4.1): only SYN-SENT and SYN-RECEIVED abort, later
    #: states keep the error as a soft error.
    icmp_abort_synchronized: bool = False
    # -- flow control and loss recovery --
    #: Offer window scaling in the SYN (RFC 7323 §2); the shift comes from ``rcv_buf``.
    window_scale: bool = True
    #: Offer timestamps (RFC 7323 §3-5): RTT measurement and PAWS.
    timestamps: bool = True
    #: Offer selective acknowledgments (RFC 2018, D-SACK RFC 2883); with SACK the sender
    #: recovers losses with a scoreboard (RFC 6675) and proportional rate reduction (RFC 9937).
    sack: bool = True
    #: RACK-TLP (RFC 8985): time-based loss detection and the tail loss probe (needs SACK).
    #: False: RFC 6675's DupThresh and IsLost() decide instead.
    rack: bool = True
    #: ECN (RFC 3168): "on" asks for it in our SYNs and accepts it; "passive" (Linux's
    #: net.ipv4.tcp_ecn = 2, the default) only accepts a peer's ECN-setup SYN; "off" never.
    ecn: str = "passive"
    #: The sender's SWS override timeout (RFC 9293 §3.8.6.2.1 (4), MUST-38): 0.1 to 1 s.
    sws_override: int = ms(200)
    #: At most one ACK per this interval answers segments outside the window, ACKs of
    #: unsent data and challenges (RFC 5961 §7), per connection: Linux's
    #: net.ipv4.tcp_invalid_ratelimit (500 ms). None: answer every one (RFC 9293 as written).
    invalid_ratelimit: int | None = ms(500)

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        if self.mss is not None and not 88 <= self.mss <= 65495:
            raise ValueError(f"mss must be between 88 and 65495, not {self.mss}")
        top = 0xFFFF << 14 if self.window_scale else 0xFFFF  # RFC 7323 §2.3: shift <= 14
        if not 1 <= self.rcv_buf <= top:
            raise ValueError(f"rcv_buf must be between 1 and {top} "
                             f"({'with' if self.window_scale else 'without'} window scaling), not {self.rcv_buf}")
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
        if self.ecn not in ("off", "passive", "on"):
            raise ValueError(f"ecn must be 'off', 'passive' or 'on', not {self.ecn!r}")
        if not ms(100) <= self.sws_override <= ms(1000):
            raise ValueError("sws_override must be between 0.1 and 1 s (RFC 9293 §3.8.6.2.1)")
        if self.invalid_ratelimit is not None and not 0 <= self.invalid_ratelimit <= sec(60):
            raise ValueError(f"invalid_ratelimit must be between 0 and 60 s or None, not {self.invalid_ratelimit}")
        if self.ooo_limit is not None and self.ooo_limit < 0:
            raise ValueError(f"ooo_limit must not be negative, not {self.ooo_limit}")
        if self.keepalive_idle <= 0 or self.keepalive_interval <= 0:
            raise ValueError("keepalive_idle and keepalive_interval must be positive")
        if not 1 <= self.keepalive_count <= 127:
            raise ValueError(f"keepalive_count must be between 1 and 127, not {self.keepalive_count}")
        if self.synack_retries is not None and not 0 <= self.synack_retries <= 255:
            raise ValueError(f"synack_retries must be between 0 and 255 or None, not {self.synack_retries}")
        from .cc import check  # the registry, imported late: cc may import config one day

        check(self.congestion)
