"""Text a spreadsheet would run as a formula, in every CSV and XLSX file tuopin writes."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuopin.io.formulas import looks_like_formula, quoted, unquoted
from tuopin.io.problems import Problem
from tuopin.io.readers import read_file
from tuopin.io.report import write_problems, write_rejects
from tuopin.io.schema import Kind
from tuopin.io.validate import validate_file
from tuopin.io.writers import write_table

FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
TODAY = date(2026, 11, 29)


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def first_sheet(path: Path) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(path, data_only=False).worksheets[0]


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.parametrize("value", FORMULAS)
def test_the_csv_problem_report_puts_an_apostrophe_before_a_formula(
    tmp_path: Path, value: str
) -> None:
    path = tmp_path / "problems.csv"
    write_problems([Problem(2, "姓名", value, "A value is required.")], path, lang="en")
    assert csv_rows(path)[1] == ["2", "姓名", "'" + value, "A value is required."]


@pytest.mark.parametrize("value", FORMULAS)
def test_the_xlsx_problem_report_keeps_a_formula_as_marked_text(tmp_path: Path, value: str) -> None:
    path = tmp_path / "problems.xlsx"
    write_problems([Problem(2, "姓名", value, "A value is required.")], path, lang="en")
    cell = first_sheet(path)["C2"]
    # XML reads every line ending as \n, as it does in Excel's own files
    assert cell.value == value.replace("\r", "\n")
    assert cell.data_type == "s"
    assert cell.quotePrefix is True
    assert "<f>" not in sheet_xml(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_header_from_the_users_file_is_neutralised_in_the_reject_file(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"rejects{suffix}"
    write_rejects(["=cmd|' /C calc'!A0", "姓名"], [(2, ["1", "@x"])], {2: ["bad"]}, path)
    if suffix == ".csv":
        assert csv_rows(path)[:2] == [["row", "'=cmd|' /C calc'!A0", "姓名", "reason"],
                                      ["2", "1", "'@x", "bad"]]
    else:
        sheet = first_sheet(path)
        assert (sheet["B1"].value, sheet["B1"].quotePrefix) == ("=cmd|' /C calc'!A0", True)
        assert (sheet["C2"].value, sheet["C2"].quotePrefix) == ("@x", True)
        assert "<f>" not in sheet_xml(path)


NUMBERS = pa.table({
    "count": pa.array([-5, 3], pa.int64()),
    "amount": pa.array([-2.5, 1.0], pa.float64()),
    "text": pa.array(["-5", "ok"], pa.string()),
    "long": pa.array(["+86 138", None], pa.large_string()),
})


def test_only_text_columns_are_neutralised_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_table(NUMBERS, path)
    assert csv_rows(path)[1:] == [["-5", "-2.5", "'-5", "'+86 138"], ["3", "1", "ok", ""]]


def test_only_text_columns_are_marked_in_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_table(NUMBERS, path)
    sheet = first_sheet(path)
    assert [(c.value, c.data_type, bool(c.quotePrefix)) for c in sheet[2]] == [
        (-5, "n", False), (-2.5, "n", False), ("-5", "s", True), ("+86 138", "s", True),
    ]
    assert [bool(c.quotePrefix) for c in sheet[3]] == [False, False, False, False]


ROUND_TRIP = ['=HYPERLINK("http://x","y")', "+86 138", "-2+3", "@home", "'=already quoted",
              "''-twice", "'plain apostrophe", "一组12号", "\t=1"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_text_read_back_from_a_file_tuopin_wrote_is_the_original(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"out{suffix}"
    write_table(pa.table({"=text": ROUND_TRIP}), path)
    raw = read_file(path)
    assert raw.headers == ["=text"]
    assert raw.table.column("c0").to_pylist() == ROUND_TRIP


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_export_imports_back_with_its_text_unchanged(tmp_path: Path, suffix: str) -> None:
    addresses = [v for v in ROUND_TRIP if v == v.strip()]  # the importer trims cells
    exported = pa.table({
        "number": [f"62112100100100{i:02d}" for i in range(len(addresses))],
        "village_code": ["621121001001"] * len(addresses),
        "address": addresses,
        "status": ["poor"] * len(addresses),
    })
    path = tmp_path / f"households{suffix}"
    write_table(exported, path)
    validated = validate_file(read_file(path), Kind.HOUSEHOLDS, today=TODAY)
    assert validated.problems == []
    assert validated.table.column("address").to_pylist() == addresses


def test_a_hand_made_csv_loses_exactly_one_apostrophe_before_a_formula(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n'=1,'x\n''+2,'\n", encoding="utf-8")
    assert read_file(path).table.to_pylist() == [{"c0": "=1", "c1": "'x"},
                                                 {"c0": "'+2", "c1": "'"}]


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_any_text_survives_quoting_and_unquoting(values: list[str]) -> None:
    column = pa.array(values, pa.string())
    written = quoted(column).to_pylist()
    assert not any(looks_like_formula(v) for v in written)
    assert unquoted(quoted(column)).to_pylist() == values


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=6))
def test_any_text_reads_back_from_csv_as_tuopin_wrote_it(values: list[str]) -> None:
    table = pa.table({"n": range(len(values)), "text": pa.array(values, pa.string())})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        write_table(table, path)
        read = read_file(path).table.column("c1").to_pylist()
    assert read == [v if v.strip() else None for v in values]
