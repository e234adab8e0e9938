"""The survey as an XLSForm: it converts and validates for every shipped standard, asks what
the standard reads and the importer requires, and its constraints refuse on the phone what
the importer would refuse - checked by evaluating the generated XPath itself."""

from __future__ import annotations

import math
import random
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from tuopin.domain import idnumber
from tuopin.io.cells import PHONE_RE
from tuopin.io.schema import FIELDS, Field, FieldType, Kind
from tuopin.io.xlsform import LANGUAGES, Area, XLSForm, form_id, parse_langs, survey_form
from tuopin.io.xlsform_fields import asked, fields_read
from tuopin.io.xlsform_rules import constraint, id_number_expression
from tuopin.standards.loader import load, loads, shipped

TODAY = date(2024, 6, 1)


# -- a tiny evaluator of the XPath the generator writes --------------------------------------

TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|'([^']*)'|(<=|>=|!=|[-+*=<>(),.])|([a-z][a-z-]*))")
LEVELS = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"),
          ("*", "mod", "div"))


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    try:
        return float(value.strip())
    except ValueError:
        return math.nan


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("=", "!=") and not any(isinstance(v, bool | float) for v in (left, right)):
        return (_string(left) == _string(right)) == (op == "=")
    a, b = _number(left), _number(right)
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
            ">=": a >= b}[op]


def _substr(text: Any, start: Any, end: Any = None) -> str:
    s = _string(text)
    begin, stop = _number(start), len(s) if end is None else _number(end)
    if math.isnan(begin) or math.isnan(stop):
        return ""
    return s[int(begin):int(stop)]


FUNCTIONS = {
    "regex": lambda s, p: re.search(_string(p), _string(s)) is not None,
    "substr": _substr,
    "if": lambda c, a, b: a if c else b,
    "round": lambda x, places: round(_number(x), int(_number(places))),
    "string-length": lambda s: float(len(_string(s))),
    "contains": lambda s, part: _string(part) in _string(s),
}


class XPath:
    """Enough XPath 1.0 for the generated constraints; ``.`` is the answer as typed."""

    def __init__(self, text: str) -> None:
        self.tokens = [next(v for v in m.groups() if v is not None) if m.group(2) is None
                       else ("'", m.group(2)) for m in TOKEN.finditer(text)]
        assert "".join(TOKEN.sub("", text).split()) == "", f"cannot read {text!r}"

    def __call__(self, answer: str) -> Any:
        self.at, self.answer = 0, answer
        value = self._binary(0)
        assert self.at == len(self.tokens)
        return value

    def _peek(self) -> Any:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self) -> Any:
        self.at += 1
        return self.tokens[self.at - 1]

    def _binary(self, level: int) -> Any:
        if level == len(LEVELS):
            return self._primary()
        value = self._binary(level + 1)
        while self._peek() in LEVELS[level]:
            op, right = self._take(), self._binary(level + 1)
            if op in ("or", "and"):
                value = (bool(value) or bool(right)) if op == "or" else (bool(value) and
                                                                          bool(right))
            elif level <= 3:
                value = _compare(op, value, right)
            else:
                a, b = _number(value), _number(right)
                value = {"+": a + b, "-": a - b, "*": a * b, "div": a / b if b else math.nan,
                         "mod": math.fmod(a, b) if b else math.nan}[op]
        return value

    def _primary(self) -> Any:
        token = self._take()
        if isinstance(token, tuple):
            return token[1]
        if token == ".":
            return self.answer
        if token == "(":
            value = self._binary(0)
            assert self._take() == ")"
            return value
        if token in FUNCTIONS:
            assert self._take() == "("
            args = [self._binary(0)]
            while self._peek() == ",":
                self._take()
                args.append(self._binary(0))
            assert self._take() == ")"
            return FUNCTIONS[token](*args)
        return float(token)


def accepts(expression: str, answer: str) -> bool:
    return bool(XPath(expression)(answer))


# -- the constraints -------------------------------------------------------------------------

ID_CHECK = id_number_expression()


def test_the_id_constraint_accepts_a_valid_id_ending_in_lowercase_x() -> None:
    valid = "11010519491231002X"
    assert idnumber.check_char(valid[:17]) == "X"
    assert accepts(ID_CHECK, valid) and accepts(ID_CHECK, valid.lower())


def test_the_id_constraint_refuses_a_bad_check_digit() -> None:
    valid = idnumber.compose("621121", date(1980, 1, 1), 11)
    wrong = next(c for c in "0123456789X" if c != valid[-1])
    assert accepts(ID_CHECK, valid) and not accepts(ID_CHECK, valid[:-1] + wrong)


@pytest.mark.parametrize("answer", ["", "62112119800101001", "6211211980010100110",
                                    "A2112119800101001X", "621121198013010011",
                                    "99112119800101001X", "62112119800101001 "])
def test_the_id_constraint_refuses_what_is_not_an_id(answer: str) -> None:
    assert not accepts(ID_CHECK, answer)


@settings(max_examples=400, deadline=None)
@given(province=st.sampled_from(sorted(idnumber.PROVINCE_CODES)),
       county=st.integers(0, 9999), born=st.dates(date(1900, 1, 1), date(2023, 12, 31)),
       sequence=st.integers(0, 999), last=st.sampled_from("0123456789Xx"))
def test_the_id_constraint_agrees_with_the_importers_check(province: str, county: int,
                                                            born: date, sequence: int,
                                                            last: str) -> None:
    answer = f"{province}{county:04d}{born:%Y%m%d}{sequence:03d}{last}"
    try:
        idnumber.parse(answer, today=TODAY)
        valid = True
    except idnumber.IdNumberError:
        valid = False
    assert accepts(ID_CHECK, answer) == valid


def test_the_id_constraint_agrees_on_many_random_ids() -> None:
    draw = random.Random(14)
    for _ in range(3000):
        born = date.fromordinal(date(1950, 1, 1).toordinal() + draw.randrange(25000))
        first17 = f"62{draw.randrange(10000):04d}{born:%Y%m%d}{draw.randrange(1000):03d}"
        last = draw.choice("0123456789Xx")
        assert accepts(ID_CHECK, first17 + last) == (idnumber.check_char(first17)
                                                     == last.upper())


def _spec(kind: Kind, name: str) -> Field:
    return next(f for f in FIELDS[kind] if f.name == name)


@pytest.mark.parametrize(("answer", "ok"), [("0", True), ("12000", True), ("12000.5", True),
                                            ("0.29", True), ("1234.56", True),
                                            ("12.345", False), ("-5", False),
                                            ("100000001", False)])
def test_money_is_at_least_zero_with_at_most_two_decimals(answer: str, ok: bool) -> None:
    rule = constraint(_spec(Kind.SURVEYS, "wage_income"))
    assert rule is not None and accepts(rule.expression, answer) is ok


@pytest.mark.parametrize(("answer", "ok"), [("1", True), ("30", True), ("0", False),
                                            ("31", False)])
def test_household_size_is_a_plain_range(answer: str, ok: bool) -> None:
    rule = constraint(_spec(Kind.SURVEYS, "household_size"))
    assert rule is not None and rule.expression == ". >= 1 and . <= 30"
    assert accepts(rule.expression, answer) is ok


@pytest.mark.parametrize("answer", ["13800000000", "+86 138-0000-0000", "0931 1234567",
                                    "1234", "phone", "13800000000x"])
def test_the_phone_constraint_is_the_importers_rule(answer: str) -> None:
    rule = constraint(_spec(Kind.MEMBERS, "phone"))
    assert rule is not None
    assert accepts(rule.expression, answer) == bool(re.match(PHONE_RE, answer))


def test_text_is_limited_to_its_length_and_every_constraint_speaks_both_languages() -> None:
    rule = constraint(_spec(Kind.MEMBERS, "name"))
    assert rule is not None and accepts(rule.expression, "张" * 64)
    assert not accepts(rule.expression, "张" * 65)
    form = survey_form(load("cn-national"), year=2020)
    for row in form.survey:
        if "constraint" in row:
            assert row["constraint_message::中文 (zh)"] and row["constraint_message::English (en)"]


# -- what a form asks ------------------------------------------------------------------------

def names(form: XLSForm) -> list[str]:
    return [row["name"] for row in form.survey if not row["type"].startswith(("begin", "end"))]


def test_the_national_form_asks_what_the_standard_reads_and_what_the_importer_requires() -> None:
    form = survey_form(load("cn-national"), year=2020)
    required = [f.name for kind in (Kind.SURVEYS, Kind.MEMBERS) for f in FIELDS[kind]
                if f.required]
    asked_names = names(form)
    assert set(required) <= set(asked_names)
    # income per capita: the money its expression adds up, over the household size
    assert {"wage_income", "production_income", "property_income", "transfer_income",
            "production_costs", "household_size"} <= set(asked_names)
    # member.age is computed from the birth date, which the ID number holds
    assert {"birth_date", "schooling_status", "medical_insurance"} <= set(asked_names)
    # only the living count: the date of death is asked with the members
    assert "deceased_date" in asked_names
    assert not {"medical_expenses", "pension_insurance", "phone", "labour",
                "ethnicity"} & set(asked_names)


def test_the_monitoring_form_asks_medical_expenses_and_the_members_health() -> None:
    asked_names = {f.name for f in asked(load("cn-monitoring")).survey
                   } | {f.name for f in asked(load("cn-monitoring")).members}
    assert {"medical_expenses", "health", "disability_grade", "labour"} <= asked_names
    assert ("household", "status") in fields_read(load("cn-monitoring"))  # the registry's


INDICATOR = """
[[indicators]]
id = "pension"
dimension = "security"
weight = 0.0
title = { zh = "未参加养老保险", en = "No pension insurance" }
explain = { zh = "有成员未参加养老保险", en = "a member has no pension insurance" }
deprived = "any(member, member.pension_insurance == false) or survey.medical_expenses > 9000"
"""


def _with_indicator() -> Any:
    text = load("cn-national").text
    head, tail = text.split("[poverty]")
    return loads(head + INDICATOR + "\n[poverty]" + tail, source="variant.toml")


def test_a_standard_that_adds_an_indicator_adds_its_questions(tmp_path: Path) -> None:
    national = survey_form(load("cn-national"), year=2020)
    variant = survey_form(_with_indicator(), year=2020)
    assert set(names(variant)) - set(names(national)) == {"pension_insurance",
                                                          "medical_expenses"}
    assert variant.version != national.version
    path = variant.write(tmp_path / "variant.xlsx")
    warnings: list[str] = []
    convert(xlsform=str(path), warnings=warnings)
    assert warnings == []


# -- the sheets ------------------------------------------------------------------------------

def test_labels_use_plain_language_codes(tmp_path: Path) -> None:
    form = survey_form(load("cn-national"), year=2020)
    book = load_workbook(form.write(tmp_path / "form.xlsx"))
    header = [cell.value for cell in book["survey"][1]]
    assert {"label::中文 (zh)", "label::English (en)", "constraint_message::中文 (zh)",
            "constraint_message::English (en)"} <= set(header)
    assert not [h for h in header if h and "zh-CN" in h]
    choices = [cell.value for cell in book["choices"][1]]
    assert choices == ["list_name", "name", "label::中文 (zh)", "label::English (en)"]
    settings_sheet = dict(zip([c.value for c in book["settings"][1]],
                              [c.value for c in book["settings"][2]], strict=True))
    assert settings_sheet["form_id"] == "tuopin_cn_national_2020"
    assert settings_sheet["default_language"] == "中文 (zh)"
    assert settings_sheet["version"] == form.version


def test_one_language_only_gives_its_columns() -> None:
    form = survey_form(load("cn-national"), year=2020, langs=parse_langs("en"))
    assert not [c for c in form.columns("survey") if "中文" in c]
    assert form.settings["default_language"] == LANGUAGES["en"]
    with pytest.raises(ValueError, match="languages"):
        parse_langs("zh,fr")


def test_labels_and_choices_come_from_the_catalog() -> None:
    form = survey_form(load("cn-national"), year=2020)
    rows = {row["name"]: row for row in form.survey}
    assert rows["household_size"]["label::中文 (zh)"] == "家庭人口数"
    assert rows["household_size"]["label::English (en)"] == "Household size"
    grades = [c for c in form.choices if c["list_name"] == "housing_grade"]
    assert [c["name"] for c in grades] == ["A", "B", "C", "D"]
    assert grades[2]["label::English (en)"] == "grade C (partly dangerous)"
    assert {c["name"] for c in form.choices if c["list_name"] == "yes_no"} == {"yes", "no"}


def test_the_household_is_picked_from_the_households_file_or_typed() -> None:
    picked = {r["name"]: r for r in survey_form(load("cn-national"), year=2020).survey}
    assert picked["household_number"]["type"] == "select_one_from_file households.csv"
    assert picked["household_number"]["parameters"] == "value=number label=label"
    assert picked["year"] == {"type": "calculate", "name": "year", "calculation": "2020"}
    typed = {r["name"]: r for r in survey_form(load("cn-national"), year=2020,
                                                typed_household=True).survey}
    assert typed["household_number"]["type"] == "text"
    assert typed["household_number"]["constraint"] == "string-length(.) <= 32"


def test_members_are_a_repeat_without_the_household_number() -> None:
    rows = survey_form(load("cn-national"), year=2020).survey
    begin = next(i for i, r in enumerate(rows) if r["type"] == "begin_repeat")
    end = next(i for i, r in enumerate(rows) if r["type"] == "end_repeat")
    assert rows[begin]["name"] == "members"
    inside = [r["name"] for r in rows[begin + 1:end]]
    assert inside[:2] == ["id_number", "name"] and "household_number" not in inside


def test_the_version_changes_with_the_content_only() -> None:
    national = load("cn-national")
    first = survey_form(national, year=2020)
    assert survey_form(national, year=2020).version == first.version
    assert len(first.version) == 10
    others = {survey_form(national, year=2021).version,
              survey_form(national, year=2020, langs=("zh",)).version,
              survey_form(national, year=2020, typed_household=True).version,
              survey_form(national, year=2020, area=Area("621121001001", "东关村")).version}
    assert first.version not in others and len(others) == 4


def test_an_area_names_the_form() -> None:
    form = survey_form(load("cn-national"), year=2024, area=Area("621121001001", "东关村"))
    assert form.form_id == "tuopin_cn_national_2024_621121001001"
    assert form.settings["form_title"].endswith("东关村")
    assert form_id(load("cn-mpi"), 2024) == "tuopin_cn_mpi_2024"
    with pytest.raises(Exception, match="621"):
        survey_form(load("cn-national"), year=2024, area=Area("621", "?"))


@pytest.mark.parametrize("name", shipped())
def test_every_shipped_standards_form_converts_and_passes_odk_validate(
        name: str, tmp_path: Path) -> None:
    form = survey_form(load(name), year=2020)
    path = form.write(tmp_path / f"{form.form_id}.xlsx")
    warnings: list[str] = []
    result = convert(xlsform=str(path), warnings=warnings, validate=True)
    assert warnings == []
    assert f'id="{form.form_id}" version="{form.version}"' in result.xform
    assert 'lang="中文 (zh)" default="true()"' in result.xform
    assert "<instanceID/>" in result.xform
    assert "jr://file-csv/households.csv" in result.xform


def test_every_field_type_of_the_survey_and_members_has_a_form_type() -> None:
    from tuopin.io.xlsform_rules import xlsform_type

    for kind in (Kind.SURVEYS, Kind.MEMBERS):
        for spec in FIELDS[kind]:
            assert xlsform_type(spec)
    with pytest.raises(ValueError, match="region_code"):
        xlsform_type(Field("code", "Region code", FieldType.REGION_CODE))
