"""A plain-text log of a trace: one line per segment, state change, drop or timer.

Sequence and acknowledgment numbers are shown relative to each direction's initial
sequence number, as tcpdump does (``absolute=True`` shows the raw values). This is a
pure function of the event list, like every view.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..wire.tcp import ACK, SYN, TcpSegment, seg_summary


def _relative(seg: TcpSegment, isn: dict, src: str, dst: str) -> TcpSegment:
    """Rewrite seq/ack relative to the ISNs seen in SYNs of each direction."""
    if seg.flags & SYN and (src, seg.src_port) not in isn:
        isn[(src, seg.src_port)] = int(seg.seq)
    base_s = isn.get((src, seg.src_port))
    base_a = isn.get((dst, seg.dst_port))
    seq = seg.seq if base_s is None else type(seg.seq)(int(seg.seq) - base_s)
    ack = seg.ack if (base_a is None or not seg.flags & ACK) else type(seg.ack)(int(seg.ack) - base_a)
    return seg._replace(seq=seq, ack=ack)


def format_events(events: Iterable, *, absolute: bool = False, timers: bool = False) -> list[str]:
    """Lines describing ``events`` in order. Received segments are omitted (each send is
    shown once, with where it went); drops show their reason."""
    events = list(events)
    lines: list[str] = []
    isn: dict = {}
    names: dict = {}
    for ev in events:  # address -> host name, from who sent and who received what
        if ev.event == "send":
            names.setdefault(ev.src, ev.host)
        elif ev.event == "recv":
            names.setdefault(ev.dst, ev.host)
    for ev in events:
        kind = ev.event
        t = f"{ev.t / 1e6:10.3f} ms"
        if kind in ("send", "drop") and ev.seg is not None:
            seg = ev.seg if absolute else _relative(ev.seg, isn, ev.src, ev.dst)
            if kind == "send":
                note = f"  [retransmission: {ev.cause}]" if ev.retransmit else ""
                dst = names.get(ev.dst, ev.dst)
                lines.append(f"{t}  {ev.host:>8} -> {dst:<8} {seg_summary(seg)}{note}")
            else:
                lines.append(f"{t}  {ev.host:>8} x  dropped ({ev.reason}) {seg_summary(seg)}")
        elif kind == "drop":
            lines.append(f"{t}  {ev.host:>8} x  dropped ({ev.reason}) {ev.detail}")
        elif kind == "state":
            lines.append(f"{t}  {ev.host:>8}    {ev.old} -> {ev.new}  ({ev.cause})")
        elif kind == "error":
            lines.append(f"{t}  {ev.host:>8}    error: {ev.error} ({ev.detail})")
        elif kind == "app":
            res = f" -> {ev.error}" if ev.error else (f" -> {ev.result!r}" if ev.result is not None else "")
            call = ev.args if ev.args.startswith(ev.call) else f"{ev.call}({ev.args})"
            lines.append(f"{t}  {ev.host:>8}    {call}{res}")
        elif timers and kind.startswith("timer"):
            lines.append(f"{t}  {ev.host:>8}    timer {ev.name} {kind[6:]}")
    return lines
