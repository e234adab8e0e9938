from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from tuopin.domain.enums import PovertyCause, Titled
from tuopin.i18n import gettext
from tuopin.io.schema import Field, FieldType, Kind, fields
from tuopin.io.template import (
    BOOLEAN_CHOICES,
    EXAMPLE_SHEET,
    HELP_SHEET,
    LISTS_SHEET,
    build_template,
    write_template,
)

KINDS = pytest.mark.parametrize("kind", list(Kind), ids=lambda k: k.value)
LANGS = pytest.mark.parametrize("lang", ["zh", "en"])
TEXT_LIKE = (
    FieldType.TEXT,
    FieldType.TEXT_LIST,
    FieldType.ID_NUMBER,
    FieldType.REGION_CODE,
    FieldType.PHONE,
    FieldType.FEN,  # an amount typed into a number cell would become a float
)


def _template(tmp_path: Path, kind: Kind, lang: str = "zh") -> Workbook:
    path = tmp_path / f"{kind.value}.xlsx"
    write_template(kind, path, lang=lang)
    return openpyxl.load_workbook(path)


def _letter(kind: Kind, field: Field) -> str:
    return openpyxl.utils.get_column_letter(fields(kind).index(field) + 1)


def _validations(sheet: Worksheet) -> dict[str, DataValidation]:
    return {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}


def _dropdown_values(workbook: Workbook, validation: DataValidation) -> list[str]:
    source = validation.formula1
    if source.startswith('"'):
        return source.strip('"').split(",")
    sheet_name, cells = source.split("!")
    sheet = workbook[sheet_name.strip("'")]
    return [row[0].value for row in sheet[cells.replace("$", "")]]


@KINDS
def test_the_data_sheet_is_first_and_active_then_example_then_help(
    tmp_path: Path, kind: Kind
) -> None:
    workbook = _template(tmp_path, kind)
    assert workbook.sheetnames[:3] == [gettext("Data", "zh"), EXAMPLE_SHEET, HELP_SHEET]
    assert workbook.active is workbook.worksheets[0]


@KINDS
@LANGS
def test_the_header_row_holds_the_column_titles_in_the_template_language(
    tmp_path: Path, kind: Kind, lang: str
) -> None:
    sheet = _template(tmp_path, kind, lang).worksheets[0]
    assert [cell.value for cell in sheet[1]] == [f.header(lang) for f in fields(kind)]


def test_the_default_template_is_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "members.xlsx"
    write_template(Kind.MEMBERS, path)
    headers = [cell.value for cell in openpyxl.load_workbook(path).worksheets[0][1]]
    assert headers[:3] == ["户编号", "证件号码", "姓名"]


@KINDS
def test_the_header_row_is_bold_and_frozen_and_the_data_sheet_is_empty(
    tmp_path: Path, kind: Kind
) -> None:
    sheet = _template(tmp_path, kind).worksheets[0]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 1


@KINDS
def test_every_header_has_a_comment_with_the_field_name_requirement_type_and_example(
    tmp_path: Path, kind: Kind
) -> None:
    sheet = _template(tmp_path, kind).worksheets[0]
    for field in fields(kind):
        comment = sheet[f"{_letter(kind, field)}1"].comment
        assert comment is not None
        assert f"{field.header('en')} ({field.name})" in comment.text
        assert gettext("Required" if field.required else "Optional", "zh") in comment.text
        assert field.example in comment.text


@KINDS
def test_template_has_a_dropdown_for_every_enum_column(tmp_path: Path, kind: Kind) -> None:
    for lang in ("zh", "en"):
        workbook = _template(tmp_path, kind, lang)
        validations = _validations(workbook.worksheets[0])
        for field in fields(kind):
            if field.type is not FieldType.ENUM:
                continue
            assert field.enum is not None
            letter = _letter(kind, field)
            validation = validations[f"{letter}2:{letter}10001"]
            assert validation.type == "list"
            assert validation.showErrorMessage
            expected = [gettext(member.title, lang) for member in field.enum]
            assert _dropdown_values(workbook, validation) == expected


@KINDS
@LANGS
def test_every_boolean_column_offers_yes_and_no_in_the_template_language(
    tmp_path: Path, kind: Kind, lang: str
) -> None:
    workbook = _template(tmp_path, kind, lang)
    validations = _validations(workbook.worksheets[0])
    for field in fields(kind):
        if field.type is FieldType.BOOLEAN:
            letter = _letter(kind, field)
            validation = validations[f"{letter}2:{letter}10001"]
            assert _dropdown_values(workbook, validation) == list(BOOLEAN_CHOICES[lang])


@KINDS
def test_only_enum_and_boolean_columns_have_dropdowns(tmp_path: Path, kind: Kind) -> None:
    validations = _validations(_template(tmp_path, kind).worksheets[0])
    with_dropdown = {key.split(":")[0].rstrip("0123456789") for key in validations}
    expected = {
        _letter(kind, f) for f in fields(kind) if f.type in (FieldType.ENUM, FieldType.BOOLEAN)
    }
    assert with_dropdown == expected


def test_an_enum_list_column_explains_the_separator_instead_of_a_dropdown(
    tmp_path: Path,
) -> None:
    field = next(f for f in fields(Kind.HOUSEHOLDS) if f.type is FieldType.ENUM_LIST)
    sheet = _template(tmp_path, Kind.HOUSEHOLDS, "en").worksheets[0]
    comment = sheet[f"{_letter(Kind.HOUSEHOLDS, field)}1"].comment
    assert comment is not None
    assert "Separate several values with ;" in comment.text
    assert "因病 (illness)" in comment.text


@KINDS
def test_id_like_columns_are_formatted_as_text_and_date_columns_as_dates(
    tmp_path: Path, kind: Kind
) -> None:
    sheet = _template(tmp_path, kind).worksheets[0]
    for field in fields(kind):
        style = sheet.column_dimensions[_letter(kind, field)].number_format
        if field.type in TEXT_LIKE:
            assert style == "@", field.name
        elif field.type is FieldType.DATE:
            assert style == "yyyy-mm-dd", field.name
        else:
            assert style == "General", field.name


@KINDS
@LANGS
def test_the_example_sheet_has_the_headers_and_exactly_one_example_row(
    tmp_path: Path, kind: Kind, lang: str
) -> None:
    sheet = _template(tmp_path, kind, lang)[EXAMPLE_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert list(rows[0]) == [f.header(lang) for f in fields(kind)]
    for field, value in zip(fields(kind), rows[1], strict=True):
        if not field.example:
            assert value is None
        elif isinstance(value, datetime):
            assert value.date().isoformat() == field.example
        else:
            assert str(value) == field.example


def test_example_id_numbers_are_text_cells(tmp_path: Path) -> None:
    sheet = _template(tmp_path, Kind.MEMBERS)[EXAMPLE_SHEET]
    assert sheet["A2"].value == "6211210010010001"
    assert sheet["A2"].data_type == "s"
    assert sheet["A2"].number_format == "@"


@KINDS
@LANGS
def test_the_help_sheet_has_one_row_per_field(tmp_path: Path, kind: Kind, lang: str) -> None:
    sheet = _template(tmp_path, kind, lang)[HELP_SHEET]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    yes, no = BOOLEAN_CHOICES[lang]
    assert [row[:4] for row in rows] == [
        (f.header("zh"), f.header("en"), f.name, yes if f.required else no) for f in fields(kind)
    ]


def test_the_help_sheet_lists_enum_titles_with_their_ids(tmp_path: Path) -> None:
    sheet = _template(tmp_path, Kind.MEMBERS)[HELP_SHEET]
    sex = next(row for row in sheet.iter_rows(values_only=True) if row[2] == "sex")
    assert sex[5] == "男 (male); 女 (female)"


class _Long(Titled):
    """Titles too long, together, for Excel's 255-character inline list."""

    FIRST = "first", "a rather long title that goes on and on and on and on and on and on and on"
    SECOND = "second", "another long title that goes on and on and on and on and on and on and on"
    THIRD = "third", "a third title, with a comma, which an inline list cannot hold at all"
    FOURTH = "fourth", "a fourth title that goes on and on and on and on and on and on and on"


def test_a_dropdown_longer_than_excel_allows_inline_moves_to_a_hidden_sheet(
    tmp_path: Path,
) -> None:
    columns = [
        Field("cause", "Main cause of poverty", FieldType.ENUM, enum=PovertyCause),
        Field("long", "Long", FieldType.ENUM, enum=_Long),
    ]
    path = tmp_path / "long.xlsx"
    build_template(columns, lang="en").save(path)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[-1] == LISTS_SHEET
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    validations = _validations(workbook.worksheets[0])
    assert validations["A2:A10001"].formula1.startswith('"')
    long_source = validations["B2:B10001"]
    assert LISTS_SHEET in long_source.formula1
    assert _dropdown_values(workbook, long_source) == [m.title for m in _Long]


def test_a_regional_language_tag_picks_the_chinese_template(tmp_path: Path) -> None:
    path = tmp_path / "regions.xlsx"
    write_template(Kind.REGIONS, path, lang="zh-CN")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet["A1"].value == "区划代码"
