"""transferlab.report: the points formatter, markdown tables, and atomic csv / parquet / markdown writers."""

import re

import numpy as np
import pandas as pd
import pytest

from transferlab import report

TABLE = pd.DataFrame({"net": ["baseA", "A3B-ft"], "n": [0, 3], "top1": [0.625, 0.1 + 0.2], "note": ["", "x, y"]})


@pytest.mark.parametrize(
    "x, kwargs, want",
    [
        (0.123, {}, "+12.3"),
        (-0.05, {"unit": " pt"}, "-5.0 pt"),
        (0.0, {}, "+0.0"),
        (0.5, {"sign": False, "digits": 0}, "50"),
        (0.01234, {"digits": 2}, "+1.23"),
        ("0.25", {}, "+25.0"),  # a number read back from a csv as text
        (np.float32(0.5), {}, "+50.0"),
    ],
)
def test_pt_formats_points(x, kwargs, want):
    assert report.pt(x, **kwargs) == want


@pytest.mark.parametrize("x", [None, "", "abc", float("nan"), float("inf"), -np.inf, pd.NA, [0.1]])
def test_pt_says_missing_for_anything_but_a_finite_number(x):
    assert report.pt(x) == "n/a" and report.pt(x, missing="-") == "-"


def _cells(md):
    """The cells of each line of a pipe table, split at unescaped pipes only."""
    return [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in md.splitlines()]


def test_markdown_table_keeps_cells_as_given():
    rows = [["A|B", "1.50"], ["007", "1e3"]]  # a pipe in a cell; numbers formatted by the caller
    md = report.markdown_table(rows, ["group", "value"])
    cells = _cells(md)
    assert cells[0] == ["group", "value"] and cells[2:] == rows
    assert md.endswith("\n")
    as_dicts = [{"group": g, "value": v} for g, v in rows]
    assert report.markdown_table(as_dicts) == report.markdown_table(pd.DataFrame(as_dicts)) == md


def test_markdown_table_of_no_rows_is_its_header():
    md = report.markdown_table([], ["a", "b"])
    assert len(md.splitlines()) == 2 and _cells(md)[0] == ["a", "b"]  # header and rule, no body


def test_writers_read_back_equal(tmp_path):
    assert report.write_csv(TABLE, tmp_path / "out" / "t.csv") is TABLE
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "t.csv", keep_default_na=False), TABLE, check_exact=True
    )
    assert report.write_parquet(TABLE, tmp_path / "out" / "t.parquet") is TABLE
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out" / "t.parquet"), TABLE)  # dtypes too
    md = report.markdown_table(TABLE.astype(str))
    assert report.write_table(TABLE, tmp_path / "w.csv", tmp_path / "w.md", md) is TABLE
    assert (tmp_path / "w.md").read_text() == md
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "w.csv", keep_default_na=False), TABLE)
    assert not list(tmp_path.rglob(".*"))  # no temp file left behind


@pytest.mark.parametrize("writer, method", [(report.write_csv, "to_csv"), (report.write_parquet, "to_parquet")])
def test_an_interrupted_table_write_keeps_the_old_file(tmp_path, monkeypatch, writer, method):
    path = tmp_path / "t.out"
    path.write_text("old\n")

    def dies_half_way(self, target, *args, **kwargs):
        with open(target, "w") as f:
            f.write("net,n\nbase")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, method, dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        writer(TABLE, path)
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["t.out"]
