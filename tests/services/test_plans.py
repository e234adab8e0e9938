"""一户一策: plans drafted from a run's deprivations, approved, never overwritten once approved."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from factories import CASES, OPERATOR, VILLAGE, assessment_registry, operator, user, write_csv
from tuopin.domain.enums import MeasureKind, Role
from tuopin.domain.errors import NotFound, PermissionDenied, StaleVersion
from tuopin.domain.ledger import RuleBroken
from tuopin.domain.measures import entry, for_indicator
from tuopin.io.schema import Kind
from tuopin.services import audit
from tuopin.services.access.principal import Principal
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.services.plans import household_plans as plans
from tuopin.services.plans import ledger
from tuopin.services.plans import revisions as plan_revisions
from tuopin.services.plans.revisions import add_measure
from tuopin.standards.loader import load
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import AuditEventRecord, HouseholdRecord, PlanRecord

PG_SERVER = os.environ.get("TUOPIN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SKIP_PG = os.environ.get("TUOPIN_TEST_SKIP_PG") == "1"
TODAY = date(2026, 11, 29)
RUN = 1  # the world's assessment run: the first run of a fresh store
AS_OF = date(2020, 1, 1)
NUMBERS = {name: f"{VILLAGE}{i:04d}" for i, name in enumerate(CASES, start=1)}
K = MeasureKind
# the kind the catalogue answers each case's failed indicators with (cn-national)
EXPECTED_KINDS = {
    "low_income": {K.INDUSTRY}, "no_food": {K.SAFETY_NET}, "no_clothes": {K.SAFETY_NET},
    "dropout": {K.EDUCATION}, "uninsured": {K.HEALTH}, "insurance_unknown": {K.HEALTH},
    "dangerous_house": {K.HOUSING}, "little_water": {K.WATER}, "water_cut": {K.WATER},
    "bad_water": {K.WATER}, "poor_and_dropout": {K.INDUSTRY, K.EDUCATION},
    "three_living": {K.SAFETY_NET, K.HOUSING},
}
# 王 helps everyone but bad_water; 李 took three_living over in 2019; 赵 starts only in 2021
HELPERS = [
    {"number": "H001", "name": "王帮扶", "unit": "县农业农村局",
     "households": ";".join(n for c, n in NUMBERS.items() if c != "bad_water")},
    {"number": "H002", "name": "李帮扶", "unit": "乡卫生院",
     "households": NUMBERS["three_living"], "start_date": "2019-06-01"},
    {"number": "H003", "name": "赵帮扶", "unit": "县教育局",
     "households": NUMBERS["low_income"], "start_date": "2021-01-01"},
]


def build(engine: Engine, tmp_path: Path) -> int:
    """The CASES registry with helpers and causes, assessed for 2019; the run's id."""
    files = assessment_registry(tmp_path)
    files["helpers"] = write_csv(tmp_path / "helpers.csv", HELPERS)
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS, Kind.HELPERS):
        assert import_file(engine, principal=operator("t"), kind=kind,
                           path=files[kind.value], today=TODAY).ok
    with engine.begin() as conn:  # causes of poverty recorded at registration
        conn.execute(update(HouseholdRecord).where(
            HouseholdRecord.number == NUMBERS["low_income"]).values(
            main_cause="capital", other_causes="illness;capital"))
        conn.execute(update(HouseholdRecord).where(
            HouseholdRecord.number == NUMBERS["dangerous_house"]).values(main_cause="skills"))
    computed = assessments.compute(engine, principal=OPERATOR, standard=load("cn-national"),
                                   year=2019, engine_name="db")
    return assessments.record(engine, computed, principal=operator("officer"))


# The world is built once per backend and module, then copied for every test (a file copy on
# SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL): this module's db_url overrides
# conftest's, so the `engine` fixture hands each test a fresh store that already holds it.
@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    folder = tmp_path_factory.mktemp("plans_world")
    shutil.copy(sqlite_template, folder / "world.db")
    engine = make_engine(f"sqlite:///{folder / 'world.db'}")
    assert build(engine, folder) == RUN
    engine.dispose()
    return folder / "world.db"


@pytest.fixture(scope="module")
def pg_world(pg_admin: Engine, pg_template: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"tuopin_plans_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    engine = make_engine(f"{PG_SERVER}/{name}")
    assert build(engine, tmp_path_factory.mktemp("plans_world_pg")) == RUN
    engine.dispose()
    yield name
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_world"), tmp_path / "tuopin.db")
        yield f"sqlite:///{tmp_path / 'tuopin.db'}"
        return
    if SKIP_PG:
        pytest.skip("TUOPIN_TEST_SKIP_PG=1")
    template, admin = request.getfixturevalue("pg_world"), request.getfixturevalue("pg_admin")
    name = f"tuopin_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def draft(engine: Engine, run_id: int, **options: Any) -> plans.DraftReport:
    with session_factory(engine)() as db, db.begin():
        return plans.draft(db, principal=options.pop("principal", operator("drafter")),
                           run_id=run_id, as_of=options.pop("as_of", AS_OF), **options)


def measures_of(engine: Engine, case: str) -> dict[str, Any]:
    with Session(engine) as db:
        return plans.show(db, principal=OPERATOR, number=NUMBERS[case])


def approve(engine: Engine, case: str, version: int | None = 1,
            principal: Principal | None = None) -> dict[str, Any]:
    with session_factory(engine)() as db, db.begin():
        plan_id = plans.current_plan(db, principal=OPERATOR, number=NUMBERS[case])
        return plans.approve(db, principal=principal or operator("officer"), plan_id=plan_id,
                             as_of=AS_OF, expected_version=version)


def events(engine: Engine) -> int:
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(AuditEventRecord)) or 0


def test_every_poor_household_gets_a_plan_answering_each_failed_indicator(
    engine: Engine
) -> None:
    report = draft(engine, RUN)
    poor = {c for c, (_, _, failed) in CASES.items() if failed}
    assert {r["household"] for r in report.drafted} == {NUMBERS[c] for c in poor}
    assert report.skipped == []
    for case, kinds in EXPECTED_KINDS.items():
        found = {K.of(m["kind"]) for m in measures_of(engine, case)["measures"]
                 if m["indicator"]}
        assert found == kinds, case
    (far,) = measures_of(engine, "water_far")["measures"]
    assert far["kind"] == for_indicator("water_access").kind  # type: ignore[union-attr]
    three = {m["kind"]: m["indicator"] for m in measures_of(engine, "three_living")["measures"]}
    assert three == {"safety_net": "food;clothing", "housing": "housing"}


def test_recorded_causes_add_the_measures_no_chosen_kind_answers(engine: Engine) -> None:
    draft(engine, RUN)
    low = {m["kind"]: (m["indicator"], m["cause"])
           for m in measures_of(engine, "low_income")["measures"]}
    # capital is answered by the industry measure already; illness needs a health measure
    assert low == {"industry": ("income", "capital"), "health": (None, "illness")}
    house = {m["kind"]: m["cause"] for m in measures_of(engine, "dangerous_house")["measures"]}
    assert house == {"housing": None, "employment": "skills"}


def test_helper_and_unit_come_from_the_latest_assignment_in_force(engine: Engine) -> None:
    draft(engine, RUN)
    helper_of = {case: {(m["helper"], m["unit"]) for m in measures_of(engine, case)["measures"]}
                 for case in ("low_income", "three_living", "bad_water")}
    assert helper_of == {"low_income": {("H001", "县农业农村局")},
                         "three_living": {("H002", "乡卫生院")},
                         "bad_water": {(None, None)}}


def test_due_dates_budgets_and_funding_come_from_the_catalogue(engine: Engine) -> None:
    draft(engine, RUN, as_of=date(2020, 2, 10))
    for m in measures_of(engine, "three_living")["measures"]:
        defaults = entry(K.of(m["kind"]))
        assert m["due_date"] == date(2020, 2, 10) + timedelta(days=defaults.days)
        assert (m["budget"], m["funding_source"]) == (defaults.budget, defaults.funding)
        assert (m["content"], m["status"]) == (defaults.content_zh, "planned")


def test_a_household_that_is_not_poor_is_reported_not_drafted(engine: Engine) -> None:
    report = draft(engine, RUN, household_number=NUMBERS["fine"])
    assert report.drafted == []
    assert report.skipped == [{"household": NUMBERS["fine"], "skipped": "not poor in this run"}]
    with pytest.raises(NotFound):
        draft(engine, RUN, household_number="999")


def test_a_household_outside_the_scope_is_not_drafted(engine: Engine) -> None:
    assert draft(engine, RUN, principal=operator("drafter", "621121002001")).drafted == []


def test_an_approved_plan_is_never_overwritten_by_a_new_draft(engine: Engine) -> None:
    draft(engine, RUN)
    approved = approve(engine, "three_living")
    before = measures_of(engine, "three_living")
    report = draft(engine, RUN, as_of=date(2021, 1, 1))
    assert {"household": NUMBERS["three_living"], "plan": approved["plan"],
            "skipped": "has an approved plan"} in report.skipped
    assert measures_of(engine, "three_living") == before


def test_a_new_draft_replaces_an_older_draft_in_place_audited(engine: Engine) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    first = measures_of(engine, "no_food")
    count = events(engine)
    (row,) = draft(engine, RUN, household_number=NUMBERS["no_food"],
                   as_of=date(2020, 6, 1)).drafted
    again = measures_of(engine, "no_food")
    assert row["replaced"] is True and again["plan"]["plan"] == first["plan"]["plan"]
    assert again["plan"]["version"] > first["plan"]["version"]
    assert [m["due_date"] for m in again["measures"]] == [date(2020, 7, 1)]
    assert events(engine) == count + 1
    with Session(engine) as db:
        (_, redraft) = audit.history(db, principal=OPERATOR, entity="plan",
                                     entity_id=str(row["plan"]))
        assert redraft["action"] == "redraft" and audit.verify(db, principal=OPERATOR).ok


def test_each_drafted_plan_writes_one_audit_event(engine: Engine) -> None:
    count = events(engine)
    report = draft(engine, RUN)
    assert events(engine) == count + len(report.drafted)
    approve(engine, "dropout")
    assert events(engine) == count + len(report.drafted) + 1
    with Session(engine) as db:
        assert audit.verify(db, principal=OPERATOR).ok


def test_approval_needs_a_live_measure_and_changes_nothing_when_refused(
    engine: Engine
) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    (measure,) = measures_of(engine, "no_food")["measures"]
    with session_factory(engine)() as db, db.begin():
        ledger.cancel(db, principal=operator("cadre"), measure_id=measure["id"],
                      reason="duplicate", as_of=AS_OF)
    version = measures_of(engine, "no_food")["plan"]["version"]
    count = events(engine)
    with pytest.raises(RuleBroken, match="at least one measure"):
        approve(engine, "no_food", version=version)
    assert measures_of(engine, "no_food")["plan"]["status"] == "draft"
    assert events(engine) == count


def test_approving_every_draft_skips_plans_without_a_live_measure(engine: Engine) -> None:
    report = draft(engine, RUN)
    (measure,) = measures_of(engine, "no_food")["measures"]
    with session_factory(engine)() as db, db.begin():
        ledger.cancel(db, principal=operator("cadre"), measure_id=measure["id"],
                      reason="duplicate", as_of=AS_OF)
    count = events(engine)
    with session_factory(engine)() as db, db.begin():
        approved = plans.approve_all(db, principal=operator("officer"), as_of=AS_OF)
    assert len(approved) == len(report.drafted) - 1 == events(engine) - count
    assert measures_of(engine, "no_food")["plan"]["status"] == "draft"
    assert measures_of(engine, "three_living")["plan"]["approved_on"] == AS_OF


def test_approving_a_plan_seen_before_someone_edited_it_is_refused(engine: Engine) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    draft(engine, RUN, household_number=NUMBERS["no_food"])  # version 2 now
    with pytest.raises(StaleVersion, match="version 2, you edited version 1") as caught:
        approve(engine, "no_food", version=1)
    assert caught.value.current["status"] == "draft" and caught.value.current["version"] == 2
    assert approve(engine, "no_food", version=2)["status"] == "approved"


def test_it_refuses_a_village_cadre_approving_a_plan_and_changes_nothing(
    engine: Engine
) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    count = events(engine)
    cadre = user(Role.VILLAGE_CADRE, VILLAGE, username="cadre")
    with pytest.raises(PermissionDenied):
        approve(engine, "no_food", principal=cadre)
    with pytest.raises(PermissionDenied), session_factory(engine)() as db, db.begin():
        plans.approve_all(db, principal=cadre, as_of=AS_OF)
    assert measures_of(engine, "no_food")["plan"]["status"] == "draft"
    assert events(engine) == count


@pytest.mark.parametrize("role", [Role.HELPER, Role.VERIFIER, Role.AUDITOR])
def test_it_refuses_roles_that_neither_draft_nor_approve_plans(engine: Engine,
                                                                role: Role) -> None:
    count = events(engine)
    with pytest.raises(PermissionDenied):
        draft(engine, RUN, principal=user(role, VILLAGE, username="x"))
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    with pytest.raises(PermissionDenied):
        approve(engine, "no_food", principal=user(role, VILLAGE, username="x"))
    assert measures_of(engine, "no_food")["plan"]["status"] == "draft"
    assert events(engine) == count + 1  # the officer's draft only


def test_a_township_officer_approves_a_plan_under_their_own_name(engine: Engine) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    officer = user(Role.TOWNSHIP_OFFICER, "621121001", username="zhang")
    approved = approve(engine, "no_food", principal=officer)
    assert (approved["status"], approved["approved_by"]) == ("approved", "web:zhang")


def test_a_plan_outside_the_officers_region_is_not_found(engine: Engine) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    with pytest.raises(NotFound):
        approve(engine, "no_food", principal=user(Role.TOWNSHIP_OFFICER, "621121002",
                                                  username="li"))
    assert measures_of(engine, "no_food")["plan"]["status"] == "draft"


@pytest.mark.postgres
def test_two_connections_editing_the_same_plan_never_lose_an_update(pg_url: str,
                                                                    tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    run_id = build(engine, tmp_path)
    draft(engine, run_id, household_number=NUMBERS["no_food"])
    first, second = session_factory(engine)(), session_factory(engine)()
    try:
        second.begin()
        plan_id = plans.current_plan(second, principal=OPERATOR, number=NUMBERS["no_food"])
        seen = second.get(PlanRecord, plan_id)  # loaded at version 1
        assert seen is not None and seen.version == 1
        with first.begin():
            add_measure(first, principal=operator("a"), plan_id=plan_id,
                        fields={"kind": "health"}, reason=None, as_of=AS_OF,
                        expected_version=1)
        with pytest.raises(StaleVersion) as caught:
            plans.approve(second, principal=operator("b"), plan_id=plan_id, as_of=AS_OF,
                          expected_version=1)
        assert len(caught.value.current["measures"]) == 2
        second.rollback()
    finally:
        first.close()
        second.close()
    with Session(engine) as db:
        stored = db.get(PlanRecord, plan_id)
        assert stored is not None
        assert (stored.status, stored.version, len(stored.measures)) == ("draft", 2, 2)
    engine.dispose()


# -- 动态调整: editing drafts freely, revising approved plans ---------------------------------


def revise(engine: Engine, measure_id: int, changes: dict[str, object], reason: str | None,
           version: int | None = None) -> None:
    with session_factory(engine)() as db, db.begin():
        plan_revisions.revise_measure(db, principal=operator("cadre"), measure_id=measure_id,
                                      changes=changes, reason=reason, as_of=date(2020, 5, 1),
                                      expected_version=version)


def history(engine: Engine, case: str) -> list[dict[str, Any]]:
    with Session(engine) as db:
        return plan_revisions.history(db, principal=OPERATOR, number=NUMBERS[case])


def test_editing_a_draft_is_free_and_audited_without_a_revision(engine: Engine) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    (measure,) = measures_of(engine, "no_food")["measures"]
    count = events(engine)
    revise(engine, measure["id"], {"budget": "4500", "helper": "H002"}, reason=None)
    (edited,) = measures_of(engine, "no_food")["measures"]
    assert (edited["budget"], edited["helper"], edited["unit"]) == (4500, "H002", "乡卫生院")
    assert history(engine, "no_food") == [] and events(engine) == count + 1


def test_revising_an_approved_plan_without_a_reason_is_refused_and_changes_nothing(
    engine: Engine,
) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    approve(engine, "no_food")
    shown = measures_of(engine, "no_food")
    (before,) = shown["measures"]
    count = events(engine)
    with pytest.raises(RuleBroken, match="A change to an approved plan needs a reason"):
        revise(engine, before["id"], {"due_date": "2020-09-01"}, reason="  ")
    with pytest.raises(RuleBroken, match="needs a reason"), \
            session_factory(engine)() as db, db.begin():
        plan_revisions.add_measure(db, principal=operator("cadre"), plan_id=shown["plan"]["plan"],
                                   fields={"kind": "health"}, reason=None, as_of=AS_OF,
                                   expected_version=None)
    assert measures_of(engine, "no_food")["measures"] == [before]
    assert history(engine, "no_food") == [] and events(engine) == count


def test_every_change_to_an_approved_plan_is_a_revision_with_before_and_after(
    engine: Engine,
) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    plan = approve(engine, "no_food")
    (measure,) = measures_of(engine, "no_food")["measures"]
    count = events(engine)
    revise(engine, measure["id"], {"due_date": "2020-09-01"}, reason="the office moved",
           version=1)
    with session_factory(engine)() as db, db.begin():
        added = plan_revisions.add_measure(
            db, principal=operator("cadre"), plan_id=plan["plan"],
            fields={"kind": "employment", "content": "进厂务工"}, reason="son back home",
            as_of=date(2020, 5, 2), expected_version=None)
        ledger.cancel(db, principal=operator("cadre"), measure_id=added["id"],
                      reason="found work alone", as_of=date(2020, 5, 3))
    first, second, third = history(engine, "no_food")
    assert (first["changed_on"], first["changed_by"], first["reason"]) == (
        date(2020, 5, 1), "cadre", "the office moved")
    assert (first["before"]["due_date"], first["after"]["due_date"]) == ("2020-01-31",
                                                                         "2020-09-01")
    assert second["before"] is None and second["after"]["content"] == "进厂务工"
    assert second["after"]["helper"] == "H001"  # the household's assigned helper
    assert (third["reason"], third["before"]["status"], third["after"]["status"]) == (
        "found work alone", "planned", "cancelled")
    assert events(engine) == count + 3
    with Session(engine) as db:
        assert audit.verify(db, principal=OPERATOR).ok


def test_it_returns_the_revised_measure_as_plain_data(engine: Engine) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    (measure,) = measures_of(engine, "no_food")["measures"]
    with session_factory(engine)() as db, db.begin():
        row = plan_revisions.revise_measure(
            db, principal=operator("cadre"), measure_id=measure["id"],
            changes={"budget": "1,234.50"}, reason=None, as_of=date(2020, 5, 1),
            expected_version=1)
    assert (row["id"], row["budget"], row["version"], row["status"]) == (
        measure["id"], 1234.5, 2, "planned")


@pytest.mark.parametrize(("budget", "message"), [
    ("12.345", "at most two decimal places"),
    ("inf", "is not an amount of money"),
    ("1e400", "is not an amount of money"),
    ("100000000.01", "more than the maximum"),
    ("-5", "cannot be negative"),
])
def test_it_refuses_a_budget_that_is_not_money_to_the_fen_and_changes_nothing(
    engine: Engine, budget: str, message: str
) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    shown = measures_of(engine, "no_food")
    (before,) = shown["measures"]
    count = events(engine)
    with pytest.raises(RuleBroken, match=message):
        revise(engine, before["id"], {"budget": budget}, reason=None)
    with pytest.raises(RuleBroken, match=message), \
            session_factory(engine)() as db, db.begin():
        plan_revisions.add_measure(db, principal=operator("cadre"), plan_id=shown["plan"]["plan"],
                                   fields={"kind": "health", "budget": budget}, reason=None,
                                   as_of=AS_OF, expected_version=None)
    assert measures_of(engine, "no_food")["measures"] == [before]
    assert events(engine) == count


def test_a_stale_measure_edit_is_refused_with_the_current_values(engine: Engine) -> None:
    draft(engine, RUN, household_number=NUMBERS["no_food"])
    (measure,) = measures_of(engine, "no_food")["measures"]
    revise(engine, measure["id"], {"content": "纳入低保"}, reason=None, version=1)
    with pytest.raises(StaleVersion, match="version 2, you edited version 1") as err:
        revise(engine, measure["id"], {"content": "特困供养"}, reason=None, version=1)
    assert err.value.current["content"] == "纳入低保"
    assert measures_of(engine, "no_food")["measures"][0]["content"] == "纳入低保"
