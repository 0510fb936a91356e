"""Results files: Parquet, CSV and JSON Lines hold the same rows; a sweep never overwrites
results without --resume; what a killed sweep leaves behind is read back."""

from __future__ import annotations

import json

import pytest
from sweephelp import small_sweep, table

from synack.scenarios import sweep as sw
from synack.scenarios.sweepio import COLUMNS, ResultFile, ResultsError, journal_path, read_rows


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    s = small_sweep(loss="0.02", seeds="1")
    bad = sw.failed_row(s.runs[0], "RuntimeError: a point that failed")
    with sw.LocalExecutor(1) as ex:
        return [*ex.map_unordered(sw.run_point, s.runs), bad]


@pytest.mark.parametrize("ext", [".jsonl", ".csv", ".parquet"])
def test_every_format_reads_back_the_rows_written(tmp_path, rows, ext):
    if ext == ".parquet":
        pytest.importorskip("pyarrow", reason="the cluster extra (pyarrow) is not installed")
    path = str(tmp_path / f"runs{ext}")
    with ResultFile(path) as f:
        for r in rows:
            f.append(r)
    back = read_rows(path)
    assert [list(r) for r in back] == [[name for name, _ in COLUMNS]] * len(rows)
    assert back == [{name: r.get(name) for name, _ in COLUMNS} for r in rows]
    assert back[-1]["status"] == "failed" and back[-1]["goodput_bps"] is None


def test_parquet_is_typed_with_list_columns(tmp_path, rows):
    pq = pytest.importorskip("pyarrow.parquet", reason="the cluster extra (pyarrow) is not installed")
    path = str(tmp_path / "runs.parquet")
    with ResultFile(path) as f:
        for r in rows:
            f.append(r)
    schema = pq.read_schema(path)
    assert str(schema.field("goodput_bps_flows").type) == "list<element: double>"
    assert str(schema.field("seed").type) == "int64" and str(schema.field("cc").type) == "string"


@pytest.mark.parametrize("ext", [".jsonl", ".csv", ".parquet"])
def test_existing_results_are_kept_unless_resumed(tmp_path, rows, ext):
    if ext == ".parquet":
        pytest.importorskip("pyarrow")
    path = str(tmp_path / f"runs{ext}")
    with ResultFile(path) as f:
        f.append(rows[0])
    with pytest.raises(ResultsError, match="already holds results: add --resume"):
        ResultFile(path)
    with ResultFile(path, resume=True) as f:
        assert f.done == {rows[0]["key"]}
        f.append(rows[1])
    assert [r["key"] for r in read_rows(path)] == [rows[0]["key"], rows[1]["key"]]


def test_a_killed_parquet_sweep_leaves_its_rows_in_the_journal(tmp_path, rows):
    pytest.importorskip("pyarrow")
    path = str(tmp_path / "runs.parquet")
    f = ResultFile(path)
    f.append(rows[0])
    f.append(rows[1])
    del f                      # killed: never closed, so no Parquet file yet
    assert read_rows(path)[1]["key"] == rows[1]["key"]
    with pytest.raises(ResultsError, match="part.jsonl already holds results"):
        ResultFile(path)
    with ResultFile(path, resume=True) as g:
        assert g.done == {rows[0]["key"], rows[1]["key"]}
        g.append(rows[2])
    back = read_rows(path)
    assert [r["key"] for r in back] == [r["key"] for r in rows[:3]]
    assert not (tmp_path / (journal_path("runs.parquet"))).exists()


@pytest.mark.parametrize("ext", [".jsonl", ".csv"])
def test_a_line_cut_short_is_skipped_and_appending_goes_on(tmp_path, rows, ext):
    path = tmp_path / f"runs{ext}"
    with ResultFile(str(path)) as f:
        f.append(rows[0])
        f.append(rows[1])
    text = path.read_text()
    path.write_text(text[: len(text) - 40])        # the last row cut short by a crash
    assert [r["key"] for r in read_rows(str(path))] == [rows[0]["key"]]
    with ResultFile(str(path), resume=True) as f:
        f.append(rows[1])
    assert table(read_rows(str(path))) == table(rows[:2])


def test_unknown_extension_and_foreign_csv(tmp_path):
    with pytest.raises(ResultsError, match="use a name ending in .parquet, .csv, .jsonl"):
        ResultFile(str(tmp_path / "runs.txt"))
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ResultsError, match="other columns"):
        read_rows(str(other))
    (tmp_path / "x.jsonl").write_text(json.dumps({"key": "k", "seed": 3}) + "\n")
    assert read_rows(str(tmp_path / "x.jsonl"))[0]["seed"] == 3
