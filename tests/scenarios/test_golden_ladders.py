"""Golden ladders: what ``synack demo NAME`` draws for every registered scenario, plain text.

Each scenario runs with the default options and its ladder is rendered as the demo renders
it (NO_COLOR set, 100 columns, absolute numbers where the scenario asks for them) and
compared with ``golden/NAME.txt``. A change to a scenario, to the stack or to the ladder
that changes what users see shows up here as a diff to review. A new scenario (in any
scenario module) needs its golden file: generate it with the same switch.

To accept the new pictures, regenerate them and read the diff::

    SYNACK_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/scenarios/test_golden_ladders.py
    git diff tests/scenarios/golden/
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from scenario_helpers import all_names, run

from synack.cli.demo_cmd import ladder

GOLDEN = Path(__file__).parent / "golden"
WIDTH = 100
REGEN = os.environ.get("SYNACK_REGEN_GOLDEN", "") not in ("", "0")


def render(name: str) -> str:
    res = run(name)
    return ladder(res, absolute=res.absolute, color=None, width=WIDTH) + "\n"


@pytest.mark.parametrize("name", all_names())
def test_golden_ladder(name, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    text = render(name)
    path = GOLDEN / f"{name}.txt"
    if REGEN:
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"no golden ladder for scenario {name!r}: create {path.name} with "
                    f"SYNACK_REGEN_GOLDEN=1 .venv/bin/python -m pytest {Path(__file__).name}")
    assert "\x1b[" not in text
    assert text == path.read_text(encoding="utf-8"), (
        f"the ladder of {name} changed; if the change is intended, regenerate with "
        f"SYNACK_REGEN_GOLDEN=1 and review the diff of {path}")


def test_every_golden_file_belongs_to_a_scenario():
    names = set(all_names())
    assert {p.stem for p in GOLDEN.glob("*.txt")} <= names
