"""Runnable scenarios: each topic of synack's teaching material as something that happens.

A scenario is a function that builds a simulated network, makes the hosts do something
(open, send, lose a segment, close...) and returns a :class:`ScenarioResult` whose trace
every view can show. Scenarios register themselves with :func:`scenario`; modules listed
in :data:`MODULES` are imported on first use. ``synack demo NAME`` runs one.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from ..timeunits import ms

#: modules that define scenarios (each may be absent while it is being written)
MODULES = [
    "synack.scenarios.basics",      # handshake, close, half-close, TIME-WAIT, RST, ...
    "synack.scenarios.flow",        # slow start, fast retransmit, SACK, zero window, ...
    "synack.scenarios.edge",        # SYN flood, blind reset, keep-alive, Fast Open, ...
    "synack.scenarios.web",         # the web path (DNS over TCP, then HTTP), sockets vs ports
    "synack.scenarios.signals",     # ECN, urgent data
]


@dataclass
class ScenarioOptions:
    """What the user may change from the command line."""

    seed: int = 1
    #: random loss probability on every path (both directions)
    loss: float = 0.0
    #: one-way delay on every path, ns
    delay: int = ms(10)
    #: drop the Nth segment on the network (1-based, counting every segment sent), may repeat
    drop: list[int] = field(default_factory=list)
    #: language of the result's ``notes`` ("en" or "ko"); scenarios that do not translate
    #: their notes may ignore it
    lang: str = "en"
    #: the hosts' TCP personality (docs/personalities.md): "linux" or "rfc"
    profile: str = "linux"


    def validate(self) -> None:
        """ValueError naming the first option out of range."""
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be a probability between 0 and 1, got {self.loss!r}")
        if self.delay < 0:
            raise ValueError(f"delay must not be negative, got {self.delay!r} ns")
        if self.profile not in ("linux", "rfc"):
            raise ValueError(f"profile must be linux or rfc, not {self.profile!r}")
        bad = [n for n in self.drop if n < 1]
        if bad:
            raise ValueError(f"drop counts segments from 1, got {bad[0]}")


@dataclass
class ScenarioResult:
    """What a scenario leaves behind for the views."""

    net: Any                          # synack.link.sim.Network, with its recorder
    hosts: tuple[str, ...] = ("client", "server")   # lifelines, left to right
    #: what happened, in the user's language, one paragraph a line (may add to the static text)
    notes: list[str] = field(default_factory=list)
    #: the ladder reads best with raw sequence numbers (a scenario that injects an RFC
    #: figure's ISNs); ``synack demo`` shows them unless ``--relative`` is given
    absolute: bool = False
    #: the ladder should write each segment's ports (a scenario about ports)
    ports: bool = False


@dataclass
class Scenario:
    name: str
    #: one line, for ``synack demo --list``
    summary: str
    #: the plain-language explanation printed after the ladder, by language ("en", "ko")
    explain: dict[str, str]
    run: Callable[[ScenarioOptions], ScenarioResult]


REGISTRY: dict[str, Scenario] = {}


def scenario(name: str, summary: str, explain: dict[str, str]) -> Callable:
    """Register ``fn(options) -> ScenarioResult`` as scenario ``name``."""

    def register(fn: Callable[[ScenarioOptions], ScenarioResult]) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"scenario {name!r} is defined twice")
        REGISTRY[name] = Scenario(name, summary, explain, fn)
        return fn

    return register


def load_all() -> dict[str, Scenario]:
    """Import every scenario module and return the registry."""
    for mod in MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
    return REGISTRY


def get(name: str) -> Scenario:
    """The scenario called ``name``; ValueError listing the known ones otherwise."""
    reg = load_all()
    try:
        return reg[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; `synack demo --list` shows them") from None


def run(name: str, options: ScenarioOptions | None = None) -> ScenarioResult:
    """Run scenario ``name`` with ``options`` (defaults if None)."""
    return get(name).run(options or ScenarioOptions())
