from __future__ import annotations

import csv
import tempfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tuopin.io import writers
from tuopin.io.writers import EXCEL_MAX_DATA_ROWS, NOT_IN_XML, detect_format, write_table

FORMATS = pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])


@pytest.fixture
def table() -> pa.Table:
    return pa.table(
        {
            "id_number": ["62112119800101001X", "621121198001010018", None],
            "bank_account": ["6228480000000000000", "0012", "=1+1"],
            "name": ["张三", "李四", "王五\x01"],
            "size": pa.array([4, 1, None], pa.int64()),
            "income": [12000.5, 0.0, 3.25],
            "born": pa.array([date(1980, 1, 1), None, date(2019, 11, 20)], pa.date32()),
            "causes": pa.array([["illness", "skills"], [], None], pa.list_(pa.string())),
        }
    )


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _read_xlsx(path: Path) -> list[tuple[object, ...]]:
    return list(openpyxl.load_workbook(path).worksheets[0].iter_rows(values_only=True))


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.csv", None, "csv"),
        ("a.CSV", None, "csv"),
        ("a.xlsx", None, "xlsx"),
        ("a.parquet", None, "parquet"),
        ("a.pq", None, "parquet"),
        ("a.txt", "csv", "csv"),
        ("a.csv", "XLSX", "xlsx"),
    ],
)
def test_the_format_comes_from_the_argument_or_else_the_suffix(
    name: str, fmt: str | None, expected: str
) -> None:
    assert detect_format(Path(name), fmt) == expected


@pytest.mark.parametrize(("name", "fmt"), [("a.xls", None), ("a", None), ("a.csv", "json")])
def test_an_unknown_format_is_refused(name: str, fmt: str | None) -> None:
    with pytest.raises(ValueError, match="format"):
        detect_format(Path(name), fmt)


@FORMATS
def test_it_returns_the_number_of_rows_written(tmp_path: Path, table: pa.Table, fmt: str) -> None:
    assert write_table(table, tmp_path / f"out.{fmt}", fmt=fmt) == 3
    assert [p.name for p in tmp_path.iterdir()] == [f"out.{fmt}"]


def test_csv_starts_with_a_bom_and_reads_back_with_utf_8_sig(
    tmp_path: Path, table: pa.Table
) -> None:
    path = tmp_path / "out.csv"
    write_table(table, path, fmt="csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _read_csv(path)
    assert rows[0] == table.column_names
    assert rows[1] == [
        "62112119800101001X",
        "6228480000000000000",
        "张三",
        "4",
        "12000.5",
        "1980-01-01",
        "illness;skills",
    ]
    assert rows[3][:2] == ["", "'=1+1"]  # a formula in a text column, neutralised


def test_csv_can_be_written_without_a_bom(tmp_path: Path, table: pa.Table) -> None:
    path = tmp_path / "out.csv"
    write_table(table, path, fmt="csv", bom=False)
    assert path.read_bytes().startswith(b'"id_number"')


def test_csv_writes_a_million_rows(tmp_path: Path) -> None:
    count = 1_000_000
    numbers = pa.array([f"{6211210010010000 + i}" for i in range(count)])
    big = pa.table({"number": numbers, "year": pa.array(range(count), pa.int32())})
    path = tmp_path / "big.csv"
    assert write_table(big, path, fmt="csv") == count
    with path.open(encoding="utf-8-sig") as handle:
        assert sum(1 for _ in handle) == count + 1


def test_xlsx_reads_back_with_long_digit_strings_as_text_and_dates_as_dates(
    tmp_path: Path, table: pa.Table
) -> None:
    path = tmp_path / "out.xlsx"
    write_table(table, path, fmt="xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert [c.value for c in sheet[1]] == table.column_names
    assert sheet["B2"].value == "6228480000000000000"
    assert sheet["B2"].data_type == "s"
    assert sheet["B2"].number_format == "@"
    assert sheet["B3"].value == "0012"
    assert sheet["F2"].value == datetime(1980, 1, 1)
    assert sheet["F2"].is_date
    assert sheet["D2"].value == 4
    assert sheet["G2"].value == "illness;skills"


def test_xlsx_keeps_a_leading_equals_sign_as_text_and_drops_control_characters(
    tmp_path: Path, table: pa.Table
) -> None:
    path = tmp_path / "out.xlsx"
    write_table(table, path, fmt="xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet["B4"].value == "=1+1"
    assert sheet["B4"].data_type == "s"
    assert sheet["C4"].value == "王五"


def test_xlsx_header_is_bold_and_frozen_with_fitted_widths(tmp_path: Path, table: pa.Table) -> None:
    path = tmp_path / "out.xlsx"
    write_table(table, path, fmt="xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == len("6228480000000000000") + 2


def test_xlsx_refuses_more_rows_than_excel_can_hold(tmp_path: Path) -> None:
    too_many = pa.table({"n": pa.nulls(EXCEL_MAX_DATA_ROWS + 1, pa.int8())})
    path = tmp_path / "out.xlsx"
    with pytest.raises(ValueError, match="1,048,575"):
        write_table(too_many, path, fmt="xlsx")
    assert not list(tmp_path.iterdir())


def test_parquet_round_trips_equal(tmp_path: Path, table: pa.Table) -> None:
    path = tmp_path / "out.parquet"
    write_table(table, path, fmt="parquet")
    assert pq.read_table(path).equals(table)


@FORMATS
def test_headers_rename_the_columns_they_name(tmp_path: Path, table: pa.Table, fmt: str) -> None:
    path = tmp_path / f"out.{fmt}"
    write_table(table, path, fmt=fmt, headers={"id_number": "证件号码", "name": "姓名"})
    expected = ["证件号码", "bank_account", "姓名", "size", "income", "born", "causes"]
    if fmt == "csv":
        assert _read_csv(path)[0] == expected
    elif fmt == "xlsx":
        assert list(_read_xlsx(path)[0]) == expected
    else:
        assert pq.read_table(path).column_names == expected


def test_the_format_is_taken_from_the_suffix_when_not_given(
    tmp_path: Path, table: pa.Table
) -> None:
    path = tmp_path / "out.xlsx"
    write_table(table, path)
    assert _read_xlsx(path)[0][0] == "id_number"


def test_a_failed_write_leaves_neither_the_file_nor_a_partial_one(
    tmp_path: Path, table: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writers.pa_csv, "write_csv", fail)
    with pytest.raises(OSError, match="disk full"):
        write_table(table, tmp_path / "out.csv", fmt="csv")
    assert not list(tmp_path.iterdir())


def test_dictionary_columns_are_written_as_their_values(tmp_path: Path) -> None:
    coded = pa.table({"status": pa.array(["poor", "exited", "poor"]).dictionary_encode()})
    path = tmp_path / "out.csv"
    write_table(coded, path, fmt="csv")
    assert _read_csv(path) == [["status"], ["poor"], ["exited"], ["poor"]]


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
CELLS = st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=8)


def _numbered(values: list[str | None]) -> pa.Table:
    # A row number beside the text: a row of nothing but one empty cell is a blank line.
    return pa.table({"n": range(len(values)), "text": pa.array(values, pa.string())})


def _as_csv_writes_it(value: str | None) -> str:
    # text a spreadsheet would take for a formula gets an apostrophe (tuopin.io.formulas)
    if value is None:
        return ""
    return "'" + value if value.lstrip("'")[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@settings(max_examples=60, deadline=None)
@given(CELLS)
def test_any_text_reads_back_from_csv_as_written(values: list[str | None]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        write_table(_numbered(values), path, fmt="csv")
        assert [row[1] for row in _read_csv(path)[1:]] == [_as_csv_writes_it(v) for v in values]


@settings(max_examples=60, deadline=None)
@given(CELLS)
@example(["\ufffe", "a\uffffb"])  # noncharacters: once made a workbook no reader opened
def test_any_text_reads_back_from_xlsx_without_control_characters(
    values: list[str | None],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.xlsx"
        write_table(_numbered(values), path, fmt="xlsx")
        read = [row[1] for row in _read_xlsx(path)[1:]]
        # XML turns every line ending into \n, as it does for Excel's own files.
        expected = [
            NOT_IN_XML.sub("", v or "").replace("\r\n", "\n").replace("\r", "\n") or None
            for v in values
        ]
        assert read == expected
