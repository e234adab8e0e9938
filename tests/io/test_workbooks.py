"""Hostile and damaged XLSX workbooks: refused with a clear problem, never a crash."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import openpyxl.xml
import pytest

from tuopin.domain.errors import ConfigurationError, ValidationFailed
from tuopin.io.readers import read_file
from tuopin.io.report import write_problems
from tuopin.io.workbooks import NUMBER_TOO_LARGE

SHEET = "xl/worksheets/sheet1.xml"
NAME = "data.xlsx"
MAIN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def workbook(rows: int = 1) -> bytes:
    """A workbook as openpyxl writes it: a header and ``rows`` rows."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id_number", "name"])
    for i in range(rows):
        sheet.append([f"6211211980010{i:05d}", "张三"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_parts(folder: Path, changes: dict[str, Callable[[bytes], bytes]], *,
               rows: int = 1, name: str = NAME) -> Path:
    """A workbook whose parts are rewritten by ``changes`` (part name -> new content)."""
    source = zipfile.ZipFile(io.BytesIO(workbook(rows)))
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info)
            archive.writestr(info.filename, changes.get(info.filename, lambda d: d)(data))
    return path


def with_sheet(folder: Path, cells: bytes, *, head: bytes = b"", prolog: bytes = b"") -> Path:
    """A workbook whose first sheet is exactly ``cells`` (<row> elements)."""
    xml = prolog + MAIN + head + b"<sheetData>" + cells + b"</sheetData></worksheet>"
    return with_parts(folder, {SHEET: lambda _: xml})


def header_and(row: bytes) -> bytes:
    return (b'<row r="1"><c r="A1" t="inlineStr"><is><t>id_number</t></is></c>'
            b'<c r="B1" t="inlineStr"><is><t>name</t></is></c></row>' + row)


def refused(path: Path, **options: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        read_file(path, **options)
    return caught.value


def whole_file_problem(error: ValidationFailed, folder: Path) -> dict[str, object]:
    """The single whole-file problem of ``error``, checked to be clear in both languages."""
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.row == 0
    english, chinese = problem.message("en"), problem.message("zh")
    assert english != chinese
    assert str(folder) not in english + chinese  # the server's path is nobody's business
    return problem.params


def cut(fraction: float) -> Callable[[bytes], bytes]:
    return lambda data: data[: int(len(data) * fraction)]


# -- damaged workbooks -------------------------------------------------------------------------


def test_a_sheet_cut_short_inside_a_valid_archive_is_refused_naming_the_row(
    tmp_path: Path,
) -> None:
    path = with_parts(tmp_path, {SHEET: cut(0.6)}, rows=500)
    params = whole_file_problem(refused(path), tmp_path)
    assert params["name"] == NAME
    assert isinstance(params["row"], int) and 2 < params["row"] < 500


def corrupt_deflate(path: Path) -> None:
    data = bytearray(path.read_bytes())
    start = data.index(b"sheet1.xml") + 200  # inside the sheet's compressed bytes
    data[start:start + 40] = bytes(40)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("changes", "damage"),
    [
        ({SHEET: cut(0.6)}, None),
        ({SHEET: lambda d: d.replace(b"</sheetData>", b'<row r="3"><c r="A3"><v>abc</v></c>'
                                                      b"</row></sheetData>")}, None),
        ({SHEET: lambda d: d.replace(b"</sheetData>", b'<row r="3"><c r="A3"><v>nan</v></c>'
                                                      b"</row></sheetData>")}, None),
        ({SHEET: lambda d: d.replace(b"</sheetData>", b'<row r="3"><c r="A3" t="s"><v>99</v>'
                                                      b"</c></row></sheetData>")}, None),
        ({SHEET: lambda d: d.replace(b"</sheetData>", b'<row r="3"><c r="ZZZZ3"><v>1</v></c>'
                                                      b"</row></sheetData>")}, None),
        ({SHEET: lambda d: d.replace(b"</sheetData>", b'<row r="3"><c r="A3" t="d"><v>x</v>'
                                                      b"</c></row></sheetData>")}, None),
        ({SHEET: lambda d: d.replace(b"</sheetData>", b'<row r="3"><c r="A3" t="b"><v>x</v>'
                                                      b"</c></row></sheetData>")}, None),
        ({SHEET: lambda d: d.replace(b"</sheetData>", b'<row r="x3"></row></sheetData>')}, None),
        ({"[Content_Types].xml": cut(0.5)}, None),
        ({"xl/workbook.xml": cut(0.5)}, None),
        ({"xl/styles.xml": cut(0.5)}, None),
        ({"xl/_rels/workbook.xml.rels": cut(0.5)}, None),
        ({"docProps/core.xml": cut(0.5)}, None),
        ({}, "deflate"),
        ({}, "archive"),
    ],
    ids=["sheet-cut-short", "text-in-a-number-cell", "nan-number",
         "shared-string-missing", "column-beyond-zzz", "bad-date", "bad-boolean", "bad-row-number",
         "content-types-cut-short", "workbook-cut-short", "styles-cut-short", "rels-cut-short",
         "properties-cut-short", "corrupt-compressed-sheet", "archive-cut-short"],
)
def test_a_damaged_workbook_is_refused_with_a_whole_file_problem_naming_it(
    tmp_path: Path, changes: dict[str, Callable[[bytes], bytes]], damage: str | None
) -> None:
    path = with_parts(tmp_path, changes, rows=300)
    if damage == "deflate":
        corrupt_deflate(path)
    elif damage == "archive":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    params = whole_file_problem(refused(path), tmp_path)
    assert params["name"] == NAME


def test_a_workbook_without_a_sheet_is_refused(tmp_path: Path) -> None:
    def no_sheets(data: bytes) -> bytes:
        start, end = data.index(b"<sheets>"), data.index(b"</sheets>") + len(b"</sheets>")
        return data[:start] + b"<sheets/>" + data[end:]

    path = with_parts(tmp_path, {"xl/workbook.xml": no_sheets})
    assert whole_file_problem(refused(path), tmp_path) == {"name": NAME}


def test_the_file_is_named_as_the_caller_calls_it(tmp_path: Path) -> None:
    path = with_parts(tmp_path, {SHEET: cut(0.6)}, rows=50, name="0a1b2c.xlsx")
    error = refused(path, name="村民名单.xlsx")
    assert error.problems[0].params["name"] == "村民名单.xlsx"
    assert "村民名单.xlsx" in error.problems[0].message("zh")
    assert "0a1b2c" not in error.problems[0].message("zh")


# -- number cells ------------------------------------------------------------------------------


def number_row(value: bytes) -> bytes:
    return header_and(b'<row r="2"><c r="A2"><v>' + value + b'</v></c>'
                      b'<c r="B2" t="inlineStr"><is><t>x</t></is></c></row>')


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (b"12", "12"),
        (b"12.0", "12"),
        (b"-5", "-5"),
        (b"1234.56", "1234.56"),
        (b"0.1", "0.1"),
        (b"621121198001010018", "621121198001010018"),  # an exact integer, as programs write
        (b"9" * 32, "9" * 32),
        (b"999999999999999", "999999999999999"),  # 15 digits: all that Excel keeps
    ],
)
def test_a_number_cell_arrives_as_the_text_a_person_would_type(
    tmp_path: Path, value: bytes, text: str
) -> None:
    raw = read_file(with_sheet(tmp_path, number_row(value)))
    assert raw.table.to_pylist() == [{"c0": text, "c1": "x"}]


@pytest.mark.parametrize(
    "value",
    [b"1" * 33, b"1" * 4000, b"1e308", b"1e400", b"-1e400", b"6.2112119800101E+17", b"1E+15",
     b"-1" + b"0" * 40],
    ids=["33-digits", "4000-digits", "1e308", "overflow-to-inf", "overflow-to-minus-inf",
         "id-number-typed-as-a-number", "1e15", "minus-41-digits"],
)
def test_a_number_too_large_to_be_exact_is_a_bad_cell_with_its_row_and_column(
    tmp_path: Path, value: bytes
) -> None:
    error = refused(with_sheet(tmp_path, number_row(value)))
    assert [(p.row, p.column, p.reason) for p in error.problems] == [
        (2, "id_number", NUMBER_TOO_LARGE)]
    shown = error.problems[0].value
    assert shown and len(shown) < 60  # never thousands of digits in a report
    assert error.problems[0].message("zh") != error.problems[0].message("en")


def test_a_number_of_thousands_of_digits_is_refused_naming_the_row(tmp_path: Path) -> None:
    # Python itself refuses to read it (over 4,300 digits), so the sheet cannot go on.
    params = whole_file_problem(refused(with_sheet(tmp_path, number_row(b"1" * 5000))), tmp_path)
    assert params == {"name": NAME, "row": 2}


# -- XML entities ------------------------------------------------------------------------------

LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
          b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
          b'<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>')
EXTERNAL = b'<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


def with_dtd(dtd: bytes) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        at = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
        return data[:at] + dtd + data[at:]
    return change


def assert_refused_unexpanded(error: ValidationFailed, folder: Path) -> None:
    assert whole_file_problem(error, folder) == {"name": NAME}
    problem = error.problems[0]
    assert "XML" in problem.message("en")
    shown = str(error) + problem.message("zh") + repr(problem.params)
    assert "lollol" not in shown and "root:" not in shown
    report = folder / "problems.csv"
    write_problems(error.problems, report, lang="zh")
    assert "lollol" not in report.read_text(encoding="utf-8-sig")


def test_a_sheet_declaring_nested_entities_is_refused_never_expanded(tmp_path: Path) -> None:
    cells = header_and(b'<row r="2"><c r="A2" t="inlineStr"><is><t>&lol4;</t></is></c></row>')
    path = with_sheet(tmp_path, cells, prolog=LAUGHS)
    assert_refused_unexpanded(refused(path), tmp_path)


def test_a_sheet_with_an_external_entity_is_refused_never_read(tmp_path: Path) -> None:
    cells = header_and(b'<row r="2"><c r="A2" t="inlineStr"><is><t>&secret;</t></is></c></row>')
    assert_refused_unexpanded(refused(with_sheet(tmp_path, cells, prolog=EXTERNAL)), tmp_path)


# Every part openpyxl parses (it keeps the theme as bytes and never reads _rels/.rels).
@pytest.mark.parametrize(
    "part",
    ["xl/workbook.xml", "xl/styles.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels",
     "docProps/core.xml"],
)
def test_entities_declared_in_any_part_of_the_workbook_are_refused(
    tmp_path: Path, part: str
) -> None:
    path = with_parts(tmp_path, {part: with_dtd(LAUGHS)})
    assert_refused_unexpanded(refused(path), tmp_path)


def test_openpyxl_parses_every_workbook_through_defusedxml() -> None:
    from openpyxl.xml import functions

    assert openpyxl.xml.DEFUSEDXML is True
    assert functions.iterparse.__module__.startswith("defusedxml")
    assert functions.fromstring.__module__.startswith("defusedxml")


def test_without_defusedxml_no_workbook_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    with pytest.raises(ConfigurationError):
        read_file(with_parts(tmp_path, {}))


# -- limits ------------------------------------------------------------------------------------


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_before_it_is_parsed(
    tmp_path: Path,
) -> None:
    path = with_parts(tmp_path, {SHEET: lambda d: b"<" * 2_000_000})  # unparseable if read
    params = whole_file_problem(refused(path, max_unpacked_bytes=1_000_000), tmp_path)
    assert params["name"] == NAME
    assert params["limit"] == "1,000,000"
    assert "tuopin import" in refused(path, max_unpacked_bytes=1_000_000).problems[0].message("zh")


def test_a_zip_bomb_named_xlsx_is_refused_for_its_compression_ratio(tmp_path: Path) -> None:
    path = with_parts(tmp_path, {SHEET: lambda d: b"\0" * 50_000_000})
    params = whole_file_problem(refused(path, max_unpacked_bytes=200_000_000), tmp_path)
    assert params["part"] == SHEET


def test_a_workbook_within_every_limit_is_read(tmp_path: Path) -> None:
    path = with_parts(tmp_path, {}, rows=30)
    raw = read_file(path, max_rows=30, max_unpacked_bytes=1_000_000)
    assert len(raw) == 30


@pytest.mark.parametrize("rows", [11, 1000])
def test_a_workbook_with_more_rows_than_the_limit_is_refused(tmp_path: Path, rows: int) -> None:
    error = refused(with_parts(tmp_path, {}, rows=rows), max_rows=10)
    params = whole_file_problem(error, tmp_path)
    assert params == {"name": NAME, "limit": "10"}
    assert "tuopin import" in error.problems[0].message("en")


def test_reading_stops_at_the_row_past_the_limit(tmp_path: Path) -> None:
    # The damage lies far below row 11: had the reader gone on, it would have found it.
    path = with_parts(tmp_path, {SHEET: cut(0.9)}, rows=2000)
    assert "limit" in refused(path, max_rows=10).problems[0].params
    assert "row" in refused(path).problems[0].params


def test_blank_rows_count_towards_the_limit(tmp_path: Path) -> None:
    cells = header_and(b'<row r="2"><c r="A2"><v>1</v></c></row>'
                       b'<row r="40"><c r="A40"><v>2</v></c></row>')
    assert "limit" in refused(with_sheet(tmp_path, cells), max_rows=10).problems[0].params


def test_a_row_beyond_the_last_row_of_excel_is_refused(tmp_path: Path) -> None:
    cells = header_and(b'<row r="2000000"><c r="A2000000"><v>1</v></c></row>')
    params = whole_file_problem(refused(with_sheet(tmp_path, cells)), tmp_path)
    assert params == {"name": NAME, "limit": "1,048,576"}


def test_a_sheet_claiming_to_be_huge_is_read_for_what_it_holds(tmp_path: Path) -> None:
    # Padded to the width the sheet claims, 5,000 one-cell rows would be 80 million cells.
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n)
                    for n in range(2, 5002))
    path = with_sheet(tmp_path, header_and(rows), head=b'<dimension ref="A1:XFD1048576"/>')
    started = time.perf_counter()
    raw = read_file(path)
    assert time.perf_counter() - started < 10  # 0.3 s; padded, most of a minute
    assert len(raw) == 5000
    assert raw.table.column("c0").to_pylist()[-1] == "5001"


def test_a_cell_far_beyond_the_header_makes_its_row_ragged(tmp_path: Path) -> None:
    cells = header_and(b'<row r="2"><c r="A2"><v>1</v></c><c r="XFD2"><v>2</v></c></row>'
                       b'<row r="3"><c r="A3"><v>3</v></c><c r="XFD3"/></row>')
    error = refused(with_sheet(tmp_path, cells))
    assert [(p.row, p.params) for p in error.problems] == [(2, {"count": 16384, "width": 2})]
