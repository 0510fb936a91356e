"""``synack experiment``: bulk flows through a simulated bottleneck, and what they achieved.

One run::

    synack experiment --bandwidth 10mbit --rtt 50ms --loss 0.01 --queue 100 \\
                      --flows 2 --cc cubic,reno --duration 30s --seed 1

prints goodput and retransmissions per flow, the bottleneck's utilisation and Jain's
fairness index; ``--format json`` prints the same figures as JSON; ``--plot FILE.png``
(or ``.svg``) draws goodput, cwnd, ssthresh, the receive window, bytes in flight, RTT and
the bottleneck queue over time; ``--html FILE`` saves the whole trace as a report. The
path model is :mod:`synack.scenarios.experiment`.

A sweep (:mod:`synack.scenarios.sweep`) takes lists and ranges in the same options::

    synack experiment --sweep --bandwidth 10Mbit,100Mbit --rtt 10ms..200ms:5 \\
        --loss 0,0.001,0.01 --cc cubic,reno --flows 1,2 --seeds 1..10 --out runs.parquet

or ``--sweep study.toml``; ``--dry-run`` lists the points and estimates the work;
``--workers N`` and ``--dask ADDRESS|local`` choose where the runs go; ``--resume`` skips
the runs ``--out`` already holds. ``--plot-sweep FILE`` draws a sweep's figures
(:mod:`synack.scenarios.sweepplot`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

from . import CliError, subcommand

#: the options a sweep can vary, in the order the help lists them
SWEEPABLE = ("bandwidth", "rtt", "loss", "queue", "flows", "cc", "rtt_ratio", "duration")
#: a run shows a progress bar once it has taken this long (wall time, s)
PROGRESS_AFTER = 2.0


# ------------------------------------------------------------------------------ argument types
def _single(parse: Any) -> Any:
    def parse_one(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse_one.__doc__ = parse.__doc__
    return parse_one


def _sweep() -> Any:
    from ..scenarios import sweep

    return sweep


def parse_bandwidth(text: str) -> float:
    """``--bandwidth``: 10mbit, 500kbit, 1gbit, 2.5mbps, 64000bps (bit/s)."""
    return _single(_sweep().parse_bandwidth)(text)


def parse_rtt(text: str) -> int:
    """``--rtt``: the round-trip propagation delay (50ms, 0.2s), as ns."""
    return _single(_sweep().parse_rtt)(text)


def parse_duration(text: str) -> int:
    """``--duration``: how long the flows run (30s, 500ms, 2min), as ns."""
    return _single(_sweep().parse_duration)(text)


def parse_loss(text: str) -> float:
    """``--loss``: a probability in [0, 1), or a percentage such as ``1%``."""
    return _single(_sweep().parse_loss)(text)


def parse_seed(text: str) -> int:
    """``--seed``: an integer."""
    return _single(_sweep().parse_seed)(text)


def parse_size(text: str) -> int:
    """``--rcv-buf``: octets, with an optional k/M (binary) suffix: 65535, 64k, 4M."""
    return _single(_sweep().parse_size)(text)


def parse_workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 4096:
        raise argparse.ArgumentTypeError(f"must be a number of processes from 1 to 4096, not {text!r}")
    return n


# ------------------------------------------------------------------------------ the command
@subcommand("experiment", "bulk flows through a simulated bottleneck: goodput, utilisation, fairness; sweeps")
def configure(p: argparse.ArgumentParser):
    one = p.add_argument_group("the path and the flows (with --sweep, lists and ranges: 10mbit,100mbit "
                               "10ms..200ms:5 1..10)")
    one.add_argument("--bandwidth", metavar="RATE", help="bottleneck rate: 10mbit (default), 500kbit, 1gbit, 64000bps")
    one.add_argument("--rtt", metavar="TIME", help="round-trip propagation delay (default 50ms)")
    one.add_argument("--loss", metavar="P", help="random loss on the bottleneck: 0.01 or 1%% (default 0)")
    one.add_argument("--queue", metavar="SIZE",
                     help="bottleneck queue: packets (default 100) or bandwidth-delay products (0.5bdp)")
    one.add_argument("--flows", metavar="N", help="bulk flows (default 1)")
    one.add_argument("--cc", metavar="NAME[,NAME...]",
                     help="congestion control (default cubic): one for all flows, or one per flow; with --sweep, "
                          "alternatives, and cubic+reno gives the flows of one point one each")
    one.add_argument("--rtt-ratio", metavar="R",
                     help="the last flow's round trip over the first's, 1 to 100 (default 1); all share the queue")
    one.add_argument("--duration", metavar="TIME", help="how long the flows run, simulated (default 30s)")
    one.add_argument("--seed", type=parse_seed, default=1, help="random seed (default 1)")
    one.add_argument("--profile", choices=("linux", "rfc"), default="linux",
                     help="TCP personality: linux (Linux 6.x on the wire, default) or rfc (RFC 9293 strictly)")
    one.add_argument("--rcv-buf", type=parse_size, default=None, metavar="SIZE",
                     help="receive buffer per connection (default: enough for the path, if the stack scales windows)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
    p.add_argument("--plot", metavar="FILE",
                   help="draw goodput, cwnd, ssthresh, receive window, in flight, RTT and queue (.png, .svg, .pdf)")
    p.add_argument("--html", metavar="FILE", help="save the whole trace as an HTML report (keeps every event)")
    many = p.add_argument_group("sweeps")
    many.add_argument("--sweep", nargs="?", const="", metavar="FILE.toml",
                      help="run every combination of the values given (or of a TOML study file's grids)")
    many.add_argument("--seeds", metavar="LIST", help="seeds of every point: 1..10 or 1,2,3 (default: --seed)")
    many.add_argument("--dry-run", action="store_true", help="list the points and estimate the work; run nothing")
    many.add_argument("--workers", type=parse_workers, metavar="N",
                      help="local processes (default: one per core), or the size of --dask local")
    many.add_argument("--dask", metavar="ADDRESS",
                      help="run on a Dask cluster: a scheduler address (tcp://host:8786) or 'local'")
    many.add_argument("--out", metavar="FILE", help="append one row per run to FILE (.parquet, .csv or .jsonl)")
    many.add_argument("--resume", action="store_true", help="skip the runs FILE already holds")
    many.add_argument("--plot-sweep", metavar="FILE", help="draw the figures of a sweep's results FILE")
    many.add_argument("--plot-dir", metavar="DIR", help="where --plot-sweep writes (default: beside FILE)")
    many.add_argument("--plot-format", choices=("png", "svg", "pdf"), default="png",
                      help="--plot-sweep's image format (default png)")
    return run


def run(args: argparse.Namespace) -> int:
    if args.plot_sweep:
        return _plot_sweep(args)
    if args.sweep is not None:
        return _run_sweep(args)
    for name in ("seeds", "out", "workers", "dask", "plot_dir"):
        if getattr(args, name) is not None:
            raise CliError(f"--{name.replace('_', '-')}: only with --sweep")
    for name in ("dry_run", "resume"):
        if getattr(args, name):
            raise CliError(f"--{name.replace('_', '-')}: only with --sweep")
    return _run_one(args)


# ------------------------------------------------------------------------------ one run
def _one_value(args: argparse.Namespace, name: str) -> Any:
    sw = _sweep()
    text = getattr(args, name)
    if text is None:
        return sw.DIMENSIONS[name].default
    try:
        values = sw.parse_list(name, text)
    except sw.SpecError as e:
        raise CliError(str(e)) from None
    if len(values) != 1:
        raise CliError(f"{sw.option(name)}: {text!r} gives {len(values)} values; lists and ranges need --sweep")
    return values[0]


def _run_one(args: argparse.Namespace) -> int:
    from ..scenarios.experiment import ExperimentConfig
    from ..scenarios.experiment import run as run_experiment
    from ..tcp import cc as registry

    if args.plot:
        from ..trace.plot import check_path

        try:
            check_path(args.plot)
        except ValueError as e:
            raise CliError(f"--plot: {e}") from None
    for name in ("plot", "html"):
        path = getattr(args, name)
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            # before the run, not after it: a long run should not end in this error
            raise CliError(f"--{name}: cannot write {path}: No such file or directory", 1)
    values = {name: _one_value(args, name) for name in SWEEPABLE if name != "cc"}
    flows = values["flows"]
    if args.cc is None:
        ccs: tuple[str, ...] = (registry.DEFAULT,)
    else:
        ccs = tuple(n.strip() for part in args.cc.split(",") for n in part.split("+"))
        for n in ccs:
            if n not in registry.ALGORITHMS:
                raise CliError(f"--cc: unknown congestion control {n!r} (known: {', '.join(registry.available())})")
    if len(ccs) not in (1, flows):
        raise CliError(f"--cc: give one algorithm for all flows or one per flow ({flows}), not {len(ccs)}")
    if args.rcv_buf is not None:
        from ..tcp.config import TcpConfig

        try:
            TcpConfig(rcv_buf=args.rcv_buf).validate()
        except ValueError as e:
            raise CliError(f"--rcv-buf: {e}") from None
    cfg = ExperimentConfig(bandwidth_bps=values["bandwidth"], rtt=values["rtt"], loss=values["loss"],
                           queue_packets=values["queue"].packets(values["bandwidth"], values["rtt"]), flows=flows,
                           cc=ccs, duration=values["duration"], seed=args.seed, rcv_buf=args.rcv_buf,
                           profile=args.profile,
                           rtt_ratio=values["rtt_ratio"],
                           trace="full" if args.html else "plot" if args.plot else "none")
    bar = _RunProgress(enabled=not args.quiet and sys.stderr.isatty())
    try:
        result = run_experiment(cfg, progress=bar.update)
    finally:
        bar.close()
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


class _RunProgress:
    """A progress bar on stderr for a run that has taken longer than :data:`PROGRESS_AFTER`
    seconds (it would only flicker on a short one); nothing when not enabled."""

    def __init__(self, enabled: bool, after: float = PROGRESS_AFTER, console: Any = None) -> None:
        self.enabled = enabled
        self.after = after
        self.console = console
        self.t0 = time.monotonic()
        self.bar: Any = None
        self.task: Any = None

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.t0 < self.after or done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("simulated {task.fields[sim]}"), BarColumn(),
                                TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), TextColumn("left"),
                                TimeRemainingColumn(), console=self.console or Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("run", total=total, sim=f"{done / 1e9:.1f} of {total / 1e9:g} s")
        self.bar.update(self.task, completed=done, sim=f"{done / 1e9:.1f} of {total / 1e9:g} s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


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


# ------------------------------------------------------------------------------ sweeps
def build_sweep(args: argparse.Namespace) -> Any:
    """The sweep that the options (and the TOML file, if any) describe."""
    sw = _sweep()
    top: dict[str, str] = {}
    grids: list[dict[str, str]] = []
    if args.sweep:
        try:
            top, grids = sw.load_toml(args.sweep)
        except sw.SpecError as e:
            raise CliError(str(e)) from None
    given = {name: getattr(args, name) for name in (*SWEEPABLE, "seeds") if getattr(args, name) is not None}
    if "seeds" not in given and "seeds" not in top and not any("seeds" in g for g in grids):
        given["seeds"] = str(args.seed)
    rcv_text = top.pop("rcv_buf", None)
    rcv_buf = args.rcv_buf
    if rcv_buf is None and rcv_text is not None:
        try:
            rcv_buf = sw.parse_size(rcv_text)
        except ValueError as e:
            raise CliError(f"--rcv-buf: {e}") from None
    if rcv_buf is not None:
        from ..tcp.config import TcpConfig

        try:
            TcpConfig(rcv_buf=rcv_buf).validate()
        except ValueError as e:
            raise CliError(f"--rcv-buf: {e}") from None
    texts = [{**top, **g, **given} for g in (grids or [{}])]
    try:
        parsed = [{name: sw.parse_list(name, text) for name, text in t.items() if name != "rcv_buf"} for t in texts]
        return sw.expand(parsed, rcv_buf)
    except sw.SpecError as e:
        raise CliError(str(e)) from None


def _run_sweep(args: argparse.Namespace) -> int:
    sw = _sweep()
    for name in ("plot", "html"):
        if getattr(args, name):
            raise CliError(f"--{name}: draws one run; for a sweep, --out FILE then --plot-sweep FILE")
    if args.resume and not args.out:
        raise CliError("--resume: needs --out FILE, the results to continue")
    spec = build_sweep(args)
    if args.dry_run:
        sys.stdout.write(dry_run(spec, args.workers or sw.default_workers()))
        return 0
    from ..scenarios.sweepio import ResultFile, ResultsError

    sink = None
    if args.out:
        try:
            sink = ResultFile(args.out, resume=args.resume)
        except ResultsError as e:
            raise CliError(f"--out: {e}") from None
    todo = [r for r in spec.runs if sink is None or r.key not in sink.done]
    before = len(spec.runs) - len(todo)
    rows: list[dict] = []
    interrupted = False
    if not todo:
        assert sink is not None
        sink.close()
        if not args.quiet:
            print(f"all {len(spec.runs)} runs are already in {args.out}", file=sys.stderr)
        _print_summary(args, sink.rows)
        return 0
    try:
        executor = sw.DaskExecutor(args.dask, args.workers) if args.dask else sw.LocalExecutor(args.workers)
    except sw.SpecError as e:
        if sink is not None:
            sink.close()
        raise CliError(str(e)) from None
    progress = _SweepProgress(len(todo), executor.label, quiet=args.quiet)
    try:
        with executor, progress:
            if before and not args.quiet:
                progress.note(f"{before} of {len(spec.runs)} runs already in {args.out}: skipped")
            for row in executor.map_unordered(sw.run_point, todo):
                if sink is not None:
                    sink.append(row)
                rows.append(row)
                progress.row(row)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if sink is not None:
            sink.close()
    failed = [r for r in rows if r.get("status") != "ok"]
    _print_summary(args, sink.rows if sink is not None else rows)
    where = f" in {args.out}" if args.out else ""
    if interrupted:
        more = "; --resume continues" if args.out else ""
        print(f"synack: interrupted: {len(rows)} of {len(todo)} runs finished{where and ' and are kept' + where}{more}",
              file=sys.stderr)
        return 130
    if failed:
        first = failed[0]
        print(f"synack: {len(failed)} of {len(todo)} runs failed (errors{where or ' above'}); the first: "
              f"{first.get('error')}", file=sys.stderr)
        return 1
    return 0


def _print_summary(args: argparse.Namespace, rows: list[dict]) -> None:
    groups = _sweep().summarise(rows)
    if args.format == "json":
        json.dump(summary_json(groups), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_sweep().format_summary(groups))


def summary_json(groups: list) -> list[dict]:
    from ..scenarios.sweep import SUMMARY_METRICS

    out = []
    for g in groups:
        entry: dict[str, Any] = {**g.params, "seeds": g.seeds, "failed": g.failed}
        for column, *_ in SUMMARY_METRICS:
            m, ci = g.stat(column)
            entry[column] = {"mean": None if math.isnan(m) else m, "ci95": None if math.isnan(ci) else ci}
        out.append(entry)
    return out


def dry_run(spec: Any, workers: int) -> str:
    """The points, the seeds, what was left out, and an estimate of the work."""
    sw = _sweep()
    n = len(spec.points)
    if len(spec.runs) == n * len(spec.seeds):
        k = len(spec.seeds)
        head = f"{n} point{'s' * (n != 1)} × {k} seed{'s' * (k != 1)} = {len(spec.runs)} runs"
    else:  # grids with seeds of their own
        head = f"{n} points, {len(spec.runs)} runs"
    lines = [f"synack experiment --sweep: {head}", ""]
    width = len(str(n))
    for i, p in enumerate(spec.points, 1):
        lines.append(f"{i:>{width}}  {p.describe()}")
    lines += ["", f"seeds: {', '.join(map(str, spec.seeds))}"]
    for why, count in spec.skipped.items():
        lines.append(f"left out: {count} combination{'s' * (count != 1)} ({why})")
    per_run = [sw.packets_estimate(r.point) for r in spec.runs]
    simulated = sum(r.point.duration for r in spec.runs) / 1e9
    rate = sw.calibrate()
    wall = sum(per_run) / rate
    lines += ["", f"work: {simulated:,.0f} s of simulated time, at most {sum(per_run):,.0f} packets through the "
              f"bottleneck;",
              f"      about {_human(wall / max(1, min(workers, len(spec.runs))))} on {workers} worker"
              f"{'s' * (workers != 1)} (this machine simulates about {rate:,.0f} packets a second per core)"]
    return "\n".join(lines) + "\n"


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class _SweepProgress:
    """Runs done, failures and the time left: a rich progress bar on a terminal's stderr,
    one line per finished run when stderr is not a terminal (a batch job's log), nothing
    with ``quiet``."""

    def __init__(self, total: int, where: str, quiet: bool) -> None:
        self.total, self.where, self.quiet = total, where, quiet
        self.done = self.failed = 0
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _SweepProgress:
        if self.quiet:
            return self
        if self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.bar = Progress(TextColumn("runs"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("failed {task.fields[failed]}"), TimeElapsedColumn(),
                                TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True, highlight=False))
            self.bar.start()
            self.task = self.bar.add_task("runs", total=self.total, failed=0)
            self.bar.console.print(f"{self.total} runs on {self.where}")
        else:
            print(f"synack experiment --sweep: {self.total} runs on {self.where}", file=sys.stderr, flush=True)
        return self

    def __exit__(self, *_: Any) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def row(self, row: dict) -> None:
        self.done += 1
        ok = row.get("status") == "ok"
        self.failed += not ok
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done, failed=self.failed)
            if not ok:
                self.bar.console.print(f"failed: {_sweep().describe_row(row)}: {row.get('error')}")
            return
        what = f"ok in {row.get('wall_s') or 0:.1f} s" if ok else f"FAILED: {row.get('error')}"
        print(f"[{self.done}/{self.total}] {_sweep().describe_row(row)}: {what}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ figures
def _plot_sweep(args: argparse.Namespace) -> int:
    if args.sweep is not None or args.out or args.plot or args.html:
        raise CliError("--plot-sweep: draws a results file; give it alone (with --plot-dir, --plot-format)")
    from ..scenarios import sweepplot
    from ..scenarios.sweepio import ResultsError, read_rows

    try:
        rows = read_rows(args.plot_sweep)
    except ResultsError as e:
        raise CliError(f"--plot-sweep: {e}") from None
    try:
        written, skipped = sweepplot.draw_all(rows, args.plot_sweep, out_dir=args.plot_dir, fmt=args.plot_format)
    except OSError as e:
        raise CliError(f"--plot-sweep: cannot write the figures: {e.strerror or e}", 1) from None
    for path in written:
        print(path)
    if not args.quiet:
        for why in skipped:
            print(f"not drawn: {why}", file=sys.stderr)
    if not written:
        raise CliError(f"--plot-sweep: {args.plot_sweep} has no rows any figure can use", 1)
    return 0


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
    ratio = f", RTT ratio {c.rtt_ratio:g}" if c.flows > 1 and c.rtt_ratio != 1 else ""
    return (f"{c.flows} flow{'s' if c.flows > 1 else ''} over {rate(c.bandwidth_bps)}, RTT {duration(c.rtt)}{ratio}, "
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
