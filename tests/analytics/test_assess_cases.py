"""Hand-computed cases for every shipped indicator, on every engine, with the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from factories import CASES, OPERATOR, VILLAGE, assessment_registry
from tuopin.io.schema import Kind
from tuopin.services.assessment.runs import Computed, compute
from tuopin.services.imports.files import import_file
from tuopin.standards.explain import explain
from tuopin.standards.loader import load

TODAY = __import__("datetime").date(2026, 11, 29)
NUMBERS = {name: f"{VILLAGE}{i:04d}" for i, name in enumerate(CASES, start=1)}


@pytest.fixture
def cases(engine: Engine, tmp_path: Path) -> Engine:
    files = assessment_registry(tmp_path, years=(2019, 2020))
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        result = import_file(engine, principal=OPERATOR, kind=kind, path=files[kind.value],
                             today=TODAY)
        assert result.ok, result.problems
    return engine


def deprived(computed: Computed) -> dict[str, set[str]]:
    ids = [i.id for i in computed.standard.indicators]
    return {row["number"]: {i for i in ids if row[f"d_{i}"]}
            for row in computed.results.to_pylist()}


ENGINES = ["db", "duckdb"]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_every_national_indicator_flags_exactly_its_cases(cases: Engine, engine_name: str) -> None:
    computed = compute(cases, principal=OPERATOR, standard=load("cn-national"), year=2019,
                       engine_name=engine_name)
    found = deprived(computed)
    expected = {NUMBERS[name]: wanted for name, (_, _, wanted) in CASES.items()}
    assert found == expected
    poor = {row["number"] for row in computed.results.to_pylist() if row["poor"]}
    assert poor == {n for n, wanted in expected.items() if wanted}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_mpi_standard_scores_by_dimension_weights(cases: Engine, engine_name: str) -> None:
    computed = compute(cases, principal=OPERATOR, standard=load("cn-mpi"), year=2019,
                       engine_name=engine_name)
    rows = {r["number"]: r for r in computed.results.to_pylist()}
    assert rows[NUMBERS["poor_and_dropout"]]["score"] == pytest.approx(0.5)
    assert rows[NUMBERS["poor_and_dropout"]]["poor"] is True
    assert rows[NUMBERS["low_income"]]["score"] == pytest.approx(0.25)
    assert rows[NUMBERS["low_income"]]["poor"] is False  # 1/4 < k = 1/3
    assert rows[NUMBERS["three_living"]]["score"] == pytest.approx(3 / 16)
    assert rows[NUMBERS["fine"]]["score"] == 0


def test_income_per_capita_follows_the_income_definition(cases: Engine) -> None:
    computed = compute(cases, principal=OPERATOR, standard=load("cn-national"), year=2019,
                       engine_name="db")
    rows = {r["number"]: r for r in computed.results.to_pylist()}
    # (20000 + 1000 + 0 + 500 - 500) / 1 member
    assert rows[NUMBERS["fine"]]["income_per_capita"] == pytest.approx(21000)
    assert rows[NUMBERS["low_income"]]["income_per_capita"] == pytest.approx(2000)
    assert rows[NUMBERS["dead_dropout"]]["members"] == 1  # the dead child is not counted


def test_explanations_name_the_member_and_the_value(cases: Engine) -> None:
    from tuopin.services.assessment.runs import result_rows

    computed = compute(cases, principal=OPERATOR, standard=load("cn-national"), year=2019,
                       engine_name="db")
    table = result_rows(1, computed).to_pylist()
    facts = {r["household_number"]: r["facts"] for r in table}
    import json

    dropout = json.loads(facts[NUMBERS["dropout"]])["education"]
    education = load("cn-national").indicator("education")
    assert explain(education, dropout, "zh") == "成员小明（12岁）处于义务教育年龄（6–15岁）却未在校"
    assert explain(education, dropout, "en") == (
        "member 小明 (aged 12) of compulsory-school age (6-15) is not in school")
    housing = load("cn-national").indicator("housing")
    house = json.loads(facts[NUMBERS["dangerous_house"]])["housing"]
    assert explain(housing, house, "zh") == "住房安全等级为 D 级（危房）"
    income = load("cn-national").indicator("income")
    low = json.loads(facts[NUMBERS["low_income"]])["income"]
    assert explain(income, low, "en") == (
        "net income per capita of 2,000 yuan is below the 3,026 yuan line")


def test_the_monitoring_categories(cases: Engine) -> None:
    computed = compute(cases, principal=OPERATOR, standard=load("cn-monitoring"), year=2020,
                       engine_name="db")
    rows = {r["number"]: r for r in computed.results.to_pylist()}
    low = rows[NUMBERS["low_income"]]
    assert low["d_low_income"] and low["c_edge"] and not low["c_unstable_exited"]
    assert rows[NUMBERS["fine"]]["c_edge"] is False
    assert rows[NUMBERS["home_taught"]]["d_disability"] is True  # grade 1


def test_a_year_outside_the_standard_is_refused(cases: Engine) -> None:
    from tuopin.domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="valid for 2014-2020"):
        compute(cases, principal=OPERATOR, standard=load("cn-national"), year=2021,
                engine_name="db")
