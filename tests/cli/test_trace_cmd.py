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
    code, out, err = _run(capsys, "trace", str(d / "run.jsonl"), "--no-color")
    assert code == 0 and err == ""
    assert out == ladder_from_events(net.recorder.events, net.recorder.names, color=False)


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
