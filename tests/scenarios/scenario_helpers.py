"""Reading a scenario's trace the way the ladder does: segments sent and received, states,
application calls. Shared by the scenario tests."""

from __future__ import annotations

from synack import scenarios
from synack.scenarios import ScenarioOptions, basics
from synack.timeunits import NS_PER_S
from synack.trace.records import flags_text


def basics_names() -> list[str]:
    """The scenarios scenarios/basics.py registers, in registry order."""
    return [n for n, s in scenarios.load_all().items() if s.run.__module__ == basics.__name__]


def all_names() -> list[str]:
    """Every registered scenario, whichever module defines it, in registry order."""
    return list(scenarios.load_all())


def run(name: str, **options):
    return scenarios.run(name, ScenarioOptions(**options))


def events(res, kind: str, host: str | None = None) -> list:
    return [e for e in res.net.recorder.events if e.event == kind and (host is None or e.host == host)]


def flags(ev) -> str:
    """tcpdump's letters of a segment event: "S", "S.", ".", "P.", "F.", "R", "R."."""
    return flags_text(ev.seg.flags)


def sent(res, host: str | None = None, letters: str | None = None) -> list:
    return [e for e in events(res, "send", host) if letters is None or flags(e) == letters]


def received(res, host: str | None = None, letters: str | None = None) -> list:
    return [e for e in events(res, "recv", host) if letters is None or flags(e) == letters]


def path(res, host: str) -> list[str]:
    """The states ``host`` went through, in order (after its first)."""
    return [e.new for e in events(res, "state", host)]


def entered(res, host: str, state: str) -> list[int]:
    """When ``host`` entered ``state`` (ns), each time."""
    return [e.t for e in events(res, "state", host) if e.new == state]


def state_before(res, ev) -> dict:
    """Each host's state (its most recently changed connection) just before event ``ev``."""
    cur: dict = {}
    for e in res.net.recorder.events:
        if e is ev:
            return cur
        if e.event == "state":
            cur[e.host] = e.new
    raise ValueError("event not in the trace")


def calls(res, host: str, call: str) -> list:
    return [e for e in events(res, "app", host) if e.call == call]


def seconds(ns: int) -> float:
    return ns / NS_PER_S
