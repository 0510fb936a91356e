"""The interpreter judges what it sees: a script that matches the stack passes, and each
kind of mismatch fails at the right line with the expected and the actual packet (or
result) — on the simulator, where nothing takes wall time. And `synack drill` reports it
as one line per script, JSON for tools, an HTML ladder, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from synack.drill import Settings, parse_text, run_script
from synack.trace.events import SegmentSent

LISTEN = """\
// profile: linux
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460,sackOK,nop,nop>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
  +.1 < . 1:1(0) ack 1 win 65535
   +0 accept(3, ..., ...) = 4
"""


def run(body: str, **kw):
    return run_script(parse_text(LISTEN + body, "t.pkt"), "sim", Settings(seed=1, **kw))


def test_a_script_that_matches_passes():
    r = run("   +0 write(4, ..., 100) = 100\n"
            "   +0 > P. 1:101(100) ack 1\n"
            "  +.1 < . 1:1(0) ack 101 win 65535\n")
    assert r.status == "pass", r.failure
    assert r.script_seconds == pytest.approx(0.2)


def test_wrong_flags_fail_at_the_line_with_both_packets_in_tcpdump_form():
    r = run("   +0 write(4, ..., 100) = 100\n"
            "   +0 > F. 1:101(100) ack 1\n")
    assert r.status == "fail"
    f = r.failure
    assert f.line == 11 and f.script_line == "+0 > F. 1:101(100) ack 1"
    assert "flag FIN expected set" in f.message
    assert f.expected.startswith("Flags [F.], seq 1:101, ack 1, win any")
    assert f.actual.startswith("Flags [P.], seq 1:101, ack 1, win 64240")  # (44 * 1460, as Linux)


def test_a_packet_at_the_wrong_time_is_a_timing_error():
    r = run("   +0 write(4, ..., 100) = 100\n"
            "  +.1 > P. 1:101(100) ack 1\n")
    assert r.status == "fail" and r.failure.line == 11
    assert r.failure.message.startswith("timing error: expected outbound packet at 0.200000 s "
                                        "but it happened at 0.100000 s")


def test_a_packet_never_sent_is_reported_with_what_came_instead():
    r = run("   +0 > P. 1:101(100) ack 1\n")
    assert r.status == "fail" and r.failure.line == 10
    assert "the stack sent none" in r.failure.message and r.failure.actual == "(nothing)"


def test_a_wrong_system_call_result_names_both():
    r = run("   +0 read(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)\n")
    assert r.status == "fail"
    assert r.failure.message == "read() would block here; a call that may block needs a time range " \
                                "such as '+0...0.100 read(...)'"
    r = run("   +0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
            "   +0 read(4, ..., 100) = 0\n")
    assert r.failure.message == "read() returned -1 EAGAIN (Resource temporarily unavailable), expected 0"


def test_a_blocking_call_returns_when_the_data_comes_and_its_end_time_is_checked():
    body = ("   +0...{end} read(4, ..., 1000) = 10\n"
            "  +.2 < P. 1:11(10) ack 1 win 65535\n")
    assert run(body.format(end="0.200")).status == "pass"
    r = run(body.format(end="0.100"))
    assert r.status == "fail" and r.failure.line == 10
    assert r.failure.message.startswith("timing error: expected read() to return at 0.200000 s "
                                        "but it happened at 0.300000 s")


def test_one_line_may_cover_back_to_back_segments_of_equal_size():
    r = run("   +0 setsockopt(4, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0\n"
            "   +0 write(4, ..., 3000) = 3000\n"
            "   +0 > P. 1:3001(3000) ack 1\n")
    assert r.status == "pass", r.failure
    r = run("   +0 setsockopt(4, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0\n"
            "   +0 write(4, ..., 3000) = 3000\n"
            "   +0 > P. 1:2001(2000) ack 1\n")
    assert r.status == "fail" and "2920 in 2 segments (1460 + 1460)" in r.failure.message


def test_code_blocks_without_tcp_info_are_skipped_not_passed(monkeypatch):
    from synack.api import options

    monkeypatch.delitem(options.OPTIONS, (6, 11))  # a socket without TCP_INFO
    r = run("   +0 %{ assert tcpi_snd_cwnd == 10 }%\n")
    assert r.status == "pass"
    assert r.skipped == ["line 10: %{ }% block skipped: synack's socket has no TCP_INFO (Protocol not available)"]


def test_sysctls_become_synack_settings_or_are_reported_skipped():
    sc = parse_text("// profile: linux\n"
                    "`sysctl -q net.ipv4.tcp_timestamps=0 net.ipv4.tcp_min_tso_segs=1`\n" + LISTEN.split("\n", 1)[1]
                    .replace("<mss 1460,sackOK,nop,nop>", "<mss 1460,sackOK,TS val 1 ecr 0>"), "t.pkt")
    r = run_script(sc, "sim", Settings(seed=1))
    assert r.status == "pass", r.failure  # no TS in the SYN,ACK: timestamps are off
    assert r.skipped == ["line 2: sysctl net.ipv4.tcp_min_tso_segs=1 skipped: synack has no TSO autosizing"]


def test_an_unknown_system_call_is_an_error_of_the_script():
    r = run("   +0 frobnicate(4) = 0\n")
    assert r.status == "error" and r.failure.line == 10
    assert r.failure.message.startswith("unknown system call frobnicate()")


def test_the_same_seed_gives_the_same_run():
    body = "   +0 write(4, ..., 100) = 100\n   +0 > P. 1:101(100) ack 1\n"

    def sent(seed: int) -> list:
        r = run_script(parse_text(LISTEN + body, "t.pkt"), "sim", Settings(seed=seed))
        return [(e.t, e.src, e.dst, e.seg) for e in r.events if type(e) is SegmentSent]

    assert sent(3) == sent(3)
    assert sent(3) != sent(4)  # other ports and ISNs


# ----------------------------------------------------------------------------- the command
def synack(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synack.cli", "drill", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_cli_prints_one_line_per_script_and_fails_with_details(tmp_path):
    good = tmp_path / "good.pkt"
    good.write_text(LISTEN)
    bad = tmp_path / "bad.pkt"
    bad.write_text(LISTEN + "   +0 write(4, ..., 10) = 10\n   +0 > . 1:11(10) ack 1\n")
    p = synack(str(good), str(bad))
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith(f"PASS  {good} (sim, profile linux, 0.100 s of script time)")
    assert lines[1].startswith(f"FAIL  {bad}:11 (sim, profile linux")
    assert lines[2] == "      flag PSH expected clear but is set (flags [.] vs [P.])"
    assert lines[3] == "      script:   +0 > . 1:11(10) ack 1"
    assert lines[4].startswith("      expected: Flags [.], seq 1:11, ack 1")
    assert lines[5].startswith("      actual:   Flags [P.], seq 1:11, ack 1")
    assert lines[-1] == "2 scripts: 1 passed, 1 failed"
    assert synack(str(good)).returncode == 0


def test_cli_json_and_html(tmp_path):
    good = tmp_path / "good.pkt"
    good.write_text(LISTEN)
    page = tmp_path / "run.html"
    p = synack(str(good), "--format", "json", "--html", str(page))
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["status"] == "pass" and rec["target"] == "sim" and rec["profile"] == "linux"
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "script" in html


def test_cli_bad_script_is_one_line_with_line_and_column(tmp_path):
    bad = tmp_path / "bad.pkt"
    bad.write_text("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > S 0:0(0) <mss 1460,\n")
    p = synack(str(bad))
    assert p.returncode == 1
    assert "Traceback" not in p.stdout + p.stderr
    assert f"{bad}:3:1: parse error: expected a TCP option" in p.stdout


def test_cli_missing_file_and_bad_option_are_one_line_errors(tmp_path):
    p = synack(str(tmp_path / "nope.pkt"))
    assert p.returncode == 2 and p.stderr.strip() == f"synack: {tmp_path / 'nope.pkt'}: no such file"
    p = synack("--target", "moon", str(tmp_path / "nope.pkt"))
    assert p.returncode == 2 and "Traceback" not in p.stderr and "--target" in p.stderr


def test_cli_kernel_target_without_root_says_what_is_missing(tmp_path, monkeypatch, capsys):
    from synack.cli import main
    from synack.drill import kernel

    monkeypatch.setattr(kernel, "unavailable", lambda: "creating a TUN device needs root (CAP_NET_ADMIN)")
    good = tmp_path / "good.pkt"
    good.write_text(LISTEN)
    assert main(["drill", "--target", "kernel", str(good)]) == 2
    assert capsys.readouterr().err.strip() == ("synack: --target kernel needs root and /dev/net/tun: "
                                               "creating a TUN device needs root (CAP_NET_ADMIN)")


def test_an_exception_inside_the_stack_is_an_error_at_the_line_not_a_traceback(monkeypatch):
    from synack.drill import sim

    def broken(self, packet):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.SimTarget, "inject", broken)
    r = run("")
    assert r.status == "error" and r.failure.line == 6
    assert r.failure.message == "sim raised RuntimeError: boom"
