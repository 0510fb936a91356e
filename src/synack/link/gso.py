"""Generic segmentation offload on values: a super-segment cut into the wire segments a
NIC (or Linux's GSO) would send.

A host whose link splits segments (TSO) hands it :class:`~synack.stack.packet.Packet`
values carrying up to 64 KB of data with ``gso_size`` set. :func:`split_segment` cuts
such a segment the way Linux's ``tcp_gso_segment`` does: every piece repeats the header
and options, carries ``gso_size`` octets (the last one the rest), and has its own
sequence number; PSH and FIN stay on the last piece only, CWR on the first only (RFC 3168
§6.1.2, as TSO does). The simulator's paths with ``PathParams(gso=True)`` run every
super-segment through :func:`split_packet` before the impairments, so each wire packet is
lost, delayed, reordered or corrupted on its own (``synack.link.sim``); captures of real
runs use :func:`split_segment` to show wire-sized segments (``synack.link.capture``).
:func:`synack.link.vnet.gso_split` does the same on bytes, checksums included.
"""

from __future__ import annotations

from ..stack.packet import Packet
from ..wire.tcp import CWR, FIN, PSH, TcpSegment

__all__ = ["split_segment", "split_packet", "GSO_MAX_SIZE"]

#: the largest packet a GSO link takes from the host (an IPv4 total length is 16 bits)
GSO_MAX_SIZE = 65535
_LAST_ONLY = PSH | FIN


def split_segment(seg: TcpSegment, gso_size: int) -> list[TcpSegment]:
    """``seg`` as wire segments of ``gso_size`` data octets each (see the module
    docstring); ``[seg]`` when it fits in one."""
    data = seg.payload
    n = len(data)
    if gso_size <= 0 or n <= gso_size:
        return [seg]
    count = -(-n // gso_size)
    flags = seg.flags
    first = flags & ~_LAST_ONLY
    middle = first & ~CWR
    last = flags & ~CWR
    seq = seg.seq
    out = []
    for k in range(count):
        off = k * gso_size
        f = first if k == 0 else middle if k < count - 1 else last
        out.append(seg._replace(seq=seq + off, payload=data[off:off + gso_size], flags=f))
    return out


def split_packet(pkt: Packet) -> list[Packet]:
    """The wire packets of ``pkt``: its segment cut at ``pkt.gso_size`` (one packet, with
    ``gso_size`` cleared, when it needs no cutting)."""
    g = pkt.gso_size
    if not g or len(pkt.seg.payload) <= g:
        return [pkt._replace(gso_size=0)] if g else [pkt]
    return [pkt._replace(seg=s, gso_size=0) for s in split_segment(pkt.seg, g)]
