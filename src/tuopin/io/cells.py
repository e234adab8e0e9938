"""Typing a column of text cells, vectorised: each parser returns values and what was wrong.

A parser takes a string array (None for empty) and returns the typed array plus, for every
bad cell, a (position, reason msgid, params) triple. Parsers never raise on bad data: the
importer must report every bad cell at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain import idnumber, regions
from tuopin.domain.enums import Titled
from tuopin.i18n import N_, gettext
from tuopin.io.blanks import octet_bounds, stripped
from tuopin.io.schema import LIST_SEPARATORS, Field, FieldType

TRUE_WORDS = ("1", "是", "有", "y", "yes", "true", "t", "√", "✓", "对")
FALSE_WORDS = ("0", "否", "无", "n", "no", "false", "f", "×", "✗", "不")

# At most 15 digits: every such number fits int64 and float64 exactly.
INTEGER_RE = r"^[+-]?\d{1,15}(\.0*)?$"
DECIMAL_RE = r"^[+-]?(\d{1,15}\.?\d*|\.\d+)$"
# A non-zero digit after the second decimal place: a fraction of a fen (1.50 and 1.500 pass).
SUB_FEN_RE = r"\.\d\d\d*[1-9]"
PHONE_RE = r"^\+?[0-9][0-9 -]{5,19}$"
# 2019-11-20, 2019/11/20, 2019.11.20, 20191120, 2019年11月20日 (a day is required)
DATE_RE = (  # RE2 has no back-references: one alternative per separator
    r"^(?P<y>\d{4})(?:-(?P<m1>\d{1,2})-(?P<d1>\d{1,2})|/(?P<m2>\d{1,2})/(?P<d2>\d{1,2})"
    r"|\.(?P<m3>\d{1,2})\.(?P<d3>\d{1,2})|(?P<m8>\d{2})(?P<d8>\d{2})"
    r"|年(?P<mz>\d{1,2})月(?P<dz>\d{1,2})日?)$"
)
ISO_DATE_RE = r"^\d{4}-\d\d-\d\d$"  # one spelling DATE_RE accepts


@dataclass
class Parsed:
    """A typed column and the positions (0-based) of cells that could not be typed."""

    values: pa.Array
    bad: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)


def _positions(mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(mask.fill_null(False).to_numpy(zero_copy_only=False))


def _flag(parsed: Parsed, mask: pa.Array, reason: str, **params: object) -> None:
    parsed.bad.extend((int(i), reason, params) for i in _positions(mask))


def parse_text(cells: pa.Array, spec: Field) -> Parsed:
    text = stripped(cells)
    parsed = Parsed(text)
    if spec.max_length is not None:
        _flag(parsed, pc.greater(pc.utf8_length(text), spec.max_length),
              "Longer than {limit} characters.", limit=spec.max_length)
    return parsed


def _range_check(parsed: Parsed, values: pa.Array, spec: Field) -> None:
    if spec.minimum is not None:
        _flag(parsed, pc.less(values, spec.minimum), "Less than the minimum {limit}.",
              limit=spec.minimum)
    if spec.maximum is not None:
        _flag(parsed, pc.greater(values, spec.maximum), "More than the maximum {limit}.",
              limit=spec.maximum)


def _distinct(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The distinct cells of ``text`` (null among them) and where each cell is in them.

    A column of numbers or dates repeats itself (a million members were born on ~30,000
    days and worked away 0 to 12 months): each spelling is typed once and the results are
    taken back to the rows, so every flag is computed on the rows exactly as before.
    """
    distinct = pc.unique(text)
    return distinct, pc.index_in(text, value_set=distinct, skip_nulls=False)


def _numeric(cells: pa.Array, spec: Field, pattern: str, reason: str,
             target: pa.DataType) -> Parsed:
    text = pc.replace_substring(stripped(cells), ",", "")
    distinct, at = _distinct(text)
    ok_once = pc.match_substring_regex(distinct, pattern)
    good = pc.replace_substring_regex(
        pc.if_else(ok_once, distinct, pa.scalar(None, pa.string())), r"^\+", "")
    if pa.types.is_integer(target):
        good = pc.replace_substring_regex(good, r"\.0*$", "")
    ok = pc.take(ok_once, at)
    values = pc.take(pc.cast(good, target), at)
    parsed = Parsed(values)
    _flag(parsed, pc.invert(ok), reason)
    _range_check(parsed, values, spec)
    return parsed


def parse_integer(cells: pa.Array, spec: Field) -> Parsed:
    return _numeric(cells, spec, INTEGER_RE, N_("Not a whole number."), pa.int64())


def parse_decimal(cells: pa.Array, spec: Field) -> Parsed:
    if spec.money:
        return parse_money(cells, spec)
    return _numeric(cells, spec, DECIMAL_RE, N_("Not a number."), pa.float64())


def parse_money(cells: pa.Array, spec: Field) -> Parsed:
    """Amounts in yuan: numbers (never inf or nan) with at most two decimal places."""
    text = pc.replace_substring(stripped(cells), ",", "")
    sub_fen = pc.and_(pc.match_substring_regex(text, DECIMAL_RE),
                      pc.match_substring_regex(text, SUB_FEN_RE))
    # such a cell is refused for its places alone, not also for its range
    parsed = _numeric(pc.if_else(sub_fen, pa.scalar(None, pa.string()), cells), spec,
                      DECIMAL_RE, N_("Not a number."), pa.float64())
    _flag(parsed, sub_fen, N_("Money has at most two decimal places (yuan and fen)."))
    return parsed


def parse_date(cells: pa.Array, spec: Field) -> Parsed:
    """Dates in the spellings people use; impossible ones (2月30日) are refused."""
    text = stripped(cells)
    distinct, at = _distinct(text)
    spelled = pc.replace_substring_regex(distinct, r"[ T]00:00:00(\.0+)?$", "")
    rows = at.to_numpy(zero_copy_only=False)
    days, matched, real = (part[rows] for part in _calendar(spelled))
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    values = pa.array(days, type=pa.date32(), mask=~real)
    parsed = Parsed(values)
    _flag(parsed, pa.array(present & matched & ~real), "Not a real calendar date.")
    _flag(parsed, pa.array(present & ~matched), "Not a date (write it as 2019-11-20).")
    return parsed


def _calendar(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's day, whether it is spelled as a date, and whether that date is real."""
    year, month, day = _date_parts(text)
    matched = ~np.isnan(np.asarray(year, dtype=float))
    y = np.nan_to_num(np.asarray(year, dtype=float)).astype(np.int64)
    m = np.nan_to_num(np.asarray(month, dtype=float)).astype(np.int64)
    d = np.nan_to_num(np.asarray(day, dtype=float)).astype(np.int64)
    in_range = matched & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31) & (y >= 1800)
    months = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
    return days, matched, in_range & (days.astype("datetime64[M]") == months)


def _date_parts(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each cell (NaN where it is not a date's spelling)."""
    if pc.all(pc.match_substring_regex(text, ISO_DATE_RE)).as_py():
        # every cell written 2019-11-20 (tuopin's own exports): three slices, not a regex
        # of eleven groups (that was most of a million members' date checks)
        def part(start: int, stop: int) -> np.ndarray:
            piece = pc.utf8_slice_codeunits(text, start, stop)
            return pc.cast(piece, pa.int64()).to_numpy(zero_copy_only=False)

        return part(0, 4), part(5, 7), part(8, 10)
    parts = pc.extract_regex(text, DATE_RE)

    def group(*names: str) -> np.ndarray:
        values = pc.coalesce(*[pc.if_else(pc.equal(pc.struct_field(parts, n), ""),
                                          pa.scalar(None, pa.string()),
                                          pc.struct_field(parts, n)) for n in names])
        return pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)

    return group("y"), group("m1", "m2", "m3", "m8", "mz"), group("d1", "d2", "d3", "d8", "dz")


def parse_boolean(cells: pa.Array, spec: Field) -> Parsed:
    text = pc.utf8_lower(stripped(cells))
    is_true = pc.is_in(text, pa.array(TRUE_WORDS))
    is_false = pc.is_in(text, pa.array(FALSE_WORDS))
    values = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
    parsed = Parsed(values)
    _flag(parsed, pc.and_(pc.is_valid(text), pc.invert(pc.or_(is_true, is_false))),
          "Not yes or no (是/否).")
    return parsed


def enum_labels(enum: type[Titled]) -> dict[str, str]:
    """Every spelling accepted for an enum member -> its stored value."""
    labels: dict[str, str] = {}
    for member in enum:
        for label in (member.value, member.title, gettext(member.title, "zh"), member.name):
            labels[label.lower()] = member.value
    return labels


def allowed_values(enum: type[Titled]) -> dict[str, str]:
    """The allowed values of an enum, as a person reads them in each language."""
    return {
        "zh": "、".join(gettext(m.title, "zh") for m in enum),
        "en": ", ".join(m.value for m in enum),
    }


def _enum_map(text: pa.Array, enum: type[Titled]) -> tuple[pa.Array, pa.Array]:
    labels = enum_labels(enum)
    keys = pa.array(list(labels))
    # each distinct spelling is lower-cased and looked up once, not each of a million cells
    spellings = pc.drop_null(pc.unique(text))
    stored = pc.take(pa.array(list(labels.values())),
                     pc.index_in(pc.utf8_lower(spellings), value_set=keys))
    index = pc.index_in(text, value_set=spellings)
    values = pc.take(stored, index)
    unknown = pc.and_(pc.is_valid(text), pc.is_null(values))
    return values, unknown


def parse_enum(cells: pa.Array, spec: Field) -> Parsed:
    assert spec.enum is not None
    values, unknown = _enum_map(stripped(cells), spec.enum)
    parsed = Parsed(values)
    allowed = allowed_values(spec.enum)
    _flag(parsed, unknown, "Not one of the allowed values: {allowed}.", allowed=allowed)
    return parsed


def _split(text: pa.Array) -> pa.Array:
    unified = text
    for sep in LIST_SEPARATORS[1:]:
        unified = pc.replace_substring(unified, sep, LIST_SEPARATORS[0])
    return unified


def parse_enum_list(cells: pa.Array, spec: Field) -> Parsed:
    """Several enum values in one cell, stored as their ids joined by ';'."""
    assert spec.enum is not None
    text = _split(stripped(cells))
    labels = enum_labels(spec.enum)
    unique = pc.unique(text).to_pylist()
    mapped: dict[str, str | None] = {}
    for cell in unique:
        if cell is None:
            continue
        items = [part.strip().lower() for part in cell.split(";") if part.strip()]
        ids = [labels.get(item) for item in items]
        mapped[cell] = None if None in ids else ";".join(dict.fromkeys(i for i in ids if i))
    keys = pa.array(list(mapped), type=pa.string())
    values = pc.take(pa.array(list(mapped.values()), type=pa.string()),
                     pc.index_in(text, value_set=keys))
    parsed = Parsed(values)
    allowed = allowed_values(spec.enum)
    _flag(parsed, pc.and_(pc.is_valid(text), pc.is_null(values)),
          "Not one of the allowed values: {allowed}.", allowed=allowed)
    return parsed


def parse_text_list(cells: pa.Array, spec: Field) -> Parsed:
    text = _split(stripped(cells))
    return Parsed(pc.utf8_trim(text, characters=";"))


def parse_phone(cells: pa.Array, spec: Field) -> Parsed:
    text = stripped(cells)
    parsed = Parsed(text)
    _flag(parsed, pc.and_(pc.is_valid(text), pc.invert(pc.match_substring_regex(text, PHONE_RE))),
          "Not a phone number.")
    return parsed


def parse_region_code(cells: pa.Array, spec: Field) -> Parsed:
    """Region codes, padded to 12 digits; each distinct code is checked once."""
    text = stripped(cells)
    normalized: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for code in pc.unique(text).to_pylist():
        if code is None:
            continue
        padded = regions.normalize(code)
        try:
            regions.level_of(padded)
            normalized[code] = padded
        except regions.RegionCodeError as exc:
            normalized[code] = None
            reasons[code] = REGION_REASONS[exc.code]
    keys = pa.array(list(normalized), type=pa.string())
    index = pc.index_in(text, value_set=keys)
    values = pc.take(pa.array(list(normalized.values()), type=pa.string()), index)
    parsed = Parsed(values)
    for code, reason in reasons.items():
        _flag(parsed, pc.equal(text, code), reason)
    return parsed


REGION_REASONS = {
    "region_format": N_("A region code has 12 digits (or 2, 4, 6 or 9 for the upper levels)."),
    "region_zero_segment": N_("A region code cannot have an all-zero level above its own."),
}

ID_REASONS = {
    "id_length": N_("An ID number has 18 characters."),
    "id_chars": N_("An ID number has 17 digits and a last digit or X."),
    "id_address": N_("The ID number does not start with a province code."),
    "id_birth_date": N_("The birth date in the ID number is not a real past date."),
    "id_check_char": N_("The check character of the ID number is wrong (expected {expected})."),
}


def _id_matrix(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The cells as an (n, 18) matrix of bytes, and which cells are 18 ASCII characters
    (the others, and empty cells, are zeros: they fail on their length or characters).

    Read straight from Arrow's buffer: turning a million cells into Python strings first
    took most of the check's time."""
    ascii18 = pc.and_(pc.equal(pc.binary_length(text), 18),
                      pc.equal(pc.utf8_length(text), 18)).fill_null(False)
    placeholder = pa.scalar("0" * 18, pa.string())
    # the usual column, every cell 18 ASCII characters, is read as it is
    fixed = (text if pc.all(ascii18).as_py() else pc.if_else(ascii18, text, placeholder)
             ).cast(pa.binary())
    if isinstance(fixed, pa.ChunkedArray):
        fixed = fixed.combine_chunks()
    offsets = np.frombuffer(fixed.buffers()[1], dtype=np.int32)
    start = offsets[fixed.offset]
    data = np.frombuffer(fixed.buffers()[2], dtype=np.uint8)
    codes = data[start : start + 18 * len(fixed)].reshape(-1, 18)
    return codes, ascii18.to_numpy(zero_copy_only=False)


# days of each month in a common year, by month number (0: no month)
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def parse_id_number(cells: pa.Array, spec: Field, *, today: date) -> Parsed:
    """GB 11643-1999 ID numbers, checked with NumPy over the whole column."""
    text = stripped(cells)
    low, high = octet_bounds(text)
    if low < 0x21 or high >= ord("a"):  # a space inside, a lower-case x, or not ASCII
        text = pc.utf8_upper(pc.replace_substring(text, " ", ""))
    parsed = Parsed(text)
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    length_ok = pc.equal(pc.utf8_length(text), 18).fill_null(False).to_numpy(
        zero_copy_only=False)
    codes, ascii18 = _id_matrix(text)
    # digit values; any other byte wraps past 9 (what it yields is never used: every rule
    # below the characters' own holds only for cells of 17 digits and a digit or X)
    values = codes - np.uint8(48)
    digits = values <= 9
    chars_ok = (length_ok & ascii18 & digits[:, :17].all(axis=1)
                & (digits[:, 17] | (codes[:, 17] == 88)))

    def number(first: int, last: int) -> np.ndarray:
        total = np.zeros(len(values), dtype=np.int32)
        for at in range(first, last):
            total = total * 10 + values[:, at]
        return total

    known = np.isin(number(0, 2), [int(c) for c in idnumber.PROVINCE_CODES])
    y, m, d = number(6, 10), number(10, 12), number(12, 14)
    # a real day, by the month's length (in whole numbers: NumPy's datetime casts took a
    # fifth of the check), and not after today
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(m, 0, 12)] + ((m == 2) & leap)
    date_ok = ((y >= 1850) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_days)
               & (y * 10_000 + m * 100 + d <= today.year * 10_000 + today.month * 100
                  + today.day))
    expected = idnumber.check_bytes_vectorised(values[:, :17])
    check_ok = expected == codes[:, 17]
    rules: list[tuple[np.ndarray, str, dict[str, object]]] = [
        (~length_ok, "id_length", {}),
        (length_ok & ~chars_ok, "id_chars", {}),
        (chars_ok & ~known, "id_address", {}),
        (chars_ok & known & ~date_ok, "id_birth_date", {}),
    ]
    for mask, code, params in rules:
        positions = np.flatnonzero(present & mask)
        parsed.bad.extend((int(i), ID_REASONS[code], params) for i in positions)
    wrong = np.flatnonzero(present & chars_ok & known & date_ok & ~check_ok)
    parsed.bad.extend((int(i), ID_REASONS["id_check_char"], {"expected": chr(expected[i])})
                      for i in wrong)
    return parsed


PARSERS: dict[FieldType, Callable[[pa.Array, Field], Parsed]] = {
    FieldType.TEXT: parse_text,
    FieldType.INTEGER: parse_integer,
    FieldType.DECIMAL: parse_decimal,
    FieldType.DATE: parse_date,
    FieldType.BOOLEAN: parse_boolean,
    FieldType.ENUM: parse_enum,
    FieldType.ENUM_LIST: parse_enum_list,
    FieldType.TEXT_LIST: parse_text_list,
    FieldType.PHONE: parse_phone,
    FieldType.REGION_CODE: parse_region_code,
}


def parse(cells: pa.Array, spec: Field, *, today: date) -> Parsed:
    """Type one column according to its field."""
    if spec.type is FieldType.ID_NUMBER:
        return parse_id_number(cells, spec, today=today)
    if spec.type is FieldType.FEN:
        from tuopin.io.amounts import parse_fen  # amounts builds on this module

        return parse_fen(cells, spec)
    return PARSERS[spec.type](cells, spec)


def as_text(value: object) -> str:
    """A stored value as the text the importer would read back (how forms show values).

    Whole amounts lose their ".0" (3000.0 → "3000"): forms show them as people type them,
    and every comparison of "what the form showed" goes through this one function.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
