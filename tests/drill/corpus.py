"""The drill corpus and its known-gap manifest, shared by the tests and the conformance
matrix generator."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS_DIR = HERE / "scripts"
GAPS_FILE = HERE / "known_gaps.toml"


def scripts() -> list[str]:
    """Every script of the corpus, as a path relative to ``scripts/``, sorted."""
    return sorted(p.relative_to(SCRIPTS_DIR).as_posix() for p in SCRIPTS_DIR.rglob("*.pkt"))


@dataclass(frozen=True)
class Gap:
    script: str
    target: str
    profile: str
    line: int
    reason: str
    fix: str


def gaps() -> dict[tuple[str, str], Gap]:
    """The manifest: (script, target) -> why it fails there and what fixes it."""
    with open(GAPS_FILE, "rb") as f:
        data = tomllib.load(f)
    out: dict[tuple[str, str], Gap] = {}
    for entry in data.get("gap", []):
        g = Gap(entry["script"], entry["target"], entry["profile"], int(entry["line"]), entry["reason"], entry["fix"])
        if (g.script, g.target) in out:
            raise ValueError(f"{GAPS_FILE.name}: {g.script} on {g.target} is listed twice")
        out[(g.script, g.target)] = g
    return out
