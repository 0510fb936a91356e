"""The Transmission Control Block (RFC 9293 §3.2, §3.3.1).

:class:`Tcb` holds what one connection keeps besides its two directions: the socket pair,
the state, what the handshake negotiated, the queue of segments to send, the errors to
report, and the owners of the rest. :class:`~synack.tcp.connection.Connection` is a Tcb
with the procedures of RFC 9293 §3.10 (its parts in tcp/handshake.py, tcp/output.py and
tcp/control.py are methods on these fields).

RFC 9293 §3.3.1 lists the variables a TCB keeps for each direction (its Figures 3 and 4).
Here they are two small base classes, each owned by one side of the connection:
:class:`SendSequence` by :class:`~synack.tcp.sender.Sender` and :class:`ReceiveSequence` by
:class:`~synack.tcp.receiver.Receiver`. Nothing else writes them; everyone else reads them
through the owner or asks it to act.

Every sequence number is a :class:`~synack.wire.seq.Seq` and is compared only modulo 2**32
(STYLE rule 6). The owners convert to absolute stream offsets at this edge for their
buffers, reassembly queue and SACK scoreboard.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol

from ..trace.events import Tracer
from ..wire.seq import Seq
from .state import State

if TYPE_CHECKING:  # pragma: no cover
    from .config import TcpConfig
    from .connection import Connection
    from .errors import TcpError, Unreachable
    from .fastopen import ClientFastOpen, ServerFastOpen
    from .keepalive import KeepAlive
    from .receiver import Receiver
    from .sender import Sender
    from .timers import Timers

__all__ = ["SendSequence", "ReceiveSequence", "Tcb", "Owner", "IsnSource"]

#: the ISN source a connection is given: (local addr, local port, remote addr, remote port, now) -> ISN
IsnSource = Callable[[str, int, str, int, int], Seq]


class Owner(Protocol):
    """What a connection's owner (a host) offers: told after every event."""

    def updated(self, conn: Connection, now: int) -> None: ...

_ZERO = Seq(0)


class SendSequence:
    """Send sequence variables (RFC 9293 §3.3.1, Figure 3).

    ::

                   1         2          3          4
              ----------|----------|----------|----------
                     SND.UNA    SND.NXT    SND.UNA
                                          +SND.WND
    """

    __slots__ = ("snd_una", "snd_nxt", "snd_wnd", "snd_up", "snd_wl1", "snd_wl2", "iss", "max_snd_wnd")

    #: ``snd_una``: SND.UNA, the oldest unacknowledged sequence number
    snd_una: Seq
    #: ``snd_nxt``: SND.NXT, the next sequence number to be sent (the highest ever sent + 1)
    snd_nxt: Seq
    #: ``snd_wnd``: SND.WND, the send window the peer offers, in octets (scaled, RFC 7323 §2.3)
    snd_wnd: int
    #: ``snd_up``: SND.UP, the send urgent pointer (the octet after the urgent data, MUST-62)
    snd_up: Seq
    #: ``snd_wl1``: SND.WL1, the segment sequence number of the last window update
    snd_wl1: Seq
    #: ``snd_wl2``: SND.WL2, the segment acknowledgment number of the last window update
    snd_wl2: Seq
    #: ``iss``: ISS, the initial send sequence number
    iss: Seq
    #: ``max_snd_wnd``: MAX.SND.WND, the largest window the peer ever offered (RFC 5961 §5)
    max_snd_wnd: int

    def __init__(self) -> None:
        self.snd_una = self.snd_nxt = self.snd_up = self.snd_wl1 = self.snd_wl2 = self.iss = _ZERO
        self.snd_wnd = self.max_snd_wnd = 0


class ReceiveSequence:
    """Receive sequence variables (RFC 9293 §3.3.1, Figure 4).

    ::

                       1          2          3
                   ----------|----------|----------
                          RCV.NXT    RCV.NXT
                                    +RCV.WND

    RCV.WND is what is left of the window last advertised: ``rcv_adv - rcv_nxt``, never below
    zero (the right edge ``rcv_adv`` never moves left, RFC 9293 §3.8.6.2.2 SHLD-14).
    """

    __slots__ = ("rcv_nxt", "rcv_up", "irs", "rcv_adv")

    #: ``rcv_nxt``: RCV.NXT, the next sequence number expected
    rcv_nxt: Seq
    #: ``rcv_up``: RCV.UP, the receive urgent pointer (valid once an urgent pointer arrived)
    rcv_up: Seq
    #: ``irs``: IRS, the initial receive sequence number
    irs: Seq
    #: ``rcv_adv``: RCV.NXT + RCV.WND as last advertised: the right edge promised to the peer
    rcv_adv: Seq

    def __init__(self) -> None:
        self.rcv_nxt = self.rcv_up = self.irs = self.rcv_adv = _ZERO

    @property
    def rcv_wnd(self) -> int:
        """RCV.WND: what is left of the window last advertised."""
        w = self.rcv_adv.dist(self.rcv_nxt)
        return w if w > 0 else 0


def _of(path: str, doc: str) -> Any:
    """A read-only property that reads ``path`` (such as "snd.snd_una") from the owner."""
    return property(attrgetter(path), doc=doc)


class Tcb:
    """The fields of one connection (see the module docstring); SND.* and RCV.* live in
    its ``snd`` and ``rcv``."""

    __slots__ = (
        "local_addr", "local_port", "remote_addr", "remote_port", "cid", "config", "tr", "isn",
        "state", "passive", "ipv6", "mss_limit", "snd", "rcv", "timers",
        "ws_ok", "snd_wscale", "rcv_wscale", "ts_ok", "ts_off", "sack_ok", "ecn_ok",
        "out", "error", "soft_error", "icmp_error", "challenge", "segs_in", "segs_out",
        "_ka", "_tfo", "_now", "owner", "_told_state", "_told_at", "hold_ack",
        "__weakref__",  # (a TIME-WAIT record, tcp/timewait.py, refers to its connection weakly)
    )

    #: the socket pair (RFC 9293 §3.2), and ``cid``, the four as one tuple
    local_addr: str
    local_port: int
    remote_addr: str
    remote_port: int
    cid: tuple
    #: the connection's settings (a copy once a socket option changed one)
    config: TcpConfig
    #: where trace events go (the host's tracer, or a silent one)
    tr: Tracer
    #: the ISN source (RFC 6528 generator, or fixed ISNs in tests and SYN cookies)
    isn: IsnSource | None
    #: the RFC 9293 §3.3.2 state; only ``_set_state`` changes it
    state: State
    #: opened passively (LISTEN); such a SYN-RECEIVED returns to LISTEN on RST
    passive: bool
    ipv6: bool
    #: the largest segment our path allows (MMS_S - 20), lowered by PMTU discovery
    mss_limit: int
    #: the owner of SND.* (tcp/sender.py), of RCV.* (tcp/receiver.py), and of the timers
    snd: Sender
    rcv: Receiver
    timers: Timers
    #: RFC 7323 §2 window scaling negotiated; Snd.Wind.Shift and Rcv.Wind.Shift
    ws_ok: bool
    snd_wscale: int
    rcv_wscale: int
    #: RFC 7323 §3 timestamps negotiated; this connection's TSval offset
    ts_ok: bool
    ts_off: int
    #: RFC 2018 SACK and RFC 3168 ECN negotiated
    sack_ok: bool
    ecn_ok: bool
    #: segments to send, as (TcpSegment, cause) pairs, drained by the owner
    out: list
    #: the error that ended the connection, for the user (RFC 9293 §3.10)
    error: TcpError | None
    #: negative advice: R1 reached, or a soft ICMP error (MUST-20, SHLD-25)
    soft_error: str | None
    #: the last soft ICMP error, reported instead of a timeout at R2
    icmp_error: Unreachable | None
    #: the host's RFC 5961 §7 challenge-ACK limiter, or None
    challenge: Any
    #: segments received and sent
    segs_in: int
    segs_out: int
    #: keep-alive state (tcp/keepalive.py) and Fast Open state (tcp/fastopen.py), or None
    _ka: KeepAlive | None
    _tfo: ClientFastOpen | ServerFastOpen | None
    #: the time of the event being processed (the TSval clock reads it)
    _now: int
    #: told after every event that changed what it sees (Owner), or None
    owner: Owner | None
    #: the state and next deadline the owner was last told of
    _told_state: State | None
    _told_at: int | None
    #: the owner is handing over a batch of segments: the ACK they owe waits for
    #: ``release_ack`` at the end of the batch (RFC 9293 §3.10.7.4 MUST-58/59)
    hold_ack: bool

    # The procedures every part of the connection may call (tcp/connection.py has them).
    if TYPE_CHECKING:  # pragma: no cover
        def _set_state(self, new: State, now: int, cause: str, rule: str = "", trace: bool = True) -> None: ...
        def _fail(self, err: TcpError, now: int, cause: str, rule: str) -> None: ...
        def _settle(self, now: int) -> None: ...
        def _abandon_passive(self, now: int, cause: str, err: TcpError) -> None: ...
        def _return_to_listen(self, now: int, cause: str) -> None: ...
        def _syn_ecn_bits(self, flags: int) -> int: ...

    # ------------------------------------------------------------------ the TCB, read-only
    snd_una = _of("snd.snd_una", "SND.UNA: oldest unacknowledged sequence number")
    snd_nxt = _of("snd.snd_nxt", "SND.NXT: next sequence number to be sent")
    snd_wnd = _of("snd.snd_wnd", "SND.WND: send window offered by the peer")
    snd_up = _of("snd.snd_up", "SND.UP: send urgent pointer")
    snd_wl1 = _of("snd.snd_wl1", "SND.WL1: segment sequence number of the last window update")
    snd_wl2 = _of("snd.snd_wl2", "SND.WL2: segment acknowledgment number of the last window update")
    iss = _of("snd.iss", "ISS: initial send sequence number")
    max_snd_wnd = _of("snd.max_snd_wnd", "MAX.SND.WND: largest window the peer ever offered")
    snd_mss = _of("snd.snd_mss", "SendMSS: the peer's MSS, capped by our path")
    rtt = _of("snd.rtt", "the RFC 6298 estimator")
    cc = _of("snd.cc", "the congestion control algorithm (owns cwnd and ssthresh)")
    retransmits = _of("snd.retransmits", "segments retransmitted so far")
    flight_size = _of("snd.flight_size", "FlightSize (RFC 5681 §2): octets sent, not acknowledged")
    send_space = _of("snd.send_space", "how many more octets SEND accepts now")
    unsent = _of("snd.unsent", "octets SEND accepted that were not transmitted yet")
    all_acked = _of("snd.all_acked", "everything sent and queued, FIN included, was acknowledged")
    fin_acked = _of("snd.fin_acked", "our FIN was sent and acknowledged")
    rcv_nxt = _of("rcv.rcv_nxt", "RCV.NXT: next sequence number expected")
    rcv_wnd = _of("rcv.rcv_wnd", "RCV.WND: what is left of the window we last advertised")
    rcv_up = _of("rcv.rcv_up", "RCV.UP: receive urgent pointer")
    rcv_adv = _of("rcv.rcv_adv", "RCV.NXT + RCV.WND as last advertised")
    irs = _of("rcv.irs", "IRS: initial receive sequence number")
    rcv_mss = _of("rcv.rcv_mss", "the MSS we announce")
    ts_recent = _of("rcv.ts_recent", "RFC 7323 §4.3 TS.Recent")
    ts_recent_age = _of("rcv.ts_recent_age", "when TS.Recent was set")
    last_ack_sent = _of("rcv.last_ack_sent", "RFC 7323 §4.3 Last.ACK.sent")
    fin_received = _of("rcv.fin_received", "the peer's FIN arrived in order")
    readable = _of("rcv.readable", "octets the user can RECEIVE now")
    at_eof = _of("rcv.at_eof", "the peer's FIN arrived and every octet before it was read")
    read_offset = _of("rcv.read_offset", "stream offset of the next octet RECEIVE returns")
    urgent_mark = _of("rcv.urgent_mark", "stream offset of the octet after the urgent data (RCV.UP), or None")
    urgent_remaining = _of("rcv.urgent_remaining", "MUST-33: octets of urgent data still to read (0: none)")
    eff_snd_mss = _of("snd.eff_snd_mss", "Eff.snd.MSS (RFC 9293 §3.7.1): the data a full-sized segment carries")
    fastopen = _of("_tfo", "this connection's Fast Open state (RFC 7413), or None")
