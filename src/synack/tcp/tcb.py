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


class Tcb:
    """The fields of one connection (see the module docstring); SND.* and RCV.* live in
    its ``snd`` and ``rcv``."""

    __slots__ = (
        "local_addr", "local_port", "remote_addr", "remote_port", "cid", "config", "tr", "isn",
        "state", "passive", "ipv6", "mss_limit", "snd", "rcv", "timers",
        "ws_ok", "snd_wscale", "rcv_wscale", "ts_ok", "ts_off", "sack_ok", "ecn_ok",
        "out", "error", "soft_error", "icmp_error", "challenge", "segs_in", "segs_out",
        "_ka", "_tfo", "_now", "owner", "_told_state", "_told_at",
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

    # The procedures every part of the connection may call (tcp/connection.py has them).
    if TYPE_CHECKING:  # pragma: no cover
        def _set_state(self, new: State, now: int, cause: str, rule: str = "", trace: bool = True) -> None: ...
        def _fail(self, err: TcpError, now: int, cause: str, rule: str) -> None: ...
        def _settle(self, now: int) -> None: ...
        def _abandon_passive(self, now: int, cause: str, err: TcpError) -> None: ...
        def _return_to_listen(self, now: int, cause: str) -> None: ...
        def _syn_ecn_bits(self, flags: int) -> int: ...
