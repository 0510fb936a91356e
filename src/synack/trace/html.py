"""The HTML report: one self-contained page that explains a trace and scales to long ones.

:func:`render_html` (typed events) and :func:`render_report` (records: a JSON Lines file or a
capture) build one HTML document with everything inline: style, script and data, nothing
fetched, and a Content-Security-Policy that forbids any fetch. Both read the shared
:class:`~synack.trace.timeline.Timeline`, so the report and the terminal ladder cannot
disagree about matching, numbers, causes or states. The page shows:

- the **explanation** of the scenario and the **"In this run"** notes, in the chosen
  language (``lang``: the headings and controls too);
- a **ladder diagram**: one lifeline per host, time running down, each segment an arrow from
  its departure to its arrival with its tcpdump label (the same text as the terminal
  ladder) written level at the sender's end; state changes as boxes at the instant they
  happen, application calls, timers and drops as markers. Every labelled thing has a row of
  its own at least one line apart, so no two labels overlap at the normal zoom;
- an **overview strip** of the whole trace (segments, losses and retransmissions by
  position) with the part in view marked: click or drag it to move, ``+``/``-`` to zoom the
  time axis. Zoomed out, a burst of segments between two hosts is one labelled band, and
  labels that would touch are left out until zoomed in;
- **RFC 9293 Figure 5**, the state diagram, with each host's current state lit as you step;
- beside the ladder, on the same time axis, the congestion window, ssthresh, the peer's
  window and the bytes in flight of the busiest senders;
- the **TCP stream graphs** of ``trace/streamgraph.py``: time-sequence (with SACK blocks and
  retransmissions), throughput, RTT, window scaling;
- step / play controls (buttons and keys) that reveal the trace one event at a time and
  describe the current one; ``?step=N`` in the URL opens the page at step N.

The ladder is drawn by the page's script from a compact table (only the part in view is in
the document at any time), so a 10 MB transfer makes a page of a few megabytes that opens
quickly. Without JavaScript, short traces show the terminal ladder as text instead.
A pure function of its input (STYLE rule 5)::

    from synack.trace.html import write_html
    write_html(net.recorder.events, "report.html", names=net.recorder.names)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from statistics import median
from typing import Any

from . import html_assets
from .calls import call_text, housekeeping
from .jsonl import to_records
from .records import TIMER_NAMES, duration, endpoint
from .streamgraph import si, streams, svg_panels
from .timeline import Timeline

__all__ = ["render_html", "write_html", "render_report", "write_report"]

# --- geometry, in the SVG's own units (px at 100 %) -------------------------------------
_TOP = 20             # y of the first row
_SEP = 24             # labelled rows are at least this far apart
_ARROW_PX = 72        # height of an arrow that takes the typical one-way delay
_FOLD_FACTOR = 4      # gaps longer than this many typical one-way delays are folded
_FOLD_H = 40          # height of a folded gap
_BURST = 4            # this many segments in a row between two hosts make a band
_MAX_STRIPS = 2       # congestion charts for at most this many senders
_NOSCRIPT_ROWS = 1500  # the text ladder for pages without script, up to this many rows
_SSTHRESH_INF = 1 << 30

UI = {
    "en": {"explain": "What happens", "notes": "In this run", "graphs": "TCP stream graphs",
           "diagram": "State diagram (RFC 9293 Figure 5)", "details": "Details", "reset": "Reset",
           "back": "Back", "step": "Step", "play": "Play", "pause": "Pause", "all": "Show all",
           "overview": "Overview: click or drag to move; + and - zoom", "zoom": "zoom",
           "hint": "Hover over anything for its numbers; click it or press Step to see it here.",
           "noscript": "The interactive ladder needs JavaScript; here it is as text.",
           "empty": "No events were recorded, so there is nothing to draw.",
           "cc": "cwnd", "segments": "segments", "data": "of data", "lost": "lost",
           "rtx": "retransmitted", "at once": "at once", "over": "over"},
    "ko": {"explain": "설명", "notes": "이번 실행에서는", "graphs": "TCP 스트림 그래프",
           "diagram": "상태 다이어그램 (RFC 9293 그림 5)", "details": "자세히", "reset": "처음으로",
           "back": "뒤로", "step": "한 단계", "play": "재생", "pause": "멈춤", "all": "모두 보기",
           "overview": "전체 보기: 누르거나 끌어서 이동, + 와 - 로 확대/축소", "zoom": "확대",
           "hint": "무엇이든 마우스를 올리면 숫자가 보이고, 누르거나 한 단계를 누르면 여기에 설명이 나옵니다.",
           "noscript": "대화형 래더 다이어그램은 JavaScript가 필요합니다. 대신 텍스트로 보여 줍니다.",
           "empty": "기록된 이벤트가 없어 그릴 것이 없습니다.",
           "cc": "cwnd", "segments": "세그먼트", "data": "데이터", "lost": "손실",
           "rtx": "재전송", "at once": "한꺼번에", "over": "동안"},
}


# --- public API -------------------------------------------------------------------------

def render_html(events: Iterable, *, title: str = "synack", hosts: Sequence[str] | None = None,
                names: Mapping[str, str] | None = None, explanation: str | None = None,
                notes: Sequence[str] | None = None, lang: str = "en") -> str:
    """The trace ``events`` (typed, ``synack.trace.events``) as one self-contained HTML page.

    ``hosts`` orders the lifelines left to right (hosts it does not name follow, in order
    of first appearance); ``names`` maps addresses (or ``"addr:port"``) to host names, as
    ``net.recorder.names`` does; ``explanation`` and ``notes`` are the scenario's text in
    ``lang`` ("en" or "ko"). Raises ``TypeError`` or ``ValueError`` naming the argument."""
    if not isinstance(title, str):
        raise TypeError(f"title: expected a string, got {type(title).__name__}")
    evs = _check_events(events)
    if names is not None:
        if not isinstance(names, Mapping):
            raise TypeError(f"names: expected a mapping of address to host name, got {type(names).__name__}")
        for k, v in names.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"names: keys and values must be strings, got {k!r}: {v!r}")
    return render_report(to_records(evs, _names(evs, names)), title=title, hosts=hosts, explanation=explanation,
                         notes=notes, lang=lang)


def write_html(events: Iterable, path: str | os.PathLike, **kw: Any) -> None:
    """Write :func:`render_html`'s page to ``path`` (UTF-8). ``OSError`` if it cannot."""
    _write(render_html(events, **kw), path)


def render_report(records: Sequence[dict], *, title: str = "synack", hosts: Sequence[str] | None = None,
                  transitions: Iterable | None = None, explanation: str | None = None,
                  notes: Sequence[str] | None = None, lang: str = "en") -> str:
    """The page for trace *records* (``read_jsonl``, ``read_capture``); ``transitions``
    (``synack.tcp.state.TRANSITIONS``) lets a capture's states be inferred."""
    if lang not in UI:
        raise ValueError(f"lang: expected one of {', '.join(UI)}, got {lang!r}")
    tl = Timeline(records, transitions, calls_where_they_began=True)   # as the terminal ladder shows them
    order = _host_order(tl, hosts)
    return _Report(tl, title, order, explanation, list(notes or ()), lang).page()


def write_report(records: Sequence[dict], path: str | os.PathLike, **kw: Any) -> None:
    """Write :func:`render_report`'s page to ``path`` (UTF-8). ``OSError`` if it cannot."""
    _write(render_report(records, **kw), path)


def _write(text: str, path: str | os.PathLike) -> None:
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


def _names(evs: list, names: Mapping[str, str] | None) -> dict:
    """address -> host name: what the trace shows (who sent, who received), then ``names``."""
    out: dict = {}
    for ev in evs:
        if ev.event == "send" and ev.src:
            out.setdefault(ev.src, ev.host)
        elif ev.event == "recv" and ev.dst:
            out.setdefault(ev.dst, ev.host)
    out.update(names or {})
    return out


def _host_order(tl: Timeline, hosts: Sequence[str] | None) -> list:
    seen = tl.hosts()
    if hosts is None:
        return seen
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


def _json_for_script(obj: Any) -> str:
    """JSON that can sit inside ``<script>``: ``<``, ``>``, ``&`` and the JS line separators
    are escaped (they only ever occur inside JSON strings, where ``\\uXXXX`` means the same)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=repr)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _r(x: float) -> float:
    return round(x, 1)


def _t(x: float) -> float:
    return round(x, 9)


# --- the report -------------------------------------------------------------------------

class _Report:
    def __init__(self, tl: Timeline, title: str, hosts: list, explanation: str | None, notes: list,
                 lang: str) -> None:
        self.tl = tl
        self.recs = tl.records
        self.title = title
        self.hosts = hosts
        self.hix = {h: k for k, h in enumerate(hosts)}
        self.explanation = explanation
        self.notes = notes
        self.lang = lang
        self.ui = UI[lang]
        self._select()
        self._layout()
        self._items()
        self._bands()
        self._states()
        self._strips()

    # ---- which records are drawn, and where ------------------------------------------------
    def _select(self) -> None:
        tl, m = self.tl, self.tl.match
        queues = tl.queue_notes()
        self.rows: list[int] = []      # record indices that get a row, in order
        self.labelled: set[int] = set()
        for i, r in enumerate(self.recs):
            k = r["event"]
            if r["host"] not in self.hix:
                continue
            drawn = (k in ("send", "state", "error", "syncookies", "icmp", "fastopen")
                     or (k == "listen-queue" and i in queues)
                     or (k == "recv" and i not in m.departure)   # arrived, but no traced host sent it
                     or (k == "drop" and i in m.unmatched_drops)
                     or (k == "app" and not housekeeping(r))
                     or (k == "timer-fired" and i not in tl.notes.consumed))
            if drawn:
                self.rows.append(i)
                self.labelled.add(i)
            elif k == "recv":
                self.rows.append(i)   # where an arrow ends

    def _layout(self) -> None:
        """A row (y) for every drawn record: time runs down in proportion, labelled rows
        are at least ``_SEP`` apart, long idle gaps are folded."""
        recs, m = self.recs, self.tl.match
        delays = [recs[j]["t"] - recs[i]["t"] for i, j in m.arrival.items() if recs[j]["t"] > recs[i]["t"]]
        d = median(delays) if delays else 0.0
        if d <= 0:
            gaps = [recs[b]["t"] - recs[a]["t"] for a, b in zip(self.rows, self.rows[1:], strict=False)
                    if recs[b]["t"] > recs[a]["t"]]
            d = median(gaps) if gaps else 0.001
        self.typical = d
        scale = _ARROW_PX / d
        fold_after = _FOLD_FACTOR * d
        self.y: dict[int, float] = {}
        self.folds: list[list] = []
        y = float(_TOP)
        last_label = -1e9
        prev_t: float | None = None
        for i in self.rows:
            t = recs[i]["t"]
            if prev_t is not None:
                dt = t - prev_t
                if dt > fold_after:
                    top = y + _SEP / 2
                    self.folds.append([_r(top), _r(top + _FOLD_H), duration(dt)])
                    y = top + _FOLD_H + _SEP / 2
                else:
                    y += max(2.0, dt * scale)
            if i in self.labelled and y - last_label < _SEP:
                y = last_label + _SEP
            if i in self.labelled:
                last_label = y
            self.y[i] = y
            prev_t = t
        self.height = y + 3 * _ARROW_PX

    def _y_at(self, t: float) -> float:
        """The height of instant ``t``: that of the last row at or before it."""
        lo, hi = 0, len(self.rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.recs[self.rows[mid]]["t"] <= t:
                lo = mid + 1
            else:
                hi = mid
        return self.y[self.rows[lo - 1]] if lo else float(_TOP)

    # ---- the table the script draws --------------------------------------------------------
    def _items(self) -> None:
        tl, recs = self.tl, self.recs
        t0 = recs[0]["t"] if recs else 0.0
        self.t0 = t0
        items: list[list] = []
        self.item_of: dict[int, int] = {}
        names = tl.addr_names
        for i in self.rows:
            if i not in self.labelled:
                continue
            r = recs[i]
            k = r["event"]
            h = self.hix[r["host"]]
            y = _r(self.y[i])
            t = _t(r["t"] - t0)
            self.item_of[i] = len(items)
            if k in ("send", "recv") or (k == "drop" and r.get("flags") is not None):
                items.append(self._seg_item(i, r, y, t))
            elif k == "state":
                items.append(["st", y, h, r["to"], t, r["from"], r.get("cause") or "", r.get("rule") or "",
                              r.get("conn") or r.get("listener") or ""])
            elif k == "app":
                text = call_text(r, names, tl.listener_call.get(i))
                items.append(["a", y, h, text, t, "err" if r.get("error") else ""])
            elif k == "timer-fired":
                name = TIMER_NAMES.get(r["name"], r["name"])
                if r["name"] == "rto":
                    f = tl.notes.rto_fired.get((r["host"], r.get("conn")))
                    text = f"{f[1] if f else 'RTO'} expired"
                else:
                    text = f"{name} timer expired"
                items.append(["n", y, h, text, t, "timer"])
            elif k == "error":
                items.append(["n", y, h, f"error: {r.get('detail') or r['error']}", t, "error"])
            elif k == "syncookies":
                items.append(["n", y, h, f"SYN cookies {'on' if r.get('on') else 'off'}"
                              + (f" ({r['reason']})" if r.get("reason") else ""), t, "cookies"])
            elif k == "icmp":
                items.append(["n", y, h, f"ICMP {r.get('kind')} {r.get('action')}", t, "note"])
            elif k == "listen-queue":
                # a listener's two queues (RFC 4987 §2.2: the backlog a SYN flood exhausts)
                items.append(["n", y, h, f"SYN queue {r['syn_queue']}/{r['syn_backlog']}, accept queue "
                              f"{r['accept_queue']}/{r['backlog']} ({r.get('cause') or 'change'})", t, "queue"])
            elif k == "fastopen":
                items.append(["n", y, h, f"Fast Open: {r.get('action')}", t, "note"])
            elif k == "drop":
                why = r["reason"] + (f" ({r['detail']})" if r.get("detail") else "")
                items.append(["n", y, h, f"\u2717 dropped a packet: {why}", t, "error"])
        self.items = items

    def _seg_item(self, i: int, r: dict, y: float, t: float) -> list:
        tl, m, recs = self.tl, self.tl.match, self.recs
        f = r["flags"]
        cls = "rst" if "R" in f else "syn" if "S" in f else "fin" if "F" in f else "data"
        label = tl.label(i)
        cause = tl.cause_text(i) or ""
        if r.get("retransmit"):
            cls += " rtx"
            label = f"\u21bb {cause or 'retransmission'}: {label}"
        elif cause:
            label = f"{cause}: {label}"
        src = self.hix.get(r.get("src") or "", -1)
        dst = self.hix.get(r.get("dst") or "", -1)
        y2: float | None = None
        ta: float | None = None
        fate = ""
        if r["event"] == "send":
            j = m.arrival.get(i)
            if i in m.lost:
                cls += " lost"
                fate = f"lost: {m.lost[i]}"
            elif j is not None:
                y2, ta = _r(self.y[j]), _t(recs[j]["t"] - self.t0)
                if j in m.discarded:
                    fate = f"{recs[j]['host']} discarded it: {m.discarded[j]}"
            elif tl.is_capture:
                y2 = y
                fate = "captured on the wire"
            else:
                fate = "no arrival recorded"
        else:  # received with no departure: injected, or a copy the link made
            cls += " extra"
            y2, ta = y, t
            fate = "received; no traced host sent it (injected, or a copy the link duplicated)"
            if r["event"] == "drop":
                fate = f"dropped: {r['reason']}"
        flags = ", ".join(tl.flags.get(i, ())) if tl.is_capture else ""
        timer = tl.timer_text(i) or ""
        return ["s", y, y2, src, dst, cls, label, t, ta, r["seq"], r["ack"], r["win"], r["len"],
                ",".join(r.get("options") or ()), fate, "; ".join(x for x in (flags, timer) if x)]

    def _bands(self) -> None:
        """Runs of at least ``_BURST`` segments between the same two hosts with nothing else
        labelled among them: drawn as one band when zoomed out."""
        bands = []
        items = self.items
        k = 0
        while k < len(items):
            it = items[k]
            if it[0] != "s" or it[3] < 0 or it[4] < 0:
                k += 1
                continue
            pair = {it[3], it[4]}
            e = k
            while e + 1 < len(items) and items[e + 1][0] == "s" and {items[e + 1][3], items[e + 1][4]} == pair:
                e += 1
            if e - k + 1 >= _BURST:
                bands.append(self._band(k, e))
            k = e + 1
        self.band_list = bands

    def _band(self, a: int, b: int) -> list:
        """[first item, last item, top, bottom, host a, host b, segments, data octets, lost,
        retransmitted, first time, last time]: the script writes the label, merging bands
        that overlap at the zoom in use."""
        segs = self.items[a:b + 1]
        ys = [s[1] for s in segs] + [s[2] for s in segs if s[2] is not None]
        return [a, b, min(ys), max(ys), min(segs[0][3], segs[0][4]), max(segs[0][3], segs[0][4]), len(segs),
                sum(s[12] for s in segs), sum(1 for s in segs if "lost" in s[5]),
                sum(1 for s in segs if "rtx" in s[5]), segs[0][7], segs[-1][7]]

    def _states(self) -> None:
        """Each host's state (its most recently changed connection that is not CLOSED, as the
        terminal ladder shows it) after every step, for the lit state diagram."""
        conns: dict[int, dict] = {h: {} for h in range(len(self.hosts))}
        out: list[list] = [[[-1, self.tl.initial_state(h) or ""]] for h in self.hosts]
        for k, it in enumerate(self.items):
            if it[0] != "st":
                continue
            h = it[2]
            c = conns[h]
            c[it[8] or "?"] = (len(c) and max(o for o, _ in c.values()) + 1, it[3])
            live = [(o, s) for o, s in c.values() if s != "CLOSED"]
            out[h].append([k, max(live)[1] if live else "CLOSED"])
        self.host_states = out

    def _strips(self) -> None:
        """cwnd, ssthresh, the peer's window and the bytes in flight of the busiest senders,
        as (y, cwnd, ssthresh or -1, snd_wnd, flight) points."""
        eps: dict[tuple, list] = {}
        for r in self.recs:
            if r["event"] == "cwnd" and r["host"] in self.hix:
                pts = eps.setdefault((r["host"], r.get("conn")), [])
                y = _r(self._y_at(r["t"]))
                ss = r["ssthresh"] if r["ssthresh"] < _SSTHRESH_INF else -1
                pt = [y, r["cwnd"], ss, r["snd_wnd"], r["flight_size"]]
                if pts and pts[-1][0] == y:
                    pts[-1] = pt
                else:
                    pts.append(pt)
        busiest = sorted(eps.items(), key=lambda kv: -len(kv[1]))[:_MAX_STRIPS]
        self.strips = [{"host": h, "conn": c or "", "pts": pts} for (h, c), pts in busiest]

    # ---- the page --------------------------------------------------------------------------
    def _summary(self) -> str:
        recs = self.recs
        sends = [r for r in recs if r["event"] == "send"]
        n_rtx = sum(1 for r in sends if r.get("retransmit"))
        span = (recs[-1]["t"] - recs[0]["t"]) if recs else 0
        data = sum(r["len"] or 0 for r in sends)
        parts = [" \u21c4 ".join(self.hosts) or "no hosts", f"{len(sends)} segments sent",
                 f"{si(data, 'B')} of data", f"{len(self.tl.match.lost)} lost on the link",
                 f"{n_rtx} retransmissions", f"the trace spans {duration(span)}"]
        if self.tl.inferred:
            parts.append("states inferred from the segments")
        return " \u00b7 ".join(parts)

    def _story(self) -> str:
        out = []
        if self.explanation:
            paras = "".join(f"<p>{_esc(p)}</p>" for p in self.explanation.split("\n\n") if p.strip())
            out.append(f'<section class="story"><h2>{_esc(self.ui["explain"])}</h2>{paras}</section>')
        if self.notes:
            lis = "".join(f"<li>{_esc(n)}</li>" for n in self.notes)
            out.append(f'<section class="story notes"><h2>{_esc(self.ui["notes"])}</h2><ul>{lis}</ul></section>')
        return "\n".join(out)

    def _graphs(self) -> str:
        dirs = streams(self.tl, limit=2)
        if not dirs:
            return ""
        blocks = []
        for d in dirs:
            svgs = "".join(svg for _, svg in svg_panels(d))
            blocks.append(f'<figure class="graphs"><figcaption>{_esc(d.title)} ({_esc(d.conn)})</figcaption>'
                          f'{svgs}</figure>')
        return f'<section class="streams"><h2>{_esc(self.ui["graphs"])}</h2>{"".join(blocks)}</section>'

    def _noscript(self) -> str:
        if not self.recs or len(self.rows) > _NOSCRIPT_ROWS:
            return f'<noscript><p class="empty">{_esc(self.ui["noscript"])}</p></noscript>'
        from .ladder import render_ladder

        text = render_ladder(self.recs, hosts=self.hosts, color=False, width=120)
        return (f'<noscript><p class="empty">{_esc(self.ui["noscript"])}</p>'
                f'<pre class="textladder">{_esc(text)}</pre></noscript>')

    def page(self) -> str:
        ui = self.ui
        data = {"title": self.title, "lang": self.lang, "ui": ui, "hosts": self.hosts, "top": _TOP,
                "sep": _SEP, "height": _r(self.height), "items": self.items, "bands": self.band_list,
                "folds": self.folds, "states": self.host_states, "strips": self.strips}
        css, js = html_assets.CSS, html_assets.JS
        csp = (f"default-src 'none'; script-src {_csp_hash(js)}; style-src {_csp_hash(css)}; "
               "img-src data:; base-uri 'none'; form-action 'none'")
        title = _esc(self.title)
        if self.items:
            ladder = ('<div class="overview" id="overview" role="slider" tabindex="0" '
                      f'aria-label="{_esc(ui["overview"])}" title="{_esc(ui["overview"])}"></div>'
                      '<div class="scroller" id="scroller"><div class="sizer" id="sizer">'
                      '<svg id="ladder" class="ladder" role="group" aria-label="Ladder diagram"></svg>'
                      '</div></div>')
        else:
            ladder = f'<p class="empty">{_esc(ui["empty"])}</p>'
        return f"""<!DOCTYPE html>
<html lang="{self.lang}">
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
</header>
{self._story()}
<div class="layout">
<main class="diagram">
<div class="bar" id="controls" role="toolbar" hidden>
<button type="button" id="btn-reset">{_esc(ui["reset"])}</button>
<button type="button" id="btn-back">{_esc(ui["back"])}</button>
<button type="button" id="btn-step">{_esc(ui["step"])}</button>
<button type="button" id="btn-play" aria-pressed="false">{_esc(ui["play"])}</button>
<button type="button" id="btn-all">{_esc(ui["all"])}</button>
<button type="button" id="btn-out" title="zoom out (-)">\u2212</button>
<button type="button" id="btn-in" title="zoom in (+)">+</button>
<span id="zoom-status"></span>
<span id="step-status" role="status"></span>
</div>
{ladder}
{self._noscript()}
</main>
<aside class="panel">
<h2>{_esc(ui["diagram"])}</h2>
{html_assets.FIGURE5}
<div id="details" aria-live="polite"><h2>{_esc(ui["details"])}</h2><p class="hint">{_esc(ui["hint"])}</p></div>
</aside>
</div>
{self._graphs()}
<script type="application/json" id="synack-data">{_json_for_script(data)}</script>
<script>{js}</script>
</body>
</html>
"""


def conn_label(conn: Any) -> str:
    """``10.0.0.1:42068 \u2194 10.0.0.2:80`` for a 4-tuple."""
    try:
        la, lp, ra, rp = conn
    except (TypeError, ValueError):
        return str(conn)
    return f"{endpoint(la, lp)} \u2194 {endpoint(ra, rp)}"
