"""The terminal ladder diagram: hosts as columns, time running down, segments as arrows.

:func:`render_ladder` draws trace *records* (``synack.trace.records``), so a simulated run,
a saved JSON Lines trace and a pcap/pcapng capture all render through one path;
:func:`ladder_from_events` is the shortcut for typed events. A pure function of its input
(STYLE rule 5).

Layout (two hosts)::

           ms       client                                                                          server
                    CLOSED │                                                                      │ LISTEN
        0.000       CLOSED │                                                             listen() │ LISTEN
        0.000     SYN-SENT │── [S] seq 0, win 65535, [mss 1460, sackOK, TS, wscale 0] ───────────▶│ SYN-RECEIVED
       10.000  ESTABLISHED │◀─── [S.] seq 0, ack 1, win 65535, [mss 1460, sackOK, TS, wscale 0] ──│ SYN-RECEIVED

- ``ms``: the time of the row in milliseconds since the first record (a segment row shows
  its departure). Idle gaps longer than ``fold_gap`` seconds are folded into one
  ``⋮ 59.990 s pass`` row.
- One column per host with that host's TCP state *after* the row (RFC 9293 spellings); the
  first row gives the states before anything happened. A host's state is that of its most
  recently changed connection; blank when the trace has no state records (a capture).
- The middle: one arrow per segment, labelled like tcpdump (flags, sequence and
  acknowledgment numbers relative to each direction's initial sequence number, window,
  length, options on SYNs, with timestamp values shortened to ``TS`` unless numbers are
  absolute) or in RFC 9293's ``<SEQ=..><ACK=..><CTL=..>`` notation. An
  arrow ends in ``▶``/``◀`` where the segment arrived, ``✗`` where it was lost, ``⋯``
  where it has not arrived (yet) on that row; a departure and its arrival share a row when
  nothing else happens between them, otherwise each has its own row. Application calls
  (``connect(server:80)``, ``send(100) = 100``, ``shutdown(SHUT_WR)``, ``close()``) and
  unattached timer notes stand on their host's side.
- Notes after the last column: retransmission causes (``RTO #2, rto=2.0s``, ``fast
  retransmit``), why a segment was lost or discarded, timers (TIME-WAIT, delayed ACK,
  persist, keepalive), connection errors.

With three or more hosts each row names both ends (``attacker ── [S] ... ──▶ server``) and
the state columns stand side by side before the middle.

A capture (no ``recv`` or ``state`` records) draws every segment as arrived, and its state
columns come from :func:`infer_states`: what an observer on the wire can tell.

Colour comes from ``rich``; ``color=None`` means colour only when standard output is a
terminal and ``NO_COLOR`` (https://no-color.org) is unset or empty. The plain text (what
golden tests compare) is exactly the coloured text without its escape sequences.
"""

from __future__ import annotations

import io
import os
import re
import sys
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..wire.seq import Seq
from ..wire.tcp import TcpSegment
from .records import TIMER_NAMES, conn_text, duration, flags_bits, match_segments, segment_notes
from .rfc import rfc_segment

__all__ = ["render_ladder", "ladder_from_events", "ladder_lines", "use_color", "infer_states"]

_MASK = 0xFFFFFFFF

# Calls that say nothing about TCP (create_server's housekeeping): left off the ladder.
_QUIET_CALLS = frozenset({"bind", "settimeout", "setblocking", "getsockopt", "getsockname",
                          "getpeername", "fileno", "gettimeout", "getblocking", "detach"})
_SOCKOPTS = {(1, 2): "SO_REUSEADDR", (1, 9): "SO_KEEPALIVE", (1, 13): "SO_LINGER", (1, 7): "SO_SNDBUF",
             (1, 8): "SO_RCVBUF", (6, 1): "TCP_NODELAY", (6, 2): "TCP_MAXSEG"}
_SHUT = {"0": "SHUT_RD", "1": "SHUT_WR", "2": "SHUT_RDWR"}


def use_color(color: Optional[bool] = None, stream: Any = None) -> bool:
    """Whether to colour: ``color`` if given; otherwise only when ``stream`` (default
    standard output) is a terminal, ``NO_COLOR`` is unset or empty and TERM is not dumb."""
    if color is not None:
        return bool(color)
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def ladder_from_events(events: Iterable, names: Optional[Mapping[str, str]] = None, **kw: Any) -> str:
    """:func:`render_ladder` of typed trace events (``names``: address -> host name)."""
    from .jsonl import to_records

    return render_ladder(to_records(events, names), **kw)


def render_ladder(records: Sequence[dict], *, hosts: Optional[Sequence[str]] = None, absolute: bool = False,
                  color: Optional[bool] = None, width: Optional[int] = None, notation: str = "tcpdump",
                  timers: bool = True, fold_gap: Optional[float] = 1.0) -> str:
    """The ladder of ``records`` as text (one line per row, newline-terminated).

    ``hosts``: the lifelines, left to right (default: hosts in order of first appearance,
    senders first); ``absolute``: raw sequence numbers; ``color``: see :func:`use_color`;
    ``width``: stretch the arrows so lines are this wide; ``notation``: ``"tcpdump"`` or
    ``"rfc"``; ``timers``: show timer notes; ``fold_gap``: fold idle gaps longer than this
    many seconds (None or 0: never).
    """
    lines = ladder_lines(records, hosts=hosts, absolute=absolute, width=width, notation=notation,
                         timers=timers, fold_gap=fold_gap)
    if not use_color(color):
        return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in lines)
    return _rich(lines)


def _rich(lines: list) -> str:
    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    wide = max((sum(len(t) for t, _ in line) for line in lines), default=1) + 1
    console = Console(file=buf, force_terminal=True, color_system="standard", no_color=False,
                      width=wide, highlight=False, emoji=False, markup=False, soft_wrap=True,
                      legacy_windows=False)
    for line in lines:
        # drop trailing blanks, as the plain text does
        while line and not line[-1][0].strip():
            line = line[:-1]
        if line:
            last_t, last_s = line[-1]
            line = line[:-1] + [(last_t.rstrip(), last_s)]
        console.print(Text.assemble(*[(t, s or "") for t, s in line]), soft_wrap=True)
    return buf.getvalue()


# ==========================================================================================
# Building rows
# ==========================================================================================


class _Row:
    """One line of the ladder before layout."""

    __slots__ = ("t", "kind", "actors", "host", "text", "notes", "states", "changed", "seg", "end_t")

    def __init__(self, t: float, kind: str, host: Optional[str] = None, text: str = "") -> None:
        self.t = t
        self.kind = kind          # seg | app | note | state | fold | drop
        self.actors: set = set()  # (host, time) pairs this row speaks for
        self.host = host          # the host an app/note/drop row stands at
        self.text = text
        self.notes: list[str] = []
        self.states: dict = {}
        self.changed: set = set()
        self.seg: Optional[_SegDraw] = None
        self.end_t = t            # latest time the row covers (an arrival)


class _SegDraw:
    """How one segment row is drawn: its ends, its label, and what became of it."""

    __slots__ = ("src", "dst", "label", "mode", "rtx")

    def __init__(self, src: str, dst: str, label: str, mode: str, rtx: bool) -> None:
        self.src = src
        self.dst = dst
        self.label = label
        self.mode = mode  # full | dep (in flight) | arr (arrival only) | lost
        self.rtx = rtx


def _infer_hosts(recs: Sequence[dict]) -> list[str]:
    """Hosts in order of first appearance: segment senders and receivers first (so the
    side that opens is on the left), then any other host that recorded something."""
    order: list[str] = []
    seen: set = set()
    recording = {r["host"] for r in recs}
    for r in recs:
        if r["event"] in ("send", "recv"):
            for h in (r.get("src"), r.get("dst")):
                if h and h not in seen and h in recording:
                    seen.add(h)
                    order.append(h)
    for r in recs:
        h = r["host"]
        if h and h not in seen:
            seen.add(h)
            order.append(h)
    return order


_INFERRED = "inferred from the segments on the wire"


def infer_states(recs: Sequence[dict]) -> list[dict]:
    """``recs`` (a capture: segments only) with ``state`` records an observer on the wire
    can infer, per connection and side, inserted after the segment that shows the change.

    A capture holds no state: this follows the RFC 9293 §3.3.2 diagram from what each side
    sent, assuming every captured segment arrived at once (true on loopback, roughly true
    for a capture taken near either end). A side first seen receiving a SYN was LISTEN; a
    side first seen mid-connection is ESTABLISHED. Lost or reordered segments can make the
    guess wrong; the records say ``cause`` = "inferred from the segments on the wire".
    """
    st: dict[tuple, str] = {}        # (side endpoint, peer endpoint) -> state
    fin_seq: dict[tuple, int] = {}   # side -> sequence number of its FIN
    out: list[dict] = []

    def change(side: tuple, host: str, conn: str, new: str, t: float, why: str) -> None:
        old = st.get(side)
        if old == new:
            return
        st[side] = new
        out.append({"t": t, "host": host, "event": "state", "conn": conn, "from": old or "CLOSED", "to": new,
                    "cause": f"{why} ({_INFERRED})", "rule": ""})

    lost = match_segments(list(recs)).lost  # losses a capture knows of (synack's comments)
    for i, r in enumerate(recs):
        out.append(r)
        if r["event"] != "send" or r.get("flags") is None:
            continue
        f = r["flags"]
        a = (r["src_addr"], r["src_port"], r["dst_addr"], r["dst_port"])
        b = (a[2], a[3], a[0], a[1])
        sa_conn = conn_text(a)
        sb_conn = conn_text(b)
        src, dst, t = r["src"], r["dst"], r["t"]
        sa, sb = st.get(a), st.get(b)
        if "R" in f:
            change(a, src, sa_conn, "CLOSED", t, "RST sent")
            change(b, dst, sb_conn, "CLOSED", t, "RST received")
            continue
        if sa is None:
            st[a] = sa = "SYN-SENT" if "S" in f and "." not in f else (
                "SYN-RECEIVED" if "S" in f else "ESTABLISHED")
            out.append({"t": t, "host": src, "event": "state", "conn": sa_conn, "from": "CLOSED" if "S" in f and
                        "." not in f else "LISTEN" if "S" in f else "ESTABLISHED", "to": sa,
                        "cause": f"{'SYN sent' if 'S' in f else 'segment sent'} ({_INFERRED})", "rule": ""})
        if sb is None:
            st[b] = sb = "LISTEN" if "S" in f and "." not in f else (
                "SYN-SENT" if "S" in f else "ESTABLISHED")
        # what the sender's own segment says about the sender
        if "F" in f:
            fin_seq[a] = (r["seq"] + r["len"] + (1 if "S" in f else 0)) & 0xFFFFFFFF
            if sa in ("ESTABLISHED", "SYN-RECEIVED"):
                change(a, src, sa_conn, "FIN-WAIT-1", t, "FIN sent")
            elif sa == "CLOSE-WAIT":
                change(a, src, sa_conn, "LAST-ACK", t, "FIN sent")
        if i in lost:
            continue  # it never arrived
        # what its arrival does to the receiver
        sb = st[b]
        if "S" in f and "." not in f:
            if sb == "LISTEN":
                change(b, dst, sb_conn, "SYN-RECEIVED", t, "SYN received")
            elif sb == "SYN-SENT":
                change(b, dst, sb_conn, "SYN-RECEIVED", t, "SYN received (simultaneous open)")
            continue
        acks_fin = "." in f and b in fin_seq and r["ack"] == (fin_seq[b] + 1) & 0xFFFFFFFF
        if "S" in f and sb == "SYN-SENT":
            change(b, dst, sb_conn, "ESTABLISHED", t, "SYN,ACK received")
        elif "." in f and sb == "SYN-RECEIVED":
            change(b, dst, sb_conn, "ESTABLISHED", t, "ACK of SYN")
        sb = st[b]
        if acks_fin:
            if sb == "FIN-WAIT-1":
                change(b, dst, sb_conn, "FIN-WAIT-2", t, "ACK of FIN")
            elif sb == "CLOSING":
                change(b, dst, sb_conn, "TIME-WAIT", t, "ACK of FIN")
            elif sb == "LAST-ACK":
                change(b, dst, sb_conn, "CLOSED", t, "ACK of FIN")
        sb = st[b]
        if "F" in f:
            if sb in ("ESTABLISHED", "SYN-RECEIVED"):
                change(b, dst, sb_conn, "CLOSE-WAIT", t, "FIN received")
            elif sb == "FIN-WAIT-1":
                change(b, dst, sb_conn, "CLOSING", t, "FIN received")
            elif sb == "FIN-WAIT-2":
                change(b, dst, sb_conn, "TIME-WAIT", t, "FIN received")
    return out


def _reorder_app_calls(recs: list[dict]) -> list[dict]:
    """Move each application call to where it began, when that is knowable.

    Calls are recorded when they return. A call whose host did nothing else at that instant
    since its previous call or arrival began at the same instant: it is moved before the
    events it caused (``close()`` before its FIN). A call that returned because a segment
    arrived or a timer fired (a blocking ``connect``, ``recv``) is shown when it returned,
    before any segment its host sent in that same processing step.
    """
    before: dict[int, list[int]] = {}  # record index -> app calls to show just before it
    moved: set = set()
    for i, r in enumerate(recs):
        if r["event"] != "app":
            continue
        h, t = r["host"], r["t"]
        target = None
        first_send = None
        blocked = False
        for j in range(i - 1, -1, -1):  # walk back over this instant, in recorded order
            q = recs[j]
            if q["t"] != t:
                break
            if q["host"] != h:
                continue
            k = q["event"]
            if k in ("recv", "timer-fired"):
                blocked = True
                break
            if k == "app":
                break
            if k == "send":
                first_send = j
            target = j
        if blocked:
            # it returned because of that arrival: show it before what the host sent in reply
            target = first_send
        if target is not None:
            before.setdefault(target, []).append(i)
            moved.add(i)
    if not moved:
        return list(recs)
    out: list[dict] = []
    for i, r in enumerate(recs):
        for k in before.get(i, ()):
            out.append(recs[k])
        if i not in moved:
            out.append(r)
    return out


class _Numbers:
    """Relative sequence numbers per direction, as tcpdump shows them."""

    def __init__(self, absolute: bool) -> None:
        self.absolute = absolute
        self.base: dict = {}

    def rel(self, r: dict) -> tuple[int, int]:
        seq, ack = r["seq"], r["ack"]
        if self.absolute:
            return seq, ack
        fwd = (r.get("src_addr"), r.get("src_port"), r.get("dst_addr"), r.get("dst_port"))
        rev = (fwd[2], fwd[3], fwd[0], fwd[1])
        acked = "." in r["flags"]
        if "S" in r["flags"]:
            self.base[fwd] = seq  # a (new) SYN: the ISN of this direction
        elif fwd not in self.base:
            self.base[fwd] = seq  # joined mid-connection: number from the first one seen
        if acked and rev not in self.base:
            self.base[rev] = ack
        s = (seq - self.base[fwd]) & _MASK
        a = (ack - self.base[rev]) & _MASK if acked else ack
        return s, a


def _label(r: dict, nums: _Numbers, notation: str) -> str:
    seq, ack = nums.rel(r)
    n = r["len"]
    flags = r["flags"]
    if notation == "rfc":
        seg = TcpSegment(r["src_port"], r["dst_port"], Seq(seq), Seq(ack), flags_bits(flags), r["win"],
                         bytes(n))
        return rfc_segment(seg, data_len=True)
    parts = [f"[{flags or 'none'}] seq {seq}:{(seq + n) & _MASK}" if n else f"[{flags or 'none'}] seq {seq}"]
    if "." in flags:
        parts.append(f"ack {ack}")
    parts.append(f"win {r['win']}")
    if "U" in flags:
        parts.append(f"urg {r.get('urg', 0)}")
    if "S" in flags and r.get("options"):
        opts = [o for o in r["options"] if o not in ("nop", "eol")]  # padding says nothing
        if not nums.absolute:  # raw timestamp clocks are noise next to relative numbers
            opts = ["TS" if o.startswith("TS val ") else o for o in opts]
        parts.append("[" + ", ".join(opts) + "]")
    if n:
        parts.append(f"len {n}")
    return ", ".join(parts)


def _app_text(r: dict, addr_names: dict) -> Optional[str]:
    call = r.get("call", "")
    if call in _QUIET_CALLS:
        return None
    args = r.get("args") or f"{call}()"
    if not args.startswith(call):
        args = f"{call}({args})"

    def addr(m: re.Match) -> str:
        a, p = m.group(1), m.group(2)
        name = addr_names.get(a, a) if a else "*"
        return f"{name}:{p}"

    args = re.sub(r"\('([^']*)', (\d+)(?:, \d+, \d+)?\)", addr, args)
    if call == "setsockopt":
        m = re.match(r"setsockopt\((\d+), (\d+)", args)
        if m:
            opt = _SOCKOPTS.get((int(m.group(1)), int(m.group(2))))
            if opt == "SO_REUSEADDR":
                return None
            if opt:
                args = f"setsockopt({opt})"
    elif call == "shutdown":
        m = re.match(r"shutdown\((\d)\)", args)
        if m and m.group(1) in _SHUT:
            args = f"shutdown({_SHUT[m.group(1)]})"
    err = r.get("error")
    if err:
        return f"{args} → {err}"
    res = r.get("result")
    if res is None:
        return args
    if isinstance(res, list) and len(res) >= 2 and isinstance(res[0], str):
        res = f"{addr_names.get(res[0], res[0])}:{res[1]}"
    return f"{args} = {res}"


def _build_rows(recs: list[dict], lanes: list[str], absolute: bool, notation: str, timers: bool,
                fold_gap: Optional[float]) -> tuple[list[_Row], dict]:
    lane_set = set(lanes)
    has_recv = any(r["event"] == "recv" for r in recs)
    has_state = {r["host"] for r in recs if r["event"] == "state"}
    addr_names: dict = {}
    for r in recs:
        if r["event"] in ("send", "recv", "drop"):
            for a, nm in ((r.get("src_addr"), r.get("src")), (r.get("dst_addr"), r.get("dst"))):
                if a and nm and a not in addr_names:
                    addr_names[a] = nm

    # Records about another recording host that is not on the ladder (``hosts`` chose
    # fewer lifelines) are left out: its segments, and its peers' connections with it.
    recording = {r["host"] for r in recs}
    elsewhere = recording - lane_set

    def off_ladder(r: dict) -> bool:
        if not elsewhere:
            return False
        if r["event"] in ("send", "recv", "drop"):
            return r.get("src") in elsewhere or r.get("dst") in elsewhere
        conn = r.get("conn")
        if not conn:
            return False
        remote = conn.rsplit("-", 1)[-1].rsplit(":", 1)[0].strip("[]")
        return addr_names.get(remote) in elsewhere

    m = match_segments(recs)
    arrival, departure, lost, dup = m.arrival, m.departure, m.lost, m.dup
    attached_drop, shown_drops = m.discarded, m.unmatched_drops
    notes = segment_notes(recs)
    rtx_note, timer_cause, consumed_fired, rto_fired = notes.cause, notes.timer, notes.consumed, notes.rto_fired

    # --- state before anything happened --------------------------------------------------
    shown: dict[str, str] = {}
    for h in lanes:
        first = next((r for r in recs if r["event"] == "state" and r["host"] == h and not off_ladder(r)), None)
        if first is not None:
            shown[h] = first["from"]
        else:
            shown[h] = "CLOSED" if has_state else ""
    nums = _Numbers(absolute)
    labels: dict[int, str] = {}
    for i, r in enumerate(recs):  # number segments in trace order, departures first
        if r["event"] in ("send", "recv") and i not in departure:
            labels[i] = _label(r, nums, notation)
        elif r["event"] == "drop" and r.get("flags") is not None and i in shown_drops:
            labels[i] = _label(r, nums, notation)
    for i, s in departure.items():
        labels[i] = labels[s]

    rows: list[_Row] = []
    head = _Row(recs[0]["t"] if recs else 0.0, "state")
    head.states = dict(shown)
    rows.append(head)
    open_row: list[Optional[_Row]] = [None]  # the row that collects attachments
    pending_states: list[tuple[str, float, str]] = []

    def close_open() -> None:
        row = open_row[0]
        if row is not None:
            row.states = dict(shown)

    def state_row(left: list) -> None:
        srow = _Row(left[0][1], "state")
        for h, t, new in left:
            srow.actors.add((h, t))
        add(srow, pre_applied=left)

    def add(row: _Row, pre_applied: Optional[list] = None) -> None:
        """Append ``row``: pending state changes it speaks for go on it, the others on a
        state row before it; an idle gap before it is folded."""
        apply = list(pre_applied or ())
        if pre_applied is None and pending_states:
            left = [p for p in pending_states if p[:2] not in row.actors]
            apply = [p for p in pending_states if p[:2] in row.actors]
            pending_states.clear()
            if left:
                state_row(left)
        prev = rows[-1] if len(rows) > 1 else None
        if fold_gap and prev is not None and row.t - prev.end_t > fold_gap:
            close_open()
            f = _Row(prev.end_t, "fold", text=f"{_dur(row.t - prev.end_t)} pass")
            f.states = dict(shown)
            rows.append(f)
            open_row[0] = None
        close_open()
        for h, _, new in apply:
            shown[h] = new
            row.changed.add(h)
        rows.append(row)
        open_row[0] = row

    def attach_target(h: str, t: float) -> Optional[_Row]:
        row = open_row[0]
        if row is not None and (h, t) in row.actors:
            return row
        return None

    queue_seen: dict = {}  # listener -> (SYN queue, accept queue) last shown

    def note(h: str, t: float, text: str) -> None:
        row = attach_target(h, t)
        if row is not None:
            if row.host == h and row.text == text:
                return  # the same note twice at one instant (two connections' timers)
            full = text if len(lanes) <= 2 and row.host == h else f"{h}: {text}"
            if full not in row.notes:
                row.notes.append(full)
            return
        if h not in lane_set:
            return
        nrow = _Row(t, "note", host=h, text=text)
        nrow.actors.add((h, t))
        add(nrow)

    def quiet(q: dict, sender: str, t_send: float) -> bool:
        if off_ladder(q):
            return True
        k = q["event"]
        if k in ("rtt", "cwnd", "timer-cancelled") or k not in _KNOWN:
            return True
        if k.startswith("timer") and not timers:
            return True
        if q["host"] not in lane_set:
            return k not in ("send", "recv", "drop")
        if k == "timer-armed":
            return q["name"] == "rto" or (q["host"] == sender and q["t"] == t_send)
        if k == "state":
            return q["host"] == sender and q["t"] == t_send
        if k == "app":
            return _app_text(q, addr_names) is None
        return False

    done: set = set()
    for i, r in enumerate(recs):
        if i in done:
            continue
        if off_ladder(r):
            continue
        k = r["event"]
        h = r["host"]
        t = r["t"]
        if k == "state":
            if h not in lane_set:
                continue
            row = attach_target(h, t)
            if row is not None:
                shown[h] = r["to"]
                row.changed.add(h)
            else:
                pending_states.append((h, t, r["to"]))
            continue
        if k in ("send", "recv") or (k == "drop" and i in shown_drops and r.get("flags") is not None):
            src, dst = r.get("src"), r.get("dst")
            if src not in lane_set and dst not in lane_set:
                continue
            if h not in lane_set:
                continue
            if k == "send":
                j = arrival.get(i)
                if i in lost:
                    mode = "lost"
                elif not has_recv:  # a capture: what was seen on the wire, got there
                    mode = "full"
                elif j is not None and all(quiet(recs[x], h, t) for x in range(i + 1, j)) \
                        and recs[j]["host"] in lane_set:
                    mode = "full"
                else:
                    mode = "dep"
                row = _Row(t, "seg")
                row.actors.add((h, t))
                row.seg = _SegDraw(src, dst, labels[i], mode, bool(r.get("retransmit")))
                if i in rtx_note:
                    row.notes.append(rtx_note[i])
                if i in timer_cause:
                    row.notes.append(timer_cause[i])
                if mode == "lost":
                    row.notes.append(f"lost: {lost[i]}")
                if mode == "full" and not has_recv and dst in lane_set:
                    row.actors.add((dst, t))  # a capture: seen arriving as it was seen sent
                if mode == "full" and j is not None:
                    rj = recs[j]
                    row.actors.add((rj["host"], rj["t"]))
                    row.end_t = rj["t"]
                    done.add(j)
                    if j in attached_drop:
                        row.notes.append(f"{rj['host']} discarded it: {attached_drop[j]}")
                add(row)
                # the sender's state changes at this instant that came just before belong here
                continue
            if k == "recv":
                row = _Row(t, "seg")
                row.actors.add((h, t))
                row.seg = _SegDraw(src, dst, labels[i], "arr", False)
                if i in dup:
                    row.notes.append("duplicate")
                elif i not in departure:
                    row.notes.append("no TCP sent this" if src in lane_set else "")
                    row.notes = [x for x in row.notes if x]
                if i in attached_drop:
                    row.notes.append(f"discarded: {attached_drop[i]}")
                add(row)
                continue
            # a drop of a segment that was neither sent nor received on the ladder
            row = _Row(t, "seg")
            row.actors.add((h, t))
            row.seg = _SegDraw(src or "?", dst or "?", labels[i], "lost", False)
            row.notes.append(f"dropped: {r['reason']}" + (f" ({r['detail']})" if r.get("detail") else ""))
            add(row)
            continue
        if h not in lane_set:
            continue
        if k == "drop":
            if i in shown_drops:
                why = r["reason"] + (f" ({r['detail']})" if r.get("detail") else "")
                drow = _Row(t, "drop", host=h, text=f"✗ dropped a packet: {why}")
                drow.actors.add((h, t))
                add(drow)
            continue
        if k == "app":
            text = _app_text(r, addr_names)
            if text is None:
                continue
            arow = _Row(t, "app", host=h, text=text)
            arow.actors.add((h, t))
            add(arow)
            continue
        if k == "error":
            note(h, t, f"error: {r.get('detail') or r['error']}")
            continue
        if k == "listen-queue":
            # Queue occupancy, shown when it changes (RFC 4987 §2.2: what a SYN flood fills).
            # Only under pressure (a queue at least half full), so ordinary ladders stay quiet.
            occ = (r.get("syn_queue"), r.get("accept_queue"))
            key = (h, r.get("addr"), r.get("port"))
            pressure = (2 * (occ[0] or 0) >= (r.get("syn_backlog") or 1)
                        or 2 * (occ[1] or 0) >= (r.get("backlog") or 1))
            if pressure and queue_seen.get(key) != occ:
                queue_seen[key] = occ
                note(h, t, f"queues: SYN {r.get('syn_queue')}/{r.get('syn_backlog')}, "
                           f"accept {r.get('accept_queue')}/{r.get('backlog')}")
            continue
        if k == "syncookies":
            note(h, t, f"SYN cookies {'on' if r.get('on') else 'off'}" + (f" ({r['reason']})" if r.get("reason") else ""))
            continue
        if k == "icmp":
            verb = "sent" if r.get("action") == "sent" else f"received ({r.get('action')})"
            note(h, t, f"ICMP {r.get('kind')} {verb}" + (f": {r['detail']}" if r.get("detail") else ""))
            continue
        if k == "fastopen":
            note(h, t, f"Fast Open: {r.get('action')}" + (f" ({r['detail']})" if r.get("detail") else ""))
            continue
        if not timers or not k.startswith("timer"):
            continue
        name = r["name"]
        tn = TIMER_NAMES.get(name, name)
        if k == "timer-armed":
            if name not in ("time-wait", "persist", "keepalive"):
                continue  # RTO, delayed ACK, TLP: armed for every segment; notes are on what they cause
            note(h, t, f"{tn} timer {_dur(r['deadline'] - t)}")
        elif k == "timer-fired":
            if i in consumed_fired:
                continue
            if name == "rto":
                f = rto_fired.get((h, r.get("conn")))
                note(h, t, f"{f[1] if f else 'RTO'} expired")
            else:
                note(h, t, f"{tn} timer expired")
    if pending_states:
        left = list(pending_states)
        pending_states.clear()
        state_row(left)
    close_open()
    return rows, addr_names


_KNOWN = frozenset({"send", "recv", "drop", "state", "timer-armed", "timer-cancelled", "timer-fired",
                    "rtt", "cwnd", "app", "error", "syncookies", "icmp", "fastopen", "listen-queue"})


_dur = duration


# ==========================================================================================
# Layout
# ==========================================================================================

_STATE_STYLE = {
    "ESTABLISHED": "green", "SYN-SENT": "yellow", "SYN-RECEIVED": "yellow", "LISTEN": "cyan",
    "CLOSED": "bright_black", "TIME-WAIT": "magenta",
}


def _state_style(state: str, changed: bool) -> str:
    base = _STATE_STYLE.get(state, "magenta" if state else "")
    return f"bold {base}".strip() if changed else base


def ladder_lines(records: Sequence[dict], *, hosts: Optional[Sequence[str]] = None, absolute: bool = False,
                 width: Optional[int] = None, notation: str = "tcpdump", timers: bool = True,
                 fold_gap: Optional[float] = 1.0) -> list[list[tuple[str, str]]]:
    """The ladder as lines of ``(text, style)`` pieces (styles are rich style strings)."""
    if notation not in ("tcpdump", "rfc"):
        raise ValueError(f"notation must be 'tcpdump' or 'rfc', got {notation!r}")
    if width is not None and width < 1:
        raise ValueError(f"width must be positive, got {width}")
    recs = [r for r in records if isinstance(r, dict) and "event" in r and "host" in r and "t" in r]
    if recs and not any(r["event"] in ("state", "recv") for r in recs):
        recs = infer_states(recs)  # a capture: what the wire says about the states
    lanes = list(hosts) if hosts else _infer_hosts(recs)
    if hosts:
        known = {r["host"] for r in recs} | {r.get(k) for r in recs for k in ("src", "dst")}
        missing = [h for h in lanes if h not in known]
        if missing:
            raise ValueError(f"hosts: {', '.join(missing)} not in the trace "
                             f"(it has {', '.join(_infer_hosts(recs)) or 'no hosts'})")
    if not recs or not lanes:
        return [[("(empty trace)", "dim")]]
    recs = _reorder_app_calls(recs)
    rows, _ = _build_rows(recs, lanes, absolute, notation, timers, fold_gap)
    t0 = recs[0]["t"]
    if len(lanes) == 2:
        return _layout_two(rows, lanes, t0, width)
    return _layout_many(rows, lanes, t0, width)


def _time_text(row: _Row, t0: float) -> str:
    if row.kind == "fold":
        return "⋮"
    return f"{(row.t - t0) * 1000:.3f}"


def _arrow(seg: _SegDraw, right: bool, width: int) -> list[tuple[str, str]]:
    """The middle of a segment row, ``width`` cells wide, for a segment going right or left."""
    style = "red" if seg.mode == "lost" else ("yellow" if seg.rtx else ("cyan" if right else "blue"))
    label = f" {seg.label} "
    mode = seg.mode
    if right:
        head = {"full": "──▶", "lost": "──✗", "dep": "─ ⋯", "arr": "──▶"}[mode]
        tail = "⋯ ─" if mode == "arr" else "──"
        fill = max(width - len(label) - len(head) - len(tail), 1)
        body = tail + label + "─" * fill + head
    else:
        head = {"full": "◀──", "lost": "✗──", "dep": "⋯ ─", "arr": "◀──"}[mode]
        tail = "─ ⋯" if mode == "arr" else "──"
        fill = max(width - len(label) - len(head) - len(tail), 1)
        body = head + "─" * fill + label + tail
    return [(body, style)]


def _pad(text: str, n: int, align: str) -> str:
    if align == ">":
        return text.rjust(n)
    if align == "^":
        return text.center(n)
    return text.ljust(n)


def _layout_two(rows: list[_Row], lanes: list[str], t0: float, width: Optional[int]) -> list:
    a, b = lanes
    tw = max([len("ms")] + [len(_time_text(r, t0)) for r in rows[1:]])
    sw = [max([len(a)] + [len(r.states.get(a, "")) for r in rows]),
          max([len(b)] + [len(r.states.get(b, "")) for r in rows])]

    def middle_need(r: _Row) -> int:
        if r.kind == "seg":
            return len(r.seg.label) + 8
        if r.kind in ("app", "note", "drop", "fold"):
            return len(r.text) + 2
        return 0

    mw = max([24] + [middle_need(r) for r in rows])
    fixed = tw + 2 + sw[0] + 1 + 2 + 1 + sw[1]
    if width is not None and width - fixed > mw:
        mw = width - fixed
    lines = []
    head = [(_pad("ms", tw, ">"), "dim"), ("  ", ""), (_pad(a, sw[0], ">"), "bold"), ("  ", ""),
            (" " * mw, ""), ("  ", ""), (b, "bold")]
    lines.append(head)
    for r in rows:
        fold = r.kind == "fold"
        life = "⋮" if fold else "│"
        line = [(_pad("" if r is rows[0] else _time_text(r, t0), tw, ">"), "dim"), ("  ", "")]
        sa, sb = r.states.get(a, ""), r.states.get(b, "")
        line.append((_pad(sa, sw[0], ">"), _state_style(sa, a in r.changed)))
        line.append((" " + life, "dim"))
        if r.kind == "seg":
            s = r.seg
            right = s.src == a or (s.dst == b and s.src != b)
            line += _arrow(s, right, mw)
        elif r.kind in ("app", "note", "drop"):
            style = {"app": "bold", "note": "dim", "drop": "red"}[r.kind]
            text = f" {r.text} "
            line.append((_pad(text, mw, "<" if r.host == a else ">"), style))
        elif fold:
            line.append((_pad(r.text, mw, "^"), "dim italic"))
        else:
            line.append((" " * mw, ""))
        line.append((life + " ", "dim"))
        line.append((sb, _state_style(sb, b in r.changed)))
        if r.notes:
            line.append((" " * (sw[1] - len(sb)) + "  " + "; ".join(r.notes), "yellow"))
        lines.append(line)
    return lines


def _layout_many(rows: list[_Row], lanes: list[str], t0: float, width: Optional[int]) -> list:
    tw = max([len("ms")] + [len(_time_text(r, t0)) for r in rows[1:]])
    sws = [max([len(h)] + [len(r.states.get(h, "")) for r in rows]) for h in lanes]

    def mid_text(r: _Row) -> str:
        if r.kind == "seg":
            s = r.seg
            mark = {"full": "──▶", "lost": "──✗", "dep": "─ ⋯", "arr": "──▶"}[s.mode]
            lead = "⋯ ─" if s.mode == "arr" else "──"
            return f"{s.src} {lead} {s.label} {mark} {s.dst}"
        if r.kind in ("app", "note", "drop"):
            return f"{r.host}: {r.text}"
        if r.kind == "fold":
            return r.text
        return ""

    mw = max([20] + [len(mid_text(r)) for r in rows])
    fixed = tw + 2 + sum(w + 2 for w in sws) + 2
    if width is not None and width - fixed > mw:
        mw = width - fixed
    lines = []
    head = [(_pad("ms", tw, ">"), "dim"), ("  ", "")]
    for h, w in zip(lanes, sws):
        head += [(_pad(h, w, "<"), "bold"), ("  ", "")]
    lines.append(head)
    for r in rows:
        line = [(_pad("" if r is rows[0] else _time_text(r, t0), tw, ">"), "dim"), ("  ", "")]
        for h, w in zip(lanes, sws):
            st = r.states.get(h, "")
            line += [(_pad(st, w, "<"), _state_style(st, h in r.changed)), ("  ", "")]
        life = "⋮ " if r.kind == "fold" else "│ "
        line.append((life, "dim"))
        style = {"seg": "cyan", "app": "bold", "note": "dim", "drop": "red", "fold": "dim italic"}.get(r.kind, "")
        if r.kind == "seg" and r.seg.mode == "lost":
            style = "red"
        elif r.kind == "seg" and r.seg.rtx:
            style = "yellow"
        line.append((_pad(mid_text(r), mw, "<"), style))
        if r.notes:
            line.append(("  " + "; ".join(r.notes), "yellow"))
        lines.append(line)
    return lines
