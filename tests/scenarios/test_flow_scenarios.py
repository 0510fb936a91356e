"""The scenarios of scenarios/flow.py show on the wire what they say they show: flights
that double (slow start), a retransmission after three duplicate ACKs and before any
timeout, several holes repaired without a timeout, zero-window probes and the window
update, delayed ACKs, and Nagle coalescing small writes."""

from __future__ import annotations

import re

import pytest
from scenario_helpers import events, received, run, sent

from synack.scenarios import flow, get, load_all
from synack.scenarios.flow import ZERO_WINDOW_BUF
from synack.timeunits import ms

HANGUL = re.compile("[\uac00-\ud7a3]")
NAMES = ["slow-start", "fast-retransmit", "sack-recovery", "zero-window", "delayed-ack", "nagle"]


def data(res, host="client", retransmit=None) -> list:
    return [e for e in sent(res, host) if e.seg.payload and (retransmit is None or e.retransmit == retransmit)]


def rto_fired(res) -> list:
    return [e for e in events(res, "timer-fired", "client") if e.name == "rto"]


def test_every_scenario_of_the_issue_is_registered_from_flow():
    reg = load_all()
    mine = {flow.slow_start, flow.fast_retransmit, flow.sack_recovery, flow.zero_window, flow.delayed_ack,
            flow.nagle}
    assert {reg[name].run for name in NAMES} == mine


@pytest.mark.parametrize("name", NAMES)
def test_explanations_in_english_and_korean(name):
    sc = get(name)
    assert sc.summary and len(sc.summary) <= 100
    assert len(sc.explain["en"]) > 300 and not HANGUL.search(sc.explain["en"])
    assert HANGUL.search(sc.explain["ko"])


@pytest.mark.parametrize("name", NAMES)
def test_notes_follow_the_language(name):
    en, ko = run(name), run(name, lang="ko")
    assert en.notes and ko.notes and len(en.notes) == len(ko.notes)
    assert all(HANGUL.search(n) for n in ko.notes)
    assert not any(HANGUL.search(n) for n in en.notes)
    assert not any("raised" in n or "stopped" in n for n in en.notes), en.notes


def test_korean_explanations_use_the_seeds_terms():
    text = " ".join(" ".join(get(n).explain["ko"].split()) for n in NAMES)
    for term in ("흐름 제어", "혼잡 제어", "슬로우 스타트", "혼잡 윈도우", "빠른 재전송", "중복 ACK",
                 "지연 ACK", "네이글 알고리즘", "0 윈도우", "확인 응답"):
        assert term in text, term


def test_slow_start_flights_grow_each_round_trip():
    res = run("slow-start")
    first = data(res, retransmit=False)
    flights, last = [], None
    for e in first:
        if last is None or e.t - last >= ms(10):
            flights.append(0)
        flights[-1] += 1
        last = e.t
    assert flights[:2] == [10, 20]                     # IW10, then doubling (RFC 6928, RFC 5681)
    assert flights[2] > 20                             # (then the receiver's window bounds it)
    assert max(flights) <= 65535 // 1460               # then the receiver's window limits
    assert sum(len(e.seg.payload) for e in received(res, "server") if e.seg.payload) >= 200_000


def test_fast_retransmit_after_three_duplicate_acks_without_a_timeout():
    res = run("fast-retransmit")
    first, retx = data(res, retransmit=False), data(res, retransmit=True)
    assert len(retx) == 1 and retx[0].cause == "fast-retransmit"
    assert retx[0].seg.seq == first[2].seg.seq         # the third segment, the one lost
    dup_ack = first[2].seg.seq
    dups = [e for e in sent(res, "server") if not e.seg.payload and e.seg.ack == dup_ack and e.t < retx[0].t]
    assert len(dups) >= 3 + 1                          # the first ACK of that number, then 3 duplicates
    assert retx[0].t - first[2].t <= ms(25)            # about one round trip, long before the 200 ms RTO
    assert not rto_fired(res)


def test_sack_recovery_repairs_three_holes_without_a_timeout():
    res = run("sack-recovery")
    first, retx = data(res, retransmit=False), data(res, retransmit=True)
    lost = {first[i].seg.seq for i in (2, 4, 6)}
    assert {e.seg.seq for e in retx} == lost
    assert not rto_fired(res)
    assert retx[-1].t - retx[0].t <= 3 * ms(20)        # NewReno: a hole per round trip at most
    assert res.notes[0].startswith(("SACK was negotiated", "SACK was not negotiated"))


def test_zero_window_is_probed_and_the_transfer_resumes():
    res = run("zero-window")
    zero = [e for e in sent(res, "server") if e.seg.wnd == 0]
    probes = [e for e in sent(res, "client") if e.cause == "zero-window-probe"]
    assert zero and len(probes) >= 2
    gaps = [b.t - a.t for a, b in zip(probes, probes[1:], strict=False)]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False)) and gaps[0] > 0
    got = {int(e.seg.seq): len(e.seg.payload) for e in received(res, "server") if e.seg.payload}
    assert sum(got.values()) >= 5 * ZERO_WINDOW_BUF
    assert not [e for e in events(res, "error")]


def test_delayed_ack_waits_for_a_lone_segment_and_not_for_two_full_ones():
    res = run("delayed-ack")
    server_rx = [e for e in received(res, "server") if e.seg.payload]
    acks = [e for e in sent(res, "server") if not e.seg.payload and not e.seg.flags & 0x07]
    lone = server_rx[0]
    assert len(lone.seg.payload) == 100
    first_ack = next(e for e in acks if e.t >= lone.t)
    assert first_ack.t - lone.t == ms(40)              # TcpConfig.delayed_ack
    full = server_rx[1:5]                              # four full-sized segments
    assert len({len(e.seg.payload) for e in full}) == 1 and len(full[0].seg.payload) > 1000
    at_once = [e for e in acks if any(e.t == f.t for f in full)]
    assert len(at_once) == 1                           # one ACK for the four, which arrive together


def test_nagle_coalesces_and_nodelay_does_not():
    res = run("nagle")
    conns = []
    for e in data(res):
        if e.conn not in conns:
            conns.append(e.conn)
    nagle, nodelay = ([e for e in data(res) if e.conn == c] for c in conns)
    assert len(nagle) == 2 and [len(e.seg.payload) for e in nagle] == [100, 900]
    assert len(nodelay) == 10 and all(len(e.seg.payload) == 100 for e in nodelay)
