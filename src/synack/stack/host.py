"""One host: its addresses, IP in and out, demultiplexing by 4-tuple, listeners (with
their SYN and accept queues, SYN cookies and Fast Open: stack/listener.py), ephemeral
ports, the reset for segments that match no connection, and ICMP errors (stack/icmp.py).

A :class:`Host` is still sans-IO: packets come in through :meth:`Host.deliver`, go out
through :meth:`Host.take_packets`, and time moves only when a driver calls
:meth:`Host.on_timeout` at :meth:`Host.next_deadline`. The simulator, the TUN driver and
the in-process packet pipe all drive the same class.

Output is pulled. The host owns its connections (:class:`~synack.stack.demux.ConnectionTable`)
and each connection tells it after every event, whoever caused the event (a segment, a
timer, or the application calling ``send``/``close``/...): the host then takes what the
connection queued, traces it, and keeps the table and the deadline heap current. A driver
only drains :meth:`take_packets` and watches :meth:`next_deadline`; nobody flushes by hand.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import random
from itertools import repeat
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from ..tcp.config import TcpConfig
from ..tcp.connection import Connection, reset_for
from ..tcp.cookies import SynCookies
from ..tcp.fastopen import CookieCache, FastOpenKey
from ..tcp.isn import IsnGenerator
from ..tcp.rfc5961 import ChallengeAckLimiter
from ..tcp.sender import MAX_SEGMENT_BYTES
from ..tcp.state import State
from ..tcp.isn import GivenIss
from ..tcp.timewait import TimeWait
from ..trace.events import NULL_TRACER, Recorder, SegmentDropped, SegmentReceived, SegmentSent, Tracer
from ..wire.errors import MalformedPacket
from ..wire.ip import ecn_of, parse_packet
from ..wire.tcp import SYN, TcpSegment
from . import icmp as _icmp
from .demux import ConnectionTable
from .fragments import Reassembler
# ``from synack.stack.host import Listener`` still works.
from .listener import Listener
from .packet import Packet
from .sources import SourceCheck

__all__ = ["Host", "Listener", "EPHEMERAL_PORTS", "Packet"]

EPHEMERAL_PORTS = (32768, 60999)  # Linux's net.ipv4.ip_local_port_range

_NOT_RETRANSMISSIONS = frozenset({None, "zero-window-probe", "keepalive", "syncookie"})
_tuple_new = tuple.__new__
_object_new = object.__new__
_connection_init = Connection.__init__
_SYN_RECEIVED, _TIME_WAIT = State.SYN_RECEIVED, State.TIME_WAIT


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


#: a gso_size no segment exceeds
_NO_GSO = 1 << 30


def _listened(listeners: dict, port: int) -> bool:
    """Does a listener on any address have ``port``? (A loop: any() would build a generator
    for every connect.)"""
    for k in listeners:  # noqa: SIM110
        if k[1] == port:
            return True
    return False


class Host:
    """A TCP/IP host with one or more IPv4/IPv6 addresses."""

    # Made on first use (syncookie_maker, fastopen_key), so class-level until then: with
    # more than 30 attributes set in __init__, Python 3.11 gives up the instances' shared
    # key layout, and with it the fast attribute and method lookups on every host.
    _syncookies: SynCookies | None = None
    _fastopen_key: FastOpenKey | None = None

    def __init__(
        self,
        name: str,
        addrs: list[str],
        *,
        seed: int | None = None,
        recorder: Recorder | None = None,
        config: TcpConfig | None = None,
        isn=None,
        isn_secret: bytes | None = None,
        mtu: int = 1500,
        ttl: int = 64,
        ephemeral_ports: tuple[int, int] = EPHEMERAL_PORTS,
        syncookies: int = 1,
        max_syn_backlog: int = 2048,
        synack_retries: int | None = 5,
        cookie_secret: bytes | None = None,
        fastopen_secret: bytes | None = None,
        challenge_ack_limit: int | None = 1000,
        reject_with: str = "tcp-reset",
        max_tw_buckets: int | None = 131072,
    ) -> None:
        if not addrs:
            raise ValueError("addrs: a host needs at least one address")
        self.name = name
        # An address may come with its prefix ("10.0.0.2/24"): the subnet's broadcast
        # address is then known too, and never accepted as a source (stack/sources.py).
        ifaces = [ipaddress.ip_interface(a) for a in addrs]
        self.addrs = [str(i.ip) for i in ifaces]
        self._addrset = frozenset(self.addrs)
        #: RFC 9293 §3.9.2.3 MUST-63: the sources no connection may come from
        self.sources = SourceCheck(self._addrset, frozenset(
            str(i.network.broadcast_address) for i in ifaces if i.version == 4 and i.network.prefixlen < 31))
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
        #: connections, listeners, bound ports and the deadline heap (stack/demux.py)
        self.table = ConnectionTable(self)
        #: what the host sends, oldest first: Packet values, or bytes (ICMP errors)
        self._tx: list[Packet | bytes] = []
        #: set whenever packets were queued or a timer may have moved; a driver that
        #: polls ``take_packets``/``next_deadline`` may clear it and skip polling until set
        self.changed = False
        #: the most data one segment of a new connection may carry (TSO); None: as the
        #: link allows (``gso_max_size``), one MSS without offloads
        self.max_segment_bytes: int | None = None
        #: the largest IP packet the link takes from this host and cuts into wire segments
        #: itself (GSO, TSO), or 0: none. ``use_link`` sets it from the link's features.
        self.gso_max_size = 0
        #: a link that decides per destination (the simulator's paths): remote address ->
        #: its gso_max_size for that destination; None: ``gso_max_size`` for all
        self.gso_for: Callable[[str], int] | None = None
        # -- under attack and at the edges (stack/listener.py, stack/icmp.py) --
        if syncookies not in (0, 1, 2):
            raise ValueError("syncookies must be 0 (never), 1 (on SYN queue overflow) or 2 (always), "
                             f"not {syncookies!r}")
        if max_syn_backlog < 1:
            raise ValueError(f"max_syn_backlog must be at least 1, not {max_syn_backlog}")
        if synack_retries is not None and not 0 <= synack_retries <= 255:
            raise ValueError(f"synack_retries must be between 0 and 255 or None, not {synack_retries}")
        #: Linux's net.ipv4 sysctls of the same names: SYN cookies when the SYN queue
        #: overflows (RFC 4987 §3.6), the SYN queue's cap, SYN,ACK retransmissions.
        self.syncookies = syncookies
        self.max_syn_backlog = max_syn_backlog
        self.synack_retries = synack_retries
        if max_tw_buckets is not None and (not isinstance(max_tw_buckets, int) or max_tw_buckets < 0):
            raise ValueError(f"max_tw_buckets must be a non-negative int or None, not {max_tw_buckets!r}")
        #: Linux's net.ipv4.tcp_max_tw_buckets (131072 on the machine measured): at most this
        #: many 4-tuples wait in TIME-WAIT; a connection beyond them is deleted at once, traced
        self.max_tw_buckets = max_tw_buckets
        #: RFC 5961 §7: challenge ACKs this host sends per second, at most (None: no limit)
        self.challenge = ChallengeAckLimiter(challenge_ack_limit)
        #: how a segment for no connection and no listener is answered: "tcp-reset"
        #: (RFC 9293 §3.10.7.1), "drop", or an ICMP error as a firewall's REJECT sends it
        #: ("icmp-port-unreachable", "icmp-host-unreachable", "icmp-net-unreachable",
        #: "icmp-proto-unreachable", "icmp-admin-prohibited")
        self.reject_with = _icmp.check_reject(reject_with)
        #: RFC 7413 client side: Fast Open cookies by server address
        self.fastopen_cache = CookieCache()
        # The seed and the injected secrets, in one attribute (see _syncookies below).
        self._secrets: tuple[int | None, bytes | None, bytes | None] = (seed, cookie_secret, fastopen_secret)
        #: IP fragment reassembly (stack/fragments.py), with its limits and 30 s timeout
        self.fragments = Reassembler(name, self.tracer, self._addrset, ttl=ttl)
        #: listeners whose SYN queue holds records, with deadlines of their own (stack/synqueue.py)
        self.syn_queues: set[Listener] = set()
        #: while a batch is delivered: the connections whose ACK waits for its end
        self._batch_acks: dict[Connection, None] | None = None

    def __repr__(self) -> str:
        return f"<Host {self.name} {' '.join(self.addrs)}>"

    @property
    def conns(self) -> dict[tuple, Connection | TimeWait]:
        """Connections by (local addr, local port, remote addr, remote port); one in
        TIME-WAIT is a small record (tcp/timewait.py)."""
        return self.table.conns

    @property
    def listeners(self) -> dict[tuple, Listener]:
        """Listeners by (local addr or None, port)."""
        return self.table.listeners

    def owns(self, addr: str) -> bool:
        """Is ``addr`` (in its normal form) one of this host's addresses?"""
        return addr in self._addrset

    # ------------------------------------------------------------ link side
    def use_link(self, features: Any) -> None:
        """Take what the link does for this host (a ``synack.link.tun.LinkFeatures`` or
        anything with ``mtu`` and ``gso_max_size``): when it cuts packets larger than its
        MTU into wire segments (GSO, TSO), connections made from now on send super-segments
        of up to ``gso_max_size`` octets (``max_segment_bytes``, when set, decides instead)."""
        mtu = getattr(features, "mtu", None) or self.mtu
        g = getattr(features, "gso_max_size", 0) or 0
        self.gso_max_size = g if g > mtu else 0

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
                _icmp.deliver(self.table, packet, now)
                return
            if self.tracer.on:
                self.tracer.emit(SegmentDropped(now, self.name, None, "", "", None, e.reason, e.detail))
            return
        self.deliver_packet(_tuple_new(Packet, (hdr.src, hdr.dst, seg, ecn_of(hdr), hdr.ttl, 0)), now, packet)

    def deliver_batch(self, packets: Iterable[bytes | Packet], now: int,
                      checksum_ok: bool | Iterable[bool] = False) -> None:
        """Several packets arrived together (one read from a TUN device, or packets that
        reach the host at the same instant): each is processed as :meth:`deliver` (bytes)
        or :meth:`deliver_packet` (values) would, and only then does each ESTABLISHED
        connection send the one ACK its in-order data owes (RFC 9293 §3.10.7.4 MUST-58,
        MUST-59; Linux does the same per GRO batch). An out-of-order segment is still
        answered at once: its duplicate ACK tells the sender of the hole. ``checksum_ok``:
        one bool for all packets, or one per packet (see :meth:`deliver`)."""
        outer = self._batch_acks
        held: dict[Connection, None] = {} if outer is None else outer
        self._batch_acks = held
        oks = repeat(checksum_ok) if type(checksum_ok) is bool else iter(checksum_ok)
        try:
            for p, ok in zip(packets, oks, strict=False):
                if type(p) is Packet:
                    self.deliver_packet(p, now)
                else:
                    self.deliver(p, now, ok)  # type: ignore[arg-type]
        finally:
            if outer is None:
                self._batch_acks = None
                for conn in held:
                    conn.release_ack(now)

    def deliver_packet(self, pkt: Packet, now: int, raw: bytes | None = None) -> None:
        """A packet arrived as values (the simulator carries them beside the bytes): the
        same as :meth:`deliver` of its bytes (``raw``, when they exist), without encoding
        and parsing them."""
        src, dst, seg, ecn, _, _ = pkt
        tr = self.tracer
        if dst not in self._addrset:
            if tr.on:
                tr.emit(SegmentDropped(now, self.name, None, src, dst, seg, "not-my-address"))
            return
        key = (dst, seg.dst_port, src, seg.src_port)
        table = self.table
        conn = table.conns.get(key)
        if tr.on:
            tr.emit(SegmentReceived(now, self.name, key if conn is not None else None, src, dst, seg))
        if conn is not None:
            st = conn.state
            if st is _SYN_RECEIVED and table.children and isinstance(conn, Connection):
                lst = table.children.get(conn)
                if lst is not None and lst._hold_ack(conn, seg, now):
                    return  # the accept queue is full: the handshake waits (stack/listener.py)
            elif st is _TIME_WAIT and seg.flags & SYN and type(conn) is TimeWait:
                lst = table.listener_for(dst, seg.dst_port)
                if lst is not None and conn.accepts_syn(seg, now):
                    # RFC 6191 (RFC 9293 §3.6.1 MAY-2, SHLD-4): a newer SYN ends the
                    # TIME-WAIT and opens a new connection, its ISS above the old SND.NXT.
                    conn.reopened(now)
                    self.updated(conn, now)
                    lst.segment(key, seg, now, isn=GivenIss(conn.new_iss(), self.isn))
                    return
            # RFC 3168 §6.1.3: Congestion Experienced in the IP header, for TCP to echo.
            ce = conn.ecn_ok and ecn & 3 == 3
            held = self._batch_acks
            if held is not None and type(conn) is Connection:
                # Part of a batch: one ACK at its end (deliver_batch). A CE mark is echoed at
                # once, as Linux's GRO never merges a CE packet with others.
                conn.hold_ack = not ce
                held[conn] = None
            conn.segment_arrives(seg, now, ce)
            return
        why = self.sources.why(src, dst)
        if why is not None and (src not in self._addrset or (src, seg.src_port, dst, seg.dst_port) not in table.conns):
            # RFC 9293 §3.9.2.3 MUST-63: a SYN from an invalid source is ignored, and so is
            # anything else from there that matches no connection (no RST either: RFC 1122
            # §3.2.1.3). Our own address is valid only for a connection we opened to ourselves.
            if tr.on:
                tr.emit(SegmentDropped(now, self.name, None, src, dst, seg, "bad-source",
                                       f"source {src} is {why} (RFC 9293 §3.9.2.3 MUST-63)"))
            return
        lst = table.listener_for(dst, seg.dst_port)
        if lst is not None:
            # SEGMENT ARRIVES in LISTEN (RFC 9293 §3.10.7.2): the listener's queues, SYN
            # cookies and Fast Open decide (stack/listener.py).
            lst.segment(key, seg, now)
            return
        # No TCB and no listener: RFC 9293 §3.10.7.1.
        if tr.on:
            tr.emit(SegmentDropped(now, self.name, None, src, dst, seg, "no-listener",
                                   "no connection or listener for this port"))
        if self.reject_with != "tcp-reset":
            # A firewall-style REJECT (an ICMP error quotes the packet's bytes), or a drop.
            _icmp.reject(self.table, raw if raw is not None else pkt.raw, src, dst, seg, now)
            return
        rst = reset_for(seg)
        if rst is not None:
            self.send_segment(dst, src, rst, None, now)

    def take_packets(self) -> list[bytes]:
        """IP packets waiting to be transmitted, oldest first (the queue is emptied). A TSO
        super-segment is a :class:`~synack.stack.packet.SuperSegment`, which says where the
        link cuts it; its TCP checksum is left to a link that does GSO (``use_link``)."""
        tx = self._tx
        if not tx:
            return []
        self._tx = []
        if self.gso_max_size:
            # The link cuts super-segments (GSO) and completes their checksums.
            return [p if type(p) is bytes else p.super_segment(True) if p.gso_size  # type: ignore[union-attr]
                    else p.raw for p in tx]  # type: ignore[union-attr]
        return [p if type(p) is bytes else p.super_segment(False) if p.gso_size  # type: ignore[union-attr]
                else p.raw for p in tx]  # type: ignore[union-attr]

    def take_outgoing(self) -> list[Packet | bytes]:
        """What :meth:`take_packets` gives, as values where the host has them: a link that
        can carry :class:`Packet` values (the simulator) avoids encoding them."""
        tx = self._tx
        if tx:
            self._tx = []
        return tx

    def next_deadline(self) -> int | None:
        """The earliest timer of any connection or of fragment reassembly, in ns, or None."""
        d = self.table.next
        f = self.fragments.deadline
        for lst in self.syn_queues:  # (the SYN-queue records' retransmissions)
            s = lst.deadline()
            if s is not None and (f is None or s < f):
                f = s
        return d if f is None or (d is not None and d <= f) else f

    def poll(self) -> tuple[list[Packet | bytes], int | None]:
        """:meth:`take_outgoing` and :meth:`next_deadline` in one call, for a driver that
        polls after every event (the simulator); clears ``changed``."""
        self.changed = False
        tx = self._tx
        if tx:
            self._tx = []
        if self.syn_queues or self.fragments.deadline is not None:
            return tx, self.next_deadline()
        return tx, self.table.next  # (next_deadline() when only connections have timers)

    def on_timeout(self, now: int) -> None:
        """Run every connection timer that is due at ``now``."""
        self.changed = True  # the next deadline moves on, even if every entry was stale
        f = self.fragments.deadline
        if f is not None and f <= now:
            self._tx.extend(self.fragments.on_timeout(now))  # ICMP Time Exceeded, if any
        if self.syn_queues:
            for lst in list(self.syn_queues):
                lst.on_timeout(now)
        for conn in self.table.due(now):
            conn.on_timeout(now)
            self.updated(conn, now)  # (the table dropped its deadline: reschedule it)

    # -- secrets, made on first use from the host's seed (or injected) -----------------
    def _secret(self, purpose: str) -> bytes:
        # Not from self.rng: drawing from it would move every later ephemeral port.
        seed = self._secrets[0]
        return random.Random(None if seed is None else f"{seed}/{purpose}").randbytes(32)

    @property
    def syncookie_maker(self) -> SynCookies:
        """The host's SYN cookie generator (RFC 4987 §3.6), keyed with ``cookie_secret``."""
        sc = self._syncookies
        if sc is None:
            sc = self._syncookies = SynCookies(self._secrets[1] or self._secret("syncookies"))
        return sc

    @property
    def fastopen_key(self) -> FastOpenKey:
        """The key of the Fast Open cookies this host issues (RFC 7413 §4.1.2)."""
        k = self._fastopen_key
        if k is None:
            k = self._fastopen_key = FastOpenKey(self._secrets[2] or self._secret("fastopen"))
        return k

    @fastopen_key.setter
    def fastopen_key(self, key: FastOpenKey) -> None:
        """Rotate the Fast Open key: cookies issued before no longer validate."""
        if not isinstance(key, FastOpenKey):
            raise TypeError(f"fastopen_key must be a FastOpenKey, not {type(key).__name__}")
        self._fastopen_key = key

    # ------------------------------------------------------------ application side
    def listen(self, port: int, now: int, addr: str | None = None, backlog: int = 128,
               config: TcpConfig | None = None, *, syn_backlog: int | None = None,
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
            port = self._ephemeral(addr)
        listeners = self.table.listeners
        if (addr, port) in listeners or (None, port) in listeners or (
                addr is None and any(p == port for (_, p) in listeners)):
            raise _oserror(errno.EADDRINUSE, f"port {port} already has a listener")
        config = config or self.config
        if config.synack_retries is None and self.synack_retries is not None:
            # The host's tcp_synack_retries applies to its listeners' connections.
            config = replace(config, synack_retries=self.synack_retries)
        lst = Listener(self.table, addr, port, max(1, backlog), config, syn_backlog, fastopen=fastopen)
        listeners[(addr, port)] = lst
        return lst

    def connect(self, remote_addr: str, remote_port: int, now: int, *, local_addr: str | None = None,
                local_port: int = 0, config: TcpConfig | None = None,
                fastopen: bytes | None = None) -> Connection:
        """Active OPEN (RFC 9293 §3.10.1): send a SYN and return the connection.

        ``fastopen`` (bytes, possibly empty) makes it a TCP Fast Open connection (RFC 7413):
        the SYN carries the cookie cached for ``remote_addr`` and, with a cookie, the start
        of ``fastopen``, which is queued as if SENT; without a cookie it asks for one."""
        remote_addr = _remote(remote_addr)
        local_addr = self.source_address(remote_addr) if local_addr is None else self._own(local_addr)
        if local_port == 0:
            local_port = self._ephemeral(local_addr)
        key = (local_addr, local_port, remote_addr, remote_port)
        table = self.table
        if key in table.conns:
            raise _oserror(errno.EADDRINUSE, f"{local_addr}:{local_port} is already connected to "
                                              f"{remote_addr}:{remote_port}")
        if fastopen is not None and not isinstance(fastopen, (bytes, bytearray, memoryview)):
            raise TypeError(f"fastopen must be bytes (the data for the SYN), not {type(fastopen).__name__}")
        conn = self.new_connection(key, config or self.config)
        table.register(conn)
        if fastopen is not None:
            conn.fastopen_client(self.fastopen_cache, bytes(fastopen), now)
        conn.open(now)  # (the connection tells the host: updated())
        return conn

    def source_address(self, remote_addr: str) -> str:
        """The local address for a connection to ``remote_addr`` (RFC 9293 MUST-44)."""
        v6 = ":" in remote_addr
        for a in self.addrs:
            if (":" in a) == v6:
                return a
        raise _oserror(errno.ENETUNREACH, f"host {self.name} has no IPv{6 if v6 else 4} address "
                                          f"to reach {remote_addr}")

    def call(self, conn: Connection | TimeWait, now: int) -> None:
        """Kept for callers written before connections told their host of every call
        themselves: there is nothing left to flush, so this only makes sure the host has
        seen ``conn``'s latest state."""
        if conn.owner is self:
            self.updated(conn, now)

    # ------------------------------------------------------------ the owner of connections
    def updated(self, conn: Connection | TimeWait, now: int) -> None:
        """``conn`` had an event: take and trace what it queued, keep the table current."""
        self.changed = True
        out = conn.out
        if out:
            src = conn.local_addr
            dst = conn.remote_addr
            tx = self._tx  # (tx.append in the loop: a method call, not a bound method made first)
            tr = self.tracer
            cfg = conn.config
            ttl = cfg.ttl or self.ttl  # (IP_TTL)
            ds = cfg.tos & 0xFC        # the DS field (IP_TOS); the ECN field is the stack's
            ecn = conn.ecn_ok
            # (a segment with more data than gso is a super-segment: TSO; TIME-WAIT sends no data)
            gso = conn.snd.gso_size if type(conn) is Connection else _NO_GSO
            for seg, cause in out:
                # RFC 3168 §6.1: ECT(0) on new data only; the connection says which.
                tx.append(_tuple_new(Packet, (src, dst, seg, (ds | conn.ect(seg, cause)) if ecn else ds, ttl,
                                              gso if len(seg.payload) > gso else 0)))
                if tr.on:
                    tr.emit(SegmentSent(now, self.name, conn.cid, src, dst, seg, cause not in _NOT_RETRANSMISSIONS,
                                        cause))
            out.clear()
        self.table.updated(conn, now)

    def new_connection(self, key: tuple, config: TcpConfig | None, *, owned: bool = True,
                       traced: bool = True, isn=None) -> Connection:
        """A connection for the 4-tuple ``key`` with this host's ISNs, tracer, path MTU and
        challenge-ACK limit; ``owned`` ones tell the host of their events. ``traced=False``
        and ``isn`` serve a SYN cookie's throwaway or rebuilt TCB."""
        v6 = ":" in key[0]
        # Connection(...), made and initialised in two calls: a class called with keyword
        # arguments goes through type.__call__, which packs them into a dict first (some
        # 3,000 instructions a connection), where a method call passes them as they are.
        conn = _object_new(Connection)
        _connection_init(conn, key[0], key[1], key[2], key[3], config=config or self.config,
                         isn=isn if isn is not None else self.isn,
                         tracer=self.tracer if traced else NULL_TRACER,
                         mss_limit=self.mtu - (60 if v6 else 40), owner=self if owned else None,
                         challenge=self.challenge)  # (the host-wide RFC 5961 §7 limit)
        most = self.max_segment_bytes
        if most is None:
            gso_for = self.gso_for  # (read, then called: a callable attribute, not a method)
            gso = gso_for(key[2]) if gso_for is not None else self.gso_max_size
            if gso > self.mtu:
                # TSO: super-segments as large as the link takes (less the IP header and
                # the longest TCP header); the sender sizes them (tcp/sender.py).
                most = min(gso - (40 if v6 else 20) - 60, MAX_SEGMENT_BYTES)
        if most is not None:
            conn.set_max_segment_bytes(most)
        return conn

    def send_segment(self, src: str, dst: str, seg: TcpSegment, cause: str | None, now: int) -> None:
        """Send a segment that no connection owns: an RST for no TCB (RFC 9293 §3.10.7.1)
        or a SYN cookie's SYN,ACK."""
        self.changed = True
        self._tx.append(Packet(src, dst, seg, 0, self.ttl))
        if self.tracer.on:
            self.tracer.emit(SegmentSent(now, self.name, None, src, dst, seg, cause not in _NOT_RETRANSMISSIONS,
                                         cause))

    def send_packet(self, packet: bytes | Packet) -> None:
        """Send a finished IP packet (an ICMP error this host makes), or a segment no
        connection owns as a :class:`Packet` (a SYN-queue record's SYN,ACK)."""
        self.changed = True
        self._tx.append(packet)

    # ------------------------------------------------------------ internals
    def _own(self, addr: str) -> str:
        try:
            a = str(ipaddress.ip_address(addr))
        except ValueError:
            raise ValueError(f"address {addr!r} is not an IPv4 or IPv6 address") from None
        if a not in self._addrset:
            raise _oserror(errno.EADDRNOTAVAIL, f"host {self.name} does not own {a}")
        return a

    def _ephemeral(self, laddr: str | None) -> int:
        """A free port from the ephemeral range, starting at a random point of it."""
        lo, hi = self.ephemeral_ports
        span = hi - lo + 1
        bound = self.table.bound
        listeners = self.table.listeners  # (address, port) -> listener
        start = self.rng.randrange(span)
        for i in range(span):
            port = lo + (start + i) % span
            if listeners and _listened(listeners, port):
                continue
            if laddr is None:
                if any((a, port) in bound for a in self.addrs):
                    continue
            elif (laddr, port) in bound:
                continue
            return port
        raise _oserror(errno.EADDRNOTAVAIL, "no free ephemeral port")
