"""The figures of a sweep, drawn from its rows (matplotlib, object-oriented API, no display).

Four figures, each a point per parameter combination with the mean over seeds and an error
bar of its 95 % confidence interval (Student's t), axes in SI units with their base named,
and the legend outside the data:

- ``goodput-loss``: single-flow goodput against the loss rate (log scale), with the
  Mathis et al. bound MSS/RTT * sqrt(3/2)/sqrt(p) drawn beside every Reno and NewReno line
  (MSS 1448 octets, the path's propagation RTT) and the link rate;
- ``utilisation-queue``: the bottleneck's utilisation against its queue in bandwidth-delay
  products;
- ``fairness-rtt-ratio``: Jain's fairness index of two flows against the ratio of their
  round-trip times;
- ``cubic-share``: CUBIC's share of the goodput when CUBIC and Reno flows share the
  bottleneck, against the path's bandwidth-delay product (or whatever else the sweep
  varied), with the fair share marked.

A figure is drawn when the rows hold what it needs (two values or more of its x-axis);
:func:`draw_all` says why it left one out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .experiment import mathis_bps
from .sweep import PACKET, _sortable, latest, mean_ci

#: the effective MSS of a full-sized segment with timestamps (1500 - 20 - 20 - 12)
MSS = 1448
FIGURES = ("goodput-loss", "utilisation-queue", "fairness-rtt-ratio", "cubic-share")
ERROR_BARS = "mean over seeds, bars: 95 % confidence interval"

#: what tells lines apart, and how a legend names it
_LABELS = {
    "bandwidth_bps": lambda v: f"{v / 1e6:g} Mbit/s",
    "rtt_s": lambda v: f"RTT {v * 1e3:g} ms",
    "loss": lambda v: f"loss {v:g}",
    "queue": lambda v: f"queue {v[:-3]} BDP" if str(v).endswith("bdp") else f"queue {v} packets",
    "flows": lambda v: f"{v} flow{'s' if v != 1 else ''}",
    "cc": lambda v: f"{v}",
    "rtt_ratio": lambda v: f"RTT ratio {v:g}",
    "duration_s": lambda v: f"{v:g} s",
}
_DIMS = tuple(_LABELS)


def _ok(rows: Iterable[dict]) -> list[dict]:
    return [r for r in latest(rows) if r.get("status") == "ok"]


class _Curve:
    """Points of one line: x -> values over seeds."""

    def __init__(self) -> None:
        self.values: dict[float, list[float]] = {}
        self.sample: dict = {}

    def add(self, x: float, y: float, row: dict) -> None:
        self.values.setdefault(x, []).append(y)
        self.sample = row

    def points(self) -> tuple[list[float], list[float], list[float]]:
        xs = sorted(self.values)
        stats = [mean_ci(self.values[x]) for x in xs]
        return xs, [m for m, _ in stats], [0.0 if math.isnan(c) else c for _, c in stats]


def curves(rows: list[dict], x_of: Callable[[dict], float | None], y_of: Callable[[dict], float | None],
           x_dims: tuple[str, ...]) -> tuple[dict[str, _Curve], str]:
    """Lines of two points or more, keyed by a label naming the parameters that tell them
    apart (every parameter but those in ``x_dims``, which the x-axis stands for), and a
    note of the parameters common to every line. Rows that make no line of their own (a
    point of another grid of the study) are left out."""
    groups: dict[tuple, _Curve] = {}
    for row in rows:
        x, y = x_of(row), y_of(row)
        if x is None or y is None or (isinstance(y, float) and math.isnan(y)):
            continue
        key = tuple((name, row.get(name)) for name in _DIMS if name not in x_dims)
        groups.setdefault(key, _Curve()).add(x, y, row)
    groups = {k: c for k, c in groups.items() if len(c.values) >= 2}
    keys = [dict(k) for k in groups]
    names = [name for name in _DIMS if name not in x_dims]
    varying = [n for n in names if len({str(k[n]) for k in keys}) > 1]
    labelled: dict[str, _Curve] = {}
    for key, c in sorted(groups.items(), key=lambda kv: [_sortable(v) for _, v in kv[0]]):
        k = dict(key)
        label = ", ".join(_LABELS[n](k[n]) for n in varying) or _LABELS["cc"](k["cc"])
        labelled[label] = c
    if not keys:
        return labelled, ""
    common = [n for n in names if n not in varying and not (n == "rtt_ratio" and keys[0][n] == 1.0)]
    return labelled, ", ".join(_LABELS[n](keys[0][n]) for n in common)


def _figure(title: str, note: str) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    fig.suptitle(title)
    ax.set_title(f"{note}; {ERROR_BARS}" if note else ERROR_BARS, fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def _plain_ticks(axis: Any) -> None:
    """Tick labels of a log axis as plain numbers (0.001, 20), not powers (10⁻³, 2×10¹)."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(fmt)
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v > 0 and f"{v:.0e}"[0] in "25" else ""))


def _finish(fig: Any, ax: Any) -> Any:
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log":
            _plain_ticks(axis)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", frameon=False)
    return fig


def _errorbar(ax: Any, c: _Curve, label: str, colour: str) -> None:
    xs, ms, cis = c.points()
    ax.errorbar(xs, ms, yerr=cis, marker="o", markersize=4, capsize=3, linewidth=1.2, color=colour, label=label)


# ------------------------------------------------------------------------------ the four figures
def goodput_loss(rows: list[dict]) -> Any:
    """Goodput against loss, Mathis bound beside Reno: a matplotlib Figure, or None if the
    rows cannot show it (so for the others)."""
    use = [r for r in rows if r.get("flows") == 1 and (r.get("loss") or 0) > 0]
    if len({r["loss"] for r in use}) < 2:
        return None
    lines, note = curves(use, lambda r: r["loss"], lambda r: r["goodput_bps"] / 1e6, ("loss",))
    if not lines:
        return None
    fig, ax = _figure("Goodput against random loss, one flow", note)
    rates: set[float] = set()
    for i, (label, c) in enumerate(lines.items()):
        colour = f"C{i % 10}"
        _errorbar(ax, c, label, colour)
        s = c.sample
        rates.add(s["bandwidth_bps"])
        if s.get("cc") in ("reno", "newreno"):
            xs = _logspace(min(c.values), max(c.values), 40)
            rtt = round(s["rtt_s"] * 1e9)
            ax.plot(xs, [mathis_bps(MSS, rtt, x) / 1e6 for x in xs], linestyle="--", linewidth=1, color=colour,
                    label=f"Mathis et al. bound ({label})")
    for bw in sorted(rates):
        ax.axhline(bw / 1e6, color="0.5", linestyle=":", linewidth=1, label=f"link rate {bw / 1e6:g} Mbit/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("random loss probability per packet (log scale)")
    ax.set_ylabel("goodput (Mbit/s = 10⁶ bit/s, log scale)")
    return _finish(fig, ax)


def utilisation_queue(rows: list[dict]) -> Any:
    """Utilisation against the queue in bandwidth-delay products."""
    use = [r for r in rows if r.get("queue_bdp") is not None and math.isfinite(r["queue_bdp"])]
    if len({round(r["queue_bdp"], 6) for r in use}) < 2:
        return None
    lines, note = curves(use, lambda r: round(r["queue_bdp"], 6), lambda r: r["utilisation"] * 100, ("queue",))
    if not lines:
        return None
    fig, ax = _figure("Bottleneck utilisation against queue size", note)
    for i, (label, c) in enumerate(lines.items()):
        _errorbar(ax, c, label, f"C{i % 10}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("bottleneck queue (bandwidth-delay products, log scale)")
    ax.set_ylabel("utilisation (% of the link rate)")
    ax.set_ylim(top=105)
    return _finish(fig, ax)


def fairness_rtt_ratio(rows: list[dict]) -> Any:
    """Jain's fairness of two flows against their RTT ratio."""
    use = [r for r in rows if r.get("flows") == 2]
    if len({r["rtt_ratio"] for r in use}) < 2:
        return None
    lines, note = curves(use, lambda r: r["rtt_ratio"], lambda r: r["fairness"], ("rtt_ratio",))
    if not lines:
        return None
    fig, ax = _figure("Fairness of two flows with different round trips", note)
    for i, (label, c) in enumerate(lines.items()):
        _errorbar(ax, c, label, f"C{i % 10}")
    ax.axhline(1.0, color="0.5", linestyle=":", linewidth=1, label="equal shares")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("RTT of the second flow / RTT of the first (log scale)")
    ax.set_ylabel("Jain's fairness index (1 = equal, 0.5 = one flow has it all)")
    ax.set_ylim(0.45, 1.03)
    return _finish(fig, ax)


def cubic_share(rows: list[dict]) -> tuple[list[dict], Callable[[dict], float | None]]:
    """The rows where CUBIC and Reno flows competed, and CUBIC's share of a row's goodput."""
    use = [r for r in rows if "cubic" in r.get("flow_cc", []) and "reno" in r.get("flow_cc", [])]

    def share(r: dict) -> float | None:
        total = sum(r["goodput_bps_flows"])
        if total <= 0:
            return None
        flows = zip(r["goodput_bps_flows"], r["flow_cc"], strict=True)
        return 100 * sum(g for g, cc in flows if cc == "cubic") / total
    return use, share


def cubic_reno(rows: list[dict]) -> Any:
    """CUBIC's share against Reno's, over whatever the sweep varied (the path's BDP first)."""
    use, share = cubic_share(rows)
    if not use:
        return None

    def bdp(r: dict) -> float:
        return r["bandwidth_bps"] * r["rtt_s"] / 8 / PACKET

    bdp_label = f"path bandwidth-delay product (packets of {PACKET} octets, log scale)"
    # the x-axis: the first of these along which the rows make lines
    axes: list[tuple[Callable[[dict], float], tuple[str, ...], str, bool]] = [
        (bdp, ("rtt_s",), bdp_label, True),              # a line per bandwidth
        (bdp, ("bandwidth_bps",), bdp_label, True),      # a line per RTT
        (lambda r: r["queue_bdp"], ("queue",), "bottleneck queue (bandwidth-delay products, log scale)", True),
        (lambda r: r["loss"], ("loss",), "random loss probability per packet", False),
        (lambda r: r["rtt_ratio"], ("rtt_ratio",), "RTT ratio of the flows", True),
    ]
    for x_of, x_dims, xlabel, log in axes:
        lines, note = curves(use, lambda r, f=x_of: round(f(r), 9), share, x_dims)  # type: ignore[misc]
        if lines:
            return _cubic_figure(use, lines, note, xlabel, log)
    return None


def _cubic_figure(use: list[dict], lines: dict[str, _Curve], note: str, xlabel: str, log: bool) -> Any:
    fig, ax = _figure("CUBIC's share of the bottleneck against Reno", note)
    for i, (label, c) in enumerate(lines.items()):
        _errorbar(ax, c, label, f"C{i % 10}")
    counts = {(r["flow_cc"].count("cubic"), len(r["flow_cc"])) for r in use}
    for cubic, n in sorted(counts):
        ax.axhline(100 * cubic / n, color="0.5", linestyle=":", linewidth=1,
                   label=f"fair share ({cubic} of {n} flows CUBIC)")
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("CUBIC's share of the goodput (%); Reno has the rest")
    ax.set_ylim(0, 100)
    return _finish(fig, ax)


def _logspace(lo: float, hi: float, n: int) -> list[float]:
    if lo == hi:
        return [lo]
    return [lo * (hi / lo) ** (k / (n - 1)) for k in range(n)]


_DRAW = {
    "goodput-loss": (goodput_loss, "goodput against loss needs one-flow runs at two loss rates above 0 or more"),
    "utilisation-queue": (utilisation_queue, "utilisation against queue size needs two queue sizes or more"),
    "fairness-rtt-ratio": (fairness_rtt_ratio, "fairness against RTT ratio needs two-flow runs at two ratios or more"),
    "cubic-share": (cubic_reno, "CUBIC against Reno needs runs where both share the bottleneck (--cc cubic+reno)"),
}


def draw_all(rows: list[dict], results: str, out_dir: str | None = None,
             fmt: str = "png") -> tuple[list[str], list[str]]:
    """Draw every figure the rows can show, named ``<results stem>-<figure>.<fmt>`` in
    ``out_dir`` (default: beside the results file). Returns (files written, why each
    other figure was left out)."""
    ok = _ok(rows)
    base = Path(results)
    folder = Path(out_dir) if out_dir else base.parent
    folder.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    for name in FIGURES:
        draw, why = _DRAW[name]
        fig = draw(ok) if ok else None
        if fig is None:
            skipped.append(f"{name}: {why}")
            continue
        path = str(folder / f"{base.stem}-{name}.{fmt}")
        fig.savefig(path)
        written.append(path)
    return written, skipped


__all__ = ["FIGURES", "MSS", "cubic_reno", "cubic_share", "curves", "draw_all", "fairness_rtt_ratio", "goodput_loss",
           "utilisation_queue"]
