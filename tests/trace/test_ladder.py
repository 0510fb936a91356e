"""The terminal ladder: golden text of small runs, and the properties a reader relies on.

Golden files live in tests/trace/golden/. After an intended change to the ladder (or to
the stack's behaviour), regenerate them with ``make golden`` and review the diff
(tests/golden.py).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import trace_runs
from golden import check_golden

from synack.trace.jsonl import read_jsonl, to_records, write_jsonl
from synack.tcp.state import TRANSITIONS
from synack.trace.ladder import infer_states, ladder_from_events, render_ladder, use_color
from synack.trace.timeline import display_width
from synack.trace.pcapng import read_capture, write_pcapng

GOLDEN = Path(__file__).parent / "golden"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _golden(name: str, text: str) -> None:
    check_golden(GOLDEN / f"{name}.txt", text, "ladder")


def _ladder(net, **kw) -> str:
    kw.setdefault("color", False)
    return ladder_from_events(net.recorder.events, net.recorder.names, **kw)


@pytest.fixture(scope="module")
def runs():
    return {"session": trace_runs.session(), "lossy": trace_runs.lossy_session(),
            "refused": trace_runs.refused(), "half_close": trace_runs.half_close(),
            "three_hosts": trace_runs.three_hosts()}


@pytest.mark.parametrize("name, run, kw", [
    ("session", "session", {}),
    ("session-rfc", "session", {"notation": "rfc"}),
    ("lossy", "lossy", {}),
    ("refused", "refused", {}),
    ("half-close", "half_close", {}),
    ("three-hosts", "three_hosts", {}),
    ("three-hosts-bob-server", "three_hosts", {"hosts": ["bob", "server"]}),
])
def test_golden_ladders(runs, name, run, kw):
    _golden(name, _ladder(runs[run], **kw))


# ---- what the golden files show, asserted directly ---------------------------------------

def _rows(text: str) -> list[str]:
    return text.splitlines()


def test_segments_are_arrows_with_tcpdump_labels_and_states_after_each_row(runs):
    rows = _rows(_ladder(runs["session"]))
    # a segment whose arrival changes a state gets a row when it leaves and one when it
    # arrives, so every state shows at the time it was entered
    dep, arr = [r for r in rows if "[S] seq 0" in r]
    assert re.search(r"^ +0\.000 +SYN-SENT │── \[S\] seq 0, win \d+, \[mss 1460[^]]*\] ─+ ⋯│ LISTEN$", dep)
    assert re.search(r"^ +10\.000 +SYN-SENT │⋯ ─ \[S\] seq 0, .*─▶│ SYN-RECEIVED$", arr)
    synack = [r for r in rows if "[S.]" in r][1]
    assert re.search(r"^ +20\.000  ESTABLISHED │◀─+ \[S\.\] seq 0, ack 1, win \d+, "
                     r"\[mss 1460[^]]*\] ─ ⋯│ SYN-RECEIVED$", synack)
    data = next(r for r in rows if "[P.] seq 1:19" in r)
    assert re.search(r"ack 1, win \d+, len 18 ─+▶│", data)  # no state changes: one row
    assert rows[1].split() == ["CLOSED", "│", "│", "CLOSED"]  # states before anything happened
    assert "listen() on :80" in rows[2] and rows[2].split()[-1] == "LISTEN"
    assert rows[-1].split()[1] == "CLOSED" and rows[-1].split()[-1] == "CLOSED"


def test_closing_the_listener_is_not_closing_the_connection(runs):
    rows = _rows(_ladder(runs["session"]))
    closes = [r for r in rows if "close()" in r]
    assert any(r.rstrip().endswith("close() │ LAST-ACK") for r in closes)
    lst = next(r for r in closes if "of listener :80" in r)
    assert lst.split()[-1] == "LAST-ACK"  # the connection, still open, is what the column shows


def test_application_calls_stand_at_their_host(runs):
    text = _ladder(runs["half_close"])
    rows = _rows(text)
    shut = next(r for r in rows if "shutdown(SHUT_WR)" in r)
    assert shut.index("shutdown") < len(shut) // 2  # the client's side (left)
    accept = next(r for r in rows if "accept() = client:" in r)
    assert accept.index("accept") > len(rows[0]) // 3  # the server's side (right)
    assert "sendall(100)" in text and "recv(1024) = 100" in text and "close()" in text
    # close() is drawn before the FIN it sends, and the state it entered is on its row
    i = next(k for k, r in enumerate(rows) if "shutdown(SHUT_WR)" in r)
    assert "FIN-WAIT-1" in rows[i] and "[F.]" in rows[i + 1]


def test_lost_segments_end_in_a_cross_and_retransmissions_give_their_cause(runs):
    rows = _rows(_ladder(runs["lossy"]))
    syns = [r for r in rows if "[S] seq 0" in r]
    assert len(syns) == 4  # two lost, the third leaves and arrives
    assert syns[0].rstrip().endswith("lost: scripted (drop_nth(1))") and "──✗│" in syns[0]
    assert "RTO #1, rto=1.0s; lost: scripted (drop_nth(2))" in syns[1]
    assert "─ ⋯│" in syns[2] and syns[2].rstrip().endswith("RTO #2, rto=2.0s") and "─▶│" in syns[3]
    reply = [r for r in rows if "[P.] seq 1:25" in r]
    assert "│✗─" in reply[0] and "│◀─" in reply[1] and "RTO #1, rto=200ms" in reply[1]


def test_idle_gaps_are_folded(runs):
    rows = _rows(_ladder(runs["session"]))
    fold = [r for r in rows if "pass" in r]
    assert len(fold) == 1 and "⋮" in fold[0] and "59.99 s pass" in fold[0]
    assert not any("pass" in r for r in _rows(_ladder(runs["session"], fold_gap=None)))
    assert len([r for r in _rows(_ladder(runs["lossy"])) if "pass" in r]) == 2  # the 2 s backoff, TIME-WAIT


def test_timers_are_notes_and_can_be_left_out(runs):
    text = _ladder(runs["session"])
    assert "client: TIME-WAIT timer 60.0 s" in text and "TIME-WAIT timer expired" in text
    quiet = _ladder(runs["session"], timers=False)
    assert "timer" not in quiet
    # without the timer row the TIME-WAIT expiry still shows as a state row
    assert quiet.splitlines()[-1].split()[1:] == ["CLOSED", "│", "│", "CLOSED"]


def test_relative_and_absolute_numbers(runs):
    net = runs["session"]
    syn = next(e for e in net.recorder.events if e.event == "send")
    absolute = _ladder(net, absolute=True)
    assert f"[S] seq {int(syn.seg.seq)}, win" in absolute  # raw ISN
    assert "[S] seq 0, win" in _ladder(net)
    rfc = _ladder(net, notation="rfc", absolute=True)
    assert f"<SEQ={int(syn.seg.seq)}><CTL=SYN>" in rfc
    assert "<SEQ=1><ACK=1><CTL=PSH,ACK><DATA=18>" in _ladder(net, notation="rfc")


def test_refused_connection_shows_the_reset_and_the_exception(runs):
    text = _ladder(runs["refused"])
    assert "[R.] seq 0, ack 1, win 0" in text
    assert "server discarded it: no-listener" in text
    assert "connect(server:81) → ConnectionRefusedError" in text
    assert "client: error: connection refused" in text


def test_three_hosts_name_both_ends_of_every_arrow(runs):
    rows = _rows(_ladder(runs["three_hosts"]))
    assert rows[0].split() == ["ms", "alice", "server", "bob"]
    seg_rows = [r for r in rows if "seq" in r]
    assert seg_rows and all(re.search(r"(alice|bob|server) (──|⋯ ─) .* (──▶|──✗|─ ⋯) (alice|bob|server)", r)
                            for r in seg_rows)
    assert any("bob ── [S] seq 0" in r and "──✗ server" in r for r in rows)
    two = _ladder(runs["three_hosts"], hosts=["bob", "server"])
    assert "alice" not in two.replace("accept() = alice", "")


def test_one_path_for_events_json_lines_and_captures(runs, tmp_path):
    net = runs["lossy"]
    from_events = _ladder(net)
    path = tmp_path / "t.jsonl"
    write_jsonl(net.recorder.events, path, net.recorder.names)
    assert render_ladder(read_jsonl(path), color=False) == from_events
    cap = tmp_path / "t.pcapng"
    write_pcapng(net.recorder.events, cap, net.recorder.names)
    rows = _rows(render_ladder(read_capture(cap), color=False))
    sends = [e for e in net.recorder.events if e.event == "send"]
    seg_rows = [r for r in rows if " seq " in r]
    assert len(seg_rows) == len(sends)
    assert sum("✗" in r for r in seg_rows) == 3  # the comments carry the losses


@pytest.mark.parametrize("run", ["session", "half_close"])
def test_states_of_a_capture_are_inferred_like_the_stack_went_through_them(runs, tmp_path, run):
    net = runs[run]
    cap = tmp_path / "s.pcapng"
    write_pcapng(net.recorder.events, cap, net.recorder.names)
    inferred = [r for r in infer_states(read_capture(cap), TRANSITIONS) if r["event"] == "state"]
    assert all("inferred from the segments on the wire" in r["cause"] for r in inferred)
    actual = [e for e in net.recorder.events if e.event == "state" and e.cause != "2*MSL elapsed"]
    for host in ("client", "server"):
        assert [(r["from"], r["to"]) for r in inferred if r["host"] == host] == [
            (e.old, e.new) for e in actual if e.host == host]
    rows = _rows(render_ladder(read_capture(cap), color=False, transitions=TRANSITIONS))
    assert rows[1].split() == ["CLOSED", "│", "│", "LISTEN"]
    assert rows[-1].split()[1] == "TIME-WAIT" and rows[-1].split()[-1] == "CLOSED"
    # without the table a capture has no states to show
    assert _rows(render_ladder(read_capture(cap), color=False))[1].split() == ["│", "│"]


def test_inferred_states_follow_only_the_transitions_given():
    syn = {"t": 0.0, "host": "a", "event": "send", "src": "a", "dst": "b", "src_addr": "10.0.0.1", "src_port": 5,
           "dst_addr": "10.0.0.2", "dst_port": 80, "flags": "S", "seq": 1, "ack": 0, "len": 0, "win": 1, "urg": 0,
           "options": [], "retransmit": False, "cause": None, "conn": None}
    rst = dict(syn, t=0.001, host="b", src="b", dst="a", src_addr="10.0.0.2", src_port=80, dst_addr="10.0.0.1",
               dst_port=5, flags="R.", seq=0, ack=2)
    got = [(r["host"], r["from"], r["to"]) for r in infer_states([syn, rst], TRANSITIONS) if r["event"] == "state"]
    # a refused connect: nothing listened on b, so b is never LISTEN or SYN-RECEIVED
    assert got == [("a", "CLOSED", "SYN-SENT"), ("a", "SYN-SENT", "CLOSED")]
    no_syn_sent = {(a, b) for a, b in TRANSITIONS if str(b) != "SYN-SENT"}
    assert [r for r in infer_states([syn, rst], no_syn_sent) if r["event"] == "state"] == []


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_width_is_the_widest_line(runs, width):
    for run in ("session", "lossy", "three_hosts") if width >= 80 else ("session", "lossy"):
        rows = _rows(_ladder(runs[run], width=width))
        assert max(display_width(r) for r in rows) <= width, run
    rows = _rows(_ladder(runs["session"], width=140))
    assert max(display_width(r) for r in rows) >= 138  # arrows stretch to use the room


def test_long_notes_wrap_and_long_labels_continue_on_the_next_line(runs):
    rows = _rows(_ladder(runs["lossy"], width=80))
    i = next(k for k, r in enumerate(rows) if "RTO #1, rto=1.0s" in r)
    around = " ".join(" ".join(rows[i:i + 3]).replace("│", " ").split())
    assert "RTO #1, rto=1.0s; lost: scripted (drop_nth(2))" in around
    syn = next(k for k, r in enumerate(rows) if "[S] seq 0" in r)
    assert "[mss 1460" in rows[syn] + rows[syn + 1]


def test_bad_arguments_are_value_errors(runs):
    recs = to_records(runs["session"].recorder.events, runs["session"].recorder.names)
    with pytest.raises(ValueError, match="notation must be 'tcpdump' or 'rfc'"):
        render_ladder(recs, notation="ascii")
    with pytest.raises(ValueError, match="hosts: mallory not in the trace"):
        render_ladder(recs, hosts=["client", "mallory"])
    assert render_ladder([], color=False) == "(empty trace)\n"


# ---- colour ---------------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_follows_no_color_and_the_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(None, _Tty()) is True
    assert use_color(None, io.StringIO()) is False  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(None, _Tty()) is False
    monkeypatch.setenv("NO_COLOR", "")  # https://no-color.org: only a non-empty value counts
    assert use_color(None, _Tty()) is True
    assert use_color(False, _Tty()) is False and use_color(True, io.StringIO()) is True


def test_no_color_gives_plain_text_and_colour_is_the_same_text_styled(runs, monkeypatch):
    net = runs["lossy"]
    plain = _ladder(net, color=False)
    assert "\x1b[" not in plain
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("sys.stdout", _Tty())
    assert _ladder(net, color=None) == plain
    monkeypatch.delenv("NO_COLOR")
    coloured = _ladder(net, color=None)
    assert "\x1b[" in coloured
    assert "\n".join(line.rstrip() for line in ANSI.sub("", coloured).splitlines()) + "\n" == plain


def test_a_read_woken_by_a_burst_is_drawn_after_tcps_ack_and_before_the_window_update_it_sent():
    # The server's recv() returns because ten segments arrived: TCP ACKed them first (a window
    # shrunk by what waits unread); the read itself then opened the window again.
    net = trace_runs._net()
    srv = trace_runs.api.create_server(net, "server", (trace_runs.SERVER_ADDR, 80))
    cli = trace_runs.api.create_connection(net, "client", (trace_runs.SERVER_ADDR, 80))
    conn, _ = srv.accept()
    cli.sendall(bytes(200_000))
    got = 0
    while got < 200_000:
        got += len(conn.recv(65536))
    cli.close()
    conn.close()
    net.run()
    rows = _rows(_ladder(net))
    reads = [i for i, r in enumerate(rows) if "recv(65536) = " in r]
    assert len(reads) >= 3
    acks_before = [rows[i - 1] for i in reads]
    assert all(re.search(r"\[\.\] seq 1, ack \d+, win \d+ ──│", r) for r in acks_before), acks_before
    updates_after = [rows[i + 1] for i in reads if "win 64 ──│" in rows[i + 1]]
    assert updates_after, "no read drawn above the window update it sent"
    # the first read: the ACK before it advertises the room left by 14,480 unread octets
    assert re.search(r"ack 14481, win 50 ──│", rows[reads[0] - 1]), rows[reads[0] - 1]


def test_the_readme_shows_what_its_watching_example_prints(tmp_path, monkeypatch, capsys):
    """README.md, "Watching what happened": the ladder block is what the example prints."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Watching what happened"):]
    a = section.index("```python\n") + 10
    code = section[a:section.index("```\n", a)]
    b = section.index("```text\n", a) + 8
    shown = section[b:section.index("```\n", b)]
    monkeypatch.chdir(tmp_path)  # (it writes run.jsonl and run.pcapng)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == shown
    assert (tmp_path / "run.jsonl").stat().st_size and (tmp_path / "run.pcapng").stat().st_size
