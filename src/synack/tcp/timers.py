"""Every timer of one connection, in one place (RFC 9293 §3.10.8 and the RFCs that add timers).

A :class:`Timers` object holds the deadline of each :class:`Timer` (absolute ns, or None),
traces ``TimerArmed``, ``TimerCancelled`` and ``TimerFired`` with the timer's name, and
answers ``next_deadline()`` for the connection. It never calls anything back: the
connection asks :meth:`Timers.expire` which timers are due and runs their handlers itself
(deadlines, not callbacks: STYLE rule 2).

Some timers share one slot, as they share one kernel timer in Linux: the persist timer and
the sender's SWS override timer (RFC 9293 §3.8.6.2.1 (4)) never run together, and neither do
the tail loss probe and the RACK reordering timer (RFC 8985 §7.2 and §6.2). Arming one of a
pair replaces the other without a trace of its own, as re-arming a kernel timer does.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from ..trace.events import TimerArmed, TimerCancelled, TimerFired

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connection

__all__ = ["Timer", "Timers", "RTO_SLOT", "DELAYED_ACK_SLOT", "PROBE_SLOT", "LOSS_SLOT"]


class Timer(enum.IntEnum):
    """The timers of a connection; ``label`` is the name the trace gives each."""

    #: the retransmission timer (RFC 6298), also for the SYN and SYN,ACK
    RTO = 0
    #: 2*MSL in TIME-WAIT (RFC 9293 §3.6.1 MUST-13)
    TIME_WAIT = 1
    #: the delayed-ACK timer (RFC 9293 §3.8.6.3, MUST-40)
    DELAYED_ACK = 2
    #: the persist timer: zero-window probes (RFC 9293 §3.8.6.1)
    PERSIST = 3
    #: the sender's SWS override timeout (RFC 9293 §3.8.6.2.1 (4), MUST-38); PERSIST's slot
    SWS_OVERRIDE = 4
    #: the tail loss probe (RFC 8985 §7.2)
    TLP = 5
    #: RACK's reordering timer (RFC 8985 §6.2 step 5); TLP's slot
    RACK = 6
    #: keep-alive probes (RFC 9293 §3.8.4)
    KEEPALIVE = 7

    @property
    def label(self) -> str:
        """The name in trace events ("rto", "time-wait", ...)."""
        return _LABELS[self]


_LABELS = ("rto", "time-wait", "delayed-ack", "persist", "sws-override", "tlp", "rack", "keepalive")
#: Timer -> the slot that holds its deadline
_SLOT = (0, 1, 2, 3, 3, 4, 4, 5)
_NSLOTS = 6
#: the timer a slot holds unless it is the other of a pair
_PRIMARY = (Timer.RTO, Timer.TIME_WAIT, Timer.DELAYED_ACK, Timer.PERSIST, Timer.TLP, Timer.KEEPALIVE)
#: slots of ``Timers.at`` for reading a deadline on hot paths without a call: RTO, delayed
#: ACK, the persist / SWS-override pair, the TLP / RACK pair
RTO_SLOT, DELAYED_ACK_SLOT, PROBE_SLOT, LOSS_SLOT = 0, 2, 3, 4
_PERSIST, _TLP = Timer.PERSIST, Timer.TLP  # (an Enum member read through its class costs a lookup)


class Timers:
    """The deadlines of one connection's timers (see the module docstring)."""

    __slots__ = ("conn", "at", "probe", "loss", "next")

    def __init__(self, conn: Connection) -> None:
        #: the connection whose tracer and id label the events
        self.conn = conn
        #: deadline by slot (ns), None when not armed
        self.at: list[int | None] = [None] * _NSLOTS
        #: which of each shared pair was last armed: PERSIST or SWS_OVERRIDE, TLP or RACK
        self.probe = _PERSIST
        self.loss = _TLP
        #: the earliest deadline of any slot (kept as slots change), or None
        self.next: int | None = None

    def __repr__(self) -> str:
        armed = ", ".join(f"{self._kind(i).label}={d}" for i, d in enumerate(self.at) if d is not None)
        return f"Timers({armed})"

    def _kind(self, slot: int) -> Timer:
        """Which timer the slot holds (the one last armed, for a shared slot)."""
        if slot == 3:
            return self.probe
        if slot == 4:
            return self.loss
        return _PRIMARY[slot]

    def arm(self, timer: Timer, at: int, now: int, backoff: int = 0) -> None:
        """(Re)start ``timer`` to expire at ``at`` (ns); ``backoff`` goes into the trace."""
        slot = _SLOT[timer]
        old = self.at[slot]
        self.at[slot] = at
        if slot == 3:
            self.probe = timer
        elif slot == 4:
            self.loss = timer
        nxt = self.next
        if nxt is None or at < nxt:
            self.next = at
        elif old == nxt and at != old:
            self.next = self._earliest()  # the earliest deadline moved later
        conn = self.conn
        tr = conn.tr
        if tr.on:
            tr.emit(TimerArmed(now, tr.host, conn.cid, _LABELS[timer], at, backoff))

    def cancel(self, timer: Timer, now: int) -> None:
        """Stop ``timer`` (or the one sharing its slot), tracing the cancellation if it was
        running."""
        slot = _SLOT[timer]
        at = self.at
        old = at[slot]
        if old is not None:
            at[slot] = None
            if old == self.next:
                self.next = self._earliest()  # (the earliest deadline moved later)
            conn = self.conn
            tr = conn.tr
            if tr.on:
                tr.emit(TimerCancelled(now, tr.host, conn.cid, _LABELS[self._kind(slot)]))

    def cancel_all(self, now: int) -> None:
        """Stop every timer (the TCB is being deleted or reset)."""
        at = self.at
        for slot in range(_NSLOTS):
            if at[slot] is not None:
                self.cancel(self._kind(slot), now)

    def forget_all(self) -> None:
        """Stop every timer without a trace: another owner took over what they were for
        (a TIME-WAIT record, tcp/timewait.py, which traces its own timer)."""
        self.at = [None] * _NSLOTS
        self.next = None

    def pending(self, timer: Timer) -> int | None:
        """The deadline of ``timer``'s slot (whichever of a pair is armed), or None."""
        return self.at[_SLOT[timer]]

    def armed(self, timer: Timer) -> bool:
        """Is ``timer`` itself (not the other of its pair) running?"""
        slot = _SLOT[timer]
        return self.at[slot] is not None and self._kind(slot) is timer

    def which(self, timer: Timer) -> Timer | None:
        """Which timer of ``timer``'s slot is running, or None."""
        slot = _SLOT[timer]
        return self._kind(slot) if self.at[slot] is not None else None

    def next_deadline(self) -> int | None:
        """The earliest deadline of any running timer, or None."""
        return self.next

    def _earliest(self) -> int | None:
        d = None
        for t in self.at:
            if t is not None and (d is None or t < d):
                d = t
        return d

    def expire(self, timer: Timer, now: int, backoff: int = 0) -> bool:
        """If ``timer``'s slot is due at ``now``, stop it, trace ``TimerFired`` (named after
        the timer armed in the slot) and return True."""
        slot = _SLOT[timer]
        d = self.at[slot]
        if d is None or d > now:
            return False
        self.at[slot] = None
        if d == self.next:
            self.next = self._earliest()
        conn = self.conn
        tr = conn.tr
        if tr.on:
            tr.emit(TimerFired(now, tr.host, conn.cid, _LABELS[self._kind(slot)], backoff))
        return True
