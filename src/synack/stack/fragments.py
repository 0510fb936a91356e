"""IP fragment reassembly for one host: IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5).

A host must reassemble the datagrams sent to it in pieces (RFC 1122 §3.3.2; Linux does). A
:class:`Reassembler` keeps the pieces of each datagram, keyed as the RFCs say (IPv4: source,
destination, protocol, Identification; IPv6: source, destination, Identification), and
hands back the whole datagram, as one ordinary IP packet, when every piece is there. The
host then delivers that packet as if it had arrived whole.

Fragments are an old way to make a host work and hold memory for nothing, so every limit
below is enforced, and every fragment that is refused is a traced ``SegmentDropped`` whose
``reason`` names the limit:

``frag-timeout``
    a datagram still incomplete 30 s after its first piece arrived is discarded (Linux's
    ``ipfrag_time``); if its first piece (offset 0) was there, the source gets an ICMP Time
    Exceeded, code 1 (RFC 792, RFC 1122 §3.3.2, RFC 8200 §4.5; never to a broadcast,
    multicast or loopback source, RFC 1122 §3.2.2). Time is ``now`` and
    :attr:`Reassembler.deadline`: the host's ``next_deadline``/``on_timeout`` drive it.
``frag-memory``
    the pieces held by the whole host are capped (``memory_limit``, 4 MiB like Linux's
    ``ipfrag_high_thresh``), counting a fixed overhead per piece and per datagram so that
    tiny pieces cannot hold more than the cap allows; the oldest incomplete datagrams are
    discarded to make room for a new piece.
``frag-overlap``
    a piece that overlaps another piece of the same datagram discards the whole datagram,
    and the pieces of it that arrive later are dropped too (``frag-discarded``) until its
    timeout. RFC 5722 §4 requires this for IPv6; synack applies it to IPv4 as well, as
    Linux does since 4.19, which also removes the overlapping-fragment attacks on TCP
    headers of RFC 1858 §4. An exact duplicate of a piece (same offset, same data) is
    dropped alone (``frag-duplicate``), as RFC 8200 §4.5 allows.
``frag-too-many``
    a datagram may have at most ``max_fragments`` pieces (128: a 64 KiB datagram over a
    576-octet path needs 119).
``frag-too-big``
    the pieces describe a datagram longer than 65,535 octets (the "ping of death").
``frag-bad-length``
    a piece other than the last whose data is not a multiple of 8 octets (RFC 8200 §4.5),
    or a piece with no data at all.
``frag-inconsistent``
    two last pieces that disagree on the end, or a piece beyond the end the last one gave.
``frag-header-chain``
    a first piece that does not hold the whole header chain up to and including the
    20-octet TCP header (RFC 7112 §5 for IPv6; the tiny-fragment rule of RFC 1858 §3.2 for
    IPv4).
``frag-ecn``
    pieces that mix Not-ECT with ECT or CE (RFC 3168 §5.3); CE on any piece marks the
    whole datagram CE.

Work per piece is a binary search and one list insertion in the pieces of its own
datagram, and checking completion is one comparison (the pieces never overlap, so they
cover the datagram exactly when their lengths add up to its length).
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right

from ..timeunits import sec
from ..trace.events import IcmpEvent, SegmentDropped, Tracer
from ..wire.checksum import address_info
from ..wire.errors import MalformedPacket
from ..wire.icmp import TIME_EXCEEDED, V6_TIME_EXCEEDED, emit_icmp_error
from ..wire.ip import _parse_ip, ecn_of
from ..wire.ipv4 import IPv4Header, _ipv4_header
from ..wire.ipv6 import DEST_OPTS, FRAGMENT, HOP_BY_HOP, ROUTING, _ipv6_header

__all__ = ["Reassembler", "MEMORY_LIMIT", "TIMEOUT", "MAX_FRAGMENTS", "FRAGMENT_COST", "DATAGRAM_COST"]

#: octets of fragments a host holds at most (Linux: net.ipv4.ipfrag_high_thresh)
MEMORY_LIMIT = 4 * 1024 * 1024
#: how long an incomplete datagram is kept (Linux: net.ipv4.ipfrag_time)
TIMEOUT = sec(30)
#: pieces of one datagram at most
MAX_FRAGMENTS = 128
#: octets counted for each piece held, beyond its data (the objects that hold it)
FRAGMENT_COST = 200
#: octets counted for each datagram being reassembled, or remembered as discarded
DATAGRAM_COST = 600

_TCP = 6
_TCP_HEADER = 20
_MAX_DATAGRAM = 65535


class _Datagram:
    """The pieces of one datagram so far."""

    __slots__ = ("key", "deadline", "starts", "pieces", "have", "total", "first", "ecn", "cost")

    def __init__(self, key: tuple, deadline: int) -> None:
        self.key = key
        self.deadline = deadline
        self.starts: list[int] = []                   # sorted offsets, for bisect
        self.pieces: list[tuple[int, int, bytes]] = []  # (start, end, data), sorted by start
        self.have = 0                                 # octets of data held
        self.total = -1                               # the datagram's length, once the last piece came
        self.first: tuple | None = None               # (header, raw packet) of the piece at offset 0
        self.ecn = 0                                  # bit 1 << codepoint for every codepoint seen
        self.cost = DATAGRAM_COST


class Reassembler:
    """IPv4 and IPv6 reassembly for one host (see the module's documentation).

    :meth:`add` takes a fragment and returns the whole datagram when it completes one;
    :attr:`deadline` is when :meth:`on_timeout` must next run (None when nothing is held);
    :meth:`on_timeout` discards what timed out and returns the ICMP errors to send.
    ``stats`` counts reassembled datagrams and every drop reason.
    """

    def __init__(self, host: str, tracer: Tracer, addrs: frozenset, *, memory_limit: int = MEMORY_LIMIT,
                 timeout: int = TIMEOUT, max_fragments: int = MAX_FRAGMENTS, ttl: int = 64) -> None:
        if memory_limit < DATAGRAM_COST + FRAGMENT_COST + 8:
            raise ValueError(f"memory_limit must be at least {DATAGRAM_COST + FRAGMENT_COST + 8} octets, "
                             f"not {memory_limit}")
        if timeout <= 0:
            raise ValueError(f"timeout must be a positive number of ns, not {timeout}")
        if max_fragments < 2:
            raise ValueError(f"max_fragments must be at least 2, not {max_fragments}")
        self.host = host
        self.tracer = tracer
        self.addrs = addrs
        self.memory_limit = memory_limit
        self.timeout = timeout
        self.max_fragments = max_fragments
        self.ttl = ttl
        #: octets held now, counted as for ``memory_limit``
        self.memory = 0
        #: when :meth:`on_timeout` must run next, or None
        self.deadline: int | None = None
        #: "reassembled" and every drop reason -> how many times
        self.stats: dict[str, int] = {}
        # Both dicts are in arrival order, which is deadline order (one fixed timeout).
        self._open: dict[tuple, _Datagram] = {}
        self._dead: dict[tuple, int] = {}  # key -> deadline: discarded, later pieces dropped

    def __len__(self) -> int:
        """Datagrams being reassembled."""
        return len(self._open)

    # ------------------------------------------------------------------ arrivals
    def add(self, packet: bytes, now: int) -> bytes | None:
        """A fragment arrived: keep it, and return the whole datagram if it is now complete
        (a packet that is no fragment comes back as it is)."""
        try:
            hdr, piece, _ = _parse_ip(packet)
        except MalformedPacket as e:
            self._drop(now, "", "", e.reason, e.detail)
            return None
        if not (hdr.mf or hdr.frag_offset):
            return packet  # a whole datagram already
        src, dst = hdr.src, hdr.dst
        if dst not in self.addrs:
            self._drop(now, src, dst, "not-my-address", "a fragment for another host")
            return None
        if self.deadline is not None and self.deadline <= now:
            self.on_timeout(now)  # a driver may deliver before it runs the timers
        v4 = isinstance(hdr, IPv4Header)
        key = (src, dst, hdr.proto, hdr.ident) if v4 else (src, dst, hdr.ident)
        start = hdr.frag_offset
        end = start + len(piece)
        last = not hdr.mf
        what = f"datagram {hdr.ident} from {src}, octets {start}..{end}"
        if key in self._dead:
            self._drop(now, src, dst, "frag-discarded", f"{what}: the datagram was discarded")
            return None
        if end == start:
            self._drop(now, src, dst, "frag-bad-length", f"{what}: no data")
            return None
        if not last and len(piece) & 7:
            self._drop(now, src, dst, "frag-bad-length",
                       f"{what}: {len(piece)} octets is not a multiple of 8 (RFC 8200 §4.5)")
            return None
        dg = self._open.get(key)
        # IPv4 counts its header in the 65535; IPv6 the unfragmentable part before the data
        head = hdr.header_length if isinstance(hdr, IPv4Header) else \
            sum(len(d) + 2 for _t, d in hdr.ext_headers[:-1])
        if end + head > _MAX_DATAGRAM:
            self._kill(dg, now, src, dst, "frag-too-big", f"{what}: beyond 65535 octets")
            return None
        if dg is None:
            dg = _Datagram(key, now + self.timeout)
            self._open[key] = dg
            self.memory += DATAGRAM_COST
            if self.deadline is None:
                self.deadline = dg.deadline
        # Where the piece goes, and whether it overlaps its neighbours.
        starts, pieces = dg.starts, dg.pieces
        i = bisect_right(starts, start)
        if i and pieces[i - 1][1] > start:
            p = pieces[i - 1]
            if p[0] == start and p[1] == end and p[2] == piece and (last == (dg.total == end)):
                self._drop(now, src, dst, "frag-duplicate", f"{what}: an exact duplicate")
                return None
            self._kill(dg, now, src, dst, "frag-overlap", f"{what} overlaps octets {p[0]}..{p[1]} (RFC 5722)")
            return None
        if i < len(pieces) and pieces[i][0] < end:
            p = pieces[i]
            self._kill(dg, now, src, dst, "frag-overlap", f"{what} overlaps octets {p[0]}..{p[1]} (RFC 5722)")
            return None
        if last:
            if dg.total >= 0 and dg.total != end:
                self._kill(dg, now, src, dst, "frag-inconsistent",
                           f"{what}: a second last piece, the first ended at {dg.total}")
                return None
            if pieces and pieces[-1][1] > end:
                self._kill(dg, now, src, dst, "frag-inconsistent", f"{what}: pieces beyond the last one")
                return None
            dg.total = end
        elif dg.total >= 0 and end > dg.total:
            self._kill(dg, now, src, dst, "frag-inconsistent", f"{what}: beyond the last piece ({dg.total})")
            return None
        if len(pieces) >= self.max_fragments:
            self._kill(dg, now, src, dst, "frag-too-many", f"{what}: more than {self.max_fragments} pieces")
            return None
        if start == 0:
            why = _header_chain_problem(hdr.proto, piece)
            if why:
                self._kill(dg, now, src, dst, "frag-header-chain", f"{what}: {why}")
                return None
            dg.first = (hdr, packet)
        cost = len(piece) + FRAGMENT_COST + (len(packet) if start == 0 else 0)
        if not self._room(cost, dg, now):
            self._kill(dg, now, src, dst, "frag-memory",
                       f"{what}: the datagram alone would pass the {self.memory_limit}-octet cap")
            return None
        starts.insert(i, start)
        pieces.insert(i, (start, end, piece))
        dg.have += len(piece)
        dg.cost += cost
        self.memory += cost
        dg.ecn |= 1 << ecn_of(hdr)
        if dg.have != dg.total:
            return None
        return self._complete(dg, now)

    def _complete(self, dg: _Datagram, now: int) -> bytes | None:
        """Every piece is there: forget them and build the whole datagram."""
        self._forget(dg)
        first = dg.first
        assert first is not None  # pieces cover 0..total, so the one at 0 came
        hdr = first[0]
        ecn = dg.ecn
        if ecn & 1 and ecn != 1:
            # RFC 3168 §5.3: Not-ECT mixed with ECT or CE.
            self._drop(now, hdr.src, hdr.dst, "frag-ecn", f"datagram {hdr.ident}: pieces mix Not-ECT with ECT/CE")
            return None
        data = b"".join(p[2] for p in dg.pieces)
        s, ssum, _ = address_info(hdr.src)
        d, dsum, _ = address_info(hdr.dst)
        try:
            if isinstance(hdr, IPv4Header):
                tos = hdr.tos | 3 if ecn & 8 else hdr.tos
                whole = _ipv4_header(s, d, ssum + dsum, hdr.proto, len(data), hdr.ttl, tos, hdr.ident, False,
                                     hdr.options) + data
            else:
                tc = hdr.traffic_class | 3 if ecn & 8 else hdr.traffic_class
                whole = _ipv6_header(s, d, hdr.proto, len(data), hdr.hop_limit, tc, hdr.flow_label,
                                     hdr.ext_headers[:-1]) + data
        except ValueError as e:  # the first piece's header and the data pass 65535 octets together
            self._drop(now, hdr.src, hdr.dst, "frag-too-big", f"datagram {hdr.ident}: {e}")
            return None
        self._count("reassembled")
        return whole

    def _room(self, cost: int, keep: _Datagram, now: int) -> bool:
        """Make room for ``cost`` more octets, discarding the oldest other datagrams."""
        limit = self.memory_limit
        if self.memory + cost <= limit:
            return True
        while self.memory + cost > limit and self._dead:
            k = next(iter(self._dead))
            del self._dead[k]
            self.memory -= DATAGRAM_COST
        opened = self._open
        while self.memory + cost > limit and len(opened) > 1:
            it = iter(opened.values())
            dg = next(it)
            if dg is keep:
                dg = next(it)
            self._forget(dg)
            self._drop(now, dg.key[0], dg.key[1], "frag-memory",
                       f"datagram {dg.key[-1]} from {dg.key[0]} ({dg.have} octets) discarded: "
                       f"the host holds {limit} octets of fragments at most")
        return self.memory + cost <= limit

    # ------------------------------------------------------------------ time
    def on_timeout(self, now: int) -> list[bytes]:
        """Discard the datagrams whose 30 s are over; the ICMP Time Exceeded errors to send."""
        out: list[bytes] = []
        dead = self._dead
        while dead:
            k, d = next(iter(dead.items()))
            if d > now:
                break
            del dead[k]
            self.memory -= DATAGRAM_COST
        opened = self._open
        while opened:
            dg = next(iter(opened.values()))
            if dg.deadline > now:
                break
            self._forget(dg)
            src, dst = dg.key[0], dg.key[1]
            self._drop(now, src, dst, "frag-timeout",
                       f"datagram {dg.key[-1]} from {src}: {dg.have} octets in {len(dg.pieces)} pieces, "
                       f"incomplete after {self.timeout / 1e9:g} s")
            if dg.first is not None and _answerable(src):
                hdr, raw = dg.first
                v6 = hdr.version == 6
                try:
                    out.append(emit_icmp_error(dst, raw, V6_TIME_EXCEEDED if v6 else TIME_EXCEEDED, 1, ttl=self.ttl))
                except ValueError:
                    continue
                tr = self.tracer
                if tr.on:
                    tr.emit(IcmpEvent(now, self.host, None, dst, src, hdr.version,
                                      V6_TIME_EXCEEDED if v6 else TIME_EXCEEDED, 1, "reassembly-timeout", "sent",
                                      f"fragment reassembly time exceeded for datagram {dg.key[-1]}"))
        self._set_deadline()
        return out

    # ------------------------------------------------------------------ bookkeeping
    def _forget(self, dg: _Datagram) -> None:
        if self._open.get(dg.key) is dg:
            del self._open[dg.key]
            self.memory -= dg.cost
            self._set_deadline()

    def _kill(self, dg: _Datagram | None, now: int, src: str, dst: str, reason: str, detail: str) -> None:
        """Discard ``dg`` for ``reason``; its later pieces are dropped until its deadline."""
        self._drop(now, src, dst, reason, detail)
        if dg is None:
            return
        self._forget(dg)
        self._dead[dg.key] = dg.deadline
        self.memory += DATAGRAM_COST
        if self.deadline is None or dg.deadline < self.deadline:
            self.deadline = dg.deadline

    def _set_deadline(self) -> None:
        a = next(iter(self._open.values())).deadline if self._open else None
        b = next(iter(self._dead.values())) if self._dead else None
        self.deadline = a if b is None else b if a is None else min(a, b)

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def _drop(self, now: int, src: str, dst: str, reason: str, detail: str) -> None:
        self._count(reason)
        tr = self.tracer
        if tr.on:
            tr.emit(SegmentDropped(now, self.host, None, src, dst, None, reason, detail))


def _answerable(src: str) -> bool:
    """Whether an ICMP error may go back to ``src`` (RFC 1122 §3.2.2: never to a broadcast,
    multicast, unspecified or loopback source)."""
    a = ipaddress.ip_address(src)
    return not (a.is_multicast or a.is_unspecified or a.is_loopback or (a.version == 4 and int(a) == 0xFFFFFFFF))


def _header_chain_problem(proto: int, data: bytes) -> str:
    """Why the first piece of a datagram lacks its header chain (RFC 7112 §5, RFC 1858
    §3.2), or "" when it holds every extension header and, for TCP, the TCP header."""
    off = 0
    n = len(data)
    while proto in (HOP_BY_HOP, ROUTING, DEST_OPTS, FRAGMENT):
        if off + 8 > n:
            return f"the first piece ends inside extension header {proto} (RFC 7112 §5)"
        nxt = data[off]
        off += 8 if proto == FRAGMENT else (data[off + 1] + 1) << 3
        proto = nxt
    if off > n:
        return "the first piece ends inside the extension headers (RFC 7112 §5)"
    if proto == _TCP and n - off < _TCP_HEADER:
        return f"the first piece holds {n - off} octets of the TCP header, not 20 (RFC 1858 §3.2)"
    return ""
