"""Golden files change only through `make golden`: a run with the regeneration variable set
fails, whether or not it rewrote the files (tests/golden.py)."""

from __future__ import annotations

import pytest
from golden import REGEN_BY_MAKE, REGEN_VAR, check_golden


def test_a_matching_golden_file_passes_and_a_different_one_fails(tmp_path, monkeypatch):
    monkeypatch.delenv(REGEN_VAR, raising=False)
    path = tmp_path / "g.txt"
    path.write_text("picture\n", encoding="utf-8")
    check_golden(path, "picture\n")
    with pytest.raises(AssertionError, match="make golden"):
        check_golden(path, "another picture\n")


def test_a_missing_golden_file_fails(tmp_path, monkeypatch):
    monkeypatch.delenv(REGEN_VAR, raising=False)
    with pytest.raises(pytest.fail.Exception, match="no golden file"):
        check_golden(tmp_path / "missing.txt", "x")


@pytest.mark.parametrize("value", ["1", "yes"])
def test_the_regeneration_variable_set_by_hand_fails_without_writing(tmp_path, monkeypatch, value):
    monkeypatch.setenv(REGEN_VAR, value)
    path = tmp_path / "g.txt"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="only by `make golden`"):
        check_golden(path, "new\n")
    assert path.read_text(encoding="utf-8") == "old\n"


def test_make_golden_rewrites_the_file_and_still_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv(REGEN_VAR, REGEN_BY_MAKE)
    path = tmp_path / "sub" / "g.txt"
    with pytest.raises(pytest.fail.Exception, match="never passes"):
        check_golden(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
