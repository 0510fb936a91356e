"""The static parts of the HTML report (``trace/html.py``): its style sheet and its script.

Kept as Python strings so that the report stays one self-contained file: nothing is
fetched, no fonts, no libraries. The page works without the script (the diagram, the
chart and the hover texts are pre-rendered SVG); the script adds the step / play controls,
the highlight of the current event and the details panel.

The script reads its data from ``<script type="application/json" id="synack-data">``:
``{"events": [record, ...], "steps": [{"ev", "kind", "y", "title", ...}, ...]}``,
where ``events`` are the JSON Lines records (``synack.trace.jsonl.to_records``) and each
step is one drawn element, found in the SVG as ``[data-step="k"]`` (its description is the
element's SVG ``<title>``, the hover text). It never builds HTML
from strings: every text goes through ``textContent``.

Controls: Step (→, n), Back (←, b), Play/Pause (space, p), Reset (Home, r: nothing shown),
All (End, a: everything shown). ``?step=N`` (or ``#step=N``) in the URL opens the page with
the first N steps shown. ``document.body.dataset.shown`` / ``.total`` / ``.mode`` mirror the
state for tests and for ``--dump-dom``.
"""

CSS = r"""
:root { color-scheme: light; --fg: #111827; --muted: #4b5563; --line: #d1d5db; --panel: #f8fafc; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header.top { padding: 12px 16px 6px; }
h1 { font-size: 20px; margin: 0 0 2px; }
h2 { font-size: 15px; margin: 0 0 6px; }
.summary { margin: 0 0 8px; color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0; padding: 0; list-style: none;
  font-size: 12.5px; color: var(--fg); }
.legend li { display: flex; align-items: center; gap: 6px; }
.legend svg { flex: none; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 272px; gap: 12px; padding: 0 12px 24px 16px;
  align-items: start; }
.diagram { min-width: 0; }
.sticky { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid var(--line); }
.bar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; padding: 6px 0; }
.bar[hidden] { display: none; }
button, select { font: inherit; font-size: 13px; color: var(--fg); background: #fff; border: 1px solid #6b7280;
  border-radius: 6px; padding: 3px 10px; cursor: pointer; }
button:hover { background: #f3f4f6; }
button:focus-visible, select:focus-visible { outline: 3px solid #2563eb; outline-offset: 1px; }
button[aria-pressed="true"] { background: #dbeafe; border-color: #1d4ed8; }
#step-status { margin-left: 6px; color: var(--muted); font-size: 13px; }
.keys { color: var(--muted); font-size: 12px; margin-left: auto; }
kbd { font: 11px ui-monospace, "DejaVu Sans Mono", monospace; border: 1px solid #9ca3af; border-radius: 3px;
  padding: 0 3px; background: #f9fafb; }
svg.ladder, svg.hosts { display: block; max-width: 100%; height: auto; }
.panel { position: sticky; top: 8px; max-height: calc(100vh - 16px); overflow: auto; background: var(--panel);
  border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; font-size: 13px; }
.panel p { margin: 0 0 8px; }
.panel .what { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap;
  overflow-wrap: anywhere; background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 6px; }
.panel table { border-collapse: collapse; width: 100%; font-size: 12px; }
.panel th { text-align: left; font-weight: 600; color: var(--muted); padding: 2px 8px 2px 0; vertical-align: top;
  white-space: nowrap; }
.panel td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; padding: 2px 0; overflow-wrap: anywhere; }
.panel .hint { color: var(--muted); }
.empty { padding: 24px 16px; color: var(--muted); }
/* --- SVG ------------------------------------------------------------------------------ */
svg text { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 11px; fill: #111827; }
svg text.s10 { font-size: 10px; }
svg text.s9 { font-size: 9px; }
svg .sans { font-family: system-ui, "DejaVu Sans", sans-serif; }
.hosthead rect { fill: #f3f4f6; stroke: #374151; }
.hosthead .name { font-size: 13px; font-weight: 700; }
.hosthead .addr { font-size: 10px; fill: #4b5563; }
.lifeline { stroke: #6b7280; stroke-width: 1.5; }
.tick { font-size: 10px; fill: #4b5563; }
.grid { stroke: #e5e7eb; stroke-width: 1; }
.fold rect { fill: #f3f4f6; }
.fold line { stroke: #9ca3af; stroke-dasharray: 5 4; }
.fold text { font-size: 11px; fill: #374151; }
.lbl { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.seg .shaft { stroke: #1f2937; stroke-width: 1.6; fill: none; }
.seg .head { fill: #1f2937; }
.seg.syn .shaft { stroke: #1d4ed8; } .seg.syn .head { fill: #1d4ed8; } .seg.syn .lbl { fill: #1e3a8a; }
.seg.fin .shaft { stroke: #6d28d9; } .seg.fin .head { fill: #6d28d9; } .seg.fin .lbl { fill: #4c1d95; }
.seg.rst .shaft { stroke: #b91c1c; } .seg.rst .head { fill: #b91c1c; } .seg.rst .lbl { fill: #7f1d1d; }
.seg.rtx .shaft { stroke: #c2410c; stroke-dasharray: 7 3; stroke-width: 2; } .seg.rtx .head { fill: #c2410c; }
.seg.rtx .lbl { fill: #7c2d12; }
.seg.extra .shaft { stroke-dasharray: 4 4; }
.cross { stroke: #dc2626; stroke-width: 3; stroke-linecap: round; }
.rwndnote { fill: #047857; }
.lostnote { fill: #b91c1c; font-size: 10px; font-weight: 700; }
.unknown { fill: #4b5563; font-size: 10px; }
.state rect { stroke-width: 1.2; }
.state text { font-size: 10.5px; font-weight: 700; }
.state.open rect { fill: #dbeafe; stroke: #1d4ed8; }
.state.est rect { fill: #dcfce7; stroke: #15803d; }
.state.closing rect { fill: #fef3c7; stroke: #b45309; }
.state.closed rect { fill: #f3f4f6; stroke: #4b5563; }
.app .mark { fill: #0f766e; }
.app text { fill: #134e4a; font-style: italic; }
.app.err text { fill: #991b1b; }
.timer .mark { fill: #fff; stroke: #4b5563; stroke-width: 1.4; }
.timer text { fill: #374151; font-size: 10px; }
.rdrop text { fill: #991b1b; font-size: 10px; }
.queue .mark { fill: #e0e7ff; stroke: #4338ca; stroke-width: 1.2; }
.queue text { fill: #3730a3; font-size: 10px; }
.cookies .mark { fill: #fde68a; stroke: #b45309; stroke-width: 1.4; }
.cookies text { fill: #92400e; font-weight: 700; }
.error .mark { fill: #dc2626; }
.error text { fill: #991b1b; font-weight: 700; }
.halo { fill: none; stroke: #facc15; stroke-opacity: 0; stroke-width: 12; stroke-linecap: round;
  pointer-events: stroke; }
rect.halo { stroke-width: 6; pointer-events: all; }
[data-step] { cursor: pointer; }
[data-step]:focus { outline: none; }
.current .halo, .selected .halo, [data-step]:focus .halo { stroke-opacity: 0.65; }
.current .lbl, .selected .lbl { font-weight: 700; }
.future { visibility: hidden; }
.now { stroke: #2563eb; stroke-width: 1; stroke-dasharray: 3 3; }
#veil { fill: #fff; fill-opacity: 0.85; }
.strip .frame { fill: none; stroke: #d1d5db; }
.cwnd { stroke: #1d4ed8; stroke-width: 2; fill: none; }
.ssthresh { stroke: #7c3aed; stroke-width: 1.6; stroke-dasharray: 6 3; fill: none; }
.rwnd { stroke: #047857; stroke-width: 1.6; stroke-dasharray: 2 2; fill: none; }
.flight { fill: #fdba74; fill-opacity: 0.55; stroke: #c2410c; stroke-width: 1; }
.ccpt { fill: #1d4ed8; }
.striphead .name { font-size: 11px; font-weight: 700; }
@media (max-width: 1000px) { .layout { grid-template-columns: minmax(0, 1fr); } .panel { position: static; } }
@media print { .sticky { position: static; } .bar, .panel { display: none; } .layout { display: block; } }
"""

JS = r"""
(function () {
  "use strict";
  var dataEl = document.getElementById("synack-data");
  if (!dataEl) { return; }
  var data = JSON.parse(dataEl.textContent);
  var recs = data.events, steps = data.steps, N = steps.length;
  var svg = document.getElementById("ladder");
  var groups = new Array(N);
  if (svg) {
    svg.querySelectorAll("[data-step]").forEach(function (g) {
      groups[Number(g.getAttribute("data-step"))] = g;
    });
  }
  function $(id) { return document.getElementById(id); }
  var nowLine = $("now-line"), veil = $("veil"), status = $("step-status"), details = $("details");
  var playBtn = $("btn-play"), speed = $("speed");
  var shown = N, mode = "all", selected = -1, timer = null, drawn = -1;
  var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function clamp(n) { return Math.max(0, Math.min(N, n)); }
  function fmtT(s) { return (s * 1000).toFixed(3) + " ms"; }

  // What the DOM shows now; draw() only touches the groups whose state changes, so a step
  // costs the same in a trace of ten segments and in one of ten thousand.
  var shownLimit = N, shownCur = -1, shownSel = -1;
  function mark(k, limit, cur) {
    var g = k >= 0 && k < N ? groups[k] : null;
    if (!g) { return; }
    g.classList.toggle("future", k >= limit);
    g.classList.toggle("current", k === cur);
    g.classList.toggle("selected", k === selected && k !== cur);
  }
  function draw() {
    var limit = mode === "all" ? N : shown;
    var cur = mode === "all" ? -1 : shown - 1;
    for (var k = Math.min(limit, shownLimit); k < Math.max(limit, shownLimit); k++) { mark(k, limit, cur); }
    [shownCur, cur, shownSel, selected].forEach(function (j) { mark(j, limit, cur); });
    shownLimit = limit; shownCur = cur; shownSel = selected;
    var y = null;
    if (mode !== "all") { y = shown > 0 ? steps[shown - 1].y : data.top; }
    if (nowLine) {
      if (y === null) { nowLine.setAttribute("visibility", "hidden"); }
      else {
        nowLine.setAttribute("visibility", "visible");
        nowLine.setAttribute("y1", y); nowLine.setAttribute("y2", y);
      }
    }
    if (veil) {
      if (y === null) { veil.setAttribute("visibility", "hidden"); }
      else {
        veil.setAttribute("visibility", "visible");
        veil.setAttribute("y", y + 1);
        veil.setAttribute("height", Math.max(0, data.height - y - 1));
      }
    }
    var focus = selected >= 0 ? selected : cur;
    if (status) {
      if (mode === "all") {
        status.textContent = "all " + N + " events shown" + (N ? " \u2014 Step starts from the beginning" : "");
      } else {
        status.textContent = "step " + shown + " of " + N +
          (shown > 0 ? " \u00b7 t = " + fmtT(recs[steps[shown - 1].ev].t) : "");
      }
    }
    if (focus !== drawn) { showDetails(focus); drawn = focus; }
    document.body.dataset.shown = String(limit);
    document.body.dataset.total = String(N);
    document.body.dataset.mode = mode;
  }

  function row(table, key, value) {
    var tr = document.createElement("tr");
    var th = document.createElement("th"), td = document.createElement("td");
    th.textContent = key;
    td.textContent = (value === null || value === undefined) ? "\u2014"
      : (typeof value === "object" ? JSON.stringify(value) : String(value));
    tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
  }

  function showDetails(k) {
    if (!details) { return; }
    while (details.firstChild) { details.removeChild(details.firstChild); }
    var h = document.createElement("h2");
    if (k < 0 || k >= N) {
      h.textContent = "Details";
      details.appendChild(h);
      var p = document.createElement("p");
      p.className = "hint";
      p.textContent = N ? "Click an arrow, a state or a marker, or press Step, to see an event here. " +
        "Hover over anything in the diagram for its numbers." : "No events.";
      details.appendChild(p);
      return;
    }
    var s = steps[k], r = recs[s.ev];
    h.textContent = s.title;
    details.appendChild(h);
    var what = document.createElement("p");
    what.className = "what";
    var tip = groups[k] ? groups[k].querySelector("title") : null;
    what.textContent = tip ? tip.textContent : "";
    details.appendChild(what);
    var table = document.createElement("table");
    Object.keys(r).forEach(function (key) { row(table, key, r[key]); });
    if (s.recv !== undefined && s.recv !== null) { row(table, "received at t", recs[s.recv].t); }
    if (s.drop !== undefined && s.drop !== null) {
      row(table, "dropped at t", recs[s.drop].t);
      row(table, "drop reason", recs[s.drop].reason);
    }
    details.appendChild(table);
  }

  function reveal() {
    var k = mode === "all" ? selected : shown - 1;
    var g = k >= 0 ? groups[k] : null;
    if (!g || !g.getBoundingClientRect) { return; }
    var r = g.getBoundingClientRect();
    var head = document.querySelector(".sticky");
    var top = head ? head.getBoundingClientRect().bottom : 0;
    if (r.top < top + 8 || r.bottom > window.innerHeight - 8) {
      g.scrollIntoView({ block: "center", inline: "nearest", behavior: reduce ? "auto" : "smooth" });
    }
  }

  function setShown(n) { mode = "step"; shown = clamp(n); selected = -1; draw(); reveal(); }
  function step() { if (mode === "all" || shown >= N) { setShown(mode === "all" ? 1 : N); } else { setShown(shown + 1); } }
  function back() { if (mode === "all") { setShown(N - 1); } else { setShown(shown - 1); } }
  function reset() { pause(); setShown(0); }
  function all() { pause(); mode = "all"; shown = N; selected = -1; draw(); }
  function interval() { return 800 / (speed ? Number(speed.value) || 1 : 1); }
  function tick() { if (shown >= N) { pause(); return; } step(); if (shown >= N) { pause(); } }
  function play() {
    if (timer !== null || N === 0) { return; }
    if (mode === "all" || shown >= N) { setShown(0); }
    timer = window.setInterval(tick, interval());
    if (playBtn) { playBtn.textContent = "Pause"; playBtn.setAttribute("aria-pressed", "true"); }
    tick();
  }
  function pause() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
    if (playBtn) { playBtn.textContent = "Play"; playBtn.setAttribute("aria-pressed", "false"); }
  }
  function toggle() { if (timer !== null) { pause(); } else { play(); } }
  function select(k) { selected = k; draw(); }

  function on(id, fn) { var b = $(id); if (b) { b.addEventListener("click", function () { fn(); }); } }
  on("btn-reset", reset); on("btn-back", function () { pause(); back(); });
  on("btn-step", function () { pause(); step(); }); on("btn-play", toggle); on("btn-all", all);
  if (speed) { speed.addEventListener("change", function () { if (timer !== null) { pause(); play(); } }); }

  if (svg) {
    svg.addEventListener("click", function (e) {
      var g = e.target && e.target.closest ? e.target.closest("[data-step]") : null;
      if (g) { select(Number(g.getAttribute("data-step"))); }
    });
  }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var t = e.target, tag = t && t.tagName ? t.tagName.toUpperCase() : "";
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") { return; }
    var key = e.key;
    if ((key === " " || key === "Enter") && tag === "BUTTON") { return; }
    if (key === "Enter" && t.getAttribute && t.getAttribute("data-step") !== null) {
      select(Number(t.getAttribute("data-step")));
    } else if (key === "ArrowRight" || key === "n") { pause(); step(); }
    else if (key === "ArrowLeft" || key === "b") { pause(); back(); }
    else if (key === " " || key === "p") { toggle(); }
    else if (key === "Home" || key === "r") { reset(); }
    else if (key === "End" || key === "a") { all(); }
    else { return; }
    e.preventDefault();
  });

  var q = null;
  try { q = new URLSearchParams(window.location.search).get("step"); } catch (err) { q = null; }
  if (q === null) { var m = /(?:^|[#&])step=(\d+)/.exec(window.location.hash || ""); q = m ? m[1] : null; }
  if (q !== null && /^\d+$/.test(q)) { mode = "step"; shown = clamp(Number(q)); }
  var bar = $("controls");
  if (bar) { bar.hidden = false; }
  draw();
  window.synackReport = { step: step, back: back, reset: reset, all: all, play: play, pause: pause,
    total: N, state: function () { return { shown: mode === "all" ? N : shown, mode: mode, selected: selected }; } };
})();
"""
