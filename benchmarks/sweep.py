"""Sweep throughput: `make bench` runs it after the simulator benchmarks.

The same grid of experiment runs (10 Mbit/s, RTT 50 ms, queue 1 BDP, CUBIC and Reno, no
loss and 0.1 %, 5 s each, several seeds) goes through each executor of `synack
experiment --sweep`:

- one core: the runs one after the other in this process (`--workers 1`);
- all local cores: a process per core (`--workers N`, the default);
- a local Dask cluster of the same size (`--dask local`), started before the clock runs
  (its start-up time is reported apart), so the difference is the distributed path's own
  cost per run.

It reports runs (points x seeds) per minute for each, checks that every executor produced
the same rows (wall time aside), prints a table and writes benchmarks/results/sweep.json
(sweep-quick.json with --quick).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from synack.scenarios import sweep as sw

RESULTS = Path(__file__).resolve().parent / "results"


def grid(quick: bool) -> sw.Sweep:
    spec = {"bandwidth": "10mbit", "rtt": "50ms", "queue": "1bdp", "cc": "cubic,reno", "loss": "0,0.001",
            "duration": "2s" if quick else "5s", "seeds": "1..2" if quick else "1..6"}
    return sw.expand([{name: sw.parse_list(name, text) for name, text in spec.items()}])


def measure(executor: sw.LocalExecutor | sw.DaskExecutor, runs: list[sw.Run]) -> tuple[dict, list[dict]]:
    with executor:
        t0 = time.perf_counter()
        rows = list(executor.map_unordered(sw.run_point, runs))
        wall = time.perf_counter() - t0
    cpu = sum(r["wall_s"] or 0 for r in rows)
    return {"executor": executor.label, "runs": len(rows), "wall_s": wall, "runs_per_min": 60 * len(rows) / wall,
            "mean_run_s": cpu / len(rows), "failed": sum(r["status"] != "ok" for r in rows)}, rows


def _table(rows: list[dict]) -> list[dict]:
    return sorted(({k: v for k, v in r.items() if k != "wall_s"} for r in rows), key=lambda r: r["key"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller grid (a smoke test of the benchmark)")
    args = ap.parse_args(argv)
    runs = grid(args.quick).runs
    cores = sw.default_workers()
    results: dict = {"cores": cores}
    one, ref = measure(sw.LocalExecutor(1), runs)
    many, rows = measure(sw.LocalExecutor(cores), runs)
    results["one_core"], results["all_cores"] = one, many
    same = {"all_cores": _table(rows) == _table(ref)}
    try:
        t0 = time.perf_counter()
        dask = sw.DaskExecutor("local", cores)
        startup = time.perf_counter() - t0
        results["dask_local"], rows = measure(dask, runs)
        results["dask_local"]["startup_s"] = startup
        same["dask_local"] = _table(rows) == _table(ref)
    except sw.SpecError as e:
        results["dask_local"] = {"skipped": str(e)}
    results["identical_rows"] = same

    table = [("one core (in process)", one), (f"{cores} local processes", many)]
    if "runs_per_min" in results["dask_local"]:
        table.append((f"Dask LocalCluster, {cores} workers", results["dask_local"]))
    print(f"synack sweep benchmark: {len(runs)} runs of {runs[0].point.duration / 1e9:g} s simulated "
          f"at 10 Mbit/s, {cores} cores")
    print(f"  {'executor':<32} {'runs/min':>9} {'wall s':>8} {'s/run':>7}  {'vs one core':>11}")
    for name, r in table:
        print(f"  {name:<32} {r['runs_per_min']:>9.1f} {r['wall_s']:>8.1f} {r['mean_run_s']:>7.2f}  "
              f"{r['runs_per_min'] / one['runs_per_min']:>10.2f}x")
    if "startup_s" in results["dask_local"]:
        print(f"  Dask LocalCluster start-up: {results['dask_local']['startup_s']:.1f} s (not in its wall time)")
    elif "skipped" in results["dask_local"]:
        print(f"  Dask: skipped ({results['dask_local']['skipped']})")
    print(f"  identical rows on every executor: {'yes' if all(same.values()) else 'NO: ' + str(same)}")
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("sweep-quick.json" if args.quick else "sweep.json")
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    print(f"wrote {out}")
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
