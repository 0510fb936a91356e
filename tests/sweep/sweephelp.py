"""Small sweeps for the tests: a few points of one simulated second at 2 Mbit/s, so each
run takes a fraction of a second, and helpers to compare result tables."""

from __future__ import annotations

import os

from synack.scenarios import sweep as sw

#: 4 points x 2 seeds: two algorithms, two loss rates
SMALL = {"bandwidth": "2mbit", "rtt": "40ms", "queue": "10", "duration": "1s",
         "cc": "reno,cubic", "loss": "0,0.02", "seeds": "1..2"}


def small_sweep(**changes: str) -> sw.Sweep:
    spec = {**SMALL, **changes}
    return sw.expand([{name: sw.parse_list(name, text) for name, text in spec.items()}])


def table(rows: list[dict]) -> list[dict]:
    """Rows as a user compares them: one per run, sorted by run, without the wall time."""
    return sorted(({k: v for k, v in r.items() if k != "wall_s"} for r in sw.latest(rows)),
                  key=lambda r: r["key"])


def dies_on_seed_2(run: sw.Run) -> dict:
    """A runner whose worker process dies (as an out-of-memory kill would) on seed 2 of
    reno without loss; every other run is the real one."""
    if run.seed == 2 and run.point.cc == "reno" and run.point.loss == 0:
        os._exit(9)
    return sw.run_point(run)
