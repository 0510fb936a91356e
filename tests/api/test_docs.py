"""docs/api.md stays true: its example runs and prints exactly the output it shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)


def test_api_md_has_one_python_example():
    assert len(_blocks("python")) == 1


def test_api_md_example_runs_and_prints_what_the_doc_says():
    (code,) = _blocks("python")
    expected = _blocks("text")[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__docs__"})
    assert out.getvalue() == expected
