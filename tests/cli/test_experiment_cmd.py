"""``synack experiment``: the figures in text and JSON, the plot and report files, and
errors that are one line naming the option, with a non-zero exit status; sweeps from the
command line and from TOML studies, their results files, --resume after Ctrl-C, progress,
and the sweep figures."""

from __future__ import annotations

import argparse
import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synack.cli import main
from synack.cli.experiment_cmd import parse_bandwidth, parse_duration, parse_loss, parse_rtt

SHORT = ["--bandwidth", "2mbit", "--rtt", "40ms", "--queue", "8", "--duration", "3s"]


def experiment(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``synack experiment ARGV`` in-process: (exit status, stdout, stderr)."""
    try:
        rc = main(["experiment", *argv])
    except SystemExit as e:  # argparse's own errors
        rc = int(e.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


# ------------------------------------------------------------------------------ parsing
@pytest.mark.parametrize("text,bps", [
    ("10mbit", 10e6), ("500kbit", 500e3), ("1gbit", 1e9), ("64000bps", 64e3), ("2.5Mbps", 2.5e6),
    ("1.5 Mbit", 1.5e6),
])
def test_bandwidth_units(text, bps):
    assert parse_bandwidth(text) == pytest.approx(bps)


@pytest.mark.parametrize("text,ns", [("50ms", 50_000_000), ("0.2s", 200_000_000), ("500us", 500_000),
                                     ("1s", 1_000_000_000)])
def test_time_units(text, ns):
    assert parse_rtt(text) == ns


def test_duration_and_loss():
    assert parse_duration("2min") == 120_000_000_000
    assert parse_loss("0.01") == parse_loss("1%") == pytest.approx(0.01)


@pytest.mark.parametrize("parse,text", [
    (parse_bandwidth, "10"), (parse_bandwidth, "fast"), (parse_bandwidth, "-1mbit"), (parse_bandwidth, "0mbit"),
    (parse_rtt, "50"), (parse_rtt, "50 parsecs"), (parse_duration, "0s"), (parse_duration, "2h"),
    (parse_loss, "1.0"), (parse_loss, "nan"), (parse_loss, "-0.1"),
])
def test_bad_values_are_refused(parse, text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)


# ------------------------------------------------------------------------------ output
def test_text_report_has_the_figures_per_flow_and_in_total(capsys):
    rc, out, err = experiment(capsys, *SHORT, "--flows", "2", "--cc", "cubic,reno")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("synack experiment: 2 flows over 2.00 Mbit/s, RTT 40 ms")
    flows = [ln.split() for ln in lines if ln.strip()[:1].isdigit()]
    assert [f[:2] for f in flows] == [["1", "cubic"], ["2", "reno"]]
    assert all(f[3] == "Mbit/s" or f[3] == "kbit/s" for f in flows)
    for label in ("total goodput", "link utilisation", "retransmissions", "Jain's fairness"):
        assert any(ln.startswith(label) for ln in lines), label


def test_json_has_the_same_figures(capsys):
    rc, out, err = experiment(capsys, *SHORT, "--flows", "2", "--cc", "reno", "--loss", "1%",
                              "--seed", "3", "--format", "json")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert {"goodput_bps", "utilisation", "retransmits", "fairness", "flows"} <= set(data)
    assert len(data["goodput_bps"]) == 2 and all(g > 0 for g in data["goodput_bps"])
    assert [f["goodput_bps"] for f in data["flows"]] == data["goodput_bps"]
    assert [f["cc"] for f in data["flows"]] == ["reno", "reno"]
    assert data["retransmits"] == sum(f["retransmits"] for f in data["flows"]) > 0   # 1 % loss
    assert 0 < data["utilisation"] <= 1.0 and 0.5 <= data["fairness"] <= 1.0
    assert data["path"] == {"bandwidth_bps": 2e6, "rtt_s": 0.04, "loss": 0.01, "queue_packets": 8,
                            "rcv_buf": data["path"]["rcv_buf"]}
    assert data["seed"] == 3 and data["duration_s"] == 3.0


def test_text_and_json_agree(capsys):
    _, text, _ = experiment(capsys, *SHORT)
    _, js, _ = experiment(capsys, *SHORT, "--format", "json")
    data = json.loads(js)
    assert f"retransmissions    {data['retransmits']}" in text
    assert f"Jain's fairness    {data['fairness']:.3f}" in text


@pytest.mark.parametrize("ext,magic", [(".png", b"\x89PNG"), (".svg", b"<svg")])
def test_plot_writes_an_image(capsys, tmp_path, ext, magic):
    path = tmp_path / f"run{ext}"
    rc, out, err = experiment(capsys, *SHORT, "--flows", "2", "--plot", str(path))
    assert rc == 0 and err == ""
    head = path.read_bytes()[:4096]
    assert magic in head
    if ext == ".svg":
        text = path.read_text()
        for label in ("goodput", "cwnd", "ssthresh", "receive window", "bytes in flight", "RTT",
                      "bottleneck queue", "capacity (8)", "flow 1 (cubic)", "flow 2 (cubic)",
                      "Mbit/s = 10⁶ bit/s", "kB = 10³ octets"):
            assert label in text, label
        assert "(KB)" not in text


def test_html_report(capsys, tmp_path):
    path = tmp_path / "run.html"
    rc, out, err = experiment(capsys, "--bandwidth", "1mbit", "--duration", "500ms", "--html", str(path))
    if rc == 1 and "not available" in err:  # pragma: no cover - synack.trace.html not there yet
        assert err.count("\n") == 1 and err.startswith("synack: --html:")
        return
    assert rc == 0 and err == ""
    assert "<html" in path.read_text(encoding="utf-8").lower()


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("argv,option", [
    (["--bandwidth", "10"], "--bandwidth"),
    (["--bandwidth", "lots"], "--bandwidth"),
    (["--rtt", "50"], "--rtt"),
    (["--loss", "2"], "--loss"),
    (["--queue", "0"], "--queue"),
    (["--flows", "none"], "--flows"),
    (["--cc", "vegas"], "--cc"),
    (["--duration", "0s"], "--duration"),
    (["--seed", "x"], "--seed"),
    (["--flows", "3", "--cc", "cubic,reno"], "--cc"),
    (["--plot", "out.gif"], "--plot"),
    (["--rcv-buf", "1G"], "--rcv-buf"),
])
def test_bad_arguments_are_one_line_naming_the_option(capsys, argv, option):
    rc, out, err = experiment(capsys, *argv)
    assert rc != 0 and out == ""
    assert err.count("\n") == 1, err
    assert option in err and "Traceback" not in err


def test_unwritable_plot_is_one_line(capsys, tmp_path):
    rc, out, err = experiment(capsys, *SHORT, "--plot", str(tmp_path / "no" / "such" / "dir.png"))
    assert rc == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("synack: --plot: cannot write")


def test_rtt_ratio_and_a_queue_in_bdps(capsys):
    rc, out, err = experiment(capsys, "--bandwidth", "4mbit", "--rtt", "20ms", "--queue", "2bdp", "--flows", "2",
                              "--cc", "reno", "--rtt-ratio", "4", "--duration", "3s", "--format", "json")
    assert rc == 0 and err == ""
    data = json.loads(out)
    assert data["path"]["queue_packets"] == 13          # 2 x (4 Mbit/s x 20 ms) / 1500 octets
    g = data["goodput_bps"]
    assert g[0] > g[1] and data["fairness"] < 1.0      # the flow with 4x the round trip gets less


def test_plot_legends_sit_outside_the_data():
    from synack.scenarios.experiment import ExperimentConfig
    from synack.scenarios.experiment import run as run_experiment
    from synack.trace.plot import figure

    result = run_experiment(ExperimentConfig(bandwidth_bps=2e6, flows=4, queue_packets=8, duration=2_000_000_000))
    labels = {f.conn: f"flow {f.flow} ({f.cc})" for f in result.flows}
    fig = figure(result.events, labels=labels, goodput=result.goodput_series, queue=result.queue_series)
    fig.canvas.draw()
    legends = [(ax, ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 3                                   # flows, RTT samples and SRTT, queue capacity
    for ax, legend in legends:
        assert legend.get_window_extent().x0 >= ax.get_window_extent().x1


def test_a_long_run_shows_a_progress_bar_in_simulated_time():
    from rich.console import Console

    from synack.cli.experiment_cmd import _RunProgress
    from synack.scenarios.experiment import ExperimentConfig
    from synack.scenarios.experiment import run as run_experiment

    screen = io.StringIO()
    bar = _RunProgress(enabled=True, after=0.0, console=Console(file=screen, force_terminal=True, width=100))
    run_experiment(ExperimentConfig(bandwidth_bps=1e6, duration=4_000_000_000, trace="none"), progress=bar.update)
    bar.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "simulated 0." in text and "simulated 4.0 of 4 s" in text and "100%" in text
    assert "left" in text and "━" in text
    # off: not a terminal, or --quiet
    quiet = _RunProgress(enabled=False, after=0.0, console=Console(file=io.StringIO(), force_terminal=True))
    quiet.update(1, 2)
    assert quiet.bar is None


# ------------------------------------------------------------------------------ sweeps
SWEEP = ["--sweep", "--bandwidth", "2mbit", "--rtt", "40ms", "--queue", "10", "--duration", "1s",
         "--cc", "reno,cubic", "--loss", "0,0.02", "--seeds", "1..2"]


# Half of its runs take a second or more of wall time, so a Ctrl-C sent when the first run
# reports lands while others are still running, however fast the simulator gets.
INTERRUPTIBLE = ["--sweep", "--bandwidth", "2mbit,40mbit", "--rtt", "40ms", "--queue", "10", "--duration", "1s",
                 "--cc", "reno", "--loss", "0,0.02", "--seeds", "1..2"]


def rows_of(path: Path) -> list[dict]:
    """The runs of a JSON Lines results file as a user compares them: sorted, no wall time."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted(({k: v for k, v in r.items() if k != "wall_s"} for r in rows), key=lambda r: r["key"])


@pytest.mark.parametrize("argv,start", [
    (["--sweep", "--rtt", "10ms..200ms:0"], "synack: --rtt: the range '10ms..200ms:0' is empty"),
    (["--sweep", "--seeds", "10..1"], "synack: --seeds: the range '10..1' is empty"),
    (["--sweep", "--cc", "cubic,vegas"], "synack: --cc: unknown congestion control 'vegas'"),
    (["--sweep", "--rtt", "10..200:5"], "synack: --rtt: must be a time with its unit"),
    (["--sweep", "--bandwidth", "10,100"], "synack: --bandwidth: must be a rate with its unit"),
    (["--sweep", "--rtt", "10ms..200ms"], "synack: --rtt: a range needs the number of values"),
    (["--sweep", "--cc", "cubic+reno"], "synack: --cc: the sweep has no points to run (cubic+reno needs at least 2"),
    (["--bandwidth", "10mbit,100mbit"], "synack: --bandwidth: '10mbit,100mbit' gives 2 values; lists and ranges "
                                        "need --sweep"),
    (["--seeds", "1..3"], "synack: --seeds: only with --sweep"),
    (["--sweep", "--out", "runs.txt"], "synack: --out: cannot tell the format of 'runs.txt'"),
    (["--sweep", "--resume"], "synack: --resume: needs --out FILE"),
    (["--sweep", "--plot", "x.png"], "synack: --plot: draws one run"),
    (["--sweep", "no-such-study.toml"], "synack: --sweep: cannot read no-such-study.toml"),
    (["--sweep", "--workers", "0"], "synack experiment: error: argument --workers"),
    (["--plot-sweep", "no-such-results.csv"], "synack: --plot-sweep: cannot read no-such-results.csv"),
])
def test_bad_sweeps_are_one_line(capsys, argv, start):
    rc, out, err = experiment(capsys, *argv)
    assert rc != 0 and out == ""
    assert err.count("\n") == 1 and err.startswith(start), err


def test_dry_run_lists_the_points_and_estimates_the_work(capsys):
    rc, out, err = experiment(capsys, *SWEEP, "--flows", "1,2", "--dry-run")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "synack experiment --sweep: 8 points × 2 seeds = 16 runs"
    assert lines[2] == "1  bandwidth 2 Mbit/s, rtt 40 ms, loss 0, queue 10, flows 1, cc reno, duration 1 s"
    assert "seeds: 1, 2" in lines
    work = out[out.index("work:"):]
    assert "16 s of simulated time" in work and "packets a second per core" in work


def test_the_readme_sweep_line_expands(capsys):
    rc, out, _ = experiment(capsys, "--sweep", "--bandwidth", "10Mbit,100Mbit", "--rtt", "10ms..200ms:5", "--loss",
                            "0,0.001,0.01", "--cc", "cubic,reno", "--flows", "1,2", "--seeds", "1..10", "--dry-run")
    assert rc == 0 and out.startswith("synack experiment --sweep: 120 points × 10 seeds = 1200 runs")


def test_sweep_writes_a_row_per_run_and_prints_the_summary(capsys, tmp_path):
    out_file = tmp_path / "runs.jsonl"
    rc, out, err = experiment(capsys, *SWEEP, "--workers", "1", "--out", str(out_file))
    assert rc == 0
    rows = rows_of(out_file)
    assert len(rows) == 8 and {r["status"] for r in rows} == {"ok"}
    # stderr is not a terminal here: one line per finished run, as a batch job's log wants
    progress = err.splitlines()
    assert progress[0] == "synack experiment --sweep: 8 runs on 1 local process"
    assert progress[1].startswith("[1/8] 2 Mbit/s, RTT 40 ms, loss 0, queue 10, 1 flow, reno, 1 s, seed 1: ok in ")
    summary = out.splitlines()
    assert summary[0].split()[:3] == ["loss", "cc", "seeds"] and len(summary) == 5
    # --format json: the same summary as data, and --quiet: nothing on stderr
    rc, js, err = experiment(capsys, *SWEEP, "--workers", "1", "--format", "json", "--quiet")
    assert rc == 0 and err == ""
    groups = json.loads(js)
    assert len(groups) == 4 and all(g["seeds"] == [1, 2] and g["failed"] == 0 for g in groups)
    assert all(set(g["goodput_bps"]) == {"mean", "ci95"} for g in groups)


def test_csv_and_parquet_results_hold_the_same_runs(capsys, tmp_path):
    pytest.importorskip("pyarrow", reason="the cluster extra (pyarrow) is not installed")
    from synack.scenarios.sweepio import read_rows

    tables = []
    for ext in (".csv", ".parquet", ".jsonl"):
        path = tmp_path / f"runs{ext}"
        rc, _, _ = experiment(capsys, *SWEEP, "--seeds", "1", "--workers", "1", "--quiet", "--out", str(path))
        assert rc == 0
        tables.append(sorted(({k: v for k, v in r.items() if k != "wall_s"} for r in read_rows(str(path))),
                             key=lambda r: r["key"]))
    assert tables[0] == tables[1] == tables[2] and len(tables[0]) == 4


def _as_from_a_shell() -> None:
    """The child starts with Ctrl-C as a terminal gives it: default disposition, not blocked,
    whatever the test runner's process inherited or set (an ignored SIGINT is inherited
    through exec, and Python then leaves it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _synack(*argv: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "synack.cli", "experiment", *argv], text=True,
                            preexec_fn=_as_from_a_shell, **kw)


def _sigint_state(pid: int) -> str:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return "; ".join(line for line in status if line.startswith(("SigIgn", "SigBlk", "SigCgt")))


def test_ctrl_c_keeps_what_finished_and_resume_gives_the_uninterrupted_table(tmp_path):
    whole, part = tmp_path / "whole.jsonl", tmp_path / "part.jsonl"
    sweep = [*INTERRUPTIBLE, "--workers", "2"]
    proc = _synack(*sweep, "--out", str(part), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    header = proc.stderr.readline()
    assert header.startswith("synack experiment --sweep: 8 runs")
    first = proc.stderr.readline()                 # the first run finished: press Ctrl-C
    assert first.startswith("[1/8] ")
    state = _sigint_state(proc.pid)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, f"{state}\n{err}"
    last = err.splitlines()[-1]
    assert last.startswith("synack: interrupted: ") and last.endswith(f"are kept in {part}; --resume continues")
    kept = rows_of(part)
    assert 1 <= len(kept) < 8
    assert "Traceback" not in err

    rc = subprocess.run([sys.executable, "-m", "synack.cli", "experiment", *sweep, "--out", str(part), "--resume"],
                        capture_output=True, text=True, timeout=120)
    assert rc.returncode == 0, rc.stderr
    assert rc.stderr.splitlines()[1] == f"{len(kept)} of 8 runs already in {part}: skipped"
    rc = subprocess.run([sys.executable, "-m", "synack.cli", "experiment", *sweep, "--out", str(whole), "--quiet"],
                        capture_output=True, text=True, timeout=120)
    assert rc.returncode == 0, rc.stderr
    assert rows_of(part) == rows_of(whole)
    again = subprocess.run([sys.executable, "-m", "synack.cli", "experiment", *sweep, "--out", str(part), "--resume"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stderr == f"all 8 runs are already in {part}\n"
    assert len(again.stdout.splitlines()) == 5          # the summary of the whole file


def test_ctrl_c_on_a_dask_cluster_is_one_line_too(tmp_path):
    pytest.importorskip("distributed", reason="the cluster extra (dask.distributed) is not installed")
    out = tmp_path / "runs.jsonl"
    proc = _synack(*INTERRUPTIBLE, "--seeds", "1..3", "--dask", "local", "--workers", "2", "--out", str(out),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("synack experiment --sweep: 12 runs on a local Dask cluster")
    assert proc.stderr.readline().startswith("[1/12] ")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "Traceback" not in err and "Error" not in err, err
    assert err.splitlines()[-1].startswith("synack: interrupted: "), err
    assert 1 <= len(rows_of(out)) < 12


def test_a_terminal_shows_a_progress_bar(tmp_path):
    leader, follower = pty.openpty()
    proc = _synack(*SWEEP, "--seeds", "1", "--workers", "1", "--out", str(tmp_path / "r.csv"),
                   stdout=subprocess.PIPE, stderr=follower, env={**os.environ, "COLUMNS": "120", "TERM": "xterm"})
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:   # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    proc.communicate(timeout=60)
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", "replace"))   # colours and cursor moves
    assert proc.returncode == 0
    assert "4 runs on 1 local process" in text
    assert "4/4" in text and "failed 0" in text and "ETA" in text and "━" in text


def test_plot_sweep_draws_the_four_figures_of_a_study(capsys, tmp_path):
    study = tmp_path / "study.toml"
    study.write_text("""
bandwidth = "2mbit"
rtt = "40ms"
duration = "1s"
seeds = "1..2"

[[grid]]     # goodput against loss, Reno beside the Mathis bound
cc = "reno"
loss = "0.005,0.02"

[[grid]]     # utilisation against queue size
cc = "reno"
queue = "0.25bdp,2bdp"

[[grid]]     # fairness against the RTT ratio of two flows
cc = "reno"
flows = 2
rtt-ratio = "1,4"

[[grid]]     # CUBIC against Reno
cc = "cubic+reno"
flows = 2
rtt = "20ms,80ms"
""")
    results = tmp_path / "study.csv"
    rc, _, err = experiment(capsys, "--sweep", str(study), "--workers", "1", "--quiet", "--out", str(results))
    assert rc == 0 and err == ""
    rc, out, err = experiment(capsys, "--plot-sweep", str(results), "--plot-format", "svg")
    assert rc == 0 and err == ""
    names = ["goodput-loss", "utilisation-queue", "fairness-rtt-ratio", "cubic-share"]
    assert out.splitlines() == [str(tmp_path / f"study-{n}.svg") for n in names]
    svg = (tmp_path / "study-goodput-loss.svg").read_text()
    assert "Mathis et al. bound (reno)" in svg and "Mbit/s = 10⁶ bit/s" in svg
