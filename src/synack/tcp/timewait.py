"""A connection in TIME-WAIT as a small record (RFC 9293 §3.6.1, §3.10.7.4; RFC 6191).

Once a connection enters TIME-WAIT, all it has left to do for 2*MSL is answer what the
peer may still send: acknowledge a retransmitted FIN again (and restart 2*MSL), answer a
segment outside the window with an ACK (rate-limited like any other), draw a challenge
ACK from an in-window RST or a SYN (RFC 5961), end on an RST at RCV.NXT (Linux's
``tcp_rfc1337=0``), and decide whether a new SYN for the same 4-tuple may start a new
connection (RFC 6191). None of that needs the send and receive buffers, the congestion
control, the RTT estimator or the scoreboard a :class:`~synack.tcp.connection.Connection`
keeps, so a host keeps a :class:`TimeWait` in its place: a few hundred octets instead of
some kilobytes, as Linux keeps an ``inet_timewait_sock``.

The record answers exactly as the connection would have, with the same trace events
(``SegmentDropped`` with the same reasons, ``TimerArmed`` and ``TimerFired`` for
"time-wait", ``StateChanged`` to CLOSED). Its ACKs carry the window of the moment it took
over, the timestamps (RFC 7323: TSval from the connection's clock, TSecr = TS.Recent) and
a D-SACK block for old data received again (RFC 2883). The application may still hold
the connection object (to read what it has not read yet): the record keeps only a weak
reference to it, and tells it when TIME-WAIT ends so that its state reads CLOSED.

:meth:`TimeWait.accepts_syn` is the RFC 6191 rule, with RFC 9293's sequence-number rule
(§3.10.7.4 and §3.6.1 MAY-2) as Linux's ``tcp_timewait_state_process`` applies both: a SYN whose
TSval is newer than the last one seen, or whose sequence number lies beyond the old
RCV.NXT, and that PAWS does not reject, may start a new connection. The host then ends
the record and hands the SYN to its listener, with an ISS above the old SND.NXT
(:meth:`TimeWait.new_iss`, RFC 1122 §4.2.2.13).

Sans-IO: every entry point takes ``now``; nothing here reads a clock.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from ..trace.events import SegmentDropped, StateChanged, TimerArmed, TimerFired, Tracer
from ..wire.seq import MASK, Seq, seq_add, seq_dist
from ..wire.tcp import ACK, ECE, FIN, RST, SYN, Nop, Sack, TcpSegment, Timestamps
from . import timestamps as _ts
from .rfc5961 import challenge_refused, oow_answer
from .state import State
from .timers import Timer

if TYPE_CHECKING:  # pragma: no cover
    from .config import TcpConfig
    from .connection import Connection

__all__ = ["TimeWait", "TW_ISN_STEP"]

#: How far above the old SND.NXT a connection that ends a TIME-WAIT starts (Linux:
#: ``tw_snd_nxt + 65535 + 2``), so its segments cannot be taken for the old ones.
TW_ISN_STEP = 65535 + 2

_NOP = Nop()
_TIME_WAIT, _CLOSED = State.TIME_WAIT, State.CLOSED
_tuple_new = tuple.__new__
_object_new = object.__new__
_SEQ0 = Seq(0)
#: the ``out`` of every record that has sent nothing (never appended to: see _send_ack)
_NOTHING: list = []


class TimeWait:
    """One 4-tuple in TIME-WAIT (see the module docstring). Made by :meth:`of`."""

    __slots__ = (
        "cid", "snd_nxt", "rcv_nxt", "rcv_wnd", "rcv_abs", "wnd", "flags",
        "ts_recent", "ts_recent_age", "ts_off", "deadline", "config", "oow_at", "oow_dsack",
        "_dsack", "tr", "challenge", "owner", "out", "state", "_conn",
    )

    #: (what the host reads of any connection it owns)
    ecn_ok = False

    #: the socket pair (local addr, local port, remote addr, remote port)
    cid: tuple
    #: SND.NXT and RCV.NXT as TIME-WAIT began (our FIN and the peer's FIN included)
    snd_nxt: Seq
    rcv_nxt: Seq
    #: RCV.WND, the window field of our ACKs, and the data octets received in all
    rcv_wnd: int
    wnd: int
    rcv_abs: int
    #: bit 1: timestamps in use, bit 2: SACK in use, bit 4: echo ECE (RFC 3168 §6.1.3)
    flags: int
    #: RFC 7323: TS.Recent, when it was set, and our TSval offset
    ts_recent: int
    ts_recent_age: int
    ts_off: int
    #: when 2*MSL ends (ns)
    deadline: int | None
    #: the connection's settings (MSL, invalid_ratelimit), shared with its host's others
    config: TcpConfig
    #: the last answer to an unacceptable segment (ns), the last D-SACK block reported for
    #: one, and a D-SACK block for the next ACK
    oow_at: int | None
    oow_dsack: tuple[int, int] | None
    _dsack: tuple[int, int] | None
    tr: Tracer
    #: the host's RFC 5961 §7 challenge-ACK limiter, or None
    challenge: Any
    #: the host (told after every event), what to send, TIME-WAIT or CLOSED
    owner: Any
    out: list
    state: State
    _conn: weakref.ReferenceType

    def __init__(self) -> None:
        raise TypeError("use TimeWait.of(connection, now)")

    @classmethod
    def of(cls, conn: Connection, now: int) -> TimeWait:
        """The record that takes over ``conn`` (in TIME-WAIT) at ``now``."""
        self = _object_new(cls)
        rcv = conn.rcv
        self.cid = conn.cid
        self.snd_nxt = conn.snd.snd_nxt
        self.rcv_nxt = rcv.rcv_nxt
        # The window field of our ACKs, as the connection would compute it now (RFC 9293
        # §3.8.6.2.2, RFC 7323 §2.3), and the right edge it promised (for acceptability).
        self.wnd = rcv.advertise()
        self.rcv_wnd = rcv.rcv_wnd
        self.rcv_abs = rcv.abs  # (so a D-SACK block never starts before the first octet)
        self.flags = (1 if conn.ts_ok else 0) | (2 if conn.sack_ok else 0) | (4 if rcv.ece else 0)
        self.ts_recent = rcv.ts_recent
        self.ts_recent_age = rcv.ts_recent_age
        self.ts_off = conn.ts_off
        self.config = conn.config
        self.oow_at = rcv.oow_ack_at
        self.oow_dsack = rcv.oow_dsack
        self._dsack = None
        timers = conn.timers
        self.deadline = timers.pending(Timer.TIME_WAIT)
        timers.forget_all()  # (the record runs the timer from now on, and traces it)
        self.tr = conn.tr
        self.challenge = conn.challenge
        self.owner = conn.owner
        self.out = _NOTHING  # (a list of its own only once something is sent)
        self.state = _TIME_WAIT
        self._conn = weakref.ref(conn)
        return self

    def __repr__(self) -> str:
        la, lp, ra, rp = self.cid
        return f"<TimeWait {la}:{lp} -> {ra}:{rp}>"

    # ------------------------------------------------------------------ what a host reads
    local_addr = property(lambda self: self.cid[0], doc="the socket pair (RFC 9293 §3.2)")
    local_port = property(lambda self: self.cid[1])
    remote_addr = property(lambda self: self.cid[2])
    remote_port = property(lambda self: self.cid[3])

    @property
    def connection(self) -> Connection | None:
        """The connection this record took over, if something still holds it."""
        return self._conn()

    @property
    def snd_una(self) -> Seq:
        """SND.UNA = SND.NXT: everything we sent, our FIN included, was acknowledged."""
        return self.snd_nxt

    @property
    def ts_ok(self) -> bool:
        return bool(self.flags & 1)

    def next_deadline(self) -> int | None:
        return self.deadline if self.state is _TIME_WAIT else None

    def ect(self, seg: TcpSegment, cause: str | None) -> int:
        """Our ACKs are never ECN-capable (RFC 3168 §6.1.4)."""
        return 0

    def icmp_received(self, reason: str, hard: bool, now: int, mtu: int | None = None, detail: str = "") -> str:
        """An ICMP error changes nothing in TIME-WAIT."""
        return "ignored"

    def new_iss(self) -> Seq:
        """The ISS for a connection that ends this TIME-WAIT (RFC 1122 §4.2.2.13 (a): above
        the largest sequence number the old incarnation used)."""
        return seq_add(self.snd_nxt, TW_ISN_STEP)

    # ------------------------------------------------------------------ RFC 6191
    def accepts_syn(self, seg: TcpSegment, now: int) -> bool:
        """May this SYN (no ACK, no RST) start a new connection (RFC 6191 §2; RFC 9293
        §3.6.1 MAY-2 and SHLD-4)? Yes when its TSval is newer than TS.Recent, or its
        sequence number lies beyond RCV.NXT, and PAWS does not reject it."""
        if seg.flags & (ACK | RST) or not seg.flags & SYN or self.state is not _TIME_WAIT:
            return False
        newer_ts = False
        if self.flags & 1:
            ts = _ts.find_timestamps(seg.options)
            if ts is not None:
                if _ts.paws_rejects(ts.tsval, self.ts_recent, self.ts_recent_age, now):
                    return False  # an old duplicate SYN (RFC 7323 §5.3)
                newer_ts = _ts.ts_lt(self.ts_recent, ts.tsval)
        return newer_ts or seg.seq.gt(self.rcv_nxt)

    def reopened(self, now: int) -> None:
        """A new SYN ended this TIME-WAIT (:meth:`accepts_syn`): CLOSED, and the host hands
        the SYN to its listener."""
        self._end(now, "new SYN (RFC 6191)", "RFC 9293 §3.6.1 MAY-2")

    # ------------------------------------------------------------------ events
    def on_timeout(self, now: int) -> None:
        """2*MSL have passed since the last FIN: delete the TCB (RFC 9293 §3.10.8)."""
        d = self.deadline
        if self.state is not _TIME_WAIT or d is None or d > now:
            return
        tr = self.tr
        if tr.on:
            tr.emit(TimerFired(now, tr.host, self.cid, "time-wait", 0))
        self._end(now, "2*MSL elapsed", "RFC 9293 §3.10.8")

    def segment_arrives(self, seg: TcpSegment, now: int, ce: bool = False) -> None:
        """SEGMENT ARRIVES in TIME-WAIT (RFC 9293 §3.10.7.4), for what the host did not
        take as a new connection."""
        self._arrives(seg, now)
        owner = self.owner
        if owner is not None:
            owner.updated(self, now)

    def _arrives(self, seg: TcpSegment, now: int) -> None:
        f = seg.flags
        rcv_nxt = self.rcv_nxt
        if self.flags & 1 and not f & RST:
            # RFC 7323 §3.2 and §5.3 R1 (PAWS), before the sequence number check.
            ts = _ts.find_timestamps(seg.options)
            if ts is None:
                self._drop(seg, now, "no-timestamp", "TSopt missing (RFC 7323 §3.2)")
                return
            if _ts.paws_rejects(ts.tsval, self.ts_recent, self.ts_recent_age, now):
                news = self._old_duplicate(seg)
                self._oow_ack(seg, now, "paws", f"TSval {ts.tsval} older than TS.Recent {self.ts_recent} "
                                                "(RFC 7323 §5.3)", news)
                return
        wnd = self.rcv_wnd
        if f & RST:
            if seg.seq == rcv_nxt and self.config.rfc1337:
                # RFC 1337 §3 (TIME-WAIT assassination): ignore RSTs in TIME-WAIT.
                self._drop(seg, now, "rfc1337", "RST in TIME-WAIT ignored (RFC 1337)")
            elif seg.seq == rcv_nxt:
                self._end(now, "RST received", "RFC 9293 §3.10.7.4")  # (Linux: tcp_rfc1337=0)
            elif wnd and seg.seq.in_window(rcv_nxt, wnd):
                self._challenge(seg, now, "rst-not-exact", "challenge ACK (RFC 5961 §3.2)")
            else:
                self._drop(seg, now, "out-of-window", "RST outside the receive window")
            return
        if not self._acceptable(seg, wnd):
            if f & FIN and seg.seq + seg.len == rcv_nxt:
                # The peer did not get our ACK of its FIN: acknowledge it again and
                # restart the 2*MSL timeout (RFC 9293 §3.10.7.4, eighth, TIME-WAIT).
                self._drop(seg, now, "retransmitted-fin", "FIN again in TIME-WAIT: re-ACK, restart 2*MSL")
                self._send_ack(now)
                self.deadline = d = now + 2 * self.config.msl
                tr = self.tr
                if tr.on:
                    tr.emit(TimerArmed(now, tr.host, self.cid, "time-wait", d, 0))
                return
            if wnd == 0 and seg.seq == rcv_nxt and f & ACK:
                self._drop(seg, now, "zero-window", "data beyond a zero receive window")
                self._ack_field(seg, now)
                return
            news = self._old_duplicate(seg)  # RFC 2883: report data received twice as a D-SACK
            if len(seg.payload) <= 1 and seq_add(seg.seq, 1) == rcv_nxt:
                news = True  # a probe: keep-alives and zero-window probes ask for an ACK
            self._oow_ack(seg, now, "out-of-window", "unacceptable segment", news)
            return
        if f & SYN:
            # RFC 5961 §4: a SYN that may not start a new connection (the host asked
            # accepts_syn first) draws a challenge ACK.
            self._challenge(seg, now, "syn-in-synchronized", "challenge ACK (RFC 5961 §4)")
            return
        if not f & ACK:
            self._drop(seg, now, "no-ack", "segment without ACK")
            return
        self._ack_field(seg, now)  # (and in TIME-WAIT, nothing more: RFC 9293 §3.10.7.4)

    # ------------------------------------------------------------------ the checks
    def _acceptable(self, seg: TcpSegment, wnd: int) -> bool:
        """The segment acceptability test of RFC 9293 §3.10.7.4 (first check)."""
        f = seg.flags
        slen = len(seg.payload) + (1 if f & SYN else 0) + (1 if f & FIN else 0)
        rn = self.rcv_nxt
        if slen == 0:
            return seg.seq == rn if wnd == 0 else seg.seq.in_window(rn, wnd)
        if wnd == 0:
            return False
        return seg.seq.in_window(rn, wnd) or seq_add(seg.seq, slen - 1).in_window(rn, wnd)

    def _ack_field(self, seg: TcpSegment, now: int) -> None:
        """Fifth check: an ACK of something never sent is answered; everything else is
        already acknowledged. (RFC 5961 §5: below SND.UNA - MAX.SND.WND would draw a
        challenge ACK; in TIME-WAIT SND.UNA = SND.NXT and MAX.SND.WND is not kept, so
        any ACK not above SND.NXT is taken as old.)"""
        if seg.ack.gt(self.snd_nxt):
            self._oow_ack(seg, now, "ack-of-unsent", "ACK beyond SND.NXT")

    def _old_duplicate(self, seg: TcpSegment) -> bool:
        """Old data received again: the next ACK reports it in a D-SACK block (RFC 2883 §4).
        True when the block is news (see Receiver.old_duplicate)."""
        if not self.flags & 2 or not seg.payload:
            return False
        rn = seq_add(self.rcv_nxt, -1)  # (the FIN took one: data ends before it)
        back = seq_dist(rn, seg.seq)
        if back <= 0:
            return False
        n = len(seg.payload)
        right = seq_add(seg.seq, n if n < back else back)
        # (never before the first octet of data: at most rcv_abs octets back)
        left = seg.seq if back <= self.rcv_abs else seq_add(rn, -self.rcv_abs)
        if not left.lt(right):
            return False
        block = (int(left), int(right))
        self._dsack = block
        if self.oow_dsack == block:
            return False
        self.oow_dsack = block
        return True

    def _allowed(self, now: int, news: bool) -> bool:
        """At most one answer to unacceptable segments per ``invalid_ratelimit``."""
        ok, self.oow_at = oow_answer(self.oow_at, now, self.config.invalid_ratelimit, news)
        return ok

    def _oow_ack(self, seg: TcpSegment, now: int, reason: str, detail: str, news: bool = False) -> None:
        if self._allowed(now, news):
            self._drop(seg, now, reason, detail + ": ACK sent")
            self._send_ack(now)
        else:
            gap = (self.config.invalid_ratelimit or 0) // 10**6
            self._drop(seg, now, reason, f"{detail}: no ACK (one per {gap} ms)")

    def _challenge(self, seg: TcpSegment, now: int, reason: str, detail: str) -> None:
        why = challenge_refused(self._allowed(now, False), self.challenge, now, self.config.invalid_ratelimit, reason)
        if why is None:
            self._drop(seg, now, reason, detail)
            self._send_ack(now)
        else:
            self._drop(seg, now, "challenge-ack-limit", why)

    # ------------------------------------------------------------------ output and the end
    def _send_ack(self, now: int) -> None:
        """<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, with the options the connection would send."""
        fl = self.flags
        opts: tuple = ()
        if fl & 1:
            opts = (_NOP, _NOP, _tuple_new(Timestamps, ((now // _ts.TS_TICK + self.ts_off) & MASK, self.ts_recent)))
        d = self._dsack
        if d is not None:
            self._dsack = None
            opts += (_NOP, _NOP, Sack(((Seq(d[0]), Seq(d[1])),)))
        cid = self.cid
        seg = _tuple_new(TcpSegment, (cid[1], cid[3], self.snd_nxt, self.rcv_nxt,
                                      ACK | (ECE if fl & 4 else 0), self.wnd, b"", opts, 0))
        if self.out is _NOTHING:
            self.out = [(seg, None)]
        else:
            self.out.append((seg, None))

    def _drop(self, seg: TcpSegment, now: int, reason: str, detail: str) -> None:
        tr = self.tr
        if tr.on:
            cid = self.cid
            tr.emit(SegmentDropped(now, tr.host, cid, cid[2], cid[0], seg, reason, detail))

    def _end(self, now: int, cause: str, rule: str) -> None:
        """Delete the TCB: CLOSED (traced), and the connection object, if anyone holds it,
        reads CLOSED too."""
        if self.state is _CLOSED:
            return
        self.state = _CLOSED
        tr = self.tr
        if tr.on:
            tr.emit(StateChanged(now, tr.host, self.cid, "TIME-WAIT", "CLOSED", cause, rule))
        ref = self._conn  # (read, then called: a weak reference in a slot, not a method)
        conn = ref()
        if conn is not None:
            conn.time_wait_ended(now, cause, rule)

    def abort(self, now: int) -> None:
        """ABORT in TIME-WAIT: delete the TCB, nothing sent (RFC 9293 §3.10.5)."""
        self._end(now, "ABORT", "RFC 9293 §3.10.5")

    def connection_closed(self) -> None:
        """The application deleted the TCB itself (ABORT in TIME-WAIT, RFC 9293 §3.10.5),
        which the connection traced: the record ends silently."""
        self.state = _CLOSED
