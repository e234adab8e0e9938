"""Reading CSV, XLSX and Parquet into text cells with each row's own number."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuopin.domain.errors import ValidationFailed
from tuopin.io.readers import RawFile, raw_from_table, read_file

HEADER = "户编号,姓名,民族"
ROWS = ["6211210010010001,张三,汉族", "6211210010010002,李四,回族"]
CSV_TEXT = "\n".join([HEADER, *ROWS]) + "\n"
CELLS = [
    {"c0": "6211210010010001", "c1": "张三", "c2": "汉族"},
    {"c0": "6211210010010002", "c1": "李四", "c2": "回族"},
]


def write_bytes(folder: Path, data: bytes, name: str = "data.csv") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def read_bytes(folder: Path, data: bytes, name: str = "data.csv", **options: Any) -> RawFile:
    return read_file(write_bytes(folder, data, name), **options)


def refusal(folder: Path, data: bytes | None, name: str = "data.csv",
            **options: Any) -> ValidationFailed:
    path = folder / name if data is None else write_bytes(folder, data, name)
    with pytest.raises(ValidationFailed) as caught:
        read_file(path, **options)
    return caught.value


def cells(raw: RawFile) -> list[dict[str, str | None]]:
    return raw.table.to_pylist()


# -- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (CSV_TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + CSV_TEXT.encode("utf-8"), "utf-8-sig"),
        (CSV_TEXT.encode("gb18030"), "gb18030"),
        (CSV_TEXT.encode("gbk"), "gb18030"),  # GBK is read as its superset GB18030
        (CSV_TEXT.replace("\n", "\r\n").encode("gbk"), "gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030", "gbk", "gbk-crlf"],
)
def test_it_detects_the_encodings_people_save_csv_in(
    tmp_path: Path, data: bytes, encoding: str
) -> None:
    raw = read_bytes(tmp_path, data)
    assert raw.headers == ["户编号", "姓名", "民族"]
    assert cells(raw) == CELLS
    assert raw.encoding == encoding
    assert raw.rows.to_pylist() == [2, 3]


def test_an_english_header_over_gb18030_rows_is_read_as_gb18030(tmp_path: Path) -> None:
    # the header alone is valid UTF-8: the rows' bytes decide, not the first line
    raw = read_bytes(tmp_path, "number,name\nH1,张三\nH2,李四\n".encode("gb18030"))
    assert raw.encoding == "gb18030"
    assert cells(raw) == [{"c0": "H1", "c1": "张三"}, {"c0": "H2", "c1": "李四"}]


def test_it_reads_characters_only_gb18030_can_encode(tmp_path: Path) -> None:
    raw = read_bytes(tmp_path, "姓名\n𠮷㐀\n".encode("gb18030"))
    assert cells(raw) == [{"c0": "𠮷㐀"}]
    assert raw.encoding == "gb18030"


@pytest.mark.parametrize(
    ("data", "forced", "value"),
    [
        ("name\ncafé\n".encode("latin-1"), "latin-1", "café"),
        ("姓名\n张三\n".encode("gbk"), "gbk", "张三"),
        ("姓名\n張三\n".encode("big5"), "big5", "張三"),
        ("姓名\n张三\n".encode("utf-16"), "utf-16", "张三"),
    ],
)
def test_the_encoding_argument_forces_an_encoding(
    tmp_path: Path, data: bytes, forced: str, value: str
) -> None:
    raw = read_bytes(tmp_path, data, encoding=forced)
    assert cells(raw) == [{"c0": value}]
    assert raw.encoding == forced


def test_a_forced_encoding_is_not_replaced_by_detection(tmp_path: Path) -> None:
    # UTF-8 bytes of 张三 are valid GB18030 too: forcing it must not fall back to UTF-8.
    raw = read_bytes(tmp_path, "姓名\n张三\n".encode(), encoding="gb18030")
    assert cells(raw) == [{"c0": "张三".encode().decode("gb18030")}]


@pytest.mark.parametrize(
    ("data", "forced", "line"),
    [
        (b"a,b\n1,2\n\xff\xfe\xfa\n", "utf-8", 3),
        (b"\xff\xfe\xfa,b\n1,2\n", "utf-8", 1),
        (b"a,b\n1,2\n3,4\n5,\xe5\xbc\n", "utf-8", 4),  # a truncated UTF-8 sequence
        (b"a,b\n\xff\n", None, 2),  # neither UTF-8 nor GB18030
        (b"a,b\n1,2\n\x80\n", None, 3),
    ],
)
def test_undecodable_bytes_are_refused_naming_the_line(
    tmp_path: Path, data: bytes, forced: str | None, line: int
) -> None:
    options = {"encoding": forced} if forced else {}
    error = refusal(tmp_path, data, **options)
    problem = error.problems[0]
    assert problem.params["line"] == line
    assert f"line {line}" in problem.message("en")
    assert str(line) in problem.message("zh")
    assert problem.row == 0


def test_an_unknown_encoding_name_is_refused(tmp_path: Path) -> None:
    error = refusal(tmp_path, b"a\n1\n", encoding="no-such-codec")
    assert error.problems[0].params == {"encoding": "no-such-codec"}


@pytest.mark.parametrize("forced", ["base64", "hex", "rot13"])
def test_an_encoding_that_is_not_a_text_encoding_is_refused(tmp_path: Path, forced: str) -> None:
    refusal(tmp_path, b"a\n1\n", encoding=forced)


def test_the_reported_encoding_is_the_forced_one_even_after_a_bom(tmp_path: Path) -> None:
    raw = read_bytes(tmp_path, codecs.BOM_UTF8 + b"a,b\n1,2\n", encoding="gb18030")
    assert raw.encoding == "gb18030"


# -- files that cannot be read -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "param"),
    [
        ("data.csv", b"", None),
        ("data.csv", b" \r\n\t\n  ", None),
        ("data.csv", b"a,b\n1,\x002\n", None),
        ("data.csv", b"\x00\x00\x00\x00", None),
        ("data.csv", b'a,b\n1,"unterminated\n2,3\n', "line"),
        ("data.csv", b'a,b\n"x"y,2\n', "line"),
        ("data.csv", b"\n\n,,\n", None),  # the header row is empty
        ("data.json", b'{"a": 1}', "suffix"),
        ("data.xls", b"\xd0\xcf\x11\xe0", "suffix"),
        ("data", b"a\n1\n", "suffix"),
        ("missing.csv", None, "path"),
        ("data.parquet", b"not parquet at all", "error"),
    ],
    ids=["empty", "whitespace", "nul-in-cell", "nul-only", "unterminated-quote",
         "quote-in-field", "empty-header", "json", "xls", "no-suffix", "missing", "bad-parquet"],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_clear_message(
    tmp_path: Path, name: str, data: bytes | None, param: str | None
) -> None:
    error = refusal(tmp_path, data, name)
    assert len(error.problems) == 1
    problem = error.problems[0]
    assert problem.row == 0
    english, chinese = problem.message("en"), problem.message("zh")
    assert english and chinese and english != chinese
    assert str(error) == english
    if param is not None:
        assert param in problem.params


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "The file is empty."),
        (b"   \n\n", "The file is empty."),
        (b"a\n\x00\n", "The file contains NUL bytes: it is not a text CSV file."),
        (b",,,\n1,2\n", "The header row is empty."),
    ],
)
def test_each_refusal_names_its_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    assert refusal(tmp_path, data).problems[0].reason == reason


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    problem = refusal(tmp_path, None, "nowhere.csv").problems[0]
    assert problem.params == {"path": str(path)}
    assert str(path) in problem.message("zh")


def test_an_unterminated_quote_names_the_line(tmp_path: Path) -> None:
    problem = refusal(tmp_path, b'a,b\n1,2\n3,"four\n5,6\n').problems[0]
    assert problem.params["line"] == 4
    assert "line 4" in problem.message("en")


def test_a_file_holding_only_a_bom_is_refused_as_empty(tmp_path: Path) -> None:
    refusal(tmp_path, codecs.BOM_UTF8)


# -- row numbers, blank rows, ragged rows ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "numbers", "first"),
    [
        ("a,b\n1,2\n3,4\n", [2, 3], "1"),
        ("a,b\n1,2\n\n3,4\n", [2, 4], "1"),  # a blank line is skipped but counted
        ("a,b\n\n\n1,2\n", [4], "1"),
        ("a,b\n1,2\n,\n3,4\n", [2, 4], "1"),  # a row of empty cells is blank too
        ("a,b\n1,2\n  ,\t\n3,4\n", [2, 4], "1"),  # and so is a row of blanks
        ("a,b\r\n1,2\r\n\r\n3,4\r\n", [2, 4], "1"),
        ('a,b\n"1\nstill 1",2\n3,4\n', [2, 3], "1\nstill 1"),  # quoted newline: one row
        ("a,b\n1,2", [2], "1"),  # no final newline
    ],
)
def test_rows_keep_the_numbers_a_person_sees_in_excel(
    tmp_path: Path, text: str, numbers: list[int], first: str
) -> None:
    raw = read_bytes(tmp_path, text.encode())
    assert raw.rows.to_pylist() == numbers
    assert len(raw) == len(numbers)
    assert raw.table.column("c0")[0].as_py() == first


def test_a_header_only_file_has_no_rows(tmp_path: Path) -> None:
    raw = read_bytes(tmp_path, b"a,b\n")
    assert raw.headers == ["a", "b"]
    assert len(raw) == 0
    assert raw.table.column_names == ["c0", "c1"]
    assert raw.rows.to_pylist() == []


@pytest.mark.parametrize(
    ("text", "rows", "counts"),
    [
        ("a,b\n1,2,3\n", [2], [3]),
        ("a,b\n1,2\n\n1,2,3,4\n5,6\n7,8,9\n", [4, 6], [4, 3]),
        ('a\n"x\ny",2\n', [2], [2]),
    ],
)
def test_rows_with_too_many_cells_are_reported_with_their_row_number(
    tmp_path: Path, text: str, rows: list[int], counts: list[int]
) -> None:
    error = refusal(tmp_path, text.encode())
    assert [p.row for p in error.problems] == rows
    assert [p.params["count"] for p in error.problems] == counts
    width = len(text.split("\n")[0].split(","))
    assert all(p.params["width"] == width for p in error.problems)
    assert all(p.message("en") != p.message("zh") for p in error.problems)


def test_extra_cells_that_are_empty_are_not_too_many(tmp_path: Path) -> None:
    raw = read_bytes(tmp_path, b"a,b\n1,2,,\n3,4, \n")
    assert cells(raw) == [{"c0": "1", "c1": "2"}, {"c0": "3", "c1": "4"}]


def test_short_rows_are_padded_with_empty_cells(tmp_path: Path) -> None:
    raw = read_bytes(tmp_path, b"a,b,c\n1\n2,3\n")
    assert cells(raw) == [{"c0": "1", "c1": None, "c2": None},
                          {"c0": "2", "c1": "3", "c2": None}]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("a,b,,,", ["a", "b"]),
        ("a,b, , ", ["a", "b"]),
        (" a , b ", ["a", "b"]),  # headers are trimmed
        ("a,,b", ["a", "", "b"]),  # an empty header inside stays, to keep positions
    ],
)
def test_trailing_empty_header_cells_are_dropped(
    tmp_path: Path, header: str, expected: list[str]
) -> None:
    raw = read_bytes(tmp_path, f"{header}\n1,2\n".encode())
    assert raw.headers == expected
    assert raw.table.num_columns == len(expected)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("", None), ("   ", None), ("\t", None), ("x", "x"), (" x ", " x "), ("0", "0")],
)
def test_blank_cells_are_none_and_others_are_kept_as_typed(
    tmp_path: Path, cell: str, expected: str | None
) -> None:
    raw = read_bytes(tmp_path, f"a,b\n{cell},1\n".encode())
    assert cells(raw) == [{"c0": expected, "c1": "1"}]


@pytest.mark.parametrize("name", ["data.csv", "data.CSV", "data.txt"])
def test_csv_is_read_by_its_suffix_in_any_case(tmp_path: Path, name: str) -> None:
    assert cells(read_bytes(tmp_path, CSV_TEXT.encode(), name)) == CELLS


def test_the_sha256_is_that_of_the_bytes_on_disk(tmp_path: Path) -> None:
    data = CSV_TEXT.encode("gbk")
    raw = read_bytes(tmp_path, data)
    assert raw.sha256 == hashlib.sha256(data).hexdigest()
    assert raw.path == tmp_path / "data.csv"


# -- XLSX --------------------------------------------------------------------------------------


def save_workbook(path: Path, rows: list[list[object]], title: str = "Sheet") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_cells_arrive_as_the_text_a_person_would_type(tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "data.xlsx", [
        ["name", "born", "count", "ratio", "flag", "when", "blank", None, None],
        ["张三", date(2019, 11, 20), 12.0, 3.5, True, datetime(2019, 11, 20, 8, 30), None],
        ["李四", datetime(2020, 2, 29), 7, 0.0, False, datetime(2019, 11, 20), "  "],
    ])
    raw = read_file(path)
    assert raw.headers == ["name", "born", "count", "ratio", "flag", "when", "blank"]
    assert cells(raw) == [
        {"c0": "张三", "c1": "2019-11-20", "c2": "12", "c3": "3.5", "c4": "1",
         "c5": "2019-11-20T08:30:00", "c6": None},
        {"c0": "李四", "c1": "2020-02-29", "c2": "7", "c3": "0", "c4": "0",
         "c5": "2019-11-20", "c6": None},
    ]
    assert raw.encoding is None
    assert raw.rows.to_pylist() == [2, 3]
    assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_xlsx_long_ids_stay_exact_and_blank_rows_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id_number", "n"])
    sheet.append(["62112119800101001X", 1])
    sheet.cell(row=4, column=1, value="621121198001010018")  # row 3 left blank
    sheet.cell(row=4, column=2, value=2.0)
    book.save(path)
    raw = read_file(path)
    assert raw.rows.to_pylist() == [2, 4]
    assert cells(raw) == [{"c0": "62112119800101001X", "c1": "1"},
                          {"c0": "621121198001010018", "c1": "2"}]


def test_xlsx_reads_the_named_sheet(tmp_path: Path) -> None:
    path = save_workbook(tmp_path / "data.xlsx", [["ignored"]], title="notes")
    book = openpyxl.load_workbook(path)
    book.create_sheet("members").append(["姓名"])
    book["members"].append(["张三"])
    book.save(path)
    assert read_file(path).headers == ["ignored"]
    assert cells(read_file(path, sheet="members")) == [{"c0": "张三"}]


@pytest.mark.parametrize(
    ("rows", "sheet", "param"),
    [
        ([], None, None),  # an empty workbook
        ([["a"], ["1", "extra"]], None, "count"),  # a ragged row
        ([[None, None], ["1", "2"]], None, None),  # an empty header row
        ([["a"]], "nope", "sheet"),
    ],
    ids=["empty", "ragged", "empty-header", "no-such-sheet"],
)
def test_an_unreadable_workbook_is_refused(
    tmp_path: Path, rows: list[list[object]], sheet: str | None, param: str | None
) -> None:
    path = save_workbook(tmp_path / "data.xlsx", rows)
    options = {"sheet": sheet} if sheet else {}
    with pytest.raises(ValidationFailed) as caught:
        read_file(path, **options)
    problem = caught.value.problems[0]
    assert problem.message("en") != problem.message("zh")
    if param is not None:
        assert param in problem.params


@pytest.mark.parametrize("data", [b"", b"this is not a zip file", b"PK\x03\x04broken"])
def test_a_file_that_is_not_a_workbook_is_refused(tmp_path: Path, data: bytes) -> None:
    refusal(tmp_path, data, "data.xlsx")


# -- Parquet and in-memory tables ------------------------------------------------------------


TYPED = pa.table({
    "name": pa.array(["张三", None], pa.string()),
    "size": pa.array([12, None], pa.int64()),
    "income": pa.array([12.0, 3.5], pa.float64()),
    "secure": pa.array([True, False], pa.bool_()),
    "born": pa.array([date(2019, 11, 20), None], pa.date32()),
})
TYPED_CELLS = [
    {"c0": "张三", "c1": "12", "c2": "12", "c3": "true", "c4": "2019-11-20"},
    {"c0": None, "c1": None, "c2": "3.5", "c3": "false", "c4": None},
]


def test_parquet_columns_of_any_simple_type_arrive_as_text(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(TYPED, path)
    raw = read_file(path)
    assert raw.headers == ["name", "size", "income", "secure", "born"]
    assert cells(raw) == TYPED_CELLS
    assert raw.rows.to_pylist() == [2, 3]
    assert raw.encoding is None
    assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_parquet_file_without_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({}), path)
    with pytest.raises(ValidationFailed, match="empty"):
        read_file(path)


@pytest.mark.parametrize(
    "column",
    [
        pa.array([[1, 2]], pa.list_(pa.int64())),
        pa.array([{"x": 1}], pa.struct([("x", pa.int64())])),
        pa.array([b"\xff\xfe"], pa.binary()),
    ],
    ids=["list", "struct", "non-utf8-binary"],
)
def test_a_parquet_column_that_cannot_be_text_is_refused(tmp_path: Path, column: pa.Array) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"a": column}), path)
    refusal(tmp_path, None, "data.parquet")


def test_a_blank_parquet_cell_is_none_like_a_blank_csv_cell(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"a": ["", "  ", "x"]}), path)
    assert cells(read_file(path)) == [{"c0": None}, {"c0": None}, {"c0": "x"}]


def test_raw_from_table_reads_a_table_as_if_from_a_file() -> None:
    raw = raw_from_table(TYPED, "members.parquet")
    assert raw.path == Path("members.parquet")
    assert raw.headers == ["name", "size", "income", "secure", "born"]
    assert cells(raw) == TYPED_CELLS
    assert raw.rows.to_pylist() == [2, 3]
    assert raw.encoding is None
    assert len(raw) == 2


def test_raw_from_table_fingerprints_the_content_not_the_name() -> None:
    same = raw_from_table(TYPED, "a").sha256
    assert raw_from_table(TYPED, "b").sha256 == same
    changed = TYPED.set_column(0, "name", pa.array(["王五", None], pa.string()))
    assert raw_from_table(changed, "a").sha256 != same
    assert len(same) == 64


def test_raw_from_table_of_an_empty_table_has_no_rows() -> None:
    raw = raw_from_table(pa.table({"a": pa.array([], pa.string())}), "empty")
    assert len(raw) == 0
    assert raw.rows.to_pylist() == []


# -- limits for uploads, and files that are not what their suffix says -------------------------


def numbered_csv(rows: int, *, quoted: bool = False, blank_every: int = 0) -> bytes:
    lines = ["a,b"]
    for i in range(rows):
        if blank_every and i % blank_every == 0:
            lines.append("")
        lines.append(f'"{i}",x' if quoted else f"{i},x")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    "data",
    [numbered_csv(11), numbered_csv(11, quoted=True), numbered_csv(6, blank_every=1),
     numbered_csv(100_000)],
    ids=["arrow-path", "csv-module-path", "blank-lines-count", "many-rows"],
)
def test_a_csv_with_more_rows_than_the_limit_is_refused(tmp_path: Path, data: bytes) -> None:
    error = refusal(tmp_path, data, max_rows=10)
    problem = error.problems[0]
    assert (len(error.problems), problem.row) == (1, 0)
    assert problem.params == {"name": "data.csv", "limit": "10"}
    assert "tuopin import" in problem.message("en")
    assert "tuopin import" in problem.message("zh") and problem.message("zh") != str(error)


@pytest.mark.parametrize("quoted", [False, True])
def test_a_csv_within_the_limit_is_read(tmp_path: Path, quoted: bool) -> None:
    raw = read_bytes(tmp_path, numbered_csv(10, quoted=quoted), max_rows=10)
    assert len(raw) == 10


def test_reading_a_csv_stops_at_the_row_past_the_limit(tmp_path: Path) -> None:
    # Row 2,000 is malformed: a reader that went on would report it instead.
    data = numbered_csv(2000, quoted=True) + b'"unterminated\n'
    assert "line" in refusal(tmp_path, data).problems[0].params
    assert refusal(tmp_path, data, max_rows=10).problems[0].params["limit"] == "10"


def test_a_parquet_file_with_more_rows_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"a": list(range(11))}), path)
    assert len(read_file(path, max_rows=11)) == 11
    assert refusal(tmp_path, None, "data.parquet", max_rows=10).problems[0].params == {
        "name": "data.parquet", "limit": "10"}


def _cut_parquet(folder: Path) -> bytes:
    pq.write_table(TYPED, folder / "whole.parquet")
    data = (folder / "whole.parquet").read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("data.parquet", _cut_parquet),
        ("data.parquet", lambda folder: b"PAR1" + bytes(100) + b"PAR1"),
        ("data.parquet", lambda folder: b"PK\x03\x04" + bytes(100)),
        ("data.xlsx", lambda folder: b"PAR1" + bytes(100) + b"PAR1"),
        ("data.csv", lambda folder: b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(100)),
    ],
    ids=["parquet-cut-short", "parquet-without-footer", "zip-named-parquet", "parquet-named-xlsx",
         "zip-named-csv"],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_without_revealing_the_server_path(
    tmp_path: Path, name: str, make: Callable[[Path], bytes]
) -> None:
    error = refusal(tmp_path, make(tmp_path), name)
    problem = error.problems[0]
    assert (len(error.problems), problem.row) == (1, 0)
    assert str(tmp_path) not in problem.message("en") + problem.message("zh")


def test_a_csv_written_by_tuopin_reads_back_without_the_apostrophes_it_added(
    tmp_path: Path,
) -> None:
    raw = read_bytes(tmp_path, b"'=a,b\n'=1+1,'-2\n'\t,'x\n")
    assert raw.headers == ["=a", "b"]
    # "\t" alone is a blank cell, as it would have been without the apostrophe
    assert cells(raw) == [{"c0": "=1+1", "c1": "-2"}, {"c0": None, "c1": "'x"}]
