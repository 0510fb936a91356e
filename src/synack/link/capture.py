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
they went in (``TunLink.merge_log``), and synack's own super-segments (TSO) are cut as
the kernel cut them, at the MTU or at the receiver's MSS. The notes ride in ``SegmentSent.cause``, which
``synack.trace.pcapng`` writes as a packet comment.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ..trace.events import SegmentDropped, SegmentReceived, SegmentSent
from ..wire.ip import emit_packet
from ..wire.tcp import CWR, FIN, PSH, SYN, Mss

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


def _pieces(ev: Any, mtu: int, mss: int | None) -> list:
    """The wire segments GSO makes of ``ev.seg``: cut at the MTU, or at ``mss`` (the
    receiver's MSS less the options beyond 20 octets) when that is smaller."""
    seg = ev.seg
    hl = _header_len(ev.src, ev.dst, seg)
    size = mtu - hl
    if mss is not None:
        tcp_opts = hl - (40 if ":" in ev.src else 20) - 20
        if 0 < mss - tcp_opts < size:
            size = mss - tcp_opts
    data = seg.payload
    if size <= 0 or len(data) <= size:
        return [seg]
    n = -(-len(data) // size)
    out = []
    for k in range(n):
        flags = seg.flags
        if k < n - 1:
            flags &= ~(PSH | FIN)
        if k:
            flags &= ~CWR
        out.append(seg._replace(seq=seg.seq + k * size, payload=data[k * size:(k + 1) * size], flags=flags))
    return out


def _note(k: int, n: int, writer: str, octets: int) -> str:
    return f"tso: wire segment {k + 1} of {n}; {writer} wrote these {octets} octets to the TUN as one super-segment"


def _split(ev: Any, peer: str, mtu: int, mss: int | None = None) -> list:
    """The peer's super-segment ``ev.seg`` as the wire segments GSO makes of it."""
    pieces = _pieces(ev, mtu, mss)
    if len(pieces) == 1:
        return [_peer_send(ev, peer)]
    n, octets = len(pieces), len(ev.seg.payload)
    return [_peer_send(ev, peer, piece, _note(k, n, peer, octets)) for k, piece in enumerate(pieces)]


def _split_own(ev: Any, mtu: int, mss: int | None) -> list:
    """synack's own super-segment (TSO: the link had the kernel cut it) as wire segments."""
    pieces = _pieces(ev, mtu, mss)
    if len(pieces) == 1:
        return [ev]
    n, octets = len(pieces), len(ev.seg.payload)
    out = []
    for k, piece in enumerate(pieces):
        note = _note(k, n, ev.host, octets)
        out.append(replace(ev, seg=piece, cause=f"{ev.cause}; {note}" if ev.cause else note))
    return out


def _mss_of(seg: Any) -> int | None:
    for o in seg.options:
        if type(o) is Mss:
            return o.value
    return None


def wire_events(events: Iterable, peer: str = "kernel", mtu: int = 1500, merges: Any = None) -> list:
    """:func:`run_events` as a wire shows it: the peer's super-segments cut at ``mtu``, and
    synack's segments that the link merged (``merges``: a ``TunLink.merge_log``) noted."""
    notes: dict = defaultdict(deque)
    for src, dst, sport, dport, seq, k, count, total, _gso in merges or ():
        notes[(src, dst, sport, dport, seq)].append(
            f"gso: segment {k + 1} of {count} that the link wrote to the TUN as one {total}-octet super-segment")
    out: list = []
    #: the MSS each side announced in its SYN, by (sender, receiver) address pair
    mss: dict = {}
    for ev in events:
        kind = type(ev)
        seg = getattr(ev, "seg", None)
        if seg is not None and seg.flags & SYN and kind is not SegmentDropped:
            m = _mss_of(seg)
            if m is not None:
                mss[(ev.src, ev.dst)] = m
        if kind is SegmentReceived or (kind is SegmentDropped and ev.seg is not None and ev.src):
            out.extend(_split(ev, peer, mtu, mss.get((ev.dst, ev.src))))
            continue
        if kind is SegmentSent:
            if notes:
                q = notes.get((ev.src, ev.dst, ev.seg.src_port, ev.seg.dst_port, int(ev.seg.seq)))
                if q:
                    note = q.popleft()
                    ev = replace(ev, cause=f"{ev.cause}; {note}" if ev.cause else note)
            if len(ev.seg.payload) > 536:
                out.extend(_split_own(ev, mtu, mss.get((ev.dst, ev.src))))
                continue
        out.append(ev)
    return out
