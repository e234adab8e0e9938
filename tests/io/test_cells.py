"""Typing columns of text cells: every field type with good and bad values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuopin.domain import idnumber
from tuopin.domain.money import MONEY_MAX
from tuopin.i18n import has_translation
from tuopin.io import cells
from tuopin.io.cells import ID_REASONS, PARSERS, REGION_REASONS, Parsed, as_text
from tuopin.io.schema import FIELDS, Field, FieldType, Kind

TODAY = date(2026, 11, 29)
PROPERTY = settings(max_examples=150, deadline=None)

NOT_WHOLE = "Not a whole number."
NOT_NUMBER = "Not a number."
BELOW = "Less than the minimum {limit}."
ABOVE = "More than the maximum {limit}."
NOT_REAL = "Not a real calendar date."
NOT_DATE = "Not a date (write it as 2019-11-20)."
NOT_YES_NO = "Not yes or no (是/否)."
NOT_ALLOWED = "Not one of the allowed values: {allowed}."
NOT_PHONE = "Not a phone number."
TOO_LONG = "Longer than {limit} characters."
SUB_FEN = "Money has at most two decimal places (yuan and fen)."


def spec(kind: Kind, name: str) -> Field:
    return next(f for f in FIELDS[kind] if f.name == name)


def parse(kind: Kind, name: str, values: Sequence[str | None]) -> Parsed:
    return cells.parse(pa.array(values, pa.string()), spec(kind, name), today=TODAY)


def parse_one(kind: Kind, name: str, value: str | None) -> tuple[object, list[str]]:
    """The typed value of one cell and the reasons it was refused."""
    parsed = parse(kind, name, [value])
    assert all(position == 0 for position, _, _ in parsed.bad)
    return parsed.values[0].as_py(), [reason for _, reason, _ in parsed.bad]


def with_check(first17: str) -> str:
    return first17 + idnumber.check_char(first17)


M, H, S, R, P = Kind.MEMBERS, Kind.HOUSEHOLDS, Kind.SURVEYS, Kind.REGIONS, Kind.HELPERS

GOOD = [
    # integers
    (M, "months_worked_away", "3", 3),
    (M, "months_worked_away", "3.0", 3),
    (M, "months_worked_away", "3.", 3),
    (M, "months_worked_away", "3.000", 3),
    (M, "months_worked_away", " 12 ", 12),
    (M, "months_worked_away", "0", 0),
    (M, "months_worked_away", "03", 3),
    (H, "year_identified", "2,016", 2016),
    (H, "year_identified", "2016.0", 2016),
    (S, "water_outage_days", "1,2", 12),
    # decimals
    (S, "wage_income", "3", 3.0),
    (S, "wage_income", "3.5", 3.5),
    (S, "wage_income", "1,200", 1200.0),
    (S, "wage_income", "1,200.50", 1200.5),
    (S, "wage_income", ".5", 0.5),
    (S, "wage_income", "5.", 5.0),
    (S, "wage_income", "+5", 5.0),
    (S, "wage_income", "-0", 0.0),
    (S, "wage_income", "100000000", 100_000_000.0),
    (S, "wage_income", "1234.56", 1234.56),
    (S, "wage_income", "1,234.5600", 1234.56),  # trailing zeros are not a fraction of a fen
    (S, "wage_income", "0.01", 0.01),
    (S, "water_quantity_lpd", "60.125", 60.125),  # not money: any number of places
    # dates
    (M, "birth_date", "2019-11-20", date(2019, 11, 20)),
    (M, "birth_date", "2019/11/20", date(2019, 11, 20)),
    (M, "birth_date", "2019.11.20", date(2019, 11, 20)),
    (M, "birth_date", "20191120", date(2019, 11, 20)),
    (M, "birth_date", "2019年11月20日", date(2019, 11, 20)),
    (M, "birth_date", "2019-11-20 00:00:00", date(2019, 11, 20)),
    (M, "birth_date", "2019-11-20T00:00:00", date(2019, 11, 20)),
    (M, "birth_date", "2019-11-20 00:00:00.000", date(2019, 11, 20)),  # Arrow timestamps
    (M, "birth_date", "2019-1-5", date(2019, 1, 5)),
    (M, "birth_date", "2019年1月5日", date(2019, 1, 5)),
    (M, "birth_date", " 2019-11-20 ", date(2019, 11, 20)),
    (M, "birth_date", "2020-02-29", date(2020, 2, 29)),
    (M, "birth_date", "2000-02-29", date(2000, 2, 29)),
    (M, "birth_date", "1800-01-01", date(1800, 1, 1)),
    (S, "collected_on", "2019-12-31", date(2019, 12, 31)),
    # booleans
    *[(M, "dibao", word, True) for word in ("是", "1", "yes", "true", "√", "YES", "True", "有",
                                            "y", "t", "✓", "对")],
    *[(M, "dibao", word, False) for word in ("否", "0", "no", "false", "×", "No", "FALSE", "无",
                                             "n", "f", "✗", "不")],
    # enums: id, English title, Chinese title, member name, any case, blanks around
    (M, "health", "chronic", "chronic"),
    (M, "health", "chronic illness", "chronic"),
    (M, "health", "长期慢性病", "chronic"),
    (M, "health", "CHRONIC", "chronic"),
    (M, "health", "Chronic Illness", "chronic"),
    (M, "health", " chronic ", "chronic"),
    (M, "sex", "男", "male"),
    (M, "sex", "女", "female"),
    (M, "sex", "Male", "male"),
    (M, "relation", "户主", "head"),
    (M, "relation", "head of household", "head"),
    (M, "relation", "儿媳/女婿", "child_in_law"),
    (M, "relation", "CHILD_IN_LAW", "child_in_law"),
    (M, "schooling_status", "非在校生", "graduated"),
    (H, "status", "贫困户", "poor"),
    (H, "main_cause", "因病", "illness"),
    (S, "housing_grade", "C", "C"),
    (S, "housing_grade", "c", "C"),
    (S, "housing_grade", "B级（基本安全）", "B"),
    # enum lists
    (H, "other_causes", "illness;skills", "illness;skills"),
    (H, "other_causes", "illness；skills", "illness;skills"),
    (H, "other_causes", "illness、skills", "illness;skills"),
    (H, "other_causes", "illness,skills", "illness;skills"),
    (H, "other_causes", "illness，skills", "illness;skills"),
    (H, "other_causes", "因病;缺技术", "illness;skills"),
    (H, "other_causes", "因病 、 lack of skills ; CAPITAL", "illness;skills;capital"),
    (H, "other_causes", "skills;illness", "skills;illness"),  # order kept
    (H, "other_causes", "illness;因病;ILLNESS", "illness"),  # duplicates dropped
    (H, "other_causes", "illness;", "illness"),
    (H, "other_causes", "illness", "illness"),
    # text lists
    (P, "households", "0001;0002", "0001;0002"),
    (P, "households", "0001、0002，0003", "0001;0002;0003"),
    (P, "households", ";0001;", "0001"),
    # text
    (M, "name", " 张三 ", "张三"),
    (M, "name", "张" * 64, "张" * 64),
    # phones
    (M, "phone", "13800000000", "13800000000"),
    (M, "phone", "+86 138-0000-0000", "+86 138-0000-0000"),
    (M, "phone", "0931-1234567", "0931-1234567"),
    (M, "phone", "123456", "123456"),
    # region codes, padded
    (R, "code", "62", "620000000000"),
    (R, "code", "6211", "621100000000"),
    (R, "code", "621121", "621121000000"),
    (R, "code", "621121001", "621121001000"),
    (R, "code", "621121001001", "621121001001"),
    (R, "code", " 621121 ", "621121000000"),
    (H, "village_code", "320508019044", "320508019044"),
    # ID numbers
    (M, "id_number", "11010519491231002X", "11010519491231002X"),
    (M, "id_number", "11010519491231002x", "11010519491231002X"),
    (M, "id_number", "110105 19491231 002X", "11010519491231002X"),
    (M, "id_number", " 440524188001010014 ", "440524188001010014"),
    (M, "id_number", with_check("62112120261129002"), with_check("62112120261129002")),
    (M, "id_number", with_check("11010520000229002"), with_check("11010520000229002")),  # 400
    (M, "id_number", with_check("11010519960229002"), with_check("11010519960229002")),
]


@pytest.mark.parametrize(("kind", "name", "cell", "expected"), GOOD)
def test_it_types_a_good_value(kind: Kind, name: str, cell: str, expected: object) -> None:
    value, reasons = parse_one(kind, name, cell)
    assert reasons == []
    assert value == expected
    assert type(value) is type(expected)


BAD = [
    # integers
    (M, "months_worked_away", "x", NOT_WHOLE),
    (M, "months_worked_away", "3.5", NOT_WHOLE),
    (M, "months_worked_away", "3.01", NOT_WHOLE),
    (M, "months_worked_away", "三", NOT_WHOLE),
    (M, "months_worked_away", "1e1", NOT_WHOLE),
    (M, "months_worked_away", "3 4", NOT_WHOLE),
    (M, "months_worked_away", ",", NOT_WHOLE),
    (M, "months_worked_away", ".5", NOT_WHOLE),
    (M, "months_worked_away", "13", ABOVE),
    (M, "months_worked_away", "1,200", ABOVE),
    (M, "months_worked_away", "-1", BELOW),
    (M, "disability_grade", "0", BELOW),
    (M, "disability_grade", "5", ABOVE),
    (H, "year_identified", "1999", BELOW),
    # decimals
    (S, "wage_income", "x", NOT_NUMBER),
    (S, "wage_income", "1e3", NOT_NUMBER),
    (S, "wage_income", "3.5.1", NOT_NUMBER),
    (S, "wage_income", "¥100", NOT_NUMBER),
    (S, "wage_income", "100元", NOT_NUMBER),
    (S, "wage_income", ".", NOT_NUMBER),
    (S, "wage_income", "-1", BELOW),
    (S, "wage_income", "100000000.01", ABOVE),
    (S, "wage_income", "1234.567", SUB_FEN),
    (S, "wage_income", "0.001", SUB_FEN),
    (S, "wage_income", "1,234.5601", SUB_FEN),
    (S, "wage_income", "100000000.001", SUB_FEN),  # refused for its places, not also its size
    (S, "wage_income", "1." + "0" * 40 + "1", SUB_FEN),
    (S, "wage_income", "inf", NOT_NUMBER),
    (S, "wage_income", "-inf", NOT_NUMBER),
    (S, "wage_income", "Infinity", NOT_NUMBER),
    (S, "wage_income", "nan", NOT_NUMBER),
    (S, "wage_income", "1e400", NOT_NUMBER),
    (S, "water_trip_minutes", "1441", ABOVE),
    # dates
    (M, "birth_date", "2019-02-30", NOT_REAL),
    (M, "birth_date", "2019年2月30日", NOT_REAL),
    (M, "birth_date", "2019-02-29", NOT_REAL),
    (M, "birth_date", "1900-02-29", NOT_REAL),
    (M, "birth_date", "2019-04-31", NOT_REAL),
    (M, "birth_date", "2019-13-01", NOT_REAL),
    (M, "birth_date", "2019-00-10", NOT_REAL),
    (M, "birth_date", "2019-11-00", NOT_REAL),
    (M, "birth_date", "2019-11-32", NOT_REAL),
    (M, "birth_date", "1799-12-31", NOT_REAL),
    (M, "birth_date", "2月30日", NOT_DATE),
    (M, "birth_date", "11月20日", NOT_DATE),
    (M, "birth_date", "20/11/2019", NOT_DATE),
    (M, "birth_date", "19-11-20", NOT_DATE),
    (M, "birth_date", "2019-11-20 08:30:00", NOT_DATE),
    (M, "birth_date", "2019年11月", NOT_DATE),
    (M, "birth_date", "yesterday", NOT_DATE),
    # booleans
    (M, "dibao", "maybe", NOT_YES_NO),
    (M, "dibao", "是的", NOT_YES_NO),
    (M, "dibao", "2", NOT_YES_NO),
    (M, "dibao", "1.0", NOT_YES_NO),
    # enums
    (M, "health", "sick", NOT_ALLOWED),
    (M, "health", "chronic;healthy", NOT_ALLOWED),
    (M, "sex", "M", NOT_ALLOWED),
    (M, "relation", "wife", NOT_ALLOWED),
    (S, "housing_grade", "E", NOT_ALLOWED),
    # enum lists
    (H, "other_causes", "illness;bogus", NOT_ALLOWED),
    (H, "other_causes", "bogus", NOT_ALLOWED),
    (H, "other_causes", "illness skills", NOT_ALLOWED),
    # text
    (M, "name", "张" * 65, TOO_LONG),
    (M, "ethnicity", "x" * 17, TOO_LONG),
    # phones
    (M, "phone", "12345", NOT_PHONE),
    (M, "phone", "abc", NOT_PHONE),
    (M, "phone", "138 0000 000a", NOT_PHONE),
    (M, "phone", "-13800000000", NOT_PHONE),
    (M, "phone", "1" * 21, NOT_PHONE),
    # region codes
    (R, "code", "6", REGION_REASONS["region_format"]),
    (R, "code", "62112", REGION_REASONS["region_format"]),
    (R, "code", "6211210010", REGION_REASONS["region_format"]),
    (R, "code", "6211210010011", REGION_REASONS["region_format"]),
    (R, "code", "62a", REGION_REASONS["region_format"]),
    (R, "code", "320000019044", REGION_REASONS["region_zero_segment"]),
    (R, "code", "00", REGION_REASONS["region_zero_segment"]),
    (R, "code", "000000000000", REGION_REASONS["region_zero_segment"]),
    # ID numbers: every rule
    (M, "id_number", "1101051949123100", ID_REASONS["id_length"]),
    (M, "id_number", "11010519491231002X1", ID_REASONS["id_length"]),
    (M, "id_number", "110105491231002", ID_REASONS["id_length"]),
    (M, "id_number", "11010519491231002Y", ID_REASONS["id_chars"]),
    (M, "id_number", "1101051949123100AX", ID_REASONS["id_chars"]),
    (M, "id_number", "110105-9491231-02X", ID_REASONS["id_chars"]),
    (M, "id_number", "44０５２４１８８００１０１００１4", ID_REASONS["id_chars"]),  # full-width
    (M, "id_number", with_check("99010519491231002"), ID_REASONS["id_address"]),
    (M, "id_number", with_check("00010519491231002"), ID_REASONS["id_address"]),
    (M, "id_number", with_check("11010519490230002"), ID_REASONS["id_birth_date"]),
    (M, "id_number", with_check("11010520190229002"), ID_REASONS["id_birth_date"]),
    (M, "id_number", with_check("11010519000229002"), ID_REASONS["id_birth_date"]),  # 100
    (M, "id_number", with_check("11010519490431002"), ID_REASONS["id_birth_date"]),
    (M, "id_number", with_check("11010519491331002"), ID_REASONS["id_birth_date"]),
    (M, "id_number", with_check("11010518491231002"), ID_REASONS["id_birth_date"]),
    (M, "id_number", with_check("11010520261130002"), ID_REASONS["id_birth_date"]),  # future
    (M, "id_number", "110105194912310021", ID_REASONS["id_check_char"]),
    (M, "id_number", "440524188001010015", ID_REASONS["id_check_char"]),
]


@pytest.mark.parametrize(("kind", "name", "cell", "reason"), BAD)
def test_it_refuses_a_bad_value_with_its_reason(
    kind: Kind, name: str, cell: str, reason: str
) -> None:
    _, reasons = parse_one(kind, name, cell)
    assert reasons == [reason]


@pytest.mark.parametrize(
    ("kind", "name", "cell"),
    [row[:3] for row in BAD if row[3] in (NOT_WHOLE, NOT_NUMBER, NOT_REAL, NOT_DATE, NOT_YES_NO,
                                           NOT_ALLOWED, SUB_FEN)
     or row[1] in ("code", "village_code")],
)
def test_a_value_that_cannot_be_typed_becomes_none(kind: Kind, name: str, cell: str) -> None:
    assert parse_one(kind, name, cell)[0] is None


@pytest.mark.parametrize(
    ("kind", "name", "cell", "params"),
    [
        (M, "months_worked_away", "13", {"limit": 12}),
        (M, "months_worked_away", "-1", {"limit": 0}),
        (S, "wage_income", "-1", {"limit": 0.0}),
        (M, "name", "张" * 65, {"limit": 64}),
        (M, "id_number", "110105194912310021", {"expected": "X"}),
        (M, "id_number", "440524188001010015", {"expected": "4"}),
        (M, "id_number", "1101051949123100", {}),
        (R, "code", "6", {}),
        (M, "birth_date", "2019-02-30", {}),
    ],
)
def test_a_refusal_carries_the_params_its_message_needs(
    kind: Kind, name: str, cell: str, params: dict[str, object]
) -> None:
    parsed = parse(kind, name, [cell])
    assert [p for _, _, p in parsed.bad] == [params]


def test_an_out_of_range_value_keeps_its_typed_value() -> None:
    assert parse_one(M, "months_worked_away", "13")[0] == 13


def test_a_refused_enum_names_the_allowed_values_in_both_languages() -> None:
    (_, _, params), = parse(M, "health", ["sick"]).bad
    allowed = params["allowed"]
    assert isinstance(allowed, dict)
    assert allowed["en"] == "healthy, chronic, serious, disabled"
    assert allowed["zh"].split("、") == ["健康", "长期慢性病", "患有大病", "残疾"]


@pytest.mark.parametrize(
    "cell",
    ["1" + "0" * 19, "-" + "9" * 20],
    ids=["too-large-for-int64", "too-small-for-int64"],
)
def test_it_refuses_an_integer_that_arrow_cannot_cast_instead_of_raising(cell: str) -> None:
    value, reasons = parse_one(M, "months_worked_away", cell)
    assert value is None or reasons


def test_a_leading_plus_sign_is_accepted() -> None:
    assert parse_one(M, "months_worked_away", "+3") == (3, [])


@pytest.mark.parametrize("cell", ["2019-11", "201911", "2019/11", "2019.11", "2019年11"])
def test_it_refuses_a_year_and_month_without_a_day(cell: str) -> None:
    value, reasons = parse_one(M, "birth_date", cell)
    assert (value, reasons) == (None, [NOT_DATE])


@pytest.mark.parametrize("cell", ["６２", "６２１１２１", "²²"])
def test_it_refuses_a_region_code_in_full_width_digits(cell: str) -> None:
    value, reasons = parse_one(R, "code", cell)
    assert (value, reasons) == (None, [REGION_REASONS["region_format"]])


# -- blanks, positions, whole columns ------------------------------------------------------


ALL_FIELDS = [(kind, f.name) for kind, specs in FIELDS.items() for f in specs]


@pytest.mark.parametrize(("kind", "name"), ALL_FIELDS)
def test_blank_cells_are_none_and_never_a_problem(kind: Kind, name: str) -> None:
    parsed = parse(kind, name, [None, "", "   ", "\t"])
    assert parsed.values.to_pylist() == [None, None, None, None]
    assert parsed.bad == []


@pytest.mark.parametrize(("kind", "name"), ALL_FIELDS)
def test_an_empty_column_parses_to_an_empty_column(kind: Kind, name: str) -> None:
    parsed = parse(kind, name, [])
    assert len(parsed.values) == 0
    assert parsed.bad == []


def test_every_field_type_has_a_parser() -> None:
    # ID numbers are checked against today, amounts by io.amounts: parse() dispatches them
    assert set(PARSERS) | {FieldType.ID_NUMBER, FieldType.FEN} == set(FieldType)
    assert {f.type for specs in FIELDS.values() for f in specs} == set(FieldType)


@pytest.mark.parametrize(
    ("kind", "name", "column", "bad"),
    [
        (M, "months_worked_away", ["1", "x", None, "13", "2", "x"],
         {1: NOT_WHOLE, 3: ABOVE, 5: NOT_WHOLE}),
        (M, "birth_date", ["2019-02-30", "2019-11-20", None, "x", "2019-02-30"],
         {0: NOT_REAL, 3: NOT_DATE, 4: NOT_REAL}),
        (R, "code", ["62", "6", "62", None, "6"],
         {1: REGION_REASONS["region_format"], 4: REGION_REASONS["region_format"]}),
        (H, "other_causes", ["illness", "x", "illness", "x;illness"],
         {1: NOT_ALLOWED, 3: NOT_ALLOWED}),
        (M, "id_number", ["11010519491231002X", None, "123", "110105194912310021",
                          "11010519491231002x", "99010519491231002X"],
         {2: ID_REASONS["id_length"], 3: ID_REASONS["id_check_char"],
          5: ID_REASONS["id_address"]}),
    ],
)
def test_a_column_reports_each_bad_cell_at_its_own_position(
    kind: Kind, name: str, column: list[str | None], bad: dict[int, str]
) -> None:
    parsed = parse(kind, name, column)
    assert {position: reason for position, reason, _ in parsed.bad} == bad
    assert len(parsed.bad) == len(bad)
    assert len(parsed.values) == len(column)


def test_a_column_of_id_numbers_is_typed_in_one_pass() -> None:
    column = [idnumber.compose("621121", date(1950 + i % 60, 1 + i % 12, 1 + i % 28), i % 1000)
              for i in range(2_000)]
    column[1_234] = column[1_234][:-1] + ("0" if column[1_234][-1] != "0" else "1")
    parsed = parse(M, "id_number", column)
    assert [position for position, _, _ in parsed.bad] == [1_234]


# -- ID numbers agree with the scalar rules --------------------------------------------------


ID_CODE_BY_REASON = {reason: code for code, reason in ID_REASONS.items()}

id_like = st.one_of(
    st.builds(
        lambda province, rest, born, seq: idnumber.compose(f"{province}{rest:04d}", born, seq),
        st.sampled_from(sorted(idnumber.PROVINCE_CODES) + ["00", "99", "72"]),
        st.integers(0, 9999), st.dates(date(1840, 1, 1), date(2030, 12, 31)),
        st.integers(0, 999),
    ),
    st.text(alphabet="0123456789Xx ", min_size=16, max_size=20),
    st.text(max_size=20),
)


@PROPERTY
@given(raw=st.lists(id_like, min_size=1, max_size=20))
def test_the_vectorised_id_check_agrees_with_idnumber_parse(raw: list[str]) -> None:
    ascii_only = [r if r.isascii() else "" for r in raw]  # non-ASCII: see the idnumber xfails
    parsed = parse(M, "id_number", ascii_only)
    found = {position: ID_CODE_BY_REASON[reason] for position, reason, _ in parsed.bad}
    for position, cell in enumerate(ascii_only):
        if not cell.strip():
            assert position not in found
            continue
        try:
            idnumber.parse(cell, today=TODAY)
        except idnumber.IdNumberError as exc:
            assert found.get(position) == exc.code
        else:
            assert position not in found
            assert parsed.values[position].as_py() == idnumber.normalize(cell)


# -- robustness and the catalog --------------------------------------------------------------


cell_text = st.one_of(
    st.none(),
    st.text(max_size=24),
    st.text(alphabet="0123456789+-.,xX年月日/ :;、", max_size=24),
    st.sampled_from(["是", "否", "2019-02-30", "62", "11010519491231002x", "因病;缺技术"]),
)


@PROPERTY
@given(column=st.lists(cell_text, max_size=12), field=st.sampled_from(
    [f for specs in FIELDS.values() for f in specs]))
def test_a_parser_never_raises_and_reports_only_non_blank_cells(
    column: list[str | None], field: Field
) -> None:
    parsed = cells.parse(pa.array(column, pa.string()), field, today=TODAY)
    assert len(parsed.values) == len(column)
    for position, reason, params in parsed.bad:
        cell = column[position]
        assert cell is not None and cell.strip()
        assert "{" not in reason or params  # a placeholder always has its value
        assert isinstance(params, dict)


REASONS = [NOT_WHOLE, NOT_NUMBER, BELOW, ABOVE, NOT_REAL, NOT_DATE, NOT_YES_NO, NOT_ALLOWED,
           NOT_PHONE, TOO_LONG, SUB_FEN, *ID_REASONS.values(), *REGION_REASONS.values()]


@pytest.mark.parametrize(
    "reason",
    REASONS,
)
def test_every_reason_a_parser_gives_has_a_chinese_translation(reason: str) -> None:
    assert has_translation(reason)


def test_the_reasons_listed_here_are_the_ones_the_parsers_give() -> None:
    produced = {reason for kind, name, cell, reason in BAD}
    assert produced == set(REASONS)


MONEY_FIELDS = ["wage_income", "production_income", "property_income", "transfer_income",
                "production_costs", "medical_expenses"]


@pytest.mark.parametrize("name", MONEY_FIELDS)
def test_every_amount_of_money_refuses_a_fraction_of_a_fen(name: str) -> None:
    parsed = parse(S, name, ["12.34", "12.345", "-1", "100000000.01"])
    assert parsed.values.to_pylist()[:2] == [12.34, None]
    assert [(p, r) for p, r, _ in parsed.bad] == [(2, BELOW), (3, ABOVE), (1, SUB_FEN)]
    assert spec(S, name).maximum == float(MONEY_MAX)


def test_only_the_amounts_of_money_are_money() -> None:
    flagged = [f.name for specs in FIELDS.values() for f in specs if f.money]
    assert flagged == MONEY_FIELDS
    assert all(spec(S, name).type is FieldType.DECIMAL for name in MONEY_FIELDS)


def test_a_field_without_limits_accepts_any_size() -> None:
    unbounded = replace(spec(M, "months_worked_away"), minimum=None, maximum=None)
    parsed = cells.parse(pa.array(["-5", "1,200"]), unbounded, today=TODAY)
    assert parsed.values.to_pylist() == [-5, 1200]
    assert parsed.bad == []


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (True, "1"), (False, "0"), (date(2020, 1, 2), "2020-01-02"), (3000.0, "3000"),
    (3000.5, "3000.5"), (0.1, "0.1"), (-2.0, "-2"), (12, "12"), ("王", "王")])
def test_a_stored_value_reads_back_as_the_text_the_importer_would_take(value: object,
                                                                       text: str) -> None:
    assert as_text(value) == text


def test_repeated_cells_are_typed_and_flagged_on_every_row() -> None:
    # dates and numbers are typed once per distinct spelling, then taken back to the rows
    dates = parse(M, "birth_date", ["2019-02-30", "x", "2019-02-30", None, "2019年11月20日",
                                    "x", " 2019-11-20 ", "2019-11-20 00:00:00"])
    assert dates.values.to_pylist() == [None, None, None, None, date(2019, 11, 20), None,
                                        date(2019, 11, 20), date(2019, 11, 20)]
    assert [(p, r) for p, r, _ in dates.bad] == [(0, NOT_REAL), (2, NOT_REAL), (1, NOT_DATE),
                                                 (5, NOT_DATE)]
    months = parse(M, "months_worked_away", ["13", "3", None, "13", "x", "3.0", "x"])
    assert months.values.to_pylist() == [13, 3, None, 13, None, 3, None]
    assert [(p, r) for p, r, _ in months.bad] == [(4, NOT_WHOLE), (6, NOT_WHOLE), (0, ABOVE),
                                                  (3, ABOVE)]
