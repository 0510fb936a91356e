"""The user's options reach the wire: --seed, --loss, --delay and --drop, and no option
value makes a scenario crash."""

from __future__ import annotations

import pytest
from scenario_helpers import basics_names, entered, events, flags, run, sent

from synack.scenarios import ScenarioOptions, get
from synack.timeunits import ms, sec


def test_delay_is_applied_to_every_path():
    res = run("handshake", delay=ms(50))
    assert entered(res, "client", "ESTABLISHED") == [ms(100)]
    assert entered(res, "server", "ESTABLISHED") == [ms(150)]
    for a, b in (("client", "server"), ("server", "client")):
        assert res.net.path(a, b).delay == ms(50)


def test_zero_delay_still_tells_the_story():
    res = run("story", delay=0)
    assert entered(res, "client", "CLOSED")[0] - entered(res, "client", "TIME-WAIT")[0] == sec(60)


def test_loss_one_loses_every_segment_and_the_scenario_ends_with_a_note():
    res = run("handshake", loss=1.0)
    drops = events(res, "drop")
    assert drops and all(d.reason == "link-loss" for d in drops)
    assert len(drops) == len(sent(res))
    text = " ".join(res.notes)
    assert "connect" in text and "TimeoutError" in text


def test_loss_is_seeded():
    a = run("story", loss=0.3, seed=4)
    b = run("story", loss=0.3, seed=4)
    c = run("story", loss=0.3, seed=5)
    def reasons(r):
        return [(d.t, d.reason) for d in events(r, "drop")]
    assert reasons(a) == reasons(b)
    assert reasons(a) != reasons(c) or [e.seg for e in sent(a)] != [e.seg for e in sent(c)]


def test_drop_counts_every_segment_of_every_host():
    # story: S, S., ., P. (the request) ... -> the 4th segment is the client's request
    res = run("story", drop=[4])
    (drop,) = [d for d in events(res, "drop") if d.reason == "scripted"]
    assert drop.host == "client" and flags(drop) == "P." and drop.seg.payload
    assert [e.retransmit for e in sent(res, "client") if e.seg.payload] == [False, True]
    assert any("--drop 4" in n and "P." in n for n in res.notes)


def test_drop_of_the_synack_makes_the_server_retransmit_it():
    res = run("handshake", drop=[2])
    synacks = sent(res, "server", "S.")
    # the server's RTO, and (Linux's tcp_check_req) the client's SYN again, both at 1 s
    assert len(synacks) == 3 and not synacks[0].retransmit and synacks[1].retransmit and synacks[2].retransmit
    assert synacks[1].t - synacks[0].t == sec(1)                  # the initial RTO
    assert entered(res, "client", "ESTABLISHED") and entered(res, "server", "ESTABLISHED")


def test_drop_repeats_and_comes_before_the_scenarios_own_faults():
    # lost-syn drops every SYN itself; --drop 1 must still count (and take) the first one
    res = run("lost-syn", drop=[1, 3])
    scripted = [d for d in events(res, "drop") if d.reason == "scripted"]
    assert len(scripted) == len(sent(res))
    assert [n for n in res.notes if n.startswith("--drop")] == [
        "--drop 1: segment 1 (client -> server, [S]) was dropped.",
        "--drop 3: segment 3 (client -> server, [S]) was dropped."]


def test_drop_beyond_the_last_segment_says_so():
    res = run("handshake", drop=[99])
    assert "--drop 99: only 3 segments were sent, so none was dropped." in res.notes
    ko = run("handshake", drop=[99], lang="ko")
    assert any(n.startswith("--drop 99:") and "3개" in n for n in ko.notes)


@pytest.mark.parametrize("bad, word", [({"loss": 1.5}, "loss"), ({"loss": -0.1}, "loss"),
                                        ({"delay": -1}, "delay"), ({"drop": [0]}, "drop")])
def test_out_of_range_options_raise_value_error_naming_them(bad, word):
    with pytest.raises(ValueError, match=word):
        get("handshake").run(ScenarioOptions(**bad))


@pytest.mark.parametrize("name", basics_names())
def test_no_loss_or_drop_makes_a_scenario_crash(name):
    """Under heavy loss or any single drop, a scenario ends with a result and notes."""
    for opts in ([{"loss": 0.4, "seed": s} for s in (1, 2, 3)] + [{"loss": 1.0}]
                 + [{"drop": [n]} for n in range(1, 9)]):
        res = run(name, **opts)
        assert res.notes, opts
