"""One host: its addresses, IP in and out, demultiplexing by 4-tuple, listeners (with
their SYN and accept queues, SYN cookies and Fast Open: stack/listener.py), ephemeral
ports, the reset for segments that match no connection, and ICMP errors (stack/icmp.py).

A :class:`Host` is still sans-IO: packets come in through :meth:`Host.deliver`, go out
through :meth:`Host.take_packets`, and time moves only when a driver calls
:meth:`Host.on_timeout` at :meth:`Host.next_deadline`. The simulator, the TUN driver and
the in-process packet pipe all drive the same class.
"""

from __future__ import annotations

import errno
import heapq
import ipaddress
import os
import random
from dataclasses import replace
from typing import Optional

from ..tcp.config import TcpConfig
from ..tcp.connection import Connection, reset_for
from ..tcp.cookies import SynCookies
from ..tcp.fastopen import CookieCache, FastOpenKey
from ..tcp.fastopen import prepare_client as _fastopen_prepare
from ..tcp.isn import IsnGenerator
from ..tcp.rfc5961 import ChallengeAckLimiter
from ..tcp.state import State
from ..trace.events import Recorder, SegmentDropped, SegmentReceived, SegmentSent, Tracer
from ..wire.errors import MalformedPacket
from ..wire.ip import ecn_of, emit_packet, parse_packet
# The listener and its queues, SYN cookies and Fast Open live in stack/listener.py, ICMP in
# stack/icmp.py; ``from synack.stack.host import Listener`` still works.
from . import icmp as _icmp
from .fragments import Reassembler
from .listener import Listener

EPHEMERAL_PORTS = (32768, 60999)  # Linux's net.ipv4.ip_local_port_range

_NOT_RETRANSMISSIONS = frozenset({None, "zero-window-probe", "keepalive", "syncookie"})
_SYN_RECEIVED = State.SYN_RECEIVED


def _oserror(code: int, what: str) -> OSError:
    return OSError(code, f"{os.strerror(code)}: {what}")


_REMOTES: dict[str, str] = {}  # address as given -> normalised text, for valid remotes


def _remote(addr: str) -> str:
    """Normalise a remote address, refusing what OPEN must not reach (RFC 9293 §3.9.1.1
    MUST-46: broadcast, multicast, unspecified)."""
    norm = _REMOTES.get(addr)
    if norm is not None:
        return norm
    try:
        ra = ipaddress.ip_address(addr)
    except ValueError:
        raise ValueError(f"remote address {addr!r} is not an IPv4 or IPv6 address") from None
    if ra.is_multicast or ra.is_unspecified or (ra.version == 4 and int(ra) == 0xFFFFFFFF):
        raise _oserror(errno.ENETUNREACH, f"cannot connect to {ra}")
    if len(_REMOTES) >= 4096:
        _REMOTES.clear()
    _REMOTES[addr] = norm = str(ra)
    return norm


class Host:
    """A TCP/IP host with one or more IPv4/IPv6 addresses."""

    def __init__(
        self,
        name: str,
        addrs: list[str],
        *,
        seed: Optional[int] = None,
        recorder: Optional[Recorder] = None,
        config: Optional[TcpConfig] = None,
        isn=None,
        isn_secret: Optional[bytes] = None,
        mtu: int = 1500,
        ttl: int = 64,
        ephemeral_ports: tuple[int, int] = EPHEMERAL_PORTS,
        syncookies: int = 1,
        max_syn_backlog: int = 2048,
        synack_retries: Optional[int] = 5,
        cookie_secret: Optional[bytes] = None,
        fastopen_secret: Optional[bytes] = None,
        challenge_ack_limit: Optional[int] = 1000,
        reject_with: str = "tcp-reset",
    ) -> None:
        if not addrs:
            raise ValueError("addrs: a host needs at least one address")
        self.name = name
        self.addrs = [str(ipaddress.ip_address(a)) for a in addrs]
        self._addrset = frozenset(self.addrs)
        self.rng = random.Random(seed)
        self.recorder = recorder if recorder is not None else Recorder(on=False)
        for a in self.addrs:
            self.recorder.names[a] = name
        self.tracer = Tracer(name, self.recorder)
        self.config = config if config is not None else TcpConfig()
        self.config.validate()
        # RFC 6528 ISNs, keyed with a secret drawn from the host's own seeded generator.
        self.isn = isn if isn is not None else IsnGenerator(isn_secret or self.rng.randbytes(16))
        if not 576 <= mtu <= 65535:
            raise ValueError(f"mtu must be between 576 and 65535, not {mtu}")
        self.mtu = mtu
        self.ttl = ttl
        self.ephemeral_ports = ephemeral_ports
        self.conns: dict[tuple, Connection] = {}
        self.listeners: dict[tuple, Listener] = {}
        self._children: dict[Connection, Listener] = {}
        #: (local address, local port) -> how many connections use it
        self._bound: dict[tuple, int] = {}
        self._tx: list[bytes] = []
        self._timers: list = []          # heap of (deadline, n, conn)
        self._deadline: dict[Connection, int] = {}
        self._n = 0
        #: set whenever packets were queued or a timer may have moved; a driver that
        #: polls ``take_packets``/``next_deadline`` may clear it and skip polling until set
        self.changed = False
        # -- under attack and at the edges (stack/listener.py, stack/icmp.py) --
        if syncookies not in (0, 1, 2):
            raise ValueError(f"syncookies must be 0 (never), 1 (on SYN queue overflow) or 2 (always), not {syncookies!r}")
        if max_syn_backlog < 1:
            raise ValueError(f"max_syn_backlog must be at least 1, not {max_syn_backlog}")
        if synack_retries is not None and not 0 <= synack_retries <= 255:
            raise ValueError(f"synack_retries must be between 0 and 255 or None, not {synack_retries}")
        #: Linux's net.ipv4 sysctls of the same names: SYN cookies when the SYN queue
        #: overflows (RFC 4987 §3.6), the SYN queue's cap, SYN,ACK retransmissions.
        self.syncookies = syncookies
        self.max_syn_backlog = max_syn_backlog
        self.synack_retries = synack_retries
        #: RFC 5961 §7: challenge ACKs this host sends per second, at most (None: no limit)
        self.challenge = ChallengeAckLimiter(challenge_ack_limit)
        #: how a segment for no connection and no listener is answered: "tcp-reset"
        #: (RFC 9293 §3.10.7.1), "drop", or an ICMP error as a firewall's REJECT sends it
        #: ("icmp-port-unreachable", "icmp-host-unreachable", "icmp-net-unreachable",
        #: "icmp-proto-unreachable", "icmp-admin-prohibited")
        self.reject_with = _icmp.check_reject(reject_with)
        #: RFC 7413 client side: Fast Open cookies by server address
        self.fastopen_cache = CookieCache()
        self._seed = seed
        self._cookie_secret = cookie_secret
        self._fastopen_secret = fastopen_secret
        self._syncookies: Optional[SynCookies] = None
        self._fastopen_key: Optional[FastOpenKey] = None
        #: IP fragment reassembly (stack/fragments.py), with its limits and 30 s timeout
        self.fragments = Reassembler(name, self.tracer, self._addrset, ttl=ttl)

    def __repr__(self) -> str:
        return f"<Host {self.name} {' '.join(self.addrs)}>"

    # ------------------------------------------------------------ link side
    def deliver(self, packet: bytes, now: int, checksum_ok: bool = False) -> None:
        """An IP packet arrived. Malformed packets become traced drops. ``checksum_ok``: the
        link vouches for the TCP checksum (a TUN device's offload: the kernel's own packets,
        whose checksum it never computed), so it is not verified again."""
        try:
            hdr, seg = parse_packet(packet, not checksum_ok)
        except MalformedPacket as e:
            if e.reason == "fragment":
                # A piece of a datagram: reassembled (stack/fragments.py), then delivered whole.
                self.changed = True  # the reassembly deadline may have moved
                whole = self.fragments.add(packet, now)
                if whole is not None:
                    self.deliver(whole, now)
                return
            if e.reason == "not-tcp":
                # Not TCP: an ICMP error is passed to TCP (RFC 9293 §3.9.2.2 MUST-54, in
                # stack/icmp.py); anything else is a traced drop there.
                _icmp.deliver(self, packet, now)
                return
            if self.tracer.on:
                self.tracer.emit(SegmentDropped(now, self.name, None, "", "", None, e.reason, e.detail))
            return
        src, dst = hdr.src, hdr.dst
        tr = self.tracer
        if dst not in self._addrset:
            if tr.on:
                tr.emit(SegmentDropped(now, self.name, None, src, dst, seg, "not-my-address"))
            return
        key = (dst, seg.dst_port, src, seg.src_port)
        conn = self.conns.get(key)
        if tr.on:
            tr.emit(SegmentReceived(now, self.name, key if conn is not None else None, src, dst, seg))
        if conn is not None:
            if conn.state is _SYN_RECEIVED and conn in self._children and \
                    self._children[conn]._hold_ack(conn, seg, now):
                return  # the accept queue is full: the handshake waits (stack/listener.py)
            if conn.ecn_ok and ecn_of(hdr) == 3:
                # RFC 3168 §6.1.3: Congestion Experienced in the IP header, for TCP to echo.
                conn.segment_arrives(seg, now, ce=True)
            else:
                conn.segment_arrives(seg, now)
            self._after(conn, now)
            return
        lst = self.listeners.get((dst, seg.dst_port)) or self.listeners.get((None, seg.dst_port))
        if lst is not None:
            self._to_listener(lst, key, seg, now)
            return
        # No TCB and no listener: RFC 9293 §3.10.7.1.
        if tr.on:
            tr.emit(SegmentDropped(now, self.name, None, src, dst, seg, "no-listener",
                                   "no connection or listener for this port"))
        if self.reject_with != "tcp-reset":
            _icmp.reject(self, packet, hdr, seg, now)  # a firewall-style REJECT, or a drop
            return
        rst = reset_for(seg)
        if rst is not None:
            self._transmit(dst, src, rst, None, None, now)

    def _to_listener(self, lst: Listener, key: tuple, seg, now: int) -> None:
        """SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2): the listener's queues, SYN
        cookies and Fast Open decide (stack/listener.py)."""
        lst.segment(key, seg, now)

    # -- secrets, made on first use from the host's seed (or injected) -----------------
    def _secret(self, purpose: str) -> bytes:
        # Not from self.rng: drawing from it would move every later ephemeral port.
        seed = self._seed
        return random.Random(None if seed is None else f"{seed}/{purpose}").randbytes(32)

    @property
    def syncookie_maker(self) -> SynCookies:
        """The host's SYN cookie generator (RFC 4987 §3.6), keyed with ``cookie_secret``."""
        sc = self._syncookies
        if sc is None:
            sc = self._syncookies = SynCookies(self._cookie_secret or self._secret("syncookies"))
        return sc

    @property
    def fastopen_key(self) -> FastOpenKey:
        """The key of the Fast Open cookies this host issues (RFC 7413 §4.1.2)."""
        k = self._fastopen_key
        if k is None:
            k = self._fastopen_key = FastOpenKey(self._fastopen_secret or self._secret("fastopen"))
        return k

    def take_packets(self) -> list[bytes]:
        """IP packets waiting to be transmitted, oldest first (the queue is emptied)."""
        tx = self._tx
        if tx:
            self._tx = []
        return tx

    def next_deadline(self) -> Optional[int]:
        """The earliest timer of any connection or of fragment reassembly, in ns, or None."""
        timers = self._timers
        dl = self._deadline
        f = self.fragments.deadline
        while timers:
            d, _, conn = timers[0]
            if dl.get(conn) == d:
                return d if f is None or d <= f else f
            heapq.heappop(timers)  # stale entry
        return f

    def on_timeout(self, now: int) -> None:
        """Run every connection timer that is due at ``now``."""
        self.changed = True  # the next deadline moves on, even if every entry was stale
        f = self.fragments.deadline
        if f is not None and f <= now:
            self._tx.extend(self.fragments.on_timeout(now))  # ICMP Time Exceeded, if any
        timers = self._timers
        dl = self._deadline
        while timers and timers[0][0] <= now:
            d, _, conn = heapq.heappop(timers)
            if dl.get(conn) != d:
                continue
            del dl[conn]
            conn.on_timeout(now)
            self._after(conn, now)

    # ------------------------------------------------------------ application side
    def listen(self, port: int, now: int, addr: Optional[str] = None, backlog: int = 128,
               config: Optional[TcpConfig] = None, *, syn_backlog: Optional[int] = None,
               fastopen: int = 0) -> Listener:
        """Passive OPEN (RFC 9293 §3.10.1): a listener on ``port`` (0 picks an ephemeral one).

        ``backlog`` bounds the accept queue, ``syn_backlog`` the SYN queue (default:
        min(backlog, max_syn_backlog), as Linux); ``fastopen`` > 0 accepts that many
        pending Fast Open connections (RFC 7413, TCP_FASTOPEN). See stack/listener.py."""
        if syn_backlog is not None and syn_backlog < 1:
            raise ValueError(f"syn_backlog must be at least 1, not {syn_backlog}")
        if fastopen < 0:
            raise ValueError(f"fastopen must not be negative, not {fastopen}")
        if addr is not None:
            addr = self._own(addr)
        if port == 0:
            port = self._ephemeral(addr, None, None)
        if (addr, port) in self.listeners or (None, port) in self.listeners or (
                addr is None and any(p == port for (_, p) in self.listeners)):
            raise _oserror(errno.EADDRINUSE, f"port {port} already has a listener")
        config = config or self.config
        if config.synack_retries is None and self.synack_retries is not None:
            # The host's tcp_synack_retries applies to its listeners' connections.
            config = replace(config, synack_retries=self.synack_retries)
        lst = Listener(self, addr, port, max(1, backlog), config, syn_backlog, fastopen=fastopen)
        self.listeners[(addr, port)] = lst
        return lst

    def connect(self, remote_addr: str, remote_port: int, now: int, *, local_addr: Optional[str] = None,
                local_port: int = 0, config: Optional[TcpConfig] = None,
                fastopen: Optional[bytes] = None) -> Connection:
        """Active OPEN (RFC 9293 §3.10.1): send a SYN and return the connection.

        ``fastopen`` (bytes, possibly empty) makes it a TCP Fast Open connection (RFC 7413):
        the SYN carries the cookie cached for ``remote_addr`` and, with a cookie, the start
        of ``fastopen``, which is queued as if SENT; without a cookie it asks for one."""
        remote_addr = _remote(remote_addr)
        if local_addr is None:
            local_addr = self.source_address(remote_addr)
        else:
            local_addr = self._own(local_addr)
        if local_port == 0:
            local_port = self._ephemeral(local_addr, remote_addr, remote_port)
        key = (local_addr, local_port, remote_addr, remote_port)
        if key in self.conns:
            raise _oserror(errno.EADDRINUSE, f"{local_addr}:{local_port} is already connected to "
                                              f"{remote_addr}:{remote_port}")
        conn = self._new_connection(key, config or self.config)
        self._register(conn)
        if fastopen is not None:
            if not isinstance(fastopen, (bytes, bytearray, memoryview)):
                self._unregister(conn)
                raise TypeError(f"fastopen must be bytes (the data for the SYN), not {type(fastopen).__name__}")
            _fastopen_prepare(conn, self.fastopen_cache, bytes(fastopen), now)
        conn.open(now)
        self._after(conn, now)
        return conn

    def source_address(self, remote_addr: str) -> str:
        """The local address for a connection to ``remote_addr`` (RFC 9293 MUST-44)."""
        v6 = ":" in remote_addr
        for a in self.addrs:
            if (":" in a) == v6:
                return a
        raise _oserror(errno.ENETUNREACH, f"host {self.name} has no IPv{6 if v6 else 4} address "
                                          f"to reach {remote_addr}")

    def call(self, conn: Connection, now: int) -> None:
        """After a user call on ``conn`` (send, receive, close, abort): transmit and reschedule."""
        self._after(conn, now)

    # ------------------------------------------------------------ internals
    def _own(self, addr: str) -> str:
        try:
            a = str(ipaddress.ip_address(addr))
        except ValueError:
            raise ValueError(f"address {addr!r} is not an IPv4 or IPv6 address") from None
        if a not in self._addrset:
            raise _oserror(errno.EADDRNOTAVAIL, f"host {self.name} does not own {a}")
        return a

    def _ephemeral(self, laddr: Optional[str], raddr: Optional[str], rport: Optional[int]) -> int:
        """A free port from the ephemeral range, starting at a random point of it."""
        lo, hi = self.ephemeral_ports
        span = hi - lo + 1
        bound = self._bound
        listening = {p for (_, p) in self.listeners}
        start = self.rng.randrange(span)
        for i in range(span):
            port = lo + (start + i) % span
            if port in listening:
                continue
            if laddr is None:
                if any((a, port) in bound for a in self.addrs):
                    continue
            elif (laddr, port) in bound:
                continue
            return port
        raise _oserror(errno.EADDRNOTAVAIL, "no free ephemeral port")

    def _register(self, conn: Connection) -> None:
        self.conns[conn.cid] = conn
        k = (conn.local_addr, conn.local_port)
        self._bound[k] = self._bound.get(k, 0) + 1

    def _unregister(self, conn: Connection) -> None:
        if self.conns.get(conn.cid) is conn:
            del self.conns[conn.cid]
            k = (conn.local_addr, conn.local_port)
            n = self._bound[k] - 1
            if n:
                self._bound[k] = n
            else:
                del self._bound[k]

    def _new_connection(self, key: tuple, config: Optional[TcpConfig]) -> Connection:
        v6 = ":" in key[0]
        conn = Connection(key[0], key[1], key[2], key[3], config=config or self.config, isn=self.isn,
                          tracer=self.tracer, mss_limit=self.mtu - (60 if v6 else 40))
        conn.challenge = self.challenge  # the host-wide RFC 5961 §7 limit
        return conn

    def _transmit(self, src: str, dst: str, seg, cause: Optional[str], cid: Optional[tuple], now: int,
                  ecn: int = 0) -> None:
        self.changed = True
        self._tx.append(emit_packet(src, dst, seg, self.ttl, ecn))
        if self.tracer.on:
            rtx = cause not in _NOT_RETRANSMISSIONS
            self.tracer.emit(SegmentSent(now, self.name, cid, src, dst, seg, rtx, cause))

    def _after(self, conn: Connection, now: int) -> None:
        """Transmit what ``conn`` queued, keep the timer heap and the tables current."""
        self.changed = True
        out = conn.out
        if out:
            src, dst, cid = conn.local_addr, conn.remote_addr, conn.cid
            if conn.ecn_ok:
                # RFC 3168 §6.1: ECT(0) on new data only; the connection says which.
                for seg, cause in out:
                    self._transmit(src, dst, seg, cause, cid, now, conn.ect(seg, cause))
            else:
                for seg, cause in out:
                    self._transmit(src, dst, seg, cause, cid, now)
            out.clear()
        st = conn.state
        if st is State.CLOSED or (st is State.LISTEN and conn in self._children):
            # Deleted TCB, or a passive connection that went back to LISTEN (the
            # listener itself keeps listening).
            self._unregister(conn)
            self._deadline.pop(conn, None)
            lst = self._children.pop(conn, None)
            if lst is not None:
                lst._forget(conn, now)
            return
        lst = self._children.get(conn)
        if lst is not None and st is not _SYN_RECEIVED and conn in lst.pending:
            lst._promote(conn, now)
        d = conn.next_deadline()
        if d is None:
            self._deadline.pop(conn, None)
        elif self._deadline.get(conn) != d:
            self._deadline[conn] = d
            self._n += 1
            heapq.heappush(self._timers, (d, self._n, conn))
