"""A file's cells as text, and what every reader shares: whole-file errors, limits, assembly.

Row numbers are the ones a person sees when the file is opened in Excel: the header is
row 1, and blank rows are skipped but keep their numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tuopin.domain.errors import ValidationFailed
from tuopin.io.problems import Problem

CHUNK_ROWS = 100_000


@dataclass
class RawFile:
    """A file's header and cells as text; ``rows`` holds each data row's own number."""

    path: Path
    headers: list[str]
    table: pa.Table  # one string column per header position, named c0, c1, ...
    rows: pa.Array  # int64 row numbers (header = 1)
    encoding: str | None
    sha256: str

    def __len__(self) -> int:
        return self.table.num_rows


def file_error(reason: str, **params: object) -> ValidationFailed:
    """A whole-file error: nothing can be read, nothing will be written."""
    problem = Problem(row=0, column="", value="", reason=reason, params=params)
    return ValidationFailed(problem.message("en"), [problem])


def thousands(number: float) -> str:
    """A count as a limit is written in messages: 1,048,576."""
    return f"{number:,.0f}"


def too_many_rows(name: str, limit: int) -> ValidationFailed:
    """The refusal of a file with more rows below its header than ``limit``."""
    return file_error(
        "The file {name} has more than {limit} rows below its header, the most that can be "
        "imported here. Split the file, or import it with the command line `tuopin import`.",
        name=name, limit=thousands(limit),
    )


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file's bytes, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble(
    header: list[str], rows: Iterable[list[str | None]], *, name: str,
    max_rows: int | None = None,
) -> tuple[list[str], pa.Table, pa.Array]:
    """Columns from rows of text (None for a blank cell); ragged rows reported, blank skipped.

    ``rows`` is consumed lazily, so a reader that streams stops at the row past ``max_rows``
    (blank rows count: they cost as much to read as any other).
    """
    headers = [h.strip() for h in header]
    while headers and not headers[-1]:
        headers.pop()  # Excel often saves trailing empty header cells
    if not headers:
        raise file_error("The header row is empty.")
    width = len(headers)
    columns: list[list[pa.Array]] = [[] for _ in range(width)]
    numbers: list[int] = []
    ragged: list[Problem] = []
    kept: list[list[str | None]] = []
    row_number = 1
    for row in rows:
        row_number += 1
        if max_rows is not None and row_number - 1 > max_rows:
            raise too_many_rows(name, max_rows)
        if row.count(None) == len(row):
            continue
        if len(row) > width and row[width:].count(None) != len(row) - width:
            ragged.append(Problem(row_number, "", str(len(row)),
                                  "Row has {count} cells but the header has {width}.",
                                  {"count": len(row), "width": width}))
            continue
        kept.append(row if len(row) == width else (row + [None] * width)[:width])
        numbers.append(row_number)
        if len(kept) >= CHUNK_ROWS:
            _flush(kept, columns)
    _flush(kept, columns)
    if ragged:
        raise ValidationFailed(f"{len(ragged)} rows have too many cells", ragged)
    arrays = [pa.chunked_array(parts, type=pa.string()) for parts in columns]
    table = pa.table(arrays, names=[f"c{i}" for i in range(width)])
    return headers, table, pa.array(numbers, type=pa.int64())


def _flush(kept: list[list[str | None]], columns: list[list[pa.Array]]) -> None:
    for i, cells in enumerate(zip(*kept, strict=True) if kept else []):
        columns[i].append(pa.array(cells, type=pa.string()))
    kept.clear()
