"""The reporting layer: one number formatter, markdown tables through pandas, and the one way a table is
written (csv, parquet, or csv with its markdown rendering; atomically, so never half-written)."""

from __future__ import annotations

import math

import pandas as pd

from transferlab.io import atomic_path, atomic_write_text


def pt(x, sign: bool = True, digits: int = 1, unit: str = "", missing: str = "n/a") -> str:
    """A fraction of top-1 as points (or a relative change as percent): ×100, ``digits`` decimals, a sign with
    ``sign``, then ``unit`` (e.g. " pt"); ``missing`` for a value that is not a finite number."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(x):
        return missing
    return f"{100 * x:{'+' if sign else ''}.{digits}f}{unit}"


def markdown_table(rows, columns: list[str] | None = None) -> str:
    """A pipe table of ``rows`` (a data frame, or a list of dicts or of lists with ``columns``), cells as they
    are (formatted by the caller; numbers are not re-parsed)."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=columns)
    # a "|" inside a cell (the scorecard separates groups with it) would end the cell: escaped, it prints as is
    frame = frame.astype(str).apply(lambda col: col.str.replace("|", "\\|", regex=False)) if len(frame) else frame
    return frame.to_markdown(index=False, tablefmt="pipe", disable_numparse=True) + "\n"


def write_csv(table: pd.DataFrame, path) -> pd.DataFrame:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return table


def write_parquet(table: pd.DataFrame, path) -> pd.DataFrame:
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return table


def write_table(table: pd.DataFrame, csv, md, markdown: str) -> pd.DataFrame:
    """``table`` as csv and its ``markdown`` rendering."""
    write_csv(table, csv)
    atomic_write_text(md, markdown)
    return table
