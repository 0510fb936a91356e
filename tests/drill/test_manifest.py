"""The corpus and its known-gap manifest are well formed: every script names its profile
and what it checks, and every gap names a script, a target, the line where it fails, the
reason and the fix."""

from __future__ import annotations

import tomllib

import pytest

from corpus import GAPS_FILE, SCRIPTS_DIR, gaps, scripts
from synack.drill import parse_file
from synack.drill.profiles import PROFILES

ALL = scripts()


def test_the_corpus_has_at_least_120_scripts():
    assert len(ALL) >= 120, f"only {len(ALL)} scripts"


@pytest.mark.parametrize("script", ALL)
def test_script_header_names_profile_summary_and_requirement(script):
    sc = parse_file(str(SCRIPTS_DIR / script))
    assert sc.profile in PROFILES, f"{script}: needs `// profile: linux` or `// profile: rfc` in its header"
    assert sc.summary, f"{script}: needs a first comment saying what it checks"
    assert sc.requirements or "RFC" in (SCRIPTS_DIR / script).read_text(), \
        f"{script}: cite what it checks (RFC 9293 §x.y MUST-n, or the RFC section)"


def test_every_gap_is_precise():
    with open(GAPS_FILE, "rb") as f:
        raw = tomllib.load(f).get("gap", [])
    keys = {"script", "target", "profile", "line", "reason", "fix"}
    for entry in raw:
        assert set(entry) == keys, f"gap entry {entry.get('script')}: needs exactly {sorted(keys)}"
    for (script, target), g in gaps().items():
        assert script in ALL, f"known gap for {script}, which is not in the corpus"
        assert target in ("sim", "kernel"), f"{script}: target must be sim or kernel, not {target}"
        sc = parse_file(str(SCRIPTS_DIR / script))
        assert g.profile == sc.profile, f"{script}: the gap says profile {g.profile}, the script {sc.profile}"
        lines = {ev.line for ev in sc.events}
        assert g.line in lines, f"{script}: gap line {g.line} is not an event of the script"
        assert len(g.reason) > 30 and len(g.fix) > 20, f"{script}: say why it fails and what fixes it"
        if target == "kernel":
            pytest.fail(f"{script}: a linux-profile script must pass on the kernel; fix the script instead")
