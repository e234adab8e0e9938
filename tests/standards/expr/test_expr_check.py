"""The type checker: accepted indicators, and every type error with its position and caret."""

from __future__ import annotations

import pytest

from tuopin.domain import enums
from tuopin.standards.expr import ast as a
from tuopin.standards.expr.check import check, check_boolean
from tuopin.standards.expr.errors import ExpressionError
from tuopin.standards.expr.parser import parse
from tuopin.standards.expr.schema import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    REGISTRY_SCHEMA,
    STRING,
    Type,
    enum_of,
)

INDICATORS = [
    'survey.housing_grade in ["C", "D"]',
    'any(member, member.age >= 6 and member.age <= 15 and member.schooling_status == '
    '"dropped_out")',
    "not survey.food_secure",
    "income_per_capita < income_line",
    "count(member, member.medical_insurance == false or member.medical_insurance is null) > 0",
    'sum(member, member.months_worked_away, member.labour in ["skilled", "ordinary"]) < 6',
    "min(member, member.age) >= 60 and max(member, member.age) < 80",
    "survey.water_quantity_lpd < (if survey.water_scarce_area then 20 else 35)",
    '"C" == survey.housing_grade',
    'survey.housing_grade == (if survey.water_piped then "A" else "B")',
    'coalesce(survey.housing_grade, "D") != "A"',
    "all(member, member.deceased_date is null or member.birth_date < member.deceased_date)",
    "year - household.year_identified >= 3 and household.year_exited is null",
    "round(survey.wage_income / household_size, 2) > abs(-1.5)",
    "household.village_code in ['620102001001', '620102001002']",
    "(survey.water_trip_minutes > 20) == survey.water_piped",
    'coalesce(if survey.water_piped then "A" else "B", survey.housing_grade) in ["A"]',
    "any(member, member.dibao and survey.food_secure and member.age < year - 2000)",
]


@pytest.mark.parametrize("text", INDICATORS)
def test_it_accepts_the_indicators_of_the_standards(text: str) -> None:
    check_boolean(parse(text), REGISTRY_SCHEMA)


@pytest.mark.parametrize(("text", "context", "found"), [
    ("1 + 2", "household", INTEGER),
    ("1 + 2.0", "household", NUMBER),
    ("4 / 2", "household", NUMBER),
    ("-year", "household", INTEGER),
    ("abs(-2)", "household", INTEGER),
    ("round(3, 0)", "household", NUMBER),
    ("count(member, true)", "household", INTEGER),
    ("sum(member, member.age)", "household", NUMBER),
    ("min(member, member.disability_grade, member.dibao)", "household", NUMBER),
    ("coalesce(survey.year, 1.5)", "household", NUMBER),
    ("if true then 1 else 2", "household", INTEGER),
    ("household.address", "household", STRING),
    ("member.birth_date", "member", DATE),
    ("member.sex", "member", enum_of(enums.Sex)),
    ('if survey.food_secure then "A" else survey.housing_grade', "household",
     enum_of(enums.HousingGrade)),
    ("member.age >= 60 and survey.food_secure", "member", BOOLEAN),
])
def test_it_infers_the_type(text: str, context: str, found: Type) -> None:
    assert check(parse(text), REGISTRY_SCHEMA, context=context) == found  # type: ignore[arg-type]


# (text, headline fragment, the text under the caret)
TYPE_ERRORS = [
    ("any(member, member.schooling == 'x')",
     "unknown field member.schooling (did you mean member.schooling_status?)",
     "member.schooling"),
    ("survey.fod_secure", "unknown field survey.fod_secure (did you mean survey.food_secure?)",
     "survey.fod_secure"),
    ("hh.size > 3", "unknown scope hh.size; the scopes are household, member, survey", "hh.size"),
    ("income_percapita < 3", "unknown name income_percapita (did you mean income_per_capita?)",
     "income_percapita"),
    ("member > 1", "`member` alone is not a value", "member"),
    ("member.age >= 60", "member.age is a member field: read it inside a member aggregate",
     "member.age"),
    ("survey.food_secure and member.dibao", "member.dibao is a member field", "member.dibao"),
    ("any(member, count(member, member.dibao) > 1)",
     "aggregates do not nest: count(..) is inside any(..)", "count(member, member.dibao)"),
    ("sum(member, max(member, member.age))", "aggregates do not nest", "max(member, member.age)"),
    ("any(member, member.schooling_status == 'dropout')",
     '"dropout" is not a value of member.schooling_status (did you mean dropped_out?); the '
     "values are dropped_out, graduated, home_taught, in_school, not_school_age", "'dropout'"),
    ("any(member, 'female ' != member.sex)", '"female " is not a value of member.sex',
     "'female '"),
    ('survey.housing_grade in ["C", "E"]', '"E" is not a value of survey.housing_grade', '"E"'),
    ('survey.housing_grade not in ["c"]', "(did you mean C?)", '"c"'),
    ('coalesce(survey.housing_grade, "X") == "A"', '"X" is not a value of survey.housing_grade',
     '"X"'),
    ('(if survey.food_secure then "Z" else survey.housing_grade) == "A"',
     '"Z" is not a value of survey.housing_grade', '"Z"'),
    ("survey.wage_income == null", "`== null` is never true: write `survey.wage_income is null`",
     "survey.wage_income == null"),
    ("null != survey.wage_income", "write `survey.wage_income is not null`",
     "null != survey.wage_income"),
    ("survey.wage_income < null", "`<` cannot order null", "survey.wage_income < null"),
    ("survey.year in [2020, null]", "`null` cannot be in a list: test for it with "
     "`survey.year is null`", "null"),
    ("coalesce(survey.food_secure, null)", "`null` is not a value", "null"),
    ("null is null", "`null` is not a value", "null"),
    ("income_line", "an indicator must be true or false, but this expression is a number",
     "income_line"),
    ("survey.housing_grade", "but this expression is an enum (A, B, C, D)",
     "survey.housing_grade"),
    ("count(member, member.dibao)", "but this expression is an integer",
     "count(member, member.dibao)"),
    ("not survey.year", "`not` needs true or false, but survey.year is an integer",
     "survey.year"),
    ("survey.food_secure and 1", "`and` needs true or false, but 1 is an integer", "1"),
    ("survey.food_secure + 1 > 2", "`+` needs a number, but survey.food_secure is a boolean",
     "survey.food_secure"),
    ("-household.address == 1", "`-` needs a number, but household.address is a string",
     "household.address"),
    ("survey.housing_grade < 'C'", "`<` orders numbers or dates, not an enum (A, B, C, D) and a "
     "string; for enum values use `in [...]`", "survey.housing_grade < 'C'"),
    ("household.number >= '12'", "`>=` orders numbers or dates, not a string and a string",
     "household.number >= '12'"),
    ("survey.food_secure > false", "not a boolean and a boolean", "survey.food_secure > false"),
    ("survey.food_secure == 1", "cannot compare a boolean with an integer",
     "survey.food_secure == 1"),
    ("household.status == household.category", "cannot compare an enum (exited, monitored, "
     "ordinary, poor) with an enum (dibao, general, wubao)",
     "household.status == household.category"),
    ("household.address == survey.housing_grade", "cannot compare a string with an enum",
     "household.address == survey.housing_grade"),
    ("any(member, member.birth_date in [1])", "dates have no literals",
     "member.birth_date in [1]"),
    ("survey.year in [2020, 'x']", "'x' is a string, but survey.year is an integer".replace(
        "'x'", '"x"'), "'x'"),
    ("survey.food_secure in [true, 0]", "0 is an integer, but survey.food_secure is a boolean",
     "0"),
    ("round(income_line, 1.5) > 1", "round(x, n) takes n as a whole number from 0 to 10", "1.5"),
    ("round(income_line, -1) > 1", "round(x, n) takes n", "-1"),
    ("round(income_line, year) > 1", "round(x, n) takes n", "year"),
    ("abs(survey.food_secure)", "abs() needs a number", "survey.food_secure"),
    ("coalesce(survey.food_secure, 3)", "the arguments of coalesce() must have one type, but 3 "
     "is an integer and survey.food_secure is a boolean", "3"),
    ("if survey.year then true else false", "the condition of `if` needs true or false",
     "survey.year"),
    ("(if survey.food_secure then 1 else 'x') == 1", "the branches of `if` must have one type",
     "'x'"),
    ("any(member, member.age)", "the condition of any() needs true or false, but member.age is "
     "an integer", "member.age"),
    ("sum(member, member.dibao) > 1", "the value of sum() needs a number", "member.dibao"),
    ("max(member, member.age, member.disability_grade) > 1",
     "the condition of max() needs true or false", "member.disability_grade"),
    ('survey.housing_grade == (if survey.food_secure then "A" else "F")',
     '"F" is not a value of survey.housing_grade', '"F"'),
]


@pytest.mark.parametrize(("text", "headline", "token"), TYPE_ERRORS)
def test_type_errors_name_the_node_and_put_a_caret_under_it(text: str, headline: str,
                                                           token: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        check_boolean(parse(text, source="cn-national.toml", line=9, column=14), REGISTRY_SCHEMA)
    err = caught.value
    assert headline in err.message
    offset = text.index(token)
    assert (err.source, err.line, err.column) == ("cn-national.toml", 9, 14 + offset)
    assert err.end_column == err.column + len(token)
    lines = str(err).split("\n")
    assert lines[1] == "    " + text
    assert lines[2] == "    " + " " * offset + "^" * len(token)
    assert err.expected == []


def test_a_type_error_on_a_later_line_quotes_that_line() -> None:
    text = "survey.food_secure\n  and any(member,\n      member.schooling_status == 'dropout')"
    with pytest.raises(ExpressionError) as caught:
        check_boolean(parse(text, source="std.toml", line=20, column=12), REGISTRY_SCHEMA)
    assert (caught.value.line, caught.value.column, caught.value.end_column) == (22, 34, 43)
    assert str(caught.value).split("\n")[1:] == [
        "          member.schooling_status == 'dropout')",
        "                                     ^^^^^^^^^",
    ]


def test_a_node_spanning_lines_is_underlined_to_the_end_of_its_first_line() -> None:
    text = "survey.year +\n  1"
    with pytest.raises(ExpressionError) as caught:
        check_boolean(parse(text), REGISTRY_SCHEMA)
    assert str(caught.value).split("\n")[1:] == ["    survey.year +", "    ^^^^^^^^^^^^^"]


def test_member_fields_are_allowed_in_member_context() -> None:
    assert check(parse("member.age >= 60"), REGISTRY_SCHEMA, context="member") == BOOLEAN
    with pytest.raises(ExpressionError, match="cannot be used in a member expression"):
        check(parse("any(member, member.dibao)"), REGISTRY_SCHEMA, context="member")
    with pytest.raises(ValueError, match="context"):
        check(parse("true"), REGISTRY_SCHEMA, context="village")  # type: ignore[arg-type]


def test_hand_built_trees_without_a_source_still_get_located_errors() -> None:
    tree = a.Compare("==", a.Field("survey", "nope", pos=a.Pos(3, 5, 16)), a.Literal(1))
    with pytest.raises(ExpressionError) as caught:
        check(tree, REGISTRY_SCHEMA)
    assert str(caught.value) == ("<expr>:3:5: unknown field survey.nope "
                                 "(did you mean survey.year?)")
    assert (caught.value.line, caught.value.column, caught.value.end_column) == (3, 5, 16)


@pytest.mark.parametrize("tree", [
    a.Call("sqrt", (a.Literal(1),)),  # type: ignore[arg-type]
    a.Call("abs", ()),
    a.Call("round", (a.Literal(1),)),
    a.Aggregate("any", a.Literal(1), a.Literal(True)),
    a.Aggregate("sum", None, a.Literal(True)),
    a.Aggregate("median", a.Literal(1), None),  # type: ignore[arg-type]
])
def test_hand_built_calls_the_parser_would_refuse_are_refused(tree: a.Expr) -> None:
    with pytest.raises(ExpressionError, match="malformed call"):
        check(tree, REGISTRY_SCHEMA)


def test_a_list_on_its_own_is_refused() -> None:
    with pytest.raises(ExpressionError, match="a list can only follow `in`"):
        check(a.ListLiteral((a.Literal(1),)), REGISTRY_SCHEMA)
