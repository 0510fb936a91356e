"""Reading scripts: every construct of the packetdrill language the corpus and public
scripts use, and a clear error (line, column, what) for every bad script."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synack.drill import model as m
from synack.drill.parse import DrillSyntaxError, parse_text


def events(text: str) -> list[m.Event]:
    return parse_text(text, "t.pkt").events


def test_times_absolute_relative_any_and_ranges_in_microseconds():
    evs = events("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                 "+.1 < S 0:0(0) win 100\n"
                 "0.300 > S. 0:0(0) ack 1\n"
                 "0.4~0.45 > . 1:1(0) ack 1\n"
                 "+0~+.05 > . 1:1(0) ack 1\n"
                 "* > F. 1:1(0) ack 1\n")
    assert [e.time for e in evs] == [
        m.TimeSpec(m.ABSOLUTE, 0), m.TimeSpec(m.RELATIVE, 100_000), m.TimeSpec(m.ABSOLUTE, 300_000),
        m.TimeSpec(m.ABSOLUTE_RANGE, 400_000, 450_000), m.TimeSpec(m.RELATIVE_RANGE, 0, 50_000),
        m.TimeSpec(m.ANY)]
    assert [e.line for e in evs] == [1, 2, 3, 4, 5, 6]


def test_blocking_call_has_an_end_time():
    (ev,) = events("0...0.200 read(4, ..., 1000) = 1000\n")
    assert isinstance(ev.action, m.Syscall)
    assert ev.action.end == 200_000 and ev.action.name == "read"
    assert ev.action.args == (m.Int(4, "4"), m.Ellipsis_(), m.Int(1000, "1000"))


def test_tcp_line_with_every_field():
    (ev,) = events("0 < [ect0] SEW 0:0(0) win 65535 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>\n")
    p = ev.action
    assert isinstance(p, m.TcpPacket)
    assert (p.direction, p.flags, p.seq, p.length, p.win, p.ecn) == ("<", "SEW", 0, 0, 65535, "ect0")
    assert [o.kind for o in p.options or ()] == ["mss", "sackOK", "TS", "nop", "wscale"]
    assert p.options[2] == m.OptionSpec("TS", val=100, ecr=0)  # type: ignore[index]


def test_outbound_line_may_leave_options_and_window_unchecked():
    (ev,) = events("0 > P. 1:1001(1000) ack 1 <...>\n")
    p = ev.action
    assert isinstance(p, m.TcpPacket)
    assert p.options is None and p.win is None and p.ack == 1


def test_sack_blocks_fast_open_cookie_and_urgent_pointer():
    (a, b) = events("0 < . 1:1(0) ack 1 win 10 <nop,nop,sack 1001:2001 3001:4001>\n"
                    "+0 < PU. 1:4(3) ack 1 win 10 urg 3 <FO abcd1234,nop,nop>\n")
    assert a.action.options[2].blocks == ((1001, 2001), (3001, 4001))  # type: ignore[union-attr,index]
    assert b.action.urg == 3 and b.action.options[0].cookie == bytes.fromhex("abcd1234")  # type: ignore[union-attr,index]


def test_icmp_line():
    (ev,) = events("0 < icmp unreachable frag_needed mtu 1000 [1:1461(1460)]\n")
    assert ev.action == m.IcmpPacket("<", "unreachable", "frag_needed", 1000, (1, 1460))


def test_struct_literals_arrays_or_and_errno_with_note():
    evs = events('0 setsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0\n'
                 '+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16)'
                 ' = -1 EINPROGRESS (Operation now in progress)\n'
                 '+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1\n'
                 '+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n')
    linger = evs[0].action.args[3]  # type: ignore[union-attr]
    assert linger == m.Struct((("l_onoff", m.Int(1, "1")), ("l_linger", m.Int(0, "0"))))
    conn = evs[1].action
    assert (conn.errno, conn.note) == ("EINPROGRESS", "Operation now in progress")  # type: ignore[union-attr]
    pollfd = evs[2].action.args[0].items[0]  # type: ignore[union-attr]
    assert isinstance(pollfd, m.Struct)
    assert pollfd.get("events") == m.Binary("|", m.Word("POLLIN"), m.Word("POLLOUT"))


def test_header_options_profile_requirements_summary_commands_and_code():
    sc = parse_text("// A handshake, as Figure 6 draws it.\n"
                    "// profile: rfc\n"
                    "// RFC 9293 §3.5 MUST-10 and SHLD-4\n"
                    "--tolerance_usecs=10000\n"
                    "`sysctl -q net.ipv4.tcp_sack=0`\n"
                    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                    "+0 %{ assert tcpi_state == 1 }%\n"
                    "`echo done`\n", "t.pkt")
    assert sc.profile == "rfc"
    assert sc.requirements == ("MUST-10", "SHLD-4")
    assert sc.summary == "A handshake, as Figure 6 draws it."
    assert sc.options == {"tolerance_usecs": "10000"}
    assert sc.init_commands[0].action == m.Command("sysctl -q net.ipv4.tcp_sack=0")
    assert sc.cleanup_commands[0].action == m.Command("echo done")
    assert sc.events[1].action == m.Code(" assert tcpi_state == 1 ")


BAD = [
    ("0 < S 0:0(0)\n", 1, "needs a window"),
    ("0 < S 0:0(0) win 1 <...>\n", 1, "only be used with outbound"),
    ("* socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", 1, "only be used with outbound"),
    ("0 > S 0:10(5)\n", 1, "inconsistent sequence numbers"),
    ("0 > SX 0:0(0)\n", 1, "unknown TCP flag letter 'X'"),
    ("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 %{ assert 1\n", 2, "never closed"),
    ("1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n", 1, "first event must be at time 0"),
    ("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n0.2~0.1 > S 0:0(0)\n", 2, "backwards"),
    ("0 socket(..., SOCK_STREAM, IPPROTO_TCP)\n", 2, "expected '='"),
    ("0 > S 0:0(0) <mss 1460,bogus 3>\n", 1, "expected a TCP option"),
    ("0 > . 1:1(0) ack 1 $\n", 1, "unexpected character '$'"),
    ("0 < udp (10)\n", 1, "UDP packets are not supported"),
]


@pytest.mark.parametrize("text,line,words", BAD)
def test_bad_script_is_a_parse_error_with_line_and_column(text, line, words):
    with pytest.raises(DrillSyntaxError) as ei:
        parse_text(text, "bad.pkt")
    e = ei.value
    assert e.line == line and e.column >= 1
    assert words in e.message
    assert str(e).startswith(f"bad.pkt:{line}:{e.column}: parse error: ")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789+.~*<>SPFR.:()[]{},=|ackwinmsTval`%\"-_ \n")), max_size=80))
def test_any_text_parses_or_raises_only_a_syntax_error(text):
    with contextlib.suppress(DrillSyntaxError):
        parse_text(text, "fuzz.pkt")
