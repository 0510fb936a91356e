"""What a drill run shows: one line per script (PASS, or FAIL with the line number), the
script line and the expected and actual packet in tcpdump form on a failure, JSON for
tools, and the run's ladder as synack's HTML report."""

from __future__ import annotations

import json
import os
from typing import Any

from .runner import Result

STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "xfail": "XFAIL", "skip": "SKIP"}


def text(result: Result, *, verbose: bool = False) -> str:
    """The result in a few lines of plain text."""
    head = STATUS_WORDS.get(result.status, result.status.upper())
    where = result.path
    f = result.failure
    if f is not None and f.line and not f.message.startswith(result.path):
        where = f"{result.path}:{f.line}"
    extra = f"{result.target}, profile {result.profile}, {result.script_seconds:.3f} s of script time"
    if result.skipped:
        extra += f", {len(result.skipped)} check{'s' if len(result.skipped) != 1 else ''} skipped"
    lines = [f"{head:5} {where} ({extra})"]
    if f is not None:
        lines.append(f"      {f.message}")
        if f.script_line:
            lines.append(f"      script:   {f.script_line}")
        if f.expected:
            lines.append(f"      expected: {f.expected}")
        if f.actual:
            lines.append(f"      actual:   {f.actual}")
    if verbose:
        lines += [f"      skipped: {s}" for s in result.skipped]
        lines += [f"      {t / 1e6:10.6f} {what}" for t, what in result.log]
    return "\n".join(lines)


def as_dict(result: Result) -> dict[str, Any]:
    """The result as plain JSON values (``--format json`` prints one per line)."""
    f = result.failure
    return {
        "script": result.path, "target": result.target, "profile": result.profile, "status": result.status,
        "line": f.line if f else None, "message": f.message if f else None,
        "script_line": f.script_line if f and f.script_line else None,
        "expected": f.expected if f and f.expected else None, "actual": f.actual if f and f.actual else None,
        "skipped": list(result.skipped), "script_seconds": round(result.script_seconds, 6),
        "wall_seconds": round(result.wall_seconds, 3),
    }


def json_line(result: Result) -> str:
    return json.dumps(as_dict(result), sort_keys=True)


def summary(results: list[Result]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    order = ("pass", "fail", "error")
    words = {"pass": "passed", "fail": "failed", "error": "could not run"}
    parts = [f"{counts[k]} {words[k]}" for k in order if counts.get(k)]
    return f"{len(results)} script{'s' if len(results) != 1 else ''}: " + ", ".join(parts)


def write_html(result: Result, path: str) -> None:
    """The run's ladder (the stack under test and the scripted peer) as synack's HTML report."""
    from ..trace.html import write_html as _write

    title = f"synack drill: {os.path.basename(result.path)} ({result.target}, {result.status})"
    hosts = [h for h in ("synack", "linux") if any(getattr(e, "host", None) == h for e in result.events)]
    _write(result.events, path, title=title, names=result.names, hosts=hosts + ["script"])
