"""The RFC 9293 requirement matrix (docs/conformance.md) is complete and current: every
Appendix B ID is listed, every citation in the code, the tests and the drill scripts names
an ID that exists, and every requirement is checked by a test or listed as missing (with
its planned fix), optional or not applicable (with the reason)."""

from __future__ import annotations

import shutil

import pytest

from golden import check_golden
from synack.drill.matrix import build, render, root, scan_python

ROOT = root()


@pytest.fixture(scope="module")
def matrix():
    return build(ROOT)


def appendix_b() -> set[str]:
    return ({f"MUST-{n}" for n in range(1, 70)} | {f"SHLD-{n}" for n in range(1, 32)}
            | {f"MAY-{n}" for n in range(1, 19)} | {"REC-1"})


def test_every_appendix_b_id_is_in_the_matrix_once(matrix):
    reqs, _ = matrix
    assert set(reqs) == appendix_b()


def test_citations_and_statuses_hold(matrix):
    _, problems = matrix
    assert not problems, "\n".join(problems)


def test_docs_conformance_md_is_current(matrix):
    """Regenerate with ``python -m synack.drill.matrix --write`` (or ``make golden``)."""
    reqs, _ = matrix
    check_golden(ROOT / "docs" / "conformance.md", render(reqs, ROOT), "conformance matrix")


def test_a_citation_is_attributed_to_the_function_around_it(tmp_path):
    f = tmp_path / "x.py"
    f.write_text('"""Module: MUST-2."""\n\n\nclass A:\n    def b(self):\n        # RFC 9293 §3.5 MUST-10\n'
                 '        return 1\n\n\ndef test_c():\n    """SHLD-7."""\n')
    code = scan_python(f, "synack/x.py", tests=False)
    assert [(c.rid, c.where) for c in code] == [("MUST-2", "synack/x.py"), ("MUST-10", "synack/x.py:A.b"),
                                                ("SHLD-7", "synack/x.py:test_c")]
    tests = scan_python(f, "tests/x.py", tests=True)
    assert [c.where for c in tests] == ["tests/x.py", "tests/x.py", "tests/x.py::test_c"]


def _checkout(tmp_path):
    """A small copy of the checkout that the checker can be pointed at."""
    (tmp_path / "src" / "synack").mkdir(parents=True)
    (tmp_path / "tests" / "drill" / "scripts").mkdir(parents=True)
    for name in ("requirements.toml", "known_gaps.toml"):
        shutil.copy(ROOT / "tests" / "drill" / name, tmp_path / "tests" / "drill" / name)
    return tmp_path


def test_the_checker_fails_on_a_citation_of_a_requirement_that_does_not_exist(tmp_path):
    base = _checkout(tmp_path)
    (base / "src" / "synack" / "bad.py").write_text("def f():\n    # RFC 9293 MUST-99\n    pass\n")
    _, problems = build(base)
    assert "synack/bad.py:2: cites MUST-99, which RFC 9293 Appendix B does not have" in problems


def test_the_checker_fails_on_a_requirement_nothing_checks(tmp_path):
    base = _checkout(tmp_path)  # no tests and no scripts: every "implemented" is unproven
    _, problems = build(base)
    assert any(p.startswith("MUST-10 is 'implemented' but no test or drill script checks it") for p in problems)
