"""Discrete-event network simulator: a virtual clock, hosts, and seeded per-direction impairments.

The :class:`Network` owns the clock ``now`` (integer ns) and a heap of pending events, each a
tuple ``(time, counter, node, packet)``: a packet delivery, or (``packet is None``) a host
timer. Processing an event jumps the clock straight to its time (STYLE rule 2), so a 60 s
TIME-WAIT costs no wall time. A host's timer is one entry, pushed when its deadline comes
sooner than the entry already in the heap for it; a deadline that moved later is only
noted, and the earlier entry, when it pops, puts the timer back at that deadline with the
counter it got when it was set, so events keep the order one entry per deadline gives.
Everything random comes from one ``random.Random(seed)``: the same seed and the same calls
give the same event history.

Packets travel as values where the sending host offers them (a synack ``Host`` queues
``synack.stack.packet.Packet`` values: addresses, ECN field and the segment): the receiving
host takes the segment without parsing it, and bytes are made only where they matter (a
corrupted copy, an ICMP error that quotes the packet, a drop predicate that reads ``raw``).
The same packets, impairments and random draws result as with bytes all the way.

Per direction ``a -> b`` a :class:`PathParams` says what the link does to a packet, in this
order: segmentation offload (``gso``: a super-segment becomes its wire segments, each of
which goes on alone), scripted faults (``drop_nth``, ``drop_if``), MTU check, transmit queue and
serialisation (when ``bandwidth_bps`` is set), random loss, duplication, and per copy
corruption, reordering and jitter. Link drops are traced as ``SegmentDropped`` with
``host`` = the sender; the hosts trace their own sends and receives.

Scripted scenarios (the RFC 9293 figures) also need packets no host sent and packets that
stay in the network a while: :meth:`Network.inject` delivers crafted bytes (an old
duplicate), :meth:`Network.hold_if` keeps chosen packets in the network until
:meth:`Hold.release`, and :meth:`Network.reboot` replaces a host by a fresh one that has
lost all memory (RFC 9293 §3.5.1).
"""

from __future__ import annotations

import heapq
import ipaddress
import random
from collections import deque
from dataclasses import replace
from functools import partial
from typing import Any
from collections.abc import Callable

from ..stack.packet import Packet
from ..timeunits import NS_PER_S, sec
from .gso import GSO_MAX_SIZE, split_packet
from .path import _PATH_FIELDS, PathParams
from ..trace.events import Recorder, SegmentDropped, StateChanged

__all__ = ["PathParams", "LinkPacket", "Fault", "Hold", "Network"]

_heappush = heapq.heappush




class LinkPacket:
    """A packet on the link, as ``drop_if`` predicates see it. ``hdr``/``seg`` are parsed on
    first access with ``synack.wire.ip.parse_packet``; ``seg`` is ``None`` when unparseable
    (and ``hdr`` too when even the IP header is bad). A packet that travels as values gives
    its segment at once and makes ``raw`` only if asked."""

    __slots__ = ("_pkt", "_raw", "src_host", "dst_host", "_hdr", "_seg", "_parsed")

    def __init__(self, raw: bytes | Packet, src_host: str, dst_host: str | None) -> None:
        self._pkt = raw
        self._raw: bytes | None = None if isinstance(raw, Packet) else raw
        self.src_host = src_host
        self.dst_host = dst_host
        self._parsed = False
        self._hdr: Any = None
        self._seg: Any = None

    @property
    def raw(self) -> bytes:
        """The packet's bytes."""
        r = self._raw
        if r is None:
            r = self._raw = self._pkt.raw  # type: ignore[union-attr]
        return r

    def _parse(self) -> None:
        self._parsed = True
        self._hdr, self._seg = _parse(self.raw)

    @property
    def seg(self) -> Any:
        p = self._pkt
        if type(p) is Packet:
            return p.seg
        if not self._parsed:
            self._parse()
        return self._seg

    @property
    def hdr(self) -> Any:
        if not self._parsed:
            self._parse()
        return self._hdr

    def __repr__(self) -> str:
        return f"LinkPacket({self.src_host}->{self.dst_host}, {len(self.raw)} bytes, seg={self.seg!r})"


_parsers: tuple | None = None


def _load_parsers() -> tuple:
    """(parse_packet, parse_ip, MalformedPacket), imported on first use; ``()`` when
    ``synack.wire.ip`` does not exist (yet): the link then works on raw bytes alone."""
    global _parsers
    if _parsers is None:
        try:
            from ..wire.errors import MalformedPacket
            from ..wire.ip import parse_ip, parse_packet
        except ModuleNotFoundError as e:
            if e.name != "synack.wire.ip":
                raise
            _parsers = ()
        else:
            _parsers = (parse_packet, parse_ip, MalformedPacket)
    return _parsers


def _parse(raw: bytes) -> tuple[Any, Any]:
    """(IpHeader, TcpSegment) of ``raw``; ``None`` for whatever part does not parse."""
    parsers = _parsers if _parsers is not None else _load_parsers()
    if not parsers:
        return None, None
    parse_packet, parse_ip, MalformedPacket = parsers
    try:
        return parse_packet(raw)
    except MalformedPacket:
        pass
    try:
        return parse_ip(raw)[0], None
    except MalformedPacket:
        return None, None


class Fault:
    """Handle on a scripted fault; ``remove()`` cancels it. ``hits`` counts packets dropped."""

    __slots__ = ("_owner", "n", "predicate", "remaining", "hits", "active")

    def __init__(self, owner: list, n: int = 0, predicate: Callable | None = None,
                 remaining: int | None = None) -> None:
        self._owner = owner
        self.n = n
        self.predicate = predicate
        self.remaining = remaining
        self.hits = 0
        self.active = True

    def remove(self) -> None:
        """Cancel the fault (harmless if it already fired or was removed)."""
        if self.active:
            self.active = False
            self._owner.remove(self)


class Hold(Fault):
    """Handle on :meth:`Network.hold_if`: ``packets`` are held in the network (not lost, not
    delivered) until :meth:`release`. ``hits`` counts packets taken."""

    __slots__ = ("packets", "_net")

    def __init__(self, net: Network, predicate: Callable, remaining: int | None) -> None:
        super().__init__(net._holds, predicate=predicate, remaining=remaining)
        self._net = net
        #: (destination node, link, packet bytes) in the order they were taken
        self.packets: list = []

    def release(self, delay: int | None = None) -> int:
        """Stop holding, and deliver every held packet, in order, ``delay`` ns from now
        (default: the path's propagation delay; other impairments do not apply again).
        Returns how many packets were released."""
        if delay is not None and delay < 0:
            raise ValueError(f"delay must be >= 0 ns, got {delay}")
        self.remove()
        net = self._net
        held, self.packets = self.packets, []
        for dst, link, packet in held:
            net._seq += 1
            heapq.heappush(net._heap, (net.now + (link.params.delay if delay is None else delay),
                                       net._seq, dst, packet))
        return len(held)


class _Link:
    """State of one direction a -> b: parameters, packet count, transmit queue, drop_nth faults."""

    __slots__ = ("params", "dst", "count", "free_at", "tx_ends", "nth")

    def __init__(self, params: PathParams) -> None:
        self.params = params
        #: the node at b (set when a first sends there)
        self.dst: Any = None
        #: packets a has sent to b since the network started (drop_nth counts these)
        self.count = 0
        #: time the transmitter finishes the last queued packet
        self.free_at = 0
        #: transmission end times of packets waiting or in transmission (FIFO)
        self.tx_ends: deque = deque()
        self.nth: list = []


class _Node:
    """A host attached to the network, with cached bound methods and its timer entry."""

    __slots__ = ("host", "name", "take", "poll", "next_deadline", "deliver", "deliver_value", "deliver_batch",
                 "deadline", "token", "wake", "wake_seq", "spin", "out", "to", "tracked")

    def __init__(self, host: Any) -> None:
        self.name: str = host.name
        self.bind(host)
        #: destination node -> _Link
        self.out: dict = {}
        #: destination address, as a Packet names it -> _Link (its ``dst`` set)
        self.to: dict[str, _Link] = {}

    def bind(self, host: Any) -> None:
        """Attach ``host`` (again, after a reboot): its methods, no timer entry yet."""
        self.host = host
        cls = type(host)
        # Values where the host offers them: a host that queues Packet values and takes
        # them, unless a subclass changed how it hands out or takes bytes (to watch or
        # count them), which it then must see.
        values = _paired(cls, "deliver", "deliver_packet")
        self.take = host.take_outgoing if _paired(cls, "take_packets", "take_outgoing") else host.take_packets
        self.next_deadline = host.next_deadline
        #: the host's ``take_outgoing`` and ``next_deadline`` in one call (Host.poll), or None:
        #: not when a subclass changed either of them (or ``take_packets``) below ``poll``
        self.poll = host.poll if hasattr(host, "changed") and all(
            _paired(cls, m, "poll") for m in ("take_packets", "take_outgoing", "next_deadline")) else None
        self.deliver = host.deliver
        #: takes a Packet value without its bytes, or None (bytes only)
        self.deliver_value = host.deliver_packet if values else None
        #: takes packets that arrive at one instant together (Host.deliver_batch), or None
        self.deliver_batch = getattr(host, "deliver_batch", None)
        #: the deadline of this host's one live timer entry (None: none scheduled)
        self.deadline: int | None = None
        #: heap counter of the live timer entry; other timer entries for this node are stale
        self.token = 0
        #: (time, heap counter) of the timer entry in the heap that pops first for this node:
        #: the live one, or one pushed for an earlier deadline, which then brings the live one
        #: (``Network._woken``); time None: none
        self.wake: int | None = None
        self.wake_seq = 0
        #: consecutive on_timeout calls that left a deadline <= now (runaway-timer guard)
        self.spin = 0
        #: the host keeps a ``changed`` flag (synack's Host does): flush only when it is set
        self.tracked = hasattr(host, "changed")


def _paired(cls: type, method: str, values_method: str) -> bool:
    """Does ``cls`` have ``values_method``, defined in a subclass of (or beside) the class
    that defines ``method``? (Not when a subclass overrides ``method`` alone.)"""
    mro = cls.__mro__
    values_at = next((i for i, c in enumerate(mro) if values_method in c.__dict__), None)
    method_at = next((i for i, c in enumerate(mro) if method in c.__dict__), None)
    return values_at is not None and method_at is not None and values_at <= method_at


_SPIN_LIMIT = 10_000


class Network:
    """A discrete-event network of hosts. See the module docstring."""

    def __init__(self, seed: int = 0, recorder: Recorder | None = None, trace: bool = True) -> None:
        #: the virtual clock, integer ns
        self.now = 0
        self.seed = seed
        #: the one source of randomness of the network and the hosts it creates
        self.rng = random.Random(seed)
        self.recorder = recorder if recorder is not None else Recorder(on=trace)
        #: paths created from now on start as a copy of this
        self.default_path = PathParams()
        #: host name -> host
        self.hosts: dict[str, Any] = {}
        #: packets delivered to hosts, and link drops by reason
        self.delivered = 0
        self.dropped: dict[str, int] = {}
        #: ECT packets the paths marked Congestion Experienced (PathParams.ecn_mark)
        self.ce_marked = 0
        self._nodes: list[_Node] = []
        self._by_name: dict[str, _Node] = {}
        self._route: dict[bytes, _Node] = {}  # packed address -> node
        self._addr_str: dict[bytes, str] = {}  # packed address -> the string the host was given
        self._by_addr: dict[str, _Node] = {}  # address as hosts write it -> node
        self._paths: dict[tuple[str, str], PathParams] = {}
        self._links: dict[tuple[str, str], _Link] = {}
        self._rules: list[Fault] = []
        self._holds: list[Hold] = []
        self._heap: list = []
        self._seq = 0
        #: the last entry _on_link pushed, while packets may still join it: (time, heap
        #: counter, node, its list of packets), the heap entry itself
        self._burst: tuple | None = None

    # ---- hosts -------------------------------------------------------------------------

    def add_host(self, name: str, addrs: list[str], **host_kwargs: Any) -> Any:
        """Create a ``synack.stack.host.Host`` (seeded from the network rng, tracing into the
        network's recorder), attach it, and return it."""
        from ..stack.host import Host

        derived = self.rng.getrandbits(64)  # drawn even when a seed is given: same rng stream
        host_kwargs.setdefault("seed", derived)
        host_kwargs.setdefault("recorder", self.recorder)
        host = Host(name, list(addrs), **host_kwargs)
        self.attach(host)
        return host

    def attach(self, host: Any) -> Any:
        """Attach an existing host object (anything with the Host link-side interface)."""
        name = host.name
        if name in self._by_name:
            raise ValueError(f"a host named {name!r} is already attached")
        packed = []
        for addr in host.addrs:
            key = ipaddress.ip_address(addr).packed
            if key in self._route:
                raise ValueError(f"address {addr} already belongs to host {self._route[key].name!r}")
            packed.append((key, addr))
        node = _Node(host)
        if hasattr(host, "gso_for"):
            # The host asks its link, per destination, whether it may send super-segments.
            host.gso_for = partial(self._gso_max_size, name)
        for key, addr in packed:
            self._route[key] = node
            self._addr_str[key] = addr
            self.recorder.names[addr] = name
            canonical = str(ipaddress.ip_address(addr))
            self._by_addr[addr] = self._by_addr[canonical] = node
            if canonical != addr:
                self.recorder.names[canonical] = name
        self._nodes.append(node)
        self._by_name[name] = node
        self.hosts[name] = host
        return host

    def host(self, name: str) -> Any:
        """The host called ``name`` (KeyError if none)."""
        return self.hosts[name]

    def reboot(self, name: str, **host_kwargs: Any) -> Any:
        """Crash host ``name`` and start a fresh ``Host`` in its place, with the same name and
        addresses and no memory of connections, listeners or timers (RFC 9293 §3.5.1: "a
        failure or reboot that resulted in loss of memory"). Packets the old host had not
        yet handed to the network are lost; packets in flight reach the new host. Each
        connection the old host had is traced as a ``StateChanged`` to CLOSED with cause
        "host reboot", so views show the loss. Keyword arguments go to the new ``Host``
        (as in :meth:`add_host`). Returns the new host."""
        from ..stack.host import Host

        node = self._by_name[name]
        old = node.host
        derived = self.rng.getrandbits(64)
        host_kwargs.setdefault("seed", derived)
        host_kwargs.setdefault("recorder", self.recorder)
        host = Host(name, list(old.addrs), **host_kwargs)
        rec = self.recorder
        if rec.on:
            for cid, conn in getattr(old, "conns", {}).items():
                state = str(conn.state)
                if state != "CLOSED":
                    rec.emit(StateChanged(self.now, name, cid, state, "CLOSED", "host reboot",
                                          "RFC 9293 §3.5.1"))
        node.bind(host)  # (the old host's timer entry is now stale)
        self.hosts[name] = host
        return host

    # ---- paths and faults --------------------------------------------------------------

    def path(self, a: str, b: str) -> PathParams:
        """The impairments of direction a -> b (host names), created from ``default_path``
        on first use. Edit its fields freely; they apply to packets sent afterwards."""
        p = self._paths.get((a, b))
        if p is None:
            p = self._paths[(a, b)] = replace(self.default_path)
        return p

    def set_path(self, a: str, b: str, **kw: Any) -> PathParams:
        """Set fields of the a -> b path, e.g. ``set_path("c", "s", delay=ms(10), loss=0.01)``."""
        unknown = set(kw) - _PATH_FIELDS
        if unknown:
            raise TypeError(f"unknown path parameter(s): {', '.join(sorted(unknown))}")
        p = self.path(a, b)
        trial = replace(p, **kw)
        trial.validate()
        for k, v in kw.items():
            setattr(p, k, v)
        return p

    def set_both(self, a: str, b: str, **kw: Any) -> tuple[PathParams, PathParams]:
        """``set_path`` on both directions between a and b."""
        return self.set_path(a, b, **kw), self.set_path(b, a, **kw)

    def _gso_max_size(self, name: str, remote: str) -> int:
        """What host ``name``'s link takes towards ``remote``: 64 KB super-segments on a
        path with ``gso``, else nothing larger than a wire packet (0)."""
        dst = self._by_addr.get(remote)
        if dst is None:
            return 0
        p = self._paths.get((name, dst.name)) or self.default_path
        return GSO_MAX_SIZE if p.gso else 0

    def _link_to(self, node: _Node, dst: _Node) -> _Link:
        """The link from ``node`` to ``dst``."""
        link = node.out.get(dst)
        if link is None:
            link = node.out[dst] = self._link(node.name, dst.name)
            link.dst = dst
        return link

    def _link(self, a: str, b: str) -> _Link:
        link = self._links.get((a, b))
        if link is None:
            link = self._links[(a, b)] = _Link(self.path(a, b))
        return link

    def drop_nth(self, a: str, b: str, n: int) -> Fault:
        """Drop the n-th packet (1-based) that a sends to b, counting every packet a -> b
        since the network started. Traced with reason "scripted"."""
        if n < 1:
            raise ValueError(f"n is 1-based, got {n}")
        link = self._link(a, b)
        fault = Fault(link.nth, n=n, remaining=1)
        link.nth.append(fault)
        return fault

    def drop_if(self, predicate: Callable[[LinkPacket], bool], count: int | None = None) -> Fault:
        """Drop every packet for which ``predicate(pkt)`` is true (a :class:`LinkPacket`),
        at most ``count`` times if given. Traced with reason "scripted"."""
        if count is not None and count < 1:
            raise ValueError(f"count must be >= 1 or None, got {count}")
        fault = Fault(self._rules, predicate=predicate, remaining=count)
        self._rules.append(fault)
        return fault

    def hold_if(self, predicate: Callable[[LinkPacket], bool], count: int | None = None) -> Hold:
        """Hold every packet for which ``predicate(pkt)`` is true (at most ``count``) in the
        network until ``release()``: a segment "still in the network (delayed)", the RFC's
        "...". Scripted drops are checked first. Held packets are not traced here: the
        sender traced the send, and the receiver traces the arrival."""
        if count is not None and count < 1:
            raise ValueError(f"count must be >= 1 or None, got {count}")
        hold = Hold(self, predicate, count)
        self._holds.append(hold)
        return hold

    def inject(self, src_host: str, packet: bytes, delay: int = 0) -> None:
        """Put a crafted IP packet (e.g. from ``synack.wire.ip.emit_packet``) on the wire
        from ``src_host``'s side: it reaches the host owning its destination address after
        ``delay`` ns, with no impairments and no send traced (no TCP sent it: an old
        duplicate, a forged reset). The receiving host traces it like any other packet. A
        destination no host owns is a traced "no-route" drop."""
        if delay < 0:
            raise ValueError(f"delay must be >= 0 ns, got {delay}")
        node = self._by_name[src_host]
        v = packet[0] >> 4 if packet else 0
        dst = self._route.get(packet[16:20] if v == 4 else packet[24:40] if v == 6 else b"")
        if dst is None:
            self._drop(node, None, packet, "no-route", "inject")
            return
        self._seq += 1
        heapq.heappush(self._heap, (self.now + delay, self._seq, dst, packet))

    # ---- sending -----------------------------------------------------------------------

    def flush(self) -> None:
        """Schedule every host's pending packets through the path model, and (re)schedule
        each host's timer from ``next_deadline()``."""
        flush_node = self._flush_node
        for node in self._nodes:
            if node.tracked and not node.host.changed:
                continue  # the common case, without a call
            flush_node(node)

    def _flush_node(self, node: _Node) -> None:
        """Send what ``node``'s host queued and schedule its timer; for a host whose
        ``changed`` flag is set, or that keeps none (the callers check)."""
        poll = node.poll
        if poll is not None:
            pkts, d = poll()  # (clears ``changed``)
            for packet in pkts:
                self._send(node, packet)  # (mostly one: a method call, no bound method made first)
        else:
            if node.tracked:
                node.host.changed = False
            pkts = node.take()
            if pkts:
                send = self._send
                for packet in pkts:
                    send(node, packet)
            d = node.next_deadline()
        if d != node.deadline:
            node.deadline = d
            if d is None:
                node.token = 0
            else:
                self._seq = seq = self._seq + 1
                node.token = seq
                w = node.wake
                if w is None or d < w:
                    now = self.now
                    if d < now:
                        d = now
                    node.wake = d
                    node.wake_seq = seq
                    _heappush(self._heap, (d, seq, node, None))
                # (else the entry at ``w`` pops first and puts this one in the heap: _woken)

    def _woken(self, node: _Node, seq: int) -> None:
        """A timer entry of ``node`` that is not the live one popped: if it is the one that
        pops first for the node, the live entry takes its place in the heap, at the deadline
        and with the counter it got when it was set (the same entry an eager push would have
        made: the deadline then lay at or after this entry, and so not before the clock)."""
        if seq == node.wake_seq:
            tok = node.token
            if tok:
                d = node.deadline
                node.wake = d
                node.wake_seq = tok
                heapq.heappush(self._heap, (d, tok, node, None))
            else:
                node.wake = None

    def _send(self, node: _Node, packet: bytes | Packet) -> None:
        """One packet leaves ``node``: route it and run it through the a -> dst path."""
        if type(packet) is Packet:
            link = node.to.get(packet.dst)
            if link is None:
                dst = self._by_addr.get(packet.dst)
                if dst is None:
                    dst = self._route.get(ipaddress.ip_address(packet.dst).packed)
                if dst is None:
                    self._drop(node, None, packet, "no-route")
                    return
                link = node.to[packet.dst] = self._link_to(node, dst)
            dst = link.dst
        else:
            if packet:
                raw: bytes = packet  # type: ignore[assignment]
                v = raw[0] >> 4
                dst = self._route.get(raw[16:20] if v == 4 else raw[24:40] if v == 6 else b"")
            else:
                dst = None
            if dst is None:
                self._drop(node, None, packet, "no-route")
                return
            link = self._link_to(node, dst)
        p = link.params
        if p.gso and type(packet) is Packet and packet.gso_size:
            # GSO: the super-segment leaves as its wire segments (synack.link.gso).
            for piece in split_packet(packet):
                self._on_link(node, dst, link, piece)
            return
        if p._impaired or link.nth or self._rules or self._holds:
            self._on_link(node, dst, link, packet)
            return
        # (the plain path of _on_link, in line: the common case)
        link.count += 1
        t = self.now + p.delay
        burst = self._burst
        if burst is not None and burst[0] == t and burst[2] is dst and burst[1] == self._seq:
            burst[3].append(packet)
            return
        self._seq = seq = self._seq + 1
        self._burst = entry = (t, seq, dst, [packet])
        _heappush(self._heap, entry)

    def _on_link(self, node: _Node, dst: _Node, link: _Link, packet: bytes | Packet) -> None:
        """One wire packet on the path ``node`` -> ``dst``: faults, then impairments."""
        link.count += 1
        if link.nth:
            for fault in link.nth:
                if fault.n == link.count:
                    fault.hits += 1
                    fault.remove()
                    self._drop(node, dst, packet, "scripted", f"drop_nth({fault.n})")
                    return
        if self._rules and self._scripted(node, dst, packet):
            return
        if self._holds and self._held(node, dst, link, packet):
            return
        p = link.params
        if not p._impaired:
            t = self.now + p.delay
            burst = self._burst
            if burst is not None and burst[0] == t and burst[2] is dst and burst[1] == self._seq:
                burst[3].append(packet)  # (right behind the last packet on its way to dst)
                return
            self._seq = seq = self._seq + 1
            self._burst = entry = (t, seq, dst, [packet])
            _heappush(self._heap, entry)
            return
        self._impaired(node, dst, link, p, packet)

    def _scripted(self, node: _Node, dst: _Node, packet: bytes | Packet) -> bool:
        view = LinkPacket(packet, node.name, dst.name)
        for fault in self._rules:
            if fault.predicate is not None and fault.predicate(view):
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        fault.remove()
                self._drop(node, dst, packet, "scripted", "drop_if", view)
                return True
        return False

    def _held(self, node: _Node, dst: _Node, link: _Link, packet: bytes | Packet) -> bool:
        view = LinkPacket(packet, node.name, dst.name)
        for hold in self._holds:
            if hold.predicate is not None and hold.predicate(view):
                hold.hits += 1
                hold.packets.append((dst, link, packet.raw if isinstance(packet, Packet) else packet))
                if hold.remaining is not None:
                    hold.remaining -= 1
                    if hold.remaining <= 0:
                        hold.remove()
                return True
        return False

    def _impaired(self, node: _Node, dst: _Node, link: _Link, p: PathParams, packet: bytes | Packet) -> None:
        """The slow path: MTU, queue and serialisation, loss, duplication, corruption,
        reordering, jitter."""
        now = self.now
        rng = self.rng
        size = packet.size if isinstance(packet, Packet) else len(packet)
        if p.mtu is not None and size > p.mtu:
            self._drop(node, dst, packet, "too-big", f"{size} > mtu {p.mtu}")
            if p.icmp_too_big:
                self._icmp_too_big(node, packet, p)
            return
        start = now
        if p.bandwidth_bps:
            tx_ends = link.tx_ends
            while tx_ends and tx_ends[0] <= now:
                tx_ends.popleft()
            if p.queue_packets is not None and len(tx_ends) >= p.queue_packets:
                self._drop(node, dst, packet, "queue-full", f"{len(tx_ends)} packets queued")
                return
            if link.free_at > now:
                start = link.free_at
            start = int(start - (-size * 8 * NS_PER_S // p.bandwidth_bps))  # ceil: the serialisation delay
            link.free_at = start
            tx_ends.append(start)
        if p.loss and rng.random() < p.loss:
            self._drop(node, dst, packet, "link-loss")
            return
        if p.ecn_mark:
            # RFC 3168 §5: an ECN-capable packet is marked CE instead of being dropped
            if isinstance(packet, Packet):
                if (packet.ecn & 3) in (1, 2) and rng.random() < p.ecn_mark:
                    packet = packet.marked(3)
                    self.ce_marked += 1
            elif _ect(packet) and rng.random() < p.ecn_mark:
                packet = _mark_ce(packet)
                self.ce_marked += 1
        arrive = start + p.delay
        copies = 2 if p.duplicate and rng.random() < p.duplicate else 1
        heap = self._heap
        for _ in range(copies):
            pkt = packet
            t = arrive
            if p.corrupt and rng.random() < p.corrupt:
                pkt = _corrupt(packet.raw if isinstance(packet, Packet) else packet, rng)
            if p.reorder and rng.random() < p.reorder:
                t += p.delay if p.reorder_delay is None else p.reorder_delay
            if p.jitter:
                t += rng.randint(0, p.jitter)
            self._seq += 1
            heapq.heappush(heap, (t, self._seq, dst, pkt))

    def _icmp_too_big(self, node: _Node, packet: bytes | Packet, p: PathParams) -> None:
        """The path tells the sender its packet was too big (RFC 1191 §4, RFC 8201 §4):
        an ICMP error quoting it, from the packet's destination address, back after
        ``delay``."""
        from ..wire.icmp import DEST_UNREACH, FRAG_NEEDED, V6_PACKET_TOO_BIG, emit_icmp_error

        if isinstance(packet, Packet):
            far = packet.dst
            raw = packet.raw
        else:
            raw = packet
            far = _addresses(raw, self._addr_str)[1]
        mtu = p.mtu or 0
        try:
            if raw[0] >> 4 == 4:
                err = emit_icmp_error(far, raw, DEST_UNREACH, FRAG_NEEDED, mtu)
            else:
                err = emit_icmp_error(far, raw, V6_PACKET_TOO_BIG, 0, mtu)
        except ValueError:
            return  # not an IP packet we can quote
        self._seq += 1
        heapq.heappush(self._heap, (self.now + p.delay, self._seq, node, err))

    def _drop(self, node: _Node, dst: _Node | None, packet: bytes | Packet, reason: str, detail: str = "",
              view: LinkPacket | None = None) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        rec = self.recorder
        if not rec.on:
            return
        if type(packet) is Packet:
            seg, src, dst_addr = packet.seg, packet.src, packet.dst
        else:
            seg = view.seg if view is not None else _parse(packet)[1]  # type: ignore[arg-type]
            src, dst_addr = _addresses(packet, self._addr_str)  # type: ignore[arg-type]
        rec.emit(SegmentDropped(self.now, node.name, None, src, dst_addr, seg, reason, detail))

    # ---- running -----------------------------------------------------------------------

    def _next_time(self) -> int | None:
        """Time of the next live event (dropping stale timer entries), or None when idle."""
        heap = self._heap
        while heap:
            t, seq, node, pkt = heap[0]
            if pkt is None and seq != node.token:
                heapq.heappop(heap)
                self._woken(node, seq)
                continue
            return t
        return None

    def next_time(self) -> int | None:
        """When the next event will happen (after flushing), or None when the network is idle."""
        self.flush()
        return self._next_time()

    def _process(self) -> _Node | None:
        """Pop and process the next live event; return the node it touched, or None if idle."""
        heap = self._heap
        while heap:
            entry = heapq.heappop(heap)
            if entry[3] is not None or entry[1] == entry[2].token:
                return self._handle(entry)
            # (not live: the host's deadline moved since this entry was pushed)
            self._woken(entry[2], entry[1])
        return None

    def _handle(self, entry: tuple) -> _Node:
        """Process one live event, already taken off the heap; the clock jumps to it."""
        t, _, node, pkt = entry
        self.now = t
        if pkt is not None:
            if type(pkt) is list:
                # A burst: packets that left one host for ``node`` at one instant, on a
                # plain path (_on_link), carried as one entry.
                self._burst = None  # (no more packets join it)
                heap = self._heap
                if len(pkt) > 1 or (heap and heap[0][0] == t and heap[0][2] is node):
                    self._batch(node, t, pkt)
                    return node
                pkt = pkt[0]
            else:
                heap = self._heap
                if heap:
                    nxt = heap[0]
                    if nxt[0] == t and nxt[2] is node and nxt[3] is not None:
                        self._batch(node, t, [pkt])
                        return node
            self.delivered += 1
            if type(pkt) is Packet:
                # (the bound method read from its slot, then called: node.deliver_value(...)
                # looks it up as a method first, the slow way)
                deliver_value = node.deliver_value
                if deliver_value is not None:
                    deliver_value(pkt, t)
                else:
                    node.deliver(pkt.raw, t)
            else:
                node.deliver(pkt, t)
            return node
        node.token = 0
        node.deadline = None
        node.wake = None
        next_deadline = node.next_deadline  # (a bound method in a slot: read, then called)
        d = next_deadline()
        if d is not None and d <= t:
            node.host.on_timeout(t)
            d = next_deadline()
            if d is not None and d <= t:
                node.spin += 1
                if node.spin > _SPIN_LIMIT:
                    raise RuntimeError(
                        f"host {node.name!r}: next_deadline() stays at {d} <= now {t} after on_timeout")
            else:
                node.spin = 0
        return node

    def _batch(self, node: _Node, t: int, batch: list) -> None:
        """Deliver ``batch`` and every packet that follows it at ``t`` to ``node``, at once:
        packets that reach one host at the same instant arrive as one batch, which the host
        processes whole before it ACKs (RFC 9293 §3.10.7.4 MUST-59)."""
        heap = self._heap
        pop = heapq.heappop
        while heap:
            nxt = heap[0]
            if nxt[0] != t or nxt[2] is not node or nxt[3] is None:
                break
            more = pop(heap)[3]
            if type(more) is list:
                self._burst = None
                batch = batch + more
            else:
                batch = batch + [more]
        self.delivered += len(batch)
        if node.deliver_value is None:  # (a host that takes bytes only)
            batch = [p.raw if type(p) is Packet else p for p in batch]
        deliver_batch = node.deliver_batch
        if deliver_batch is not None:
            deliver_batch(batch, t)
            return
        deliver = node.deliver
        for p in batch:
            deliver(p, t)

    def _advance(self, end: int | None) -> bool | None:
        """Flush every host, then process the next live event unless it lies beyond ``end``
        (False) or there is none (None); True when one was processed."""
        for node in self._nodes:
            if node.tracked and not node.host.changed:
                continue  # the common case, without a call
            self._flush_node(node)
        heap = self._heap
        while heap:
            entry = heap[0]
            if entry[3] is None and entry[1] != entry[2].token:
                heapq.heappop(heap)  # a timer entry that is not live
                self._woken(entry[2], entry[1])
                continue
            if end is not None and entry[0] > end:
                return False
            heapq.heappop(heap)
            self._handle(entry)
            return True
        return None

    def step(self) -> bool:
        """Flush, process the next event (the clock jumps to it), flush. False if idle."""
        self.flush()
        node = self._process()
        if node is None:
            return False
        if not node.tracked or node.host.changed:
            self._flush_node(node)
        return True

    def run_until(self, cond: Callable[[], bool], timeout: int | None = None) -> bool:
        """Process events until ``cond()`` is true (checked after each flush, before each
        event). False if the network went idle, or ``timeout`` ns of simulated time passed,
        first; with a timeout the clock then stands at the start + timeout."""
        end = None if timeout is None else self.now + timeout
        nodes = self._nodes
        heap = self._heap
        pop = heapq.heappop
        # (self._flush_node(...) and the others called as methods: cheaper than making
        # bound methods for the few events of a call)
        while True:
            for node in nodes:
                if node.tracked and not node.host.changed:
                    continue
                self._flush_node(node)
            if cond():
                return True
            while heap:
                entry = heap[0]
                if entry[3] is None and entry[1] != entry[2].token:
                    pop(heap)  # a timer entry that is not live
                    self._woken(entry[2], entry[1])
                    continue
                break
            else:
                entry = None
            if entry is None or (end is not None and entry[0] > end):
                if end is not None and end > self.now:
                    self.now = end
                return False
            pop(heap)
            self._handle(entry)

    def run_for(self, duration: int) -> None:
        """Process every event up to now + duration, then set the clock to now + duration."""
        end = self.now + duration
        advance = self._advance
        while advance(end):
            pass
        if end > self.now:
            self.now = end

    def run(self, max_time: int = sec(3600)) -> bool:
        """Run until idle; True if it got there, False if ``max_time`` ns of simulated time
        passed first (the clock then stands at the start + max_time)."""
        end = self.now + max_time
        advance = self._advance
        while True:
            r = advance(end)
            if r is None:
                return True
            if r is False:
                self.now = end
                return False


def _addresses(packet: bytes, names: dict[bytes, str]) -> tuple[str, str]:
    """(src, dst) address strings of an IP packet, "" where the packet is too short."""
    if packet:
        v = packet[0] >> 4
        if v == 4 and len(packet) >= 20:
            return _addr(packet[12:16], names), _addr(packet[16:20], names)
        if v == 6 and len(packet) >= 40:
            return _addr(packet[8:24], names), _addr(packet[24:40], names)
    return "", ""


def _addr(packed: bytes, names: dict[bytes, str]) -> str:
    s = names.get(packed)
    return s if s is not None else str(ipaddress.ip_address(packed))


def _ect(packet: bytes) -> bool:
    """Is the packet ECN-capable and not yet marked (ECN field 01 or 10, RFC 3168 §5)?"""
    v = packet[0] >> 4
    if v == 4 and len(packet) >= 20:
        e = packet[1] & 3
    elif v == 6 and len(packet) >= 40:
        e = (packet[1] >> 4) & 3
    else:
        return False
    return e == 1 or e == 2


def _mark_ce(packet: bytes) -> bytes:
    """The packet with its ECN field set to CE (11); an IPv4 header checksum is recomputed."""
    buf = bytearray(packet)
    if packet[0] >> 4 == 4:
        buf[1] |= 3
        hlen = (buf[0] & 0x0F) * 4
        buf[10] = buf[11] = 0
        total = sum(int.from_bytes(buf[i:i + 2], "big") for i in range(0, hlen, 2))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        buf[10:12] = (0xFFFF - total).to_bytes(2, "big")
    else:
        buf[1] |= 0x30
    return bytes(buf)


def _corrupt(packet: bytes, rng: random.Random) -> bytes:
    """Flip 1..3 bits of the IP payload (RFC 9293 §3.1: the TCP checksum must catch it).

    The flipped bits have distinct positions within a 16-bit word (counting words from the
    start of the payload, where the TCP checksum's words start), so their changes to the
    ones'-complement sum cannot cancel: the sum moves by a nonzero amount below 0xFFFF.
    """
    v = packet[0] >> 4
    hlen = (packet[0] & 0x0F) * 4 if v == 4 else 40 if v == 6 else 0
    plen = len(packet) - hlen
    if plen <= 0:
        return packet
    # a bit position within a word: (byte parity << 3) | bit; odd bytes exist only if plen > 1
    positions = rng.sample(range(16 if plen > 1 else 8), rng.randint(1, 3))
    buf = bytearray(packet)
    for pos in positions:
        parity = pos >> 3
        k = rng.randrange((plen - parity + 1) // 2)
        buf[hlen + parity + 2 * k] ^= 0x80 >> (pos & 7)
    return bytes(buf)
