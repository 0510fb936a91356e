"""Golden ladders: what ``synack demo NAME`` draws for every registered scenario, plain text.

Each scenario runs with the default options and its ladder is rendered as the demo renders
it (NO_COLOR set, 100 columns, absolute numbers where the scenario asks for them) and
compared with ``golden/NAME.txt``. A change to a scenario, to the stack or to the ladder
that changes what users see shows up here as a diff to review. A new scenario (in any
scenario module) needs its golden file: generate it with the same switch.

To accept the new pictures, regenerate them with ``make golden`` and read the diff
(tests/golden.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from golden import check_golden
from scenario_helpers import all_names, run

from synack.cli.demo_cmd import ladder

GOLDEN = Path(__file__).parent / "golden"
WIDTH = 100


def render(name: str) -> str:
    res = run(name)
    return ladder(res, absolute=res.absolute, color=None, width=WIDTH) + "\n"


@pytest.mark.parametrize("name", all_names())
def test_golden_ladder(name, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    text = render(name)
    assert "\x1b[" not in text
    check_golden(GOLDEN / f"{name}.txt", text, f"ladder of scenario {name!r}")


def test_every_golden_file_belongs_to_a_scenario():
    names = set(all_names())
    assert {p.stem for p in GOLDEN.glob("*.txt")} <= names
