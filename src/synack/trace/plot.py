"""Time plots of congestion and flow control, drawn from the trace (matplotlib).

A pure function of the event stream (STYLE rule 5): :func:`series` collects, per
connection, what ``CongestionChanged`` events say (cwnd, ssthresh, bytes in flight, the
window the peer offers) and what ``RttSample`` events say (each RTT measurement and SRTT);
:func:`plot` draws one panel per quantity, with one line per connection, and writes a PNG
or SVG (or PDF) chosen by the file name's extension. Measurements that are not events (an
experiment's goodput over time and its bottleneck queue) can be passed in and get panels
of their own.

Units are SI with the base named on the axis: octets in kB (10³ octets, never 1024),
rates in Mbit/s (10⁶ bit/s), times in s and ms. Legends sit outside the data, to the
right of their panel, so no line is hidden however many flows there are.

matplotlib is imported only when a plot is drawn, through its object-oriented API (no
pyplot, no display needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable
from typing import Any

from .events import CongestionChanged, RttSample

#: ssthresh before the first loss: "arbitrarily high" (RFC 5681 §3.1), 2**30 octets as the
#: congestion control algorithms start it (trace imports nothing from tcp); not plotted
INITIAL_SSTHRESH = 1 << 30

#: file name extensions :func:`plot` can write
FORMATS = (".png", ".svg", ".pdf")


@dataclass
class Series:
    """What one connection's sender recorded over time (times in s, sizes in bytes, RTTs in ms)."""

    t: list = field(default_factory=list)
    cwnd: list = field(default_factory=list)
    #: None while ssthresh still has its "arbitrarily high" initial value
    ssthresh: list = field(default_factory=list)
    flight: list = field(default_factory=list)
    rwnd: list = field(default_factory=list)
    rtt_t: list = field(default_factory=list)
    rtt: list = field(default_factory=list)
    srtt: list = field(default_factory=list)


def series(events: Iterable, conns: Iterable[tuple] | None = None) -> dict[tuple, Series]:
    """Per connection (``conn`` of the events), its :class:`Series`, in order of first
    appearance. ``conns`` limits the result to those connections."""
    want = set(conns) if conns is not None else None
    out: dict[tuple, Series] = {}
    for ev in events:
        kind = type(ev)
        if kind is not CongestionChanged and kind is not RttSample:
            continue
        if ev.conn is None or (want is not None and ev.conn not in want):
            continue
        s = out.get(ev.conn)
        if s is None:
            s = out[ev.conn] = Series()
        t = ev.t / 1e9
        if kind is CongestionChanged:
            s.t.append(t)
            s.cwnd.append(ev.cwnd)
            s.ssthresh.append(ev.ssthresh if ev.ssthresh < INITIAL_SSTHRESH else None)
            s.flight.append(ev.flight_size)
            s.rwnd.append(ev.snd_wnd)
        else:
            s.rtt_t.append(t)
            s.rtt.append(ev.rtt / 1e6)
            s.srtt.append(ev.srtt / 1e6)
    return out


def check_path(path: str) -> str:
    """ValueError unless ``path`` ends in an extension :func:`plot` writes."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot tell the image format of {path!r}: use a name ending in "
                         f"{', '.join(FORMATS)}")
    return suffix


#: axis labels: the quantity, its unit, and the unit's base
KB = "kB = 10³ octets"
PANELS = (
    ("goodput", "goodput\n(Mbit/s = 10⁶ bit/s)"),
    ("cwnd", f"cwnd\n({KB})"),
    ("ssthresh", f"ssthresh\n({KB})"),
    ("rwnd", f"receive window\n({KB})"),
    ("flight", f"bytes in flight\n({KB})"),
    ("rtt", "RTT\n(ms = 10⁻³ s)"),
    ("queue", "bottleneck queue\n(packets)"),
)


def _outside_legend(ax: Any) -> None:
    """The panel's legend to the right of its axes, clear of the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize="small",
                  frameon=False)


def plot(events: Iterable, path: str, *, labels: dict | None = None, title: str = "",
         goodput: Any = None, queue: Any = None) -> None:
    """Draw :func:`figure` into ``path`` (.png, .svg or .pdf)."""
    check_path(path)
    figure(events, labels=labels, title=title, goodput=goodput, queue=queue).savefig(path)


def figure(events: Iterable, *, labels: dict | None = None, title: str = "", goodput: Any = None,
           queue: Any = None) -> Any:
    """A matplotlib Figure of cwnd, ssthresh, the peer's receive window, bytes in flight and RTT over time,
    one panel each, one line per connection.

    ``labels`` maps connections to legend names and selects which connections appear
    (default: every connection with a congestion or RTT event, labelled by its ports).
    ``goodput`` (an object with ``rates() -> (times in s, per connection in labels' order
    a list of bit/s)``) adds a goodput panel on top; ``queue`` (with ``t`` in s, ``packets``
    and ``capacity``) a panel of the bottleneck queue's occupancy at the bottom.
    """
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError:  # pragma: no cover - matplotlib is a dependency
        raise ValueError("plotting needs matplotlib (pip install matplotlib)") from None
    data = series(events, labels.keys() if labels is not None else None)
    if labels is None:
        labels = {c: f"{c[1]} -> {c[3]}" for c in data}
    panels = [(key, ylabel) for key, ylabel in PANELS
              if (key != "goodput" or goodput is not None) and (key != "queue" or queue is not None)]
    fig = Figure(figsize=(11, 2.0 * len(panels) + 1), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True)
    if title:
        fig.suptitle(title)
    # one colour per connection in every panel
    colours = {conn: f"C{i % 10}" for i, conn in enumerate(labels)}
    for ax, (key, ylabel) in zip(axes, panels, strict=False):
        if key == "goodput":
            mids, rates = goodput.rates()
            for (conn, label), ys in zip(labels.items(), rates, strict=False):
                ax.plot(mids, [y / 1e6 for y in ys], linewidth=1, color=colours[conn], label=label)
            if len(rates) > 1:
                total = [sum(col) / 1e6 for col in zip(*rates, strict=False)]
                ax.plot(mids, total, linewidth=1, color="0.3", linestyle=":", label="all flows")
        elif key == "queue":
            ax.plot(queue.t, queue.packets, drawstyle="steps-post", linewidth=0.8, color="C7", label="occupancy")
            if queue.capacity:
                ax.axhline(queue.capacity, color="C3", linestyle="--", linewidth=1,
                           label=f"capacity ({queue.capacity})")
        for conn, label in labels.items():
            s = data.get(conn)
            if s is None or key in ("goodput", "queue"):
                continue
            if key == "rtt":
                if s.rtt_t:
                    ax.plot(s.rtt_t, s.rtt, ".", markersize=2, alpha=0.5, color=colours[conn],
                            label=f"{label} sample")
                    ax.plot(s.rtt_t, s.srtt, "-", linewidth=1, color=colours[conn], label=f"{label} SRTT")
                continue
            ys = [None if v is None else v / 1000 for v in getattr(s, key)]
            ax.plot(s.t, [float("nan") if v is None else v for v in ys], drawstyle="steps-post",
                    linewidth=1, color=colours[conn], label=label)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
        if key in ("goodput", "rtt", "queue") or (key == "cwnd" and goodput is None):
            _outside_legend(ax)
    axes[-1].set_xlabel("time (s)")
    return fig


__all__ = ["FORMATS", "PANELS", "Series", "check_path", "figure", "plot", "series"]
