"""Read a CSV, XLSX or Parquet file into string columns, keeping each row's number.

Everything arrives as text (None for an empty cell) so that the validator sees what the
user typed; typing happens in ``tuopin.io.cells``. Row numbers are the ones a person sees
when the file is opened in Excel: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain.errors import ValidationFailed
from tuopin.io.problems import Problem

AUTO_ENCODINGS = ("utf-8", "gb18030")
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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_file(path: Path, *, encoding: str | None = None, sheet: str | None = None) -> RawFile:
    """Read ``path`` by its suffix; raise ValidationFailed for a file that cannot be read."""
    if not path.exists():
        raise file_error("File {path} does not exist.", path=str(path))
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path, encoding)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise file_error("Unsupported file type {suffix}: use CSV, XLSX or Parquet.", suffix=suffix)


def _decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    candidates = (encoding,) if encoding else AUTO_ENCODINGS
    for name in candidates:
        try:
            if not codecs.lookup(name)._is_text_encoding:
                raise LookupError(name)  # base64, hex, rot13: codecs, but not for text
        except LookupError as exc:
            raise file_error("Unknown encoding {encoding}.", encoding=name) from exc
        try:
            text = data.decode(name)
        except UnicodeDecodeError as exc:
            if encoding or name == candidates[-1]:
                line = data[: exc.start].count(b"\n") + 1
                raise file_error(
                    "The file cannot be decoded as {encoding}: bad bytes on line {line} "
                    "(byte {offset}). Save it as UTF-8 or name its encoding with --encoding.",
                    encoding=" / ".join(candidates), line=line, offset=exc.start,
                ) from exc
            continue
        bom = not encoding and data[:3] == codecs.BOM_UTF8
        return text.removeprefix("\ufeff"), "utf-8-sig" if bom else name
    raise AssertionError("unreachable")  # pragma: no cover


def _read_csv(path: Path, encoding: str | None) -> RawFile:
    data = path.read_bytes()
    if not data.strip():
        raise file_error("The file is empty.")
    text, used = _decode(data, encoding)
    if not text.strip():
        raise file_error("The file is empty.")
    if "\x00" in text:
        raise file_error("The file contains NUL bytes: it is not a text CSV file.")
    fast = _read_csv_arrow(text)
    if fast is not None:
        headers, table, numbers = fast
        return RawFile(path, headers, table, numbers, used, hashlib.sha256(data).hexdigest())
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        rows = _chunks(reader, len(header))
        headers, table, numbers = _assemble(header, rows)
    except csv.Error as exc:
        raise file_error("The CSV file is malformed near line {line}: {error}",
                         line=reader.line_num, error=str(exc)) from exc
    return RawFile(path, headers, table, numbers, used, hashlib.sha256(data).hexdigest())


BLANK_LINE = re.compile(r"\n[ \t\r]*\n")


def _read_csv_arrow(text: str) -> tuple[list[str], pa.Table, pa.Array] | None:
    """Arrow's CSV reader when every record is one line and no line is blank.

    Then a record's row number is simply its line number. Files with quoted line breaks
    or blank lines (rare, but Excel writes both) take the slower csv-module path, which
    counts rows the way Excel shows them.
    """
    import pyarrow.csv as pacsv

    first_break = text.find("\n")
    if first_break < 0 or '"' in text or "\r" in text[:first_break].rstrip("\r"):
        return None  # quoting rules (and stray carriage returns) are the csv module's job
    if BLANK_LINE.search(text.rstrip("\r\n ") + "\n", first_break):
        return None
    headers = [h.strip() for h in text[:first_break].rstrip("\r").split(",")]
    if not any(headers) or len(set(headers)) != len(headers):
        return None
    names = [f"c{i}" for i in range(len(headers))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                           block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""]),
        )
    except pa.ArrowInvalid:
        return None  # ragged rows and the like: the slow path reports them row by row
    lines = text.count("\n", 0, len(text.rstrip("\r\n "))) if table.num_rows else 0
    if lines != table.num_rows:
        return None
    table = pa.table([_blank_to_null(c) for c in table.columns], names=names)
    numbers = pa.array(np.arange(2, table.num_rows + 2), type=pa.int64())
    # a row of empty cells (",,,") is skipped like a blank line but keeps its number
    filled = functools.reduce(pc.or_, [pc.is_valid(c) for c in table.columns])
    if not pc.all(filled).as_py():
        table, numbers = table.filter(filled), numbers.filter(filled.combine_chunks())
    return headers, table, numbers


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    blank = pc.equal(pc.utf8_trim_whitespace(column), "")
    return pc.if_else(blank, pa.scalar(None, pa.string()), column)


def _chunks(rows: Iterator[list[str]], width: int) -> Iterator[list[list[str | None]]]:
    chunk: list[list[str | None]] = []
    for row in rows:
        chunk.append([cell if cell.strip() else None for cell in row])
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _assemble(
    header: list[str], chunks: Iterator[list[list[str | None]]]
) -> tuple[list[str], pa.Table, pa.Array]:
    """Columns from row chunks; ragged rows are reported, blank rows skipped but counted."""
    headers = [h.strip() for h in header]
    while headers and not headers[-1]:
        headers.pop()  # Excel often saves trailing empty header cells
    if not headers:
        raise file_error("The header row is empty.")
    width = len(headers)
    columns: list[list[pa.Array]] = [[] for _ in range(width)]
    numbers: list[int] = []
    ragged: list[Problem] = []
    row_number = 1
    for chunk in chunks:
        kept: list[list[str | None]] = []
        for row in chunk:
            row_number += 1
            if all(cell is None for cell in row):
                continue
            if len(row) > width and any(cell is not None for cell in row[width:]):
                ragged.append(Problem(row_number, "", str(len(row)),
                                      "Row has {count} cells but the header has {width}.",
                                      {"count": len(row), "width": width}))
                continue
            kept.append((row + [None] * width)[:width])
            numbers.append(row_number)
        for i, cells in enumerate(zip(*kept, strict=True) if kept else []):
            columns[i].append(pa.array(cells, type=pa.string()))
    if ragged:
        raise ValidationFailed(f"{len(ragged)} rows have too many cells", ragged)
    arrays = [pa.chunked_array(parts, type=pa.string()) for parts in columns]
    table = pa.table(arrays, names=[f"c{i}" for i in range(width)])
    return headers, table, pa.array(numbers, type=pa.int64())


def _cell_text(value: object) -> str | None:
    """An XLSX cell as the text a person would type (dates ISO, 12.0 as 12)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = str(value)
    return text if text.strip() else None


def _read_xlsx(path: Path, sheet: str | None) -> RawFile:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise file_error("The file is not a readable XLSX workbook: {error}",
                         error=str(exc)) from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise file_error("The workbook has no sheet named {sheet}.", sheet=sheet)
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise file_error("The file is empty.")
        header = [_cell_text(v) or "" for v in first]
        chunks = _chunks(([_cell_text(v) or "" for v in r] for r in rows), len(header))
        headers, table, numbers = _assemble(header, chunks)
    finally:
        book.close()
    return RawFile(path, headers, table, numbers, None, sha256_of(path))


def raw_from_table(source: pa.Table, name: str) -> RawFile:
    """An in-memory table (from the generator, say) as if it had been read from a file."""
    table = _as_text(source)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    numbers = pa.array(range(2, source.num_rows + 2), type=pa.int64())
    return RawFile(Path(name), list(source.column_names), table, numbers, None, digest)


def _read_parquet(path: Path) -> RawFile:
    import pyarrow.parquet as pq

    try:
        source = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise file_error("The file is not a readable Parquet file: {error}",
                         error=str(exc)) from exc
    if source.num_columns == 0:
        raise file_error("The file is empty.")
    table = _as_text(source)
    numbers = pa.array(range(2, source.num_rows + 2), type=pa.int64())
    return RawFile(path, list(source.column_names), table, numbers, None, sha256_of(path))


def _as_text(source: pa.Table) -> pa.Table:
    """Every column as text with blanks as null, the way a CSV cell arrives."""
    arrays = []
    for name, column in zip(source.column_names, source.columns, strict=True):
        try:
            text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid) as exc:
            raise file_error("Column {name} cannot be read as text ({type}).", name=name,
                             type=str(column.type)) from exc
        arrays.append(_blank_to_null(text))
    return pa.table(arrays, names=[f"c{i}" for i in range(source.num_columns)])
