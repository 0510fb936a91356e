"""``synack demo``: the story by default, --list, the options, the formats, and errors that
are one line on stderr with a non-zero exit status."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from synack import scenarios
from synack.cli import main
from synack.cli.demo_cmd import parse_delay, parse_loss
from synack.timeunits import ms
from synack.trace.records import check_record

ANSI = re.compile(r"\x1b\[")


def demo(capsys, *argv: str) -> tuple[int | str | None, str, str]:
    """Run ``synack demo ARGV`` in-process: (exit status, stdout, stderr); the status is
    SystemExit's code as it came when argparse exits."""
    rc: int | str | None
    try:
        rc = main(["demo", *argv])
    except SystemExit as e:  # argparse's own errors and --help
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(autouse=True)
def _plain(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")


# ------------------------------------------------------------------------------ the story
def test_plain_demo_tells_the_whole_story(capsys):
    rc, out, err = demo(capsys)
    assert rc == 0 and err == ""
    # the ladder: every step of the story is on it
    for text in ("SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                 "LAST-ACK", "TIME-WAIT", "[S]", "[S.]", "[P.]", "[F.]"):
        assert text in out, text
    ladder, _, rest = out.partition("\n\n")
    assert "TIME-WAIT" in ladder
    rest = " ".join(rest.split())    # a phrase may be wrapped across lines
    # then the explanation, then the notes
    assert "3-way handshake" in rest and "4-way handshake" in rest
    assert rest.index("3-way handshake") < rest.index("In this run:")
    assert "TIME-WAIT began at" in rest
    assert not ANSI.search(out)


def test_demo_in_korean_uses_the_seeds_terms(capsys):
    rc, out, err = demo(capsys, "--lang", "ko")
    assert rc == 0 and err == ""
    out = " ".join(out.split())      # a term may be wrapped across lines
    for term in ("3-way handshake", "4-way handshake", "시퀀스 번호", "확인 응답 번호", "TIME_WAIT",
                 "CLOSE_WAIT", "SYN_SENT", "LAST_ACK", "이번 실행에서는:"):
        assert term in out, term
    rc, out, _ = demo(capsys, "half-close", "--lang", "ko")
    assert rc == 0 and "반 닫기(Half-Close)" in " ".join(out.split())
    rc, out, _ = demo(capsys, "simultaneous-close", "--lang", "ko")
    assert rc == 0 and "동시 종료(Simultaneous Close)" in " ".join(out.split())


def test_korean_text_fits_the_width(capsys):
    from synack.scenarios.i18n import width

    rc, out, _ = demo(capsys, "lost-syn", "--lang", "ko", "--width", "60")
    assert rc == 0
    explanation = out.split("\n\n", 1)[1]
    assert all(width(line) <= 60 for line in explanation.splitlines())


@pytest.mark.parametrize("name", ["time-wait", "fast-open", "sack-recovery"])
def test_every_line_fits_the_width_ladder_included(capsys, name):
    from synack.scenarios.i18n import width

    rc, out, _ = demo(capsys, name, "--width", "80", "--no-color")
    assert rc == 0
    assert max(width(line) for line in out.splitlines()) <= 80


# ------------------------------------------------------------------------------ --list
def test_list_names_every_scenario_one_a_line(capsys):
    rc, out, err = demo(capsys, "--list")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    registry = scenarios.load_all()
    assert [line.split()[0] for line in lines] == list(registry)
    for line, sc in zip(lines, registry.values(), strict=False):
        m = re.fullmatch(r"(\S+)\s{2,}(\S.*)", line)
        assert m is not None, line
        name, summary = m.groups()
        assert summary == " ".join(sc.summary.split())

    def summary_column(line: str) -> int:
        m = re.search(r"\s{2,}\S", line)
        assert m is not None, line
        return m.end()

    # the summaries start in one column
    assert len({summary_column(line) for line in lines}) == 1


# ------------------------------------------------------------------------------ options
def test_named_scenario_with_seed_delay_and_drop(capsys):
    rc, out, err = demo(capsys, "handshake", "--seed", "3", "--delay", "0.5s", "--drop", "2")
    assert rc == 0 and err == ""
    assert "The client was ESTABLISHED at 2 s, the server at 2.5 s." in out
    assert "--drop 2: segment 2 (server -> client, [S.]) was dropped." in out
    assert "✗" in out                                            # the lost SYN,ACK on the ladder


def test_loss_one_times_out_and_says_so(capsys):
    rc, out, err = demo(capsys, "handshake", "--loss", "1")
    assert rc == 0 and err == ""
    assert "TimeoutError" in out.split("In this run:")[1]


def test_absolute_and_rfc_notation(capsys):
    rc, rel, _ = demo(capsys, "handshake")
    rc2, absolute, _ = demo(capsys, "handshake", "--absolute")
    assert rc == rc2 == 0
    res = scenarios.run("handshake")
    iss = next(int(e.seg.seq) for e in res.net.recorder.events if e.event == "send")
    assert f"seq {iss}" in absolute and f"seq {iss}" not in rel and "seq 0" in rel
    rc, rfc, _ = demo(capsys, "handshake", "--notation", "rfc")
    assert rc == 0 and "<SEQ=0><CTL=SYN>" in rfc and "<CTL=SYN,ACK>" in rfc


def test_rfc_figure_scenarios_show_raw_numbers_unless_asked(capsys):
    rc, out, _ = demo(capsys, "two-way")
    assert rc == 0 and "seq 90" in out and "ack 91" in out and "[R] seq 91" in out
    rc, out, _ = demo(capsys, "two-way", "--relative")
    assert rc == 0 and "seq 90," not in out


def test_no_color_has_no_escape_sequences_even_when_colour_is_forced_elsewhere(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    rc, out, _ = demo(capsys, "close", "--no-color")
    assert rc == 0 and not ANSI.search(out)


@pytest.mark.parametrize("text, ns", [("10", ms(10)), ("10ms", ms(10)), ("0.5s", ms(500)),
                                      ("250us", 250_000), ("0", 0), (" 2 ms ", ms(2))])
def test_delay_values(text, ns):
    assert parse_delay(text) == ns


@pytest.mark.parametrize("text, p", [("0", 0.0), ("1", 1.0), ("0.05", 0.05), ("5%", 0.05)])
def test_loss_values(text, p):
    assert parse_loss(text) == pytest.approx(p)


# ------------------------------------------------------------------------------ json
def test_format_json_is_json_lines_and_nothing_else(capsys):
    rc, out, err = demo(capsys, "story", "--format", "json")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    records = [json.loads(line) for line in lines]
    for rec in records:
        check_record(rec)
    res = scenarios.run("story")
    assert len(records) == len(res.net.recorder.events)
    sends = [r for r in records if r["event"] == "send"]
    assert [r["flags"] for r in sends] == ["S", "S.", ".", "P.", ".", "P.", ".", "F.", ".", "F.", "."]
    assert {r["src"] for r in sends} == {"client", "server"}
    assert [r["to"] for r in records if r["event"] == "state" and r["host"] == "client"][-2:] == \
        ["TIME-WAIT", "CLOSED"]


# ------------------------------------------------------------------------------ files
@pytest.mark.skipif(importlib.util.find_spec("synack.trace.pcapng") is None, reason="no pcapng writer")
def test_pcap_file_is_written(capsys, tmp_path):
    f = tmp_path / "story.pcapng"
    rc, out, err = demo(capsys, "--pcap", str(f))
    assert rc == 0 and err == "" and "In this run:" in out
    assert f.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"             # a pcapng Section Header Block


@pytest.mark.skipif(importlib.util.find_spec("synack.trace.html") is None, reason="no HTML writer")
def test_html_file_is_written(capsys, tmp_path):
    f = tmp_path / "story.html"
    rc, _, err = demo(capsys, "time-wait", "--html", str(f), "--format", "json")
    assert rc == 0 and err == ""
    html = f.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "time-wait" in html


# ------------------------------------------------------------------------------ errors
def one_line_error(capsys, *argv: str) -> str:
    rc, out, err = demo(capsys, *argv)
    assert rc != 0
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err
    return err


def test_unknown_scenario_is_one_line(capsys):
    err = one_line_error(capsys, "no-such-scenario")
    assert "no-such-scenario" in err and "--list" in err


@pytest.mark.parametrize("value", ["2", "-0.1", "abc", "nan", "150%"])
def test_bad_loss_is_one_line_naming_loss(capsys, value):
    err = one_line_error(capsys, "handshake", "--loss", value)
    assert "--loss" in err


@pytest.mark.parametrize("argv, word", [
    (["--delay", "fast"], "--delay"), (["--delay", "-5"], "--delay"), (["--delay", "2h"], "--delay"),
    (["--drop", "0"], "--drop"), (["--drop", "x"], "--drop"), (["--seed", "x"], "--seed"),
    (["--lang", "fr"], "--lang"), (["--format", "xml"], "--format"), (["--width", "5"], "--width"),
    (["--absolute", "--relative"], "--relative")])
def test_other_bad_arguments_are_one_line_naming_them(capsys, argv, word):
    err = one_line_error(capsys, "handshake", *argv)
    assert word in err


@pytest.mark.parametrize("option", ["--pcap", "--html"])
def test_unwritable_file_is_one_line_naming_the_option(capsys, tmp_path, option):
    err = one_line_error(capsys, "handshake", option, str(tmp_path / "no" / "such" / "dir" / "x"))
    assert option in err
    err = one_line_error(capsys, "handshake", option, str(tmp_path))   # a directory
    assert option in err


def test_help_everywhere(capsys):
    for argv in (["demo", "--help"], ["--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        out = capsys.readouterr().out
        assert "demo" in out
    with pytest.raises(SystemExit):
        main(["demo", "-h"])
    out = capsys.readouterr().out
    for opt in ("--list", "--seed", "--loss", "--delay", "--drop", "--lang", "--format", "--pcap",
                "--html", "--absolute", "--notation", "--no-color"):
        assert opt in out, opt


def test_readme_shows_what_synack_demo_prints(capsys):
    """README.md, "What you see": the story block is exactly what `synack demo` prints."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## What you see"):]
    block = section[section.index("```text\n") + 8:section.index("```\n", section.index("```text\n") + 8)]
    rc, out, _ = demo(capsys, "--width", "100", "--no-color")
    assert rc == 0 and out == block
    listed = section[section.index("```text\n", section.index("synack demo --list")) + 8:]
    rc, out, _ = demo(capsys, "--list")
    assert listed.startswith(out)


def test_profile_chooses_the_hosts_personality(capsys):
    """--profile rfc: RFC 9293's defaults on the wire (a 65535 window, no scaling needed);
    the default, linux, offers Linux's 64240 with window scale 10 (docs/personalities.md)."""
    rc, out, _ = demo(capsys, "handshake", "--profile", "rfc")
    assert rc == 0 and "win 65535, [mss 1460,sackOK,TS,wscale 0]" in out
    rc, out, _ = demo(capsys, "handshake")
    assert rc == 0 and "win 64240, [mss 1460,sackOK,TS,wscale 10]" in out
    rc, _, err = demo(capsys, "handshake", "--profile", "bsd")
    assert rc == 2 and "invalid choice: 'bsd'" in err
