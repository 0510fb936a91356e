"""Time plots of congestion and flow control, drawn from the trace (matplotlib).

A pure function of the event stream (STYLE rule 5): :func:`series` collects, per
connection, what ``CongestionChanged`` events say (cwnd, ssthresh, bytes in flight, the
window the peer offers) and what ``RttSample`` events say (each RTT measurement and SRTT);
:func:`plot` draws one panel per quantity, with one line per connection, and writes a PNG
or SVG (or PDF) chosen by the file name's extension.

matplotlib is imported only when a plot is drawn, through its object-oriented API (no
pyplot, no display needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

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


def series(events: Iterable, conns: Optional[Iterable[tuple]] = None) -> dict[tuple, Series]:
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


def plot(events: Iterable, path: str, *, labels: Optional[dict] = None, title: str = "") -> None:
    """Draw cwnd, ssthresh, the peer's receive window, bytes in flight and RTT over time,
    one panel each, one line per connection, into ``path`` (.png, .svg or .pdf).

    ``labels`` maps connections to legend names and selects which connections appear
    (default: every connection with a congestion or RTT event, labelled by its ports).
    """
    check_path(path)
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError:  # pragma: no cover - matplotlib is a dependency
        raise ValueError("plotting needs matplotlib (pip install matplotlib)") from None
    data = series(events, labels.keys() if labels is not None else None)
    if labels is None:
        labels = {c: f"{c[1]} -> {c[3]}" for c in data}
    panels = (
        ("cwnd (KB)", "cwnd"),
        ("ssthresh (KB)", "ssthresh"),
        ("receive window (KB)", "rwnd"),
        ("bytes in flight (KB)", "flight"),
        ("RTT (ms)", "rtt"),
    )
    fig = Figure(figsize=(10, 11), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True)
    if title:
        fig.suptitle(title)
    for ax, (ylabel, key) in zip(axes, panels):
        for conn, label in labels.items():
            s = data.get(conn)
            if s is None:
                continue
            if key == "rtt":
                if s.rtt_t:
                    line, = ax.plot(s.rtt_t, s.rtt, ".", markersize=2, alpha=0.5, label=f"{label} sample")
                    ax.plot(s.rtt_t, s.srtt, "-", linewidth=1, color=line.get_color(), label=f"{label} SRTT")
                continue
            ys = [None if v is None else v / 1000 for v in getattr(s, key)]
            ax.plot(s.t, [float("nan") if v is None else v for v in ys], drawstyle="steps-post",
                    linewidth=1, label=label)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[-1].set_xlabel("time (s)")
    for ax, ncol in ((axes[0], 1), (axes[-1], 2)):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize="small", ncol=ncol)
    fig.savefig(path)


__all__ = ["FORMATS", "Series", "check_path", "plot", "series"]
