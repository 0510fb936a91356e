"""A passive OPEN and its two queues: half-open connections and connections to accept.

A :class:`Listener` answers SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2) for its host,
the way Linux's listening socket does:

* the **SYN queue** holds connections in SYN-RECEIVED, at most ``syn_backlog`` of them
  (Linux compares it with the listen backlog, capped by ``net.ipv4.tcp_max_syn_backlog``);
  each retransmits its SYN,ACK at most ``synack_retries`` times (Linux: 5, about 63 s)
  and is then forgotten;
* the **accept queue** holds established connections until the application accepts
  them, at most ``backlog`` (the listen(2) backlog). A SYN that arrives while it is full is
  dropped, and so is an ACK that would complete a handshake (the client retransmits);
* when the SYN queue overflows, the listener sends **SYN cookies** (RFC 4987 §3.6,
  :mod:`synack.tcp.cookies`) and keeps nothing for the SYN: its SYN,ACK's sequence number
  encodes the connection, and a returning ACK that carries a valid cookie rebuilds it.
  ``syncookies`` follows Linux's sysctl: 0 never, 1 when the SYN queue overflows (the
  default), 2 always;
* with ``fastopen`` > 0 (TCP_FASTOPEN on the listening socket) a SYN with a valid
  Fast Open cookie and data makes a connection that is ready to accept at once, its data
  already readable (RFC 7413 §4.2.2); at most ``fastopen`` of them wait in SYN-RECEIVED;
* beyond ``full_half_open`` half-open connections (256), the SYN queue keeps small records
  in place of connections, as Linux keeps request socks (stack/synqueue.py): a flood that
  fills a SYN queue of thousands costs a record and a SYN,ACK per SYN. A record becomes
  its connection when any segment for it arrives (the handshake's ACK).

Queue sizes and the switch to cookies are traced (``ListenQueue``, ``SynCookieMode``) so
views can draw a flood.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ..tcp import timestamps as _ts
from ..tcp.connection import Connection
from ..tcp.cookies import CookieOptions
from ..tcp.fastopen import ServerFastOpen
from ..tcp.isn import FixedIsn
from ..tcp.state import State
from ..trace.events import FastOpenEvent, ListenQueue, SegmentDropped, SegmentSent, StateChanged, SynCookieMode
from ..wire.checksum import address_info
from ..wire.seq import Seq, seq_add
from ..wire.tcp import ACK, CWR, ECE, FIN, RST, SYN, FastOpen, Mss, SackPermitted, TcpSegment, Timestamps, WindowScale

from .packet import Packet
from .synqueue import FULL_HALF_OPEN, SynAckBytes, SynQueue

if TYPE_CHECKING:  # pragma: no cover
    from .demux import ConnectionTable, HostServices

_ZERO_ISN = FixedIsn(0)
_tuple_new = tuple.__new__
_SYN_RECEIVED = State.SYN_RECEIVED


class ListenerStats:
    """Counters of one listener (Linux's ListenDrops, ListenOverflows, SyncookiesSent...)."""

    __slots__ = ("syns", "syn_dropped", "accept_overflows", "cookies_sent", "cookies_accepted",
                 "cookies_rejected", "cookies_unverified", "half_open_dropped", "fastopen_accepted",
                 "fastopen_cookies")

    def __init__(self) -> None:
        #: SYNs that reached the listener, and those dropped (ListenDrops)
        self.syns = self.syn_dropped = 0
        #: ACKs or SYNs dropped because the accept queue was full (ListenOverflows)
        self.accept_overflows = 0
        #: SYN cookies sent, accepted and rejected (SyncookiesSent, ...Recv, ...Failed)
        self.cookies_sent = self.cookies_accepted = self.cookies_rejected = 0
        #: later segments of cookie connections dropped without RST until their first
        #: octet comes again (the handshake's ACK and first data were lost)
        self.cookies_unverified = 0
        #: half-open connections given up before they were accepted
        self.half_open_dropped = 0
        #: Fast Open: SYNs whose data was accepted, and cookies issued
        self.fastopen_accepted = self.fastopen_cookies = 0

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return "ListenerStats(" + ", ".join(f"{k}={v}" for k, v in self.as_dict().items()) + ")"


class Listener:
    """A passive OPEN on ``(addr, port)`` (``addr`` None means every local address).

    ``accept_queue`` holds established connections until :meth:`accept`; ``pending`` the
    half-open ones (the SYN queue). ``backlog`` bounds the accept queue and ``syn_backlog``
    the SYN queue; see the module docstring.
    """

    __slots__ = ("table", "host", "addr", "port", "backlog", "_syn_backlog", "config", "accept_queue",
                 "pending", "closed", "syncookies", "cookie_mode", "_overflow_at", "fastopen",
                 "_tfo_open", "stats", "_cookie_templates", "requests", "full_half_open")

    def __init__(self, table: ConnectionTable, addr: str | None, port: int, backlog: int,
                 config, syn_backlog: int | None = None, syncookies: int | None = None,
                 fastopen: int = 0) -> None:
        #: the host's connection table (stack/demux.py), through which the listener
        #: registers its connections and reaches the host's services
        self.table = table
        #: the host this listener belongs to (what it lends: HostServices)
        self.host: HostServices = table.host
        self.addr = addr
        self.port = port
        self.backlog = backlog
        #: explicit SYN queue bound, or None: min(backlog, host.max_syn_backlog)
        self._syn_backlog = syn_backlog
        self.config = config
        self.accept_queue: deque[Connection] = deque()
        #: connections in SYN-RECEIVED that belong to this listener (the SYN queue)
        self.pending: set[Connection] = set()
        self.closed = False
        #: None: the host's setting (Linux net.ipv4.tcp_syncookies)
        self.syncookies = syncookies
        #: whether the last SYN that found the SYN queue full got a cookie (for tracing)
        self.cookie_mode = False
        self._overflow_at: int | None = None
        #: RFC 7413 server side: how many Fast Open connections may wait in SYN-RECEIVED
        #: (the TCP_FASTOPEN value on a listening socket; 0 turns Fast Open off)
        self.fastopen = fastopen
        self._tfo_open: set | None = None
        self.stats = ListenerStats()
        #: (local address, SYN flags, offer) -> (a cookie SYN,ACK, the options it agreed to, its bytes)
        self._cookie_templates: dict[tuple, tuple[TcpSegment, CookieOptions, SynAckBytes]] = {}
        #: the rest of the SYN queue: half-open connections kept as records (stack/synqueue.py)
        self.requests = SynQueue(self)
        #: half-open connections kept as full connections before the SYN queue keeps records
        self.full_half_open = FULL_HALF_OPEN

    # ------------------------------------------------------------------ sizes
    @property
    def syn_backlog(self) -> int:
        """The SYN queue's bound."""
        if self._syn_backlog is not None:
            return self._syn_backlog
        return max(1, min(self.backlog, self.host.max_syn_backlog))

    @syn_backlog.setter
    def syn_backlog(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"syn_backlog must be at least 1, not {value}")
        self._syn_backlog = value

    @property
    def queued(self) -> int:
        """Connections waiting: half-open plus established-but-not-accepted."""
        return len(self.pending) + len(self.requests) + len(self.accept_queue)

    @property
    def half_open(self) -> int:
        """Connections in the SYN queue: full connections and records."""
        return len(self.pending) + len(self.requests)

    def _mode(self) -> int:
        m = self.syncookies
        return self.host.syncookies if m is None else m

    def _trace_queue(self, now: int, cause: str, conn: Connection | tuple | None = None) -> None:
        tr = self.host.tracer
        if tr.on:
            cid = conn if conn is None or type(conn) is tuple else conn.cid  # type: ignore[union-attr]
            tr.emit(ListenQueue(now, tr.host, cid, self.addr or "*", self.port, self.half_open, self.syn_backlog,
                                len(self.accept_queue), self.backlog, cause))

    def _drop(self, key: tuple, seg: TcpSegment, now: int, reason: str, detail: str) -> None:
        tr = self.host.tracer
        if tr.on:
            tr.emit(SegmentDropped(now, tr.host, None, key[2], key[0], seg, reason, detail))

    # ------------------------------------------------------------------ user side
    def accept(self, now: int | None = None) -> Connection | None:
        """The next established connection, or None if none is waiting. With ``now`` the
        queue change is traced (``ListenQueue``)."""
        while self.accept_queue:
            conn = self.accept_queue.popleft()
            self.table.release(conn)
            if now is not None:
                self._trace_queue(now, "accepted", conn)
            return conn
        return None

    def close(self, now: int) -> None:
        """Stop listening; connections not yet accepted are reset, as Linux does."""
        if self.closed:
            return
        self.closed = True
        table = self.table
        table.listeners.pop((self.addr, self.port), None)
        self.requests.abort_all(now)  # (reset, as every connection not accepted is below)
        for conn in list(self.pending) + list(self.accept_queue):
            table.release(conn)
            if conn.state is not State.CLOSED:
                conn.abort(now)  # (the connection tells the host)
        self.pending.clear()
        self.accept_queue.clear()
        self._trace_queue(now, "closed")

    def __repr__(self) -> str:
        return (f"<Listener {self.addr or '*'}:{self.port} syn={self.half_open}/{self.syn_backlog} "
                f"accept={len(self.accept_queue)}/{self.backlog}>")

    # ------------------------------------------------------------------ host side
    def segment(self, key: tuple, seg: TcpSegment, now: int, isn: Any = None) -> None:
        """SEGMENT ARRIVES for no TCB but this listener (RFC 9293 §3.10.7.2). ``isn``: the
        ISN source for the connection a SYN makes (one that ended a TIME-WAIT starts above
        the old connection, tcp/timewait.py); None: the host's."""
        f = seg.flags
        if self.requests.records and key in self.requests.records:
            self._for_record(key, seg, now)
            return
        if f & SYN and not f & (ACK | RST):
            self._syn(key, seg, now, isn)
            return
        if f & ACK and not f & (SYN | RST) and self._cookie_ack(key, seg, now):
            return
        # Everything else through a fresh TCB in LISTEN: RST for an ACK, drops otherwise.
        conn = self.host.new_connection(key, self.config)
        conn.open(now, active=False, trace=False)
        conn.segment_arrives(seg, now)  # (the connection tells the host what it sends)

    def _syn(self, key: tuple, seg: TcpSegment, now: int, isn: Any = None) -> None:
        st = self.stats
        st.syns += 1
        if len(self.accept_queue) >= self.backlog:
            # Linux: a full accept queue drops the SYN (ListenOverflows); the client retries.
            st.syn_dropped += 1
            self._drop(key, seg, now, "backlog-full", f"accept queue {len(self.accept_queue)}/{self.backlog}")
            return
        host = self.host
        mode = self._mode()
        half_open = self.half_open
        syn_backlog = self.syn_backlog
        full = half_open >= syn_backlog
        if full or mode == 2:
            if mode:
                self._send_cookie(key, seg, now, "syncookies=2 (always)" if mode == 2 and not full
                                  else f"SYN queue full ({half_open}/{syn_backlog})")
                return
            st.syn_dropped += 1
            self._drop(key, seg, now, "backlog-full", f"SYN queue {half_open}/{syn_backlog}")
            return
        if self.cookie_mode:
            self.cookie_mode = False
            tr = host.tracer
            if tr.on:
                tr.emit(SynCookieMode(now, tr.host, None, self.addr or "*", self.port, False,
                                      f"SYN queue has room again ({half_open}/{syn_backlog})"))
        if (len(self.pending) >= self.full_half_open and isn is None and self.requests.takes(seg)
                and self.requests.add(key, seg, now)):
            return  # a record in the SYN queue (stack/synqueue.py)
        # Not owned by the host until it is kept: the queue's trace comes before its SYN,ACK.
        conn = host.new_connection(key, self.config, owned=False, isn=isn)
        conn.open(now, active=False, trace=False)
        tfo = self._fastopen(key, seg, now) if self.fastopen and seg.options else None
        if tfo is not None:
            conn.use_fastopen(tfo)
        conn.segment_arrives(seg, now)
        if conn.state is _SYN_RECEIVED:
            self.table.adopt(conn, self)
            if tfo is not None and tfo.accepted:
                # RFC 7413 §4.2.2: ready for accept() now, SYN data readable.
                self.accept_queue.append(conn)
                if self._tfo_open is not None:  # (made by _fastopen for a valid cookie)
                    self._tfo_open.add(conn)
                st.fastopen_accepted += 1
                if host.tracer.on:
                    host.tracer.emit(FastOpenEvent(now, host.name, conn.cid, "data-accepted",
                                                   f"{conn.readable} octets delivered before the handshake completed"))
                self._trace_queue(now, "fastopen", conn)
            else:
                self.pending.add(conn)
                self._trace_queue(now, "syn", conn)
        host.updated(conn, now)

    # ------------------------------------------------------------------ Fast Open
    def _fastopen(self, key: tuple, seg: TcpSegment, now: int) -> ServerFastOpen | None:
        """RFC 7413 §4.2.2: a Fast Open option in a SYN: accept its data if the cookie is
        valid and fewer than ``fastopen`` such connections wait, else send a fresh cookie."""
        opt = seg.option(FastOpen)
        if opt is None:
            return None
        host = self.host
        key_ = host.fastopen_key
        tr = host.tracer
        cookie = opt.cookie
        if cookie and key_.valid(key[2], cookie):
            live = self._tfo_open
            if live is None:
                live = self._tfo_open = set()
            for c in [c for c in live if c.state is not _SYN_RECEIVED]:
                live.discard(c)
            if len(live) < self.fastopen:
                return ServerFastOpen(True)
            if tr.on:
                tr.emit(FastOpenEvent(now, tr.host, key, "cookie-refused",
                                      f"{len(live)} Fast Open connections already wait (limit {self.fastopen})"))
            return ServerFastOpen(False)
        fresh = key_.cookie(key[2])
        self.stats.fastopen_cookies += 1
        if tr.on:
            why = "cookie request" if not cookie else "invalid cookie: data ignored"
            tr.emit(FastOpenEvent(now, tr.host, key, "cookie-issued", f"{why}; cookie {fresh.hex()}"))
        return ServerFastOpen(False, fresh)

    # ------------------------------------------------------------------ SYN cookies
    def _send_cookie(self, key: tuple, seg: TcpSegment, now: int, why: str) -> None:
        """Answer ``seg`` with a SYN,ACK whose ISS is a cookie; keep nothing (RFC 4987 §3.6)."""
        host = self.host
        tr = host.tracer
        if not self.cookie_mode:
            self.cookie_mode = True
            if tr.on:
                tr.emit(SynCookieMode(now, tr.host, None, self.addr or "*", self.port, True, why))
        self._overflow_at = now
        mss = seg.mss
        if not mss:  # (an MSS of 0 is no MSS, as in tcp/handshake.py)
            mss = 1220 if ":" in key[0] else 536
        ws = seg.option(WindowScale)
        ts = seg.option(Timestamps)
        if ts is None and self.config.syncookie_needs_ts:
            # Linux (tcp_conn_request, tcp_clear_options): without timestamps the cookie
            # connection has no SACK, window scale or ECN; the SYN,ACK offers an MSS only.
            seg = seg._replace(options=tuple(o for o in seg.options if type(o) is Mss),
                               flags=seg.flags & ~(ECE | CWR))
            ws = None
        # What the client offers; the SYN,ACK keeps what we agree to.
        opts = CookieOptions(mss, ws.shift if ws is not None else None,
                             seg.option(SackPermitted) is not None, ts is not None,
                             seg.flags & (ECE | CWR) == ECE | CWR and self.config.ecn != "off")
        # Every SYN with the same offer from the same address family gets the same SYN,ACK
        # but for the ports, SEQ, ACK and timestamps: the first one's, built by the
        # connection code, is the template for the others (a flood costs no TCB per SYN).
        sig = (key[0], seg.flags, opts)
        cached = None if seg.payload else self._cookie_templates.get(sig)
        if cached is None:
            made = self.cookie_synack(key, seg, now, opts)
            if made is None:
                return
            synack, agreed = made
            if not seg.payload:
                if len(self._cookie_templates) >= 64:
                    self._cookie_templates.clear()
                self._cookie_templates[sig] = (synack, agreed, SynAckBytes(Packet(key[0], key[2], synack, 0, host.ttl)))
            self.stats.cookies_sent += 1
            host.send_segment(key[0], key[2], synack, "syncookie", now)
            return
        # The template's bytes with this SYN's ports, cookie, ACK and timestamps.
        template, agreed, raw = cached
        iss = host.syncookie_maker.make(key, seg.seq, agreed, now)
        stamps = None
        if agreed.timestamps and ts is not None:
            stamps = (host.syncookie_maker.tsval(_ts.ts_clock(now, _ts.ts_offset(int(iss))), agreed), ts.tsval)
        ack = seq_add(seg.seq, 1)
        self.stats.cookies_sent += 1
        host.send_packet(raw.make(address_info(key[2])[0], key[3], int(iss), int(ack), stamps))
        if tr.on:
            options = template.options
            if stamps is not None:
                options = tuple(_tuple_new(Timestamps, stamps) if type(o) is Timestamps else o for o in options)
            synack = template._replace(src_port=key[1], dst_port=key[3], seq=iss, ack=ack, options=options)
            tr.emit(SegmentSent(now, tr.host, None, key[0], key[2], synack, False, "syncookie"))

    def cookie_synack(self, key: tuple, seg: TcpSegment, now: int,
                      opts: CookieOptions) -> tuple[TcpSegment, CookieOptions] | None:
        """The cookie SYN,ACK for ``seg`` and the options it agrees to, built by the
        connection code: a throwaway TCB, never registered, with the cookie as its ISS (so
        that anything derived from the ISS, like the TSval offset, is what the TCB rebuilt
        from the cookie will use); None if the TCB sends no SYN,ACK."""
        host = self.host
        maker = host.syncookie_maker
        synack: TcpSegment | None = None
        for _ in range(2):
            iss = maker.make(key, seg.seq, opts, now)
            scratch = host.new_connection(key, self.config, owned=False, traced=False, isn=FixedIsn(int(iss)))
            scratch.open(now, active=False, trace=False)
            scratch.segment_arrives(seg, now)
            synack = next((s for s, _ in scratch.out if s.flags & SYN), None)
            if synack is None:
                return None
            # What was offered but not agreed (timestamps or ECN this connection does not
            # use) must not be in the cookie: the ACK would not match it. Rare: make again.
            agreed = opts._replace(timestamps=opts.timestamps and synack.option(Timestamps) is not None,
                                   ecn=opts.ecn and bool(synack.flags & ECE))
            if agreed == opts:
                break
            opts = agreed
        if synack is None:
            return None
        our_ts = synack.option(Timestamps)
        options = synack.options
        if our_ts is not None:
            tsval = maker.tsval(our_ts.tsval, opts)
            options = tuple(Timestamps(tsval, o.tsecr) if type(o) is Timestamps else o for o in options)
        return synack._replace(options=options), opts

    def _cookie_ack(self, key: tuple, seg: TcpSegment, now: int) -> bool:
        """An ACK for no TCB: if it returns a valid SYN cookie, rebuild the connection and
        process the ACK in it (True). False: not a cookie, handle as RFC 9293 says."""
        mode = self._mode()
        host = self.host
        if not mode or (mode == 1 and (self._overflow_at is None
                                       or now - self._overflow_at > 2 * host.syncookie_maker.period)):
            return False  # no SYN queue overflow lately: an ACK for no TCB is just that
        ts = seg.option(Timestamps)
        opts = host.syncookie_maker.check(key, seq_add(seg.seq, -1), seq_add(seg.ack, -1), now,
                                          ts.tsecr if ts else None)
        if opts is None:
            tr = host.tracer
            if (seg.payload or seg.flags & FIN) and host.syncookie_maker.fresh(seq_add(seg.ack, -1), now):
                # A later segment of a connection whose cookie ACK (and first data) was
                # lost: the MAC covers the client's ISN, which only a segment at the first
                # octet tells. No RST: the client sends again from SND.UNA, the first
                # octet, and that segment carries the proof.
                self.stats.cookies_unverified += 1
                if tr.on:
                    tr.emit(SegmentDropped(now, tr.host, None, key[2], key[0], seg, "cookie-unverifiable",
                                           "data beyond the first octet with a fresh SYN cookie in SEG.ACK: "
                                           "dropped, no RST; its first octet comes again and proves the cookie"))
                return True
            self.stats.cookies_rejected += 1
            if tr.on:
                tr.emit(SegmentDropped(now, tr.host, None, key[2], key[0], seg, "bad-cookie",
                                       "ACK for no connection, not a valid SYN cookie: RST"))
            return False
        if len(self.accept_queue) >= self.backlog:
            self.stats.accept_overflows += 1
            self._drop(key, seg, now, "backlog-full",
                       f"valid cookie, but accept queue {len(self.accept_queue)}/{self.backlog}")
            return True
        # Rebuild SYN-RECEIVED from a SYN with the options the cookie kept.
        syn_opts: tuple = (Mss(opts.mss),)
        if opts.wscale is not None:
            syn_opts += (WindowScale(opts.wscale),)
        if opts.sack:
            syn_opts += (SackPermitted(),)
        if opts.timestamps and ts is not None:
            syn_opts += (Timestamps(ts.tsval, 0),)
        irs = seq_add(seg.seq, -1)
        syn = TcpSegment(seg.src_port, seg.dst_port, irs, Seq(0), SYN | (ECE | CWR if opts.ecn else 0),
                         seg.wnd, b"", syn_opts)
        conn = host.new_connection(key, self.config, owned=False, traced=False, isn=FixedIsn(int(seg.ack - 1)))
        conn.open(now, active=False, trace=False)
        conn.segment_arrives(syn, now)
        if conn.state is not _SYN_RECEIVED:
            return False
        conn.forget_syn_ack(now)  # that SYN,ACK was sent, statelessly, long ago
        # From here on the connection is the host's own, traced and with its ISN source.
        tracer = conn.tr = host.tracer
        conn.isn = host.isn
        self.stats.cookies_accepted += 1
        if tracer.on:
            tracer.emit(StateChanged(now, tracer.host, conn.cid, "LISTEN", "SYN-RECEIVED",
                                     f"valid SYN cookie (mss {opts.mss}, wscale {opts.wscale}, "
                                     f"sack {opts.sack}, ts {opts.timestamps})", "RFC 4987 §3.6"))
        self.table.adopt(conn, self)
        self.pending.add(conn)
        conn.segment_arrives(seg, now)  # the ACK itself: ESTABLISHED, with any data it carries
        return True

    # ------------------------------------------------------------------ queue moves
    def _for_record(self, key: tuple, seg: TcpSegment, now: int) -> None:
        """A segment for a half-open connection kept as a record: the connection it stands
        for takes it (stack/synqueue.py), unless it is the ACK that would complete the
        handshake while the accept queue is full: dropped, the record kept (Linux)."""
        f = seg.flags
        if f & ACK and not f & (RST | SYN) and len(self.accept_queue) >= self.backlog:
            self.stats.accept_overflows += 1
            tr = self.host.tracer
            if tr.on:  # (as _hold_ack traces it for a connection)
                tr.emit(SegmentDropped(now, tr.host, key, key[2], key[0], seg, "backlog-full",
                                       f"accept queue {len(self.accept_queue)}/{self.backlog}"))
            return
        conn = self.requests.connection(key, now)
        if conn is None:
            return
        conn.segment_arrives(seg, now)  # (the connection tells the host what follows)

    def deadline(self) -> int | None:
        """When the next record of the SYN queue is due (stack/synqueue.py), or None."""
        return self.requests.deadline

    def on_timeout(self, now: int) -> None:
        """Retransmit or forget the records of the SYN queue that are due."""
        self.requests.on_timeout(now)

    def _hold_ack(self, conn: Connection, seg: TcpSegment, now: int) -> bool:
        """Linux's accept-queue overflow: the ACK that would complete ``conn``'s handshake
        is dropped while the accept queue is full (the SYN,ACK timer brings it back)."""
        f = seg.flags
        if f & ACK and not f & (RST | SYN) and conn in self.pending and len(self.accept_queue) >= self.backlog:
            self.stats.accept_overflows += 1
            tr = self.host.tracer
            if tr.on:
                tr.emit(SegmentDropped(now, tr.host, conn.cid, conn.remote_addr, conn.local_addr, seg,
                                       "backlog-full", f"accept queue {len(self.accept_queue)}/{self.backlog}"))
            return True
        return False

    def _promote(self, conn: Connection, now: int) -> None:
        """``conn`` left SYN-RECEIVED for a synchronized state: on to the accept queue."""
        self.pending.discard(conn)
        self.accept_queue.append(conn)
        self._trace_queue(now, "established", conn)

    def _forget(self, conn: Connection, now: int) -> None:
        """``conn`` was deleted or went back to LISTEN before being accepted."""
        was = conn in self.pending
        self.pending.discard(conn)
        try:
            self.accept_queue.remove(conn)
        except ValueError:
            if not was:
                return
        if was:
            self.stats.half_open_dropped += 1
        self._trace_queue(now, "removed", conn)
