"""Reading the first (or a named) sheet of an XLSX workbook as text, safely.

A workbook is a ZIP archive of XML parts, and an uploaded one is untrusted:

- every XML part is parsed by openpyxl through defusedxml (a dependency of tuopin): a part
  that declares entities (the "billion laughs") is refused, never expanded;
- with ``max_unpacked_bytes`` the archive's declared sizes are checked before anything is
  parsed (zipfile never inflates an entry past its declared size), and so is each large
  entry's compression ratio (a ZIP bomb);
- rows are streamed from openpyxl's read-only reader and reading stops at the row past
  ``max_rows``; the sheet's own claim about its size is ignored;
- whatever openpyxl raises while parsing means the file is damaged: it becomes a whole-file
  problem naming the file and the row reached, never a crash.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from tuopin.domain.errors import ConfigurationError, ValidationFailed
from tuopin.i18n import N_
from tuopin.io.problems import Problem
from tuopin.io.raw import RawFile, assemble, file_error, sha256_of, thousands

# A sheet has at most 1,048,576 rows. A row number beyond it (one <row r="2000000000"/> is
# enough) would otherwise make the reader yield that many empty rows.
EXCEL_MAX_ROWS = 1_048_576
# Real sheets deflate 8 to 20 times (measured on tuopin's own exports and Excel files);
# a ZIP bomb, about 1,000 times. Small parts may be as compressible as they like.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECKED_BYTES = 1 << 20
# Excel keeps 15 significant digits: a float cell at or above 10^15 has lost digits (an ID
# number typed as a number shows as 6.21121E+17). Integers are exact (written by a program),
# up to the longest value any column holds (household numbers and bank accounts: 32).
EXACT_FLOAT_LIMIT = 1e15
EXACT_INT_LIMIT = 10**32
SHOWN_CHARS = 24

NUMBER_TOO_LARGE = N_("This number is too large to be read exactly: format the column as "
                      "text and type the value again.")


class _TooLarge(ValueError):
    """A number cell no column can hold as it was typed."""


def read_xlsx(
    path: Path, sheet: str | None, *, name: str, max_rows: int | None = None,
    max_unpacked_bytes: int | None = None,
) -> RawFile:
    """The cells of one sheet as text; ValidationFailed for a workbook that cannot be read."""
    from openpyxl import load_workbook

    _require_defusedxml()
    if max_unpacked_bytes is not None:
        _check_archive(path, name, max_unpacked_bytes)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl on a hostile file: anything means "not readable"
        raise _unreadable(exc, path, name, row=None) from exc
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise file_error("The workbook has no sheet named {sheet}.", sheet=sheet)
        if not book.worksheets:
            raise file_error("The workbook {name} has no sheet.", name=name)
        ws = book[sheet] if sheet else book.worksheets[0]
        # The sheet's <dimension> is the file's claim, not a fact: padding every row to a
        # claimed width of 16,384 columns made 5,000 one-cell rows 80 million cells.
        ws.reset_dimensions()
        rows = _guarded(ws.iter_rows(values_only=True), path, name)
        first = next(rows, None)
        if first is None:
            raise file_error("The file is empty.")
        bad: list[Problem] = []
        header = [text or "" for text in _texts(first, len(first), 1, [], bad)]
        labels = [h.strip() for h in header]
        body = (_texts(row, len(labels), number, labels, bad)
                for number, row in enumerate(rows, start=2))
        headers, table, numbers = assemble(header, body, name=name, max_rows=max_rows)
    finally:
        book.close()
    if bad:
        raise ValidationFailed(f"{len(bad)} cells hold numbers too large to read", bad)
    return RawFile(path, headers, table, numbers, None, sha256_of(path))


def _require_defusedxml() -> None:
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:  # uninstalled, or OPENPYXL_DEFUSEDXML=False in the environment
        raise ConfigurationError("defusedxml is needed to read XLSX workbooks safely")


def _check_archive(path: Path, name: str, limit: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _unreadable(exc, path, name, row=None) from exc
    total = sum(entry.file_size for entry in entries)
    if total > limit:
        raise file_error(
            "The workbook {name} unpacks to {size} bytes, more than the {limit} bytes that can "
            "be imported here. Split the file, or import it with the command line "
            "`tuopin import`.", name=name, size=thousands(total), limit=thousands(limit))
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_CHECKED_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise file_error(
                "The workbook {name} is compressed far more than any real workbook ({part} "
                "unpacks {ratio} times): it is refused. Save it again from Excel.",
                name=name, part=entry.filename, ratio=thousands(ratio))


def _guarded(rows: Iterator[tuple[Any, ...]], path: Path, name: str) -> Iterator[tuple[Any, ...]]:
    """openpyxl's rows, with any failure of its parser turned into a problem with the file."""
    number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # the parser on a hostile file; our code is outside the try
            raise _unreadable(exc, path, name, row=number + 1) from exc
        number += 1
        if number > EXCEL_MAX_ROWS:
            raise file_error("The workbook {name} has rows beyond row {limit}, the last row "
                             "of an Excel sheet: it is damaged.", name=name,
                             limit=thousands(EXCEL_MAX_ROWS))
        yield row


def _unreadable(exc: BaseException, path: Path, name: str, *, row: int | None) -> ValidationFailed:
    from defusedxml import DefusedXmlException

    causes = list(_chain(exc))
    if any(isinstance(cause, DefusedXmlException) for cause in causes):
        return file_error("The workbook {name} declares XML entities, which tuopin refuses "
                          "(they can expand into gigabytes). Save it again from Excel.",
                          name=name)
    # openpyxl wraps the parser's error in one naming the server's path: show the cause,
    # with the file's own name in place of that path.
    error = str(causes[-1]).replace(str(path), name).rstrip(". ") or type(causes[-1]).__name__
    if row is not None and "integer string conversion" in error:
        # Python refuses to read an integer of more than 4,300 digits (its own defence
        # against slow conversions); its message advises a setting no user can change.
        return file_error("The workbook {name} cannot be read near row {row}: a cell holds a "
                          "number of thousands of digits. Type such a value as text.",
                          name=name, row=row)
    if row is None:
        return file_error("The file {name} is not a readable XLSX workbook: {error}",
                          name=name, error=error)
    return file_error("The workbook {name} is damaged near row {row} and cannot be read: "
                      "{error}. Open it in Excel and save it again.",
                      name=name, row=row, error=error)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _texts(row: tuple[Any, ...], width: int, number: int, labels: list[str],
           bad: list[Problem]) -> list[str | None]:
    """The first ``width`` cells of a row as text; cells beyond them only when not blank.

    A row may reach column XFD with a single cell: its 16,384 positions are counted in C
    (tuple.count) and only a row with something beyond the header is converted in full.
    """
    if len(row) > width and row[width:].count(None) == len(row) - width:
        row = row[:width]
    texts: list[str | None] = []
    for position, value in enumerate(row):
        try:
            texts.append(_cell_text(value))
        except _TooLarge as exc:
            column = labels[position] if position < len(labels) else ""
            bad.append(Problem(number, column, str(exc), NUMBER_TOO_LARGE))
            texts.append(None)
    return texts


def _cell_text(value: object) -> str | None:
    """A cell as the text a person would type (dates ISO, 12.0 as 12); _TooLarge if absurd."""
    if isinstance(value, str):
        return value if value.strip() else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        if abs(value) >= EXACT_INT_LIMIT:
            digits = len(str(abs(value)))  # below the interpreter's 4,300-digit limit here
            raise _TooLarge(f"{str(value)[:SHOWN_CHARS]}… ({digits:,} digits)")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) >= EXACT_FLOAT_LIMIT:
            raise _TooLarge(repr(value))
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None
