"""The trace of a real run, made whole for the views (``synack listen|connect|get --pcap
--jsonl --html``).

On a real link synack records only its own side: what it sent, and what it received or
dropped. The views of ``synack.trace`` draw hosts that *send*, so :func:`run_events` puts
the peer (the kernel behind a TUN device, or the other synack over UDP) into the trace as
a host of its own: each segment synack received or dropped is preceded by the peer's
``SegmentSent`` of it, at the same instant. JSON Lines and the HTML report show that
trace: synack's view, in which a TSO super-segment from the kernel is one segment.

:func:`wire_events` is what a packet capture shows: wire-sized segments, as tcpdump on a
device without offloads (or on a wire) would see them. A super-segment the kernel handed
over is cut into ``gso_size`` segments, each saying so in its packet comment; segments
synack sent that the link merged into one GSO write keep their size and say which write
they went in (``TunLink.merge_log``). The notes ride in ``SegmentSent.cause``, which
``synack.trace.pcapng`` writes as a packet comment.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..trace.events import SegmentDropped, SegmentReceived, SegmentSent
from ..wire.ip import emit_packet
from ..wire.tcp import CWR, FIN, PSH

__all__ = ["run_events", "wire_events"]


def _peer_send(ev: Any, peer: str, seg: Any = None, cause: Any = None) -> SegmentSent:
    seg = ev.seg if seg is None else seg
    return SegmentSent(ev.t, peer, (ev.src, seg.src_port, ev.dst, seg.dst_port), ev.src, ev.dst, seg, False, cause)


def run_events(events: Iterable, peer: str = "kernel") -> list:
    """synack's events, each segment it received (or dropped, when it parsed) preceded by
    the ``peer``'s sending of it."""
    out: list = []
    for ev in events:
        kind = type(ev)
        if kind is SegmentReceived or (kind is SegmentDropped and ev.seg is not None and ev.src):
            out.append(_peer_send(ev, peer))
        out.append(ev)
    return out


def _header_len(src: str, dst: str, seg: Any) -> int:
    """IP + TCP header octets of ``seg`` on the wire."""
    return len(emit_packet(src, dst, seg._replace(payload=b""), 64))


def _split(ev: Any, peer: str, mtu: int) -> list:
    """The peer's super-segment ``ev.seg`` as the wire segments GSO makes of it."""
    seg = ev.seg
    size = mtu - _header_len(ev.src, ev.dst, seg)
    data = seg.payload
    if size <= 0 or len(data) <= size:
        return [_peer_send(ev, peer)]
    n = -(-len(data) // size)
    out = []
    for k in range(n):
        flags = seg.flags
        if k < n - 1:
            flags &= ~(PSH | FIN)
        if k:
            flags &= ~CWR
        piece = seg._replace(seq=seg.seq + k * size, payload=data[k * size:(k + 1) * size], flags=flags)
        out.append(_peer_send(ev, peer, piece, f"tso: wire segment {k + 1} of {n}; {peer} wrote these "
                                              f"{len(data)} octets to the TUN as one super-segment"))
    return out


def wire_events(events: Iterable, peer: str = "kernel", mtu: int = 1500, merges: Any = None) -> list:
    """:func:`run_events` as a wire shows it: the peer's super-segments cut at ``mtu``, and
    synack's segments that the link merged (``merges``: a ``TunLink.merge_log``) noted."""
    notes: dict = defaultdict(deque)
    for src, dst, sport, dport, seq, k, count, total, _gso in merges or ():
        notes[(src, dst, sport, dport, seq)].append(
            f"gso: segment {k + 1} of {count} that the link wrote to the TUN as one {total}-octet super-segment")
    out: list = []
    for ev in events:
        kind = type(ev)
        if kind is SegmentReceived or (kind is SegmentDropped and ev.seg is not None and ev.src):
            out.extend(_split(ev, peer, mtu))
        elif kind is SegmentSent and notes:
            q = notes.get((ev.src, ev.dst, ev.seg.src_port, ev.seg.dst_port, int(ev.seg.seq)))
            if q:
                note = q.popleft()
                ev = replace(ev, cause=f"{ev.cause}; {note}" if ev.cause else note)
        out.append(ev)
    return out
