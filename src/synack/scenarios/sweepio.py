"""A sweep's results file: one row per point and seed, appended as each run finishes.

The format follows the file name's extension:

- ``.jsonl`` (JSON Lines): one object a line, lists as JSON arrays;
- ``.csv``: a header line, then one line a row; lists (per-flow goodput and algorithms) are
  joined with ``;``, a missing value is an empty field;
- ``.parquet`` (needs pyarrow, the ``cluster`` extra): a typed table with list columns.
  Parquet files cannot grow in place, so finished rows go to a journal beside the file
  (``FILE.parquet.part.jsonl``) as they come, and the Parquet file is rewritten with every
  row when the sweep ends or stops; a journal left by a killed sweep is folded in by
  ``--resume``.

:func:`read_rows` reads any of them back as dicts with the types of :data:`COLUMNS`; a
line cut short by a crash is skipped. :class:`ResultFile` appends, and knows which runs a
file already holds.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

#: every column, in order, and its type ("list-float", "list-str": per flow)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "str"),
    ("bandwidth_bps", "float"),
    ("rtt_s", "float"),
    ("loss", "float"),
    ("queue", "str"),
    ("queue_packets", "int"),
    ("queue_bdp", "float"),
    ("flows", "int"),
    ("cc", "str"),
    ("rtt_ratio", "float"),
    ("duration_s", "float"),
    ("seed", "int"),
    ("rcv_buf", "int"),
    ("status", "str"),
    ("error", "str"),
    ("goodput_bps", "float"),
    ("goodput_bps_flows", "list-float"),
    ("flow_cc", "list-str"),
    ("utilisation", "float"),
    ("fairness", "float"),
    ("retransmits", "int"),
    ("rtt_p50_s", "float"),
    ("rtt_p99_s", "float"),
    ("queue_drops", "int"),
    ("link_losses", "int"),
    ("wall_s", "float"),
)
NAMES = [name for name, _ in COLUMNS]
FORMATS = (".parquet", ".csv", ".jsonl")


class ResultsError(ValueError):
    """A results file that cannot be used as asked; the message names the file."""


def file_format(path: str) -> str:
    """The format of ``path`` by its extension; ResultsError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix == ".ndjson":
        suffix = ".jsonl"
    if suffix not in FORMATS:
        raise ResultsError(f"cannot tell the format of {path!r}: use a name ending in "
                           f"{', '.join(FORMATS)}")
    if suffix == ".parquet":
        try:
            _arrow()
        except ImportError:
            raise ResultsError("Parquet needs pyarrow: pip install 'synack[cluster]' (or use .csv or .jsonl)") \
                from None
    return suffix


def _arrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet (the ``cluster`` extra), imported when Parquet is used."""
    import pyarrow  # type: ignore[import-untyped]
    import pyarrow.parquet  # type: ignore[import-untyped]

    return pyarrow, pyarrow.parquet


def journal_path(path: str) -> str:
    """Where a Parquet file's rows wait until it is rewritten."""
    return path + ".part.jsonl"


# ------------------------------------------------------------------------------ values
def _clean(row: dict) -> dict:
    """The row with every column, in order (missing ones None), NaN as None."""
    out = {}
    for name, _ in COLUMNS:
        v = row.get(name)
        if isinstance(v, float) and math.isnan(v):
            v = None
        out[name] = v
    return out


def _from_text(kind: str, text: str) -> Any:
    if kind == "list-float":
        return [float(x) for x in text.split(";")] if text else []
    if kind == "list-str":
        return text.split(";") if text else []
    if text == "":
        return "" if kind == "str" else None
    if kind == "int":
        return int(float(text))
    if kind == "float":
        return float(text)
    return text


def _typed(row: dict) -> dict:
    """A row read from JSON, with each column's type."""
    out: dict[str, Any] = {}
    for name, kind in COLUMNS:
        v = row.get(name)
        if v is None:
            out[name] = [] if kind.startswith("list") else ("" if kind == "str" else None)
        elif kind == "int":
            out[name] = int(v)
        elif kind == "float":
            out[name] = float(v)
        elif kind == "list-float":
            out[name] = [float(x) for x in v]
        elif kind == "list-str":
            out[name] = [str(x) for x in v]
        else:
            out[name] = str(v)
    return out


def _csv_line(row: dict) -> str:
    buf = io.StringIO()
    cells = []
    for name, kind in COLUMNS:
        v = row[name]
        if v is None:
            cells.append("")
        elif kind.startswith("list"):
            cells.append(";".join(repr(x) if isinstance(x, float) else str(x) for x in v))
        elif isinstance(v, float):
            cells.append(repr(v))
        else:
            cells.append(str(v))
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _arrow_schema() -> Any:
    pa, _ = _arrow()
    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "list-float": pa.list_(pa.float64()),
             "list-str": pa.list_(pa.string())}
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


# ------------------------------------------------------------------------------ reading
def _read_jsonl(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short when a sweep was killed
            if isinstance(obj, dict):
                rows.append(_typed(obj))
    return rows


def _read_csv(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    if not lines:
        return []
    header = next(csv.reader([lines[0]]))
    if header != NAMES:
        raise ResultsError(f"{path} has other columns than a synack sweep writes")
    if not text.endswith("\n"):
        lines = lines[:-1]  # the last line was cut short
    rows = []
    for cells in csv.reader(lines[1:]):
        if len(cells) != len(NAMES):
            continue
        rows.append({name: _from_text(kind, cell) for (name, kind), cell in zip(COLUMNS, cells, strict=True)})
    return rows


def _read_parquet(path: str) -> list[dict]:
    _, pq = _arrow()
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for a damaged file
        raise ResultsError(f"cannot read {path} as Parquet: {e}") from None
    return [_typed(r) for r in table.to_pylist()]


def read_rows(path: str) -> list[dict]:
    """Every row of a results file, in the order it was written (for Parquet, with the rows
    of a journal a stopped sweep left beside it). ResultsError if unreadable."""
    fmt = file_format(path)
    try:
        if fmt == ".jsonl":
            return _read_jsonl(path)
        if fmt == ".csv":
            return _read_csv(path)
        rows = _read_parquet(path) if os.path.exists(path) else []
        if os.path.exists(journal_path(path)):
            rows += _read_jsonl(journal_path(path))
        elif not rows and not os.path.exists(path):
            raise FileNotFoundError(2, "No such file or directory")
        return rows
    except OSError as e:
        raise ResultsError(f"cannot read {path}: {e.strerror or e}") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ResultsError(f"cannot read {path}: {e}") from None


# ------------------------------------------------------------------------------ writing
class ResultFile:
    """Appends rows to ``path``. Without ``resume`` the file must not exist yet (a sweep
    never overwrites results); with it, the rows already there are kept and
    :attr:`done` holds the keys of the runs that succeeded."""

    def __init__(self, path: str, resume: bool = False) -> None:
        self.path = path
        self.format = file_format(path)
        exists = os.path.exists(path) and os.path.getsize(path) > 0
        leftover = self.format == ".parquet" and os.path.exists(journal_path(path))
        if (exists or leftover) and not resume:
            what = journal_path(path) if leftover and not exists else path
            raise ResultsError(f"{what} already holds results: add --resume to continue that sweep, "
                               f"or choose another file")
        self.rows: list[dict] = read_rows(path) if (exists or leftover) else []
        self.done = {r["key"] for r in self.rows if r.get("status") == "ok"}
        self.written = 0
        target = journal_path(path) if self.format == ".parquet" else path
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            # open for the whole sweep, closed by close(): rows are appended as they finish
            self._f = open(target, "a+", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as e:
            raise ResultsError(f"cannot write {target}: {e.strerror or e}") from None
        self._f.seek(0, os.SEEK_END)
        if self._f.tell() > 0:
            self._f.seek(self._f.tell() - 1)
            last = self._f.read(1)
            self._f.seek(0, os.SEEK_END)
            if last != "\n":
                self._f.write("\n")  # end a line a killed sweep cut short
        elif self.format == ".csv":
            self._f.write(",".join(NAMES) + "\n")
        self._f.flush()

    def append(self, row: dict) -> None:
        row = _clean(row)
        if self.format == ".csv":
            self._f.write(_csv_line(row))
        else:
            self._f.write(json.dumps(row, separators=(",", ":")) + "\n")
        self._f.flush()
        self.rows.append(row)
        self.written += 1

    def close(self) -> None:
        """Finish the file (for Parquet: rewrite it with every row, then drop the journal)."""
        if self._f.closed:
            return
        self._f.close()
        if self.format != ".parquet":
            return
        pa, pq = _arrow()
        rows = [_typed(r) for r in self.rows]
        table = pa.Table.from_pylist(rows, schema=_arrow_schema())
        tmp = self.path + ".tmp"
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, self.path)
        except OSError as e:
            raise ResultsError(f"cannot write {self.path}: {e.strerror or e}; the rows are kept in "
                               f"{journal_path(self.path)}") from None
        os.unlink(journal_path(self.path))

    def __enter__(self) -> ResultFile:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()


__all__ = ["COLUMNS", "FORMATS", "NAMES", "ResultFile", "ResultsError", "file_format", "journal_path",
           "read_rows"]
