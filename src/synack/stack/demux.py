"""One host's connection table: demultiplexing, bound ports, listeners and their children,
and the deadline heap.

A :class:`ConnectionTable` knows which connection a segment is for (by its 4-tuple, RFC 9293
§3.10.7: "the socket pair"), which listener answers a port, which local (address, port)
pairs are in use (for ephemeral ports and ``EADDRINUSE``), which half-open or not yet
accepted connections belong to which listener, and when each connection's next timer is
due. After every event of a connection (:meth:`ConnectionTable.updated`) it drops a deleted
TCB, hands a connection that finished its handshake to its listener's accept queue, and
reschedules the connection's deadline. The earliest deadline of all (``next``) is kept as
deadlines change, so reading it costs nothing after an event that did not move it.

It is handed to the listeners (:mod:`synack.stack.listener`) and to ICMP handling
(:mod:`synack.stack.icmp`) together with :class:`HostServices`, the few things of the host
they use; neither imports the host, so the host, the listeners and ICMP depend on this
module and not on each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any, Protocol

from ..tcp.connection import Connection
from ..tcp.state import State
from ..tcp.timewait import TimeWait
from ..trace.events import Tracer
from ..wire.tcp import TcpSegment

if TYPE_CHECKING:  # pragma: no cover
    from ..tcp.config import TcpConfig
    from ..tcp.cookies import SynCookies
    from ..tcp.fastopen import FastOpenKey

__all__ = ["ConnectionTable", "HostServices", "Parent"]

_CLOSED, _LISTEN, _SYN_RECEIVED = State.CLOSED, State.LISTEN, State.SYN_RECEIVED
_TIME_WAIT = State.TIME_WAIT
#: the states in which a connection may leave the table (or its place in it) after an event
_LEAVING = frozenset({_CLOSED, _LISTEN, _TIME_WAIT})
_time_wait_of = TimeWait.of  # (TimeWait.of(...) is looked up on the class each time, unspecialised)


class Parent(Protocol):
    """What the table needs of a listener (stack/listener.py) whose children it keeps."""

    #: the listener's connections in SYN-RECEIVED (its SYN queue)
    pending: set

    def _promote(self, conn: Connection, now: int) -> None:
        """``conn`` completed its handshake: on to the accept queue."""
        ...

    def _forget(self, conn: Connection, now: int) -> None:
        """``conn`` was deleted or went back to LISTEN before being accepted."""
        ...

    def _hold_ack(self, conn: Connection, seg: TcpSegment, now: int) -> bool:
        """Drop the ACK that would complete ``conn``'s handshake while the accept queue is full?"""
        ...


class HostServices(Protocol):
    """What a host lends to its listeners and to ICMP handling."""

    name: str
    tracer: Tracer
    #: Linux's net.ipv4.tcp_syncookies and tcp_max_syn_backlog
    syncookies: int
    max_syn_backlog: int
    #: Linux's net.ipv4.tcp_max_tw_buckets: TIME-WAIT entries kept at most (None: no cap)
    max_tw_buckets: int | None
    #: how a closed port is answered (see Host), and the TTL of what the host sends
    reject_with: str
    ttl: int
    #: the ISN source of the host's connections (RFC 6528)
    isn: Any
    #: listeners whose SYN queue holds records with deadlines (stack/synqueue.py)
    syn_queues: set

    @property
    def syncookie_maker(self) -> SynCookies: ...

    @property
    def fastopen_key(self) -> FastOpenKey: ...

    def owns(self, addr: str) -> bool:
        """Is ``addr`` one of the host's addresses?"""
        ...

    def new_connection(self, key: tuple, config: TcpConfig | None, *, owned: bool = True,
                       traced: bool = True, isn: object = None) -> Connection:
        """A connection for the 4-tuple ``key``, owned by the host (told of its events) or
        not; ``traced=False`` and ``isn`` serve a SYN cookie's throwaway or rebuilt TCB."""
        ...

    def updated(self, conn: Connection | TimeWait, now: int) -> None:
        """Take what ``conn`` queued and keep the table current (a connection's owner)."""
        ...

    def send_segment(self, src: str, dst: str, seg: TcpSegment, cause: str | None, now: int) -> None:
        """Send a segment no connection owns (a SYN cookie's SYN,ACK)."""
        ...

    def send_packet(self, packet: Any) -> None:
        """Send a finished IP packet (an ICMP error), or a Packet no connection owns."""
        ...


class ConnectionTable:
    """Connections, listeners and deadlines of one host (see the module docstring)."""

    __slots__ = ("host", "conns", "listeners", "children", "bound", "_heap", "_tw_heap", "_deadline", "_n", "next",
                 "time_wait", "tw_overflows")

    def __init__(self, host: HostServices) -> None:
        #: the host whose table this is
        self.host = host
        #: (local addr, local port, remote addr, remote port) -> the connection (a TimeWait
        #: record once it is in TIME-WAIT)
        self.conns: dict[tuple, Connection | TimeWait] = {}
        #: (local addr or None for every address, port) -> the listener
        self.listeners: dict[tuple, Any] = {}
        #: connection -> the listener it belongs to until accepted (SYN queue, accept queue)
        self.children: dict[Connection, Parent] = {}
        #: (local address, local port) -> how many connections use it
        self.bound: dict[tuple, int] = {}
        # (deadline, n, 4-tuple), possibly stale: the 4-tuple, not the connection, so that a
        # stale entry keeps nothing alive (a deleted TCB, or a connection its TIME-WAIT
        # record replaced, would otherwise stay in memory until its old deadline). TIME-WAIT
        # records have a heap of their own: the many 2*MSL deadlines stay out of the way of
        # the connections' timers, which move at almost every event. The two are one heap
        # in effect: entries are taken in (deadline, n) order across both (due).
        self._heap: list = []
        self._tw_heap: list = []
        #: the deadline of each registered connection (or record) with a timer running
        self._deadline: dict[Connection | TimeWait, int] = {}
        self._n = 0
        #: the earliest of those deadlines (ns), or None: kept exact as they change
        self.next: int | None = None
        #: 4-tuples in TIME-WAIT (each a TimeWait record), and how many connections went
        #: straight to CLOSED because there were ``max_tw_buckets`` already (TCPTimeWaitOverflow)
        self.time_wait = 0
        self.tw_overflows = 0

    def __repr__(self) -> str:
        return (f"<ConnectionTable {len(self.conns)} connections ({self.time_wait} in TIME-WAIT), "
                f"{len(self.listeners)} listeners, {len(self._deadline)} timers>")

    # ------------------------------------------------------------------ demultiplexing
    def listener_for(self, addr: str, port: int) -> Any:
        """The listener (stack/listener.py) for a segment to ``addr``:``port`` (a specific
        address first), or None."""
        return self.listeners.get((addr, port)) or self.listeners.get((None, port))

    # ------------------------------------------------------------------ registration
    def register(self, conn: Connection) -> None:
        """Add ``conn`` under its 4-tuple and count its local (address, port)."""
        cid = conn.cid
        self.conns[cid] = conn
        k = (cid[0], cid[1])
        bound = self.bound
        bound[k] = bound.get(k, 0) + 1
        d = self._deadline.get(conn)
        if d is not None and (self.next is None or d < self.next):
            self.next = d  # (a timer set before it was registered runs from now on)

    def unregister(self, conn: Connection | TimeWait) -> None:
        """Remove ``conn`` (if it is the one registered under its 4-tuple)."""
        cid = conn.cid
        conns = self.conns
        if conns.get(cid) is conn:
            del conns[cid]
            k = (cid[0], cid[1])
            n = self.bound[k] - 1
            if n:
                self.bound[k] = n
            else:
                del self.bound[k]

    def adopt(self, conn: Connection, listener: Parent) -> None:
        """Register ``conn``, a passive connection of ``listener`` not yet accepted; from now
        on it tells the host of its events."""
        self.register(conn)
        self.children[conn] = listener
        conn.owner = self.host

    def release(self, conn: Connection) -> None:
        """``conn`` is no longer its listener's (accepted, or the listener closed)."""
        self.children.pop(conn, None)

    def listener_of(self, conn: Connection) -> Parent | None:
        return self.children.get(conn)

    # ------------------------------------------------------------------ after every event
    def updated(self, conn: Connection | TimeWait, now: int) -> None:
        """Keep the table current after an event of ``conn``: forget a deleted TCB (or a
        passive one that went back to LISTEN), move a child that completed its handshake
        to the accept queue, hand a connection that entered TIME-WAIT to a small record
        (tcp/timewait.py), and reschedule its deadline."""
        if type(conn) is TimeWait:
            self._record_updated(conn)
            return
        c: Connection = conn  # type: ignore[assignment]  # (the other kind of entry)
        st = c.state
        if st in _LEAVING and self._leaving(c, st, now):
            return
        children = self.children
        if children:
            lst = children.get(c)
            if lst is not None and st is not _SYN_RECEIVED and c in lst.pending:
                lst._promote(c, now)
        d = c.timers.next
        dl = self._deadline
        old = dl.get(c)
        if d is None:
            if old is not None:
                del dl[c]
                if old == self.next:
                    self._earliest()  # (the earliest deadline went away)
        elif old != d:
            dl[c] = d
            self._n = n = self._n + 1
            heappush(self._heap, (d, n, c.cid))
            nx = self.next
            if nx is None or d < nx:
                if self.conns.get(c.cid) is c:  # (only a registered connection's timer runs)
                    self.next = d
            elif old == nx:
                self._earliest()  # (the earliest deadline moved later)

    def _leaving(self, conn: Connection, st: State, now: int) -> bool:
        """After an event that left ``conn`` in TIME-WAIT, CLOSED or LISTEN: a record takes
        over a connection in TIME-WAIT, a deleted TCB leaves the table, and so does a child
        that went back to LISTEN. False: none of that (a listener's own TCB in LISTEN)."""
        if st is _TIME_WAIT:
            if self.conns.get(conn.cid) is not conn:
                return True  # taken over by its record: its user may still read it, nothing more
            rec = self._to_time_wait(conn, now)
            if rec is not None:
                self._reschedule(rec, rec.deadline)
                return True
            st = conn.state  # (CLOSED: no room for another TIME-WAIT entry)
        children = self.children
        if st is _CLOSED or (st is _LISTEN and conn in children):
            rec_ = self.conns.get(conn.cid)
            if rec_ is not conn and type(rec_) is TimeWait and rec_.connection is conn:
                # Its TIME-WAIT record took it over, and its user deleted the TCB (ABORT
                # in TIME-WAIT, RFC 9293 §3.10.5): the record goes too.
                rec_.connection_closed()
                self._record_updated(rec_)
            # Deleted TCB, or a passive connection that went back to LISTEN (the
            # listener itself keeps listening).
            self.unregister(conn)
            self._reschedule(conn, None)
            lst = children.pop(conn, None)
            if lst is not None:
                lst._forget(conn, now)
            return True
        return False

    def _record_updated(self, rec: TimeWait) -> None:
        """After an event of a TIME-WAIT record: gone when CLOSED, else rescheduled."""
        if rec.state is _CLOSED:
            if self.conns.get(rec.cid) is rec:
                self.time_wait -= 1
                self.unregister(rec)
            self._reschedule(rec, None)
            return
        self._reschedule(rec, rec.deadline)

    def _reschedule(self, entry: Connection | TimeWait, d: int | None) -> None:
        """Set (``d``) or clear (None) the deadline of ``entry``, keeping ``next`` exact."""
        dl = self._deadline
        old = dl.get(entry)
        if d is None:
            if old is None:
                return
            del dl[entry]
        elif old != d:
            dl[entry] = d
            self._n += 1
            heappush(self._tw_heap if type(entry) is TimeWait else self._heap, (d, self._n, entry.cid))
            nx = self.next
            if nx is None or d < nx:
                if self.conns.get(entry.cid) is entry:
                    self.next = d
                return
        else:
            return
        if old == self.next:
            self._earliest()

    def _earliest(self) -> None:
        """Find ``next`` again in the heaps (their entries may be stale: dropped as they are met)."""
        dl = self._deadline
        conns = self.conns
        best = None
        heap = self._heap
        while heap:
            top = heap[0]
            if dl.get(conns.get(top[2])) == top[0]:  # type: ignore[arg-type]
                best = top[0]
                break
            heappop(heap)  # stale entry
        heap = self._tw_heap
        while heap:
            top = heap[0]
            d = top[0]
            if dl.get(conns.get(top[2])) == d:  # type: ignore[arg-type]
                if best is None or d < best:
                    best = d
                break
            heappop(heap)  # stale entry
        self.next = best

    def _to_time_wait(self, conn: Connection, now: int) -> TimeWait | None:
        """``conn`` entered TIME-WAIT: a :class:`TimeWait` record takes its place in the
        table (and its timer), unless ``max_tw_buckets`` are kept already: then the TCB is
        deleted at once, traced, as Linux does when its TIME-WAIT table overflows (None)."""
        cap = self.host.max_tw_buckets
        if cap is not None and self.time_wait >= cap:
            self.tw_overflows += 1
            conn.time_wait_ended(now, f"TIME-WAIT table full ({self.time_wait} entries, max_tw_buckets)",
                                 "Linux net.ipv4.tcp_max_tw_buckets", trace=True)
            return None
        rec = _time_wait_of(conn, now)
        self.conns[conn.cid] = rec
        self._reschedule(conn, None)
        self.children.pop(conn, None)
        self.time_wait += 1
        return rec

    # ------------------------------------------------------------------ the deadline heap
    def next_deadline(self) -> int | None:
        """The earliest timer of any connection, in ns, or None (``next``)."""
        return self.next

    def due(self, now: int) -> Iterator[Connection | TimeWait]:
        """The connections whose timers are due at ``now``, earliest first; each leaves the
        heap as it is given (the connection's next event reschedules it)."""
        heap = self._heap
        tw = self._tw_heap
        dl = self._deadline
        conns = self.conns
        while True:
            if heap and heap[0][0] <= now:
                h = tw if tw and tw[0] < heap[0] else heap  # (n differs: the 4-tuples are never compared)
            elif tw and tw[0][0] <= now:
                h = tw
            else:
                break
            d, _, cid = heappop(h)
            conn = conns.get(cid)
            if conn is None or dl.get(conn) != d:
                continue
            del dl[conn]
            self._earliest()
            yield conn

    @property
    def timers(self) -> int:
        """How many connections have a timer running."""
        return len(self._deadline)
