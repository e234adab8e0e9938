"""Writing an Arrow table to CSV, XLSX or Parquet, the way Chinese Excel users can open it.

Every CSV and XLSX file tuopin hands to a person is written here, so text that a spreadsheet
would run as a formula is neutralised here, once (``tuopin.io.formulas``).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from tuopin.io.formulas import is_text, looks_like_formula, quoted, quoted_name

# What XML 1.0 cannot hold: openpyxl's control characters, and the noncharacters U+FFFE and
# U+FFFF (written, they make a workbook no reader opens).
NOT_IN_XML = re.compile(f"{ILLEGAL_CHARACTERS_RE.pattern}|[\ufffe\uffff]")

FORMATS = ("csv", "xlsx", "parquet")
SUFFIXES = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}

# Excel on Chinese Windows reads a CSV without a BOM as GBK and shows mojibake.
UTF8_BOM = b"\xef\xbb\xbf"
# A sheet has 1,048,576 rows; the header takes one.
EXCEL_MAX_DATA_ROWS = 1_048_575
EXCEL_MAX_COLUMNS = 16_384
LIST_SEPARATOR = ";"
TEXT_FORMAT = "@"
MIN_WIDTH, MAX_WIDTH = 8.0, 50.0
# Column widths are measured on the first rows only: good enough, and cheap on 1M rows.
WIDTH_SAMPLE_ROWS = 200
XLSX_BATCH_ROWS = 10_000


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The file format: ``fmt`` when given, else from the suffix of ``path``."""
    if fmt is not None:
        name = fmt.lower().lstrip(".")
        if name not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        return name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"cannot tell the format of {path.name!r} from its suffix: "
            f"use one of {', '.join(SUFFIXES)}"
        )
    return SUFFIXES[suffix]


def write_table(
    table: pa.Table,
    path: Path,
    *,
    fmt: str | None = None,
    headers: Mapping[str, str] | None = None,
    bom: bool = True,
    preamble: Sequence[str] = (),
) -> int:
    """Write ``table`` as csv, xlsx or parquet and return the number of rows written.

    ``preamble``: lines of text above the table (a notice's heading), one cell a line, in
    CSV and XLSX; a Parquet file has no place for them and refuses them.
    """
    fmt = detect_format(path, fmt)
    if preamble and fmt == "parquet":
        raise ValueError("a parquet file has no heading lines: write csv or xlsx")
    if headers:
        table = table.rename_columns([headers.get(name, name) for name in table.column_names])
    if fmt == "xlsx":
        # Checked before the file is opened, so a refused export leaves nothing behind.
        _check_excel_limits(table)
    with _atomic(path) as part:
        if fmt == "csv":
            _write_csv(_flattened(table), part, bom=bom, preamble=preamble)
        elif fmt == "xlsx":
            _write_xlsx(_flattened(table), part, preamble=preamble)
        else:
            pq.write_table(table, part)
    return table.num_rows


def display_width(text: str) -> int:
    """How many Latin-character widths ``text`` takes in a spreadsheet cell."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_width(texts: list[str]) -> float:
    """A column width that fits the widest of ``texts`` within sensible bounds."""
    widest = max((display_width(t) for t in texts), default=0)
    return min(MAX_WIDTH, max(MIN_WIDTH, widest + 2.0))


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    # Write beside the target and rename, so a failed export never leaves a half file
    # that a later import would take for a whole one.
    part = path.with_name(f".{path.name}.part")
    try:
        yield part
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def _check_excel_limits(table: pa.Table) -> None:
    if table.num_rows > EXCEL_MAX_DATA_ROWS:
        raise ValueError(
            f"{table.num_rows:,} rows do not fit in one Excel sheet "
            f"(at most {EXCEL_MAX_DATA_ROWS:,}): export as csv or parquet instead"
        )
    if table.num_columns > EXCEL_MAX_COLUMNS:
        raise ValueError(
            f"{table.num_columns:,} columns do not fit in one Excel sheet "
            f"(at most {EXCEL_MAX_COLUMNS:,})"
        )


def _flattened(table: pa.Table) -> pa.Table:
    """Columns CSV and Excel can hold: lists joined by ';', dictionaries decoded."""
    columns = [_flat_column(table.column(i)) for i in range(table.num_columns)]
    return pa.Table.from_arrays(columns, names=table.column_names)


def _flat_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _flat_column(column.cast(kind.value_type))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # Same separator the importer splits ENUM_LIST / TEXT_LIST cells on.
        as_text = column.cast(pa.list_(pa.string()))
        return pc.binary_join(as_text, LIST_SEPARATOR)
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        # Excel has no time zones; show the wall-clock time of the column's zone.
        return pc.local_timestamp(column)
    return column


def _write_csv(table: pa.Table, path: Path, *, bom: bool, preamble: Sequence[str] = ()
               ) -> None:
    table = _neutralised(table)
    with pa.OSFile(str(path), "wb") as sink:
        if bom:
            sink.write(UTF8_BOM)
        if preamble:
            lines = io.StringIO()
            writer = csv.writer(lines, lineterminator="\n")
            writer.writerows([quoted_name(line)] for line in preamble)
            sink.write(lines.getvalue().encode("utf-8"))
        pa_csv.write_csv(table, sink)


def _neutralised(table: pa.Table) -> pa.Table:
    """Text cells (and headers) that look like formulas behind an apostrophe; numbers as is."""
    columns = [quoted(c) if is_text(c.type) else c for c in table.columns]
    names = [quoted_name(name) for name in table.column_names]
    return pa.Table.from_arrays(columns, names=names)


def _write_xlsx(table: pa.Table, path: Path, *, preamble: Sequence[str] = ()) -> None:
    # exact decimals (amounts of the books) as their text: an Excel number is a float
    table = pa.table([c.cast(pa.string()) if pa.types.is_decimal(c.type) else c
                      for c in table.columns], names=table.column_names)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    names = table.column_names
    sample = table.slice(0, WIDTH_SAMPLE_ROWS)
    for index, name in enumerate(names, start=1):
        texts = [name, *(_as_text(v) for v in sample.column(index - 1).to_pylist())]
        sheet.column_dimensions[get_column_letter(index)].width = column_width(texts)
    # the heading lines are wider than any column: they overflow into the empty cells
    sheet.freeze_panes = f"A{len(preamble) + 2}"
    for line in preamble:
        sheet.append([_text_cell(sheet, line)])
    sheet.append([_header_cell(sheet, name) for name in names])
    for batch in table.to_batches(max_chunksize=XLSX_BATCH_ROWS):
        columns = [_cells(sheet, batch.column(i)) for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True):
            sheet.append(row)
    workbook.save(path)


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def _header_cell(sheet: WriteOnlyWorksheet, name: str) -> WriteOnlyCell:
    cell = _text_cell(sheet, name)
    cell.font = Font(bold=True)
    return cell


def _cells(sheet: WriteOnlyWorksheet, column: pa.Array) -> list[object]:
    values = column.to_pylist()
    if not is_text(column.type):
        return values
    return [v if v is None or not _needs_text_cell(v) else _text_cell(sheet, v) for v in values]


def _needs_text_cell(value: str) -> bool:
    # Digit strings are already string cells, but without the text format Excel turns an
    # edited ID number into 6.2E+17; openpyxl would store '=...' as a formula and '#N/A'
    # as an error, and refuses control characters outright.
    return (
        value.isdigit()
        or looks_like_formula(value)
        or value in ERROR_CODES
        or NOT_IN_XML.search(value) is not None
    )


def _text_cell(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    # Control characters are refused by the XLSX format itself; they carry no meaning here.
    text = NOT_IN_XML.sub("", value)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    cell.number_format = TEXT_FORMAT
    if looks_like_formula(text):
        # Excel's own mark for text that looks like a formula: a string cell is never
        # evaluated when opened, and with this mark not after the cell is edited either.
        cell.quotePrefix = True
    return cell
