"""The tables of a phone survey's export, as text: ODK Central's or KoboToolbox's.

- ODK Central's ``.csv.zip`` (``.zip`` with attachments) holds ``<form id>.csv`` (the
  submissions) and one ``<form id>-<repeat>.csv`` per repeat group (``~1``, ``~2`` when two
  repeats share a name), besides ``media/`` and ``<form id> - audit.csv``. Its plain ``.csv``
  export is the first table alone.
- KoboToolbox's XLSX export has the submissions on its first sheet (named after the form's
  title) and a sheet per repeat group (named after the group, cut to Excel's 31 characters);
  its CSV export, ``;``-separated with every value quoted, has the first sheet alone.

An archive is untrusted: names inside it are only compared, never used as paths (one that
climbs out of the archive or is absolute refuses the whole file), and the tables read are
held to the sizes they declare (zipfile never inflates an entry past its declared size).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tuopin.io.raw import RawFile, assemble, file_error, sha256_of, thousands
from tuopin.io.workbooks import read_xlsx

# Without an upload's own limit: the most one table and all tables may unpack to (a
# province's yearly survey is a few hundred megabytes).
MAX_MEMBER_BYTES = 1 << 30
MAX_TOTAL_BYTES = 2 << 30
# Deflate reaches about 1,000 times on a ZIP bomb; a CSV of mostly empty cells, 50 or so.
MAX_COMPRESSION_RATIO = 500
RATIO_CHECKED_BYTES = 1 << 20
# what npm's sanitize-filename (Central's) removes from a form id to name its files
UNSAFE_FILE_CHARS = re.compile(r'[/?<>\\:*|"\x00-\x1f\x80-\x9f]')
EXCEL_SHEET_CHARS = re.compile(r"[\[\]*?:\\/]")
EXCEL_SHEET_LENGTH = 31


@dataclass
class Table:
    """One table of an export and the name messages give it (archive entry or sheet)."""

    raw: RawFile
    name: str


@dataclass
class Source:
    """An export's main table, its members table (None: not in the export), and its kind."""

    format: str  # "central" | "kobo-xlsx" | "kobo-csv"
    main: Table
    repeat: Table | None
    form_id: str | None
    sha256: str


def open_export(path: Path, *, form_id: str | None, repeat: str,
                max_rows: int | None, max_unpacked_bytes: int | None) -> Source:
    """The tables of the export at ``path``, found by its content, not its name."""
    if not path.exists():
        raise file_error("File {path} does not exist.", path=str(path))
    with path.open("rb") as handle:
        head = handle.read(4)
    limit = MAX_TOTAL_BYTES if max_unpacked_bytes is None else max_unpacked_bytes
    if head[:2] != b"PK":
        return _text_export(path, max_rows=max_rows, limit=limit)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "xl/workbook.xml" not in names:
                return _central_zip(path, archive, form_id=form_id, repeat=repeat,
                                    max_rows=max_rows, limit=limit)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise file_error("The file {name} is not a readable ZIP archive: {error}",
                         name=path.name, error=str(exc)) from exc
    return _kobo_xlsx(path, repeat=repeat, max_rows=max_rows, limit=limit)


def _central_zip(path: Path, archive: zipfile.ZipFile, *, form_id: str | None, repeat: str,
                 max_rows: int | None, limit: int) -> Source:
    shown = path.name
    infos = archive.infolist()
    for info in infos:
        if _unsafe(info.filename):
            raise file_error("The archive {name} holds a file with an unsafe name ({entry}): "
                             "it is refused.", name=shown, entry=info.filename)
    tables: dict[str, list[zipfile.ZipInfo]] = {}
    for info in infos:
        if "/" not in info.filename and info.filename.lower().endswith(".csv") \
                and not info.filename.endswith(" - audit.csv"):
            tables.setdefault(info.filename, []).append(info)
    main_name = (f"{UNSAFE_FILE_CHARS.sub('', form_id)}.csv" if form_id
                 else _main_of(list(tables), shown))
    if main_name not in tables:
        raise file_error("The archive {name} has no table {file}: export the form's "
                         "submissions from ODK Central again.", name=shown, file=main_name)
    stem = main_name.removesuffix(".csv")
    repeat_name = f"{stem}-{repeat}.csv"
    if any(n.startswith(f"{stem}-{repeat}~") for n in tables):
        raise file_error("The form of {name} has several repeat groups named {repeat}: name "
                         "the members one differently, or map it with [repeats].",
                         name=shown, repeat=repeat)
    chosen = [main_name] + ([repeat_name] if repeat_name in tables else [])
    for entry in chosen:
        if len(tables[entry]) > 1:
            raise file_error("The archive {name} holds {entry} twice: it is refused.",
                             name=shown, entry=entry)
    _check_sizes([tables[entry][0] for entry in chosen], shown, limit)
    found = [Table(_csv(_member(archive, tables[entry][0], shown), delimiter=",",
                        path=path, entry=entry, max_rows=max_rows), entry)
             for entry in chosen]
    return Source("central", found[0], found[1] if len(found) > 1 else None, stem,
                  sha256_of(path))


def _unsafe(name: str) -> bool:
    parts = name.split("/")
    return (name.startswith("/") or "\\" in name or "\x00" in name or ".." in parts
            or re.match(r"^[A-Za-z]:", name) is not None)


def _main_of(names: list[str], shown: str) -> str:
    """The table every other table's name extends (``form.csv`` of ``form-members.csv``)."""
    mains = [name for name in names
             if all(other == name or other.startswith(name.removesuffix(".csv") + "-")
                    for other in names)]
    if len(mains) != 1:
        raise file_error("The archive {name} is not an ODK Central export: it has no one "
                         "main table among {files}. Name the form with --form.",
                         name=shown, files=", ".join(sorted(names)) or "-")
    return mains[0]


def _check_sizes(infos: list[zipfile.ZipInfo], shown: str, limit: int) -> None:
    each = min(MAX_MEMBER_BYTES, limit)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > each or (info.file_size > RATIO_CHECKED_BYTES
                                     and ratio > MAX_COMPRESSION_RATIO):
            raise file_error("The table {entry} of {name} unpacks to {size} bytes, more than "
                             "the {limit} bytes that can be imported here (or far more than "
                             "its packed size): it is refused.", entry=info.filename,
                             name=shown, size=thousands(info.file_size), limit=thousands(each))
    total = sum(info.file_size for info in infos)
    if total > limit:
        raise file_error("The tables of {name} unpack to {size} bytes, more than the {limit} "
                         "bytes that can be imported here. Export fewer submissions at a "
                         "time.", name=shown, size=thousands(total), limit=thousands(limit))


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, shown: str) -> bytes:
    try:
        with archive.open(info) as handle:
            return handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError,
            NotImplementedError) as exc:  # damaged, encrypted, or an unknown compression
        raise file_error("The table {entry} of {name} cannot be unpacked: {error}",
                         entry=info.filename, name=shown, error=str(exc)) from exc


def _csv(data: bytes, *, delimiter: str, path: Path, entry: str,
         max_rows: int | None) -> RawFile:
    """A CSV table as text cells, UTF-8 with or without a byte order mark."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise file_error("The table {entry} is not UTF-8 text (bad bytes at byte {offset}).",
                         entry=entry, offset=exc.start) from exc
    if "\x00" in text:
        raise file_error("The table {entry} contains NUL bytes: it is not a CSV file.",
                         entry=entry)
    if not text.strip():
        raise file_error("The table {entry} is empty.", entry=entry)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
        rows = ([cell if cell.strip() else None for cell in row] for row in reader)
        headers, table, numbers = assemble(header, rows, name=entry, max_rows=max_rows)
    except csv.Error as exc:
        raise file_error("The table {entry} is malformed near line {line}: {error}",
                         entry=entry, line=reader.line_num, error=str(exc)) from exc
    return RawFile(path, headers, table, numbers, "utf-8", "")


def _text_export(path: Path, *, max_rows: int | None, limit: int) -> Source:
    """Kobo's CSV export (``;``) or Central's plain CSV (the main table alone)."""
    size = path.stat().st_size
    if size > min(MAX_MEMBER_BYTES, limit):
        raise file_error("The file {name} has {size} bytes, more than the {limit} bytes that "
                         "can be imported here.", name=path.name, size=thousands(size),
                         limit=thousands(min(MAX_MEMBER_BYTES, limit)))
    data = path.read_bytes()
    first = data[:4096].decode("utf-8", errors="replace").split("\n", 1)[0]
    if ";" in first and "_uuid" in first:
        fmt, delimiter = "kobo-csv", ";"
    elif "KEY" in first and "SubmissionDate" in first:
        fmt, delimiter = "central", ","
    else:
        raise file_error("The file {name} is neither an ODK Central export (.csv.zip) nor a "
                         "KoboToolbox export (XLSX, or CSV with XML values and headers).",
                         name=path.name)
    raw = _csv(data, delimiter=delimiter, path=path, entry=path.name, max_rows=max_rows)
    form_id = path.name.removesuffix(".csv") if fmt == "central" else None
    return Source(fmt, Table(raw, path.name), None, form_id, sha256_of(path))


def _kobo_xlsx(path: Path, *, repeat: str, max_rows: int | None, limit: int) -> Source:
    shown = path.name
    main = read_xlsx(path, None, name=shown, max_rows=max_rows, max_unpacked_bytes=limit)
    names = _sheet_names(path, shown)
    wanted = repeat_sheet_name(repeat)
    table = None
    if wanted in names[1:]:
        table = Table(read_xlsx(path, wanted, name=shown, max_rows=max_rows), wanted)
    return Source("kobo-xlsx", Table(main, names[0]), table, None, main.sha256)


def _sheet_names(path: Path, shown: str) -> list[str]:
    from openpyxl import load_workbook

    try:  # read_xlsx has checked the archive and parsed its first sheet already
        book = load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl on a hostile file: anything means "not readable"
        raise file_error("The file {name} is not a readable XLSX workbook: {error}",
                         name=shown, error=str(exc)) from exc
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def repeat_sheet_name(repeat: str) -> str:
    """The sheet Kobo names after a repeat group (formpack's unique_name_for_xls)."""
    name = EXCEL_SHEET_CHARS.sub("_", repeat)
    name = re.sub(r"(^'|'$)", "_", name)
    if len(name) > EXCEL_SHEET_LENGTH:
        name = name[: EXCEL_SHEET_LENGTH - 3] + "..."
    return name
