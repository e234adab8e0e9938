"""Files handed back to the person who imported: the problem report and the reject file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from tuopin.io.problems import RECORD_COLUMNS, REPORT_COLUMNS, Problem, as_rows, has_records

# The writers (openpyxl, Parquet) are imported when a report is written: an import without
# problems never needs them.

# The row number is a number so that the report sorts and filters as one in Excel.
REPORT_SCHEMA = pa.schema(
    [pa.field(name, pa.int64() if name == "row" else pa.string()) for name in REPORT_COLUMNS]
)
RECORD_REPORT_SCHEMA = pa.schema(
    [pa.field(name, pa.int64() if name == "row" else pa.string()) for name in RECORD_COLUMNS]
)
# Columns the reject file adds around the original ones; the importer ignores them.
ROW_COLUMN, REASON_COLUMN = "row", "reason"
REASON_SEPARATOR = "; "


def write_problems(problems: list[Problem], path: Path, *, lang: str) -> None:
    """Write the validation report (``row, column, value, reason``, led by ``record`` when
    the problems name their records) as CSV or XLSX."""
    from tuopin.io.writers import write_table

    fmt = _report_format(path)
    rows = as_rows(problems, lang)
    schema = RECORD_REPORT_SCHEMA if has_records(problems) else REPORT_SCHEMA
    table = pa.Table.from_pylist(rows, schema=schema)
    write_table(table, path, fmt=fmt)


def write_rejects(
    header: list[str],
    rows: list[tuple[int, list[str | None]]],
    reasons: dict[int, list[str]],
    path: Path,
) -> None:
    """Write the rejected rows as read, between a ``row`` and a ``reason`` column."""
    from tuopin.io.writers import write_table

    fmt = _report_format(path)
    # A reject file that is fixed and re-imported already has these two columns; their
    # old values would be stale, so they are replaced rather than repeated.
    width = max([len(header), *(len(cells) for _, cells in rows)])
    kept = [i for i in range(width) if _name(header, i) not in (ROW_COLUMN, REASON_COLUMN)]
    arrays = [pa.array([number for number, _ in rows], pa.int64())]
    arrays += [pa.array([_cell(cells, i) for _, cells in rows], pa.string()) for i in kept]
    arrays.append(
        pa.array([REASON_SEPARATOR.join(reasons.get(n, [])) for n, _ in rows], pa.string())
    )
    names = [ROW_COLUMN, *(_name(header, i) for i in kept), REASON_COLUMN]
    write_table(pa.Table.from_arrays(arrays, names=names), path, fmt=fmt)


def _report_format(path: Path) -> str:
    from tuopin.io.writers import detect_format

    fmt = detect_format(path, None)
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"a report is written as .csv or .xlsx, not {path.suffix!r}")
    return fmt


def _name(header: list[str], index: int) -> str:
    # Cells beyond the header (a ragged row) are kept under a blank header.
    return header[index] if index < len(header) else ""


def _cell(cells: list[str | None], index: int) -> str | None:
    return cells[index] if index < len(cells) else None
