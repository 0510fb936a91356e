"""Half-open connections as small records: the SYN queue of a listener under a flood.

A passive connection in SYN-RECEIVED costs a whole :class:`~synack.tcp.connection.Connection`
(send and receive state, congestion control, timers), about 5 KB and a few hundred
microseconds to make. A flood of spoofed SYNs fills the SYN queue with thousands of them,
none of which will ever be ACKed. Linux keeps each half-open connection as a *request
sock*, a small record that becomes a full socket only when the handshake's ACK arrives;
:class:`SynRequest` is synack's.

A listener keeps its first ``Listener.full_half_open`` half-open connections (256 by
default) as full connections, so that an ordinary handshake, a burst of a few hundred
clients, their ladders and their TCP_INFO are what they always were. Beyond that the SYN
queue holds records. A record answers for its connection exactly as the connection would
have:

* its SYN,ACK is the one the connection would send (the first one is made by a throwaway
  connection, the others from it as a template: ISS from the host's RFC 6528 generator,
  ports, ACK, timestamps);
* it retransmits the SYN,ACK on the same schedule (RFC 6298 back-off from the initial RTO,
  ``synack_retries`` times, Linux's tcp_synack_retries) and is then forgotten, counted and
  traced as a half-open connection that gave up;
* any segment for its 4-tuple (the handshake's ACK, a retransmitted SYN, an RST) first
  turns it into the connection it stands for, replayed from its SYN at the time the SYN
  arrived (and through its retransmissions), and that connection processes the segment
  as RFC 9293 §3.10.7.4 says.

The trace shows a record's connection in SYN-RECEIVED under its 4-tuple, as it would show
the connection's. Records keep their deadlines in the listener's own heap; the host asks
the listeners that hold records for their next deadline. A wake-up handles at most
``BATCH`` due records, so that thousands falling due together do not hold up other work
on a real link (the rest are due at once, after what else is waiting).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Protocol

from ..tcp import timestamps as _ts
from ..tcp.state import State
from ..trace.events import SegmentSent, StateChanged
from ..wire.seq import MASK, Seq, seq_add
from ..wire.tcp import ACK, RST, SYN, FastOpen, Nop, TcpSegment, Timestamps
from .demux import Parent
from .packet import Packet

if TYPE_CHECKING:  # pragma: no cover
    from ..tcp.config import TcpConfig
    from ..tcp.connection import Connection
    from .demux import ConnectionTable, HostServices

__all__ = ["SynRequest", "SynQueue", "FULL_HALF_OPEN", "BATCH"]

#: half-open connections a listener keeps as full connections before it keeps records
FULL_HALF_OPEN = 256
#: due records handled per wake-up, at most
BATCH = 512

_tuple_new = tuple.__new__
_SYN_RECEIVED = State.SYN_RECEIVED
_TS_TICK = _ts.TS_TICK
_NOP = Nop()


def template_options(seg: TcpSegment) -> tuple | None:
    """``seg.options`` if no option in them changes with time (no timestamps), else None."""
    opts = seg.options
    return None if any(type(o) is Timestamps for o in opts) else opts


class Listener(Parent, Protocol):
    """What a SYN queue needs of its listener (stack/listener.py, which imports this module)."""

    host: HostServices
    table: ConnectionTable
    config: TcpConfig
    fastopen: int
    stats: Any

    def _trace_queue(self, now: int, cause: str, conn: Any = None) -> None: ...


class RecordedIss:
    """An ISN source that gives ``iss`` (a record's), with the TSval offsets of ``base``
    (the host's generator), so that the connection a record becomes is the one it was."""

    __slots__ = ("iss", "base")

    def __init__(self, iss: Seq, base: Any) -> None:
        self.iss = iss
        self.base = base

    def __call__(self, local_addr: str, local_port: int, remote_addr: str, remote_port: int, now: int) -> Seq:
        return self.iss

    def ts_offset(self, local_addr: str, local_port: int, remote_addr: str, remote_port: int) -> int:
        per_tuple = getattr(self.base, "ts_offset", None)
        if per_tuple is None:
            return _ts.ts_offset(int(self.iss))
        return int(per_tuple(local_addr, local_port, remote_addr, remote_port))


class SynRequest:
    """One half-open connection kept as a record (see the module docstring)."""

    __slots__ = ("key", "syn", "t0", "iss", "synack", "tries", "rto", "due", "again")

    def __init__(self, key: tuple, syn: TcpSegment, t0: int, iss: Seq, synack: TcpSegment, rto: int) -> None:
        #: (local addr, local port, remote addr, remote port)
        self.key = key
        #: the SYN, as it arrived at ``t0``
        self.syn = syn
        self.t0 = t0
        self.iss = iss
        #: the SYN,ACK first sent
        self.synack = synack
        #: SYN,ACK retransmissions so far, the current RTO and when it expires
        self.tries = 0
        self.rto = rto
        self.due = t0 + rto
        #: the retransmitted SYN,ACK's bytes, when they never change (no timestamps)
        self.again: bytes | None = None

    def __repr__(self) -> str:
        return f"<SynRequest {self.key} iss={int(self.iss)} tries={self.tries}>"


def usable(cfg: TcpConfig) -> bool:
    """Can a record stand for a passive connection with ``cfg``? Only where the connection
    would give up after ``synack_retries`` and nothing else ends it sooner."""
    limit = cfg.synack_retries
    if limit is None or cfg.user_timeout is not None:
        return False
    rto, total = cfg.initial_rto, 0
    for _ in range(limit + 1):
        total += rto
        rto = min(2 * rto, cfg.max_rto)
    return cfg.r2_syn is None or total < cfg.r2_syn


class SynQueue:
    """The records of one listener, by 4-tuple, and their deadlines."""

    __slots__ = ("lst", "records", "_heap", "_n", "_templates", "_usable")

    def __init__(self, lst: Listener) -> None:
        self.lst = lst
        self.records: dict[tuple, SynRequest] = {}
        self._heap: list = []
        self._n = 0
        #: (local address, SYN flags, SYN options) -> the SYN,ACK a connection answered with
        self._templates: dict[tuple, TcpSegment] = {}
        self._usable: tuple[Any, bool] | None = None

    def __len__(self) -> int:
        return len(self.records)

    def takes(self, seg: TcpSegment) -> bool:
        """Can this SYN be kept as a record?"""
        cfg = self.lst.config
        u = self._usable
        if u is None or u[0] is not cfg:
            u = self._usable = (cfg, usable(cfg))
        return u[1] and not seg.payload and not (self.lst.fastopen and seg.option(FastOpen) is not None)

    # ------------------------------------------------------------------ a SYN
    def add(self, key: tuple, seg: TcpSegment, now: int) -> bool:
        """A SYN for a new half-open connection: send its SYN,ACK and keep a record (True);
        False if the connection would not answer it with a SYN,ACK (the caller decides)."""
        lst = self.lst
        host = lst.host
        isn = host.isn
        iss = Seq(isn(key[0], key[1], key[2], key[3], now))
        sig = (key[0], seg.flags, tuple(Timestamps if type(o) is Timestamps else o for o in seg.options))
        template = self._templates.get(sig)
        if template is None:
            conn = self._replay(key, seg, now, iss)
            if conn is None:
                return False
            synack = next((s for s, _ in conn.out if s.flags & SYN), None)
            if synack is None:
                return False
            if len(self._templates) >= 64:
                self._templates.clear()
            self._templates[sig] = synack
        else:
            synack = template._replace(src_port=key[1], dst_port=key[3], seq=iss, ack=seq_add(seg.seq, 1),
                                       options=self._stamped(template.options, key, iss, seg, now))
        cfg = lst.config
        req = SynRequest(key, seg, now, iss, synack, cfg.initial_rto)
        self.records[key] = req
        self._n += 1
        heapq.heappush(self._heap, (req.due, self._n, key))
        host.syn_queues.add(lst)
        tr = host.tracer
        if tr.on:
            tr.emit(StateChanged(now, tr.host, key, "LISTEN", "SYN-RECEIVED", "SYN received", "RFC 9293 §3.10.7.2"))
        lst._trace_queue(now, "syn", key)
        if synack.options is template_options(synack):
            # No timestamps: every retransmission is this SYN,ACK's bytes again.
            req.again = Packet(key[0], key[2], synack, cfg.tos & 0xFC, cfg.ttl or host.ttl).raw
            self._send(req, req.again, None, now)
        else:
            self._send(req, synack, None, now)
        return True

    def _stamped(self, options: tuple, key: tuple, iss: Seq, seg: TcpSegment | None, now: int) -> tuple:
        """``options`` with our TSval for ``now`` (and the SYN's TSval echoed)."""
        if not any(type(o) is Timestamps for o in options):
            return options
        per_tuple = getattr(self.lst.host.isn, "ts_offset", None)
        off = per_tuple(*key) if per_tuple is not None else _ts.ts_offset(int(iss))
        tsval = (now // _TS_TICK + off) & MASK
        out = []
        for o in options:
            if type(o) is Timestamps:
                ecr = o.tsecr
                if seg is not None:
                    peer = seg.option(Timestamps)
                    ecr = peer.tsval if peer is not None else 0
                o = _tuple_new(Timestamps, (tsval, ecr))
            out.append(o)
        return tuple(out)

    def _send(self, req: SynRequest, seg: TcpSegment | bytes, cause: str | None, now: int) -> None:
        lst = self.lst
        host = lst.host
        cfg = lst.config
        key = req.key
        tr = host.tracer
        if type(seg) is bytes:
            host.send_packet(seg)
            shown = req.synack
        else:
            assert isinstance(seg, TcpSegment)
            host.send_packet(Packet(key[0], key[2], seg, cfg.tos & 0xFC, cfg.ttl or host.ttl))
            shown = seg
        if tr.on:
            tr.emit(SegmentSent(now, tr.host, key, key[0], key[2], shown, cause is not None, cause))

    # ------------------------------------------------------------------ the connection it stands for
    def _replay(self, key: tuple, syn: TcpSegment, t0: int, iss: Seq) -> Connection | None:
        """The passive connection that ``syn`` made at ``t0``, untraced and not the host's,
        with what it queued still in ``out``; None if it did not enter SYN-RECEIVED."""
        lst = self.lst
        host = lst.host
        conn = host.new_connection(key, lst.config, owned=False, traced=False, isn=RecordedIss(iss, host.isn))
        conn.open(t0, active=False, trace=False)
        conn.segment_arrives(syn, t0)
        if conn.state is not _SYN_RECEIVED:
            return None
        return conn

    def connection(self, key: tuple, now: int) -> Connection | None:
        """Turn the record of ``key`` into the connection it stands for (SYN-RECEIVED, with
        its retransmissions behind it), the host's own, in the listener's SYN queue; None
        if there is no record (or, which cannot happen, the replay fails)."""
        req = self.records.pop(key, None)
        if req is None:
            return None
        conn = self._replay(key, req.syn, req.t0, req.iss)
        if conn is None:
            return None
        conn.out.clear()
        for _ in range(req.tries):
            d = conn.timers.next
            if d is None:
                break
            conn.on_timeout(d)
            conn.out.clear()
        lst = self.lst
        host = lst.host
        conn.tr = host.tracer
        conn.isn = host.isn
        lst.table.adopt(conn, lst)
        lst.pending.add(conn)
        self._settle()
        return conn

    # ------------------------------------------------------------------ timers
    @property
    def deadline(self) -> int | None:
        heap = self._heap
        records = self.records
        while heap:
            d, _, key = heap[0]
            req = records.get(key)
            if req is not None and req.due == d:
                return d
            heapq.heappop(heap)  # stale: the record became a connection or was forgotten
        return None

    def on_timeout(self, now: int) -> None:
        """Retransmit the SYN,ACK of each record that is due (at most ``BATCH`` of them),
        or forget it once ``synack_retries`` retransmissions went unanswered."""
        heap = self._heap
        records = self.records
        lst = self.lst
        cfg = lst.config
        limit = cfg.synack_retries or 0
        max_rto = cfg.max_rto
        budget = BATCH
        while heap and heap[0][0] <= now and budget:
            d, _, key = heapq.heappop(heap)
            req = records.get(key)
            if req is None or req.due != d:
                continue
            budget -= 1
            if req.tries >= limit:
                del records[key]
                lst.stats.half_open_dropped += 1
                tr = lst.host.tracer
                if tr.on:
                    tr.emit(StateChanged(now, tr.host, key, "SYN-RECEIVED", "LISTEN",
                                         "SYN,ACK retransmissions exhausted", "RFC 9293 §3.10.7.4"))
                lst._trace_queue(now, "removed", key)
                continue
            req.tries += 1
            req.rto = rto = min(2 * req.rto, max_rto)
            req.due = now + rto
            self._n += 1
            heapq.heappush(heap, (req.due, self._n, key))
            self._retransmit(req, now)
        self._settle()

    def _retransmit(self, req: SynRequest, now: int) -> None:
        """The SYN,ACK again, as the connection sends it: with a fresh TSval."""
        again = req.again
        if again is not None:
            self._send(req, again, "rto", now)
            return
        first = req.synack
        seg = first._replace(options=self._stamped(first.options, req.key, req.iss, None, now))
        if seg.options is first.options:  # no timestamps: the same bytes every time
            cfg = self.lst.config
            req.again = Packet(req.key[0], req.key[2], seg, cfg.tos & 0xFC, cfg.ttl or self.lst.host.ttl).raw
            self._send(req, req.again, "rto", now)
            return
        self._send(req, seg, "rto", now)

    def _settle(self) -> None:
        """Leave the host's list of listeners with records once there are none."""
        if not self.records:
            self._heap.clear()
            self.lst.host.syn_queues.discard(self.lst)

    def abort_all(self, now: int) -> None:
        """The listener closes: each record's connection is aborted as the connection would
        be (RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>, or RST,ACK with ``rst_ack``), and
        the records are forgotten."""
        lst = self.lst
        tr = lst.host.tracer
        rst_ack = lst.config.rst_ack
        for key, req in self.records.items():
            first = req.synack
            options: tuple = ()
            if template_options(first) is None:
                options = (_NOP, _NOP) + tuple(o for o in self._stamped(first.options, key, req.iss, None, now)
                                               if type(o) is Timestamps)
            rst = TcpSegment(key[1], key[3], seq_add(req.iss, 1), first.ack if rst_ack else Seq(0),
                             RST | ACK if rst_ack else RST, 0, b"", options)
            if tr.on:
                tr.emit(StateChanged(now, tr.host, key, "SYN-RECEIVED", "CLOSED", "ABORT", "RFC 9293 §3.10.5"))
            self._send(req, rst, None, now)
        self.records.clear()
        self._settle()
