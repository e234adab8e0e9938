"""Standard files: the shipped ones load; a malformed one is refused with a precise message."""

from __future__ import annotations

import re

import pytest

from tuopin.domain.errors import ValidationFailed
from tuopin.standards.loader import load, loads, shipped
from tuopin.standards.model import Rule

NATIONAL = load("cn-national").text


def test_three_standards_ship() -> None:
    assert shipped() == ["cn-monitoring", "cn-mpi", "cn-national"]


@pytest.mark.parametrize("name", ["cn-monitoring", "cn-mpi", "cn-national"])
def test_every_shipped_standard_loads_with_titles_and_sourced_lines(name: str) -> None:
    standard = load(name)
    assert standard.indicators and standard.sources and standard.income_lines
    assert all(line.source for line in standard.income_lines)
    assert all(i.title.zh and i.title.en and i.explain.zh and i.explain.en
               for i in standard.indicators)
    assert abs(sum(i.weight for i in standard.indicators) - 1) < 1e-9
    assert len(standard.content_hash) == 64


def test_the_national_standard_is_the_union_of_ten_indicators() -> None:
    standard = load("cn-national")
    assert standard.poverty.rule is Rule.ANY
    assert [i.id for i in standard.indicators] == [
        "income", "food", "clothing", "education", "medical", "housing", "water_quantity",
        "water_access", "water_guarantee", "water_quality"]


def test_the_mpi_standard_has_k_one_third_and_the_bands() -> None:
    poverty = load("cn-mpi").poverty
    assert (poverty.rule, round(poverty.k, 6), poverty.severe) == (Rule.SCORE, 0.333333, 0.5)
    assert poverty.vulnerable is not None and poverty.vulnerable[0] == 0.2


def test_the_monitoring_standard_names_the_three_categories() -> None:
    categories = load("cn-monitoring").categories
    assert [c.id for c in categories] == ["unstable_exited", "edge", "sudden_hardship"]
    assert [c.title.zh for c in categories] == ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]


@pytest.mark.parametrize(("year", "amount"), [(2014, 2736), (2017, 3026), (2019, 3026),
                                              (2020, 4000)])
def test_a_year_without_its_own_line_uses_the_newest_earlier_one(year: int, amount: int) -> None:
    assert load("cn-national").income_line(year).amount == amount


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


BROKEN = {
    "bad syntax": ('deprived = "survey.food_secure == false"',
                   'deprived = "survey.food_secure == == false"', r"cn-national\.toml:(\d+):\d+"),
    "unknown field": ('deprived = "survey.clothing_secure == false"',
                      'deprived = "survey.clothes_secure == false"',
                      r"unknown field survey\.clothes_secure"),
    "wrong type": ('deprived = "survey.water_outage_days > 36"',
                   'deprived = "survey.water_outage_days > \'many\'"', r"cn-national\.toml:\d+"),
    "not boolean": ('deprived = "survey.water_outage_days > 36"',
                    'deprived = "survey.water_outage_days + 36"', r"cn-national\.toml:\d+"),
    "enum value": ("""deprived = 'survey.housing_grade in ["C", "D"]'""",
                   """deprived = 'survey.housing_grade in ["C", "E"]'""", r"E"),
    "weights": ("weight = 0.1\ntitle = { zh = \"收入",
                "weight = 0.2\ntitle = { zh = \"收入", r"weights sum to 1\.1"),
    "k too big": ('rule = "any"', 'rule = "score"\nk = 1.5', r"k must be in \(0, 1\]"),
    "k zero": ('rule = "any"', 'rule = "score"\nk = 0', r"k must be in \(0, 1\]"),
    "rule": ('rule = "any"', 'rule = "most"', r"rule must be one of"),
    "duplicate id": ('id = "clothing"', 'id = "food"', r"used twice"),
    "line outside years": ("year = 2020\namount = 4000", "year = 2031\namount = 4000",
                           r"outside the standard's years"),
    "missing title": ('title = { zh = "不愁吃未达标", en = "Food not secure" }',
                      'title = { zh = "不愁吃未达标" }', r"needs a non-empty `en` text"),
    "not toml": ("[standard]", "[standard", r"not valid TOML"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_malformed_standard_is_refused_with_a_precise_message(case: str) -> None:
    old, new, pattern = BROKEN[case]
    assert old in NATIONAL
    with pytest.raises(ValidationFailed) as caught:
        loads(NATIONAL.replace(old, new, 1), source="cn-national.toml")
    assert re.search(pattern, str(caught.value)), str(caught.value)


def test_a_syntax_error_points_at_the_line_in_the_file() -> None:
    broken = NATIONAL.replace('deprived = "survey.food_secure == false"',
                              'deprived = "survey.food_secure == == false"', 1)
    with pytest.raises(ValidationFailed) as caught:
        loads(broken, source="cn-national.toml")
    message = str(caught.value)
    expected = line_of(broken, "survey.food_secure == == false")
    assert f"cn-national.toml:{expected}:" in message
    assert "^" in message  # a caret under the problem
