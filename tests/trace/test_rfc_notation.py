"""The RFC 9293 notation view (trace/rfc.py): ``rfc_segment`` on single segments, and
``rfc_ladder`` on small hand-made event lists, one convention per case."""

from __future__ import annotations

import pytest

from synack.trace.events import (
    SegmentDropped,
    SegmentReceived,
    SegmentSent,
    StateChanged,
    TimerArmed,
    TimerFired,
)
from synack.trace.rfc import normalize, rfc_ladder, rfc_line, rfc_segment
from synack.wire.seq import Seq
from synack.wire.tcp import ACK, CWR, ECE, FIN, NS, PSH, RST, SYN, URG, Flags, TcpSegment

ADDR = {"A": "10.0.0.1", "B": "10.0.0.2", "C": "10.0.0.3"}
PORT = {"A": 5000, "B": 80, "C": 7}


def seg(seq: int, ack: int = 0, flags: int = 0, payload: bytes = b"", src: str = "A", dst: str = "B") -> TcpSegment:
    return TcpSegment(PORT[src], PORT[dst], Seq(seq), Seq(ack), Flags(flags), 65535, payload)


# ------------------------------------------------------------------- rfc_segment

SEGMENTS = [
    # (description, segment, keyword arguments, text)
    ("SYN: SEQ and CTL, no ACK field", seg(100, flags=SYN), {}, "<SEQ=100><CTL=SYN>"),
    ("SYN,ACK: ACK shown, ACK named last", seg(300, 101, SYN | ACK), {}, "<SEQ=300><ACK=101><CTL=SYN,ACK>"),
    ("bare ACK", seg(101, 301, ACK), {}, "<SEQ=101><ACK=301><CTL=ACK>"),
    ("data: <DATA> after CTL", seg(101, 301, ACK, b"0123456789"), {}, "<SEQ=101><ACK=301><CTL=ACK><DATA>"),
    ("data with its length", seg(300, 100, ACK, b"0123456789"), {"data_len": True},
     "<SEQ=300><ACK=100><CTL=ACK><DATA=10>"),
    ("FIN,ACK", seg(100, 300, FIN | ACK), {}, "<SEQ=100><ACK=300><CTL=FIN,ACK>"),
    ("RST without ACK: no ACK field", seg(91, flags=RST), {}, "<SEQ=91><CTL=RST>"),
    ("RST,ACK", seg(0, 101, RST | ACK), {}, "<SEQ=0><ACK=101><CTL=RST,ACK>"),
    ("an ack number without the ACK bit is not shown", seg(91, 555, RST), {}, "<SEQ=91><CTL=RST>"),
    ("PSH is shown by default", seg(101, 301, PSH | ACK, b"x"), {}, "<SEQ=101><ACK=301><CTL=PSH,ACK><DATA>"),
    ("PSH omitted as in the figures", seg(101, 301, PSH | ACK, b"x"), {"omit": {"PSH"}},
     "<SEQ=101><ACK=301><CTL=ACK><DATA>"),
    ("omit names are case-insensitive", seg(101, 301, PSH | ACK), {"omit": ["psh"]}, "<SEQ=101><ACK=301><CTL=ACK>"),
    ("omitting ACK hides the name, not the field", seg(101, 301, ACK), {"omit": {"ACK"}}, "<SEQ=101><ACK=301>"),
    ("no control bits: no CTL field", seg(5), {}, "<SEQ=5>"),
    ("every bit, in order", seg(1, 2, SYN | FIN | RST | PSH | URG | ECE | CWR | NS | ACK), {},
     "<SEQ=1><ACK=2><CTL=SYN,FIN,RST,PSH,URG,ECE,CWR,NS,ACK>"),
    ("numbers are raw 32-bit values", seg(2**32 - 1, 0, FIN | ACK), {}, "<SEQ=4294967295><ACK=0><CTL=FIN,ACK>"),
]


@pytest.mark.parametrize("segment, kw, text", [c[1:] for c in SEGMENTS], ids=[c[0] for c in SEGMENTS])
def test_rfc_segment(segment, kw, text):
    assert rfc_segment(segment, **kw) == text


def test_rfc_segment_rejects_unknown_flag_names():
    with pytest.raises(ValueError, match="BOGUS"):
        rfc_segment(seg(1, flags=SYN), omit={"BOGUS"})


# ------------------------------------------------------------------- rfc_line, normalize

def test_rfc_line_joins_with_single_spaces_without_widths():
    assert rfc_line("SYN-SENT", "-->", "<SEQ=100><CTL=SYN>", "-->", "SYN-RECEIVED") == \
        "SYN-SENT --> <SEQ=100><CTL=SYN> --> SYN-RECEIVED"
    assert rfc_line("", "...", "<SEQ=90><CTL=SYN>", "-->", "SYN-RECEIVED") == "... <SEQ=90><CTL=SYN> --> SYN-RECEIVED"
    assert rfc_line("CLOSED", b_state="LISTEN") == "CLOSED LISTEN"


def test_rfc_line_pads_columns_with_widths():
    line = rfc_line("", "...", "<SEQ=1>", "-->", "LISTEN", widths=(8, 10))
    assert line == "         ... <SEQ=1>    --> LISTEN"
    assert rfc_line("CLOSED", b_state="LISTEN", widths=(8, 10)) == "CLOSED" + " " * 22 + "LISTEN"
    assert rfc_line("SYN-SENT", "-->", "<SEQ=1>", "...", widths=(8, 10)) == "SYN-SENT --> <SEQ=1>    ..."


def test_normalize_squeezes_whitespace():
    assert normalize("  CLOSED      -->   <SEQ=1>  ...  ") == "CLOSED --> <SEQ=1> ..."


# ------------------------------------------------------------------- rfc_ladder

def other(host: str) -> str:
    return "B" if host == "A" else "A"


def sent(t: int, host: str, s: TcpSegment, to: str = "") -> SegmentSent:
    to = to or other(host)
    return SegmentSent(t, host, None, ADDR[host], ADDR[to], s)


def recv(t: int, host: str, s: TcpSegment, frm: str = "") -> SegmentReceived:
    frm = frm or other(host)
    return SegmentReceived(t, host, None, ADDR[frm], ADDR[host], s)


def lost(t: int, host: str, s: TcpSegment) -> SegmentDropped:
    """A link drop: recorded on the sending side."""
    return SegmentDropped(t, host, None, ADDR[host], ADDR[other(host)], s, "link-loss")


def state(t: int, host: str, old: str, new: str) -> StateChanged:
    return StateChanged(t, host, None, old, new, "test")


SYN_A = seg(100, flags=SYN)
SYNACK_B = seg(300, 101, SYN | ACK, src="B", dst="A")
ACK_A = seg(101, 301, ACK)

HANDSHAKE = [
    state(0, "A", "CLOSED", "SYN-SENT"), sent(0, "A", SYN_A),
    TimerArmed(0, "A", None, "rto", 1000),
    recv(10, "B", SYN_A), state(10, "B", "LISTEN", "SYN-RECEIVED"), sent(10, "B", SYNACK_B),
    recv(20, "A", SYNACK_B), state(20, "A", "SYN-SENT", "ESTABLISHED"), sent(20, "A", ACK_A),
    recv(30, "B", ACK_A), state(30, "B", "SYN-RECEIVED", "ESTABLISHED"),
]

LADDERS = [
    # (description, events, keyword arguments, expected lines)
    ("Figure 6: a departure and its arrival share a line; states after each", HANDSHAKE, {}, [
        "CLOSED LISTEN",
        "SYN-SENT --> <SEQ=100><CTL=SYN> --> SYN-RECEIVED",
        "ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED",
        "ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK> --> ESTABLISHED",
    ]),
    ("a lost segment shows ... and its retransmission arrives", [
        state(0, "A", "CLOSED", "SYN-SENT"), sent(0, "A", SYN_A), lost(0, "A", SYN_A),
        TimerFired(1000, "A", None, "rto"), sent(1000, "A", SYN_A),
        recv(1010, "B", SYN_A), state(1010, "B", "LISTEN", "SYN-RECEIVED"),
    ], {}, [
        "CLOSED LISTEN",
        "SYN-SENT --> <SEQ=100><CTL=SYN> ...",
        "SYN-SENT --> <SEQ=100><CTL=SYN> --> SYN-RECEIVED",
    ]),
    ("a segment still in flight at the end of the trace shows ...", [
        state(0, "A", "CLOSED", "SYN-SENT"), sent(0, "A", SYN_A),
    ], {}, ["CLOSED CLOSED", "SYN-SENT --> <SEQ=100><CTL=SYN> ..."]),
    ("a segment lost from B to A", [
        sent(0, "B", SYNACK_B), lost(0, "B", SYNACK_B),
    ], {"initial": ("SYN-SENT", "SYN-RECEIVED")}, [
        "SYN-SENT SYN-RECEIVED", "... <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED",
    ]),
    ("a drop by the receiver's TCP is not a loss: the segment arrived", [
        sent(0, "A", ACK_A), recv(10, "B", ACK_A),
        SegmentDropped(10, "B", None, ADDR["A"], ADDR["B"], ACK_A, "out-of-window"),
    ], {"initial": ("ESTABLISHED", "ESTABLISHED")}, [
        "ESTABLISHED ESTABLISHED", "ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK> --> ESTABLISHED",
    ]),
    ("Figure 7: crossing SYNs get a line for each departure and each arrival", [
        state(0, "A", "CLOSED", "SYN-SENT"), sent(0, "A", SYN_A),
        state(0, "B", "CLOSED", "SYN-SENT"), sent(0, "B", seg(300, flags=SYN, src="B", dst="A")),
        recv(10, "B", SYN_A), state(10, "B", "SYN-SENT", "SYN-RECEIVED"),
        recv(10, "A", seg(300, flags=SYN, src="B", dst="A")), state(10, "A", "SYN-SENT", "SYN-RECEIVED"),
    ], {}, [
        "CLOSED CLOSED",
        "SYN-SENT --> <SEQ=100><CTL=SYN> ...",
        "... <SEQ=300><CTL=SYN> <-- SYN-SENT",
        "... <SEQ=100><CTL=SYN> --> SYN-RECEIVED",
        "SYN-RECEIVED <-- <SEQ=300><CTL=SYN> ...",
    ]),
    ("Figure 8: an arrival nobody sent (an old duplicate) shows ... on the sender's side", [
        recv(10, "B", seg(90, flags=SYN)), state(10, "B", "LISTEN", "SYN-RECEIVED"),
        recv(20, "A", seg(300, 91, RST | ACK, src="B", dst="A")),
    ], {}, [
        "CLOSED LISTEN",
        "... <SEQ=90><CTL=SYN> --> SYN-RECEIVED",
        "CLOSED <-- <SEQ=300><ACK=91><CTL=RST,ACK> ...",
    ]),
    ("all state changes of one arrival: the state after processing", [
        recv(10, "A", seg(300, 101, FIN | ACK, src="B", dst="A")),
        state(10, "A", "FIN-WAIT-1", "FIN-WAIT-2"), state(10, "A", "FIN-WAIT-2", "TIME-WAIT"),
        TimerArmed(10, "A", None, "time-wait", 60), sent(10, "A", seg(101, 301, ACK)),
    ], {"initial": (None, "LAST-ACK")}, [
        "FIN-WAIT-1 LAST-ACK",
        "TIME-WAIT <-- <SEQ=300><ACK=101><CTL=FIN,ACK> ...",
        "TIME-WAIT --> <SEQ=101><ACK=301><CTL=ACK> ...",
    ]),
    ("Figure 12 line 6: a state change no segment shows gets a state line", [
        state(60, "A", "TIME-WAIT", "CLOSED"),
    ], {"initial": (None, "CLOSED")}, ["TIME-WAIT CLOSED", "CLOSED CLOSED"]),
    ("state lines of one instant merge; of different instants do not", [
        state(5, "A", "TIME-WAIT", "CLOSED"),
        TimerFired(9, "B", None, "time-wait"), state(9, "B", "TIME-WAIT", "CLOSED"),
        TimerFired(9, "A", None, "time-wait"),
    ], {}, ["TIME-WAIT TIME-WAIT", "CLOSED TIME-WAIT", "CLOSED CLOSED"]),
    ("a state change then a send in the same step: the departure line shows it", [
        state(0, "A", "ESTABLISHED", "FIN-WAIT-1"), state(0, "B", "ESTABLISHED", "FIN-WAIT-1"),
        sent(0, "A", seg(100, 300, FIN | ACK)), sent(0, "B", seg(300, 100, FIN | ACK, src="B", dst="A")),
    ], {}, [
        "ESTABLISHED ESTABLISHED",
        "FIN-WAIT-1 --> <SEQ=100><ACK=300><CTL=FIN,ACK> ...",
        "... <SEQ=300><ACK=100><CTL=FIN,ACK> <-- FIN-WAIT-1",
    ]),
    ("two changes before one send: the first gets a state line (a reboot, then OPEN)", [
        state(0, "A", "ESTABLISHED", "CLOSED"), state(0, "A", "CLOSED", "SYN-SENT"),
        sent(0, "A", seg(400, flags=SYN)),
    ], {"initial": (None, "ESTABLISHED")}, [
        "ESTABLISHED ESTABLISHED", "CLOSED ESTABLISHED", "SYN-SENT --> <SEQ=400><CTL=SYN> ...",
    ]),
    ("an earlier change is not the departure's: a state line comes first", [
        state(0, "A", "SYN-SENT", "CLOSED"), state(5, "A", "CLOSED", "SYN-SENT"),
        sent(5, "A", SYN_A),
    ], {}, ["SYN-SENT CLOSED", "CLOSED CLOSED", "SYN-SENT --> <SEQ=100><CTL=SYN> ..."]),
    ("initial overrides inference; final adds the last states", [
        recv(10, "A", SYNACK_B), sent(10, "A", seg(101, flags=RST)),
    ], {"initial": ("LISTEN", "SYN-RECEIVED"), "final": True}, [
        "LISTEN SYN-RECEIVED",
        "LISTEN <-- <SEQ=300><ACK=101><CTL=SYN,ACK> ...",
        "LISTEN --> <SEQ=101><CTL=RST> ...",
        "LISTEN SYN-RECEIVED",
    ]),
    ("final does not repeat a state line that ends the ladder", [
        state(60, "A", "TIME-WAIT", "CLOSED"),
    ], {"initial": (None, "CLOSED"), "final": True}, ["TIME-WAIT CLOSED", "CLOSED CLOSED"]),
    ("relative numbers count from each direction's SYN", HANDSHAKE, {"relative": True}, [
        "CLOSED LISTEN",
        "SYN-SENT --> <SEQ=0><CTL=SYN> --> SYN-RECEIVED",
        "ESTABLISHED <-- <SEQ=0><ACK=1><CTL=SYN,ACK> <-- SYN-RECEIVED",
        "ESTABLISHED --> <SEQ=1><ACK=1><CTL=ACK> --> ESTABLISHED",
    ]),
    ("relative numbers wrap mod 2**32", [
        sent(0, "A", seg(2**32 - 1, flags=SYN)), recv(10, "B", seg(2**32 - 1, flags=SYN)),
        sent(10, "B", seg(7, 0, SYN | ACK, src="B", dst="A")),
        recv(20, "A", seg(7, 0, SYN | ACK, src="B", dst="A")),
    ], {"relative": True, "initial": ("SYN-SENT", "LISTEN")}, [
        "SYN-SENT LISTEN",
        "SYN-SENT --> <SEQ=0><CTL=SYN> --> LISTEN",
        "SYN-SENT <-- <SEQ=0><ACK=1><CTL=SYN,ACK> <-- LISTEN",
    ]),
    ("other hosts and segments to them are left out", [
        sent(0, "A", seg(1, flags=SYN, dst="C"), to="C"), state(0, "C", "CLOSED", "LISTEN"),
        recv(5, "C", seg(1, flags=SYN, dst="C"), frm="A"),
        sent(6, "A", SYN_A), recv(16, "B", SYN_A),
    ], {"initial": ("SYN-SENT", "LISTEN")}, [
        "SYN-SENT LISTEN", "SYN-SENT --> <SEQ=100><CTL=SYN> --> LISTEN",
    ]),
    ("options of the view: data length, PSH left out", [
        sent(0, "A", seg(101, 301, PSH | ACK, b"0123456789")), recv(10, "B", seg(101, 301, PSH | ACK, b"0123456789")),
    ], {"initial": ("ESTABLISHED", "ESTABLISHED"), "data_len": True, "omit": {"PSH"}}, [
        "ESTABLISHED ESTABLISHED", "ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><DATA=10> --> ESTABLISHED",
    ]),
    ("an empty trace is the initial line", [], {}, ["CLOSED CLOSED"]),
]


@pytest.mark.parametrize("events, kw, lines", [c[1:] for c in LADDERS], ids=[c[0] for c in LADDERS])
def test_rfc_ladder(events, kw, lines):
    assert rfc_ladder(events, "A", "B", align=False, **kw) == lines
    # The aligned text says the same once whitespace is squeezed.
    assert [normalize(line) for line in rfc_ladder(events, "A", "B", **kw)] == lines


def test_identical_segments_match_first_in_first_out():
    """The first copy is lost on the link, the second arrives: the loss is the first one's."""
    events = [sent(0, "A", ACK_A), sent(1, "A", ACK_A), lost(1, "A", ACK_A), recv(11, "B", ACK_A)]
    assert rfc_ladder(events, "A", "B", initial=("ESTABLISHED", "ESTABLISHED"), align=False) == [
        "ESTABLISHED ESTABLISHED",
        "ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK> ...",
        "ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK> --> ESTABLISHED",
    ]


def test_aligned_ladder_has_columns():
    lines = rfc_ladder(HANDSHAKE, "A", "B")
    # A's states are padded to the longest ("ESTABLISHED"), segments to the longest one.
    col_arrow = len("ESTABLISHED ")
    col_b = col_arrow + len("--> ") + len("<SEQ=300><ACK=101><CTL=SYN,ACK>") + len(" --> ")
    assert [line[col_b:] for line in lines] == ["LISTEN", "SYN-RECEIVED", "SYN-RECEIVED", "ESTABLISHED"]
    assert [line[col_arrow:col_arrow + 3] for line in lines[1:]] == ["-->", "<--", "-->"]
    assert [line[col_b - 4:col_b - 1] for line in lines[1:]] == ["-->", "<--", "-->"]
    assert lines[0] == "CLOSED" + " " * (col_b - len("CLOSED")) + "LISTEN"


def test_ladder_is_a_pure_function_of_the_events():
    events = list(HANDSHAKE)
    first = rfc_ladder(events, "A", "B")
    assert rfc_ladder(iter(events), "A", "B") == first
    assert events == HANDSHAKE


def test_swapping_hosts_mirrors_the_ladder():
    assert rfc_ladder(HANDSHAKE, "B", "A", align=False) == [
        "LISTEN CLOSED",
        "SYN-RECEIVED <-- <SEQ=100><CTL=SYN> <-- SYN-SENT",
        "SYN-RECEIVED --> <SEQ=300><ACK=101><CTL=SYN,ACK> --> ESTABLISHED",
        "ESTABLISHED <-- <SEQ=101><ACK=301><CTL=ACK> <-- ESTABLISHED",
    ]


def test_ladder_rejects_unknown_flag_names():
    with pytest.raises(ValueError):
        rfc_ladder(HANDSHAKE, "A", "B", omit={"XYZ"})
