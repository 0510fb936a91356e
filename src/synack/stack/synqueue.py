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
import struct
from typing import TYPE_CHECKING, Any, Protocol

from ..tcp import timestamps as _ts
from ..tcp.isn import GivenIss, ts_offset_of
from ..tcp.state import State
from ..trace.events import SegmentSent, StateChanged
from ..wire.seq import MASK, Seq, seq_add
from ..wire.tcp import ACK, RST, SYN, FastOpen, Nop, TcpSegment, Timestamps
from ..wire.checksum import _word_sum, address_info, internet_checksum
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
_PORT_SEQ_ACK = struct.Struct("!HII")
_TS = struct.Struct("!II")
_CSUM = struct.Struct("!H")
_PROTO_TCP = 6


def template_options(seg: TcpSegment) -> tuple | None:
    """``seg.options`` if no option in them changes with time (no timestamps), else None."""
    opts = seg.options
    return None if any(type(o) is Timestamps for o in opts) else opts


class SynAckBytes:
    """The bytes of one SYN,ACK packet, as a template for others that differ only in the
    destination address, destination port, SEQ, ACK and timestamps (a flood's SYN,ACKs): a
    copy with those fields written and both checksums computed again, the same bytes
    ``emit_packet`` would make, without encoding the segment and its options each time."""

    __slots__ = ("raw", "ip_len", "dst_at", "alen", "ts_at", "src_sum")

    def __init__(self, pkt: Packet) -> None:
        raw = pkt.raw
        v6 = raw[0] >> 4 == 6
        #: (emit_packet writes no IPv4 options and no IPv6 extension headers)
        self.ip_len = 40 if v6 else 20
        self.dst_at = 24 if v6 else 16
        self.alen = 16 if v6 else 4
        self.src_sum = _word_sum(raw[self.dst_at - self.alen:self.dst_at])
        self.raw = raw
        # where TSval sits in the TCP options, if anywhere
        tcp = self.ip_len
        i, end = tcp + 20, tcp + (raw[tcp + 12] >> 4) * 4
        self.ts_at: int | None = None
        while i < end:
            kind = raw[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            if kind == 8:
                self.ts_at = i + 2
            i += max(2, raw[i + 1])

    def make(self, dst: bytes, dport: int, seq: int, ack: int, ts: tuple[int, int] | None) -> bytes:
        """A copy for ``dst`` (packed), ``dport``, ``seq`` and ``ack``, with ``ts`` (TSval,
        TSecr) in the timestamps option."""
        b = bytearray(self.raw)
        ip = self.ip_len
        b[self.dst_at:self.dst_at + self.alen] = dst
        _PORT_SEQ_ACK.pack_into(b, ip + 2, dport, seq, ack)
        if ts is not None and self.ts_at is not None:
            _TS.pack_into(b, self.ts_at, *ts)
        b[ip + 16] = b[ip + 17] = 0
        n = len(b) - ip
        _CSUM.pack_into(b, ip + 16, internet_checksum(
            bytes(b[ip:]), self.src_sum + _word_sum(dst) + _PROTO_TCP + (n >> 16) + (n & 0xFFFF)))
        if ip == 20:
            b[10] = b[11] = 0
            _CSUM.pack_into(b, 10, internet_checksum(bytes(b[:20])))
        return bytes(b)


class Listener(Parent, Protocol):
    """What a SYN queue needs of its listener (stack/listener.py, which imports this module)."""

    host: HostServices
    table: ConnectionTable
    config: TcpConfig
    fastopen: int
    stats: Any

    def _trace_queue(self, now: int, cause: str, conn: Any = None) -> None: ...


class Offer:
    """The SYN,ACK a connection answered one kind of SYN with (same local address, flags and
    options): the segment and its bytes, the template for every other SYN of that kind."""

    __slots__ = ("seg", "raw", "ts")

    def __init__(self, seg: TcpSegment, pkt: Packet) -> None:
        self.seg = seg
        self.raw = SynAckBytes(pkt)
        #: the SYN,ACK carries timestamps (its bytes change with time)
        self.ts = template_options(seg) is None


class SynRequest:
    """One half-open connection kept as a record (see the module docstring)."""

    __slots__ = ("key", "syn", "t0", "iss", "offer", "tries", "rto", "due", "again")

    def __init__(self, key: tuple, syn: TcpSegment, t0: int, iss: Seq, offer: Offer, rto: int) -> None:
        #: (local addr, local port, remote addr, remote port)
        self.key = key
        #: the SYN, as it arrived at ``t0``
        self.syn = syn
        self.t0 = t0
        self.iss = iss
        #: the SYN,ACK template for its kind of SYN
        self.offer = offer
        #: SYN,ACK retransmissions so far, the current RTO and when it expires
        self.tries = 0
        self.rto = rto
        self.due = t0 + rto
        #: the SYN,ACK's bytes, when they never change (no timestamps)
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
        self._templates: dict[tuple, Offer] = {}
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
        iss = Seq(host.isn(key[0], key[1], key[2], key[3], now))
        sig = (key[0], seg.flags, tuple(Timestamps if type(o) is Timestamps else o for o in seg.options))
        offer = self._templates.get(sig)
        first = None
        if offer is None:
            conn = self._replay(key, seg, now, iss)
            if conn is None:
                return False
            first = next((s for s, _ in conn.out if s.flags & SYN), None)
            if first is None:
                return False
            cfg = lst.config
            offer = Offer(first, Packet(key[0], key[2], first, cfg.tos & 0xFC, cfg.ttl or host.ttl))
            if len(self._templates) >= 64:
                self._templates.clear()
            self._templates[sig] = offer
        req = SynRequest(key, seg, now, iss, offer, lst.config.initial_rto)
        self.records[key] = req
        self._n += 1
        heapq.heappush(self._heap, (req.due, self._n, key))
        host.syn_queues.add(lst)
        tr = host.tracer
        if tr.on:
            tr.emit(StateChanged(now, tr.host, key, "LISTEN", "SYN-RECEIVED", "SYN received", "RFC 9293 §3.10.7.2"))
        lst._trace_queue(now, "syn", key)
        raw = offer.raw.raw if first is not None else self._bytes(req, now)
        if not offer.ts:
            req.again = raw  # every retransmission is these bytes again
        self._send(req, raw, None, now)
        return True

    def _tsval(self, req: SynRequest, now: int) -> tuple[int, int]:
        """(TSval, TSecr) of a SYN,ACK of ``req`` sent at ``now``."""
        off = ts_offset_of(self.lst.host.isn, req.iss, req.key)
        peer = req.syn.option(Timestamps)
        return (now // _TS_TICK + off) & MASK, peer.tsval if peer is not None else 0

    def _bytes(self, req: SynRequest, now: int) -> bytes:
        """The SYN,ACK of ``req``, sent at ``now``, as bytes."""
        key = req.key
        offer = req.offer
        return offer.raw.make(address_info(key[2])[0], key[3], int(req.iss), (int(req.syn.seq) + 1) & MASK,
                              self._tsval(req, now) if offer.ts else None)

    def _segment(self, req: SynRequest, now: int) -> TcpSegment:
        """The SYN,ACK of ``req``, sent at ``now``, as a segment (for the trace)."""
        key = req.key
        tmpl = req.offer.seg
        options = tmpl.options
        if req.offer.ts:
            ts = _tuple_new(Timestamps, self._tsval(req, now))
            options = tuple(ts if type(o) is Timestamps else o for o in options)
        return tmpl._replace(src_port=key[1], dst_port=key[3], seq=req.iss, ack=seq_add(req.syn.seq, 1),
                             options=options)

    def _send(self, req: SynRequest, raw: bytes, cause: str | None, now: int, seg: TcpSegment | None = None) -> None:
        host = self.lst.host
        host.send_packet(raw)
        tr = host.tracer
        if tr.on:
            key = req.key
            tr.emit(SegmentSent(now, tr.host, key, key[0], key[2], seg or self._segment(req, now), cause is not None,
                                cause))

    # ------------------------------------------------------------------ the connection it stands for
    def _replay(self, key: tuple, syn: TcpSegment, t0: int, iss: Seq) -> Connection | None:
        """The passive connection that ``syn`` made at ``t0``, untraced and not the host's,
        with what it queued still in ``out``; None if it did not enter SYN-RECEIVED."""
        lst = self.lst
        host = lst.host
        conn = host.new_connection(key, lst.config, owned=False, traced=False, isn=GivenIss(iss, host.isn))
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
        self._send(req, req.again if req.again is not None else self._bytes(req, now), "rto", now)

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
            options: tuple = ()
            if req.offer.ts:
                options = (_NOP, _NOP, _tuple_new(Timestamps, self._tsval(req, now)))
            ack = seq_add(req.syn.seq, 1)
            rst = TcpSegment(key[1], key[3], seq_add(req.iss, 1), ack if rst_ack else Seq(0),
                             RST | ACK if rst_ack else RST, 0, b"", options)
            if tr.on:
                tr.emit(StateChanged(now, tr.host, key, "SYN-RECEIVED", "CLOSED", "ABORT", "RFC 9293 §3.10.5"))
            cfg = lst.config
            pkt = Packet(key[0], key[2], rst, cfg.tos & 0xFC, cfg.ttl or lst.host.ttl)
            self._send(req, pkt.raw, None, now, rst)
        self.records.clear()
        self._settle()
