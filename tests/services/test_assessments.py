"""Assessment runs are recorded for good; results explain themselves; reports add up."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import CASES, OPERATOR, VILLAGE, assessment_registry, operator, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied, ValidationFailed
from tuopin.io.schema import Kind
from tuopin.services import audit
from tuopin.services.assessment import diff as assessment_diff
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.services.reports import incidence as reports
from tuopin.standards.loader import load
from tuopin.storage.models import AssessmentResultRecord, AssessmentRunRecord

TODAY = date(2026, 11, 29)
NUMBERS = {name: f"{VILLAGE}{i:04d}" for i, name in enumerate(CASES, start=1)}


@pytest.fixture
def cases(engine: Engine, tmp_path: Path) -> Engine:
    files = assessment_registry(tmp_path, years=(2019, 2020))
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        assert import_file(engine, principal=operator("t"), kind=kind,
                           path=files[kind.value], today=TODAY).ok
    return engine


def run(engine: Engine, name: str = "cn-national", year: int = 2019) -> int:
    computed = assessments.compute(engine, principal=OPERATOR, standard=load(name), year=year,
                                   engine_name="db")
    return assessments.record(engine, computed, principal=operator("officer"))


def test_a_run_records_the_standard_its_hash_and_one_result_per_household(
    cases: Engine,
) -> None:
    run_id = run(cases)
    with Session(cases) as db:
        record = db.get(AssessmentRunRecord, run_id)
        assert record is not None
        standard = load("cn-national")
        assert (record.standard_name, record.standard_hash) == ("cn-national",
                                                                 standard.content_hash)
        assert record.standard_text == standard.text and record.year == 2019
        assert record.households == len(CASES)
        assert json.loads(record.counts)["indicators"]["housing"] == 2
        assert {"open", "query", "store"} <= set(json.loads(record.timings))
        results = db.scalar(select(func.count()).select_from(AssessmentResultRecord))
        assert results == len(CASES)
        (event,) = audit.history(db, principal=OPERATOR, entity="assessment_run",
                                 entity_id=str(run_id))
        assert (event["action"], event["actor"]) == ("assess", "officer")
        assert audit.verify(db, principal=OPERATOR).ok


def test_a_household_result_explains_each_failed_indicator(cases: Engine) -> None:
    run_id = run(cases)
    with Session(cases) as db:
        zh = assessments.household_result(db, principal=OPERATOR, run_id=run_id,
                                          number=NUMBERS["poor_and_dropout"], lang="zh")
        en = assessments.household_result(db, principal=OPERATOR, run_id=run_id,
                                          number=NUMBERS["poor_and_dropout"], lang="en")
    assert zh["poor"] is True
    by_id = {i["indicator"]: i for i in zh["indicators"]}
    assert set(by_id) == {"income", "education"}
    assert "小强（13岁）" in by_id["education"]["explanation"]
    assert "500 元" in by_id["income"]["explanation"]  # 1000 yuan / 2 members
    assert any("小强 (aged 13)" in i["explanation"] for i in en["indicators"])


def test_a_result_outside_the_scope_is_not_found(cases: Engine) -> None:
    run_id = run(cases)
    with Session(cases) as db, pytest.raises(NotFound):
        assessments.household_result(db, principal=operator("t", "621121002001"),
                                     run_id=run_id, number=NUMBERS["fine"])


def test_a_helper_sees_the_result_of_their_own_households_only(cases: Engine) -> None:
    run_id = run(cases)
    helper = user(Role.HELPER, VILLAGE, username="wang",
                  households=frozenset({NUMBERS["dropout"]}))
    with Session(cases) as db:
        mine = assessments.household_result(db, principal=helper, run_id=run_id,
                                            number=NUMBERS["dropout"])
        assert (mine["household"], mine["poor"]) == (NUMBERS["dropout"], True)
        with pytest.raises(NotFound):
            assessments.household_result(db, principal=helper, run_id=run_id,
                                         number=NUMBERS["fine"])
        assert assessments.latest_household_result(db, principal=helper,
                                                   number=NUMBERS["fine"]) is None


def test_the_household_page_shows_the_latest_year_even_after_a_past_year_is_run_again(
    cases: Engine,
) -> None:
    run(cases, year=2020)
    run(cases, year=2019)  # a re-run of the past year, made later
    with Session(cases) as db:
        shown = assessments.latest_household_result(db, principal=OPERATOR,
                                                    number=NUMBERS["fine"])
    assert shown is not None and shown["year"] == 2020


@pytest.mark.parametrize("role", [Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE, Role.HELPER,
                                  Role.VERIFIER, Role.AUDITOR])
def test_it_refuses_an_assessment_run_to_roles_below_the_county(cases: Engine,
                                                                role: Role) -> None:
    someone = user(role, VILLAGE, username="x")
    with pytest.raises(PermissionDenied):
        assessments.compute(cases, principal=someone, standard=load("cn-national"),
                            year=2019, engine_name="db")
    computed = assessments.compute(cases, principal=OPERATOR, standard=load("cn-national"),
                                   year=2019, engine_name="db")
    with pytest.raises(PermissionDenied):
        assessments.record(cases, computed, principal=someone)
    with Session(cases) as db:
        assert db.scalar(select(func.count()).select_from(AssessmentRunRecord)) == 0


def test_a_county_officers_run_covers_their_county_and_names_them(cases: Engine) -> None:
    officer = user(Role.COUNTY_OFFICER, "621121", username="zhou")
    computed = assessments.compute(cases, principal=officer, standard=load("cn-national"),
                                   year=2019, engine_name="db")
    run_id = assessments.record(cases, computed, principal=officer)
    with Session(cases) as db:
        info = db.get(AssessmentRunRecord, run_id)
        assert info is not None
        assert (info.created_by, info.scope, info.households) == (
            "web:zhou", "621121000000", len(CASES))


def test_incidence_rolls_up_every_level_to_the_same_total(cases: Engine) -> None:
    run_id = run(cases)
    expected_poor = sum(1 for _, _, wanted in CASES.values() if wanted)
    with Session(cases) as db:
        for level in ("province", "prefecture", "county", "township", "village"):
            rows = reports.incidence(db, principal=OPERATOR, run_id=run_id, level=level)
            assert len(rows) == 1
            assert rows[0]["poor_households"] == expected_poor
            assert rows[0]["incidence"] == pytest.approx(
                rows[0]["poor_people"] / rows[0]["people"])
        village = reports.incidence(db, principal=OPERATOR, run_id=run_id, level="village")[0]
    assert village["name"] == "东关村"


def test_the_mpi_report_matches_a_hand_count(cases: Engine) -> None:
    run_id = run(cases, "cn-mpi")
    with Session(cases) as db:
        result = reports.mpi(db, principal=OPERATOR, run_id=run_id, by=None)
        by_level = reports.mpi(db, principal=OPERATOR, run_id=run_id, by="village")
        by_sex = reports.mpi(db, principal=OPERATOR, run_id=run_id, by="sex")
    # poor at k=1/3: poor_and_dropout (income 1/4 + education 1/4 = 1/2), 2 members
    people = result.population
    assert result.H == pytest.approx(2 / people)
    assert result.A == pytest.approx(0.5)
    assert result.M0 == pytest.approx(result.H * result.A)
    assert sum(result.contributions.values()) == pytest.approx(1)
    assert by_level.M0 == pytest.approx(result.M0)
    assert sum(g.population_share for g in by_sex.groups.values()) == pytest.approx(1)


def test_diff_lists_the_households_that_change_and_why(cases: Engine) -> None:
    first = run(cases, year=2019)
    with Session(cases) as db:
        before = assessment_diff.stored_results(db, principal=OPERATOR, run_id=first)
    stricter = load("cn-national").text.replace('survey.housing_grade in ["C", "D"]',
                                                'survey.housing_grade in ["B", "C", "D"]')
    assert stricter != load("cn-national").text
    looser = load("cn-national").text.replace(
        'deprived = "survey.water_outage_days > 36"', 'deprived = "survey.water_outage_days > 60"')
    from tuopin.standards.loader import loads

    after = assessment_diff.computed_results(assessments.compute(
        cases, principal=OPERATOR, standard=loads(looser), year=2019, engine_name="db"))
    changes = assessment_diff.diff(before, after)
    assert changes == [{"household_number": NUMBERS["water_cut"], "village_code": VILLAGE,
                        "before": "poor", "after": "not poor", "gained": "",
                        "lost": "water_guarantee"}]
    assert assessment_diff.summary(changes) == {"poor -> not poor": 1}


def test_a_what_if_file_is_checked_before_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(textwrap.dedent(load("cn-national").text).replace(
        "survey.water_quality_ok == false", "survey.water_quality == false"), encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r"mine\.toml:\d+:\d+: unknown field"):
        assessments.standard_of(str(path))
