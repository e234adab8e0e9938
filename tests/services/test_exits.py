"""Household exits through the service: every step audited, every refusal changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import OPERATOR, operator, person_id, user
from tuopin.domain.enums import ExitState, Role
from tuopin.domain.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RuleBroken,
    StaleVersion,
    ValidationFailed,
)
from tuopin.services import audit
from tuopin.services.assessment import runs as assessments
from tuopin.services.exits import household_exits as exits
from tuopin.services.registry import lookup
from tuopin.standards.loader import load
from tuopin.storage.db import session_factory
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    AuditEventRecord,
    ExitCaseRecord,
    ExitEventRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    SurveyRecord,
)

VILLAGE = "621121001001"
REGIONS = [("620000000000", "甘肃省", 1, None), ("621100000000", "定西市", 2, "620000000000"),
           ("621121000000", "通渭县", 3, "621100000000"),
           ("621121001000", "平襄镇", 4, "621121000000"), (VILLAGE, "东关村", 5, "621121001000")]
SETTINGS: dict[str, Any] = {"principal": operator("cadre")}
NO_SAME_YEAR = {"allow_identification_year": False}


def seed(engine: Engine, homes: dict[str, dict[str, Any]]) -> None:
    """Regions, and one household with a healthy working head per entry (number: fields)."""
    with session_factory(engine)() as db, db.begin():
        db.add_all(RegionRecord(code=c, name=n, level=lv, parent_code=p)
                   for c, n, lv, p in REGIONS)
        db.flush()
        for i, (number, fields) in enumerate(homes.items()):
            income = fields.pop("income", 20000)
            home = HouseholdRecord(number=number, village_code=VILLAGE, **{
                "status": "poor", "year_identified": 2016, **fields})
            db.add(home)
            db.flush()
            db.add(MemberRecord(household_id=home.id, id_number=person_id(
                date(1970, 1, 1 + i), 11 + 2 * i), name=f"户主{i}", sex="male",
                birth_date=date(1970, 1, 1 + i), relation="head", health="healthy",
                labour="ordinary", medical_insurance=True))
            for year in (2019, 2020):
                db.add(SurveyRecord(
                    household_id=home.id, year=year, household_size=1,
                    wage_income=income,
                    food_secure=True, clothing_secure=True, housing_grade="A",
                    water_quantity_lpd=60, water_piped=True, water_trip_minutes=0,
                    water_outage_days=0, water_quality_ok=True, water_scarce_area=False))


def real_run(engine: Engine, year: int = 2019, standard: str = "cn-national") -> int:
    computed = assessments.compute(engine, principal=OPERATOR, standard=load(standard),
                                   year=year, engine_name="db")
    return assessments.record(engine, computed, principal=operator("officer"))


def fake_run(engine: Engine, results: dict[str, tuple[bool, str]], *, year: int = 2019,
             standard: str = "cn-national") -> int:
    """A run whose results are given (number: (poor, deprived)); one member per household."""
    text = load(standard)
    with session_factory(engine)() as db, db.begin():
        run = AssessmentRunRecord(
            standard_name=standard, standard_version=text.version,
            standard_hash=text.content_hash, standard_text=text.text, year=year, engine="db",
            snapshot_at="x", created_at="x", created_by="t", households=len(results),
            members=len(results), poor_households=0, poor_members=0, counts="{}",
            timings="{}")
        db.add(run)
        db.flush()
        for number, (poor, deprived) in results.items():
            home = db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == number)
                              ).one()
            db.add(AssessmentResultRecord(
                run_id=run.id, household_id=home.id, household_number=number,
                village_code=home.village_code, members=1, income_per_capita=1000.0,
                score=1.0 if poor else 0.0, poor=poor, deprived=deprived, categories=""))
        return run.id


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


def state(engine: Engine) -> tuple[Any, ...]:
    """Everything a refused step must leave as it was."""
    with Session(engine) as s:
        cases = s.execute(select(ExitCaseRecord.household_id, ExitCaseRecord.state,
                                 ExitCaseRecord.notice_end, ExitCaseRecord.version)
                          .order_by(ExitCaseRecord.id)).all()
        homes = s.execute(select(HouseholdRecord.number, HouseholdRecord.status,
                                 HouseholdRecord.year_exited, HouseholdRecord.version)
                          .order_by(HouseholdRecord.number)).all()
        counts = [s.scalar(select(func.count()).select_from(t))
                  for t in (ExitEventRecord, AuditEventRecord)]
    return tuple(cases), tuple(homes), tuple(counts)


def test_a_household_exits_through_the_whole_workflow_on_a_real_assessment(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}, "H2": {"income": 1000}})
    run = real_run(engine)
    with db.begin():
        row = exits.propose(db, number="H1", run_id=run, minutes="民主评议记录 2020-03-01",
                            as_of=date(2020, 3, 2), **SETTINGS, **NO_SAME_YEAR)
        assert (row["state"], row["run_id"]) == ("pre_exit", run)
    with db.begin():
        row = exits.start_notice(db, number="H1", start=date(2020, 3, 3),
                                 as_of=date(2020, 3, 3), notice_days=7, **SETTINGS)
        assert row["notice_end"] == date(2020, 3, 10)
    with db.begin():
        row = exits.announce(db, number="H1", as_of=date(2020, 3, 10), **SETTINGS,
                             **NO_SAME_YEAR)
    assert (row["state"], row["household_status"], row["exited_on"]) == (
        "exited", "exited", date(2020, 3, 10))
    shown = exits.show(db, principal=OPERATOR, number="H1")
    assert [(e["from"], e["to"], e["on"]) for e in shown["events"]] == [
        ("not_exited", "pre_exit", date(2020, 3, 2)), ("pre_exit", "in_notice", date(2020, 3, 3)),
        ("in_notice", "exited", date(2020, 3, 10))]
    assert shown["events"][0]["evidence"]["minutes"] == "民主评议记录 2020-03-01"
    assert shown["events"][2]["by"] == "cadre"
    home = db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == "H1")).one()
    assert (home.status, home.year_exited) == ("exited", 2020)
    assert [e["action"] for e in audit.history(db, principal=OPERATOR, entity="exit_case",
                                               entity_id="H1")] == [
        "exit:pre_exit", "exit:in_notice", "exit:exited"]
    assert len(audit.history(db, principal=OPERATOR, entity="household", entity_id="H1")) == 1
    assert audit.verify(db, principal=OPERATOR).ok
    with pytest.raises(ValidationFailed, match=r"still poor.*income \(Income below"):
        exits.propose(db, number="H2", run_id=run, minutes="m", as_of=date(2020, 3, 2),
                      **SETTINGS, **NO_SAME_YEAR)


def test_every_refused_step_says_why_and_changes_nothing(engine: Engine, db: Session) -> None:
    seed(engine, {"H1": {}, "POOR": {}, "NEW": {"year_identified": 2020}, "LATE": {}})
    run = fake_run(engine, {"H1": (False, ""), "POOR": (True, "housing"), "NEW": (False, "")})
    other = fake_run(engine, {"H1": (False, "")}, standard="cn-monitoring")
    propose = {"run_id": run, "minutes": "m", "as_of": date(2020, 3, 2), **SETTINGS,
               **NO_SAME_YEAR}
    notice = {"number": "H1", "start": date(2020, 3, 3), "as_of": date(2020, 3, 3),
              "notice_days": 7, **SETTINGS}
    stages: list[tuple[Any, list[tuple[str, Any]]]] = [
        (None, [
            ("still poor in the assessment: it fails housing",
             lambda: exits.propose(db, number="POOR", **propose)),
            ("no exit in the year of identification",
             lambda: exits.propose(db, number="NEW", **propose)),
            ("an exit is judged on a run of cn-national",
             lambda: exits.propose(db, number="H1", **{**propose, "run_id": other})),
            ("has no result in run", lambda: exits.propose(db, number="LATE", **propose)),
            ("cannot start the notice: the case is 'not_exited'",
             lambda: exits.start_notice(db, **notice))]),
        (lambda: exits.propose(db, number="H1", **propose), [
            ("cannot announce the exit: the case is 'pre_exit'",
             lambda: exits.announce(db, number="H1", as_of=date(2020, 6, 1), **SETTINGS,
                                    **NO_SAME_YEAR))]),
        (lambda: exits.start_notice(db, **notice), [
            ("the exit can be announced from 2020-03-10",
             lambda: exits.announce(db, number="H1", as_of=date(2020, 3, 9), **SETTINGS,
                                    **NO_SAME_YEAR)),
            ("an objection needs its reason",
             lambda: exits.record_objection(db, number="H1", reason=" ",
                                            as_of=date(2020, 3, 5), **SETTINGS)),
            ("cannot propose an exit: the case is 'in_notice'",
             lambda: exits.propose(db, number="H1", **propose))]),
    ]
    for setup, refusals in stages:
        if setup is not None:
            with db.begin():
                setup()
        for message, step in refusals:
            before = state(engine)
            with db.begin(), pytest.raises(ValidationFailed, match=message):
                step()
            # the caller's transaction committed: anything written would show here
            assert state(engine) == before, message


def test_it_refuses_a_notice_starting_after_the_as_of_date_and_changes_nothing(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}})
    run = fake_run(engine, {"H1": (False, "")})
    with db.begin():
        exits.propose(db, number="H1", run_id=run, minutes="m", as_of=date(2020, 3, 2),
                      **SETTINGS, **NO_SAME_YEAR)
    before = state(engine)
    with db.begin(), pytest.raises(
            RuleBroken, match=r"cannot start on 2020-03-04, after today \(2020-03-03\)"):
        exits.start_notice(db, number="H1", start=date(2020, 3, 4), as_of=date(2020, 3, 3),
                           notice_days=7, **SETTINGS)
    assert state(engine) == before
    with db.begin():  # on the day itself it starts
        row = exits.start_notice(db, number="H1", start=date(2020, 3, 3),
                                 as_of=date(2020, 3, 3), notice_days=7, **SETTINGS)
    assert (row["state"], row["notice_end"]) == ("in_notice", date(2020, 3, 10))


@pytest.mark.parametrize("role", [Role.HELPER, Role.VERIFIER, Role.AUDITOR])
def test_it_refuses_an_exit_step_to_roles_that_do_not_run_the_procedure(
    engine: Engine, db: Session, role: Role,
) -> None:
    seed(engine, {"H1": {}})
    run = fake_run(engine, {"H1": (False, "")})
    someone = user(role, VILLAGE, username="x", households=frozenset({"H1"}))
    before = state(engine)
    with db.begin(), pytest.raises(PermissionDenied):
        exits.propose(db, principal=someone, number="H1", run_id=run, minutes="m",
                      as_of=date(2020, 3, 2), **NO_SAME_YEAR)
    assert state(engine) == before


def test_a_village_cadre_runs_the_exit_but_may_not_mark_returns(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}})
    run = fake_run(engine, {"H1": (False, "")})
    cadre = user(Role.VILLAGE_CADRE, VILLAGE, username="cadre")
    with db.begin():
        row = exits.propose(db, principal=cadre, number="H1", run_id=run, minutes="m",
                            as_of=date(2020, 3, 2), **NO_SAME_YEAR)
    assert row["state"] == "pre_exit"
    assert exits.show(db, principal=OPERATOR, number="H1")["events"][0]["by"] == "web:cadre"
    db.rollback()
    before = state(engine)
    with db.begin(), pytest.raises(PermissionDenied):
        exits.mark_returns(db, principal=cadre, run_id=run, as_of=date(2021, 1, 5))
    assert state(engine) == before


def test_a_household_outside_the_region_is_not_found_for_an_exit_step(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}})
    run = fake_run(engine, {"H1": (False, "")})
    before = state(engine)
    with db.begin(), pytest.raises(NotFound):
        exits.propose(db, principal=user(Role.VILLAGE_CADRE, "621121002001", username="x"),
                      number="H1", run_id=run, minutes="m", as_of=date(2020, 3, 2),
                      **NO_SAME_YEAR)
    assert state(engine) == before


def test_an_objection_sends_the_case_back_and_it_can_be_proposed_again(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}})
    run = fake_run(engine, {"H1": (False, "")})
    with db.begin():
        exits.propose(db, number="H1", run_id=run, minutes="m", as_of=date(2020, 3, 2),
                      **SETTINGS, **NO_SAME_YEAR)
        exits.start_notice(db, number="H1", start=date(2020, 3, 3), as_of=date(2020, 3, 3),
                           notice_days=7, **SETTINGS)
        row = exits.record_objection(db, number="H1", reason="群众反映家中有大额医疗支出",
                                     as_of=date(2020, 3, 6), **SETTINGS)
    assert (row["state"], row["notice_start"], row["household_status"]) == (
        "not_exited", None, "poor")
    event = exits.show(db, principal=OPERATOR, number="H1")["events"][-1]
    assert (event["to"], event["note"]) == ("not_exited", "群众反映家中有大额医疗支出")
    db.rollback()
    with db.begin():
        again = exits.propose(db, number="H1", run_id=run, minutes="m2", as_of=date(2020, 9, 1),
                              **SETTINGS, **NO_SAME_YEAR)
    assert again["state"] == "pre_exit" and again["opened_on"] == date(2020, 9, 1)
    assert [r["number"] for r in exits.list_cases(db, principal=OPERATOR)] == ["H1"]


def test_a_later_run_marks_exited_households_returned_to_poverty(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}, "OLD": {"status": "exited", "year_exited": 2018},
                  "FINE": {"status": "exited", "year_exited": 2018}, "STILL": {}})
    run_2019 = fake_run(engine, {"H1": (False, "")})
    with db.begin():
        exits.propose(db, number="H1", run_id=run_2019, minutes="m", as_of=date(2020, 3, 2),
                      **SETTINGS, **NO_SAME_YEAR)
        exits.start_notice(db, number="H1", start=date(2020, 3, 3), as_of=date(2020, 3, 3),
                           notice_days=7, **SETTINGS)
        exits.announce(db, number="H1", as_of=date(2020, 3, 20), **SETTINGS, **NO_SAME_YEAR)
    earlier = fake_run(engine, {"H1": (True, "income")}, year=2019)
    later = fake_run(engine, {"H1": (True, "income"), "OLD": (True, "housing"),
                              "FINE": (False, ""), "STILL": (True, "income")}, year=2020)
    with db.begin():
        assert exits.mark_returns(db, run_id=earlier, as_of=date(2021, 1, 5), **SETTINGS) == []
        rows = exits.mark_returns(db, run_id=later, as_of=date(2021, 1, 5), **SETTINGS)
    assert [(r["number"], r["state"], r["household_status"]) for r in rows] == [
        ("H1", "returned", "poor"), ("OLD", "returned", "poor")]
    (event,) = exits.show(db, principal=OPERATOR, number="OLD")["events"]
    assert (event["from"], event["to"], event["run_id"]) == ("exited", "returned", later)
    assert event["evidence"]["failed"][0].startswith("housing (")
    assert {r["number"] for r in exits.list_cases(db, principal=OPERATOR,
                                                 state=ExitState.RETURNED)} == {"H1", "OLD"}
    db.rollback()
    with db.begin():
        assert exits.mark_returns(db, run_id=later, as_of=date(2021, 1, 6), **SETTINGS) == []


def test_a_stale_version_of_a_case_is_refused(engine: Engine, db: Session) -> None:
    seed(engine, {"H1": {}})
    run = fake_run(engine, {"H1": (False, "")})
    with db.begin():
        row = exits.propose(db, number="H1", run_id=run, minutes="m", as_of=date(2020, 3, 2),
                            **SETTINGS, **NO_SAME_YEAR)
    seen = row["version"]
    with db.begin():
        exits.start_notice(db, number="H1", start=date(2020, 3, 3), as_of=date(2020, 3, 3),
                           notice_days=7, **SETTINGS, expected_version=seen)
    with db.begin(), pytest.raises(
            StaleVersion, match=r"saved by someone else first \(version 2, you edited version 1\)"
    ) as caught:
        exits.record_objection(db, number="H1", reason="r", as_of=date(2020, 3, 4), **SETTINGS,
                               expected_version=seen)
    assert caught.value.current["state"] == "in_notice"


def test_a_concurrent_save_of_the_same_case_is_refused_not_lost(engine: Engine) -> None:
    seed(engine, {"H1": {}})
    run = fake_run(engine, {"H1": (False, "")})
    factory = session_factory(engine)
    with factory() as first, first.begin():
        exits.propose(first, number="H1", run_id=run, minutes="m", as_of=date(2020, 3, 2),
                      **SETTINGS, **NO_SAME_YEAR)
    with factory() as slow, factory() as quick:
        with slow.begin():  # the slow clerk reads the case, then walks away
            seen = slow.scalars(select(ExitCaseRecord)).one()
            assert (seen.state, seen.version) == ("pre_exit", 1)
        with quick.begin():
            exits.start_notice(quick, number="H1", start=date(2020, 3, 3),
                               as_of=date(2020, 3, 3), notice_days=7, **SETTINGS)
        with slow.begin(), pytest.raises(Conflict, match="saved by someone else first"):
            exits.start_notice(slow, number="H1", start=date(2020, 3, 9),
                               as_of=date(2020, 3, 9), notice_days=7, **SETTINGS)
    with Session(engine) as check:
        case = check.scalars(select(ExitCaseRecord)).one()
        assert case.notice_start == date(2020, 3, 3)
        evidence = check.scalars(select(ExitEventRecord.evidence)
                                 .order_by(ExitEventRecord.id.desc())).first()
        assert json.loads(evidence or "{}")["notice_start"] == "2020-03-03"


def test_the_run_an_exit_is_proposed_on_can_be_the_newest_of_one_standard(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}, "H2": {}})
    national = fake_run(engine, {"H1": (False, ""), "H2": (False, "")})
    newer = fake_run(engine, {"H1": (False, "")}, year=2020)
    monitoring = fake_run(engine, {"H1": (False, "")}, standard="cn-monitoring")

    def latest(number: str, standard: str | None = None, region: str | None = None
               ) -> int | None:
        return lookup.latest_run(db, principal=operator("t", region), number=number,
                                 standard=standard)

    assert latest("H1") == monitoring
    assert latest("H1", "cn-national") == newer
    assert latest("H2", "cn-national") == national
    assert latest("H2", "cn-monitoring") is None
    assert latest("H1", "cn-national", "110000000000") is None  # outside the scope


def test_a_refusal_names_the_failed_indicators_by_their_titles_in_either_language(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"POOR": {}})
    run = fake_run(engine, {"POOR": (True, "housing")})
    with pytest.raises(RuleBroken) as caught:
        exits.propose(db, number="POOR", run_id=run, minutes="m", as_of=date(2020, 3, 2),
                      **SETTINGS, **NO_SAME_YEAR)
    title = load("cn-national").indicator("housing").title
    assert caught.value.problems == [f"housing ({title.en})"]
    assert str(caught.value).endswith(f"it fails housing ({title.en})")
    assert title.zh in caught.value.translated("zh")
    assert title.en not in caught.value.translated("zh")
