"""TCP stream graphs, as Wireshark draws them, from the shared timeline.

For each direction of a connection that carried data, :func:`streams` collects from the
segments alone (so a capture of any TCP works as well as a simulated run):

- **time-sequence** (Stevens / tcptrace): every data segment as a vertical bar from its
  first to its last sequence number (relative) at the time it was sent, retransmissions
  marked; the ACKs coming back as a step line, the receive window's right edge (ACK +
  window) above it, and the SACK blocks the receiver reported;
- **throughput**: data sent per interval (bit/s, SI prefixes), and goodput (the data sent
  for the first time);
- **RTT**: for each segment sent once, the time until the first ACK that covers it (Karn's
  rule: retransmitted segments give no sample);
- **window scaling**: the window the receiver advertises (scaled by the negotiated shift,
  RFC 7323 §2.3) and the bytes in flight (sent, not yet acknowledged).

:func:`plot` draws them with matplotlib (one column per direction, four panels) into a
PNG, SVG or PDF; :func:`svg_panels` draws the same as small inline SVG for the HTML report,
thinned to a few thousand points so a long transfer stays a small page.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from .timeline import Timeline

__all__ = ["Direction", "streams", "plot", "svg_panels", "si", "FORMATS"]

#: file name extensions :func:`plot` writes
FORMATS = (".png", ".svg", ".pdf")
_MASK = 0xFFFFFFFF
_WSCALE = "wscale "


@dataclass
class Direction:
    """One direction of one connection that carried data. Times are seconds since the
    trace began; sequence numbers are relative to the sender's ISN."""

    src: str
    dst: str
    conn: str
    #: (t, first, end, retransmitted?)
    segs: list = field(default_factory=list)
    #: (t, ack) of the receiver's ACKs
    acks: list = field(default_factory=list)
    #: (t, ack + window): the right edge of the offered window
    edge: list = field(default_factory=list)
    #: (t, left, right) SACK blocks
    sacks: list = field(default_factory=list)
    #: (t, milliseconds)
    rtt: list = field(default_factory=list)
    #: (t, bytes) the receiver's window, scaled
    rwnd: list = field(default_factory=list)
    #: (t, bytes) sent and not yet acknowledged
    flight: list = field(default_factory=list)
    data: int = 0

    @property
    def title(self) -> str:
        return f"{self.src} \u2192 {self.dst}"

    def throughput(self, bins: int = 100) -> tuple[list, list, list]:
        """(bin centres, bit/s of all data sent, bit/s of new data) over ``bins`` intervals."""
        if not self.segs:
            return [], [], []
        t0, t1 = self.segs[0][0], self.segs[-1][0]
        span = max(t1 - t0, 1e-6)
        n = max(1, min(bins, len(self.segs) // 8))
        w = span / n
        total = [0.0] * n
        good = [0.0] * n
        for t, a, b, rtx in self.segs:
            k = min(n - 1, int((t - t0) / w))
            nbytes = (b - a) & _MASK
            total[k] += nbytes
            if not rtx:
                good[k] += nbytes
        mids = [t0 + (k + 0.5) * w for k in range(n)]
        return mids, [8 * x / w for x in total], [8 * x / w for x in good]


def streams(tl: Timeline, limit: int = 4) -> list[Direction]:
    """The directions of ``tl`` that carried data (at most ``limit``, the busiest first)."""
    recs = tl.records
    if not recs:
        return []
    t0 = recs[0]["t"]
    dirs: dict[tuple, Direction] = {}
    shift: dict[tuple, int | None] = {}
    top: dict[tuple, int] = {}          # direction -> highest relative end sent
    sent_at: dict[tuple, deque] = {}    # direction -> (relative end, time) of first transmissions
    spoiled: dict[tuple, set] = {}      # direction -> ends of retransmitted ranges
    for i, r in enumerate(recs):
        if r["event"] != "send" or r.get("flags") is None:
            continue
        f = r["flags"]
        fwd = (r["src_addr"], r["src_port"], r["dst_addr"], r["dst_port"])
        rev = (fwd[2], fwd[3], fwd[0], fwd[1])
        t = r["t"] - t0
        seq, ack = tl.rel[i]
        if "S" in f:
            shift[fwd] = next((int(o[len(_WSCALE):]) for o in r.get("options") or () if o.startswith(_WSCALE)), None)
        n = r["len"] or 0
        if n:
            d = dirs.get(fwd)
            if d is None:
                d = dirs[fwd] = Direction(r.get("src") or "?", r.get("dst") or "?", r.get("conn") or "")
            end = (seq + n) & _MASK
            rtx = bool(r.get("retransmit")) or any(
                x in ("retransmission", "fast retransmission", "spurious retransmission")
                for x in tl.flags.get(i, ()))
            d.segs.append((t, seq, end, rtx))
            d.data += n
            pend = sent_at.setdefault(fwd, deque())
            if rtx:
                spoiled.setdefault(fwd, set()).add(end)  # Karn: no sample from this range
            else:
                pend.append((end, t))
            if _after(end, top.get(fwd, 0)) or fwd not in top:
                top[fwd] = end
            d.flight.append((t, (top[fwd] - d.acks[-1][1]) & _MASK if d.acks else top[fwd]))
        d = dirs.get(rev)
        if "." in f and d is not None:
            j = tl.match.arrival.get(i)
            if j is not None:  # a simulated run: the data sender sees the ACK when it arrives
                t = recs[j]["t"] - t0
            a, b = shift.get(rev), shift.get(fwd)
            scale = b if (a is not None and b is not None and "S" not in f) else 0
            wnd = (r["win"] or 0) << scale
            d.acks.append((t, ack))
            d.edge.append((t, (ack + wnd) & _MASK))
            d.rwnd.append((t, wnd))
            d.sacks.extend((t, x, y) for x, y in tl.sack.get(i, ()))
            if rev in top:
                d.flight.append((t, (top[rev] - ack) & _MASK if not _after(ack, top[rev]) else 0))
            waiting = sent_at.get(rev)
            bad = spoiled.get(rev, ())
            while waiting and not _after(waiting[0][0], ack):
                end, ts = waiting.popleft()
                if end not in bad:
                    d.rtt.append((t, (t - ts) * 1000))
    out = sorted(dirs.values(), key=lambda d: -d.data)[:limit]
    for d in out:
        for series in (d.acks, d.edge, d.rwnd, d.flight, d.rtt, d.sacks):
            series.sort(key=lambda p: p[0])
    return out


def _after(a: int, b: int) -> bool:
    return 0 < ((a - b) & _MASK) < 0x80000000


def si(value: float, unit: str) -> str:
    """``value`` with an SI prefix: ``1.5 Mbit/s``, ``64 kB`` (k = 1000)."""
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


# ==========================================================================================
# matplotlib
# ==========================================================================================


def plot(directions: list[Direction], path: str | Path, title: str = "") -> None:
    """Draw the four graphs of each direction (one column each) into ``path`` (PNG, SVG
    or PDF by its extension). ValueError for another extension or nothing to draw."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise ValueError(f"{p}: the plot is written as {', '.join(FORMATS)}, chosen by the file name's extension")
    if not directions:
        raise ValueError("nothing to plot: no segment in the trace carried data")
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    cols = len(directions)
    fig = Figure(figsize=(6.4 * cols, 11), layout="constrained")
    axes = fig.subplots(4, cols, squeeze=False)
    for c, d in enumerate(directions):
        ax = axes[0][c]
        ax.set_title(f"{d.title}: time-sequence (Stevens)")
        new = [(t, a, b) for t, a, b, r in d.segs if not r]
        old = [(t, a, b) for t, a, b, r in d.segs if r]
        if new:
            ax.vlines([t for t, _, _ in new], [a for _, a, _ in new], [b for _, _, b in new], color="#1d4ed8",
                      linewidth=1.2, label="data sent")
        if old:
            ax.vlines([t for t, _, _ in old], [a for _, a, _ in old], [b for _, _, b in old], color="#dc2626",
                      linewidth=1.8, label="retransmission")
        if d.acks:
            ax.step([t for t, _ in d.acks], [a for _, a in d.acks], where="post", color="#6b7280", linewidth=1,
                    label="ACK")
            ax.step([t for t, _ in d.edge], [e for _, e in d.edge], where="post", color="#059669", linewidth=1,
                    linestyle="--", label="ACK + window")
        if d.sacks:
            ax.vlines([t for t, _, _ in d.sacks], [a for _, a, _ in d.sacks], [b for _, _, b in d.sacks],
                      color="#d97706", linewidth=3, alpha=0.6, label="SACK block")
        ax.set_ylabel("sequence number (relative, bytes)")
        ax.yaxis.set_major_formatter(EngFormatter(unit="B"))
        ax = axes[1][c]
        mids, total, good = d.throughput()
        ax.set_title("throughput")
        ax.plot(mids, total, color="#1d4ed8", label="all data sent")
        ax.plot(mids, good, color="#059669", linestyle="--", label="goodput (first transmissions)")
        ax.yaxis.set_major_formatter(EngFormatter(unit="bit/s"))
        ax = axes[2][c]
        ax.set_title("round-trip time (Karn: first transmissions only)")
        if d.rtt:
            ax.plot([t for t, _ in d.rtt], [v for _, v in d.rtt], ".", markersize=3, color="#7c3aed", label="RTT")
        ax.set_ylabel("ms")
        ax = axes[3][c]
        ax.set_title("window scaling")
        if d.rwnd:
            ax.step([t for t, _ in d.rwnd], [v for _, v in d.rwnd], where="post", color="#059669",
                    label="receive window (scaled)")
        if d.flight:
            ax.step([t for t, _ in d.flight], [v for _, v in d.flight], where="post", color="#c2410c",
                    label="bytes in flight")
        ax.yaxis.set_major_formatter(EngFormatter(unit="B"))
        for row in range(4):
            a = axes[row][c]
            a.set_xlabel("time (s)")
            a.grid(True, alpha=0.3)
            if a.get_legend_handles_labels()[0]:
                a.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    fig.savefig(p)


# ==========================================================================================
# inline SVG for the HTML report
# ==========================================================================================

_W, _H = 520, 150
_L, _R, _T, _B = 64, 10, 18, 22
_MAX_POINTS = 1500


def _thin(points: list, key: int = 0) -> list:
    """At most about ``_MAX_POINTS`` points: keep every k-th one plus the extremes of each run."""
    n = len(points)
    if n <= _MAX_POINTS:
        return points
    step = math.ceil(n / _MAX_POINTS)
    return points[::step] + [points[-1]]


def _axis(x0: float, x1: float, y0: float, y1: float, unit: str,
          title: str) -> tuple[list[str], Callable[[float], float], Callable[[float], float]]:
    xs = (_W - _L - _R) / max(x1 - x0, 1e-9)
    ys = (_H - _T - _B) / max(y1 - y0, 1e-9)

    def X(x: float) -> float:
        return _L + (x - x0) * xs

    def Y(y: float) -> float:
        return _H - _B - (y - y0) * ys

    out = [f'<text class="gt" x="{_L}" y="12">{escape(title)}</text>',
           f'<rect class="gf" x="{_L}" y="{_T}" width="{_W - _L - _R}" height="{_H - _T - _B}"/>']
    for k in range(3):
        v = y0 + (y1 - y0) * k / 2
        y = Y(v)
        out.append(f'<text class="gk" x="{_L - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(si(v, unit))}</text>')
    for k in range(3):
        v = x0 + (x1 - x0) * k / 2
        out.append(f'<text class="gk" x="{X(v):.1f}" y="{_H - 8}" text-anchor="middle">{v:.3g} s</text>')
    return out, X, Y


def _poly(points: list, X, Y, cls: str, step: bool = False) -> str:
    pts: list[str] = []
    prev = None
    for t, v in _thin(points):
        if step and prev is not None:
            pts.append(f"{X(t):.1f},{Y(prev):.1f}")
        pts.append(f"{X(t):.1f},{Y(v):.1f}")
        prev = v
    return f'<polyline class="{cls}" points="{" ".join(pts)}"/>' if pts else ""


def svg_panels(d: Direction) -> list[tuple[str, str]]:
    """The four graphs of ``d`` as (name, inline SVG) pairs for the HTML report."""
    out = []
    t_end = max([d.segs[-1][0]] + [t for t, _ in d.acks[-1:]]) if d.segs else 1.0
    t_beg = d.segs[0][0] if d.segs else 0.0
    # time-sequence
    hi = max([b for _, _, b, _ in d.segs] + [e for _, e in d.edge] + [1])
    body, X, Y = _axis(t_beg, t_end, 0, hi, "B", f"{d.title}: time-sequence")
    segs = d.segs if len(d.segs) <= _MAX_POINTS else _thin(d.segs)
    path_new = "".join(f"M{X(t):.1f} {Y(a):.1f}V{Y(b):.1f}" for t, a, b, r in segs if not r)
    path_rtx = "".join(f"M{X(t):.1f} {Y(a):.1f}V{Y(b):.1f}" for t, a, b, r in d.segs if r)
    body.append(f'<path class="g-new" d="{path_new}"/>')
    if path_rtx:
        body.append(f'<path class="g-rtx" d="{path_rtx}"/>')
    if d.sacks:
        body.append('<path class="g-sack" d="' + "".join(f"M{X(t):.1f} {Y(a):.1f}V{Y(b):.1f}"
                                                         for t, a, b in _thin(d.sacks)) + '"/>')
    body.append(_poly(d.acks, X, Y, "g-ack", step=True))
    body.append(_poly(d.edge, X, Y, "g-edge", step=True))
    out.append(("time-sequence", body))
    # throughput
    mids, total, good = d.throughput()
    body, X, Y = _axis(t_beg, t_end, 0, max(total + [1]), "bit/s", "throughput (all data, and goodput dashed)")
    body.append(_poly(list(zip(mids, total, strict=False)), X, Y, "g-tput"))
    body.append(_poly(list(zip(mids, good, strict=False)), X, Y, "g-good"))
    out.append(("throughput", body))
    # RTT
    hi = max([v for _, v in d.rtt] + [1.0])
    body, X, Y = _axis(t_beg, t_end, 0, hi * 1.1, "ms", "round-trip time (first transmissions)")
    body.append('<path class="g-rtt" d="' + "".join(f"M{X(t):.1f} {Y(v):.1f}h0.1" for t, v in _thin(d.rtt)) + '"/>')
    out.append(("rtt", body))
    # window scaling
    hi = max([v for _, v in d.rwnd] + [v for _, v in d.flight] + [1])
    body, X, Y = _axis(t_beg, t_end, 0, hi * 1.05, "B", "window scaling: receive window and bytes in flight")
    body.append(_poly(d.rwnd, X, Y, "g-rwnd", step=True))
    body.append(_poly(d.flight, X, Y, "g-flight", step=True))
    out.append(("window", body))
    return [(name, f'<svg class="graph" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
                   f'aria-label="{escape(name)} graph of {escape(d.title)}">' + "".join(b) + "</svg>")
            for name, b in out]


def directions_of(records: Iterable[dict]) -> list[Direction]:
    """:func:`streams` of a list of records."""
    return streams(Timeline(records))
