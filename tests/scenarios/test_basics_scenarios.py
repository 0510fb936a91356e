"""The scenarios of scenarios/basics.py show on the wire what they say they show.

Every scenario runs with the default options (seed 1, 10 ms each way, no loss) and its
trace is read like the ladder reads it: which segments each host sent and received, with
which flags and numbers, in which state, and what the application calls returned.
"""

from __future__ import annotations

import re

import pytest
from scenario_helpers import (
    basics_names,
    calls,
    entered,
    events,
    flags,
    path,
    received,
    run,
    sent,
    state_before,
)

from synack.scenarios import ScenarioResult, get
from synack.scenarios.basics import REPLY, REQUEST
from synack.tcp.config import TcpConfig
from synack.timeunits import ms, sec
from synack.trace.jsonl import to_records
from synack.trace.rfc import normalize, rfc_ladder
from synack.wire.tcp import Mss

MSL2 = 2 * TcpConfig().msl
HANGUL = re.compile("[\uac00-\ud7a3]")

REQUIRED = ["story", "handshake", "close", "half-close", "simultaneous-open", "simultaneous-close",
            "lost-syn", "lost-data", "lost-fin", "time-wait", "refused", "abort", "half-open", "two-way"]


def test_every_scenario_of_the_issue_is_registered():
    assert set(REQUIRED) <= set(basics_names())


# ------------------------------------------------------------------------------ every scenario
@pytest.mark.parametrize("name", basics_names())
def test_scenario_runs_between_client_and_server(name):
    res = run(name)
    assert isinstance(res, ScenarioResult)
    assert res.hosts == ("client", "server")
    assert {n: h.addrs for n, h in res.net.hosts.items()} == {"client": ["10.0.0.1"], "server": ["10.0.0.2"]}
    assert sent(res, "client") and res.notes
    # every segment sent is received, lost on the way or held: nothing vanishes
    assert all(e.host in ("client", "server") for e in res.net.recorder.events)


@pytest.mark.parametrize("name", basics_names())
def test_scenario_has_a_summary_and_explanations_in_english_and_korean(name):
    sc = get(name)
    assert sc.summary and "\n" not in sc.summary and len(sc.summary) <= 100
    assert len(sc.explain["en"]) > 200 and not HANGUL.search(sc.explain["en"])
    assert len(sc.explain["ko"]) > 100 and HANGUL.search(sc.explain["ko"])


@pytest.mark.parametrize("name", basics_names())
def test_scenario_notes_follow_the_language(name):
    ko = run(name, lang="ko")
    assert ko.notes and all(HANGUL.search(n) for n in ko.notes)
    en = run(name)
    assert not any(HANGUL.search(n) for n in en.notes)


@pytest.mark.parametrize("name", basics_names())
def test_scenario_is_deterministic(name):
    a, b = run(name, seed=7), run(name, seed=7)
    assert to_records(a.net.recorder.events) == to_records(b.net.recorder.events)
    assert a.notes == b.notes


# ------------------------------------------------------------------------------ story
def test_story_is_handshake_request_reply_four_way_close_and_time_wait():
    res = run("story")
    assert [(e.host, flags(e)) for e in sent(res)] == [
        ("client", "S"), ("server", "S."), ("client", "."),            # 3-way handshake
        ("client", "P."), ("server", "."),                             # request, quick ACK
        ("server", "P."), ("client", "."),                             # reply, quick ACK
        ("client", "F."), ("server", "."), ("server", "F."), ("client", ".")]  # 4-way close
    assert path(res, "client") == [
        "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert path(res, "server") == ["SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    request, reply = sent(res, "client", "P.")[0], sent(res, "server", "P.")[0]
    assert request.seg.payload == REQUEST and reply.seg.payload == REPLY
    assert reply.seg.ack == request.seg.seq + len(REQUEST)   # the reply acknowledges the request
    (tw,), (closed,) = entered(res, "client", "TIME-WAIT"), entered(res, "client", "CLOSED")
    assert closed - tw == MSL2


# ------------------------------------------------------------------------------ handshake
def test_handshake_is_syn_synack_ack_with_numbers_plus_one():
    res = run("handshake")
    syn, synack, ack = sent(res)
    assert (flags(syn), flags(synack), flags(ack)) == ("S", "S.", ".")
    assert any(isinstance(o, Mss) for o in syn.seg.options)
    assert synack.seg.ack == syn.seg.seq + 1 and ack.seg.seq == syn.seg.seq + 1
    assert ack.seg.ack == synack.seg.seq + 1
    assert entered(res, "client", "ESTABLISHED") == [ms(20)]    # one round trip
    assert entered(res, "server", "ESTABLISHED") == [ms(30)]    # when the ACK arrives
    assert [e.t for e in calls(res, "server", "accept")] == [ms(30)]


# ------------------------------------------------------------------------------ close
def test_close_is_fin_ack_fin_ack_then_time_wait():
    res = run("close")
    closing = [(e.host, flags(e)) for e in sent(res)][3:]
    assert closing == [("client", "F."), ("server", "."), ("server", "F."), ("client", ".")]
    assert path(res, "client")[2:] == ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert path(res, "server")[2:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    eof = [e for e in calls(res, "server", "recv") if e.result == 0]
    assert eof and eof[0].t == entered(res, "server", "CLOSE-WAIT")[0]
    assert entered(res, "client", "CLOSED")[0] - entered(res, "client", "TIME-WAIT")[0] == MSL2


# ------------------------------------------------------------------------------ half-close
def test_half_close_server_keeps_sending_to_a_client_in_fin_wait_2():
    res = run("half-close")
    (fin,) = sent(res, "client", "F.")
    data = [e for e in sent(res, "server") if e.seg.payload]
    assert len(data) >= 3 and all(d.t >= fin.t for d in data)
    got = [e for e in received(res, "client") if e.seg.payload]
    in_fw2 = [e for e in got if state_before(res, e)["client"] == "FIN-WAIT-2"]
    assert len(in_fw2) >= 2
    # the client acknowledges the data it receives after its FIN, with no data of its own
    last = data[-1]
    acks = [e for e in sent(res, "client", ".") if e.t > fin.t]
    assert any(a.seg.ack == last.seg.seq + len(last.seg.payload) for a in acks)
    assert not any(e.seg.payload for e in sent(res, "client") if e.t > fin.t)
    (server_fin,) = sent(res, "server", "F.")
    assert server_fin.t >= last.t
    after_fin = sum(e.result for e in calls(res, "client", "recv") if e.t > fin.t)
    assert after_fin == sum(len(d.seg.payload) for d in data)
    assert [e.args for e in calls(res, "client", "shutdown")] == ["shutdown(1)"]


# ------------------------------------------------------------------------------ simultaneous
def test_simultaneous_open_crosses_two_syns_and_two_synacks():
    res = run("simultaneous-open")
    assert not calls(res, "server", "listen") and not calls(res, "client", "listen")
    syns = sent(res, letters="S")
    assert sorted(e.host for e in syns) == ["client", "server"] and len({e.t for e in syns}) == 1
    first_recv = min(e.t for e in received(res))
    assert all(e.t < first_recv for e in syns)                 # both left before either arrived
    synacks = sent(res, letters="S.")
    assert sorted(e.host for e in synacks) == ["client", "server"]
    for sa in synacks:
        (their_syn,) = [s for s in syns if s.host != sa.host]
        (my_syn,) = [s for s in syns if s.host == sa.host]
        assert sa.seg.seq == my_syn.seg.seq and sa.seg.ack == their_syn.seg.seq + 1
    for host in ("client", "server"):
        assert path(res, host) == ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
    # RFC 9293 Figure 7 ends there; Linux (the default profile) also acknowledges each SYN,ACK
    acks = sent(res, letters=".")
    assert len(sent(res)) == 6 and sorted(e.host for e in acks) == ["client", "server"]


def test_simultaneous_close_goes_through_closing_on_both_sides():
    res = run("simultaneous-close")
    fins = sent(res, letters="F.")
    assert sorted(e.host for e in fins) == ["client", "server"]
    assert all(f.t < min(e.t for e in received(res, letters="F.")) for f in fins)
    for host in ("client", "server"):
        assert path(res, host)[2:] == ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]
        assert entered(res, host, "CLOSED")[0] - entered(res, host, "TIME-WAIT")[0] == MSL2


# ------------------------------------------------------------------------------ losses
def test_lost_syn_backs_off_1_2_4_s_and_times_out_at_r2():
    res = run("lost-syn")
    syns = sent(res, "client", "S")
    start = syns[0].t
    assert [e.t - start for e in syns] == [sec(x) for x in (0, 1, 3, 7, 15, 31, 63, 127)]
    assert [e.retransmit for e in syns] == [False] + [True] * 7
    assert all(e.cause == "rto" for e in syns[1:])
    assert len({e.seg.seq for e in syns}) == 1                 # the same SYN every time
    drops = events(res, "drop", "client")
    assert len(drops) == len(syns) and all(d.reason == "scripted" for d in drops)
    assert not received(res, "server")
    (err,) = events(res, "error", "client")
    assert err.error == "timeout" and err.t - start == TcpConfig().r2_syn == sec(180)
    (connect,) = calls(res, "client", "connect")
    assert connect.error == "TimeoutError" and connect.t == err.t
    assert path(res, "client") == ["SYN-SENT", "CLOSED"]
    assert "7 times" in " ".join(res.notes) and "180 s" in " ".join(res.notes)


def test_lost_data_is_retransmitted_by_the_rto_with_the_same_numbers():
    res = run("lost-data")
    first, again = [e for e in sent(res, "client") if e.seg.payload]
    (drop,) = events(res, "drop", "client")
    assert drop.seg == first.seg and drop.reason == "scripted"
    assert again.seg.seq == first.seg.seq and again.seg.payload == first.seg.payload == REQUEST
    assert again.retransmit and again.cause == "rto"
    assert again.t - first.t == TcpConfig().min_rto              # the RTO floor after a 20 ms RTT
    assert len([e for e in received(res, "server") if e.seg.payload]) == 1
    (reply,) = [e for e in sent(res, "server") if e.seg.payload]
    assert reply.seg.ack == first.seg.seq + len(REQUEST)
    assert [e.result for e in calls(res, "server", "recv")] == [len(REQUEST)]


def test_lost_fin_is_retransmitted_and_the_close_goes_on():
    res = run("lost-fin")
    first, again = sent(res, "client", "F.")
    (drop,) = events(res, "drop", "client")
    assert drop.seg == first.seg
    assert again.retransmit and again.cause == "rto" and again.seg.seq == first.seg.seq
    assert entered(res, "client", "FIN-WAIT-1")[0] == first.t
    assert entered(res, "server", "CLOSE-WAIT")[0] > again.t    # the server heard only the second
    assert path(res, "client")[2:] == ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert path(res, "server")[2:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]


def test_time_wait_reacknowledges_a_retransmitted_fin_and_restarts():
    res = run("time-wait")
    first_fin, second_fin = sent(res, "server", "F.")
    assert not first_fin.retransmit and second_fin.retransmit and second_fin.cause == "rto"
    assert second_fin.seg.seq == first_fin.seg.seq
    # the client's ACK of the FIN, sent in TIME-WAIT, was lost
    (lost,) = [d for d in events(res, "drop", "client") if d.reason == "scripted"]
    assert flags(lost) == "." and lost.seg.ack == first_fin.seg.seq + 1
    (tw,) = entered(res, "client", "TIME-WAIT")
    assert lost.t == tw
    # the retransmitted FIN reaches the client in TIME-WAIT, which ACKs it again ...
    (fin_again,) = [e for e in received(res, "client", "F.") if e.t > second_fin.t]
    assert state_before(res, fin_again)["client"] == "TIME-WAIT"
    reack = [e for e in sent(res, "client", ".") if e.t == fin_again.t]
    assert len(reack) == 1 and reack[0].seg.ack == first_fin.seg.seq + 1
    # ... and restarts the 2*MSL timer: CLOSED 2*MSL after the retransmitted FIN
    armed = [e for e in events(res, "timer-armed", "client") if e.name == "time-wait"]
    assert [e.t for e in armed] == [tw, fin_again.t]
    assert armed[-1].deadline == fin_again.t + MSL2
    assert entered(res, "client", "CLOSED") == [fin_again.t + MSL2]
    assert entered(res, "server", "CLOSED")[0] > fin_again.t
    assert not sent(res, letters="R") and not sent(res, letters="R.")  # a clean close


# ------------------------------------------------------------------------------ resets
def test_refused_is_a_rst_ack_and_connection_refused_error():
    res = run("refused")
    (syn,) = sent(res, "client", "S")
    (no_listener,) = events(res, "drop", "server")
    assert no_listener.reason == "no-listener"
    (rst,) = sent(res, "server", "R.")
    assert rst.seg.seq == 0 and rst.seg.ack == syn.seg.seq + 1
    assert path(res, "client") == ["SYN-SENT", "CLOSED"]
    (err,) = events(res, "error", "client")
    assert err.error == "refused"
    (connect,) = calls(res, "client", "connect")
    assert connect.error == "ConnectionRefusedError" and connect.t == ms(20)
    assert len(sent(res)) == 2                                   # no retransmission
    assert "ConnectionRefusedError" in " ".join(res.notes)


def test_abort_sends_rst_instead_of_fin_and_the_peer_gets_connection_reset():
    res = run("abort")
    assert not sent(res, "client", "F.")
    (rst,) = sent(res, "client", "R.")                           # Linux's RST,ACK (ACK = RCV.NXT)
    (req,) = [e for e in sent(res, "client") if e.seg.payload]
    assert rst.seg.seq == req.seg.seq + len(req.seg.payload)     # SND.NXT: the server accepts it
    (linger,) = calls(res, "client", "setsockopt")
    assert linger.args == "setsockopt(1, 13, 8)"                 # SOL_SOCKET, SO_LINGER, struct linger
    close = [e for e in events(res, "state", "client") if e.new == "CLOSED"]
    assert len(close) == 1 and close[0].old == "ESTABLISHED" and close[0].cause == "ABORT"
    assert "TIME-WAIT" not in path(res, "client")
    assert path(res, "server")[-1] == "CLOSED"
    (err,) = events(res, "error", "server")
    assert err.error == "reset"
    assert [e.error for e in calls(res, "server", "recv")] == [None, "ConnectionResetError"]
    assert not [e for e in sent(res) if e.t > rst.t]             # a RST is never answered


def test_half_open_figures_9_and_10():
    res = run("half-open")
    reboot = [e for e in events(res, "state", "client") if e.cause == "host reboot"]
    assert len(reboot) == 2 and {e.old for e in reboot} == {"ESTABLISHED"}
    crash = reboot[0].t
    after = [e for e in res.net.recorder.events if e.t >= crash]

    def seg_after(host, kind, letters):
        return [e for e in after if e.event == kind and e.host == host and flags(e) == letters]

    # Figure 10: the server's data reaches no connection and draws <SEQ=100><CTL=RST>
    (data,) = seg_after("server", "send", "P.")
    assert (int(data.seg.seq), int(data.seg.ack)) == (300, 100) and data.seg.dst_port == 5001
    assert [d.reason for d in after if d.event == "drop" and d.host == "client"][0] == "no-listener"
    rst10 = seg_after("client", "send", "R")[0]
    assert int(rst10.seg.seq) == 100 and rst10.seg.src_port == 5001
    fig10_err = [e for e in calls(res, "server", "recv") if e.error == "ConnectionResetError"]
    assert fig10_err and fig10_err[0].conn[3] == 5001
    # Figure 9: SYN 400 from port 5000 meets the old connection's ACK 300/100, and a RST
    syn = seg_after("client", "send", "S")
    assert int(syn[0].seg.seq) == 400 and syn[0].seg.src_port == 5000
    (ack,) = seg_after("server", "send", ".")[:1]
    assert (int(ack.seg.seq), int(ack.seg.ack)) == (300, 100) and ack.t > syn[0].t
    rst9 = seg_after("client", "send", "R")[1]
    assert int(rst9.seg.seq) == 100 and rst9.seg.src_port == 5000 and rst9.t > ack.t
    old_5000 = [e for e in events(res, "state", "server") if e.conn[3] == 5000 and e.new == "CLOSED"]
    assert old_5000 and old_5000[0].t > rst9.t
    # the retransmitted SYN opens a new connection: <SEQ=700><ACK=401><CTL=SYN,ACK>
    assert syn[1].retransmit and int(syn[1].seg.seq) == 400
    (synack,) = seg_after("server", "send", "S.")
    assert (int(synack.seg.seq), int(synack.seg.ack)) == (700, 401)
    assert path(res, "client")[-1] == "ESTABLISHED" and path(res, "server")[-1] == "ESTABLISHED"
    assert calls(res, "server", "accept")[-1].result == ("10.0.0.1", 5000)
    assert res.absolute                                          # the figures' numbers, raw


FIGURE_8 = [
    "CLOSED                                              LISTEN",
    "SYN-SENT    --> <SEQ=100><CTL=SYN>              ...",
    "            ... <SEQ=90><CTL=SYN>               --> SYN-RECEIVED",
    "SYN-SENT    <-- <SEQ=300><ACK=91><CTL=SYN,ACK>  <-- SYN-RECEIVED",
    "SYN-SENT    --> <SEQ=91><CTL=RST>               --> LISTEN",
    "            ... <SEQ=100><CTL=SYN>              --> SYN-RECEIVED",
    "ESTABLISHED <-- <SEQ=400><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED",
    "ESTABLISHED --> <SEQ=101><ACK=401><CTL=ACK>     --> ESTABLISHED",
]


def test_two_way_is_rfc_9293_figure_8():
    res = run("two-way")
    drawn = [normalize(x) for x in rfc_ladder(res.net.recorder.events, "client", "server", omit={"PSH"})]
    assert drawn == [normalize(x) for x in FIGURE_8]


def test_two_way_client_resets_the_synack_of_the_old_syn():
    res = run("two-way")
    client_seqs = {int(e.seg.seq) for e in sent(res, "client", "S")}
    old = [e for e in received(res, "server", "S") if int(e.seg.seq) not in client_seqs]
    assert len(old) == 1                                         # a SYN no TCP sent: the old duplicate
    (first_synack, second_synack) = sent(res, "server", "S.")
    assert first_synack.seg.ack == old[0].seg.seq + 1
    (rst,) = sent(res, "client", "R")
    assert rst.seg.seq == first_synack.seg.ack
    assert path(res, "server") == ["SYN-RECEIVED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
    assert path(res, "client") == ["SYN-SENT", "ESTABLISHED"]
    (syn,) = sent(res, "client", "S")
    assert not syn.retransmit and second_synack.seg.ack == syn.seg.seq + 1
