"""`synack trace FILE`: JSON Lines traces and pcap/pcapng captures drawn as the same ladder;
every error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "trace"))
import trace_runs  # noqa: E402

from synack.cli import main  # noqa: E402
from synack.trace.jsonl import read_jsonl, to_records, write_jsonl  # noqa: E402
from synack.trace.ladder import ladder_from_events  # noqa: E402
from synack.trace.pcapng import write_pcapng  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    net = trace_runs.lossy_session()
    d = tmp_path_factory.mktemp("cli")
    write_jsonl(net.recorder.events, d / "run.jsonl", net.recorder.names)
    write_pcapng(net.recorder.events, d / "run.pcapng", net.recorder.names)
    write_pcapng(net.recorder.events, d / "noname.pcapng", {})
    return net, d


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_renders_a_json_lines_trace_as_the_ladder(files, capsys):
    net, d = files
    code, out, err = _run(capsys, "trace", str(d / "run.jsonl"), "--no-color", "--width", "100")
    assert code == 0 and err == ""
    assert out == ladder_from_events(net.recorder.events, net.recorder.names, color=False, width=100)


def test_options_reach_the_ladder(files, capsys):
    net, d = files
    code, out, _ = _run(capsys, "trace", str(d / "run.jsonl"), "--no-color", "--notation", "rfc", "--absolute")
    syn = next(e for e in net.recorder.events if e.event == "send")
    assert code == 0 and f"<SEQ={int(syn.seg.seq)}><CTL=SYN>" in out
    code, out, _ = _run(capsys, "trace", str(d / "run.jsonl"), "--hosts", "server,client", "--no-timers")
    assert code == 0 and out.splitlines()[0].split() == ["ms", "server", "client"] and "timer" not in out
    assert "\x1b[" not in out  # not a terminal: plain text


def test_renders_a_pcapng_capture(files, capsys):
    net, d = files
    code, out, _ = _run(capsys, "trace", str(d / "run.pcapng"), "--no-color")
    assert code == 0
    assert out.splitlines()[0].split() == ["ms", "client", "server"]
    assert out.count(" seq ") == sum(e.event == "send" for e in net.recorder.events)
    assert "lost: scripted (drop_nth(1))" in out


def test_names_name_the_addresses_of_a_capture(files, capsys):
    _, d = files
    code, out, _ = _run(capsys, "trace", str(d / "noname.pcapng"), "--names", "10.0.0.1=alice,10.0.0.2=bob",
                        "--no-color")
    assert code == 0 and out.splitlines()[0].split() == ["ms", "alice", "bob"]
    code, out, _ = _run(capsys, "trace", str(d / "noname.pcapng"), "--no-color")
    assert out.splitlines()[0].split() == ["ms", "10.0.0.1", "10.0.0.2"]


def test_format_json_re_emits_the_records(files, capsys, tmp_path):
    net, d = files
    code, out, _ = _run(capsys, "trace", str(d / "run.jsonl"), "--format", "json")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == to_records(net.recorder.events, net.recorder.names)
    code, out, _ = _run(capsys, "trace", str(d / "run.pcapng"), "--format", "json")
    path = tmp_path / "from-pcap.jsonl"
    path.write_text(out, encoding="utf-8")
    sends = read_jsonl(path)
    assert [r["seq"] for r in sends if r["event"] == "send"] == [
        int(e.seg.seq) for e in net.recorder.events if e.event == "send"]


@pytest.mark.parametrize("setup, argv_tail, message", [
    (None, [], "no such file"),
    ("dir", [], "is a directory"),
    ("text", [], "unknown format (expected JSON Lines, pcap or pcapng)"),
    ("empty", [], "empty file"),
    ("badjson", [], ":2: not JSON"),
    ("badfield", [], ":1: send record: missing field"),
    ("badpcap", [], "not supported"),
    ("good", ["--hosts", "client,mallory"], "hosts: mallory not in the trace"),
    ("good", ["--names", "10.0.0.1"], "--names: expected ADDR=NAME"),
    ("good", ["--hosts", ","], "--hosts: expected one or more host names"),
], ids=["missing", "directory", "unknown-format", "empty", "malformed-json", "schema", "link-type",
        "unknown-host", "bad-names", "empty-hosts"])
def test_errors_are_one_clear_line_and_a_non_zero_exit(files, capsys, tmp_path, setup, argv_tail, message):
    _, d = files
    path = tmp_path / "input"
    if setup == "dir":
        path.mkdir()
    elif setup == "text":
        path.write_text("hello\n")
    elif setup == "empty":
        path.write_bytes(b"")
    elif setup == "badjson":
        path.write_text(json.dumps({"t": 0, "host": "a", "event": "x"}) + "\n{oops\n")
    elif setup == "badfield":
        path.write_text('{"t": 0, "host": "a", "event": "send", "conn": null}\n')
    elif setup == "badpcap":
        path.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + b"\x00" * 8 + b"\xff\xff\x00\x00" + b"\x93\x00\x00\x00")
    elif setup == "good":
        path = d / "run.jsonl"
    code, out, err = _run(capsys, "trace", str(path), *argv_tail)
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("synack: ") and message in err
    assert "Traceback" not in err


def test_bad_option_values_are_argparse_errors(files, capsys):
    _, d = files
    with pytest.raises(SystemExit) as e:
        main(["trace", str(d / "run.jsonl"), "--notation", "ascii"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'ascii'" in err
    with pytest.raises(SystemExit):
        main(["trace", str(d / "run.jsonl"), "--width", "5"])
    assert "must be between 20 and 1000" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["trace", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--absolute", "--notation", "--no-color", "--hosts", "--names", "--format"):
        assert opt in out


# ---- captures of any TCP: analysis flags, inferred states, the cut, HTML and graphs -------

def _pcap(events, path) -> None:
    """Classic pcap (LINKTYPE_RAW, microseconds) of every segment sent: no synack comments,
    so it reads like a capture of somebody else's TCP."""
    import struct

    from synack.wire.ip import emit_packet

    data = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    for ev in events:
        if ev.event == "send":
            pkt = emit_packet(ev.src, ev.dst, ev.seg, 64)
            data += struct.pack("<IIII", ev.t // 10**9, (ev.t % 10**9) // 1000, len(pkt), len(pkt)) + pkt
    path.write_bytes(data)


@pytest.fixture(scope="module")
def sack_pcap(tmp_path_factory):
    from synack import scenarios

    res = scenarios.run("sack-recovery")
    path = tmp_path_factory.mktemp("sack") / "sack.pcap"
    _pcap(res.net.recorder.events, path)
    return res, path


def test_a_foreign_capture_gets_wireshark_style_analysis_flags(sack_pcap, capsys):
    _, path = sack_pcap
    code, out, err = _run(capsys, "trace", str(path), "--names", "10.0.0.1=client,10.0.0.2=server", "--width", "200")
    assert code == 0 and err == ""
    text = " ".join(out.split())
    for flag in ("dup ACK #1", "dup ACK #3", "fast retransmission", "retransmission"):
        assert flag in text, flag
    assert "[sack 2 {7241:8689}{4345:5793}]" in text   # relative blocks, as tcpdump prints them
    first = out.splitlines()[1].split()
    assert first == ["CLOSED", "│", "│", "LISTEN"]       # states inferred from the segments


def test_a_capture_of_a_refused_connect_never_shows_a_listener(tmp_path, capsys):
    net = trace_runs.refused()
    path = tmp_path / "refused.pcap"
    _pcap(net.recorder.events, path)
    code, out, _ = _run(capsys, "trace", str(path), "--no-color")
    assert code == 0
    assert "LISTEN" not in out and "SYN-RECEIVED" not in out
    assert out.splitlines()[-1].split()[1] == "CLOSED"


def test_a_truncated_capture_is_drawn_up_to_the_cut_with_a_warning(sack_pcap, tmp_path, capsys):
    _, path = sack_pcap
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(path.read_bytes()[:-100])
    code, out, err = _run(capsys, "trace", str(cut), "--no-color")
    assert code == 0
    assert err.startswith("synack: warning: ") and "truncated" in err and "before the cut" in err
    assert len(err.splitlines()) == 1
    assert out.count(" seq ") > 50


def test_html_plot_and_json_of_a_capture(sack_pcap, tmp_path, capsys):
    _, path = sack_pcap
    html, png = tmp_path / "r.html", tmp_path / "g.png"
    code, out, err = _run(capsys, "trace", str(path), "--html", str(html), "--plot", str(png), "--format", "json")
    assert code == 0 and err == ""
    assert [json.loads(line)["event"] for line in out.splitlines()][:3] == ["send", "send", "send"]
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "time-sequence" in page
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


@pytest.mark.parametrize("argv, words", [
    (["--plot", "g.gif"], "--plot: g.gif: the graphs are written as .png, .svg, .pdf"),
    (["--html", "/nonexistent-dir/r.html"], "--html: cannot write /nonexistent-dir/r.html"),
])
def test_bad_output_files_are_one_line(sack_pcap, capsys, argv, words):
    _, path = sack_pcap
    code, out, err = _run(capsys, "trace", str(path), *argv)
    assert code != 0 and out == "" and err.startswith(f"synack: {words}") and len(err.splitlines()) == 1
