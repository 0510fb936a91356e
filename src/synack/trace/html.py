"""The HTML report: one self-contained page that shows a trace as a person would draw it.

:func:`render_html` turns a list of trace events (``synack.trace.events``) into one HTML
document with everything inline (style, script, SVG): nothing is fetched, not even a
font, and a Content-Security-Policy in the page forbids any fetch at all. It shows:

- an SVG **ladder diagram**: one vertical lifeline per host (left to right in order of first
  appearance, or as ``hosts`` says), time running down. Each ``SegmentSent`` is a slanted
  arrow from its send time on the sender's lifeline to its receive time on the receiver's
  (matched with its ``SegmentReceived`` by addresses and value, first in first out, as
  ``trace/rfc.py`` does). A segment the link lost ends in a red cross. Labels are
  tcpdump-style with sequence numbers relative to each direction's SYN; retransmissions
  are dashed, orange, and name their cause (``RTO #2``, ``fast retransmit``). State
  changes are labelled boxes on the lifeline, application calls small diamonds, timer
  expiries small circles. Hovering shows the absolute numbers and, for a state change,
  its cause and the RFC rule that fired;
- beside it, on the **same time axis** (a given height is the same instant in both), one
  chart per sending endpoint: cwnd, ssthresh, the peer's receive window and the bytes in
  flight (sent and not yet acknowledged, from the segments);
- **step / play controls** (buttons and keys) that reveal the drawing one event at a time,
  highlight the current event and describe it in the side panel; ``?step=N`` in the URL
  opens the page at step N.

Time runs down proportionally, with two liberties taken so that the picture stays
readable: events at the same instant (or closer than a row) are spread one row apart, and
an idle gap longer than four typical one-way delays is folded into a grey band that says
how long it was (a 60 s TIME-WAIT does not make the page a kilometre long).

The trace is embedded as the JSON Lines records of ``synack.trace.jsonl.to_records``; the
drawing is pre-rendered here, so the page is complete even without its script. A pure
function of the event list (STYLE rule 5)::

    from synack.trace.html import write_html
    write_html(net.recorder.events, "report.html", names=net.recorder.names)
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from html import escape
from statistics import median
from typing import Any, Iterable, Optional, Sequence, Union

from ..wire.tcp import ACK, FIN, RST, SYN, Eol, Nop, Sack, Timestamps, WindowScale, option_summary
from . import html_assets
from .jsonl import to_records
from .records import endpoint, flags_text

__all__ = ["render_html", "write_html"]

# --- geometry, in the SVG's own units (px at 100 %) -------------------------------------
_TIME_W = 64          # the time column on the left
_SIDE_W = 140         # room outside the outer lifelines for application calls
_TOP = 16             # y of the first row
_SEP = 24             # minimum distance between two rows
_ARROW_PX = 72        # height of an arrow that takes the typical one-way delay
_FOLD_FACTOR = 4      # gaps longer than this many typical one-way delays are folded
_FOLD_H = 40          # height of a folded gap
_BOTTOM = 40          # room below the last row
_HEAD_H = 50          # the host header
_STRIP_W = 128        # one chart strip
_STRIP_GAP = 14
_MAX_STRIPS = 4       # charts for at most this many endpoints (the first ones that sent data)
_CHAR_W = 6.62        # width of one character of the 11 px monospace font
_LOST_AT = 0.7        # a lost segment's cross is this far along its path
_LOST_MAX_H = 1.5 * _ARROW_PX   # ... which drops at most this far
_MIN_SCALE = 1500     # a chart's scale is at least this many bytes (about one MSS)
_MASK = 0xFFFFFFFF
_SSTHRESH_INF = 1 << 30   # ssthresh at or above this is "no threshold yet": not drawn

_ROW_EVENTS = frozenset({"send", "recv", "state", "app", "error", "timer-fired", "listen-queue", "syncookies"})

_STATE_CLASS = {
    "CLOSED": "closed", "LISTEN": "open", "SYN-SENT": "open", "SYN-RECEIVED": "open",
    "ESTABLISHED": "est",
}


# --- public API -------------------------------------------------------------------------

def render_html(events: Iterable, *, title: str = "synack", hosts: Optional[Sequence[str]] = None,
                names: Optional[Mapping[str, str]] = None) -> str:
    """The trace ``events`` as one self-contained HTML document (a ``str``).

    ``hosts`` orders the lifelines left to right (hosts with events that it does not name
    follow, in order of first appearance); ``names`` maps addresses (or ``"addr:port"``) to
    host names, as ``net.recorder.names`` does; addresses the trace itself ties to a host
    (the sender of a segment, its receiver) need no entry. Raises ``TypeError`` or
    ``ValueError`` naming the argument that is wrong.
    """
    if not isinstance(title, str):
        raise TypeError(f"title: expected a string, got {type(title).__name__}")
    evs = _check_events(events)
    addr_names = _names(evs, names)
    order = _host_order(evs, hosts)
    return _Report(evs, title, order, addr_names).page()


def write_html(events: Iterable, path: Union[str, os.PathLike], *, title: str = "synack",
               hosts: Optional[Sequence[str]] = None, names: Optional[Mapping[str, str]] = None) -> None:
    """Write :func:`render_html`'s page to ``path`` (UTF-8). ``OSError`` if it cannot."""
    text = render_html(events, title=title, hosts=hosts, names=names)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


# --- argument checks --------------------------------------------------------------------

def _check_events(events: Iterable) -> list:
    if isinstance(events, (str, bytes, Mapping)) or not hasattr(events, "__iter__"):
        raise TypeError(f"events: expected a list of trace events, got {type(events).__name__}")
    evs = list(events)
    for i, ev in enumerate(evs):
        if not (hasattr(ev, "event") and hasattr(ev, "t") and hasattr(ev, "host")):
            raise TypeError(f"events[{i}]: not a trace event (got {type(ev).__name__}); "
                            "pass the typed events of synack.trace.events, e.g. net.recorder.events")
    return evs


def _names(evs: list, names: Optional[Mapping[str, str]]) -> dict:
    """address -> host name: what the trace shows (who sent, who received), then ``names``."""
    out: dict = {}
    for ev in evs:
        if ev.event == "send" and ev.src:
            out.setdefault(ev.src, ev.host)
        elif ev.event == "recv" and ev.dst:
            out.setdefault(ev.dst, ev.host)
    if names is not None:
        if not isinstance(names, Mapping):
            raise TypeError(f"names: expected a mapping of address to host name, got {type(names).__name__}")
        for k, v in names.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"names: keys and values must be strings, got {k!r}: {v!r}")
            out[k] = v
    return out


def _host_order(evs: list, hosts: Optional[Sequence[str]]) -> list:
    """``hosts``, then the others: first those that took part in segment events, in that
    order (so the host that sends first is on the left, as RFC 9293's figures put the
    initiator), then the rest in order of first appearance."""
    seen: dict = {}
    for ev in evs:
        if ev.host and ev.event in ("send", "recv") and ev.host not in seen:
            seen[ev.host] = None
    for ev in evs:
        if ev.host and ev.host not in seen:
            seen[ev.host] = None
    if hosts is None:
        return list(seen)
    if isinstance(hosts, (str, bytes)) or not hasattr(hosts, "__iter__"):
        raise TypeError(f"hosts: expected a sequence of host names, got {type(hosts).__name__}")
    given = list(hosts)
    for h in given:
        if not isinstance(h, str) or not h:
            raise TypeError(f"hosts: every host name must be a non-empty string, got {h!r}")
    if len(set(given)) != len(given):
        raise ValueError(f"hosts: a host is named twice in {given!r}")
    return given + [h for h in seen if h not in given]


# --- small helpers ----------------------------------------------------------------------

def _esc(s: Any) -> str:
    return escape(str(s), quote=True)


def _num(x: float) -> str:
    """A coordinate: at most one decimal, no trailing zeros."""
    r = round(x, 1)
    return str(int(r)) if r == int(r) else f"{r:.1f}"


def _short_time(ns: float) -> str:
    """``230 ms``, ``10.5 ms``, ``60.29 s``: for the time column and durations."""
    if abs(ns) < 10_000_000_000:
        s = f"{ns / 1e6:.3f}".rstrip("0").rstrip(".")
        return f"{s} ms"
    s = f"{ns / 1e9:.3f}".rstrip("0").rstrip(".")
    return f"{s} s"


def _abs_time(ns: int) -> str:
    return f"{ns / 1e9:.6f} s"


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(1, chars - 1)] + "\u2026"


def _json_for_script(obj: Any) -> str:
    """JSON that can sit inside ``<script>``: ``<``, ``>``, ``&`` and the JS line separators
    are escaped (they only ever occur inside JSON strings, where ``\\uXXXX`` means the same)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=repr)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _nice_max(v: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten that is >= v."""
    if v <= 0:
        return 1.0
    p = 1.0
    while p * 10 < v:
        p *= 10
    while p > v:
        p /= 10
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if p * m >= v:
            return p * m
    return p * 10


def _bytes_text(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1e6:.3g} MB"
    if v >= 1000:
        return f"{v / 1e3:.3g} kB"
    return f"{v:.3g} B"


def _arrowhead(x1: float, y1: float, x2: float, y2: float, size: float = 9.0) -> str:
    dx, dy = x2 - x1, y2 - y1
    d = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / d, dy / d
    bx, by = x2 - ux * size, y2 - uy * size
    px, py = -uy * size * 0.42, ux * size * 0.42
    return (f'<polygon class="head" points="{_num(x2)},{_num(y2)} {_num(bx + px)},{_num(by + py)} '
            f'{_num(bx - px)},{_num(by - py)}"/>')


def _angle(x1: float, y1: float, x2: float, y2: float) -> float:
    """The angle (degrees) of the line, turned so that text along it is never upside down."""
    dx, dy = x2 - x1, y2 - y1
    if dx < 0:
        dx, dy = -dx, -dy
    return math.degrees(math.atan2(dy, dx)) if dx or dy else 0.0


# --- the report -------------------------------------------------------------------------

class _Endpoint:
    """One connection seen from one host: what its chart strip shows."""

    __slots__ = ("host", "conn", "cwnd", "ssthresh", "rwnd", "flight", "points", "data", "iss",
                 "snd_max", "una", "last_y")

    def __init__(self, host: str, conn: tuple) -> None:
        self.host = host
        self.conn = conn
        self.cwnd: list = []       # (y, bytes)
        self.ssthresh: list = []   # (y, bytes or None)
        self.rwnd: list = []       # (y, bytes)
        self.flight: list = []     # (y, bytes)
        self.points: list = []     # (y, x value, event index): CongestionChanged dots
        self.data = 0              # payload bytes sent
        self.iss: Optional[int] = None
        self.snd_max = 0           # highest sequence offset sent (+ SEG.LEN), from ISS
        self.una = 0               # highest offset acknowledged by the peer
        self.last_y = 0.0


class _Report:
    def __init__(self, evs: list, title: str, hosts: list, names: dict) -> None:
        self.evs = evs
        self.title = title
        self.hosts = hosts
        self.names = names
        self.records = to_records(evs, names)
        self._match()
        self._relative()
        self._retransmissions()
        self._rows()
        self._x()
        self._chart()

    # ---- analysis ----------------------------------------------------------------------
    def _match(self) -> None:
        """Pair each send with its receive or its link drop (FIFO by addresses and value)."""
        evs = self.evs
        pending: dict = {}
        self.recv_of: dict[int, int] = {}
        self.drop_of: dict[int, int] = {}
        self.extra: set[int] = set()    # receptions no traced host sent (injected, duplicated)
        self.rdrop: set[int] = set()    # drops by the receiving host (no listener, bad checksum ...)
        for i, ev in enumerate(evs):
            k = ev.event
            if k == "send":
                pending.setdefault((ev.src, ev.dst, ev.seg), deque()).append(i)
            elif k == "recv":
                q = pending.get((ev.src, ev.dst, ev.seg))
                if q:
                    self.recv_of[q.popleft()] = i
                else:
                    self.extra.add(i)
            elif k == "drop":
                q = pending.get((ev.src, ev.dst, ev.seg)) if ev.seg is not None else None
                if q and evs[q[0]].host == ev.host:   # recorded by the sender: the link lost it
                    self.drop_of[q.popleft()] = i
                else:
                    self.rdrop.add(i)
        delays = [evs[j].t - evs[i].t for i, j in self.recv_of.items() if evs[j].t > evs[i].t]
        self.delay = int(median(delays)) if delays else 0

    def _relative(self) -> None:
        """Sequence bases, as tcpdump shows them: the latest SYN sent in each direction of
        each connection (keyed by the 4-tuple: a server's port has many connections)."""
        isn: dict = {}
        self.bases: dict[int, tuple] = {}
        for i, ev in enumerate(self.evs):
            if ev.event == "send" or i in self.extra:
                seg = ev.seg
                if seg is None:
                    continue
                out = (ev.src, seg.src_port, ev.dst, seg.dst_port)
                back = (ev.dst, seg.dst_port, ev.src, seg.src_port)
                if seg.flags & SYN:
                    isn[out] = int(seg.seq)
                self.bases[i] = (isn.get(out), isn.get(back))

    def _retransmissions(self) -> None:
        """For each retransmission by RTO: which expiry (#n) and the backed-off timeout."""
        fired: dict = {}
        armed: dict = {}
        self.rto_note: dict[int, str] = {}
        self.rto_next: dict[int, str] = {}
        for i, ev in enumerate(self.evs):
            k = ev.event
            if k == "timer-fired" and ev.name == "rto":
                fired[(ev.host, ev.conn)] = ev.backoff
            elif k == "timer-armed" and ev.name == "rto":
                armed[(ev.host, ev.conn)] = (ev.t, ev.deadline - ev.t)
            elif k == "send" and ev.retransmit and ev.cause == "rto":
                key = (ev.host, ev.conn)
                self.rto_note[i] = f"RTO #{fired.get(key, 0) + 1}"
                a = armed.get(key)
                if a is not None and a[0] == ev.t:
                    self.rto_next[i] = f"the timer, backed off, is now {_short_time(a[1])}"

    def _rows(self) -> None:
        """Give every drawn event a row (y): time runs down proportionally, events at one
        instant are spread ``_SEP`` apart, long idle gaps are folded."""
        evs = self.evs
        rows = [i for i, ev in enumerate(evs) if ev.event in _ROW_EVENTS or i in self.rdrop]
        d = self.delay
        if d <= 0:
            gaps = [evs[b].t - evs[a].t for a, b in zip(rows, rows[1:]) if evs[b].t > evs[a].t]
            d = int(median(gaps)) if gaps else 1_000_000
        self.typical = d
        self.scale = _ARROW_PX / d            # px per ns
        self.fold_after = _FOLD_FACTOR * d
        self.row_y: dict[int, float] = {}
        self.folds: list[tuple] = []          # (y top, y bottom, gap ns)
        self.knot_t: list[int] = []
        self.knot_y: list[float] = []
        y = float(_TOP)
        reach = y      # how far down the drawing reaches so far (a lost arrow ends below its row)
        prev: Optional[int] = None
        for i in rows:
            t = evs[i].t
            if prev is not None:
                dt = t - prev
                if dt > self.fold_after:
                    top = max(y + _SEP / 2, reach + 6)
                    self.folds.append((top, top + _FOLD_H, dt))
                    y = top + _FOLD_H + _SEP / 2
                else:
                    y += max(_SEP, dt * self.scale)
            self.row_y[i] = y
            if i in self.drop_of:
                reach = max(reach, y + _LOST_MAX_H * _LOST_AT + 10)
            self.knot_t.append(t)
            self.knot_y.append(y)
            prev = t
        self.rows = rows
        self.bottom = (y if rows else _TOP) + _BOTTOM
        # Drawn heights of delivered segments per (sender, receiver): a lost segment is drawn
        # parallel to its nearest neighbour on the same path, so labels of a burst stay apart.
        self.heights: dict[tuple, list] = {}
        for i, j in sorted(self.recv_of.items()):
            self.heights.setdefault((evs[i].host, evs[j].host), []).append((i, self.row_y[j] - self.row_y[i]))

    def _height_like(self, i: int, peer: Optional[str]) -> float:
        """The drawn height of the delivered segment sent nearest to send ``i`` on its path."""
        hs = self.heights.get((self.evs[i].host, peer))
        if not hs:
            return float(_ARROW_PX)
        k = bisect_right(hs, (i, float("inf")))
        near = [hs[m] for m in (k - 1, k) if 0 <= m < len(hs)]
        return min(near, key=lambda p: abs(p[0] - i))[1]

    def y_at(self, t: int) -> float:
        """The height of instant ``t`` (interpolated between rows; the last row at ``t``)."""
        ts, ys = self.knot_t, self.knot_y
        if not ts:
            return float(_TOP)
        i = bisect_right(ts, t) - 1
        if i < 0:
            return max(_TOP - _SEP / 2, ys[0] - (ts[0] - t) * self.scale)
        if ts[i] == t or i == len(ts) - 1:
            return ys[i] + (min((t - ts[i]) * self.scale, 2 * _ARROW_PX) if i == len(ts) - 1 else 0)
        t0, t1, y0, y1 = ts[i], ts[i + 1], ys[i], ys[i + 1]
        return y0 + (y1 - y0) * (t - t0) / (t1 - t0)

    def _x(self) -> None:
        n = max(1, len(self.hosts))
        gap = 400 if n <= 2 else max(250, 400 - 50 * (n - 2))
        left = _TIME_W + _SIDE_W
        self.xs = {h: left + i * gap for i, h in enumerate(self.hosts)}
        self.ladder_right = left + (n - 1) * gap + _SIDE_W

    def host_of(self, addr: str) -> Optional[str]:
        h = self.names.get(addr)
        return h if h in self.xs else None

    def _chart(self) -> None:
        """Per endpoint: cwnd and ssthresh (CongestionChanged), the peer's receive window
        (snd_wnd, and the window of every segment received, scaled when both SYNs carried
        a window scale, RFC 7323 §2.2), bytes in flight (sent minus acknowledged)."""
        evs = self.evs
        eps: dict = {}
        wscale: dict = {}   # 4-tuple (sender first) -> shift announced in its SYN, None without
        for i, ev in enumerate(evs):
            k = ev.event
            seg = getattr(ev, "seg", None) if k in ("send", "recv") else None
            if seg is not None and seg.flags & SYN:
                ws = seg.option(WindowScale) if hasattr(seg, "option") else None
                wscale[(ev.src, seg.src_port, ev.dst, seg.dst_port)] = ws.shift if ws is not None else None
            if ev.conn is None or k not in ("send", "recv", "cwnd"):
                continue
            key = (ev.host, ev.conn)
            ep = eps.get(key)
            if ep is None:
                if k == "recv":
                    continue   # nothing sent yet from here: no strip starts on a reception
                ep = eps[key] = _Endpoint(ev.host, ev.conn)
            y = self.row_y.get(i)
            if y is None:
                y = self.y_at(ev.t)
            ep.last_y = max(ep.last_y, y)
            if k == "cwnd":
                ep.cwnd.append((y, ev.cwnd))
                ep.ssthresh.append((y, ev.ssthresh if ev.ssthresh < _SSTHRESH_INF else None))
                ep.rwnd.append((y, ev.snd_wnd))
                ep.points.append((y, ev.cwnd, i))
            elif k == "send":
                if ep.iss is None:
                    ep.iss = int(seg.seq)
                off = (int(seg.seq) - ep.iss) & _MASK
                ep.snd_max = max(ep.snd_max, off + seg.len)
                ep.data += len(seg.payload)
                ep.flight.append((y, ep.snd_max - ep.una))
            else:  # recv
                if ep.iss is not None and seg.flags & ACK:
                    off = (int(seg.ack) - ep.iss) & _MASK
                    if ep.una <= off <= ep.snd_max:
                        ep.una = off
                    ep.flight.append((y, ep.snd_max - ep.una))
                if not seg.flags & SYN:
                    a = wscale.get((ev.src, seg.src_port, ev.dst, seg.dst_port))
                    b = wscale.get((ev.dst, seg.dst_port, ev.src, seg.src_port))
                    shift = a if (a is not None and b is not None) else 0
                    ep.rwnd.append((y, seg.wnd << shift))
                else:
                    ep.rwnd.append((y, seg.wnd))
        chosen = [ep for ep in eps.values() if ep.data > 0 or ep.cwnd]
        self.more_endpoints = max(0, len(chosen) - _MAX_STRIPS)
        self.endpoints = chosen[:_MAX_STRIPS]
        x = self.ladder_right + 8
        self.strip_x: list[float] = []
        for _ in self.endpoints:
            self.strip_x.append(x)
            x += _STRIP_W + _STRIP_GAP
        self.width = max(x, self.ladder_right + 8) + 4

    # ---- text ------------------------------------------------------------------------
    def _seg_numbers(self, i: int) -> tuple:
        ev = self.evs[i]
        seg = ev.seg
        sb, ab = self.bases.get(i, (None, None))
        seq = int(seg.seq) if sb is None else (int(seg.seq) - sb) & _MASK
        ack = int(seg.ack) if ab is None else (int(seg.ack) - ab) & _MASK
        return seq, ack

    def _seg_label(self, i: int) -> str:
        """tcpdump-style, relative: ``[S.] seq 0 ack 1 win 65535 <mss 1460>``."""
        seg = self.evs[i].seg
        f = seg.flags
        n = len(seg.payload)
        seq, ack = self._seg_numbers(i)
        parts = [f"[{flags_text(f) or 'none'}]", f"seq {seq}:{(seq + n) & _MASK}" if n else f"seq {seq}"]
        if f & ACK:
            parts.append(f"ack {ack}")
        parts.append(f"win {seg.wnd}")
        if n:
            parts.append(f"len {n}")
        opts = _label_options(seg.options, bool(f & SYN))
        if opts:
            parts.append(f"<{opts}>")
        return " ".join(parts)

    def _cause(self, i: int) -> Optional[str]:
        ev = self.evs[i]
        if ev.event != "send" or not ev.cause:
            return None
        if i in self.rto_note:
            return self.rto_note[i]
        return {"fast-retransmit": "fast retransmit", "partial-ack": "partial ACK",
                "zero-window-probe": "zero-window probe"}.get(ev.cause, ev.cause)

    def _who(self, host: str, addr: str, port: Optional[int]) -> str:
        return f"{host} ({endpoint(addr, port)})" if addr else host

    def _seg_text(self, i: int) -> tuple[str, str]:
        """(title, multi-line description) of a segment arrow."""
        ev = self.evs[i]
        seg = ev.seg
        src = self.names.get(ev.src, ev.src) if ev.event == "send" else (self.names.get(ev.src) or ev.src or "?")
        dst = self.names.get(ev.dst, ev.dst) or "?"
        if ev.event == "send":
            src = ev.host
        else:
            dst = ev.host
        lines = [f"{src} \u2192 {dst}: {self._seg_label(i)}"]
        cause = self._cause(i)
        if cause:
            more = f" ({self.rto_next[i]})" if i in self.rto_next else ""
            lines.append(("retransmission: " if ev.retransmit else "") + cause + more)
        if ev.event == "send":
            lines.append(f"sent at {_abs_time(ev.t)} by {self._who(ev.host, ev.src, seg.src_port)}")
            j = self.recv_of.get(i)
            dj = self.drop_of.get(i)
            if j is not None:
                r = self.evs[j]
                lines.append(f"received at {_abs_time(r.t)} by {self._who(r.host, r.dst, seg.dst_port)}"
                             f" \u2014 one way {_short_time(r.t - ev.t)}")
            elif dj is not None:
                d = self.evs[dj]
                lines.append(f"LOST at {_abs_time(d.t)}: {d.reason}" + (f" ({d.detail})" if d.detail else ""))
            else:
                lines.append(f"no arrival recorded (to {endpoint(ev.dst, seg.dst_port)})")
        else:
            lines.append(f"received at {_abs_time(ev.t)} by {self._who(ev.host, ev.dst, seg.dst_port)}; "
                         "no traced host sent it (injected, or a copy the link duplicated)")
        lines.append(f"absolute: seq {int(seg.seq)}, ack {int(seg.ack)}, win {seg.wnd}, "
                     f"{len(seg.payload)} data bytes, SEG.LEN {seg.len}")
        if seg.options:
            lines.append("options: " + ", ".join(option_summary(o) for o in seg.options))
        title = ("Retransmission " if ev.event == "send" and ev.retransmit else "Segment ") + f"{src} \u2192 {dst}"
        return title, "\n".join(lines)

    # ---- drawing -----------------------------------------------------------------------
    def _group(self, k: int, i: int, cls: str, text: str, body: list, extra_attr: str = "") -> str:
        first = text.split("\n", 1)[0]
        return (f'<g class="{cls}" data-step="{k}" data-ev="{i}"{extra_attr} tabindex="0" role="button" '
                f'aria-label="{_esc(first)}"><title>{_esc(text)}</title>' + "".join(body) + "</g>")

    def _side(self, host: str) -> int:
        """Which side of its lifeline a marker's text goes: outside for the first host."""
        return -1 if self.hosts and host == self.hosts[0] else 1

    def _inward(self, host: str) -> int:
        """Toward the other lifelines (+1 right, -1 left): where an arrow to or from an
        address no lifeline stands for is drawn."""
        return -1 if len(self.hosts) > 1 and host == self.hosts[-1] else 1

    def _arrow(self, k: int, i: int) -> tuple[str, dict]:
        ev = self.evs[i]
        seg = ev.seg
        is_send = ev.event == "send"
        j = self.recv_of.get(i) if is_send else i
        dj = self.drop_of.get(i) if is_send else None
        if is_send:
            x1, y1 = self.xs[ev.host], self.row_y[i]
            peer = self.evs[j].host if j is not None else self.host_of(ev.dst)
        else:   # a reception nobody traced sending: starts where its sender would be
            peer = self.host_of(ev.src)
        cls = ["seg"]
        f = seg.flags
        cls.append("rst" if f & RST else "syn" if f & SYN else "fin" if f & FIN else "data")
        if is_send and ev.retransmit:
            cls.append("rtx")
        body: list[str] = []
        extra = ""
        if is_send:
            if peer is None or peer == ev.host:
                x2 = x1 + 160 * self._inward(ev.host)
            else:
                x2 = self.xs[peer]
            if j is not None:
                y2 = self.row_y[j]
            else:
                y2 = max(self.y_at(ev.t + self.typical), y1 + _SEP)
            lost = dj is not None
            if lost:
                cls.append("lost")
                full = min(self._height_like(i, peer), _LOST_MAX_H)
                xe, ye = x1 + (x2 - x1) * _LOST_AT, y1 + full * _LOST_AT
            else:
                xe, ye = x2, y2
            self.bottom = max(self.bottom, ye + _BOTTOM)
        else:
            x2, y2 = self.xs[ev.host], self.row_y[i]
            if peer is not None and peer != ev.host:
                x1 = self.xs[peer]
            else:
                x1 = x2 + 160 * self._inward(ev.host)
            y1 = max(_TOP - _SEP / 2, y2 - _ARROW_PX)
            xe, ye, lost = x2, y2, False
            cls.append("extra")
            extra = ' data-extra="1"'
        if is_send:
            extra = f' data-seg="{i}"'
        title, text = self._seg_text(i)
        halo = f'<line class="halo" x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(xe)}" y2="{_num(ye)}"/>'
        body.append(halo)
        body.append(f'<line class="shaft" x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(xe)}" y2="{_num(ye)}"/>')
        if lost:
            s = 6
            body.append(f'<path class="cross" d="M{_num(xe - s)},{_num(ye - s)}L{_num(xe + s)},{_num(ye + s)}'
                        f'M{_num(xe - s)},{_num(ye + s)}L{_num(xe + s)},{_num(ye - s)}"/>')
            reason = self.evs[dj].reason
            body.append(f'<text class="lostnote lbl" x="{_num(xe + (9 if x2 >= x1 else -9))}" y="{_num(ye + 4)}" '
                        f'text-anchor="{"start" if x2 >= x1 else "end"}">lost: {_esc(_fit(reason, 16))}</text>')
            lx2, ly2 = xe, ye
        else:
            body.append(_arrowhead(x1, y1, xe, ye))
            if is_send and j is None:
                body.append(f'<text class="unknown lbl" x="{_num(xe)}" y="{_num(ye + 13)}" text-anchor="middle">'
                            'no arrival recorded</text>')
            lx2, ly2 = xe, ye
        label = self._seg_label(i)
        cause = self._cause(i)
        if cause:
            label = ("\u21bb " if ev.event == "send" and ev.retransmit else "") + f"{cause}: {label}"
        length = ((lx2 - x1) ** 2 + (ly2 - y1) ** 2) ** 0.5
        avail = max(60.0, length * 0.94)
        # A label longer than its arrow gets a smaller font (a CSS class: the style sheet's
        # font size would override an attribute), then is cut; the hover text has it all.
        size = 11
        while size > 9 and len(label) * _CHAR_W * size / 11 > avail:
            size -= 1
        label = _fit(label, int(avail / (_CHAR_W * size / 11)))
        mx, my = (x1 + lx2) / 2, (y1 + ly2) / 2
        a = _angle(x1, y1, lx2, ly2)
        cls_size = "" if size == 11 else f" s{size}"
        body.append(f'<text class="lbl{cls_size}" transform="translate({_num(mx)},{_num(my)}) rotate({a:.2f})" '
                    f'y="-5" text-anchor="middle">{_esc(label)}</text>')
        step = {"ev": i, "kind": "segment", "title": title, "y": round(y1, 1)}
        if is_send:
            step["recv"] = j
            step["drop"] = dj
        return self._group(k, i, " ".join(cls), text, body, extra), step

    def _state(self, k: int, i: int) -> tuple[str, dict]:
        ev = self.evs[i]
        x, y = self.xs[ev.host], self.row_y[i]
        label = _fit(str(ev.new), 16)
        w = len(label) * 6.4 + 14
        cls = _STATE_CLASS.get(ev.new, "closing")
        conn = f"\nconnection {_conn_endpoints(ev.conn)}" if ev.conn else ""
        dash = "\u2014"
        text = (f"{ev.host}: {ev.old} \u2192 {ev.new} at {_abs_time(ev.t)}\n"
                f"cause: {ev.cause or dash}\nrule: {ev.rule or dash}{conn}")
        body = [f'<rect class="halo" x="{_num(x - w / 2 - 3)}" y="{_num(y - 11)}" width="{_num(w + 6)}" '
                f'height="22" rx="5"/>',
                f'<rect x="{_num(x - w / 2)}" y="{_num(y - 8)}" width="{_num(w)}" height="16" rx="3"/>',
                f'<text x="{_num(x)}" y="{_num(y + 3.8)}" text-anchor="middle">{_esc(label)}</text>']
        step = {"ev": i, "kind": "state", "title": f"State {ev.host}: {ev.old} \u2192 {ev.new}",
                "y": round(y, 1)}
        return self._group(k, i, f"state {cls}", text, body), step

    def _marker(self, k: int, i: int) -> tuple[str, dict]:
        """An application call, a timer expiry, an error or a drop by the receiving host."""
        ev = self.evs[i]
        x, y = self.xs[ev.host], self.row_y[i]
        side = self._side(ev.host)
        kind = ev.event
        conn = f"\nconnection {_conn_endpoints(ev.conn)}" if getattr(ev, "conn", None) else ""
        when = f" at {_abs_time(ev.t)}"
        if kind == "app":
            call = ev.args if ev.args and ev.args.startswith(ev.call) else f"{ev.call}({ev.args or ''})"
            res = f" \u2192 {ev.error}" if ev.error else (f" \u2192 {ev.result!r}" if ev.result is not None else "")
            short = _fit(call + res, 19)
            text = f"{ev.host}: {call}{res}{when}{conn}"
            title = f"Application call on {ev.host}: {ev.call}()"
            cls = "app err" if ev.error else "app"
            mark = (f'<path class="mark" d="M{_num(x)},{_num(y - 5)}L{_num(x + 5)},{_num(y)}'
                    f'L{_num(x)},{_num(y + 5)}L{_num(x - 5)},{_num(y)}Z"/>')
        elif kind == "timer-fired":
            back = f" (backoff {ev.backoff})" if getattr(ev, "backoff", 0) else ""
            short = f"{ev.name} timer fires"
            text = f"{ev.host}: the {ev.name} timer fired{back}{when}{conn}"
            title = f"Timer {ev.name} on {ev.host}"
            cls = "timer"
            mark = f'<circle class="mark" cx="{_num(x)}" cy="{_num(y)}" r="4.5"/>'
        elif kind == "listen-queue":
            # A listener's two queues (RFC 4987 §2.2: the backlog a SYN flood exhausts).
            short = f"SYN q {ev.syn_queue}/{ev.syn_backlog} · accept q {ev.accept_queue}/{ev.backlog}"
            text = (f"{ev.host}: listener {endpoint(ev.addr, ev.port)} after {ev.cause}: "
                    f"SYN queue {ev.syn_queue}/{ev.syn_backlog}, accept queue {ev.accept_queue}/{ev.backlog}{when}")
            title = f"Listen queues on {ev.host}"
            cls = "queue"
            mark = (f'<rect class="mark" x="{_num(x - 4)}" y="{_num(y - 4)}" width="8" height="8"/>')
        elif kind == "syncookies":
            state = "on" if ev.on else "off"
            short = f"SYN cookies {state}"
            text = (f"{ev.host}: listener {endpoint(ev.addr, ev.port)} switched SYN cookies {state}"
                    + (f" ({ev.reason})" if ev.reason else "") + f"{when}\nRFC 4987 §3.6: no state is kept per SYN")
            title = f"SYN cookies {state} on {ev.host}"
            cls = "cookies"
            mark = f'<circle class="mark" cx="{_num(x)}" cy="{_num(y)}" r="5.5"/>'
        elif kind == "error":
            short = f"error: {_fit(str(ev.error), 20)}"
            text = f"{ev.host}: connection error {ev.error}{when}" + (f"\n{ev.detail}" if ev.detail else "") + conn
            title = f"Error on {ev.host}: {ev.error}"
            cls = "error"
            mark = f'<circle class="mark" cx="{_num(x)}" cy="{_num(y)}" r="5"/>'
        else:  # a drop by the host that received it
            seg_txt = ""
            if ev.seg is not None:
                seg_txt = f"\nsegment [{flags_text(ev.seg.flags)}] seq {int(ev.seg.seq)} ack {int(ev.seg.ack)}" \
                          f" len {len(ev.seg.payload)} from {endpoint(ev.src, ev.seg.src_port)}"
            short = f"dropped: {_fit(ev.reason, 22)}"
            text = f"{ev.host} dropped a segment: {ev.reason}" + (f" ({ev.detail})" if ev.detail else "") + \
                   when + seg_txt
            title = f"Drop on {ev.host}: {ev.reason}"
            cls = "rdrop"
            s = 4.5
            mark = (f'<path class="cross" d="M{_num(x - s)},{_num(y - s)}L{_num(x + s)},{_num(y + s)}'
                    f'M{_num(x - s)},{_num(y + s)}L{_num(x + s)},{_num(y - s)}"/>')
        tx = x + 10 * side
        anchor = "end" if side < 0 else "start"
        tw = len(short) * _CHAR_W
        hx = tx - tw - 4 if side < 0 else x - 8
        body = [f'<rect class="halo" x="{_num(min(hx, x - 8))}" y="{_num(y - 9)}" width="{_num(tw + 22)}" '
                f'height="18" rx="4"/>', mark,
                f'<text class="lbl" x="{_num(tx)}" y="{_num(y + 3.8)}" text-anchor="{anchor}">{_esc(short)}</text>']
        step = {"ev": i, "kind": kind, "title": title, "y": round(y, 1)}
        return self._group(k, i, cls, text, body), step

    def _strips(self, out: list, head: list) -> None:
        for ep, x in zip(self.endpoints, self.strip_x):
            # The scale fits what the sender controls (cwnd, ssthresh, flight); a peer window
            # far above it is drawn at the right edge and its value written there.
            own = [v for _, v in ep.cwnd] + [v for _, v in ep.ssthresh if v is not None] + \
                  [v for _, v in ep.flight]
            peer = [v for _, v in ep.rwnd]
            top = max(own) if own and max(own) > 0 else max(peer, default=1)
            vmax = _nice_max(max(top * 1.1, _MIN_SCALE))
            off_scale = max((v for v in peer if v > vmax), default=None)
            x0, x1 = x + 6, x + _STRIP_W - 6

            def X(v: float, x0: float = x0, x1: float = x1, vmax: float = vmax) -> float:
                return x0 + (x1 - x0) * min(v, vmax) / vmax

            y_top, y_end = _TOP - 10, max(ep.last_y, self.rows and self.row_y[self.rows[-1]] or _TOP)
            conn = _conn_endpoints(ep.conn)
            out.append(f'<g class="strip" aria-label="{_esc(f"congestion chart of {ep.host} {conn}")}">')
            out.append(f'<rect class="frame" x="{_num(x)}" y="{_num(y_top)}" width="{_STRIP_W}" '
                       f'height="{_num(self.bottom - y_top - 10)}"/>')
            for tv in (0, vmax / 2, vmax):
                out.append(f'<line class="grid" x1="{_num(X(tv))}" y1="{_num(y_top)}" x2="{_num(X(tv))}" '
                           f'y2="{_num(self.bottom - 10)}"/>')
            fl = _step_points(ep.flight, X, y_end)
            if fl:
                pts = [(x0, fl[0][0][1])] + fl[0] + [(x0, y_end)]
                out.append(f'<polygon class="flight" points="{_pts(pts)}"><title>bytes in flight</title></polygon>')
            for series, cls, name in ((ep.rwnd, "rwnd", "peer's receive window"),
                                      (ep.ssthresh, "ssthresh", "ssthresh"), (ep.cwnd, "cwnd", "cwnd")):
                for line in _step_points(series, X, y_end):
                    out.append(f'<polyline class="{cls}" points="{_pts(line)}"><title>{name}</title></polyline>')
            if off_scale is not None:
                out.append(f'<text class="tick rwndnote" x="{_num(x1 - 2)}" y="{_num(y_top + 10)}" '
                           f'text-anchor="end">rwnd {_bytes_text(off_scale)} \u25b8<title>the peer\'s receive '
                           f'window (up to {off_scale} bytes) is off this scale: drawn at the right edge'
                           f'</title></text>')
            for y, v, i in ep.points:
                ev = self.evs[i]
                ss = "none yet" if ev.ssthresh >= _SSTHRESH_INF else str(ev.ssthresh)
                tip = (f"{ep.host} at {_abs_time(ev.t)}: {ev.cause or 'change'}\ncwnd {ev.cwnd} bytes, "
                       f"ssthresh {ss}\nin flight {ev.flight_size} bytes, peer's window (snd_wnd) {ev.snd_wnd}")
                out.append(f'<circle class="ccpt" cx="{_num(X(v))}" cy="{_num(y)}" r="2.6">'
                           f'<title>{_esc(tip)}</title></circle>')
            out.append("</g>")
            # header: whose chart, and the scale
            head.append(f'<g class="striphead"><text class="name" x="{_num(x + _STRIP_W / 2)}" y="14" '
                        f'text-anchor="middle">{_esc(_fit(ep.host, 12))} sends</text>'
                        f'<text class="tick" x="{_num(x + _STRIP_W / 2)}" y="27" text-anchor="middle">'
                        f'{_esc(_fit(endpoint(ep.conn[0], ep.conn[1]), 21))}</text>')
            for tv, anchor in ((0, "start"), (vmax, "end")):
                head.append(f'<text class="tick" x="{_num(X(tv))}" y="{_HEAD_H - 6}" text-anchor="{anchor}">'
                            f'{_bytes_text(tv)}</text>')
            head.append("</g>")

    def page(self) -> str:
        evs = self.evs
        steps: list[dict] = []
        groups: list[str] = []
        order = [i for i in range(len(evs))
                 if evs[i].event in ("send", "state", "app", "error", "timer-fired", "listen-queue", "syncookies")
                 or i in self.extra
                 or i in self.rdrop]
        for k, i in enumerate(order):
            kind = evs[i].event
            if kind in ("send", "recv"):
                g, s = self._arrow(k, i)
            elif kind == "state":
                g, s = self._state(k, i)
            else:
                g, s = self._marker(k, i)
            groups.append(g)
            steps.append(s)
        height = self.bottom
        W = self.width
        body: list[str] = []
        # lifelines
        for h, x in self.xs.items():
            body.append(f'<line class="lifeline" x1="{_num(x)}" y1="{_TOP - 10}" x2="{_num(x)}" '
                        f'y2="{_num(height - 10)}"/>')
        # folded gaps
        for top, bot, gap in self.folds:
            mid = (top + bot) / 2
            body.append(f'<g class="fold"><rect x="0" y="{_num(top)}" width="{_num(W)}" height="{_num(bot - top)}"/>'
                        f'<line x1="0" y1="{_num(top)}" x2="{_num(W)}" y2="{_num(top)}"/>'
                        f'<line x1="0" y1="{_num(bot)}" x2="{_num(W)}" y2="{_num(bot)}"/>'
                        f'<text class="sans" x="{_num((_TIME_W + self.ladder_right) / 2)}" y="{_num(mid + 4)}" '
                        f'text-anchor="middle">\u22ef {_short_time(gap)} with nothing to draw (folded) \u22ef</text>'
                        f'<title>{_esc(_short_time(gap))} of idle time, folded to keep the page short</title></g>')
        # time column
        last_t, last_y = None, -1e9
        for i in self.rows:
            t, y = evs[i].t, self.row_y[i]
            if t != last_t and y - last_y >= 13:
                body.append(f'<text class="tick" x="{_TIME_W - 6}" y="{_num(y + 3.5)}" text-anchor="end">'
                            f'{_short_time(t)}</text>')
                last_t, last_y = t, y
        head: list[str] = []
        chart: list[str] = []
        self._strips(chart, head)
        body.extend(chart)
        if self.endpoints:
            cx = self.strip_x[0]
            cw = self.strip_x[-1] + _STRIP_W - cx
            body.append(f'<rect id="veil" x="{_num(cx - 2)}" y="0" width="{_num(cw + 4)}" height="0" '
                        'visibility="hidden"/>')
        body.extend(groups)
        body.append(f'<line id="now-line" class="now" x1="0" y1="0" x2="{_num(W)}" y2="0" visibility="hidden"/>')

        # host header
        hosthead: list[str] = []
        addrs: dict[str, list] = {h: [] for h in self.hosts}
        for a, h in self.names.items():
            if h in addrs and not a.count(":") == 1:   # skip "addr:port" keys, keep IPv6 addresses
                addrs[h].append(a)
        for h, x in self.xs.items():
            name = _fit(h, 24)
            w = max(len(name) * 8.2, len(", ".join(addrs[h][:2])) * 6.1) + 20
            hosthead.append(f'<g class="hosthead"><title>{_esc(h)}</title>'
                            f'<rect x="{_num(x - w / 2)}" y="4" width="{_num(w)}" height="{_HEAD_H - 10}" rx="6"/>'
                            f'<text class="name sans" x="{_num(x)}" y="22" text-anchor="middle">{_esc(name)}</text>'
                            f'<text class="addr" x="{_num(x)}" y="36" text-anchor="middle">'
                            f'{_esc(_fit(", ".join(addrs[h][:2]), 36))}</text></g>')
        hosthead.append(f'<text class="tick" x="{_TIME_W - 6}" y="{_HEAD_H - 6}" text-anchor="end">time \u2193</text>')
        hosthead.extend(head)

        data = {"title": self.title, "hosts": self.hosts, "top": _TOP, "height": round(height, 1),
                "events": self.records, "steps": steps}
        return self._document(body, hosthead, data, height)

    def _summary(self) -> str:
        evs = self.evs
        sends = [i for i, ev in enumerate(evs) if ev.event == "send"]
        n_rtx = sum(1 for i in sends if evs[i].retransmit)
        n_state = sum(1 for ev in evs if ev.event == "state")
        span = (evs[-1].t - evs[0].t) if evs else 0
        parts = [" \u21c4 ".join(self.hosts) or "no hosts",
                 f"{len(sends)} segments sent ({len(self.drop_of)} lost on the link, {n_rtx} retransmissions)",
                 f"{n_state} state changes", f"the trace spans {_short_time(span)}"]
        if self.folds:
            parts.append(f"idle gaps longer than {_short_time(self.fold_after)} are folded")
        if self.more_endpoints:
            parts.append(f"charts for the first {_MAX_STRIPS} sending endpoints "
                         f"({self.more_endpoints} more not charted)")
        return " \u00b7 ".join(parts)

    def _document(self, body: list, hosthead: list, data: dict, height: float) -> str:
        W = _num(self.width)
        css, js = html_assets.CSS, html_assets.JS
        csp = (f"default-src 'none'; script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; "
               "img-src data:; base-uri 'none'; form-action 'none'")
        title = _esc(self.title)
        hosts_label = _esc("Hosts, left to right: " + ", ".join(self.hosts))
        if self.evs:
            diagram = (f'<svg id="ladder" class="ladder" width="{W}" height="{_num(height)}" viewBox="0 0 {W} '
                       f'{_num(height)}" role="group" aria-label="Ladder diagram: one lifeline per host, time '
                       f'running down; charts of the congestion window on the right">\n'
                       + "\n".join(body) + "\n</svg>")
        else:
            diagram = '<p class="empty">No events were recorded, so there is nothing to draw.</p>'
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="generator" content="synack">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header class="top">
<h1>{title}</h1>
<p class="summary">{_esc(self._summary())}</p>
{_LEGEND}
</header>
<div class="layout">
<main class="diagram">
<div class="sticky">
<div class="bar" id="controls" role="toolbar" aria-label="Step through the trace" hidden>
<button type="button" id="btn-reset" title="Hide everything and start again (Home or r)">Reset</button>
<button type="button" id="btn-back" title="One event back (left arrow or b)">Back</button>
<button type="button" id="btn-step" title="Show the next event (right arrow or n)">Step</button>
<button type="button" id="btn-play" aria-pressed="false" title="Play or pause (space or p)">Play</button>
<button type="button" id="btn-all" title="Show every event (End or a)">Show all</button>
<label>speed <select id="speed"><option value="0.5">0.5\u00d7</option><option value="1" selected>1\u00d7</option><option value="2">2\u00d7</option><option value="4">4\u00d7</option></select></label>
<span id="step-status" role="status"></span>
<span class="keys"><kbd>\u2192</kbd> step <kbd>\u2190</kbd> back <kbd>space</kbd> play <kbd>Home</kbd> reset <kbd>End</kbd> all</span>
</div>
<svg class="hosts" width="{W}" height="{_HEAD_H}" viewBox="0 0 {W} {_HEAD_H}" role="img" aria-label="{hosts_label}">
{"".join(hosthead)}
</svg>
</div>
{diagram}
<noscript><p class="empty">The step and play controls need JavaScript; the diagram above is complete without it.</p></noscript>
</main>
<aside class="panel" id="details" aria-live="polite" aria-label="Details of the selected event">
<h2>Details</h2>
<p class="hint">Hover over anything in the diagram for its numbers; with JavaScript, click it or press Step.</p>
</aside>
</div>
<script type="application/json" id="synack-data">{_json_for_script(data)}</script>
<script>{js}</script>
</body>
</html>
"""


def _label_options(options: tuple, syn: bool) -> str:
    """Options as an arrow label shows them: on a SYN all of them, briefly (``mss 1460,
    sackOK,TS,wscale 7``: no NOPs, no timestamp values); otherwise only SACK blocks, which
    tell a story (timestamps on every segment would not). The hover text has them in full."""
    out = []
    for o in options:
        if isinstance(o, (Nop, Eol)):
            continue
        if isinstance(o, Timestamps):
            if syn:
                out.append("TS")
        elif isinstance(o, Sack):
            out.append(f"sack {len(o.blocks)}")
        elif syn:
            out.append(option_summary(o))
    return ",".join(out)


def _conn_endpoints(conn: Any) -> str:
    try:
        la, lp, ra, rp = conn
    except (TypeError, ValueError):
        return str(conn)
    return f"{endpoint(la, lp)} \u2194 {endpoint(ra, rp)}"


def _step_points(series: list, X, y_end: float) -> list[list[tuple]]:
    """A step function of (y, value) samples as polylines (a gap where the value is None)."""
    lines: list[list[tuple]] = []
    cur: list[tuple] = []
    for y, v in series:
        if v is None:
            if cur:
                cur.append((cur[-1][0], y))
                lines.append(cur)
                cur = []
            continue
        xv = X(v)
        if cur:
            cur.append((cur[-1][0], y))
        cur.append((xv, y))
    if cur:
        cur.append((cur[-1][0], max(y_end, cur[-1][1])))
        lines.append(cur)
    return lines


def _pts(points: list) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


def _swatch(inner: str, w: int = 30) -> str:
    return f'<svg width="{w}" height="14" viewBox="0 0 {w} 14" aria-hidden="true">{inner}</svg>'


def _legend() -> str:
    arrow = '<line class="shaft" x1="1" y1="4" x2="22" y2="10"/>' + _arrowhead(1, 4, 29, 11, 8)
    items = [
        (f'<g class="seg data">{arrow}</g>', "segment (ACK, data)"),
        (f'<g class="seg syn">{arrow}</g>', "SYN"),
        (f'<g class="seg fin">{arrow}</g>', "FIN"),
        (f'<g class="seg rst">{arrow}</g>', "RST"),
        (f'<g class="seg rtx">{arrow}</g>', "\u21bb retransmission, with its cause"),
        ('<g class="seg data lost"><line class="shaft" x1="1" y1="3" x2="18" y2="8"/></g>'
         '<path class="cross" d="M15,4L23,12M15,12L23,4"/>', "lost on the link"),
        ('<g class="state est"><rect x="1" y="2" width="28" height="10" rx="2"/></g>', "state change (RFC name)"),
        ('<g class="app"><path class="mark" d="M15,2L20,7L15,12L10,7Z"/></g>', "application call"),
        ('<g class="timer"><circle class="mark" cx="15" cy="7" r="4.5"/></g>', "timer fires"),
        ('<g class="fold"><rect x="0" y="2" width="30" height="10"/></g>', "idle time, folded"),
        ('<polyline class="cwnd" points="1,12 10,12 10,4 29,4"/>', "cwnd"),
        ('<polyline class="ssthresh" points="1,7 29,7"/>', "ssthresh"),
        ('<polyline class="rwnd" points="1,7 29,7"/>', "peer's receive window"),
        ('<polygon class="flight" points="1,2 16,2 16,12 1,12"/>', "bytes in flight"),
    ]
    lis = "".join(f"<li>{_swatch(svg)}<span>{escape(text)}</span></li>" for svg, text in items)
    return f'<ul class="legend" aria-label="Legend">{lis}</ul>'


_LEGEND = _legend()
