"""A TCP/IP packet as values, with its bytes made only when something needs them.

A host queues what it sends as :class:`Packet` values: addresses, the ECN field, the TTL and
the :class:`~synack.wire.tcp.TcpSegment`. A link that moves bytes (TUN, UDP, a pipe) asks
for ``raw`` (``synack.wire.ip.emit_packet``, checksums and all); the simulator carries the
values beside the bytes and encodes only where bytes matter (corruption, an ICMP error that
quotes the packet, a drop predicate that reads the raw packet), and the receiving host takes
the segment without parsing it. ``size`` is the length the bytes would have, computed from
the values, for bandwidth and MTU.

A TSO super-segment (more data than one wire segment carries, for a link that splits it
as GSO does) says where to split it: ``gso_size``, the data octets of each wire segment
(0 for a segment that goes on the wire as it is). As bytes it is a :class:`SuperSegment`,
which keeps ``gso_size`` for the link, and whose TCP checksum field holds only the
pseudo-header sum where the link completes the checksum (``partial_checksum``).
"""

from __future__ import annotations

from typing import NamedTuple

from ..wire.ip import emit_packet
from ..wire.tcp import Eol, FastOpen, Mss, Nop, Sack, SackPermitted, TcpSegment, Timestamps, UnknownOption, WindowScale

__all__ = ["Packet", "SuperSegment", "tcp_header_len"]

#: octets of each fixed-size option (RFC 9293 §3.1, RFC 7323, RFC 2018)
_OPTION_LEN = {Nop: 1, Eol: 1, Mss: 4, WindowScale: 3, SackPermitted: 2, Timestamps: 10}


def tcp_header_len(options: tuple) -> int:
    """The TCP header length for ``options``: 20 octets plus the options padded to a word
    (RFC 9293 §3.1 MUST-69), as ``emit_tcp`` writes them."""
    if not options:
        return 20
    n = 0
    for o in options:
        t = type(o)
        k = _OPTION_LEN.get(t)
        if k is None:
            if t is Sack:
                k = 2 + 8 * len(o.blocks)
            elif t is FastOpen:
                k = 2 + len(o.cookie)
            elif t is UnknownOption:
                k = 2 + len(o.data)
            else:
                raise ValueError(f"not a TCP option: {o!r}")
        n += k
    return 20 + ((n + 3) & ~3)


class Packet(NamedTuple):
    """An IP packet carrying one TCP segment (see the module docstring)."""

    src: str
    dst: str
    seg: TcpSegment
    #: the ECN field (RFC 3168 §5): 0 not-ECT, 2 ECT(0), 1 ECT(1), 3 CE
    ecn: int = 0
    ttl: int = 64
    #: a super-segment: the link cuts its data into wire segments of this many octets
    gso_size: int = 0

    @property
    def raw(self) -> bytes:
        """The packet's bytes (made at each use: keep them if you need them twice)."""
        return emit_packet(self.src, self.dst, self.seg, self.ttl, self.ecn)

    def super_segment(self, partial_checksum: bool) -> SuperSegment:
        """The bytes of a super-segment (``gso_size`` set), for a link that splits it;
        ``partial_checksum``: the link completes the TCP checksum (the data is not summed)."""
        b = SuperSegment(emit_packet(self.src, self.dst, self.seg, self.ttl, self.ecn, partial_checksum))
        b.gso_size = self.gso_size
        b.partial_checksum = partial_checksum
        return b

    @property
    def version(self) -> int:
        return 6 if ":" in self.src else 4

    @property
    def size(self) -> int:
        """The length of ``raw``, without making it."""
        seg = self.seg
        return (40 if ":" in self.src else 20) + tcp_header_len(seg.options) + len(seg.payload)

    def marked(self, ecn: int) -> Packet:
        """The same packet with another ECN field (a router marking CE, RFC 3168 §5)."""
        return self._replace(ecn=ecn)


class SuperSegment(bytes):
    """The bytes of a TSO super-segment: an IP packet whose data the link cuts into wire
    segments of ``gso_size`` octets; with ``partial_checksum`` its TCP checksum field holds
    only the pseudo-header sum (virtio-net ``NEEDS_CSUM``: the link completes it)."""

    gso_size: int = 0
    partial_checksum: bool = False
