"""Read a CSV, XLSX or Parquet file into string columns, keeping each row's number.

Everything arrives as text (None for an empty cell) so that the validator sees what the
user typed; typing happens in ``tuopin.io.cells``. Row numbers are the ones a person sees
when the file is opened in Excel: the header is row 1.

Whatever a file holds, reading it either succeeds or raises ValidationFailed with problems
that name the file (and the row, where one is known). Uploads pass limits: ``max_rows``
(rows below the header) and, for XLSX, ``max_unpacked_bytes``; the command line reads
province-size files without them. A CSV cell written as ``'=...`` by tuopin's own writer
(``tuopin.io.formulas``) reads back without its apostrophe.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.io.blanks import blank_to_null
from tuopin.io.formulas import QUOTE, unquoted, unquoted_name
from tuopin.io.raw import RawFile, assemble, file_error, sha256_of, too_many_rows
from tuopin.io.threads import in_background, map_columns
from tuopin.io.workbooks import read_xlsx

__all__ = ["RawFile", "file_error", "raw_from_table", "read_file", "sha256_of"]

AUTO_ENCODINGS = ("utf-8", "gb18030")


def read_file(
    path: Path, *, encoding: str | None = None, sheet: str | None = None,
    name: str | None = None, max_rows: int | None = None,
    max_unpacked_bytes: int | None = None,
) -> RawFile:
    """Read ``path`` by its suffix; raise ValidationFailed for a file that cannot be read.

    ``name`` is what problems call the file (an upload kept under its hash has a name of
    its own); ``max_rows`` and ``max_unpacked_bytes`` (XLSX only) are None for no limit.
    """
    if not path.exists():
        raise file_error("File {path} does not exist.", path=str(path))
    shown = name or path.name
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path, encoding, name=shown, max_rows=max_rows)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet, name=shown, max_rows=max_rows,
                         max_unpacked_bytes=max_unpacked_bytes)
    if suffix == ".parquet":
        return _read_parquet(path, name=shown, max_rows=max_rows)
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


def _read_csv(path: Path, encoding: str | None, *, name: str, max_rows: int | None) -> RawFile:
    data = path.read_bytes()
    if not data.strip():
        raise file_error("The file is empty.")
    # hashed beside the parsing (hashlib lets go of the GIL): 0.12 s of a 100 MB file's read;
    # rows: a registry file's lines run to about a hundred bytes
    digest = in_background(lambda: hashlib.sha256(data).hexdigest(), rows=len(data) // 100)
    if encoding is None:
        # The usual file, UTF-8 with one record per line, is read from its bytes: Arrow checks
        # the UTF-8 as it parses, so the text is never decoded in Python (a million members:
        # 0.8 s of searching and decoding saved). Anything else takes the general path.
        body = data.removeprefix(codecs.BOM_UTF8)
        fast = b"\x00" not in body and _read_csv_arrow(body, name=name, max_rows=max_rows)
        if fast:
            headers, table, numbers = fast
            if QUOTE.encode() in body:
                headers, table = _unquoted(headers, table)
            used = "utf-8-sig" if body is not data else "utf-8"
            return RawFile(path, headers, table, numbers, used, digest.result())
    text, used = _decode(data, encoding)
    if not text.strip():
        raise file_error("The file is empty.")
    if "\x00" in text:
        raise file_error("The file contains NUL bytes: it is not a text CSV file.")
    tried = encoding is None and used in ("utf-8", "utf-8-sig")  # these bytes, just above
    fast = None if tried else _read_csv_arrow(text.encode("utf-8"), name=name,
                                              max_rows=max_rows)
    if fast:
        headers, table, numbers = fast
    else:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = next(reader)
            rows = ([cell if cell.strip() else None for cell in row] for row in reader)
            headers, table, numbers = assemble(header, rows, name=name, max_rows=max_rows)
        except csv.Error as exc:
            raise file_error("The CSV file is malformed near line {line}: {error}",
                             line=reader.line_num, error=str(exc)) from exc
    if QUOTE in text:  # rare: the search costs less than a regex over every column
        headers, table = _unquoted(headers, table)
    return RawFile(path, headers, table, numbers, used, digest.result())


def _unquoted(headers: list[str], table: pa.Table) -> tuple[list[str], pa.Table]:
    """Cells and headers without the apostrophe tuopin's writer puts before a formula."""
    columns = [blank_to_null(unquoted(c)) if pc.any(pc.starts_with(c, QUOTE)).as_py() else c
               for c in table.columns]
    return [unquoted_name(h) for h in headers], pa.table(columns, names=table.column_names)


BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")


def _read_csv_arrow(
    utf8: bytes, *, name: str, max_rows: int | None
) -> tuple[list[str], pa.Table, pa.Array] | None:
    """Arrow's CSV reader over UTF-8 bytes when every record is one line and no line is
    blank; None when the file needs the general path.

    Then a record's row number is simply its line number. Files with quoted line breaks
    or blank lines (rare, but Excel writes both) take the slower csv-module path, which
    counts rows the way Excel shows them. Bytes that are not UTF-8 fail Arrow's own check.
    """
    import pyarrow.csv as pacsv

    first_break = utf8.find(b"\n")
    if first_break < 0 or b'"' in utf8 or b"\r" in utf8[:first_break].rstrip(b"\r"):
        return None  # quoting rules (and stray carriage returns) are the csv module's job
    if _may_have_blank_lines(utf8, first_break) and BLANK_LINE.search(
            utf8.rstrip(b"\r\n ") + b"\n", first_break):
        return None
    try:
        header_line = utf8[:first_break].decode("utf-8")
    except UnicodeDecodeError:
        return None
    headers = [h.strip() for h in header_line.rstrip("\r").split(",")]
    if not any(headers) or len(set(headers)) != len(headers):
        return None
    names = [f"c{i}" for i in range(len(headers))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(utf8),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                           block_size=16 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""]),
        )
    except pa.ArrowInvalid:
        return None  # ragged rows, bytes that are not UTF-8: the general path reports them
    if max_rows is not None and table.num_rows > max_rows:
        raise too_many_rows(name, max_rows)  # rows of empty cells count, as on the slow path
    lines = utf8.count(b"\n", 0, _end_of_text(utf8)) if table.num_rows else 0
    if lines != table.num_rows:
        return None
    table = pa.table(map_columns(blank_to_null, table.columns, rows=table.num_rows),
                     names=names)
    numbers = pa.array(np.arange(2, table.num_rows + 2), type=pa.int64())
    # a row of empty cells (",,,") is skipped like a blank line but keeps its number
    filled = functools.reduce(pc.or_, [pc.is_valid(c) for c in table.columns])
    if not pc.all(filled).as_py():
        table, numbers = table.filter(filled), numbers.filter(filled.combine_chunks())
    return headers, table, numbers


# A line break followed by another, a space, a tab or a carriage return: without one,
# BLANK_LINE cannot match (one pass of this costs a fifth of BLANK_LINE's backtracking).
_BLANK_LINE_START = re.compile(rb"\n[\n\r \t]")


def _end_of_text(utf8: bytes) -> int:
    """Where the text ends before its trailing line breaks and spaces (rstrip's length,
    without rstrip's copy of a 100 MB file)."""
    end = len(utf8)
    while end and utf8[end - 1] in b"\r\n ":
        end -= 1
    return end


def _may_have_blank_lines(utf8: bytes, start: int) -> bool:
    return _BLANK_LINE_START.search(utf8, start) is not None


def raw_from_table(source: pa.Table, name: str) -> RawFile:
    """An in-memory table (from the generator, say) as if it had been read from a file."""
    table = _as_text(source)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
    numbers = pa.array(range(2, source.num_rows + 2), type=pa.int64())
    return RawFile(Path(name), list(source.column_names), table, numbers, None, digest)


def _read_parquet(path: Path, *, name: str, max_rows: int | None) -> RawFile:
    import pyarrow.parquet as pq

    try:
        if max_rows is not None:
            with pq.ParquetFile(path) as parquet:
                if parquet.metadata.num_rows > max_rows:
                    raise too_many_rows(name, max_rows)
        source = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:  # every Arrow error: the file is not Parquet
        raise file_error("The file is not a readable Parquet file: {error}",
                         error=str(exc).replace(str(path), name)) from exc
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
        except pa.ArrowException as exc:  # no cast to text for this type
            raise file_error("Column {name} cannot be read as text ({type}).", name=name,
                             type=str(column.type)) from exc
        arrays.append(blank_to_null(text))
    return pa.table(arrays, names=[f"c{i}" for i in range(source.num_columns)])
