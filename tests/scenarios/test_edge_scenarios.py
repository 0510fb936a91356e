"""The scenarios at the edges (scenarios/edge.py): what ``synack demo syn-flood``,
``blind-reset``, ``keepalive`` and ``fast-open`` show, read from their traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from scenario_helpers import events, run, sent

from synack import scenarios
from synack.cli import main
from synack.scenarios import edge
from synack.timeunits import ms, sec

EDGE = ["syn-flood", "blind-reset", "keepalive", "fast-open"]


def test_every_edge_scenario_is_registered_with_both_languages():
    reg = scenarios.load_all()
    for name in EDGE:
        sc = reg[name]
        assert sc.run.__module__ == edge.__name__
        assert sc.summary and sc.explain["en"] and sc.explain["ko"]


def test_syn_flood_switches_to_cookies_and_the_client_gets_in():
    res = run("syn-flood")
    assert res.hosts == ("attacker", "server", "client")
    forged = [e for e in sent(res, "attacker")]
    assert len(forged) == edge.FLOOD_SYNS and all(e.cause == "forged" for e in forged)
    on = [e for e in events(res, "syncookies", "server") if e.on]
    assert len(on) == 1 and "SYN queue full (4/4)" in on[0].reason
    queue = [e.syn_queue for e in events(res, "listen-queue", "server") if e.cause == "syn"]
    assert queue == [1, 2, 3, 4]
    cookie_synacks = [e for e in sent(res, "server", "S.") if e.cause == "syncookie"]
    assert len(cookie_synacks) == edge.FLOOD_SYNS - 4 + 1             # the client's too
    est = [e.t for e in events(res, "state", "client") if e.new == "ESTABLISHED"]
    syn = [e.t for e in sent(res, "client", "S")][0]
    assert est[0] - syn == ms(20)                                      # one round trip
    text = " ".join(res.notes)
    assert "67.02 s" in text and "cookies sent in all" in text


def test_blind_reset_never_resets_and_the_limit_holds():
    res = run("blind-reset")
    assert not events(res, "error")
    drops = events(res, "drop", "server")
    assert [d.reason for d in drops if d.reason in ("out-of-window",) and d.seg.flags & 4].count("out-of-window") == 4
    challenged = [d for d in drops if d.reason in ("rst-not-exact", "syn-in-synchronized", "ack-too-old")]
    limited = [d for d in drops if d.reason == "challenge-ack-limit"]
    # The forged SYN draws the challenge ACK; the six forgeries within the next 500 ms draw
    # none (one challenge ACK per 500 ms per connection, as Linux's tcp_invalid_ratelimit).
    assert [d.reason for d in challenged] == ["syn-in-synchronized"] and len(limited) == 6
    assert {d.detail.split(":")[0] for d in limited} == {"ack-too-old", "rst-not-exact"}
    assert any("went through" in n for n in res.notes)


def test_keepalive_probes_are_answered_then_the_dead_peer_is_given_up():
    res = run("keepalive")
    probes = [e for e in sent(res, "client") if e.cause == "keepalive"]
    assert [round(p.t / sec(1), 2) for p in probes] == [10.05, 20.07, 30.09, 32.09, 34.09]
    (err,) = events(res, "error", "client")
    assert err.error == "timeout" and "keep-alive" in err.detail
    assert sent(res, "client", "R.")                             # Linux's RST,ACK
    assert any("TimeoutError" in n for n in res.notes)


def test_fast_open_saves_a_round_trip_on_the_second_connection():
    res = run("fast-open")
    actions = [e.action for e in events(res, "fastopen")]
    assert actions[:3] == ["cookie-requested", "cookie-issued", "cookie-stored"]
    assert "data-in-syn" in actions and "data-accepted" in actions
    syns = sent(res, "client", "S")
    assert not syns[0].seg.payload and syns[1].seg.payload == edge.REQUEST
    assert any("20 ms saved" in n for n in res.notes)


@pytest.mark.parametrize("name", EDGE)
def test_no_loss_or_drop_makes_an_edge_scenario_crash(name):
    variants: Sequence[Mapping[str, object]] = (
        [{"loss": 0.3, "seed": s} for s in (1, 2)] + [{"drop": [n]} for n in (1, 3, 6)]
        + [{"lang": "ko"}, {"delay": 0}])
    for opts in variants:
        res = run(name, **opts)
        assert res.notes, opts


@pytest.mark.parametrize("name", EDGE)
def test_the_demo_command_shows_them_and_writes_the_html_report(name, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    html = tmp_path / f"{name}.html"
    assert main(["demo", name, "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "In this run:" in out
    page = html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") or page.lower().startswith("<!doctype html>")


def test_the_readme_example_prints_what_the_readme_says(capsys):
    """README.md, "Under attack and at the edges": the example runs and prints its output."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Under attack and at the edges", 1)[1].split("\n## ", 1)[0]
    code_block = re.search(r"```python\n(.*?)```", section, re.S)
    printed_block = re.search(r"prints\n\n```text\n(.*?)```", section, re.S)
    assert code_block is not None and printed_block is not None
    code, expected = code_block.group(1), printed_block.group(1)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == expected
