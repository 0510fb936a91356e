"""The terminal ladder diagram: hosts as columns, time running down, segments as arrows.

:func:`render_ladder` draws trace *records* (``synack.trace.records``) through the shared
:class:`~synack.trace.timeline.Timeline`, so a simulated run, a saved JSON Lines trace and a
pcap/pcapng capture all render through one path and agree with the HTML report;
:func:`ladder_from_events` is the shortcut for typed events. A pure function of its input
(STYLE rule 5).

Layout (two hosts)::

       ms       client                                                        server
                CLOSED │                                                    │ CLOSED
    0.000       CLOSED │                                           listen() │ LISTEN
    0.000     SYN-SENT │── [S] seq 0, win 65535, [mss 1460,sackOK,TS] ── ⋯│ LISTEN
   10.000     SYN-SENT │⋯ ─ [S] seq 0, win 65535, [mss 1460,sackOK,TS] ──▶│ SYN-RECEIVED

- ``ms``: the time of the row in milliseconds since the first record. Idle gaps longer
  than ``fold_gap`` seconds are folded into one ``⋮ 59.99 s pass`` row.
- One column per host with that host's TCP state *after* the row, at the row's time (RFC
  9293 spellings; the first row gives the states before anything happened). A host's
  state is that of its most recently changed connection or listening socket.
- The middle: one arrow per segment, labelled like tcpdump (``Timeline.label``) or in RFC
  9293's ``<SEQ=..><ACK=..><CTL=..>`` notation. An arrow ends in ``▶``/``◀`` where the
  segment arrived, ``✗`` where it was lost, ``⋯`` where it has not arrived on that row. A
  departure and its arrival share a row only when nothing else happens between them and
  the arrival changes no state (or happens at the same instant): a state change is always
  shown at the time it happened.
- Notes after the last column: retransmission causes (``RTO #2, rto=2.0s``), why a segment
  was lost or discarded, timers, connection errors, and for a capture the analysis flags
  (``dup ACK #2``, ``retransmission``, ...).
- ``width``: lines are at most this many terminal columns. Arrows stretch to use the room;
  notes are wrapped by display width onto continuation lines (beside the ladder when
  there is room, under the row otherwise); a label too long for the arrow continues on the
  next line.

With three or more hosts each row names both ends (``attacker ── [S] ... ──▶ server``) and
the state columns stand side by side before the middle.

Colour comes from ``rich``; ``color=None`` means colour only when standard output is a
terminal and ``NO_COLOR`` (https://no-color.org) is unset or empty. The plain text (what
golden tests compare) is exactly the coloured text without its escape sequences.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..wire.seq import Seq
from ..wire.tcp import TcpSegment
from .calls import call_text, housekeeping
from .records import TIMER_NAMES, duration, flags_bits
from .rfc import rfc_segment
from .timeline import Timeline, display_width, infer_states

__all__ = ["render_ladder", "ladder_from_events", "ladder_lines", "use_color", "infer_states", "wrap_text"]


def use_color(color: bool | None = None, stream: Any = None) -> bool:
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


def ladder_from_events(events: Iterable, names: Mapping[str, str] | None = None, **kw: Any) -> str:
    """:func:`render_ladder` of typed trace events (``names``: address -> host name)."""
    from .jsonl import to_records

    return render_ladder(to_records(events, names), **kw)


def render_ladder(records: Sequence[dict], *, hosts: Sequence[str] | None = None, absolute: bool = False,
                  color: bool | None = None, width: int | None = None, notation: str = "tcpdump",
                  timers: bool = True, fold_gap: float | None = 1.0, transitions: Iterable | None = None,
                  ports: bool = False) -> str:
    """The ladder of ``records`` as text (one line per row, newline-terminated).

    ``hosts``: the lifelines, left to right (default: hosts in order of first appearance,
    senders first); ``absolute``: raw sequence numbers; ``color``: see :func:`use_color`;
    ``width``: the most columns a line may take (None: as wide as the rows need);
    ``notation``: ``"tcpdump"`` or ``"rfc"``; ``timers``: show timer notes; ``fold_gap``:
    fold idle gaps longer than this many seconds (None or 0: never); ``transitions``: the
    state transition table a capture's states are inferred with
    (``synack.tcp.state.TRANSITIONS``; without it a capture has no state columns);
    ``ports``: write each segment's ports (``alice:42068 ── ... ──▶ server:7``).
    """
    lines = ladder_lines(records, hosts=hosts, absolute=absolute, width=width, notation=notation,
                         timers=timers, fold_gap=fold_gap, transitions=transitions, ports=ports)
    if not use_color(color):
        return "".join("".join(text for text, _ in line).rstrip() + "\n" for line in lines)
    return _rich(lines)


def _rich(lines: list) -> str:
    from rich.console import Console
    from rich.text import Text

    buf = io.StringIO()
    wide = max((sum(display_width(t) for t, _ in line) for line in lines), default=1) + 1
    console = Console(file=buf, force_terminal=True, color_system="standard", no_color=False,
                      width=wide, highlight=False, emoji=False, markup=False, soft_wrap=True,
                      legacy_windows=False)
    for line in lines:
        while line and not line[-1][0].strip():  # drop trailing blanks, as the plain text does
            line = line[:-1]
        if line:
            last_t, last_s = line[-1]
            line = line[:-1] + [(last_t.rstrip(), last_s)]
        console.print(Text.assemble(*[(t, s or "") for t, s in line]), soft_wrap=True)
    return buf.getvalue()


def wrap_text(text: str, columns: int) -> list[str]:
    """``text`` broken at spaces into lines of at most ``columns`` display columns (a word
    longer than that is cut)."""
    columns = max(columns, 8)
    out: list[str] = []
    line, used = "", 0
    for word in text.split(" "):
        w = display_width(word)
        while w > columns:  # a word wider than a line: cut it
            if line:
                out.append(line)
                line, used = "", 0
            cut = len(word)
            while display_width(word[:cut]) > columns:
                cut -= 1
            out.append(word[:cut])
            word = word[cut:]
            w = display_width(word)
        if line and used + 1 + w > columns:
            out.append(line)
            line, used = "", 0
        line, used = (f"{line} {word}", used + 1 + w) if line else (word, w)
    if line or not out:
        out.append(line)
    return out


def _split_label(label: str, columns: int) -> list[str]:
    """A segment label broken after its commas into pieces of at most ``columns``."""
    parts = label.split(", ")
    out: list[str] = []
    cur = ""
    for i, p in enumerate(parts):
        piece = p + ("," if i < len(parts) - 1 else "")
        if cur and display_width(cur) + 1 + display_width(piece) > columns:
            out.append(cur)
            cur = piece
        else:
            cur = f"{cur} {piece}" if cur else piece
    out.append(cur)
    return [x for p in out for x in wrap_text(p, columns)]


# ==========================================================================================
# Building rows
# ==========================================================================================


class _Row:
    """One row of the ladder before layout."""

    __slots__ = ("t", "kind", "actors", "host", "text", "notes", "states", "changed", "seg", "end_t")

    def __init__(self, t: float, kind: str, host: str | None = None, text: str = "") -> None:
        self.t = t
        self.kind = kind          # seg | app | note | state | fold | drop
        self.actors: set = set()  # (host, time) pairs this row speaks for
        self.host = host          # the host an app/note/drop row stands at
        self.text = text
        self.notes: list[str] = []
        self.states: dict = {}
        self.changed: set = set()
        self.seg: _SegDraw | None = None
        self.end_t = t            # latest time the row covers (an arrival)


class _SegDraw:
    """How one segment row is drawn: its ends, its label, and what became of it."""

    __slots__ = ("src", "dst", "label", "mode", "rtx", "ends")

    def __init__(self, src: str, dst: str, label: str, mode: str, rtx: bool,
                 ends: tuple[str, str] | None = None) -> None:
        self.src = src
        self.dst = dst
        self.label = label
        self.mode = mode  # full | dep (in flight) | arr (arrival only) | lost
        self.rtx = rtx
        #: how the two ends are written where a row names them (``alice:42068``)
        self.ends = ends or (src, dst)


_KNOWN = frozenset({"send", "recv", "drop", "state", "timer-armed", "timer-cancelled", "timer-fired",
                    "rtt", "cwnd", "app", "error", "syncookies", "icmp", "fastopen", "listen-queue"})


class _Rows:
    """Turns the timeline into rows: one pass over the records, one method per kind."""

    def __init__(self, tl: Timeline, lanes: list[str], absolute: bool, notation: str, timers: bool,
                 fold_gap: float | None, ports: bool = False) -> None:
        self.tl = tl
        self.ports = ports
        self.recs = tl.records
        self.lanes = lanes
        self.lane_set = set(lanes)
        self.absolute = absolute
        self.notation = notation
        self.timers = timers
        self.fold_gap = fold_gap
        recording = {r["host"] for r in self.recs}
        self.elsewhere = recording - self.lane_set  # recording hosts left off the ladder
        self.shown: dict[str, str] = {h: tl.initial_state(h) for h in lanes}
        #: host -> connection (or listener) -> (when it last changed, its state)
        self.conns: dict[str, dict] = {h: {} for h in lanes}
        self.rows: list[_Row] = []
        head = _Row(self.recs[0]["t"], "state")
        head.states = dict(self.shown)
        self.rows.append(head)
        self.open_row: _Row | None = None   # the row that collects what happens at its instant
        self.pending: list[tuple[str, float, tuple]] = []  # (host, time, (connection, state))
        self.done: set = set()
        self.queue_shown = tl.queue_notes()

    # ---- helpers ---------------------------------------------------------------------------
    def off_ladder(self, r: dict) -> bool:
        """Records about a recording host left off the ladder: its segments, and its peers'
        connections with it."""
        if not self.elsewhere:
            return False
        if r["event"] in ("send", "recv", "drop"):
            return r.get("src") in self.elsewhere or r.get("dst") in self.elsewhere
        conn = r.get("conn")
        if not conn:
            return False
        remote = conn.rsplit("-", 1)[-1].rsplit(":", 1)[0].strip("[]")
        return self.tl.addr_names.get(remote) in self.elsewhere

    def label(self, i: int) -> str:
        r = self.recs[i]
        if self.notation == "rfc":
            seq, ack = self.tl.numbers(i, self.absolute)
            seg = TcpSegment(r["src_port"], r["dst_port"], Seq(seq), Seq(ack), flags_bits(r["flags"]), r["win"],
                             bytes(r["len"]))
            return rfc_segment(seg, data_len=True)
        return self.tl.label(i, self.absolute)

    def close_open(self) -> None:
        if self.open_row is not None:
            self.open_row.states = dict(self.shown)

    def add(self, row: _Row, pre_applied: list | None = None) -> None:
        """Append ``row``: pending state changes it speaks for go on it, the others on a
        state row before it; an idle gap before it is folded."""
        apply = list(pre_applied or ())
        if pre_applied is None and self.pending:
            left = [p for p in self.pending if p[:2] not in row.actors]
            apply = [p for p in self.pending if p[:2] in row.actors]
            self.pending.clear()
            if left:
                self.state_row(left)
        rows = self.rows
        prev = rows[-1] if len(rows) > 1 else None
        if self.fold_gap and prev is not None and row.t - prev.end_t > self.fold_gap:
            self.close_open()
            f = _Row(prev.end_t, "fold", text=f"{duration(row.t - prev.end_t)} pass")
            f.states = dict(self.shown)
            rows.append(f)
            self.open_row = None
        self.close_open()
        for h, _, change in apply:
            self.set_state(h, *change)
            row.changed.add(h)
        rows.append(row)
        self.open_row = row

    def state_row(self, left: list) -> None:
        srow = _Row(left[0][1], "state")
        for h, t, _ in left:
            srow.actors.add((h, t))
        self.add(srow, pre_applied=left)

    def set_state(self, h: str, conn: Any, state: str) -> None:
        """A connection (or listening socket) of ``h`` is now in ``state``. The host's column
        shows its most recently changed connection that is not CLOSED (CLOSED when none is),
        so a listener closed while a connection is in LAST-ACK does not hide LAST-ACK."""
        conns = self.conns[h]
        conns[conn] = (len(conns) and max(o for o, _ in conns.values()) + 1, state)
        live = [(o, s) for o, s in conns.values() if s != "CLOSED"]
        self.shown[h] = max(live)[1] if live else "CLOSED"

    def attach_target(self, h: str, t: float) -> _Row | None:
        row = self.open_row
        if row is not None and (h, t) in row.actors:
            return row
        return None

    def note(self, h: str, t: float, text: str) -> None:
        row = self.attach_target(h, t)
        if row is not None:
            if row.host == h and row.text == text:
                return  # the same note twice at one instant (two connections' timers)
            full = text if len(self.lanes) <= 2 and row.host == h else f"{h}: {text}"
            if full not in row.notes:
                row.notes.append(full)
            return
        if h not in self.lane_set:
            return
        nrow = _Row(t, "note", host=h, text=text)
        nrow.actors.add((h, t))
        self.add(nrow)

    def quiet(self, q: dict, sender: str, t_send: float) -> bool:
        """Whether record ``q`` draws nothing of its own (so a departure and its arrival
        may share a row across it)."""
        if self.off_ladder(q):
            return True
        k = q["event"]
        if k in ("rtt", "cwnd", "timer-cancelled") or k not in _KNOWN:
            return True
        if k.startswith("timer") and not self.timers:
            return True
        if q["host"] not in self.lane_set:
            return k not in ("send", "recv", "drop")
        if k == "timer-armed":
            return q["name"] == "rto" or (q["host"] == sender and q["t"] == t_send)
        if k == "state":
            return q["host"] == sender and q["t"] == t_send
        if k == "app":
            return housekeeping(q)
        return False

    # ---- the pass ------------------------------------------------------------------------
    def build(self) -> list[_Row]:
        handlers = {"state": self.on_state, "send": self.on_send, "recv": self.on_recv, "drop": self.on_drop,
                    "app": self.on_app, "error": self.on_error, "listen-queue": self.on_queue,
                    "syncookies": self.on_cookies, "icmp": self.on_icmp, "fastopen": self.on_fastopen,
                    "timer-armed": self.on_timer, "timer-fired": self.on_timer}
        for i, r in enumerate(self.recs):
            if i in self.done or self.off_ladder(r):
                continue
            fn = handlers.get(r["event"])
            if fn is not None:
                fn(i, r)
        if self.pending:
            left = list(self.pending)
            self.pending.clear()
            self.state_row(left)
        self.close_open()
        return self.rows

    def on_state(self, i: int, r: dict) -> None:
        h, t = r["host"], r["t"]
        if h not in self.lane_set:
            return
        change = (r.get("conn") or ("listener", r.get("listener")), r["to"])
        row = self.attach_target(h, t)
        if row is not None:
            self.set_state(h, *change)
            row.changed.add(h)
        else:
            self.pending.append((h, t, change))

    def _seg_row(self, r: dict, i: int, mode: str, rtx: bool) -> _Row:
        row = _Row(r["t"], "seg")
        row.actors.add((r["host"], r["t"]))
        src, dst = r.get("src") or "?", r.get("dst") or "?"
        label = self.label(i)
        ends = None
        if self.ports:
            ends = (f"{src}:{r.get('src_port')}", f"{dst}:{r.get('dst_port')}")
            if len(self.lanes) == 2:
                label = f":{r.get('src_port')} > :{r.get('dst_port')} {label}"
        row.seg = _SegDraw(src, dst, label, mode, rtx, ends)
        return row

    def on_send(self, i: int, r: dict) -> None:
        tl, m = self.tl, self.tl.match
        src, dst, h, t = r.get("src"), r.get("dst"), r["host"], r["t"]
        if (src not in self.lane_set and dst not in self.lane_set) or h not in self.lane_set:
            return
        j = m.arrival.get(i)
        if i in m.lost:
            mode = "lost"
        elif not tl.has_recv or (  # a capture: what was seen on the wire got there
                j is not None and self.recs[j]["host"] in self.lane_set
                and all(self.quiet(self.recs[x], h, t) for x in range(i + 1, j))
                and (self.recs[j]["t"] == t or not tl.arrival_changes_state(j))):
            mode = "full"
        else:
            mode = "dep"
        row = self._seg_row(r, i, mode, bool(r.get("retransmit")))
        for text in (tl.cause_text(i), tl.timer_text(i)):
            if text:
                row.notes.append(text)
        if tl.is_capture:
            row.notes.extend(f for f in tl.flags.get(i, ()) if not (r.get("retransmit") and "retransmission" in f))
        if mode == "lost":
            row.notes.append(f"lost: {m.lost[i]}")
        if mode == "full" and not tl.has_recv and dst in self.lane_set:
            row.actors.add((dst, t))  # a capture: seen arriving as it was seen sent
        if mode == "full" and j is not None:
            rj = self.recs[j]
            row.actors.add((rj["host"], rj["t"]))
            row.end_t = rj["t"]
            self.done.add(j)
            if j in m.discarded:
                row.notes.append(f"{rj['host']} discarded it: {m.discarded[j]}")
        self.add(row)

    def on_recv(self, i: int, r: dict) -> None:
        m = self.tl.match
        src, dst, h = r.get("src"), r.get("dst"), r["host"]
        if (src not in self.lane_set and dst not in self.lane_set) or h not in self.lane_set:
            return
        row = self._seg_row(r, i, "arr", False)
        if i in m.dup:
            row.notes.append("duplicate")
        elif i not in m.departure and src in self.lane_set:
            row.notes.append("no TCP sent this")
        if i in m.discarded:
            row.notes.append(f"discarded: {m.discarded[i]}")
        self.add(row)

    def on_drop(self, i: int, r: dict) -> None:
        m = self.tl.match
        if i not in m.unmatched_drops:
            return
        h = r["host"]
        why = r["reason"] + (f" ({r['detail']})" if r.get("detail") else "")
        if r.get("flags") is not None:  # a segment neither sent nor received on the ladder
            if (r.get("src") not in self.lane_set and r.get("dst") not in self.lane_set) or h not in self.lane_set:
                return
            row = self._seg_row(r, i, "lost", False)
            row.notes.append(f"dropped: {why}")
            self.add(row)
            return
        if h in self.lane_set:
            drow = _Row(r["t"], "drop", host=h, text=f"✗ dropped a packet: {why}")
            drow.actors.add((h, r["t"]))
            self.add(drow)

    def on_app(self, i: int, r: dict) -> None:
        h = r["host"]
        if h not in self.lane_set or housekeeping(r):
            return
        text = call_text(r, self.tl.addr_names, self.tl.listener_call.get(i))
        arow = _Row(r["t"], "app", host=h, text=text)
        arow.actors.add((h, r["t"]))
        self.add(arow)

    def on_error(self, i: int, r: dict) -> None:
        if r["host"] in self.lane_set:
            self.note(r["host"], r["t"], f"error: {r.get('detail') or r['error']}")

    def on_queue(self, i: int, r: dict) -> None:
        if r["host"] in self.lane_set and i in self.queue_shown:
            self.note(r["host"], r["t"], f"queues: SYN {r.get('syn_queue')}/{r.get('syn_backlog')}, "
                                         f"accept {r.get('accept_queue')}/{r.get('backlog')}")

    def on_cookies(self, i: int, r: dict) -> None:
        if r["host"] in self.lane_set:
            self.note(r["host"], r["t"], f"SYN cookies {'on' if r.get('on') else 'off'}"
                      + (f" ({r['reason']})" if r.get("reason") else ""))

    def on_icmp(self, i: int, r: dict) -> None:
        if r["host"] in self.lane_set:
            verb = "sent" if r.get("action") == "sent" else f"received ({r.get('action')})"
            detail = f": {r['detail']}" if r.get("detail") else ""
            self.note(r["host"], r["t"], f"ICMP {r.get('kind')} {verb}{detail}")

    def on_fastopen(self, i: int, r: dict) -> None:
        if r["host"] in self.lane_set:
            self.note(r["host"], r["t"], f"Fast Open: {r.get('action')}"
                      + (f" ({r['detail']})" if r.get("detail") else ""))

    def on_timer(self, i: int, r: dict) -> None:
        h, t, k = r["host"], r["t"], r["event"]
        if not self.timers or h not in self.lane_set:
            return
        name = r["name"]
        tn = TIMER_NAMES.get(name, name)
        if k == "timer-armed":
            if name in ("time-wait", "persist", "keepalive"):  # RTO, delayed ACK, TLP: noted on what they cause
                self.note(h, t, f"{tn} timer {duration(r['deadline'] - t)}")
        elif i not in self.tl.notes.consumed:
            if name == "rto":
                f = self.tl.notes.rto_fired.get((h, r.get("conn")))
                self.note(h, t, f"{f[1] if f else 'RTO'} expired")
            else:
                self.note(h, t, f"{tn} timer expired")


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


def ladder_lines(records: Sequence[dict], *, hosts: Sequence[str] | None = None, absolute: bool = False,
                 width: int | None = None, notation: str = "tcpdump", timers: bool = True,
                 fold_gap: float | None = 1.0, transitions: Iterable | None = None,
                 ports: bool = False) -> list[list[tuple[str, str]]]:
    """The ladder as lines of ``(text, style)`` pieces (styles are rich style strings)."""
    if notation not in ("tcpdump", "rfc"):
        raise ValueError(f"notation must be 'tcpdump' or 'rfc', got {notation!r}")
    if width is not None and width < 1:
        raise ValueError(f"width must be positive, got {width}")
    tl = Timeline(records, transitions, calls_where_they_began=True)
    recs = tl.records
    lanes = list(hosts) if hosts else tl.hosts()
    if hosts:
        known = {r["host"] for r in recs} | {r.get(k) for r in recs for k in ("src", "dst")}
        missing = [h for h in lanes if h not in known]
        if missing:
            raise ValueError(f"hosts: {', '.join(missing)} not in the trace "
                             f"(it has {', '.join(tl.hosts()) or 'no hosts'})")
    if not recs or not lanes:
        return [[("(empty trace)", "dim")]]
    rows = _Rows(tl, lanes, absolute, notation, timers, fold_gap, ports).build()
    t0 = recs[0]["t"]
    if len(lanes) == 2:
        return _layout_two(rows, lanes, t0, width)
    return _layout_many(rows, lanes, t0, width)


def _time_text(row: _Row, t0: float) -> str:
    if row.kind == "fold":
        return "⋮"
    return f"{(row.t - t0) * 1000:.3f}"


def _pad(text: str, n: int, align: str) -> str:
    gap = max(0, n - display_width(text))
    if align == ">":
        return " " * gap + text
    if align == "^":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _arrow(seg: _SegDraw, label: str, right: bool, width: int) -> list[tuple[str, str]]:
    """The middle of a segment row, ``width`` cells wide, for a segment going right or left."""
    style = "red" if seg.mode == "lost" else ("yellow" if seg.rtx else ("cyan" if right else "blue"))
    label = f" {label} "
    mode = seg.mode
    lw = display_width(label)
    if right:
        head = {"full": "──▶", "lost": "──✗", "dep": "─ ⋯", "arr": "──▶"}[mode]
        tail = "⋯ ─" if mode == "arr" else "──"
        fill = max(width - lw - len(head) - len(tail), 1)
        body = tail + label + "─" * fill + head
    else:
        head = {"full": "◀──", "lost": "✗──", "dep": "⋯ ─", "arr": "◀──"}[mode]
        tail = "─ ⋯" if mode == "arr" else "──"
        fill = max(width - lw - len(head) - len(tail), 1)
        body = head + "─" * fill + label + tail
    return [(body, style)]


class _Fit:
    """Widths of the middle and the notes for a given line width."""

    def __init__(self, fixed: int, need: int, notes: list[str], width: int | None, floor: int) -> None:
        longest = max((display_width(n) for n in notes), default=0)
        if width is None:
            self.mw, self.nw, self.under = max(floor, need), longest, False
            return
        room = width - fixed
        floor = min(floor, max(12, room))
        self.mw = max(floor, min(need, room))
        side = width - fixed - self.mw - 2
        if longest and side < min(longest, 24):
            self.under = True  # notes go under their row, inside the ladder
            self.mw = max(self.mw, room)
            self.nw = self.mw - 5
        else:
            self.under = False
            self.nw = min(longest, side)
            self.mw = max(self.mw, width - fixed - (self.nw + 2 if longest else 0))


def _notes_lines(notes: list[str], nw: int) -> list[str]:
    if not notes:
        return []
    return wrap_text("; ".join(notes), nw)


def _layout_two(rows: list[_Row], lanes: list[str], t0: float, width: int | None) -> list:
    a, b = lanes
    tw = max([len("ms")] + [len(_time_text(r, t0)) for r in rows[1:]])
    sw = [max([display_width(a)] + [display_width(r.states.get(a, "")) for r in rows]),
          max([display_width(b)] + [display_width(r.states.get(b, "")) for r in rows])]

    def need(r: _Row) -> int:
        if r.kind == "seg" and r.seg is not None:
            return display_width(r.seg.label) + 9
        if r.kind in ("app", "note", "drop", "fold"):
            return display_width(r.text) + 2
        return 0

    fixed = tw + 2 + sw[0] + 2 + 2 + sw[1]
    fit = _Fit(fixed, max([24] + [need(r) for r in rows]), ["; ".join(r.notes) for r in rows if r.notes],
               width, 24)
    mw = fit.mw
    lines = [[(_pad("ms", tw, ">"), "dim"), ("  ", ""), (_pad(a, sw[0], ">"), "bold"), ("  ", ""),
              (" " * mw, ""), ("  ", ""), (b, "bold")]]

    def cont(middle: str, note: str, style: str, align: str = "<") -> list:
        line = [(" " * (tw + 2 + sw[0]), ""), (" │", "dim"), (_pad(middle, mw, align), style), ("│ ", "dim")]
        if note:
            line.append((" " * sw[1] + "  " + note, "yellow"))
        return line

    for r in rows:
        fold = r.kind == "fold"
        life = "⋮" if fold else "│"
        line = [(_pad("" if r is rows[0] else _time_text(r, t0), tw, ">"), "dim"), ("  ", "")]
        sa, sb = r.states.get(a, ""), r.states.get(b, "")
        line.append((_pad(sa, sw[0], ">"), _state_style(sa, a in r.changed)))
        line.append((" " + life, "dim"))
        extra: list[str] = []  # middle continuation lines
        align = "<"
        if r.kind == "seg" and r.seg is not None:
            s = r.seg
            right = s.src == a or (s.dst == b and s.src != b)
            pieces = _split_label(s.label, mw - 9) if display_width(s.label) + 9 > mw else [s.label]
            line += _arrow(s, pieces[0], right, mw)
            extra = [f"    {p}" if right else f"{p}    " for p in pieces[1:]]
            align = "<" if right else ">"
        elif r.kind in ("app", "note", "drop"):
            style = {"app": "bold", "note": "dim", "drop": "red"}[r.kind]
            pieces = wrap_text(r.text, mw - 2)
            line.append((_pad(f" {pieces[0]} ", mw, "<" if r.host == a else ">"), style))
            extra = [f" {p}" if r.host == a else f"{p} " for p in pieces[1:]]
            align = "<" if r.host == a else ">"
        elif fold:
            line.append((_pad(r.text, mw, "^"), "dim italic"))
        else:
            line.append((" " * mw, ""))
        line.append((life + " ", "dim"))
        line.append((sb, _state_style(sb, b in r.changed)))
        notes = _notes_lines(r.notes, fit.nw)
        if notes and not fit.under:
            line.append((" " * (sw[1] - display_width(sb)) + "  " + notes[0], "yellow"))
            notes = notes[1:]
        lines.append(line)
        for k in range(max(len(extra), 0 if fit.under else len(notes))):
            lines.append(cont(extra[k] if k < len(extra) else "", "" if fit.under or k >= len(notes) else notes[k],
                              "dim", align))
        if fit.under:
            for n in notes:
                lines.append(cont(f"    {n}", "", "yellow"))
    return lines


def _label_room(r: _Row, mw: int) -> int:
    """Columns left for a segment row's label once both its ends and the arrow are written."""
    if r.kind != "seg" or r.seg is None:
        return mw
    s = r.seg
    return mw - display_width(f"{s.ends[0]} ──  ─ ⋯ {s.ends[1]}")


def _many_pieces(r: _Row, text: str, mw: int, split: bool) -> list[str]:
    """A row's middle in lines of at most ``mw`` columns. With ``split`` a segment keeps both
    its ends and the arrow on the first line and continues its label below, indented."""
    if display_width(text) <= mw:
        return [text]
    if split and r.kind == "seg" and r.seg is not None:
        s = r.seg
        mark = {"full": "──▶", "lost": "──✗", "dep": "─ ⋯", "arr": "──▶"}[s.mode]
        lead = "⋯ ─" if s.mode == "arr" else "──"
        parts = _split_label(s.label, _label_room(r, mw))
        return [f"{s.ends[0]} {lead} {parts[0]} {mark} {s.ends[1]}"] + [f"    {p}" for p in parts[1:]]
    return wrap_text(text, mw)


def _layout_many(rows: list[_Row], lanes: list[str], t0: float, width: int | None) -> list:
    tw = max([len("ms")] + [len(_time_text(r, t0)) for r in rows[1:]])
    sws = [max([display_width(h)] + [display_width(r.states.get(h, "")) for r in rows]) for h in lanes]

    def mid_text(r: _Row) -> str:
        if r.kind == "seg" and r.seg is not None:
            s = r.seg
            mark = {"full": "──▶", "lost": "──✗", "dep": "─ ⋯", "arr": "──▶"}[s.mode]
            lead = "⋯ ─" if s.mode == "arr" else "──"
            return f"{s.ends[0]} {lead} {s.label} {mark} {s.ends[1]}"
        if r.kind in ("app", "note", "drop"):
            return f"{r.host}: {r.text}"
        if r.kind == "fold":
            return r.text
        return ""

    fixed = tw + 2 + sum(w + 2 for w in sws) + 2
    fit = _Fit(fixed, max([20] + [display_width(mid_text(r)) for r in rows]),
               ["; ".join(r.notes) for r in rows if r.notes], width, 20)
    mw = fit.mw
    lines = []
    head = [(_pad("ms", tw, ">"), "dim"), ("  ", "")]
    for h, w in zip(lanes, sws, strict=False):
        head += [(_pad(h, w, "<"), "bold"), ("  ", "")]
    lines.append(head)
    blank = " " * (tw + 2 + sum(w + 2 for w in sws))
    # one style for the whole ladder: labels continue below their arrow only when every
    # row that needs it has room for more than crumbs of its label
    split = all(_label_room(r, mw) >= 32 for r in rows
                if r.kind == "seg" and display_width(mid_text(r)) > mw)
    for r in rows:
        line = [(_pad("" if r is rows[0] else _time_text(r, t0), tw, ">"), "dim"), ("  ", "")]
        for h, w in zip(lanes, sws, strict=False):
            st = r.states.get(h, "")
            line += [(_pad(st, w, "<"), _state_style(st, h in r.changed)), ("  ", "")]
        life = "⋮ " if r.kind == "fold" else "│ "
        line.append((life, "dim"))
        style = {"seg": "cyan", "app": "bold", "note": "dim", "drop": "red", "fold": "dim italic"}.get(r.kind, "")
        if r.kind == "seg" and r.seg is not None and r.seg.mode == "lost":
            style = "red"
        elif r.kind == "seg" and r.seg is not None and r.seg.rtx:
            style = "yellow"
        pieces = _many_pieces(r, mid_text(r), mw, split)
        line.append((_pad(pieces[0], mw, "<"), style))
        notes = _notes_lines(r.notes, fit.nw)
        if notes and not fit.under:
            line.append(("  " + notes[0], "yellow"))
            notes = notes[1:]
        lines.append(line)
        extra = pieces[1:]
        for k in range(max(len(extra), 0 if fit.under else len(notes))):
            ln = [(blank, ""), ("│ ", "dim"), (_pad(extra[k] if k < len(extra) else "", mw, "<"), style)]
            if not fit.under and k < len(notes):
                ln.append(("  " + notes[k], "yellow"))
            lines.append(ln)
        if fit.under:
            for n in notes:
                lines.append([(blank, ""), ("│ ", "dim"), ("  " + n, "yellow")])
    return lines
