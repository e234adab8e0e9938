"""Printing results as a table, JSON or CSV: every command that prints a result uses this."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: text that a spreadsheet would run as a formula gets the
    apostrophe every CSV tuopin writes gives it (io.formulas)."""
    from tuopin.io.formulas import quoted_name

    return quoted_name(value) if isinstance(value, str) else _plain(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_plain)


def render(rows: Sequence[Mapping[str, Any]], fmt: OutputFormat, *, title: str = "",
           columns: Sequence[str] | None = None, console: Console | None = None) -> None:
    """Print ``rows`` in ``fmt``; ``columns`` fixes the order (default: the first row's keys)."""
    names = list(columns or (rows[0].keys() if rows else []))
    if fmt is OutputFormat.JSON:
        sys.stdout.write(to_json([{k: r.get(k) for k in names} for r in rows]) + "\n")
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([csv_cell(n) for n in names])
        writer.writerows([csv_cell(r.get(k)) for k in names] for r in rows)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title or None, show_lines=False)
        for name in names:
            # an id is copied into the next command: never cut short to fit the terminal
            table.add_column(name, no_wrap=name == "id", min_width=None)
        for r in rows:
            table.add_row(*["" if r.get(k) is None else str(_plain(r.get(k))) for k in names])
        (console or Console()).print(table)


def render_mapping(data: Mapping[str, Any], fmt: OutputFormat, *, title: str = "") -> None:
    """Print one record (key/value pairs) in ``fmt``."""
    if fmt is OutputFormat.JSON:
        sys.stdout.write(to_json(dict(data)) + "\n")
        return
    rows = [{"field": k, "value": v} for k, v in data.items()]
    render(rows, fmt, title=title, columns=["field", "value"])


def write_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Write result rows to a CSV, XLSX or Parquet file (by its suffix)."""
    import pyarrow as pa

    from tuopin.io.writers import detect_format, write_table

    table = pa.Table.from_pylist([{k: _plain(r.get(k)) for k in columns} for r in rows]) \
        if rows else pa.table({c: pa.array([], pa.string()) for c in columns})
    write_table(table, path, fmt=detect_format(path, None))


@contextmanager
def working(description: str) -> Iterator[None]:
    """A spinner with the time taken, on stderr, while a long step runs (a step whose
    service reports no counts: an assessment run, a funds check, a snapshot, an export)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        bar.add_task(description, total=None)
        yield
