"""JSON Lines traces: the schema of docs/trace.md on real simulated runs, and the round trip."""

from __future__ import annotations

import io
import json

import pytest
import trace_runs

from synack.trace.jsonl import dumps, parse_jsonl, read_jsonl, to_records, write_jsonl
from synack.trace.records import EVENT_FIELDS, OPTIONAL_FIELDS, check_record, flags_bits, flags_text
from synack.wire.tcp import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG

RFC_STATES = {"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
              "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT"}


@pytest.fixture(scope="module")
def lossy():
    net = trace_runs.lossy_session()
    return net, to_records(net.recorder.events, net.recorder.names)


def test_every_record_has_time_host_and_event_and_passes_the_schema(lossy):
    net, recs = lossy
    assert len(recs) == len(net.recorder.events)
    for rec, ev in zip(recs, net.recorder.events, strict=False):
        check_record(rec)
        assert type(rec["t"]) is float and rec["t"] == ev.t / 1e9
        assert rec["host"] in ("client", "server")
        assert rec["event"] == ev.event
        required = set(EVENT_FIELDS[rec["event"]]) | {"t", "host", "event", "conn"}
        assert required <= set(rec) <= required | set(OPTIONAL_FIELDS.get(rec["event"], {}))


def test_segment_records_name_hosts_and_carry_absolute_numbers(lossy):
    net, recs = lossy
    for rec, ev in zip(recs, net.recorder.events, strict=False):
        if rec["event"] not in ("send", "recv", "drop"):
            continue
        assert {rec["src"], rec["dst"]} == {"client", "server"}
        assert net.recorder.names[rec["src_addr"]] == rec["src"]
        assert (rec["src_port"], rec["dst_port"]) == (ev.seg.src_port, ev.seg.dst_port)
        assert (rec["seq"], rec["ack"]) == (int(ev.seg.seq), int(ev.seg.ack))
        assert rec["len"] == len(ev.seg.payload) and rec["win"] == ev.seg.wnd
        assert flags_bits(rec["flags"]) == ev.seg.flags
    syn = next(r for r in recs if r["event"] == "send" and r["flags"] == "S")
    assert syn["options"][0] == "mss 1460"  # RFC 9293 §3.7.1 MUST-14: every SYN carries the MSS
    assert syn["conn"] == f"10.0.0.1:{syn['src_port']}-10.0.0.2:80"
    recv = next(r for r in recs if r["event"] == "recv" and r["host"] == "server")
    assert recv["conn"] == f"10.0.0.2:80-10.0.0.1:{recv['src_port']}"   # seen from the receiver


def test_flags_are_tcpdump_letters(lossy):
    _, recs = lossy
    seen = {r["flags"] for r in recs if r["event"] == "send"}
    assert {"S", "S.", ".", "P.", "F."} <= seen
    refused = to_records(trace_runs.refused().recorder.events)
    assert "R." in {r["flags"] for r in refused if r["event"] == "send"}
    assert flags_text(RST) == "R" and flags_text(FIN | PSH | ACK) == "FP."
    assert flags_text(FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | NS) == "FSRP.UEWN"
    for bits in range(512):
        assert flags_bits(flags_text(bits)) == bits
    with pytest.raises(ValueError, match="unknown flag letter 'X'"):
        flags_bits("SX")


def test_retransmissions_say_so_with_their_cause_and_drops_their_reason(lossy):
    _, recs = lossy
    rtx = [r for r in recs if r["event"] == "send" and r["retransmit"]]
    assert [(r["host"], r["flags"], r["cause"]) for r in rtx] == [
        ("client", "S", "rto"), ("client", "S", "rto"), ("server", "P.", "rto")]
    firsts = [r for r in recs if r["event"] == "send" and not r["retransmit"]]
    assert all(r["cause"] is None for r in firsts)
    drops = [r for r in recs if r["event"] == "drop"]
    assert [(d["host"], d["flags"], d["reason"]) for d in drops] == [
        ("client", "S", "scripted"), ("client", "S", "scripted"), ("server", "P.", "scripted")]
    assert drops[0]["detail"] == "drop_nth(1)"


def test_state_records_spell_states_as_rfc_9293(lossy):
    _, recs = lossy
    states = [r for r in recs if r["event"] == "state"]
    assert {r["from"] for r in states} | {r["to"] for r in states} <= RFC_STATES
    client = [(r["from"], r["to"]) for r in states if r["host"] == "client"]
    assert client == [("CLOSED", "SYN-SENT"), ("SYN-SENT", "ESTABLISHED"), ("ESTABLISHED", "FIN-WAIT-1"),
                      ("FIN-WAIT-1", "FIN-WAIT-2"), ("FIN-WAIT-2", "TIME-WAIT"), ("TIME-WAIT", "CLOSED")]
    assert all(r["rule"].startswith("RFC 9293 §") for r in states)
    assert all(r["cause"] for r in states)


def test_timer_rtt_cwnd_app_and_error_records(lossy):
    _, recs = lossy
    fired = [r for r in recs if r["event"] == "timer-fired" and r["name"] == "rto" and r["host"] == "client"]
    assert [r["backoff"] for r in fired] == [0, 1]
    armed = [r for r in recs if r["event"] == "timer-armed" and r["host"] == "client" and r["name"] == "rto"]
    assert armed[0]["deadline"] == armed[0]["t"] + 1.0  # the initial RTO is 1 s (RFC 6298 (2.1))
    tw = next(r for r in recs if r["event"] == "timer-armed" and r["name"] == "time-wait")
    assert tw["deadline"] - tw["t"] == pytest.approx(60.0)
    rtt = next(r for r in recs if r["event"] == "rtt")
    assert rtt["rtt"] == pytest.approx(0.02)
    cwnd = next(r for r in recs if r["event"] == "cwnd")
    assert cwnd["cwnd"] > 0 and isinstance(cwnd["ssthresh"], int)
    accept = next(r for r in recs if r["event"] == "app" and r["call"] == "accept")
    assert accept["result"][0] == "10.0.0.1"  # a tuple becomes a JSON list
    refused = to_records(trace_runs.refused().recorder.events)
    assert any(r["event"] == "error" and r["error"] == "refused" for r in refused)
    connect = next(r for r in refused if r["event"] == "app" and r["call"] == "connect")
    assert connect["error"] == "ConnectionRefusedError"


def test_ipv6_endpoints_are_bracketed_and_unnamed_addresses_stay_addresses():
    net = trace_runs.session(v6=True)
    syn = next(r for r in to_records(net.recorder.events, net.recorder.names) if r["event"] == "send")
    assert syn["conn"] == f"[fd00::1]:{syn['src_port']}-[fd00::2]:80"
    assert (syn["src"], syn["dst"]) == ("client", "server")
    bare = next(r for r in to_records(net.recorder.events) if r["event"] == "send")
    assert (bare["src"], bare["dst"]) == ("fd00::1", "fd00::2")


def test_write_then_read_gives_the_same_records(lossy, tmp_path):
    net, recs = lossy
    path = tmp_path / "run.jsonl"
    n = write_jsonl(net.recorder.events, path, names=net.recorder.names)
    assert n == len(recs)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == n and all(json.loads(line)["event"] for line in lines)
    assert read_jsonl(path) == recs
    buf = io.StringIO()
    write_jsonl(net.recorder.events, buf, names=net.recorder.names)
    assert buf.getvalue() == path.read_text(encoding="utf-8")


def test_rfc_rule_text_is_kept_as_written(lossy):
    _, recs = lossy
    state = next(r for r in recs if r["event"] == "state")
    assert "§" in dumps(state)


@pytest.mark.parametrize("text, line, message", [
    ('{"t": 0, "host": "a", "event": "app"', 1, "not JSON"),
    ('\n\n[1, 2]', 3, "a record is a JSON object"),
    ('{"host": "a", "event": "x"}', 1, "missing field 't'"),
    ('{"t": "0", "host": "a", "event": "x"}', 1, "field 't' must be a number"),
    ('{"t": 0, "host": "a", "event": "state", "conn": null, "from": "CLOSED", "to": 3, "cause": "", "rule": ""}',
     1, "state record: field 'to' must be a string"),
    ('{"t": 0, "host": "a", "event": "send", "conn": null}', 1, "send record: missing field 'src'"),
    ('{"t": 0, "host": "a", "event": "app", "conn": null, "call": "recv", "args": "recv(9)", "result": 0, '
     '"error": null, "caused": "2"}', 1, "app record: field 'caused' must be an integer"),
], ids=["truncated", "not-an-object", "missing-t", "string-time", "bad-state", "short-send", "bad-caused"])
def test_bad_lines_raise_value_error_naming_the_line(text, line, message):
    with pytest.raises(ValueError) as e:
        parse_jsonl(text.splitlines(), "trace.jsonl")
    assert str(e.value).startswith(f"trace.jsonl:{line}: ")
    assert message in str(e.value)


def test_a_bad_segment_value_is_named(lossy, tmp_path):
    _, recs = lossy
    send = dict(next(r for r in recs if r["event"] == "send"))
    send["flags"] = "SYN"
    path = tmp_path / "bad.jsonl"
    path.write_text(dumps(recs[0]) + "\n" + dumps(send) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: unknown flag letter 'Y'"):
        read_jsonl(path)
    send["flags"], send["seq"] = "S", 2**32
    path.write_text(dumps(send) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r":1: send record: field 'seq' out of range"):
        read_jsonl(path)


def test_unknown_event_kinds_are_accepted_with_the_common_fields():
    recs = parse_jsonl(['{"t": 1.5, "host": "a", "event": "future-thing", "x": 1}'])
    assert recs == [{"t": 1.5, "host": "a", "event": "future-thing", "x": 1}]


def test_a_file_that_is_not_text_is_a_value_error(tmp_path):
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_jsonl(path)
