"""RFC 9293's own notation: segments as ``<SEQ=100><CTL=SYN>`` and ladders as in §3.5 and §3.6.

Two views, both pure functions of trace events (STYLE rule 5). The RFC figure tests
(``tests/test_rfc_figures.py``) compare these views with the figures' text, so the tests
and the diagrams users see cannot disagree.

Segments: :func:`rfc_segment`
-----------------------------
``<SEQ=n>`` always; ``<ACK=n>`` only when the ACK bit is set; ``<CTL=...>`` when any
control bit is set, naming the bits in the order the figures use (``SYN,ACK``,
``FIN,ACK``, ``RST,ACK``): SYN, FIN, RST, PSH, URG, ECE, CWR, NS, then ACK; ``<DATA>``
when the segment carries text (``<DATA=n>`` with ``data_len=True``). Numbers are the raw
32-bit values. ``omit`` hides control-bit names from ``<CTL=...>`` (the figures never show
PSH, which synack sets on the last buffered segment, RFC 9293 §3.9.1.2 MUST-61); it does not
hide the ``<ACK=n>`` field.

Ladders: :func:`rfc_ladder`
---------------------------
The figure conventions of RFC 9293 §3.5: host ``a`` is the left column ("TCP Peer A"),
host ``b`` the right one. One line per segment, or per part of a segment's life:

- ``SA --> <SEG> --> SB``: a sent it and b received it, with nothing else in between;
- ``SA --> <SEG> ...``: a sent it, and it was lost or arrives further down;
- ``... <SEG> --> SB``: it arrives at b (sent further up, or sent by no TCP at all: an
  injected old duplicate);
- ``SA <-- <SEG> <-- SB``, ``... <SEG> <-- SB``, ``SA <-- <SEG> ...``: the same, from b to a;
- ``SA SB``: a state line, both states: the first line, and wherever a state changed with no
  segment line to show it (a TIME-WAIT timeout, CLOSE in SYN-SENT, a host reboot).

``SA`` and ``SB`` are states as the RFC spells them, taken AFTER the departure (sender)
or arrival (receiver) the line shows, as in the figures: a sender's state once the call
or event that sent the segment is done; a receiver's state once the segment has been
processed (the ``StateChanged`` events that follow its ``SegmentReceived`` in the same
processing step). A host's state is that of its most recently changed connection; a host
with no connection is CLOSED. ``...`` stands where the arrow would be on the side the
segment has not reached: the RFC's "segment that is still in the network". A departure
and its arrival share one line only when nothing else (another segment event, a state
line) happens between them; otherwise each gets its own line, in trace order, so crossing
segments read as in Figure 13.

The first line gives both hosts' states before the first event: the ``old`` state of each
host's first ``StateChanged``, else CLOSED, unless ``initial`` says otherwise (a listening
host that never changes state leaves no event to infer LISTEN from). ``final=True`` ends
with a state line of both final states, like the last line of Figures 9, 11 and 13. State
lines that follow each other at the same instant are merged into one.

The text has columns aligned for reading (``align=False`` puts single spaces instead);
:func:`normalize` squeezes whitespace, so figure text copied with any spacing compares
equal. Segments are matched from ``SegmentSent`` to ``SegmentReceived`` by addresses and
value, first in first out; a ``SegmentDropped`` recorded by the sender (the link's drops)
marks the oldest matching segment as lost. The figures' parenthesised comments
("(Close)", "(??)", "(2 MSL)") are not drawn: a line shows states, never commentary.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from ..wire.tcp import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG, TcpSegment

__all__ = ["rfc_segment", "rfc_ladder", "rfc_line", "normalize", "CTL_ORDER"]

#: Control bits in the order ``<CTL=...>`` names them: the figures' SYN,ACK / FIN,ACK /
#: RST,ACK put ACK last.
CTL_ORDER: tuple[tuple[str, int], ...] = (
    ("SYN", SYN), ("FIN", FIN), ("RST", RST), ("PSH", PSH), ("URG", URG),
    ("ECE", ECE), ("CWR", CWR), ("NS", NS), ("ACK", ACK),
)
_CTL_NAMES = frozenset(name for name, _ in CTL_ORDER)

_MASK = 0xFFFFFFFF
_RIGHT, _LEFT, _GONE = "-->", "<--", "..."


def _check_omit(omit: Iterable[str]) -> frozenset:
    names = frozenset(n.upper() for n in omit)
    unknown = names - _CTL_NAMES
    if unknown:
        raise ValueError(f"omit: unknown control bit name(s) {sorted(unknown)}; "
                         f"known: {', '.join(n for n, _ in CTL_ORDER)}")
    return names


def rfc_segment(seg: TcpSegment, *, data_len: bool = False, omit: Iterable[str] = ()) -> str:
    """``seg`` in RFC 9293 notation, e.g. ``<SEQ=300><ACK=101><CTL=SYN,ACK>``."""
    hidden = _check_omit(omit) if omit else frozenset()
    return _segment_text(seg, int(seg.seq), int(seg.ack), data_len, hidden)


def _segment_text(seg: TcpSegment, seq: int, ack: int, data_len: bool, hidden: frozenset) -> str:
    f = seg.flags
    parts = [f"<SEQ={seq}>"]
    if f & ACK:
        parts.append(f"<ACK={ack}>")
    names = [name for name, bit in CTL_ORDER if f & bit and name not in hidden]
    if names:
        parts.append(f"<CTL={','.join(names)}>")
    if seg.payload:
        parts.append(f"<DATA={len(seg.payload)}>" if data_len else "<DATA>")
    return "".join(parts)


def normalize(line: str) -> str:
    """``line`` with runs of whitespace made single spaces and the ends stripped."""
    return " ".join(line.split())


def rfc_line(a_state: str = "", left: str = "", segment: str = "", right: str = "", b_state: str = "",
             *, widths: tuple[int, int] = (0, 0)) -> str:
    """One ladder line from its five columns: A's state, the mark on A's side (``-->``,
    ``<--``, ``...`` or empty), the segment, the mark on B's side, B's state. ``widths`` pads
    A's state and the segment column so that lines align; (0, 0) joins with single spaces.
    A state line leaves the middle three empty."""
    wa, ws = widths
    if not (wa or ws):
        return " ".join(p for p in (a_state, left, segment, right, b_state) if p)
    return f"{a_state:<{wa}} {left:<3} {segment:<{ws}} {right:<3} {b_state}".rstrip()


class _Seg:
    """One segment between a and b: where its departure and arrival are in the event list."""

    __slots__ = ("seg", "a_to_b", "sender", "sent", "recv", "seq_base", "ack_base")

    def __init__(self, seg: TcpSegment, a_to_b: bool, sender: str | None, sent: int | None) -> None:
        self.seg = seg
        self.a_to_b = a_to_b
        self.sender = sender
        self.sent = sent
        self.recv: int | None = None
        self.seq_base: int | None = None
        self.ack_base: int | None = None


#: Events that begin a new processing step: after one of these, state changes belong to it.
_STEP_STARTS = frozenset({"recv", "timer-fired", "app"})


def rfc_ladder(events: Iterable, a: str, b: str, *, relative: bool = False,
               initial: Sequence[str | None] = (None, None), final: bool = False,
               data_len: bool = False, omit: Iterable[str] = (), align: bool = True) -> list[str]:
    """The trace ``events`` between hosts ``a`` (left) and ``b`` (right) as RFC 9293
    figure lines (see the module docstring for the format).

    ``relative`` shows SEQ and ACK relative to the latest SYN seen in each direction (the
    ISS and IRS), like tcpdump; ``initial`` gives (A's, B's) state before the first event
    where inference cannot (None: infer); ``final`` ends with a state line; ``data_len``
    and ``omit`` are :func:`rfc_segment`'s.
    """
    hidden = _check_omit(omit) if omit else frozenset()
    hosts = (a, b)
    evs = [e for e in events if getattr(e, "host", None) in hosts]
    n = len(evs)

    # Addresses of each host, to leave out segments exchanged with anyone else.
    addrs: dict[str, set] = {a: set(), b: set()}
    for e in evs:
        if e.event == "send":
            addrs[e.host].add(e.src)
        elif e.event == "recv":
            addrs[e.host].add(e.dst)

    def other(h: str) -> str:
        return b if h == a else a

    # States: inferred start, then a snapshot (A's, B's) after every event.
    start = {a: initial[0], b: initial[1]}
    for e in evs:
        if e.event == "state" and start[e.host] is None:
            start[e.host] = e.old
    cur = {h: (start[h] or "CLOSED") for h in hosts}
    first = (cur[a], cur[b])
    snap: list[tuple[str, str]] = []
    for e in evs:
        if e.event == "state":
            cur[e.host] = e.new
        snap.append((cur[a], cur[b]))

    # Segments: departures matched to arrivals (FIFO by addresses and value); link drops.
    pending: dict[tuple, deque] = {}
    dep: dict[int, _Seg] = {}
    arr: dict[int, _Seg] = {}
    isn: dict[bool, int] = {}  # a_to_b -> seq of the latest SYN in that direction
    for i, e in enumerate(evs):
        k = e.event
        if k == "send":
            peer = addrs[other(e.host)]
            if peer and e.dst not in peer:
                continue
            rec = _Seg(e.seg, e.host == a, e.host, i)
            pending.setdefault((e.src, e.dst, e.seg), deque()).append(rec)
            dep[i] = rec
        elif k == "recv":
            peer = addrs[other(e.host)]
            if peer and e.src not in peer:
                continue
            q = pending.get((e.src, e.dst, e.seg))
            got = q.popleft() if q else None
            if got is None:  # never sent by the peer's TCP: injected, or a link duplicate
                got = _Seg(e.seg, e.host == b, None, None)
            got.recv = i
            arr[i] = got
        elif k == "drop" and e.seg is not None:
            q = pending.get((e.src, e.dst, e.seg))
            if q and q[0].sender == e.host:  # recorded on the sending side: the link lost it
                q.popleft()
        else:
            continue
        found = dep.get(i) or arr.get(i)
        if found is not None and found.seq_base is None and (k == "send" or found.sent is None):
            if found.seg.flags & SYN:
                isn[found.a_to_b] = int(found.seg.seq)
            found.seq_base = isn.get(found.a_to_b)
            found.ack_base = isn.get(not found.a_to_b)

    # Which state changes an arrival line shows: those of the receiver in its processing step.
    shown: set[int] = set()
    arr_end: dict[int, int] = {}
    for r in arr:
        h, t = evs[r].host, evs[r].t
        last = r
        j = r + 1
        while j < n:
            e = evs[j]
            if e.event in _STEP_STARTS or e.event == "send" or e.t != t:
                break
            if e.event == "state" and e.host == h:
                shown.add(j)
                last = j
            j += 1
        arr_end[r] = last
    # Other state changes: shown by the departure that follows in the same step, if the
    # host's next state change or send is that departure; otherwise by a state line.
    items: list[tuple[int, str]] = []  # (event index, "dep" | "arr" | "state"), in order
    for i, e in enumerate(evs):
        k = e.event
        if k == "send" and i in dep:
            items.append((i, "dep"))
        elif k == "recv" and i in arr:
            items.append((i, "arr"))
        elif k == "state" and i not in shown:
            j = i + 1
            by_send = False
            while j < n:
                f = evs[j]
                if f.event in _STEP_STARTS or f.t != e.t:
                    break
                if f.host == e.host and (f.event == "state" or (f.event == "send" and j in dep)):
                    by_send = f.event == "send"
                    break
                j += 1
            if not by_send:
                items.append((i, "state"))

    # Lines: (a_state, left mark, segment, right mark, b_state).
    rows: list[tuple[str, str, str, str, str]] = [(first[0], "", "", "", first[1])]
    last_state_t: int | None = None
    k = 0
    while k < len(items):
        i, kind = items[k]
        if kind == "state":
            row = (snap[i][0], "", "", "", snap[i][1])
            if last_state_t == evs[i].t and rows and not rows[-1][2]:
                rows[-1] = row  # merge state lines of one instant
            else:
                rows.append(row)
            last_state_t = evs[i].t
            k += 1
            continue
        last_state_t = None
        if kind == "dep":
            rec = dep[i]
            merged = (rec.recv is not None and k + 1 < len(items)
                      and items[k + 1] == (rec.recv, "arr"))
            text = _text(rec, relative, data_len, hidden)
            sa, sb = snap[i]
            if merged and rec.recv is not None:
                ra, rb = snap[arr_end[rec.recv]]
                if rec.a_to_b:
                    rows.append((sa, _RIGHT, text, _RIGHT, rb))
                else:
                    rows.append((ra, _LEFT, text, _LEFT, sb))
                k += 2
                continue
            if rec.a_to_b:
                rows.append((sa, _RIGHT, text, _GONE, ""))
            else:
                rows.append(("", _GONE, text, _LEFT, sb))
        else:
            rec = arr[i]
            text = _text(rec, relative, data_len, hidden)
            ra, rb = snap[arr_end[i]]
            if rec.a_to_b:
                rows.append(("", _GONE, text, _RIGHT, rb))
            else:
                rows.append((ra, _LEFT, text, _GONE, ""))
        k += 1
    if final:
        end = snap[-1] if snap else first
        row = (end[0], "", "", "", end[1])
        if rows[-1] != row:
            rows.append(row)

    if not align:
        return [rfc_line(*row) for row in rows]
    wa = max(len(r[0]) for r in rows)
    ws = max(len(r[2]) for r in rows)
    return [rfc_line(*row, widths=(wa, ws)) for row in rows]


def _text(rec: _Seg, relative: bool, data_len: bool, hidden: frozenset) -> str:
    seg = rec.seg
    seq, ack = int(seg.seq), int(seg.ack)
    if relative:
        if rec.seq_base is not None:
            seq = (seq - rec.seq_base) & _MASK
        if rec.ack_base is not None:
            ack = (ack - rec.ack_base) & _MASK
    return _segment_text(seg, seq, ack, data_len, hidden)
