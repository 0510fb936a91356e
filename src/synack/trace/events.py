"""Typed trace events (STYLE rule 5). Every view is a pure function of a list of these.

Times are integer nanoseconds. ``host`` is the name of the host that recorded the event;
``conn`` identifies the connection as ``(local_addr, local_port, remote_addr, remote_port)``
or is ``None`` when no connection is involved (a link drop, a segment for no listener).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from ..wire.tcp import TcpSegment

#: ``(local_addr, local_port, remote_addr, remote_port)``, or None
Conn = tuple | None

# Every event is a frozen dataclass with slots: immutable and hashable like a value, cheap
# to build, and typed. ``event`` (the record kind of docs/trace.md) is a ClassVar, so it is
# part of the class, not of each instance's fields.


@dataclass(frozen=True, slots=True)
class SegmentSent:
    """A segment left ``host``. ``retransmit`` with ``cause`` ("rto", "fast-retransmit", ...)."""

    t: int
    host: str
    conn: Conn
    src: str
    dst: str
    seg: TcpSegment
    retransmit: bool = False
    cause: str | None = None
    event: ClassVar[str] = "send"


@dataclass(frozen=True, slots=True)
class SegmentReceived:
    """A well-formed segment reached ``host``'s TCP."""

    t: int
    host: str
    conn: Conn
    src: str
    dst: str
    seg: TcpSegment
    event: ClassVar[str] = "recv"


@dataclass(frozen=True, slots=True)
class SegmentDropped:
    """A segment was discarded. ``reason``: link-loss, bad-checksum, malformed, out-of-window,
    no-listener, backlog-full, queue-full, scripted, paws, no-timestamp, ooo-full, ... ``seg`` is
    ``None`` when unparseable."""

    t: int
    host: str
    conn: Conn
    src: str
    dst: str
    seg: TcpSegment | None
    reason: str
    detail: str = ""
    event: ClassVar[str] = "drop"


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The connection moved from ``old`` to ``new`` (RFC spellings) because of ``cause``,
    under ``rule`` (an RFC citation such as "RFC 9293 §3.10.7.3")."""

    t: int
    host: str
    conn: Conn
    old: str
    new: str
    cause: str
    rule: str = ""
    event: ClassVar[str] = "state"


@dataclass(frozen=True, slots=True)
class TimerArmed:
    """Timer ``name`` (rto, time-wait, delayed-ack, persist, sws-override, tlp, rack, keepalive)
    set for ``deadline``."""

    t: int
    host: str
    conn: Conn
    name: str
    deadline: int
    backoff: int = 0
    event: ClassVar[str] = "timer-armed"


@dataclass(frozen=True, slots=True)
class TimerCancelled:
    t: int
    host: str
    conn: Conn
    name: str
    event: ClassVar[str] = "timer-cancelled"


@dataclass(frozen=True, slots=True)
class TimerFired:
    t: int
    host: str
    conn: Conn
    name: str
    backoff: int = 0
    event: ClassVar[str] = "timer-fired"


@dataclass(frozen=True, slots=True)
class RttSample:
    """An RTT measurement and the RFC 6298 estimator after it (all in ns)."""

    t: int
    host: str
    conn: Conn
    rtt: int
    srtt: int
    rttvar: int
    rto: int
    event: ClassVar[str] = "rtt"


@dataclass(frozen=True, slots=True)
class CongestionChanged:
    """cwnd / ssthresh (bytes) after a change, with bytes in flight and the receive window."""

    t: int
    host: str
    conn: Conn
    cwnd: int
    ssthresh: int
    flight_size: int
    snd_wnd: int
    cause: str = ""
    event: ClassVar[str] = "cwnd"


@dataclass(frozen=True, slots=True)
class AppCall:
    """An application call (connect, send, recv, shutdown, close, ...) and its outcome."""

    t: int
    host: str
    conn: Conn
    call: str
    args: str = ""
    result: Any = None
    error: str | None = None
    #: the events of this host the call itself caused after it began, or after the wait
    #: that held it ended (a read's window update, a close's FIN and state change): they
    #: precede this record, which is made when the call returns. None: not known.
    caused: int | None = None
    event: ClassVar[str] = "app"


@dataclass(frozen=True, slots=True)
class ConnectionError_:
    """The connection ended abnormally: ``error`` is refused, reset, timeout, ..."""

    t: int
    host: str
    conn: Conn
    error: str
    detail: str = ""
    event: ClassVar[str] = "error"


# --- listeners under attack, ICMP, Fast Open -----


@dataclass(frozen=True, slots=True)
class ListenQueue:
    """A listener's two queues after a change: ``syn_queue`` half-open connections
    (SYN-RECEIVED) of at most ``syn_backlog``, ``accept_queue`` established ones waiting
    for accept() of at most ``backlog``. ``cause``: syn, established, accepted, dropped,
    timeout, closed. ``conn`` is the connection that moved, if any."""

    t: int
    host: str
    conn: Conn
    addr: str
    port: int
    syn_queue: int
    syn_backlog: int
    accept_queue: int
    backlog: int
    cause: str = ""
    event: ClassVar[str] = "listen-queue"


@dataclass(frozen=True, slots=True)
class SynCookieMode:
    """A listener started (``on``) or stopped sending SYN cookies (RFC 4987 §3.6) because
    its SYN queue overflowed or had room again; ``reason`` says which."""

    t: int
    host: str
    conn: Conn
    addr: str
    port: int
    on: bool
    reason: str = ""
    event: ClassVar[str] = "syncookies"


@dataclass(frozen=True, slots=True)
class IcmpEvent:
    """An ICMP/ICMPv6 error that ``host`` received (RFC 9293 §3.9.2.2) or sent. ``conn``
    is the connection it was about (None if none matched); ``src``/``dst`` the error's own
    addresses. ``kind`` names it (port-unreachable, frag-needed, source-quench, ...);
    ``action``: hard (connection aborted), soft (kept for the user, MUST-56), pmtu
    (segment size lowered), ignored (why in ``detail``), or sent."""

    t: int
    host: str
    conn: Conn
    src: str
    dst: str
    version: int
    type: int
    code: int
    kind: str
    action: str
    detail: str = ""
    event: ClassVar[str] = "icmp"


@dataclass(frozen=True, slots=True)
class FastOpenEvent:
    """A TCP Fast Open step (RFC 7413): cookie-requested, cookie-issued, cookie-stored,
    data-in-syn, data-accepted, cookie-refused, fallback (SYN data not acknowledged)."""

    t: int
    host: str
    conn: Conn
    action: str
    detail: str = ""
    event: ClassVar[str] = "fastopen"


Event = Any  # one of the classes above


def fields_of(ev: Any) -> dict:
    """An event's fields by name, in declaration order (``t``, ``host``, ``conn``, ...)."""
    if hasattr(ev, "__dataclass_fields__"):
        return {f.name: getattr(ev, f.name) for f in fields(ev)}
    return dict(ev._asdict())  # a NamedTuple event of an older or outside emitter


class Recorder:
    """Collects events from every host of one network, in the order they happen."""

    __slots__ = ("events", "on", "names")

    def __init__(self, on: bool = True) -> None:
        self.events: list = []
        self.on = on
        #: address -> host name, for views that label lifelines by host
        self.names: dict[str, str] = {}

    def emit(self, ev: Event) -> None:
        if self.on:
            self.events.append(ev)


class Tracer:
    """A host's handle on a :class:`Recorder`: knows the host name. ``on`` is checked by
    callers before building an event, so a disabled tracer costs one attribute read."""

    __slots__ = ("recorder", "host", "on")

    def __init__(self, host: str = "", recorder: Recorder | None = None) -> None:
        self.host = host
        self.recorder = recorder if recorder is not None else Recorder(on=False)
        self.on = self.recorder.on

    def emit(self, ev: Event) -> None:
        self.recorder.events.append(ev)


NULL_TRACER = Tracer("", Recorder(on=False))
