from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from tuopin.io.problems import REPORT_COLUMNS, Problem
from tuopin.io.report import write_problems, write_rejects

SUFFIXES = pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
LANGS = pytest.mark.parametrize("lang", ["zh", "en"])

PROBLEMS = [
    Problem(7, "性别", "M", "male"),
    Problem(3, "证件号码", "123", "bad check digit {digit}", {"digit": "X"}),
    Problem(3, "姓名", "", "missing"),
]


def _read(path: Path) -> list[list[object]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [list(row) for row in csv.reader(handle)]
    sheet = openpyxl.load_workbook(path).worksheets[0]
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


@SUFFIXES
@LANGS
def test_the_report_columns_are_exactly_row_column_value_reason(
    tmp_path: Path, suffix: str, lang: str
) -> None:
    path = tmp_path / f"problems{suffix}"
    write_problems(PROBLEMS, path, lang=lang)
    assert tuple(_read(path)[0]) == REPORT_COLUMNS == ("row", "column", "value", "reason")


@SUFFIXES
@LANGS
def test_the_report_lists_problems_by_row_with_reasons_in_the_language(
    tmp_path: Path, suffix: str, lang: str
) -> None:
    path = tmp_path / f"problems{suffix}"
    write_problems(PROBLEMS, path, lang=lang)
    rows = _read(path)[1:]
    assert [[str(cell) for cell in row[:3]] for row in rows] == [
        ["3", "姓名", ""],
        ["3", "证件号码", "123"],
        ["7", "性别", "M"],
    ]
    assert [row[3] for row in rows] == [
        PROBLEMS[2].message(lang),
        PROBLEMS[1].message(lang),
        PROBLEMS[0].message(lang),
    ]


def test_the_report_reason_is_translated(tmp_path: Path) -> None:
    path = tmp_path / "problems.csv"
    write_problems([Problem(2, "性别", "M", "male")], path, lang="zh")
    assert _read(path)[1] == ["2", "性别", "M", "男"]


def test_the_csv_report_starts_with_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "problems.csv"
    write_problems(PROBLEMS, path, lang="zh")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_xlsx_report_has_a_bold_header_and_a_numeric_row(tmp_path: Path) -> None:
    path = tmp_path / "problems.xlsx"
    write_problems(PROBLEMS, path, lang="en")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet["A2"].value == 3
    assert sheet["C3"].value == "123"
    assert sheet["C3"].data_type == "s"


@SUFFIXES
def test_an_empty_report_has_only_the_header(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"problems{suffix}"
    write_problems([], path, lang="zh")
    assert _read(path) == [list(REPORT_COLUMNS)]


@pytest.mark.parametrize("name", ["problems.parquet", "problems.txt"])
def test_a_report_is_only_written_as_csv_or_xlsx(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        write_problems(PROBLEMS, tmp_path / name, lang="zh")


HEADER = ["户编号", "证件号码", "姓名", "备注"]
ROWS: list[tuple[int, list[str | None]]] = [
    (3, ["6211210010010001", "62112119800101001X", "张三", None]),
    (9, ["0012", "123", "", "=SUM(A1)"]),
]
REASONS = {3: ["姓名 重复"], 9: ["校验位错误", "姓名 必填"]}


@SUFFIXES
def test_rejects_keep_the_original_headers_and_cells_between_row_and_reason(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"rejects{suffix}"
    write_rejects(HEADER, ROWS, REASONS, path)
    rows = _read(path)
    assert rows[0] == ["row", *HEADER, "reason"]
    assert [str(rows[1][0]), *rows[1][1:]] == [
        "3",
        "6211210010010001",
        "62112119800101001X",
        "张三",
        "",
        "姓名 重复",
    ]
    assert [str(rows[2][0]), *rows[2][1:]] == [
        "9",
        "0012",
        "123",
        "",
        "'=SUM(A1)" if suffix == ".csv" else "=SUM(A1)",  # never a live formula
        "校验位错误; 姓名 必填",
    ]


def test_xlsx_rejects_keep_digit_strings_as_text(tmp_path: Path) -> None:
    path = tmp_path / "rejects.xlsx"
    write_rejects(HEADER, ROWS, REASONS, path)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet["B3"].value == "0012"
    assert sheet["B3"].number_format == "@"
    assert sheet["E3"].data_type == "s"


def test_rejects_of_a_reimported_reject_file_replace_the_old_row_and_reason(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rejects.csv"
    header = ["row", "户编号", "reason"]
    write_rejects(header, [(2, ["3", "6211210010010001", "old"])], {2: ["new"]}, path)
    assert _read(path) == [["row", "户编号", "reason"], ["2", "6211210010010001", "new"]]


def test_rejects_keep_cells_beyond_the_header_of_a_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    write_rejects(["a"], [(2, ["1", "extra"]), (4, [])], {2: ["too many cells"]}, path)
    assert _read(path) == [
        ["row", "a", "", "reason"],
        ["2", "1", "extra", "too many cells"],
        ["4", "", "", ""],
    ]
