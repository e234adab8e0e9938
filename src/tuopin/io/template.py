"""The XLSX import template of a registry kind: headers, dropdowns, an example and help.

The data sheet comes first and is active because the importer reads the first sheet. The
example lives on its own sheet so that importing a filled-in template never imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from tuopin.i18n import gettext, normalize_lang, translate
from tuopin.io.schema import Field, FieldType, Kind, fields
from tuopin.io.writers import TEXT_FORMAT, column_width, display_width

T = FieldType

FIRST_DATA_ROW = 2
LAST_DATA_ROW = 10_001
DATA_SHEET = "Data"  # msgid: the data sheet is named in the template's language
EXAMPLE_SHEET = "示例 Example"
HELP_SHEET = "说明 Help"
LISTS_SHEET = "lists"
# Excel refuses an inline list source longer than 255 characters; longer lists, and values
# holding the ',' that separates inline items, go to the hidden lists sheet instead.
INLINE_LIST_LIMIT = 255
# The importer's own yes/no tokens, not display text, so they are not looked up in the catalog.
BOOLEAN_CHOICES = {"zh": ("是", "否"), "en": ("yes", "no")}
DATE_FORMAT = "yyyy-mm-dd"

# Every text-like column is formatted as text: Excel would turn household numbers, bank
# accounts and ID numbers into 6.2E+17 and drop the leading zeros of codes.
# Amounts of the books too: as text they keep exactly the fen typed (an Excel number can
# turn 0.1 + 0.2 into 0.30000000000000004).
TEXT_TYPES = frozenset({T.TEXT, T.TEXT_LIST, T.ID_NUMBER, T.REGION_CODE, T.PHONE, T.FEN})

TYPE_TITLES = {
    T.TEXT: "text",
    T.INTEGER: "whole number",
    T.DECIMAL: "number",
    T.DATE: "date (YYYY-MM-DD)",
    T.BOOLEAN: "yes or no",
    T.ENUM: "one value from the list",
    T.ENUM_LIST: "several values from the list",
    T.TEXT_LIST: "several values",
    T.ID_NUMBER: "18-digit ID card number",
    T.REGION_CODE: "12-digit region code",
    T.PHONE: "phone number",
    T.FEN: "amount in yuan, at most two decimals",
}
LIST_NOTE = "Separate several values with ;"
HELP_COLUMNS = (
    "Chinese header",
    "English header",
    "Field name",
    "Required",
    "Type",
    "Allowed values",
    "Example",
)


def write_template(kind: Kind, path: Path, *, lang: str = "zh") -> None:
    """Write the XLSX import template of ``kind`` with headers in ``lang``."""
    build_template(fields(kind), lang=lang).save(path)


def build_template(columns: Sequence[Field], *, lang: str = "zh") -> Workbook:
    """The template workbook for ``columns``: data, example and help sheets."""
    lang = normalize_lang(lang)
    workbook = Workbook()
    data = workbook.active
    assert data is not None  # a new workbook always has one sheet
    data.title = gettext(DATA_SHEET, lang)
    example = workbook.create_sheet(EXAMPLE_SHEET)
    help_sheet = workbook.create_sheet(HELP_SHEET)
    _fill_data_sheet(data, columns, lang)
    _fill_example_sheet(example, columns, lang)
    _fill_help_sheet(help_sheet, columns, lang)
    workbook.active = 0
    return workbook


def choices(field: Field, lang: str) -> list[str]:
    """The dropdown values of ``field`` in ``lang``; empty when it has no dropdown."""
    lang = normalize_lang(lang)
    if field.type is T.BOOLEAN:
        return list(BOOLEAN_CHOICES[lang])
    if field.type is T.ENUM and field.enum is not None:
        return [gettext(member.title, lang) for member in field.enum]
    return []


def allowed_values(field: Field, lang: str) -> str:
    """What a cell of ``field`` may hold, as one line of help text in ``lang``."""
    lang = normalize_lang(lang)
    if field.type is T.BOOLEAN:
        return " / ".join(BOOLEAN_CHOICES[lang])
    if field.enum is not None:
        # Chinese titles and English ids are both accepted by the importer, so show both.
        names = "; ".join(_member_text(m.title, m.value, lang) for m in field.enum)
        return f"{names}. {gettext(LIST_NOTE, lang)}" if field.type is T.ENUM_LIST else names
    if field.type is T.TEXT_LIST:
        return gettext(LIST_NOTE, lang)
    return _limits(field, lang)


def _member_text(title: str, value: str, lang: str) -> str:
    chinese = gettext(title, "zh")
    return f"{chinese} ({value})" if lang == "zh" else f"{title} / {chinese} ({value})"


def _limits(field: Field, lang: str) -> str:
    low, high = _number(field.minimum), _number(field.maximum)
    if low is not None and high is not None:
        return translate("{minimum} to {maximum}", lang, minimum=low, maximum=high)
    if low is not None:
        return translate("at least {minimum}", lang, minimum=low)
    if high is not None:
        return translate("at most {maximum}", lang, maximum=high)
    if field.max_length is not None:
        return translate("at most {count} characters", lang, count=field.max_length)
    return ""


def _number(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _fill_data_sheet(sheet: Worksheet, columns: Sequence[Field], lang: str) -> None:
    _write_headers(sheet, columns, lang)
    for index, field in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet[f"{letter}1"].comment = _comment(field, lang)
        # A column style is what Excel applies to every cell later typed into the column.
        if field.type in TEXT_TYPES:
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
        elif field.type is T.DATE:
            sheet.column_dimensions[letter].number_format = DATE_FORMAT
        values = choices(field, lang)
        if values:
            validation = _validation(sheet, values, lang)
            validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{LAST_DATA_ROW}")
            sheet.add_data_validation(validation)


def _write_headers(sheet: Worksheet, columns: Sequence[Field], lang: str) -> None:
    bold = Font(bold=True)
    for index, field in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=field.header(lang))
        cell.font = bold
        texts = [field.header(lang), field.example, *choices(field, lang)]
        sheet.column_dimensions[get_column_letter(index)].width = column_width(texts)
    sheet.freeze_panes = "A2"


def _comment(field: Field, lang: str) -> Comment:
    lines = [
        f"{field.header('en')} ({field.name})",
        gettext("Required", lang) if field.required else gettext("Optional", lang),
        translate("Type: {type}", lang, type=gettext(TYPE_TITLES[field.type], lang)),
    ]
    allowed = allowed_values(field, lang)
    if allowed:
        lines.append(translate("Allowed values: {values}", lang, values=allowed))
    if field.example:
        lines.append(translate("Example: {example}", lang, example=field.example))
    comment = Comment("\n".join(lines), "tuopin")
    # The default comment box is too small for a list of choices; size it to the text.
    comment.width = 320
    comment.height = 20 + 18 * sum(1 + display_width(line) // 44 for line in lines)
    return comment


def _validation(sheet: Worksheet, values: list[str], lang: str) -> DataValidation:
    return DataValidation(
        type="list",
        formula1=_list_source(sheet, values),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle=gettext("Not in the list", lang),
        error=gettext("Choose a value from the dropdown list.", lang),
    )


def _list_source(sheet: Worksheet, values: list[str]) -> str:
    inline = ",".join(values)
    if len(inline) <= INLINE_LIST_LIMIT and not any("," in v or '"' in v for v in values):
        return f'"{inline}"'
    workbook = sheet.parent
    if LISTS_SHEET in workbook.sheetnames:
        lists = workbook[LISTS_SHEET]
        column = lists.max_column + 1
    else:
        lists = workbook.create_sheet(LISTS_SHEET)
        lists.sheet_state = "hidden"
        column = 1
    for row, value in enumerate(values, start=1):
        lists.cell(row=row, column=column, value=value).data_type = "s"
    letter = get_column_letter(column)
    return f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(values)}"


def _fill_example_sheet(sheet: Worksheet, columns: Sequence[Field], lang: str) -> None:
    _write_headers(sheet, columns, lang)
    for index, field in enumerate(columns, start=1):
        if not field.example:
            continue
        cell = sheet.cell(row=2, column=index, value=_example_value(field))
        if field.type in TEXT_TYPES:
            cell.data_type = "s"
            cell.number_format = TEXT_FORMAT
        elif field.type is T.DATE:
            cell.number_format = DATE_FORMAT


def _example_value(field: Field) -> object:
    # Numbers and dates are shown as Excel numbers and dates, the way a user would type them.
    if field.type is T.INTEGER:
        return int(field.example)
    if field.type is T.DECIMAL:
        number = float(field.example)
        return int(number) if number.is_integer() else number
    if field.type is T.DATE:
        return date.fromisoformat(field.example)
    return field.example


def _fill_help_sheet(sheet: Worksheet, columns: Sequence[Field], lang: str) -> None:
    yes, no = BOOLEAN_CHOICES[lang]
    rows = [
        [
            field.header("zh"),
            field.header("en"),
            field.name,
            yes if field.required else no,
            gettext(TYPE_TITLES[field.type], lang),
            allowed_values(field, lang),
            field.example,
        ]
        for field in columns
    ]
    headers = [gettext(title, lang) for title in HELP_COLUMNS]
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    bold = Font(bold=True)
    for index, header in enumerate(headers, start=1):
        sheet.cell(row=1, column=index).font = bold
        texts = [header, *(str(row[index - 1]) for row in rows)]
        sheet.column_dimensions[get_column_letter(index)].width = column_width(texts)
    sheet.freeze_panes = "A2"
