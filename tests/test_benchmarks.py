"""`make bench` keeps working: each simulator benchmark, in its smallest form, prints its table
and writes its JSON. Nothing here is timed (speed aims live in the benchmarks themselves);
these tests only catch a benchmark that a change to the stack broke.

Each runs on a copy of benchmarks/ in a temporary folder, beside a link to this checkout's
src/, so the results a user measured in benchmarks/results/ are left alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    """A copy of benchmarks/ (without results) beside a link to src/; returns its folder."""
    shutil.copytree(ROOT / "benchmarks", tmp_path / "benchmarks", ignore=shutil.ignore_patterns("results", "*.json"))
    (tmp_path / "src").symlink_to(ROOT / "src")
    return tmp_path / "benchmarks"


def _run(bench: Path, script: str, *args: str) -> str:
    r = subprocess.run([sys.executable, str(bench / script), *args], capture_output=True, text=True, timeout=300,
                       cwd=bench.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def test_the_simulator_benchmark_prints_its_table_beside_the_aims_and_writes_json(bench: Path):
    out = _run(bench, "run.py", "--quick", "--before", "none", "--repeat", "1")
    for row in ("handshake+close cycles / wall-s", "bulk data segments / wall-s", ">= 6,000", ">= 50,000"):
        assert row in out
    data = json.loads((bench / "results" / "sim-quick.json").read_text())
    now = data["results"]["now"]
    assert now["cycles"]["cycles"] == 300 and now["cycles"]["cycles_per_s"] > 0
    assert now["bulk"]["data_segments"] >= 2_000  # 3 MB in segments of at most 1,448 octets
    assert 500 < now["memory"]["bytes_per_endpoint"] < 10_000
    assert data["aims"] == {"cycles_per_s": 6000, "segments_per_s": 50000, "bytes_per_endpoint": 2560}


@pytest.mark.slow
def test_the_syn_flood_benchmark_shows_cookies_keeping_real_clients_served(bench: Path):
    out = _run(bench, "synflood.py", "--quick")
    assert "SYN flood against one listener" in out
    floods = json.loads((bench / "results" / "synflood-quick.json").read_text())["floods"]
    assert {(f["rate_syn_per_s"], f["syncookies"]) for f in floods} == {(100, 1), (100, 0), (2000, 1), (2000, 0)}
    for f in floods:
        if f["syncookies"]:
            assert f["completed_share"] == 1.0 and f["cookies_sent"] > 0, f
    worst = next(f for f in floods if f["rate_syn_per_s"] == 2000 and not f["syncookies"])
    assert worst["completed_share"] < 0.5, worst  # (without cookies the flood does shut them out)


def test_the_time_wait_benchmark_connects_every_client_through_a_narrow_port_range(bench: Path):
    out = _run(bench, "timewait.py", "--connections", "500", "--records", "100", "--before", "none")
    assert "memory per TIME-WAIT entry" in out
    data = json.loads((bench / "results" / "timewait.json").read_text())
    assert json.dumps(data)  # written whole
    line = next(x for x in out.splitlines() if x.startswith("connects that failed"))
    assert line.split()[-1] == "0"
