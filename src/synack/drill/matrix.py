"""The RFC 9293 requirement matrix: every Appendix B requirement ID, the code that cites
it, the tests and drill scripts that check it, and its status.

    python -m synack.drill.matrix            # print docs/conformance.md as it should be
    python -m synack.drill.matrix --write    # write it
    python -m synack.drill.matrix --check    # exit 1 when a citation or a status is wrong

Citations are found in the source: an ID such as ``MUST-18`` in a docstring or comment of
``src/synack`` is the function (or class, or module) around it; in ``tests/`` the test
function around it (a test module's docstring counts for the whole file); in a drill
script's comments the script. Statuses, reasons and planned fixes, and any test that
checks a requirement without naming it, come from ``tests/drill/requirements.toml``. Run
from a source checkout (it reads ``src/``, ``tests/`` and ``docs/``).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ID_RE = re.compile(r"\b(MUST-\d+|SHLD-\d+|MAY-\d+|REC-\d+)\b")
STATUSES = ("implemented", "partial", "missing", "optional", "not-applicable")
#: code that only talks about requirements (the interpreter's own messages and docs)
_NOT_IMPLEMENTATION = ("synack/drill/",)


def root() -> Path:
    """The source checkout this module sits in."""
    return Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Citation:
    rid: str
    where: str          # "synack/tcp/rtt.py:RttEstimator.sample", "tests/tcp/test_rtt.py::test_x", script path
    path: str
    line: int


@dataclass
class Requirement:
    rid: str
    section: str
    keyword: str
    text: str
    status: str
    note: str = ""
    fix: str = ""
    tests: list[str] = field(default_factory=list)   # explicit "path::test_name" entries
    code: list[Citation] = field(default_factory=list)
    checks: list[Citation] = field(default_factory=list)


def id_key(rid: str) -> tuple[int, int]:
    kind, n = rid.split("-")
    return ({"MUST": 0, "SHLD": 1, "MAY": 2, "REC": 3}[kind], int(n))


# ----------------------------------------------------------------------------- scanning
def _scopes(tree: ast.AST) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{ch.name}"
                out.append((ch.lineno, ch.end_lineno or ch.lineno, name))
                walk(ch, name + ".")
            else:
                walk(ch, prefix)

    walk(tree, "")
    return out


def scan_python(path: Path, rel: str, tests: bool) -> list[Citation]:
    """The requirement IDs named in one Python file, each with the function it is in."""
    text = path.read_text(encoding="utf-8")
    if not ID_RE.search(text):
        return []
    try:
        scopes = _scopes(ast.parse(text, str(path)))
    except SyntaxError:
        scopes = []
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for rid in ID_RE.findall(line):
            inner = [s for s in scopes if s[0] <= n <= s[1]]
            if tests:
                names = [s[2] for s in inner if s[2].split(".")[-1].startswith(("test", "Test"))]
                where = f"{rel}::{names[-1]}" if names else rel
            else:
                where = f"{rel}:{min(inner, key=lambda s: s[1] - s[0])[2]}" if inner else rel
            found.append(Citation(rid, where, rel, n))
    return found


def scan(base: Path) -> tuple[list[Citation], list[Citation], list[Citation]]:
    """(code citations, test citations, drill script citations) under ``base``."""
    code: list[Citation] = []
    tests: list[Citation] = []
    scripts: list[Citation] = []
    src = base / "src"
    for p in sorted((src / "synack").rglob("*.py")):
        rel = p.relative_to(src).as_posix()
        if not rel.startswith(_NOT_IMPLEMENTATION):
            code += scan_python(p, rel, tests=False)
    for p in sorted((base / "tests").rglob("*.py")):
        rel = p.relative_to(base).as_posix()
        if not rel.startswith("tests/drill/"):
            tests += scan_python(p, rel, tests=True)
    sdir = base / "tests" / "drill" / "scripts"
    for p in sorted(sdir.rglob("*.pkt")):
        rel = p.relative_to(base).as_posix()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("//"):
                scripts += [Citation(rid, rel, rel, n) for rid in ID_RE.findall(line)]
    return code, tests, scripts


def load(base: Path) -> dict[str, Requirement]:
    with open(base / "tests" / "drill" / "requirements.toml", "rb") as f:
        data = tomllib.load(f)
    reqs = {}
    for rid, d in data.items():
        reqs[rid] = Requirement(rid, d["section"], d["keyword"], d["text"], d["status"], d.get("note", ""),
                                d.get("fix", ""), list(d.get("tests", [])))
    return reqs


def known_gaps(base: Path) -> dict[str, str]:
    with open(base / "tests" / "drill" / "known_gaps.toml", "rb") as f:
        data = tomllib.load(f)
    return {f"tests/drill/scripts/{g['script']}": g["target"] for g in data.get("gap", [])}


def build(base: Path) -> tuple[dict[str, Requirement], list[str]]:
    """The matrix, and every problem with it (unknown IDs, missing tests, bad statuses)."""
    reqs = load(base)
    code, tests, scripts = scan(base)
    problems: list[str] = []
    for c in code + tests + scripts:
        r = reqs.get(c.rid)
        if r is None:
            problems.append(f"{c.path}:{c.line}: cites {c.rid}, which RFC 9293 Appendix B does not have")
            continue
        (r.code if c in code else r.checks).append(c)
    for r in reqs.values():
        for t in r.tests:
            path, _, name = t.partition("::")
            f = base / path
            if not f.exists() or (name and not re.search(rf"def {re.escape(name.split('[')[0])}\b", f.read_text())):
                problems.append(f"requirements.toml: {r.rid} lists {t}, which does not exist")
        if r.status not in STATUSES:
            problems.append(f"requirements.toml: {r.rid} has status {r.status!r} (one of {', '.join(STATUSES)})")
        checked = bool(r.checks or r.tests)
        if r.status == "implemented" and not checked:
            problems.append(f"{r.rid} is 'implemented' but no test or drill script checks it "
                            "(cite it in one, or list the test in requirements.toml)")
        if r.status == "partial" and (not checked or not r.fix):
            problems.append(f"{r.rid} is 'partial': it needs a test that checks what exists and the planned fix")
        if r.status == "missing" and not r.fix:
            problems.append(f"{r.rid} is 'missing' without its planned fix")
        if r.status in ("not-applicable", "optional") and not r.note:
            problems.append(f"{r.rid} is '{r.status}' without the reason")
        if r.status == "optional" and r.keyword != "MAY":
            problems.append(f"{r.rid} is a {r.keyword}: only a MAY may be left out as 'optional'")
    return reqs, problems


# ----------------------------------------------------------------------------- the document
def _cell(items: list[str], limit: int = 4) -> str:
    uniq = list(dict.fromkeys(items))
    shown = ", ".join(f"`{i}`" for i in uniq[:limit])
    if len(uniq) > limit:
        shown += f" (+{len(uniq) - limit} more)"
    return shown or "—"


def render(reqs: dict[str, Requirement], base: Path) -> str:
    gaps = known_gaps(base)
    order = sorted(reqs.values(), key=lambda r: id_key(r.rid))
    counts = {s: sum(1 for r in order if r.status == s) for s in STATUSES}
    lines = [
        "# RFC 9293 conformance matrix",
        "",
        "Generated by `python -m synack.drill.matrix --write` from the requirement IDs cited in",
        "`src/synack` (the code), `tests/` (the tests) and `tests/drill/scripts` (the drill scripts),",
        "and from `tests/drill/requirements.toml` (statuses, reasons, planned fixes). Do not edit it",
        "by hand: `tests/drill/test_conformance.py` fails when it is stale, when a citation names an",
        "ID that does not exist, or when a requirement has no test and is not a known missing one.",
        "",
        f"{len(order)} requirements: **{counts['implemented']} implemented and tested**, "
        f"{counts['partial']} partial, {counts['missing']} missing, {counts['optional']} optional and not "
        f"implemented, {counts['not-applicable']} not applicable.",
        "A drill script marked (gap) fails today on the simulator (`tests/drill/known_gaps.toml`).",
        "",
        "| ID | § | Requirement | Status | Cited in code | Checked by |",
        "|---|---|---|---|---|---|",
    ]
    for r in order:
        checks = [c.where for c in r.checks if not c.where.endswith(".pkt")] + r.tests
        scripts = [c.where for c in r.checks if c.where.endswith(".pkt")]
        shown_scripts = [s.removeprefix("tests/drill/scripts/") + (" (gap)" if s in gaps else "") for s in scripts]
        checked = _cell(checks, 3)
        if shown_scripts:
            checked = (checked + "; drill " if checks else "drill ") + _cell(shown_scripts, 3)
        status = r.status.replace("-", " ")
        lines.append(f"| {r.rid} | {r.section} | {r.text} | {status} | {_cell([c.where for c in r.code], 3)} "
                     f"| {checked} |")
    todo = [r for r in order if r.status in ("partial", "missing")]
    lines += ["", "## Missing and partial requirements", "",
              "The work order: what is missing or weak, and the planned fix.", ""]
    for r in todo:
        note = f" {r.note}" if r.note else ""
        lines.append(f"- **{r.rid}** ({r.status}, §{r.section}): {r.text}{note} *Fix:* {r.fix}")
    opt = [r for r in order if r.status == "optional"]
    lines += ["", "## Optional, not implemented", ""]
    lines += [f"- **{r.rid}** (§{r.section}): {r.text} {r.note}" for r in opt]
    na = [r for r in order if r.status == "not-applicable"]
    lines += ["", "## Not applicable", ""]
    lines += [f"- **{r.rid}** (§{r.section}): {r.text} *Why:* {r.note}" for r in na]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m synack.drill.matrix", description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help="write docs/conformance.md")
    p.add_argument("--check", action="store_true", help="exit 1 on a wrong citation or status, or a stale file")
    args = p.parse_args(argv)
    base = root()
    reqs, problems = build(base)
    text = render(reqs, base)
    target = base / "docs" / "conformance.md"
    if args.write:
        target.write_text(text, encoding="utf-8")
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            problems.append("docs/conformance.md is stale: run python -m synack.drill.matrix --write")
        for pr in problems:
            print(pr, file=sys.stderr)
        return 1 if problems else 0
    if not args.write:
        sys.stdout.write(text)
    for pr in problems:
        print(f"warning: {pr}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
