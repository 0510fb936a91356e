"""An earlier revision of synack beside this checkout, for same-run comparisons.

``python benchmarks/run.py --before REV`` and ``benchmarks/timewait.py`` measure an older
commit in the same run as today's code, because on a shared machine only ratios taken
together mean anything."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout(rev: str, into: Path) -> Path | None:
    """``git archive`` of ``rev`` unpacked into ``into``; None when git cannot."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True,
                                 timeout=120).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return into
