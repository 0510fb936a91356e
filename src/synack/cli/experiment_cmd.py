"""``synack experiment``: bulk flows through a simulated bottleneck, and what they achieved.

    synack experiment --bandwidth 10mbit --rtt 50ms --loss 0.01 --queue 100 \\
                      --flows 2 --cc cubic,reno --duration 30s --seed 1

prints goodput and retransmissions per flow, the bottleneck's utilisation and Jain's
fairness index; ``--format json`` prints the same figures as JSON; ``--plot FILE.png``
(or ``.svg``) draws cwnd, ssthresh, the receive window, bytes in flight and RTT over time;
``--html FILE`` saves the whole trace as a report. The path model is
:mod:`synack.scenarios.experiment`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from . import CliError, subcommand
from .values import probability

_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_RATE = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Z/]*)\s*$")
_TIME = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Zµ]*)\s*$")
_SIZE = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Z]*)\s*$")

#: bandwidth units, bit/s (SI prefixes, as tc's kbit/mbit/gbit; "bps" is bits per second)
RATE_UNITS = {"bit": 1, "bps": 1, "b/s": 1, "kbit": 1e3, "kbps": 1e3, "kb/s": 1e3,
              "mbit": 1e6, "mbps": 1e6, "mb/s": 1e6, "gbit": 1e9, "gbps": 1e9, "gb/s": 1e9}
TIME_UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9}
SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}

MAX_BANDWIDTH = 100e9
MAX_DURATION = 3600e9
MAX_RTT = 60e9
MAX_FLOWS = 100


# ------------------------------------------------------------------------------ argument types
def parse_bandwidth(text: str) -> float:
    """``--bandwidth``: 10mbit, 500kbit, 1gbit, 2.5mbps, 64000bps (bit/s)."""
    m = _RATE.match(text)
    unit = m[2].lower() if m else ""
    if not m or unit not in RATE_UNITS:
        raise argparse.ArgumentTypeError(
            f"must be a rate such as 10mbit, 500kbit, 1gbit or 64000bps, not {text!r}")
    bps = float(m[1]) * RATE_UNITS[unit]
    if not 0 < bps <= MAX_BANDWIDTH:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most 100gbit, not {text!r}")
    return bps


def _time(text: str, what: str, allow_zero: bool, limit: float) -> int:
    m = _TIME.match(text)
    unit = m[2].lower() if m else ""
    if not m or unit not in TIME_UNITS:
        raise argparse.ArgumentTypeError(f"must be a time with its unit, such as {what}, not {text!r}")
    ns = float(m[1]) * TIME_UNITS[unit]
    if not (0 <= ns if allow_zero else 0 < ns) or ns > limit:
        raise argparse.ArgumentTypeError(
            f"must be {'at least 0' if allow_zero else 'more than 0'} and at most {limit / 1e9:g} s, not {text!r}")
    return int(round(ns))


def parse_rtt(text: str) -> int:
    """``--rtt``: the round-trip propagation delay (50ms, 0.2s), as ns."""
    return _time(text, "50ms or 0.2s", True, MAX_RTT)


def parse_duration(text: str) -> int:
    """``--duration``: how long the flows run (30s, 500ms, 2min), as ns."""
    return _time(text, "30s or 500ms", False, MAX_DURATION)


def parse_loss(text: str) -> float:
    """``--loss``: a probability in [0, 1), or a percentage such as ``1%``."""
    return probability(text, allow_one=False)


def _count(text: str, what: str, lo: int, hi: int) -> int:
    try:
        n = int(text)
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        raise argparse.ArgumentTypeError(f"must be a number of {what} from {lo} to {hi}, not {text!r}")
    return n


def parse_queue(text: str) -> int:
    """``--queue``: the bottleneck's queue in packets."""
    return _count(text, "packets", 1, 1_000_000)


def parse_flows(text: str) -> int:
    """``--flows``: how many bulk flows share the bottleneck."""
    return _count(text, "flows", 1, MAX_FLOWS)


def parse_seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None


def parse_size(text: str) -> int:
    """``--rcv-buf``: octets, with an optional k/M (binary) suffix: 65535, 64k, 4M."""
    m = _SIZE.match(text)
    unit = m[2].lower() if m else ""
    if not m or unit not in SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"must be a size such as 65535, 64k or 4M, not {text!r}")
    n = int(float(m[1]) * SIZE_UNITS[unit])
    if not 1 <= n <= 1 << 30:
        raise argparse.ArgumentTypeError(f"must be from 1 octet to 1G, not {text!r}")
    return n


def parse_cc(text: str) -> tuple[str, ...]:
    """``--cc``: one algorithm name, or a comma-separated list with one per flow."""
    from ..tcp import cc as registry

    names = tuple(n.strip() for n in text.split(","))
    for n in names:
        if n not in registry.ALGORITHMS:
            raise argparse.ArgumentTypeError(
                f"unknown congestion control {n!r} (known: {', '.join(registry.available())})")
    return names


# ------------------------------------------------------------------------------ the command
@subcommand("experiment", "bulk flows through a simulated bottleneck: goodput, utilisation, fairness")
def configure(p: argparse.ArgumentParser):
    p.add_argument("--bandwidth", type=parse_bandwidth, default=10e6, metavar="RATE",
                   help="bottleneck rate: 10mbit (default), 500kbit, 1gbit, 64000bps")
    p.add_argument("--rtt", type=parse_rtt, default=50_000_000, metavar="TIME",
                   help="round-trip propagation delay (default 50ms)")
    p.add_argument("--loss", type=parse_loss, default=0.0, metavar="P",
                   help="random loss on the bottleneck: 0.01 or 1%% (default 0)")
    p.add_argument("--queue", type=parse_queue, default=100, metavar="PACKETS",
                   help="bottleneck queue, packets (default 100)")
    p.add_argument("--flows", type=parse_flows, default=1, metavar="N", help="bulk flows (default 1)")
    p.add_argument("--cc", type=parse_cc, default=None, metavar="NAME[,NAME...]",
                   help="congestion control: one for all flows or one per flow (default: the stack's, cubic)")
    p.add_argument("--duration", type=parse_duration, default=30_000_000_000, metavar="TIME",
                   help="how long the flows run, simulated (default 30s)")
    p.add_argument("--seed", type=parse_seed, default=1, help="random seed (default 1)")
    p.add_argument("--rcv-buf", type=parse_size, default=None, metavar="SIZE",
                   help="receive buffer per connection (default: enough for the path, if the stack scales windows)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--plot", metavar="FILE", help="draw cwnd, ssthresh, receive window, in flight and RTT (.png or .svg)")
    p.add_argument("--html", metavar="FILE", help="save the whole trace as an HTML report (keeps every event)")
    return run


def run(args: argparse.Namespace) -> int:
    from ..scenarios.experiment import ExperimentConfig
    from ..scenarios.experiment import run as run_experiment
    from ..tcp import cc as registry

    if args.plot:
        from ..trace.plot import check_path

        try:
            check_path(args.plot)
        except ValueError as e:
            raise CliError(f"--plot: {e}") from None
    ccs = args.cc or (registry.DEFAULT,)
    if len(ccs) not in (1, args.flows):
        raise CliError(f"--cc: give one algorithm for all flows or one per flow "
                       f"({args.flows}), not {len(ccs)}")
    cfg = ExperimentConfig(bandwidth_bps=args.bandwidth, rtt=args.rtt, loss=args.loss,
                           queue_packets=args.queue, flows=args.flows, cc=ccs, duration=args.duration,
                           seed=args.seed, rcv_buf=args.rcv_buf,
                           trace="full" if args.html else "plot" if args.plot else "none")
    if args.rcv_buf is not None:
        from ..tcp.config import TcpConfig

        try:
            TcpConfig(rcv_buf=args.rcv_buf).validate()
        except ValueError as e:
            raise CliError(f"--rcv-buf: {e}") from None
    result = run_experiment(cfg)
    labels = {f.conn: f"flow {f.flow} ({f.cc})" for f in result.flows}
    if args.plot:
        from ..trace.plot import plot

        try:
            plot(result.events, args.plot, labels=labels, title=_title(result), goodput=result.goodput_series,
                 queue=result.queue_series)
        except OSError as e:
            raise CliError(f"--plot: cannot write {args.plot}: {e.strerror or e}", 1) from None
    if args.html:
        _write_html(args.html, result)
    if args.format == "json":
        json.dump(result.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(report(result))
    return 0


def _write_html(path: str, result: Any) -> None:
    try:
        from ..trace.html import write_html
    except ImportError:
        raise CliError("--html: the HTML report (synack.trace.html) is not available in this synack yet", 1) from None
    try:
        write_html(result.events, path, title=_title(result), hosts=["sender", "receiver"],
                   names=result.net.recorder.names)
    except OSError as e:
        raise CliError(f"--html: cannot write {path}: {e.strerror or e}", 1) from None


# ------------------------------------------------------------------------------ output
def rate(bps: float) -> str:
    """A rate for people: 9.41 Mbit/s."""
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.2f} {unit}"
    return f"{bps:.0f} bit/s"


def duration(ns: int) -> str:
    if ns >= 1_000_000_000 or ns == 0:
        return f"{ns / 1e9:g} s"
    return f"{ns / 1e6:g} ms"


def _title(result: Any) -> str:
    c = result.config
    return (f"{c.flows} flow{'s' if c.flows > 1 else ''} over {rate(c.bandwidth_bps)}, RTT {duration(c.rtt)}, "
            f"loss {c.loss * 100:g}%, queue {c.queue_packets} packets, {duration(c.duration)} (seed {c.seed})")


def report(result: Any) -> str:
    """The text output: the path, a table of flows, then the totals."""
    lines = [f"synack experiment: {_title(result)}", ""]
    w = max(len("cc"), *(len(f.cc) for f in result.flows))
    lines.append(f"{'flow':>4}  {'cc':<{w}}  {'goodput':>13}  {'retransmits':>11}")
    for f in result.flows:
        lines.append(f"{f.flow:>4}  {f.cc:<{w}}  {rate(f.goodput_bps):>13}  {f.retransmits:>11}")
    total = sum(result.goodput_bps)
    drops = ", ".join(f"{k} {v}" for k, v in sorted(result.drops.items())) or "none"
    lines += [
        "",
        f"total goodput      {rate(total)}",
        f"link utilisation   {result.utilisation * 100:.1f} %",
        f"retransmissions    {result.retransmits}",
        f"Jain's fairness    {result.fairness:.3f}",
        f"bottleneck drops   {drops}",
        f"receive buffer     {result.rcv_buf} octets",
    ]
    return "\n".join(lines) + "\n"
