# ruff: noqa: E501  (the script below keeps its own line lengths)
"""The static parts of the HTML report (``trace/html.py``): style sheet, script, Figure 5.

Kept as Python strings so that the report stays one self-contained file: nothing is
fetched, no fonts, no libraries.

The script reads ``<script type="application/json" id="synack-data">``: ``items`` (one
small array per drawn thing, in time order: ``["s", y, y2, src, dst, class, label, t, ta,
seq, ack, win, len, options, fate, flags]`` for a segment, ``["st", y, host, state, t, from,
cause, rule, conn]`` for a state change, ``["a"|"n", y, host, text, t, class]`` for calls
and notes), ``bands`` (bursts: first and last item, label, top, bottom, the two hosts),
``folds``, ``states`` (each host's state after each step, for Figure 5) and ``strips``
(congestion-window points). It draws only the part of the ladder in view, so the page stays
fast however long the trace. It never builds HTML from strings: every text goes through
``textContent``.

Controls: Step (→, n), Back (←, b), Play/Pause (space, p), Reset (Home, r), All (End,
a), zoom in and out (+, -). ``?step=N`` (or ``#step=N``) opens the page with N steps shown.
``document.body.dataset.shown`` / ``.total`` / ``.mode`` / ``.zoom`` mirror the state, and
``window.synackReport`` lets tests drive the page and read the drawn labels' boxes.
"""

CSS = r"""
:root { color-scheme: light; --fg: #111827; --muted: #4b5563; --line: #d1d5db; --panel: #f8fafc; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans CJK KR", "DejaVu Sans", sans-serif; }
header.top { padding: 12px 16px 4px; }
h1 { font-size: 20px; margin: 0 0 2px; }
h2 { font-size: 15px; margin: 0 0 6px; }
.summary { margin: 0 0 6px; color: var(--muted); }
.story { margin: 0 16px 10px; max-width: 70em; }
.story p { margin: 0 0 6px; }
.story.notes ul { margin: 0; padding-left: 20px; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 12px; padding: 0 12px 12px 16px;
  align-items: start; }
.diagram { min-width: 0; }
.bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; padding: 6px 0; }
.bar[hidden] { display: none; }
button { font: inherit; font-size: 13px; color: var(--fg); background: #fff; border: 1px solid #6b7280;
  border-radius: 6px; padding: 2px 10px; cursor: pointer; }
button:hover { background: #f3f4f6; }
button:focus-visible, .overview:focus-visible { outline: 3px solid #2563eb; outline-offset: 1px; }
button[aria-pressed="true"] { background: #dbeafe; border-color: #1d4ed8; }
#step-status, #zoom-status { color: var(--muted); font-size: 13px; }
.overview { height: 44px; border: 1px solid var(--line); border-radius: 4px; cursor: pointer; margin-bottom: 4px;
  background: #fafafa; }
.overview svg { display: block; width: 100%; height: 100%; }
.ov-seg { fill: #93c5fd; } .ov-rtx { fill: #fb923c; } .ov-lost { fill: #dc2626; } .ov-state { fill: #16a34a; }
.ov-win { fill: #2563eb; fill-opacity: 0.12; stroke: #1d4ed8; stroke-width: 1.5; }
.scroller { height: 72vh; overflow: auto; border: 1px solid var(--line); border-radius: 4px; position: relative; }
.sizer { position: relative; }
svg.ladder { position: sticky; top: 0; display: block; }
.panel { position: sticky; top: 8px; max-height: calc(100vh - 16px); overflow: auto; background: var(--panel);
  border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; font-size: 13px; }
.panel p { margin: 0 0 8px; }
.panel .what { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap;
  overflow-wrap: anywhere; background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 6px; }
.panel .hint { color: var(--muted); }
.empty { padding: 24px 16px; color: var(--muted); }
pre.textladder { font-size: 12px; overflow: auto; }
.streams { padding: 0 16px 24px; }
figure.graphs { margin: 0 0 12px; display: flex; flex-wrap: wrap; gap: 8px; }
figure.graphs figcaption { width: 100%; font-weight: 600; }
/* --- SVG ------------------------------------------------------------------------------ */
svg text { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 11px; fill: #111827; }
.hosthead rect { fill: #f3f4f6; stroke: #374151; }
.hosthead text { font-size: 13px; font-weight: 700; }
.lifeline { stroke: #6b7280; stroke-width: 1.5; }
.tick { font-size: 10px; fill: #4b5563; }
.fold rect { fill: #f3f4f6; }
.fold text { font-size: 11px; fill: #374151; }
.lbl { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.seg line { stroke: #1f2937; stroke-width: 1.5; }
.seg .head { fill: #1f2937; }
.seg.syn line { stroke: #1d4ed8; } .seg.syn .head { fill: #1d4ed8; } .seg.syn text { fill: #1e3a8a; }
.seg.fin line { stroke: #6d28d9; } .seg.fin .head { fill: #6d28d9; } .seg.fin text { fill: #4c1d95; }
.seg.rst line { stroke: #b91c1c; } .seg.rst .head { fill: #b91c1c; } .seg.rst text { fill: #7f1d1d; }
.seg.rtx line { stroke: #c2410c; stroke-dasharray: 7 3; stroke-width: 2; } .seg.rtx .head { fill: #c2410c; }
.seg.rtx text { fill: #7c2d12; }
.seg.extra line { stroke-dasharray: 4 4; }
.cross { stroke: #dc2626; stroke-width: 3; stroke-linecap: round; }
.band rect { fill: #dbeafe; fill-opacity: 0.7; stroke: #1d4ed8; stroke-dasharray: 4 3; }
.band text { fill: #1e3a8a; font-weight: 700; }
.state rect { stroke-width: 1.2; fill: #fef3c7; stroke: #b45309; }
.state text { font-size: 10.5px; font-weight: 700; }
.state.open rect { fill: #dbeafe; stroke: #1d4ed8; }
.state.est rect { fill: #dcfce7; stroke: #15803d; }
.state.closed rect { fill: #f3f4f6; stroke: #4b5563; }
.mark-app { fill: #0f766e; } .app text { fill: #134e4a; font-style: italic; } .app.err text { fill: #991b1b; }
.mark-n { fill: #fff; stroke: #4b5563; stroke-width: 1.4; } .note text { fill: #374151; font-size: 10px; }
.note.error text { fill: #991b1b; font-weight: 700; } .note.error .mark-n { fill: #dc2626; stroke: #dc2626; }
.current .lbl, .selected .lbl { font-weight: 700; }
.current line, .selected line { stroke-width: 3; }
.current rect, .selected rect { stroke-width: 2.5; }
.now { stroke: #2563eb; stroke-width: 1; stroke-dasharray: 3 3; }
.strip .frame { fill: none; stroke: #d1d5db; }
.cwnd { stroke: #1d4ed8; stroke-width: 2; fill: none; }
.ssthresh { stroke: #7c3aed; stroke-width: 1.6; stroke-dasharray: 6 3; fill: none; }
.rwnd { stroke: #047857; stroke-width: 1.6; stroke-dasharray: 2 2; fill: none; }
.flight { stroke: #c2410c; stroke-width: 1.2; fill: none; }
[data-k] { cursor: pointer; }
/* Figure 5 */
.fig5 { width: 100%; height: auto; margin-bottom: 8px; }
.fig5 .fs rect { fill: #fff; stroke: #9ca3af; }
.fig5 .fs text { font-size: 9px; text-anchor: middle; fill: #374151; }
.fig5 .fs.lit rect { fill: #fde68a; stroke: #b45309; stroke-width: 2; }
.fig5 .fs.lit text { font-weight: 700; fill: #111827; }
.fig5 .who { font-size: 8.5px; fill: #1d4ed8; font-weight: 700; text-anchor: middle; }
.fig5 .edge { stroke: #9ca3af; stroke-width: 1; fill: none; }
/* stream graphs */
.graph text { font-size: 10px; }
.graph .gt { font-weight: 700; font-family: system-ui, "DejaVu Sans", sans-serif; }
.graph .gk { fill: #4b5563; }
.graph .gf { fill: none; stroke: #d1d5db; }
.g-new { stroke: #1d4ed8; stroke-width: 1.5; fill: none; }
.g-rtx { stroke: #dc2626; stroke-width: 2.5; fill: none; }
.g-sack { stroke: #d97706; stroke-width: 3; stroke-opacity: 0.6; fill: none; }
.g-ack { stroke: #6b7280; stroke-width: 1; fill: none; }
.g-edge { stroke: #059669; stroke-width: 1; stroke-dasharray: 4 3; fill: none; }
.g-tput { stroke: #1d4ed8; stroke-width: 1.5; fill: none; }
.g-good { stroke: #059669; stroke-width: 1.5; stroke-dasharray: 4 3; fill: none; }
.g-rtt { stroke: #7c3aed; stroke-width: 3; stroke-linecap: round; fill: none; }
.g-rwnd { stroke: #059669; stroke-width: 1.5; fill: none; }
.g-flight { stroke: #c2410c; stroke-width: 1.2; fill: none; }
@media (max-width: 1000px) { .layout { grid-template-columns: minmax(0, 1fr); } .panel { position: static; } }
"""

# RFC 9293 Figure 5, the TCP connection state diagram, redrawn: one box per state (the
# bottom CLOSED is the top one again), the arrows of the figure between them.
_BOXES = [
    ("CLOSED", 130, 14), ("LISTEN", 130, 54), ("SYN-RECEIVED", 52, 96), ("SYN-SENT", 208, 96),
    ("ESTABLISHED", 130, 138), ("FIN-WAIT-1", 52, 180), ("CLOSE-WAIT", 208, 180), ("FIN-WAIT-2", 40, 222),
    ("CLOSING", 130, 222), ("LAST-ACK", 218, 222), ("TIME-WAIT", 88, 264), ("CLOSED", 218, 264),
]
_EDGES = [(0, 1), (0, 3), (1, 2), (1, 3), (3, 2), (2, 4), (3, 4), (2, 5), (4, 5), (4, 6), (5, 7), (5, 8),
          (7, 10), (8, 10), (6, 9), (9, 11), (10, 11)]


def _figure5() -> str:
    w, h = 72, 16
    parts = ['<svg class="fig5" id="fig5" viewBox="0 0 260 292" role="img" aria-label="RFC 9293 Figure 5: '
             'the TCP connection state diagram, with the current state of each host lit">',
             '<defs><marker id="ah" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="6" markerHeight="6" '
             'orient="auto"><path d="M0,0L6,3L0,6Z" fill="#9ca3af"/></marker></defs>']
    for a, b in _EDGES:
        _, x1, y1 = _BOXES[a]
        _, x2, y2 = _BOXES[b]
        dy = 1 if y2 > y1 else -1 if y2 < y1 else 0
        sy, ey = y1 + dy * h / 2, y2 - dy * h / 2
        sx, ex = (x1, x2) if dy else (x1 + (w / 2 if x2 > x1 else -w / 2), x2 - (w / 2 if x2 > x1 else -w / 2))
        parts.append(f'<line class="edge" x1="{sx:g}" y1="{sy:g}" x2="{ex:g}" y2="{ey:g}" marker-end="url(#ah)"/>')
    for name, x, y in _BOXES:
        parts.append(f'<g class="fs" data-state="{name}"><rect x="{x - w / 2:g}" y="{y - h / 2:g}" width="{w}" '
                     f'height="{h}" rx="3"/><text x="{x}" y="{y + 3}">{name}</text>'
                     f'<text class="who" x="{x}" y="{y + h / 2 + 9}"></text></g>')
    parts.append("</svg>")
    return "".join(parts)


FIGURE5 = _figure5()

JS = r"""
(function () {
  "use strict";
  var dataEl = document.getElementById("synack-data");
  if (!dataEl) { return; }
  var D = JSON.parse(dataEl.textContent);
  var items = D.items, N = items.length, ui = D.ui, bands = D.bands, strips = D.strips;
  var NS = document.querySelector("svg").namespaceURI;   // Figure 5 is always there
  function $(id) { return document.getElementById(id); }
  var scroller = $("scroller"), sizer = $("sizer"), svg = $("ladder"), ov = $("overview");
  var details = $("details"), status = $("step-status"), zstatus = $("zoom-status"), playBtn = $("btn-play");
  var nh = D.hosts.length;
  var HEAD = 44, TIME_W = 70, SIDE = 150, STRIP_W = 180, STRIP_GAP = 12;
  // lifelines as far apart as the view allows (labels are written between them), 300-520 px
  var avail = scroller ? scroller.clientWidth : 1000;
  var GAP = nh <= 1 ? 500 : Math.max(300, Math.min(520, Math.floor(
    (avail - TIME_W - 2 * SIDE - strips.length * (STRIP_W + STRIP_GAP) - 12) / (nh - 1))));
  var xs = D.hosts.map(function (_, i) { return TIME_W + SIDE + i * GAP; });
  var right = TIME_W + 2 * SIDE + Math.max(0, nh - 1) * GAP;
  var W = right + strips.length * (STRIP_W + STRIP_GAP) + 8;
  var shown = N, mode = "all", selected = -1, timer = null;
  var viewH = 600, zoom = 1, pending = false;
  var maxSpan = 0, bandOf = new Int32Array(N).fill(-1);
  items.forEach(function (it) { if (it[0] === "s" && it[2] !== null) { maxSpan = Math.max(maxSpan, it[2] - it[1]); } });
  bands.forEach(function (b, i) { for (var k = b[0]; k <= b[1]; k++) { bandOf[k] = i; } });

  function el(name, attrs, parent, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (attrs[k] !== null && attrs[k] !== undefined) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmtT(s) { return s < 10 ? (s * 1000).toFixed(3).replace(/\.?0+$/, "") + " ms" : s.toFixed(3) + " s"; }
  function clamp(n) { return Math.max(0, Math.min(N, n)); }
  function firstAtOrAfter(y) {  // items are in y order
    var lo = 0, hi = N;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (items[mid][1] < y) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  }
  function sy(y) { return HEAD + y * zoom - (scroller ? scroller.scrollTop : 0); }
  function limit() { return mode === "all" ? N : shown; }
  function current() { return mode === "all" ? -1 : shown - 1; }

  // ---- what an item says on hover and in the details panel -----------------------------
  function describe(k) {
    var it = items[k], h = D.hosts;
    if (it[0] === "s") {
      var from = it[3] >= 0 ? h[it[3]] : "?", to = it[4] >= 0 ? h[it[4]] : "?";
      var lines = [from + " \u2192 " + to + ": " + it[6], "sent at " + fmtT(it[7]) +
        (it[8] !== null ? ", at the other end at " + fmtT(it[8]) + " (" + fmtT(it[8] - it[7]) + " later)" : "")];
      if (it[14]) { lines.push(it[14]); }
      if (it[15]) { lines.push(it[15]); }
      lines.push("absolute: seq " + it[9] + ", ack " + it[10] + ", win " + it[11] + ", " + it[12] + " data bytes");
      if (it[13]) { lines.push("options: " + it[13]); }
      return [(it[5].indexOf("rtx") >= 0 ? "Retransmission " : "Segment ") + from + " \u2192 " + to, lines.join("\n")];
    }
    if (it[0] === "st") {
      return ["State " + h[it[2]] + ": " + it[5] + " \u2192 " + it[3], h[it[2]] + ": " + it[5] + " \u2192 " + it[3] +
        " at " + fmtT(it[4]) + "\ncause: " + (it[6] || "\u2014") + "\nrule: " + (it[7] || "\u2014") +
        (it[8] ? "\nconnection " + it[8] : "")];
    }
    return [h[it[2]] + ": " + it[3], h[it[2]] + ": " + it[3] + " at " + fmtT(it[4])];
  }

  // ---- drawing ---------------------------------------------------------------------------
  var labelBoxes = [];
  function arrowHead(g, x1, y1, x2, y2) {
    var dx = x2 - x1, dy = y2 - y1, d = Math.sqrt(dx * dx + dy * dy) || 1, ux = dx / d, uy = dy / d, s = 9;
    var bx = x2 - ux * s, by = y2 - uy * s, px = -uy * s * 0.42, py = ux * s * 0.42;
    el("polygon", {"class": "head", points: x2 + "," + y2 + " " + (bx + px) + "," + (by + py) + " " + (bx - px) + "," + (by - py)}, g);
  }
  function label(g, x, y, anchor, text) {
    var t = el("text", {"class": "lbl", x: x, y: y, "text-anchor": anchor}, g, text);
    labelBoxes.push(t);
    return t;
  }
  function drawSeg(k, it, g, withLabel) {
    var y1 = sy(it[1]), src = it[3], dst = it[4], x1, x2, y2;
    var lost = it[5].indexOf("lost") >= 0, extra = it[5].indexOf("extra") >= 0;
    if (extra) {
      x2 = dst >= 0 ? xs[dst] : xs[0]; x1 = src >= 0 ? xs[src] : x2 + (x2 === xs[0] ? 160 : -160);
      y2 = y1; y1 = y2 - 40 * Math.max(zoom, 0.3);
    } else {
      x1 = src >= 0 ? xs[src] : xs[0]; x2 = dst >= 0 ? xs[dst] : x1 + (x1 === xs[nh - 1] ? -160 : 160);
      y2 = it[2] !== null ? sy(it[2]) : y1 + 72 * zoom;
    }
    if (lost) {
      var xe = x1 + (x2 - x1) * 0.7, ye = y1 + Math.min(72 * zoom, 108) * 0.7;
      el("line", {x1: x1, y1: y1, x2: xe, y2: ye}, g);
      el("path", {"class": "cross", d: "M" + (xe - 6) + "," + (ye - 6) + "L" + (xe + 6) + "," + (ye + 6) + "M" + (xe - 6) + "," + (ye + 6) + "L" + (xe + 6) + "," + (ye - 6)}, g);
    } else {
      el("line", {x1: x1, y1: y1, x2: x2, y2: y2}, g);
      arrowHead(g, x1, y1, x2, y2);
    }
    if (withLabel) {
      var rightward = x2 >= x1, room = Math.abs(x2 - x1) - 16;
      var text = it[6], max = Math.max(12, Math.floor(room / 6.7));
      if (text.length > max) { text = text.slice(0, max - 1) + "\u2026"; }
      label(g, rightward ? x1 + 8 : x1 - 8, (extra ? y2 : y1) - 4, rightward ? "start" : "end", text);
    }
  }
  function drawState(k, it, g, withLabel) {
    var x = xs[it[2]], y = sy(it[1]), w = it[3].length * 6.6 + 14;
    var cls = it[3] === "ESTABLISHED" ? "est" : it[3] === "CLOSED" ? "closed" :
      /^(LISTEN|SYN-)/.test(it[3]) ? "open" : "closing";
    g.classList.add("state", cls);
    if (!withLabel) { el("rect", {x: x - 5, y: y - 3, width: 10, height: 6, rx: 2}, g); return; }
    el("rect", {x: x - w / 2, y: y - 8, width: w, height: 16, rx: 3}, g);
    var t = el("text", {x: x, y: y + 4, "text-anchor": "middle"}, g, it[3]);
    labelBoxes.push(t);
  }
  function drawMarker(k, it, g, withLabel) {
    var x = xs[it[2]], y = sy(it[1]), outward = it[2] === 0 ? -1 : 1;
    if (nh > 2 && it[2] !== 0 && it[2] !== nh - 1) { outward = 1; }
    if (it[0] === "a") {
      g.classList.add("app");
      if (it[5]) { g.classList.add("err"); }
      el("path", {"class": "mark-app", d: "M" + x + "," + (y - 5) + "L" + (x + 5) + "," + y + "L" + x + "," + (y + 5) + "L" + (x - 5) + "," + y + "Z"}, g);
    } else {
      g.classList.add("note");
      if (it[5]) { g.classList.add(it[5]); }
      el("circle", {"class": "mark-n", cx: x, cy: y, r: 4.5}, g);
    }
    if (withLabel) {
      var text = it[3], max = Math.floor((SIDE - 20) / 6.7);
      if (nh > 2 || outward > 0) { max = Math.floor((GAP / 2 - 20) / 6.7); }
      if (text.length > max) { text = text.slice(0, max - 1) + "\u2026"; }
      label(g, x + 10 * outward, y + 4, outward < 0 ? "end" : "start", text);
    }
  }
  function bandText(m) {
    var parts = [m.n + " " + ui.segments];
    if (m.bytes) { parts.push(si(m.bytes) + " " + ui.data); }
    if (m.rtx) { parts.push(m.rtx + " " + ui.rtx); }
    if (m.lost) { parts.push(m.lost + " " + ui.lost); }
    parts.push(m.t1 > m.t0 ? ui.over + " " + fmtT(m.t1 - m.t0) : ui["at once"]);
    return parts.join(", ");
  }
  function drawBand(m, g) {
    var top = sy(m.top) - 4, bot = Math.max(sy(m.bot) + 4, top + 16);
    var xa = xs[m.ha], xb = xs[m.hb], text = bandText(m);
    g.setAttribute("class", "band");
    el("rect", {x: xa + 4, y: top, width: Math.max(8, xb - xa - 8), height: bot - top, rx: 4}, g);
    if (bot - top >= 14) {
      var max = Math.floor((xb - xa - 16) / 6.7);
      var t = el("text", {x: (xa + xb) / 2, y: Math.max(top + 12, Math.min(bot - 4, (top + bot) / 2 + 4)), "text-anchor": "middle", "class": "lbl"}, g,
        text.length > max ? text.slice(0, max - 1) + "\u2026" : text);
      labelBoxes.push(t);
    }
    el("title", {}, g, text);
  }
  // Bands that overlap on screen (a burst of data and the ACKs coming back) merge into one.
  function mergedBands(lim, y0, y1) {
    var out = [], cur = null;
    for (var i = 0; i < bands.length; i++) {
      var b = bands[i];
      if (b[1] >= lim || b[3] < y0 - maxSpan || b[2] > y1) { continue; }
      if (cur && cur.ha === b[4] && cur.hb === b[5] && (b[2] - cur.bot) * zoom < 16) {
        cur.bot = Math.max(cur.bot, b[3]); cur.last = b[1]; cur.n += b[6]; cur.bytes += b[7]; cur.lost += b[8];
        cur.rtx += b[9]; cur.t1 = b[11];
      } else {
        cur = {first: b[0], last: b[1], top: b[2], bot: b[3], ha: b[4], hb: b[5], n: b[6], bytes: b[7],
               lost: b[8], rtx: b[9], t0: b[10], t1: b[11]};
        out.push(cur);
      }
    }
    return out;
  }
  function niceMax(v) {
    if (v <= 0) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var m = [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < m.length; i++) { if (p * m[i] >= v) { return p * m[i]; } }
    return p * 10;
  }
  function si(v) { return v >= 1e6 ? (v / 1e6).toPrecision(3) + " MB" : v >= 1e3 ? (v / 1e3).toPrecision(3) + " kB" : v + " B"; }
  function drawStrips(top, bot) {
    strips.forEach(function (s, n) {
      var x0 = right + 8 + n * (STRIP_W + STRIP_GAP), x1 = x0 + STRIP_W;
      var own = 1500;
      s.pts.forEach(function (p) { own = Math.max(own, p[1], p[2], p[4]); });
      var vmax = niceMax(own * 1.1);
      function X(v) { return x0 + 4 + (STRIP_W - 8) * Math.min(v, vmax) / vmax; }
      var g = el("g", {"class": "strip"}, svg);
      el("rect", {"class": "frame", x: x0, y: HEAD, width: STRIP_W, height: viewH}, g);
      el("text", {x: x0 + STRIP_W / 2, y: 14, "text-anchor": "middle", "font-weight": "700"}, g, ui.cc + " " + s.host);
      el("text", {"class": "tick", x: x0 + 2, y: 36}, g, "0");
      el("text", {"class": "tick", x: x1 - 2, y: 36, "text-anchor": "end"}, g, si(vmax));
      var series = [[1, "cwnd"], [2, "ssthresh"], [3, "rwnd"], [4, "flight"]];
      var a = 0, b = s.pts.length;
      while (a < b && s.pts[a][0] * zoom + HEAD - scroller.scrollTop < top) { a++; }
      a = Math.max(0, a - 1);
      series.forEach(function (sr) {
        var pts = [], prev = null;
        for (var i = a; i < s.pts.length; i++) {
          var p = s.pts[i], y = sy(p[0]), v = p[sr[0]];
          if (v < 0) { prev = null; continue; }
          if (prev !== null) { pts.push(prev + "," + y.toFixed(1)); }
          pts.push(X(v).toFixed(1) + "," + y.toFixed(1));
          prev = X(v).toFixed(1);
          if (y > bot) { break; }
        }
        if (pts.length) { el("polyline", {"class": sr[1], points: pts.join(" ")}, g); }
      });
    });
  }
  function draw() {
    pending = false;
    if (!svg) { return; }
    viewH = scroller.clientHeight;
    sizer.style.height = (D.height * zoom + HEAD) + "px";
    svg.setAttribute("width", W); svg.setAttribute("height", viewH);
    svg.setAttribute("viewBox", "0 0 " + W + " " + viewH);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    labelBoxes = [];
    var top = HEAD, bot = viewH, st = scroller.scrollTop;
    var y0 = (st - HEAD) / zoom - 40, y1 = (st + viewH) / zoom + 40;
    D.folds.forEach(function (f) {
      if (f[1] * zoom + HEAD - st < top || f[0] * zoom + HEAD - st > bot) { return; }
      var g = el("g", {"class": "fold"}, svg);
      el("rect", {x: 0, y: sy(f[0]), width: right, height: Math.max(4, (f[1] - f[0]) * zoom)}, g);
      if ((f[1] - f[0]) * zoom > 12) { el("text", {x: (TIME_W + right) / 2, y: sy((f[0] + f[1]) / 2) + 4, "text-anchor": "middle"}, g, "\u22ef " + f[2] + " \u22ef"); }
    });
    xs.forEach(function (x) { el("line", {"class": "lifeline", x1: x, y1: HEAD, x2: x, y2: viewH}, svg); });
    if (strips.length) { drawStrips(top, bot); }
    var lim = limit(), cur = current();
    var collapse = zoom * D.sep < 14;
    var first = firstAtOrAfter(y0 - maxSpan), lastTime = -1e9, lastLabel = -1e9, lastTick = "";
    var merged = collapse ? mergedBands(lim, y0, y1) : [], mi = 0;
    merged.forEach(function (mb) { drawBand(mb, el("g", {}, svg)); });
    var ticks = el("g", {}, svg);
    for (var k = first; k < lim && k < N; k++) {
      var it = items[k];
      if (it[1] > y1) { break; }
      while (mi < merged.length && merged[mi].last < k) { mi++; }
      var mb = mi < merged.length ? merged[mi] : null;
      if (mb && k >= mb.first && k <= mb.last) {
        lastLabel = Math.max(lastLabel, sy(mb.bot));
        if (it[0] !== "st" && k !== cur) { continue; }
      }
      var y = sy(it[1]);
      var withLabel = y - lastLabel >= 13;
      var g = el("g", {"data-k": k, "class": it[0] === "s" ? "seg " + it[5] : ""}, svg);
      if (k === cur) { g.classList.add("current"); }
      if (k === selected) { g.classList.add("selected"); }
      if (it[0] === "s") { drawSeg(k, it, g, withLabel); }
      else if (it[0] === "st") { drawState(k, it, g, withLabel); }
      else { drawMarker(k, it, g, withLabel); }
      if (withLabel) { lastLabel = y; }
      var d = describe(k);
      el("title", {}, g, d[1]);
      var tt = fmtT(it[it[0] === "s" ? 7 : 4]);
      if (y - lastTime >= 14 && y >= HEAD && tt !== lastTick) { el("text", {"class": "tick", x: TIME_W - 6, y: y + 3.5, "text-anchor": "end"}, ticks, tt); lastTime = y; lastTick = tt; }
    }
    if (cur >= 0) { var ny = sy(items[cur][1]); el("line", {"class": "now", x1: 0, y1: ny, x2: W, y2: ny}, svg); }
    // host header, on top of everything
    var hg = el("g", {"class": "hosthead"}, svg);
    el("rect", {x: 0, y: 0, width: right, height: HEAD - 4, fill: "#fff", stroke: "none"}, hg);
    D.hosts.forEach(function (h, i) {
      var w = Math.min(GAP - 20, h.length * 8.5 + 20);
      el("rect", {x: xs[i] - w / 2, y: 6, width: w, height: 26, rx: 6}, hg);
      el("text", {x: xs[i], y: 24, "text-anchor": "middle"}, hg, h.length > 40 ? h.slice(0, 39) + "\u2026" : h);
    });
    el("text", {"class": "tick", x: TIME_W - 6, y: 36, "text-anchor": "end"}, hg, "time \u2193");
    drawOverview();
    drawFigure5();
    var focus = selected >= 0 ? selected : cur;
    showDetails(focus);
    if (status) { status.textContent = mode === "all" ? N + " / " + N : shown + " / " + N + (shown > 0 ? " \u00b7 t = " + fmtT(items[shown - 1][items[shown - 1][0] === "s" ? 7 : 4]) : ""); }
    if (zstatus) { zstatus.textContent = ui.zoom + " " + Math.round(zoom * 100) + "%"; }
    document.body.dataset.shown = String(lim);
    document.body.dataset.total = String(N);
    document.body.dataset.mode = mode;
    document.body.dataset.zoom = String(zoom);
  }
  function later() { if (!pending) { pending = true; window.requestAnimationFrame(draw); } }

  // ---- the overview strip --------------------------------------------------------------
  var ovSvg = null, ovWin = null;
  function buildOverview() {
    if (!ov) { return; }
    ovSvg = el("svg", {viewBox: "0 0 1000 40", preserveAspectRatio: "none"}, ov);
    var B = 500, seg = new Array(B).fill(0), bad = new Array(B).fill(0), lostA = new Array(B).fill(0), st = new Array(B).fill(0), mx = 1;
    items.forEach(function (it) {
      var b = Math.min(B - 1, Math.floor(it[1] / D.height * B));
      if (it[0] === "s") { seg[b]++; if (it[5].indexOf("lost") >= 0) { lostA[b]++; } else if (it[5].indexOf("rtx") >= 0) { bad[b]++; } }
      else if (it[0] === "st") { st[b]++; }
    });
    seg.forEach(function (v) { mx = Math.max(mx, v); });
    for (var b = 0; b < B; b++) {
      if (seg[b]) { el("rect", {"class": "ov-seg", x: b * 2, y: 40 - 34 * seg[b] / mx, width: 2, height: 34 * seg[b] / mx}, ovSvg); }
      if (bad[b]) { el("rect", {"class": "ov-rtx", x: b * 2, y: 0, width: 2, height: 8}, ovSvg); }
      if (lostA[b]) { el("rect", {"class": "ov-lost", x: b * 2, y: 0, width: 2, height: 8}, ovSvg); }
      if (st[b]) { el("rect", {"class": "ov-state", x: b * 2, y: 34, width: 2, height: 6}, ovSvg); }
    }
    ovWin = el("rect", {"class": "ov-win", x: 0, y: 1, width: 10, height: 38}, ovSvg);
    function go(e) {
      var r = ov.getBoundingClientRect(), f = (e.clientX - r.left) / r.width;
      scroller.scrollTop = f * D.height * zoom - viewH / 2;
    }
    var dragging = false;
    ov.addEventListener("mousedown", function (e) { dragging = true; go(e); e.preventDefault(); });
    window.addEventListener("mousemove", function (e) { if (dragging) { go(e); } });
    window.addEventListener("mouseup", function () { dragging = false; });
    ov.addEventListener("keydown", function (e) {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        scroller.scrollTop += (e.key === "ArrowRight" ? 1 : -1) * viewH * 0.8; e.preventDefault(); e.stopPropagation();
      }
    });
  }
  function drawOverview() {
    if (!ovWin) { return; }
    var total = D.height * zoom + HEAD, a = scroller.scrollTop / total, b = (scroller.scrollTop + viewH) / total;
    ovWin.setAttribute("x", (a * 1000).toFixed(1));
    ovWin.setAttribute("width", Math.max(3, (Math.min(1, b) - a) * 1000).toFixed(1));
  }

  // ---- Figure 5 ----------------------------------------------------------------------
  function stateAt(h, k) {
    var s = D.states[h], got = s[0][1];
    for (var i = 1; i < s.length && s[i][0] <= k; i++) { got = s[i][1]; }
    return got;
  }
  function drawFigure5() {
    var fig = $("fig5");
    if (!fig) { return; }
    var k = mode === "all" ? N - 1 : shown - 1, who = {};
    D.hosts.forEach(function (h, i) { var s = stateAt(i, k); if (s) { (who[s] = who[s] || []).push(h); } });
    fig.querySelectorAll(".fs").forEach(function (g) {
      var s = g.getAttribute("data-state"), names = who[s] || [];
      var bottom = g.querySelector("rect").getAttribute("y") > 200;
      if (s === "CLOSED" && bottom) { names = []; }
      g.classList.toggle("lit", names.length > 0);
      g.querySelector(".who").textContent = names.join(", ");
    });
  }

  // ---- details -------------------------------------------------------------------------
  function showDetails(k) {
    if (!details) { return; }
    while (details.firstChild) { details.removeChild(details.firstChild); }
    var h = document.createElement("h2");
    if (k < 0 || k >= N) {
      h.textContent = ui.details; details.appendChild(h);
      var p = document.createElement("p"); p.className = "hint"; p.textContent = ui.hint; details.appendChild(p);
      return;
    }
    var d = describe(k);
    h.textContent = d[0]; details.appendChild(h);
    var what = document.createElement("p"); what.className = "what"; what.textContent = d[1]; details.appendChild(what);
  }

  // ---- stepping ------------------------------------------------------------------------
  function reveal(k) {
    if (k < 0 || k >= N || !scroller) { return; }
    var y = items[k][1] * zoom + HEAD;
    if (y < scroller.scrollTop + HEAD + 20 || y > scroller.scrollTop + viewH - 40) { scroller.scrollTop = y - viewH / 2; }
  }
  function setShown(n) { mode = "step"; shown = clamp(n); selected = -1; reveal(shown - 1); draw(); }
  function step() { if (mode === "all" || shown >= N) { setShown(mode === "all" ? 1 : N); } else { setShown(shown + 1); } }
  function back() { if (mode === "all") { setShown(N - 1); } else { setShown(shown - 1); } }
  function reset() { pause(); setShown(0); }
  function all() { pause(); mode = "all"; shown = N; selected = -1; draw(); }
  function tick() { if (shown >= N) { pause(); return; } step(); if (shown >= N) { pause(); } }
  function play() {
    if (timer !== null || N === 0) { return; }
    if (mode === "all" || shown >= N) { setShown(0); }
    timer = window.setInterval(tick, 700);
    if (playBtn) { playBtn.textContent = ui.pause; playBtn.setAttribute("aria-pressed", "true"); }
    tick();
  }
  function pause() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    if (playBtn) { playBtn.textContent = ui.play; playBtn.setAttribute("aria-pressed", "false"); }
  }
  function setZoom(z) {
    if (!scroller) { return; }
    var mid = (scroller.scrollTop + viewH / 2 - HEAD) / zoom;
    zoom = Math.max(0.005, Math.min(4, z));
    sizer.style.height = (D.height * zoom + HEAD) + "px";
    scroller.scrollTop = mid * zoom + HEAD - viewH / 2;
    draw();
  }
  function on(id, fn) { var b = $(id); if (b) { b.addEventListener("click", function () { fn(); }); } }
  on("btn-reset", reset); on("btn-back", function () { pause(); back(); });
  on("btn-step", function () { pause(); step(); }); on("btn-play", function () { if (timer !== null) { pause(); } else { play(); } });
  on("btn-all", all); on("btn-in", function () { setZoom(zoom * 2); }); on("btn-out", function () { setZoom(zoom / 2); });
  if (svg) {
    svg.addEventListener("click", function (e) {
      var g = e.target && e.target.closest ? e.target.closest("[data-k]") : null;
      if (g) { selected = Number(g.getAttribute("data-k")); draw(); }
    });
  }
  if (scroller) { scroller.addEventListener("scroll", later); window.addEventListener("resize", later); }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var t = e.target, tag = t && t.tagName ? t.tagName.toUpperCase() : "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") { return; }
    var key = e.key;
    if ((key === " " || key === "Enter") && tag === "BUTTON") { return; }
    if (key === "ArrowRight" || key === "n") { pause(); step(); }
    else if (key === "ArrowLeft" || key === "b") { pause(); back(); }
    else if (key === " " || key === "p") { if (timer !== null) { pause(); } else { play(); } }
    else if (key === "Home" || key === "r") { reset(); }
    else if (key === "End" || key === "a") { all(); }
    else if (key === "+" || key === "=") { setZoom(zoom * 2); }
    else if (key === "-") { setZoom(zoom / 2); }
    else { return; }
    e.preventDefault();
  });

  if (scroller) {
    viewH = scroller.clientHeight || 600;
    zoom = Math.min(1, Math.max(0.01, 4 * viewH / D.height));
    sizer.style.height = (D.height * zoom + HEAD) + "px";   // before any scrolling to a step
  }
  buildOverview();
  var q = null;
  try { q = new URLSearchParams(window.location.search).get("step"); } catch (err) { q = null; }
  if (q === null) { var m = /(?:^|[#&])step=(\d+)/.exec(window.location.hash || ""); q = m ? m[1] : null; }
  if (q !== null && /^\d+$/.test(q)) { mode = "step"; shown = clamp(Number(q)); reveal(shown - 1); }
  var bar = $("controls");
  if (bar) { bar.hidden = false; }
  draw();
  if (window.performance && performance.mark) { performance.mark("synack-drawn"); }
  window.synackReport = {
    step: step, back: back, reset: reset, all: all, play: play, pause: pause, total: N, zoom: setZoom,
    redraw: draw,
    scrollTo: function (k) { reveal(k); draw(); },
    state: function () { return { shown: limit(), mode: mode, selected: selected, zoom: zoom }; },
    labels: function () {
      return labelBoxes.filter(function (t) { return t.isConnected; }).map(function (t) {
        var b = t.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom, t.textContent];
      });
    },
    drawnSegments: function () { return svg ? svg.querySelectorAll("g.seg").length : 0; }
  };
})();
"""
