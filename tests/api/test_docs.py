"""docs/api.md stays true: each Python example runs and prints exactly the output the text
block after it shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
#: (code, output): each python block with the text block that follows it
EXAMPLES = re.findall(r"```python\n(.*?)```(?:(?!```).)*```text\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_api_md_has_an_example_for_sockets_streams_and_protocols():
    assert len(EXAMPLES) == 3
    assert len(re.findall(r"```python\n", DOC.read_text(encoding="utf-8"))) == len(EXAMPLES)


@pytest.mark.parametrize(("code", "expected"), EXAMPLES, ids=["sockets", "asyncio-streams", "h11-protocol"])
def test_api_md_example_runs_and_prints_what_the_doc_says(code, expected):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__docs__"})
    assert out.getvalue() == expected
