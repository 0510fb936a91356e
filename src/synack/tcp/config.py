"""Per-connection settings, and the two personalities that give them their defaults.

``TcpConfig(profile="linux")`` (the default) behaves as Linux 6.x does on the wire;
``TcpConfig(profile="rfc")`` follows RFC 9293 and its companion RFCs strictly where Linux
departs from them. Every knob can still be given: ``TcpConfig(profile="rfc", min_rto=ms(200))``
is the rfc personality with Linux's minimum RTO. ``docs/personalities.md`` lists every
difference, with the RFC's text, what Linux does, and the test that checks it.

A knob left out takes the profile's value when the config is made. ``dataclasses.replace``
keeps every value of the config it copies (the profile's too): to move a config to another
profile, build a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..timeunits import ms, sec

__all__ = ["TcpConfig", "PROFILES", "DEFAULT_PROFILE", "profile_defaults", "LINUX_TCP_RMEM_MAX"]

#: the personalities, and the one a config without ``profile`` gets
PROFILES = ("linux", "rfc")
DEFAULT_PROFILE = "linux"

#: Linux's net.ipv4.tcp_rmem[2] on the machine the linux profile was measured on (32 MiB):
#: the largest receive buffer, from which Linux picks its window scale (10 here, 7 with the
#: upstream 6 MiB).
LINUX_TCP_RMEM_MAX = 32 * 1024 * 1024

#: What each profile sets; a field not listed is the same in both (its default below).
_PROFILE: dict[str, dict[str, Any]] = {
    "linux": {
        # tcp_rmem[1] = 128 KiB, half of it window (tcp_adv_win_scale = 1): a window of 64 KiB,
        # offered in the SYN as 44 segments of 1460 (64240), scaled for tcp_rmem[2].
        "rcv_buf_max": LINUX_TCP_RMEM_MAX, "syn_window_whole_segments": True,
        "min_rto": ms(200),                    # TCP_RTO_MIN
        "msl": sec(30),                        # TCP_TIMEWAIT_LEN = 60 s
        "r2": 924_600 * ms(1),                 # tcp_retries2 = 15 as Linux turns it into time
        "syn_retries": 6, "syn_linear_timeouts": 4,  # tcp_syn_retries, tcp_syn_linear_timeouts
        "delayed_ack": ms(40),                 # TCP_ATO_MIN
        "quick_acks": 16,                      # TCP_MAX_QUICKACKS
        "initial_window": 10, "congestion": "cubic",
        "rst_ack": True, "rst_keeps_data": True, "psh_every": 2, "fin_in_zero_window": True, "minshall": True,
        "sws_half_window": True, "window_update_grows_only": True,
        "icmp_abort_syn_sent": True, "syn_quick_retry": True, "syn_received_resends_synack": True,
        "ack_simultaneous_synack": True, "syncookie_needs_ts": True,
    },
    "rfc": {
        "rcv_buf_max": None, "syn_window_whole_segments": False,
        "min_rto": sec(1),                     # RFC 6298 (2.4)
        "msl": sec(120),                       # RFC 9293 §3.4.2: two minutes
        "r2": sec(100),                        # RFC 9293 §3.8.3 SHLD-11
        "syn_retries": None, "syn_linear_timeouts": 0,  # R2 for a SYN: a time (MUST-23)
        "delayed_ack": ms(200),                # RFC 9293 §3.8.6.3, RFC 5681 §4.2
        "quick_acks": 0,                       # every lone segment's ACK is delayed
        "initial_window": 3, "congestion": "newreno",  # RFC 5681 §3.1 (with RFC 3390), RFC 6582
        "rst_ack": False, "rst_keeps_data": False, "psh_every": 0, "fin_in_zero_window": False, "minshall": False,
        "sws_half_window": False, "window_update_grows_only": False,
        "icmp_abort_syn_sent": False, "syn_quick_retry": False, "syn_received_resends_synack": False,
        "ack_simultaneous_synack": False, "syncookie_needs_ts": False,
    },
}


def profile_defaults(name: str) -> dict[str, Any]:
    """The values profile ``name`` gives; ValueError names the known profiles."""
    try:
        return dict(_PROFILE[name])
    except KeyError:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {name!r}") from None


@dataclass(slots=True, init=False)
class TcpConfig:
    """Knobs of one connection. Times are integer nanoseconds.

    ``TcpConfig(profile="linux"|"rfc", **knobs)``: the profile's values, and the knobs given.
    """

    #: the personality the defaults came from: "linux" (Linux 6.x on the wire) or "rfc"
    profile: str
    #: MSS we advertise (RFC 9293 §3.7.1 MUST-67); None = derived from the MTU. TCP_MAXSEG
    #: sets it, and it also caps the MSS we send with (Linux clamps both).
    mss: int | None
    #: Receive buffer: the most unread data we hold, and so the largest window we offer.
    #: Above 65535 only with ``window_scale`` (RFC 7323 §2: up to 65535 * 2**14 octets).
    rcv_buf: int
    #: The largest the receive buffer may become, from which the window scale we offer is
    #: chosen (Linux: tcp_rmem[2]); None: ``rcv_buf`` itself (the smallest shift that fits).
    rcv_buf_max: int | None
    #: Offer a SYN's window in whole segments of our MSS (Linux: 64240 = 44 * 1460).
    syn_window_whole_segments: bool
    #: Send buffer: how much unacknowledged plus unsent data SEND accepts.
    snd_buf: int
    #: RFC 6298 timer bounds (Linux: 1 s initial, 200 ms floor, 120 s ceiling; RFC 6298: 1 s floor).
    initial_rto: int
    min_rto: int
    max_rto: int
    #: Maximum segment lifetime; TIME-WAIT lasts 2*MSL (RFC 9293 §3.6.1 MUST-13). Linux: 60 s.
    msl: int
    #: R1 (retransmissions before negative advice) and R2 (time before giving up) of
    #: RFC 9293 §3.8.3 MUST-20; None for R2 means retry for ever (MUST-21).
    r1: int
    r2: int | None
    #: R2 for a SYN: at least three minutes (RFC 9293 §3.8.3 MUST-23).
    r2_syn: int | None
    #: The user timeout (Linux TCP_USER_TIMEOUT, RFC 5482; RFC 9293 §3.8.3 MUST-21: the
    #: application sets R2): once the first retransmission of the oldest unacknowledged data
    #: is this old, the connection times out, the RTO cut to fire then. None: R2 alone.
    user_timeout: int | None
    #: SYN retransmissions before an active OPEN gives up, counted as Linux's
    #: tcp_syn_retries (plus ``syn_linear_timeouts``); None: ``r2_syn`` alone decides.
    syn_retries: int | None
    #: The first SYN retransmissions that keep the initial RTO instead of doubling it
    #: (Linux 6.x tcp_syn_linear_timeouts); 0: exponential from the first (RFC 6298 (5.5)).
    syn_linear_timeouts: int
    #: After an unacceptable ACK in SYN-SENT (answered with RST), send the SYN again within
    #: 8 ms unless it was already retransmitted (Linux: TCP_TIMEOUT_MIN).
    syn_quick_retry: bool
    #: Delayed-ACK timeout (RFC 9293 §3.8.6.3 MUST-40: < 500 ms); None acks every segment.
    delayed_ack: int | None
    #: Quick-ACK mode (Linux tcp_incr_quickack, TCP_MAX_QUICKACKS = 16): the first data
    #: segments of a connection, and the first after the receiver was idle longer than the
    #: RTO, are acknowledged at once, at most this many (fewer when the window holds fewer
    #: than twice as many segments); then the delayed ACK applies. With it comes Linux's
    #: ping-pong mode: once the application answers within ``delayed_ack`` of the data it
    #: received, or the peer's FIN arrives, ACKs wait for the timer (or for data to ride
    #: on); the delayed-ACK time adapts as Linux's ATO does, ``delayed_ack`` its least.
    #: 0: every ACK follows RFC 9293 §3.8.6.3 alone, after ``delayed_ack``.
    quick_acks: int
    #: Disable Nagle (TCP_NODELAY, RFC 9293 §3.7.4 MUST-17).
    nodelay: bool
    #: Nagle's algorithm as Minshall's variant (Linux): hold a short segment only while
    #: another short segment is unacknowledged, not while any data is.
    minshall: bool
    #: Sender SWS avoidance bounds segments to half the largest window the peer offered
    #: when that is less than the MSS, and sends them (Linux tcp_bound_to_half_wnd).
    sws_half_window: bool
    #: Set PSH on every ``psh_every``-th segment of a write as well as on its last (Linux
    #: marks the last segment of each buffer it queues, two segments at the least); 0: on
    #: the last buffered segment only (RFC 9293 §3.9.1.2 MUST-61).
    psh_every: int
    #: Initial congestion window in segments (RFC 6928; Linux uses 10; RFC 5681 with RFC
    #: 3390: 3 segments of 1095 to 2190 octets).
    initial_window: int
    #: Congestion control algorithm, by name (see ``synack.tcp.cc``): CUBIC (RFC 9438), as
    #: Linux's default; "newreno" and "reno" are the RFC 6582 / RFC 5681 alternatives.
    congestion: str
    #: The IPv4 TOS octet / IPv6 Traffic Class the segments carry (IP_TOS, IPV6_TCLASS): its
    #: Differentiated Services field (RFC 9293 §3.9.1.9 MUST-48, SHLD-21/22). The ECN bits
    #: are the stack's (RFC 3168): the two low bits given here are ignored.
    tos: int
    #: The TTL / Hop Limit of the segments (IP_TTL, IPV6_UNICAST_HOPS; MUST-49); None: the
    #: host's (64).
    ttl: int | None
    #: Limit on out-of-order data held (RFC 9293 SHLD-31); None = rcv_buf.
    ooo_limit: int | None
    # -- keep-alives and half-open limits --
    #: Keep-alives (RFC 9293 §3.8.4): off by default (MUST-25), switched per connection
    #: (MUST-24); Linux's TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT defaults (MUST-27,
    #: MUST-28: the idle time is at least two hours unless the user says otherwise).
    keepalive: bool
    keepalive_idle: int
    keepalive_interval: int
    keepalive_count: int
    #: SYN,ACK retransmissions before a half-open passive connection is given up; None =
    #: retry until R2 for a SYN (RFC 9293 §3.8.3). A Host applies its own limit to its
    #: listeners (Linux net.ipv4.tcp_synack_retries = 5: about 63 s) unless this is set.
    synack_retries: int | None
    #: Abort synchronized connections on hard ICMP errors as RFC 9293 §3.9.2.2 SHLD-26
    #: says. False (Linux, RFC 5927 §4.1): only SYN-SENT and SYN-RECEIVED abort, later
    #: states keep the error as a soft error.
    icmp_abort_synchronized: bool
    #: In SYN-SENT, end the connection on any ICMP error, soft or hard (Linux tcp_v4_err,
    #: tcp_v6_err); False keeps soft errors soft there too (RFC 9293 §3.9.2.2 MUST-56).
    icmp_abort_syn_sent: bool
    # -- flow control and loss recovery --
    #: Offer window scaling in the SYN (RFC 7323 §2); the shift comes from ``rcv_buf_max``.
    window_scale: bool
    #: Offer timestamps (RFC 7323 §3-5): RTT measurement and PAWS.
    timestamps: bool
    #: Offer selective acknowledgments (RFC 2018, D-SACK RFC 2883); with SACK the sender
    #: recovers losses with a scoreboard (RFC 6675) and proportional rate reduction (RFC 9937).
    sack: bool
    #: RACK-TLP (RFC 8985): time-based loss detection and the tail loss probe (needs SACK).
    #: False: RFC 6675's DupThresh and IsLost() decide instead.
    rack: bool
    #: ECN (RFC 3168): "on" asks for it in our SYNs and accepts it; "passive" (Linux's
    #: net.ipv4.tcp_ecn = 2, the default) only accepts a peer's ECN-setup SYN; "off" never.
    ecn: str
    #: The sender's SWS override timeout (RFC 9293 §3.8.6.2.1 (4), MUST-38): 0.1 to 1 s.
    sws_override: int
    #: At most one ACK per this interval answers segments outside the window, ACKs of
    #: unsent data and challenges (RFC 5961 §7), per connection: Linux's
    #: net.ipv4.tcp_invalid_ratelimit (500 ms). None: answer every one (RFC 9293 as written).
    invalid_ratelimit: int | None
    #: A duplicate ACK (SEG.SEQ = SND.WL1, SEG.ACK = SND.WL2) updates SND.WND only if the
    #: window grows or is zero (Linux tcp_may_update_window); False: as RFC 9293 §3.10.7.4.
    window_update_grows_only: bool
    # -- closing and resetting --
    #: The resets the connection sends of its own accord (ABORT, CLOSE with unread data,
    #: keep-alive give-up) carry ACK = RCV.NXT (Linux tcp_send_active_reset); False:
    #: <SEQ=SND.NXT><CTL=RST> as RFC 9293 §3.10.5 writes it.
    rst_ack: bool
    #: An RST that ends a synchronized connection leaves the data the user has not read yet
    #: readable (Linux tcp_reset purges only the send queue): RECEIVE returns it, then the
    #: reset is reported. False: "all segment queues should be flushed" (RFC 9293 §3.10.7.4).
    rst_keeps_data: bool
    #: Accept a FIN at RCV.NXT when the receive window is zero (Linux); False: refuse it as
    #: any segment of non-zero length (RFC 9293 §3.10.7.4, Table 6).
    fin_in_zero_window: bool
    #: RFC 1337: ignore an RST in TIME-WAIT (TIME-WAIT assassination). Off in both profiles:
    #: RFC 9293 §3.10.7.4 closes TIME-WAIT on an RST, as Linux's tcp_rfc1337 = 0 does.
    rfc1337: bool
    # -- opening --
    #: A retransmitted SYN (SEG.SEQ = IRS) in a passive SYN-RECEIVED gets the SYN,ACK again
    #: (Linux tcp_check_req); False: the ACK of RFC 9293 §3.10.7.4's first check.
    syn_received_resends_synack: bool
    #: In a simultaneous open, the peer's SYN,ACK that completes our handshake is
    #: acknowledged (Linux); False: nothing is sent, as RFC 9293 Figure 7 shows.
    ack_simultaneous_synack: bool
    #: A SYN-cookie SYN,ACK answering a SYN without timestamps offers only an MSS: no SACK,
    #: window scale or ECN (Linux tcp_clear_options: the cookie keeps them only in TSval);
    #: False: it answers what the SYN offered, the ISS encoding it (RFC 4987 §3.6).
    syncookie_needs_ts: bool

    def __init__(self, profile: str = DEFAULT_PROFILE, **knobs: Any) -> None:
        values = dict(_COMMON)
        values.update(profile_defaults(profile))
        for name, value in knobs.items():
            if name not in values:
                raise TypeError(f"TcpConfig() got an unexpected keyword argument {name!r}")
            values[name] = value
        if "rcv_buf" in knobs and "rcv_buf_max" not in knobs:
            # A receive buffer the user chose is its own maximum: the window scale comes from
            # it, as from Linux's SO_RCVBUF (which locks the buffer's size).
            values["rcv_buf_max"] = None
        self.profile = profile
        for name, value in values.items():
            setattr(self, name, value)

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        profile_defaults(self.profile)
        if self.mss is not None and not 88 <= self.mss <= 65495:
            raise ValueError(f"mss must be between 88 and 65495, not {self.mss}")
        top = 0xFFFF << 14 if self.window_scale else 0xFFFF  # RFC 7323 §2.3: shift <= 14
        if not 1 <= self.rcv_buf <= top:
            raise ValueError(f"rcv_buf must be between 1 and {top} "
                             f"({'with' if self.window_scale else 'without'} window scaling), not {self.rcv_buf}")
        if self.rcv_buf_max is not None and not 1 <= self.rcv_buf_max <= 1 << 30:
            raise ValueError(f"rcv_buf_max must be between 1 and 2**30 or None, not {self.rcv_buf_max}")
        if self.snd_buf < 1:
            raise ValueError(f"snd_buf must be positive, not {self.snd_buf}")
        if not 0 < self.min_rto <= self.initial_rto <= self.max_rto:
            raise ValueError("need 0 < min_rto <= initial_rto <= max_rto")
        if self.user_timeout is not None and self.user_timeout <= 0:
            raise ValueError(f"user_timeout must be positive or None, not {self.user_timeout}")
        if self.msl < 0:
            raise ValueError(f"msl must not be negative, not {self.msl}")
        if self.delayed_ack is not None and not 0 < self.delayed_ack < ms(500):
            raise ValueError("delayed_ack must be under 500 ms (RFC 9293 §3.8.6.3 MUST-40)")
        if not 0 <= self.quick_acks <= 255:
            raise ValueError(f"quick_acks must be between 0 and 255, not {self.quick_acks}")
        if self.initial_window < 1:
            raise ValueError("initial_window must be at least 1 segment")
        if self.psh_every < 0:
            raise ValueError(f"psh_every must not be negative, not {self.psh_every}")
        if self.ecn not in ("off", "passive", "on"):
            raise ValueError(f"ecn must be 'off', 'passive' or 'on', not {self.ecn!r}")
        if not ms(100) <= self.sws_override <= ms(1000):
            raise ValueError("sws_override must be between 0.1 and 1 s (RFC 9293 §3.8.6.2.1)")
        if self.invalid_ratelimit is not None and not 0 <= self.invalid_ratelimit <= sec(60):
            raise ValueError(f"invalid_ratelimit must be between 0 and 60 s or None, not {self.invalid_ratelimit}")
        if not 0 <= self.tos <= 255:
            raise ValueError(f"tos must be between 0 and 255, not {self.tos}")
        if self.ttl is not None and not 1 <= self.ttl <= 255:
            raise ValueError(f"ttl must be between 1 and 255 or None, not {self.ttl}")
        if self.ooo_limit is not None and self.ooo_limit < 0:
            raise ValueError(f"ooo_limit must not be negative, not {self.ooo_limit}")
        if self.keepalive_idle <= 0 or self.keepalive_interval <= 0:
            raise ValueError("keepalive_idle and keepalive_interval must be positive")
        if not 1 <= self.keepalive_count <= 127:
            raise ValueError(f"keepalive_count must be between 1 and 127, not {self.keepalive_count}")
        if self.synack_retries is not None and not 0 <= self.synack_retries <= 255:
            raise ValueError(f"synack_retries must be between 0 and 255 or None, not {self.synack_retries}")
        if self.syn_retries is not None and not 1 <= self.syn_retries <= 127:
            raise ValueError(f"syn_retries must be between 1 and 127 or None, not {self.syn_retries}")
        if not 0 <= self.syn_linear_timeouts <= 127:
            raise ValueError(f"syn_linear_timeouts must be between 0 and 127, not {self.syn_linear_timeouts}")
        from .cc import check  # the registry, imported late: cc may import config one day

        check(self.congestion)

    def window_shift(self) -> int:
        """The window scale we offer (RFC 7323 §2.3): the smallest shift that lets the 16-bit
        field describe the larger of ``rcv_buf`` and ``rcv_buf_max``, at most 14 (Linux:
        ilog2(tcp_rmem[2]) - 15, 10 for 32 MiB)."""
        space = self.rcv_buf
        if self.rcv_buf_max is not None and self.rcv_buf_max > space:
            space = self.rcv_buf_max
        if space <= 0xFFFF:
            return 0
        # The smallest shift with space <= 0xFFFF << shift: 2**shift >= ceil(space / 0xFFFF).
        shift = (-(-space // 0xFFFF) - 1).bit_length()
        return shift if shift < 14 else 14


#: The knobs both profiles share.
_COMMON: dict[str, Any] = {
    "mss": None, "rcv_buf": 65535, "snd_buf": 256 * 1024, "initial_rto": sec(1), "max_rto": sec(120), "r1": 3,
    "r2_syn": sec(180), "user_timeout": None, "nodelay": False, "ooo_limit": None,
    "keepalive": False, "keepalive_idle": sec(7200), "keepalive_interval": sec(75), "keepalive_count": 9,
    "synack_retries": None, "icmp_abort_synchronized": False, "window_scale": True, "timestamps": True,
    "sack": True, "rack": True, "ecn": "passive", "sws_override": ms(200), "rfc1337": False,
    "invalid_ratelimit": ms(500), "tos": 0, "ttl": None,
}

