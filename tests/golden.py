"""Golden files: the one mechanism every golden test uses.

A normal run only compares. Golden files are rewritten only by ``make golden``, which sets
``SYNACK_REGEN_GOLDEN=make-golden``: each golden test then writes its file and *fails*, so
a run that regenerated can never pass as a test run; ``make golden`` then runs the tests
again, unchanged, and shows ``git diff --stat`` of the files for review. Any other value of
the variable fails every golden test without writing anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REGEN_VAR = "SYNACK_REGEN_GOLDEN"
REGEN_BY_MAKE = "make-golden"


def check_golden(path: Path, text: str, what: str = "output") -> None:
    """Compare ``text`` with the golden file ``path`` (or rewrite it under ``make golden``)."""
    mode = os.environ.get(REGEN_VAR)
    if mode:
        if mode != REGEN_BY_MAKE:
            pytest.fail(f"{REGEN_VAR} is set: golden files are regenerated only by `make golden`")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        pytest.fail(f"regenerated {path.name} (make golden); a regenerating run never passes")
    if not path.exists():
        pytest.fail(f"no golden file {path}: create it with `make golden` and review it")
    assert text == path.read_text(encoding="utf-8"), (
        f"the {what} differs from {path}; if the change is intended, run `make golden` and review the diff")
