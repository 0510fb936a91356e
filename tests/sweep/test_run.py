"""Running sweeps: each run is deterministic whatever runs it, results go to the file as
they finish, a run that fails is recorded and the sweep goes on."""

from __future__ import annotations

import pytest
from sweephelp import dies_on_seed_2, small_sweep, table

from synack.scenarios import sweep as sw
from synack.scenarios.sweepio import ResultFile, read_rows


@pytest.fixture(scope="module")
def reference() -> list[dict]:
    """The small sweep's rows, run one after the other in this process."""
    with sw.LocalExecutor(1) as ex:
        return list(ex.map_unordered(sw.run_point, small_sweep().runs))


def test_rows_have_every_figure_of_every_run(reference):
    assert len(reference) == 8 and all(r["status"] == "ok" and r["error"] == "" for r in reference)
    for r in reference:
        assert 0 < r["goodput_bps"] < 2e6 and r["goodput_bps"] == pytest.approx(sum(r["goodput_bps_flows"]))
        assert 0 < r["utilisation"] <= 1 and r["fairness"] == 1.0 and r["flow_cc"] == [r["cc"]]
        assert 0.04 <= r["rtt_p50_s"] <= r["rtt_p99_s"] < 1.0     # at least the 40 ms path
        assert r["wall_s"] > 0 and r["rcv_buf"] >= 65535
    lossy = [r for r in reference if r["loss"] == 0.02]
    assert all(r["link_losses"] > 0 and r["retransmits"] > 0 for r in lossy)
    # different seeds draw different losses
    assert len({r["goodput_bps"] for r in lossy if r["cc"] == "reno"}) == 2


def test_local_processes_give_the_same_rows(reference):
    with sw.LocalExecutor(2) as ex:
        rows = list(ex.map_unordered(sw.run_point, small_sweep().runs))
    assert table(rows) == table(reference)


def test_a_dask_local_cluster_gives_the_same_rows(reference):
    pytest.importorskip("distributed", reason="the cluster extra (dask.distributed) is not installed")
    with sw.DaskExecutor("local", 2) as ex:
        assert "Dask" in ex.label
        rows = list(ex.map_unordered(sw.run_point, small_sweep().runs))
    assert table(rows) == table(reference)


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    # a receive buffer no TCP can offer: the experiment refuses it when the run starts
    s = small_sweep(loss="0")
    bad = sw.Run(sw.expand([{"bandwidth": [2e6]}], rcv_buf=1 << 31).points[0], 1)
    runs = [s.runs[0], bad, *s.runs[1:]]
    out = tmp_path / "r.jsonl"
    with ResultFile(str(out)) as f, sw.LocalExecutor(1) as ex:
        for row in ex.map_unordered(sw.run_point, runs):
            f.append(row)
    rows = read_rows(str(out))
    assert len(rows) == len(runs)
    failed = [r for r in rows if r["status"] == "failed"]
    assert [r["key"] for r in failed] == [bad.key]
    assert failed[0]["error"].startswith("ValueError: ") and "rcv_buf" in failed[0]["error"]
    assert failed[0]["goodput_bps"] is None and failed[0]["goodput_bps_flows"] == []
    assert sum(r["status"] == "ok" for r in rows) == len(runs) - 1


def test_a_worker_process_that_dies_fails_its_run_not_the_sweep(reference):
    runs = small_sweep().runs
    with sw.LocalExecutor(2) as ex:
        rows = list(ex.map_unordered(dies_on_seed_2, runs))
    assert sorted(r["key"] for r in rows) == sorted(r.key for r in runs)
    failed = [r for r in rows if r["status"] != "ok"]
    assert [(r["seed"], r["cc"], r["loss"]) for r in failed] == [(2, "reno", 0.0)]
    assert "worker process running this point died" in failed[0]["error"]
    # the runs that shared the pool with it ran again: every other run has the figures it
    # always has
    expected = {r["key"]: r for r in table(reference)}
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == len(runs) - 1 and all(expected[r["key"]] == r for r in table(ok))


def test_summary_means_and_confidence_over_seeds(reference):
    groups = sw.summarise(reference)
    assert len(groups) == 4 and all(len(g.seeds) == 2 and g.failed == 0 for g in groups)
    g = next(g for g in groups if g.params["cc"] == "reno" and g.params["loss"] == 0.02)
    xs = [r["goodput_bps"] for r in reference if r["cc"] == "reno" and r["loss"] == 0.02]
    m, ci = g.stat("goodput_bps")
    assert m == pytest.approx(sum(xs) / 2)
    assert ci == pytest.approx(12.706 * abs(xs[0] - xs[1]) / 2)   # t(0.975, 1) * s / sqrt(2)
    text = sw.format_summary(groups)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["loss", "cc", "seeds"]     # only the parameters that vary
    assert len(lines) == 5 and all("±" in ln for ln in lines[1:])


def test_mean_and_confidence_interval():
    assert sw.mean_ci([1.0, 2.0, 3.0]) == pytest.approx((2.0, 4.303 / 3 ** 0.5))
    m, ci = sw.mean_ci([5.0])
    assert m == 5.0 and ci != ci   # one seed: no interval (NaN)
    assert sw.t975(1) == 12.706 and sw.t975(30) == 2.042 and 1.96 < sw.t975(200) < 1.975
