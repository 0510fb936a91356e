"""Experiments at scale: a grid of paths, algorithms and seeds, every point an independent,
deterministic run of :func:`synack.scenarios.experiment.run`.

A sweep is written with the options of ``synack experiment``, each taking a list and ranges
instead of one value (or the same names in a TOML file)::

    bandwidth = 10Mbit,100Mbit      a list
    rtt       = 10ms..200ms:5       5 values from 10 ms to 200 ms, evenly spaced
    loss      = 0.0001..0.1:4:log   4 values spaced evenly on a log scale
    seeds     = 1..10               every integer from 1 to 10
    cc        = cubic,reno,cubic+reno   "+" gives each flow of one point its own algorithm
    queue     = 100,0.5bdp,2bdp     packets, or a multiple of the path's bandwidth-delay product

:func:`expand` turns the grids into :class:`Run` values (a :class:`Point` and a seed), in a
fixed order; :func:`run_point` runs one and returns its row (a dict of plain values, the
columns of :data:`synack.scenarios.sweepio.COLUMNS`), or a row that records its error.
:class:`LocalExecutor` runs points on local processes, :class:`DaskExecutor` on a Dask
cluster (``dask.distributed``, the ``cluster`` extra); both yield rows as they finish and
stop their workers when the loop around them is interrupted. :func:`summarise` gives the
mean and a 95 % confidence interval over seeds for every point.

A point depends on nothing but its parameters and its seed, so it gives the same numbers
on any executor and in any order; only ``wall_s`` differs.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from ..tcp import cc as cc_registry
from ..timeunits import NS_PER_S, ms, sec
from . import experiment
from .experiment import ExperimentConfig

#: octets of a full-sized packet on the bottleneck (1448 data + 52 TCP/IP with timestamps),
#: the unit of a queue given in bandwidth-delay products
PACKET = 1500
#: the most runs one sweep may hold
MAX_RUNS = 1_000_000


class SpecError(ValueError):
    """A sweep specification that cannot be run; ``str()`` names the option first."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{option(name)}: {message}")
        self.name = name


def option(name: str) -> str:
    """The command-line spelling of a dimension: ``rtt_ratio`` -> ``--rtt-ratio``."""
    return "--" + name.replace("_", "-")


# ------------------------------------------------------------------------------ single values
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
RATE_UNITS = {"bit": 1, "bps": 1, "b/s": 1, "kbit": 1e3, "kbps": 1e3, "kb/s": 1e3,
              "mbit": 1e6, "mbps": 1e6, "mb/s": 1e6, "gbit": 1e9, "gbps": 1e9, "gb/s": 1e9}
TIME_UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9}
MAX_BANDWIDTH = 100e9
MAX_DURATION = 3600e9
MAX_RTT = 60e9
MAX_FLOWS = 100


_WITH_UNIT = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Zµ/%]*)\s*$")


def _split_unit(text: str) -> tuple[float, str] | None:
    m = _WITH_UNIT.match(text)
    if not m:
        return None
    return float(m[1]), m[2].lower()


def parse_bandwidth(text: str) -> float:
    """A rate in bit/s: 10mbit, 500kbit, 1gbit, 2.5Mbps, 64000bps."""
    got = _split_unit(text)
    if got is None or got[1] not in RATE_UNITS:
        raise ValueError(f"must be a rate with its unit, such as 10mbit, 500kbit, 1gbit or 64000bps, not {text!r}")
    bps = got[0] * RATE_UNITS[got[1]]
    if not 0 < bps <= MAX_BANDWIDTH:
        raise ValueError(f"must be more than 0 and at most 100gbit, not {text!r}")
    return bps


def _time(text: str, example: str, allow_zero: bool, limit: float) -> int:
    got = _split_unit(text)
    if got is None or got[1] not in TIME_UNITS:
        raise ValueError(f"must be a time with its unit, such as {example}, not {text!r}")
    ns = got[0] * TIME_UNITS[got[1]]
    if not (ns >= 0 if allow_zero else ns > 0) or ns > limit:
        raise ValueError(
            f"must be {'at least 0' if allow_zero else 'more than 0'} and at most {limit / 1e9:g} s, not {text!r}")
    return int(round(ns))


def parse_rtt(text: str) -> int:
    """A round-trip propagation delay (50ms, 0.2s), ns."""
    return _time(text, "50ms or 0.2s", True, MAX_RTT)


def parse_duration(text: str) -> int:
    """How long the flows run (30s, 500ms, 2min), ns."""
    return _time(text, "30s or 500ms", False, MAX_DURATION)


def parse_loss(text: str) -> float:
    """A probability in [0, 1), or a percentage such as ``1%``."""
    s = text.strip()
    try:
        p = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        p = math.nan
    if not 0.0 <= p < 1.0:  # false for NaN too
        raise ValueError(f"must be a probability at least 0 and below 1 (or a percentage such as 5%), not {text!r}")
    return p


def _integer(text: str, what: str, lo: int, hi: int) -> int:
    try:
        n = int(text.strip())
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        raise ValueError(f"must be a number of {what} from {lo} to {hi}, not {text!r}")
    return n


def parse_flows(text: str) -> int:
    return _integer(text, "flows", 1, MAX_FLOWS)


def parse_seed(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"must be an integer, not {text!r}") from None


def parse_rtt_ratio(text: str) -> float:
    """The last flow's round trip over the first's: a number from 1 to 100."""
    try:
        r = float(text.strip())
    except ValueError:
        r = math.nan
    if not 1.0 <= r <= experiment.MAX_RTT_RATIO:
        raise ValueError(f"must be a number from 1 to {experiment.MAX_RTT_RATIO:g}, not {text!r}")
    return r


@dataclass(frozen=True, order=True)
class QueueSize:
    """The bottleneck's queue: ``value`` packets, or ``value`` bandwidth-delay products."""

    value: float
    bdp: bool = False

    def packets(self, bandwidth_bps: float, rtt: int) -> int:
        """The queue in packets on a path (at least 1)."""
        if not self.bdp:
            return int(self.value)
        return max(1, round(self.value * bdp_packets(bandwidth_bps, rtt)))

    def __str__(self) -> str:
        return f"{self.value:g}bdp" if self.bdp else f"{int(self.value)}"


def bdp_packets(bandwidth_bps: float, rtt: int) -> float:
    """A path's bandwidth-delay product in full-sized packets (:data:`PACKET` octets)."""
    return bandwidth_bps * rtt / NS_PER_S / 8 / PACKET


def parse_queue(text: str) -> QueueSize:
    """Packets (``100``) or bandwidth-delay products (``0.5bdp``, ``2bdp``)."""
    s = text.strip().lower()
    if s.endswith("bdp"):
        try:
            x = float(s[:-3])
        except ValueError:
            x = math.nan
        if not 0 < x <= 1000:
            raise ValueError(f"must be a multiple of the bandwidth-delay product above 0 and at most 1000, "
                             f"such as 0.5bdp, not {text!r}")
        return QueueSize(x, True)
    try:
        n = int(s)
    except ValueError:
        raise ValueError(f"must be a number of packets (100) or of bandwidth-delay products (0.5bdp), "
                         f"not {text!r}") from None
    if not 1 <= n <= 1_000_000:
        raise ValueError(f"must be from 1 to 1000000 packets, not {text!r}")
    return QueueSize(n)


def parse_cc(text: str) -> str:
    """An algorithm name, or one per flow joined by ``+`` (``cubic+reno``)."""
    names = [n.strip() for n in text.split("+")]
    for n in names:
        if n not in cc_registry.ALGORITHMS:
            raise ValueError(f"unknown congestion control {n!r} (known: {', '.join(cc_registry.available())})")
    return "+".join(names)


def parse_size(text: str) -> int:
    """Octets, with an optional k/M (binary) suffix: 65535, 64k, 4M."""
    sizes = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
    got = _split_unit(text)
    if got is None or got[1] not in sizes:
        raise ValueError(f"must be a size such as 65535, 64k or 4M, not {text!r}")
    n = int(got[0] * sizes[got[1]])
    if not 1 <= n <= 1 << 30:
        raise ValueError(f"must be from 1 octet to 1G, not {text!r}")
    return n


@dataclass(frozen=True)
class Dimension:
    """One parameter a sweep can vary."""

    name: str
    parse: Callable[[str], Any]
    #: "number" (ranges with a count), "integer" (a..b is every integer), "none" (no ranges)
    ranges: str
    #: the single-run default
    default: Any
    help: str = ""


DIMENSIONS: dict[str, Dimension] = {d.name: d for d in (
    Dimension("bandwidth", parse_bandwidth, "number", 10e6, "bottleneck rate: 10mbit, 500kbit, 1gbit, 64000bps"),
    Dimension("rtt", parse_rtt, "number", ms(50), "round-trip propagation delay: 50ms, 0.2s"),
    Dimension("loss", parse_loss, "number", 0.0, "random loss on the bottleneck: 0.01 or 1%"),
    Dimension("queue", parse_queue, "number", QueueSize(100),
              "bottleneck queue: packets (100) or bandwidth-delay products (0.5bdp)"),
    Dimension("flows", parse_flows, "integer", 1, "bulk flows sharing the bottleneck"),
    Dimension("cc", parse_cc, "none", cc_registry.DEFAULT, "congestion control; cubic+reno: one per flow"),
    Dimension("rtt_ratio", parse_rtt_ratio, "number", 1.0,
              "the last flow's round trip over the first's (1 to 100); flows share the queue"),
    Dimension("duration", parse_duration, "number", sec(30), "how long the flows run, simulated: 30s, 500ms"),
    Dimension("seeds", parse_seed, "integer", 1, "random seeds: 1..10 or 1,2,3"),
)}


# ------------------------------------------------------------------------------ lists and ranges
def parse_list(name: str, text: str) -> list:
    """The values of dimension ``name`` that ``text`` lists: comma-separated values and ranges
    (``a..b:n`` evenly spaced, ``a..b:n:log`` on a log scale, ``a..b`` every integer for
    integer dimensions). Duplicates are dropped; the order is kept. SpecError if empty."""
    dim = DIMENSIONS[name]
    values: list = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise SpecError(name, f"an empty value in {text!r}")
        try:
            values.extend(_range(dim, item) if ".." in item else [dim.parse(item)])
        except ValueError as e:
            raise SpecError(name, str(e)) from None
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def _range(dim: Dimension, item: str) -> list:
    lo_text, _, rest = item.partition("..")
    hi_text, _, count = rest.partition(":")
    count, _, scale = count.partition(":")
    if dim.ranges == "none":
        raise ValueError(f"takes a list of values, not a range: {item!r}")
    lo, hi = dim.parse(lo_text), dim.parse(hi_text)
    if dim.ranges == "integer" and not count:
        if hi < lo:
            raise ValueError(f"the range {item!r} is empty: it ends before it starts")
        if hi - lo >= MAX_RUNS:
            raise ValueError(f"the range {item!r} has more than {MAX_RUNS} values")
        return list(range(lo, hi + 1))
    if not count:
        raise ValueError(f"a range needs the number of values: {item}:5 gives 5 from {lo_text} to {hi_text}")
    try:
        n = int(count)
    except ValueError:
        raise ValueError(f"the number of values in {item!r} must be an integer, not {count!r}") from None
    if n < 1:
        raise ValueError(f"the range {item!r} is empty: it asks for {n} values")
    if n > 10_000:
        raise ValueError(f"the range {item!r} asks for more than 10000 values")
    if scale not in ("", "lin", "log"):
        raise ValueError(f"a range's scale is lin or log, not {scale!r}")
    if isinstance(lo, QueueSize):
        if lo.bdp != hi.bdp:
            raise ValueError(f"both ends of {item!r} must be packets or both bandwidth-delay products")
        nums = _spaced(lo.value, hi.value, n, scale == "log", item)
        return [QueueSize(x, True) if lo.bdp else QueueSize(round(x)) for x in nums]
    nums = _spaced(float(lo), float(hi), n, scale == "log", item)
    if isinstance(lo, int):
        return [int(round(x)) for x in nums]
    # four significant digits: 0.00548, not 0.005477225575051661
    return [dim.parse(repr(float(f"{x:.4g}"))) if dim.name in ("loss", "rtt_ratio") else float(f"{x:.4g}")
            for x in nums]


def _spaced(lo: float, hi: float, n: int, log: bool, item: str) -> list[float]:
    if n == 1:
        return [lo]
    if log:
        if lo <= 0 or hi <= 0:
            raise ValueError(f"a log range needs both ends above 0: {item!r}")
        return [lo * (hi / lo) ** (k / (n - 1)) for k in range(n)]
    return [lo + (hi - lo) * k / (n - 1) for k in range(n)]


# ------------------------------------------------------------------------------ points and runs
@dataclass(frozen=True)
class Point:
    """One combination of parameters (times in ns)."""

    bandwidth_bps: float
    rtt: int
    loss: float
    queue: QueueSize
    flows: int
    cc: str
    rtt_ratio: float
    duration: int
    rcv_buf: int | None = None

    @property
    def queue_packets(self) -> int:
        return self.queue.packets(self.bandwidth_bps, self.rtt)

    def algorithms(self) -> tuple[str, ...]:
        """Each flow's algorithm: a ``+`` mix is repeated over the flows in turn."""
        names = self.cc.split("+")
        return tuple(names[i % len(names)] for i in range(self.flows))

    def config(self, seed: int, trace: str = "rtt") -> ExperimentConfig:
        return ExperimentConfig(bandwidth_bps=self.bandwidth_bps, rtt=self.rtt, loss=self.loss,
                                queue_packets=self.queue_packets, flows=self.flows, cc=self.algorithms(),
                                duration=self.duration, seed=seed, rcv_buf=self.rcv_buf,
                                rtt_ratio=self.rtt_ratio, trace=trace)

    def params(self) -> dict:
        """The row's parameter columns, in SI base units."""
        bdp = bdp_packets(self.bandwidth_bps, self.rtt)
        return {"bandwidth_bps": float(self.bandwidth_bps), "rtt_s": self.rtt / NS_PER_S, "loss": float(self.loss),
                "queue": str(self.queue), "queue_packets": self.queue_packets,
                "queue_bdp": self.queue_packets / bdp if bdp > 0 else math.inf,
                "flows": self.flows, "cc": self.cc, "rtt_ratio": float(self.rtt_ratio),
                "duration_s": self.duration / NS_PER_S}

    def describe(self) -> str:
        """The point on one line, as a person writes it."""
        bits = [f"bandwidth {rate(self.bandwidth_bps)}", f"rtt {duration(self.rtt)}", f"loss {self.loss:g}",
                f"queue {self.queue}" + (f" ({self.queue_packets} packets)" if self.queue.bdp else ""),
                f"flows {self.flows}", f"cc {self.cc}"]
        if self.rtt_ratio != 1.0:
            bits.append(f"rtt-ratio {self.rtt_ratio:g}")
        bits.append(f"duration {duration(self.duration)}")
        return ", ".join(bits)


@dataclass(frozen=True)
class Run:
    """A point and a seed: one row of results."""

    point: Point
    seed: int

    @property
    def key(self) -> str:
        """The run's identity in a results file (what ``--resume`` matches)."""
        p = self.point
        return (f"bandwidth={p.bandwidth_bps!r} rtt={p.rtt} loss={p.loss!r} queue={p.queue} flows={p.flows} "
                f"cc={p.cc} rtt_ratio={p.rtt_ratio!r} duration={p.duration} "
                f"rcv_buf={'auto' if p.rcv_buf is None else p.rcv_buf} seed={self.seed}")


@dataclass
class Sweep:
    """The runs of one or more grids, and what the expansion left out."""

    runs: list[Run]
    points: list[Point]
    seeds: list[int]
    #: combinations dropped, with why (a "+" mix with fewer flows than algorithms, ...)
    skipped: dict[str, int] = field(default_factory=dict)


def expand(grids: list[dict[str, list]], rcv_buf: int | None = None) -> Sweep:
    """Every combination of every grid (a dict from dimension name to its values; a missing
    dimension takes its single-run default), seeds innermost, duplicates dropped."""
    points: list[Point] = []
    seen: set[Point] = set()
    seeds_all: list[int] = []
    skipped: dict[str, int] = {}
    runs: list[Run] = []
    for grid in grids:
        vals = {name: grid.get(name) or [d.default] for name, d in DIMENSIONS.items()}
        total = math.prod(len(v) for v in vals.values())
        if total > MAX_RUNS:
            raise SpecError("seeds", f"the grid has {total} runs; at most {MAX_RUNS} in one sweep")
        for s in vals["seeds"]:
            if s not in seeds_all:
                seeds_all.append(s)
        for bw in vals["bandwidth"]:
            for rtt in vals["rtt"]:
                for loss in vals["loss"]:
                    for queue in vals["queue"]:
                        for flows in vals["flows"]:
                            for cc in vals["cc"]:
                                for ratio in vals["rtt_ratio"]:
                                    for dur in vals["duration"]:
                                        mix = len(cc.split("+"))
                                        if mix > flows:
                                            why = f"{cc} needs at least {mix} flows"
                                            skipped[why] = skipped.get(why, 0) + 1
                                            continue
                                        if flows == 1:
                                            ratio = 1.0  # one flow: its round trip is the path's
                                        p = Point(bw, rtt, loss, queue, flows, cc, ratio, dur, rcv_buf)
                                        if p in seen:
                                            continue
                                        seen.add(p)
                                        points.append(p)
                                        runs.extend(Run(p, s) for s in vals["seeds"])
    if not runs:
        why = "; ".join(skipped) or "no values"
        raise SpecError("cc", f"the sweep has no points to run ({why})")
    return Sweep(runs, points, seeds_all, skipped)


def load_toml(path: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A study file: top-level names (the options' names) apply to every grid; each
    ``[[grid]]`` table adds one grid; without any, the top level is the one grid. Values
    are strings as on the command line, numbers, or lists of either. Returns (top level,
    grids) as texts for :func:`parse_list`."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise SpecError("sweep", f"cannot read {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError("sweep", f"{path} is not valid TOML: {e}") from None

    def texts(table: dict, where: str) -> dict[str, str]:
        out = {}
        for key, value in table.items():
            name = key.replace("-", "_")
            if name == "rcv_buf":
                out[name] = str(value)
                continue
            if name not in DIMENSIONS:
                known = ", ".join(n.replace("_", "-") for n in [*DIMENSIONS, "rcv-buf"])
                raise SpecError("sweep", f"{path}: unknown name {key!r}{where} (known: {known})")
            items = value if isinstance(value, list) else [value]
            if not items or any(isinstance(v, bool | dict | list) for v in items):
                raise SpecError(name, f"{path}: give a string, a number or a list of them, not {value!r}")
            out[name] = ",".join(str(v) for v in items)
        return out

    grids_raw = data.pop("grid", [])
    if not isinstance(grids_raw, list) or not all(isinstance(g, dict) for g in grids_raw):
        raise SpecError("sweep", f"{path}: 'grid' must be an array of tables ([[grid]])")
    top = texts(data, "")
    grids = [texts(g, f" in grid {i + 1}") for i, g in enumerate(grids_raw)]
    return top, grids


# ------------------------------------------------------------------------------ one run
def run_point(run: Run) -> dict:
    """Run one point with one seed; its row. An exception becomes a row with ``status``
    "failed" and the error, so one bad point never stops a sweep."""
    row = {"key": run.key, **run.point.params(), "seed": run.seed}
    t0 = time.perf_counter()
    try:
        result = experiment.run(run.point.config(run.seed))
    except Exception as e:  # recorded, not raised: the sweep goes on
        row.update(failed_metrics(f"{type(e).__name__}: {e}"))
        row["wall_s"] = time.perf_counter() - t0
        return row
    p50, p99 = result.rtt_percentile(50), result.rtt_percentile(99)
    row.update({
        "rcv_buf": result.rcv_buf,
        "status": "ok",
        "error": "",
        "goodput_bps": float(sum(result.goodput_bps)),
        "goodput_bps_flows": [float(g) for g in result.goodput_bps],
        "flow_cc": [f.cc for f in result.flows],
        "utilisation": float(result.utilisation),
        "fairness": float(result.fairness),
        "retransmits": int(result.retransmits),
        "rtt_p50_s": None if p50 is None else p50 / NS_PER_S,
        "rtt_p99_s": None if p99 is None else p99 / NS_PER_S,
        "queue_drops": int(result.drops.get("queue-full", 0)),
        "link_losses": int(result.drops.get("link-loss", 0)),
        "wall_s": time.perf_counter() - t0,
    })
    return row


def describe_row(row: dict) -> str:
    """A row's parameters and seed on one line, as a person writes them."""
    bits = [rate(row["bandwidth_bps"]), f"RTT {duration(round(row['rtt_s'] * NS_PER_S))}", f"loss {row['loss']:g}",
            f"queue {row['queue_packets']}", f"{row['flows']} flow{'s' * (row['flows'] != 1)}", row["cc"]]
    if row.get("rtt_ratio", 1.0) != 1.0:
        bits.append(f"RTT ratio {row['rtt_ratio']:g}")
    bits += [duration(round(row["duration_s"] * NS_PER_S)), f"seed {row['seed']}"]
    return ", ".join(bits)


def failed_metrics(error: str) -> dict:
    """The metric columns of a run that did not finish."""
    return {"rcv_buf": None, "status": "failed", "error": error, "goodput_bps": None, "goodput_bps_flows": [],
            "flow_cc": [], "utilisation": None, "fairness": None, "retransmits": None, "rtt_p50_s": None,
            "rtt_p99_s": None, "queue_drops": None, "link_losses": None, "wall_s": None}


def failed_row(run: Run, error: str) -> dict:
    return {"key": run.key, **run.point.params(), "seed": run.seed, **failed_metrics(error)}


# ------------------------------------------------------------------------------ executors
Runner = Callable[[Run], dict]


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _ignore_sigint() -> None:
    """Worker processes leave Ctrl-C to the parent, which stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalExecutor:
    """Runs points on ``workers`` local processes (in this process when ``workers`` is 1),
    yielding rows as they finish. When a worker process dies, a fresh pool runs the points
    that were in the old one again, one at a time, and the point that kills its worker
    again is recorded as failed. Leaving the ``with`` block early (Ctrl-C, an
    error) stops the workers at once; finished rows were already yielded."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self.label = f"{self.workers} local process{'es' if self.workers > 1 else ''}"
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self._stop(kill=exc_type is not None)

    def _new_pool(self) -> ProcessPoolExecutor:
        import multiprocessing

        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["synack.scenarios.sweep"])
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_ignore_sigint)

    def _stop(self, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
            if terminate is not None:
                terminate()
            else:  # earlier Pythons: the pool's processes, by the attribute it keeps them in
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.terminate()
        pool.shutdown(wait=not kill, cancel_futures=True)

    def map_unordered(self, runner: Runner, runs: Iterable[Run]) -> Iterator[dict]:
        if self.workers == 1:
            for run in runs:
                yield runner(run)
            return
        todo = list(runs)
        todo.reverse()   # pop() from the end takes them in order
        window = 2 * self.workers   # queued ahead, so no worker waits for the next point
        # runs that were in a pool when one of its processes died: each runs again alone, so
        # only the one that kills its worker is recorded as failed
        suspects: list[Run] = []
        running: dict[Future, Run] = {}
        while todo or suspects or running:
            if self._pool is None:
                self._pool = self._new_pool()
            if suspects:
                if not running:
                    run = suspects.pop()
                    running[self._pool.submit(runner, run)] = run
            else:
                while todo and len(running) < window:
                    run = todo.pop()
                    running[self._pool.submit(runner, run)] = run
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            lost: list[Run] = []
            for fut in done:
                run = running.pop(fut)
                try:
                    row = fut.result()
                except BrokenProcessPool:
                    lost.append(run)
                    continue
                except Exception as e:  # the runner itself failed in a way it did not record
                    row = failed_row(run, f"{type(e).__name__}: {e}")
                yield row
            if lost:
                lost += running.values()   # the rest of the dead pool's runs
                running.clear()
                self._stop(kill=True)
                if len(lost) == 1:         # it was alone in the pool: it is the one
                    yield failed_row(lost[0], "the worker process running this point died (killed, or out of "
                                              "memory)")
                else:
                    suspects.extend(reversed(lost))


class DaskExecutor:
    """Runs points on a Dask cluster: ``address`` is a scheduler's (``tcp://host:8786``), or
    ``"local"`` for a ``LocalCluster`` of ``workers`` single-threaded processes on this
    machine. Needs ``dask.distributed`` (``pip install 'synack[cluster]'``), and the same
    synack on every worker."""

    def __init__(self, address: str, workers: int | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SpecError("dask", "needs dask.distributed: pip install 'synack[cluster]'") from None
        self._cluster = None
        self._futures: list = []
        # Dask's own warnings (a slow event loop on a busy machine, ...) are not the user's
        # business here: errors still show
        self._log = logging.getLogger("distributed")
        self._log_level = self._log.level
        self._log.setLevel(logging.ERROR)
        if address == "local":
            n = workers or default_workers()
            # no dashboard; the scheduler's HTTP endpoints on a free loopback port (not 8787,
            # which another cluster on this machine may hold)
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                         dashboard_address=None, silence_logs=logging.CRITICAL,
                                         scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
            self.label = f"a local Dask cluster of {n} process{'es' if n > 1 else ''}"
            self.client = Client(self._cluster)
        else:
            try:
                self.client = Client(address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as e:
                raise SpecError("dask", f"cannot reach the Dask scheduler at {address}: {e}") from None
            self.label = f"the Dask cluster at {address}"

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            if exc_type is not None:
                # stopped early (Ctrl-C): results still on their way fail as the connections
                # close, and tornado would log each of those failures with a traceback
                logging.getLogger("tornado.application").setLevel(logging.CRITICAL)
                if self._futures:
                    self.client.cancel(self._futures)
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
            self._log.setLevel(self._log_level)

    def map_unordered(self, runner: Runner, runs: Iterable[Run]) -> Iterator[dict]:
        from distributed import as_completed

        by_future = {}
        for run in runs:
            fut = self.client.submit(runner, run, pure=False)
            by_future[fut] = run
        self._futures = list(by_future)
        # results are gathered in the client's own thread, so this one only ever waits on a
        # condition: Ctrl-C here interrupts nothing of Dask's
        for fut, result in as_completed(self._futures, with_results=True, raise_errors=False):
            run = by_future[fut]
            if fut.status == "error":  # a worker lost, a task killed: (type, exception, traceback)
                exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
                yield failed_row(run, f"{type(exc).__name__}: {exc}")
            elif fut.status == "cancelled":
                yield failed_row(run, "cancelled on the Dask cluster")
            else:
                yield result
            fut.release()


# ------------------------------------------------------------------------------ summary
#: what the summary reports, mean and 95 % CI over seeds: (column, heading, scale, format)
SUMMARY_METRICS = (
    ("goodput_bps", "goodput Mbit/s", 1e-6, ".2f"),
    ("utilisation", "util %", 100.0, ".1f"),
    ("fairness", "Jain", 1.0, ".3f"),
    ("retransmits", "retransmits", 1.0, ".0f"),
    ("rtt_p50_s", "RTT p50 ms", 1e3, ".1f"),
    ("rtt_p99_s", "RTT p99 ms", 1e3, ".1f"),
)
#: the parameter columns, and how the summary shows them
PARAMETERS = (
    ("bandwidth_bps", "bandwidth", lambda v: rate(v)),
    ("rtt_s", "rtt", lambda v: duration(round(v * NS_PER_S))),
    ("loss", "loss", lambda v: f"{v:g}"),
    ("queue_packets", "queue", lambda v: f"{v}"),
    ("flows", "flows", lambda v: f"{v}"),
    ("cc", "cc", lambda v: v),
    ("rtt_ratio", "rtt-ratio", lambda v: f"{v:g}"),
    ("duration_s", "duration", lambda v: duration(round(v * NS_PER_S))),
)

# two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (1.96 as df grows)."""
    if df < 1:
        return math.nan
    if df <= len(_T975):
        return _T975[df - 1]
    return 1.960 + 2.40 / df   # within 0.002 of the exact value beyond 30


def mean_ci(xs: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval (Student's t; NaN for one value)."""
    n = len(xs)
    if n == 0:
        return math.nan, math.nan
    m = sum(xs) / n
    if n == 1:
        return m, math.nan
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return m, t975(n - 1) * sd / math.sqrt(n)


@dataclass
class Group:
    """The rows of one point over its seeds."""

    params: dict
    seeds: list[int] = field(default_factory=list)
    failed: int = 0
    values: dict[str, list[float]] = field(default_factory=dict)

    def stat(self, column: str) -> tuple[float, float]:
        return mean_ci(self.values.get(column, []))


def latest(rows: Iterable[dict]) -> list[dict]:
    """One row per run key: its successful row if it has one, else its last (a point that
    failed, then succeeded on ``--resume``, counts as succeeded)."""
    best: dict[str, dict] = {}
    for row in rows:
        key = row.get("key") or ""
        old = best.get(key)
        if old is None or row.get("status") == "ok" or old.get("status") != "ok":
            best[key] = row
    return list(best.values())


def summarise(rows: Iterable[dict]) -> list[Group]:
    """Group rows by point (every parameter but the seed), in order of first appearance."""
    groups: dict[tuple, Group] = {}
    for row in latest(rows):
        params = {name: row.get(name) for name, _, _ in PARAMETERS}
        g = groups.get(tuple(params.values()))
        if g is None:
            g = groups[tuple(params.values())] = Group(params)
        if row.get("status") != "ok":
            g.failed += 1
            continue
        g.seeds.append(int(row["seed"]))
        for column, *_ in SUMMARY_METRICS:
            v = row.get(column)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                g.values.setdefault(column, []).append(float(v))
    return sorted(groups.values(), key=lambda g: tuple(_sortable(v) for v in g.params.values()))


def _sortable(v: Any) -> tuple:
    """A sort key that puts numbers in numeric order before text."""
    return (0, v, "") if isinstance(v, int | float) else (1, 0, str(v))


def format_summary(groups: list[Group]) -> str:
    """A table: the parameters that vary, the seeds, then mean ± 95 % CI of each metric."""
    if not groups:
        return "no results\n"
    shown = [(name, head, fmt) for name, head, fmt in PARAMETERS
             if len({str(g.params.get(name)) for g in groups}) > 1] or [PARAMETERS[5]]
    header = [head for _, head, _ in shown] + ["seeds"] + [head for _, head, _, _ in SUMMARY_METRICS]
    table = [header]
    for g in groups:
        cells = [fmt(g.params[name]) if g.params.get(name) is not None else "?" for name, _, fmt in shown]
        cells.append(f"{len(g.seeds)}" + (f" ({g.failed} failed)" if g.failed else ""))
        for column, _, scale, spec in SUMMARY_METRICS:
            m, ci = g.stat(column)
            if math.isnan(m):
                cells.append("-")
            elif math.isnan(ci):
                cells.append(f"{m * scale:{spec}}")
            else:
                cells.append(f"{m * scale:{spec}} ± {ci * scale:{spec}}")
        table.append(cells)
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    nparams = len(shown)
    lines = ["  ".join(c.ljust(w) if i < nparams else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip() for r in table]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ estimates
def packets_estimate(point: Point) -> float:
    """At most how many packets one run moves through its bottleneck."""
    return point.bandwidth_bps * point.duration / NS_PER_S / 8 / PACKET


def calibrate() -> float:
    """Bottleneck packets this machine simulates per second of wall time, on one core,
    measured on a short reference run."""
    ref = Point(10e6, ms(50), 0.0, QueueSize(100), 1, cc_registry.DEFAULT, 1.0, sec(2))
    t0 = time.perf_counter()
    experiment.run(ref.config(1, trace="rtt"))
    return packets_estimate(ref) / max(time.perf_counter() - t0, 1e-6)


# ------------------------------------------------------------------------------ words
def rate(bps: float) -> str:
    """A rate for people: 9.41 Mbit/s."""
    for unit, scale in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.3g} {unit}"
    return f"{bps:.0f} bit/s"


def duration(ns: int) -> str:
    if ns >= 1_000_000_000 or ns == 0:
        return f"{ns / 1e9:g} s"
    return f"{ns / 1e6:g} ms"


__all__ = ["DIMENSIONS", "DaskExecutor", "Group", "LocalExecutor", "Point", "QueueSize", "Run", "SpecError",
           "Sweep", "calibrate", "expand", "format_summary", "latest", "load_toml", "mean_ci", "parse_list",
           "run_point", "summarise", "t975"]
