"""JSON Lines export and import of traces: one record (a JSON object) a line.

The schema is in ``docs/trace.md``: every record has ``t`` (seconds), ``host`` and
``event``; segment records name both ends by host name (``src``, ``dst``) and by address
and port, and carry tcpdump's flag letters and the absolute ``seq``/``ack``. A pure
function of the event list (STYLE rule 5)::

    from synack.trace.jsonl import write_jsonl, read_jsonl
    write_jsonl(net.recorder.events, "run.jsonl", names=net.recorder.names)
    records = read_jsonl("run.jsonl")     # validated; ValueError names the bad line
"""

from __future__ import annotations

import json
import os
from typing import IO, Any
from collections.abc import Iterable, Mapping

from .records import check_record, event_record

__all__ = ["to_records", "dumps", "write_jsonl", "write_records", "read_jsonl", "parse_jsonl"]


def to_records(events: Iterable, names: Mapping[str, str] | None = None) -> list[dict]:
    """The typed ``events`` as records, in order. ``names`` maps addresses (or
    ``"addr:port"``) to host names (``net.recorder.names``); unnamed addresses stay
    addresses."""
    return [event_record(ev, names) for ev in events]


def dumps(record: dict) -> str:
    """One record as one line of JSON (no trailing newline). Non-ASCII (``§``) is kept."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)


def write_records(records: Iterable[dict], path_or_file: str | os.PathLike | IO[str]) -> int:
    """Write ``records`` as JSON Lines to a path or an open text file; returns the count."""
    if hasattr(path_or_file, "write"):
        return _write(records, path_or_file)  # type: ignore[arg-type]
    with open(path_or_file, "w", encoding="utf-8") as f:
        return _write(records, f)


def _write(records: Iterable[dict], f: IO[str]) -> int:
    n = 0
    for rec in records:
        f.write(dumps(rec))
        f.write("\n")
        n += 1
    return n


def write_jsonl(events: Iterable, path_or_file: str | os.PathLike | IO[str],
                names: Mapping[str, str] | None = None) -> int:
    """Write the trace ``events`` as JSON Lines; returns the number of records."""
    return write_records((event_record(ev, names) for ev in events), path_or_file)


def parse_jsonl(lines: Iterable[str], source: str = "<trace>") -> list[dict]:
    """Records from JSON Lines text, validated. Blank lines are skipped. A bad line raises
    ValueError ``"<source>:<line>: <what is wrong>"``."""
    out: list[dict] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec: Any = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{source}:{lineno}: not JSON ({e.msg} at column {e.colno})") from None
        try:
            check_record(rec)
        except ValueError as e:
            raise ValueError(f"{source}:{lineno}: {e}") from None
        out.append(rec)
    return out


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The records of the JSON Lines file ``path``, validated against the schema.

    OSError when the file cannot be read; ValueError naming the line number when a line is
    not JSON, not an object, or breaks the schema (a missing field, a wrong type)."""
    try:
        with open(path, encoding="utf-8") as f:
            return parse_jsonl(f, os.fspath(path))
    except UnicodeDecodeError as e:
        raise ValueError(f"{os.fspath(path)}: not UTF-8 text ({e.reason} at byte {e.start})") from None
