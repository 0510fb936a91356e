"""``synack experiment``: the figures in text and JSON, the plot and report files, and
errors that are one line naming the option, with a non-zero exit status."""

from __future__ import annotations

import argparse
import json

import pytest

from synack.cli import main
from synack.cli.experiment_cmd import parse_bandwidth, parse_duration, parse_loss, parse_rtt

SHORT = ["--bandwidth", "2mbit", "--rtt", "40ms", "--queue", "8", "--duration", "3s"]


def experiment(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``synack experiment ARGV`` in-process: (exit status, stdout, stderr)."""
    try:
        rc = main(["experiment", *argv])
    except SystemExit as e:  # argparse's own errors
        rc = e.code
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
        for label in ("cwnd", "ssthresh", "receive window", "bytes in flight", "RTT", "flow 1 (cubic)",
                      "flow 2 (cubic)"):
            assert label in text, label


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
