"""Overdue measures and the 问责清单 move with the as-of date and leave once delivered."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import OTHER_VILLAGE, households, registry_files, write_csv
from tuopin.domain.scope import EVERYTHING, Scope
from tuopin.io.schema import Kind
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.services.plans import accountability, evidence, ledger
from tuopin.services.plans import household_plans as plans
from tuopin.standards.loader import load
from tuopin.storage.db import session_factory
from tuopin.storage.models import HouseholdRecord, MeasureRecord, PlanRecord

AS_OF = date(2020, 1, 1)
NUMBERS = [str(h["number"]) for h in households(4)]
# Every household fails medical (nobody's insurance is known): a health measure due in 30
# days (2020-01-31). The first also fails income and housing: two measures due in 180 days
# (2020-06-29). 王 helps the first two, 李 the third; the fourth's plan stays a draft.


@pytest.fixture
def ledger_db(engine: Engine, tmp_path: Path) -> Engine:
    files = registry_files(tmp_path, n=4)
    files["helpers"] = write_csv(tmp_path / "helpers.csv", [
        {"number": "H001", "name": "王帮扶", "unit": "县农业农村局",
         "households": ";".join(NUMBERS[:2])},
        {"number": "H002", "name": "李帮扶", "unit": "乡卫生院", "households": NUMBERS[2]}])
    for kind in Kind:
        assert import_file(engine, kind=kind, path=files[kind.value], actor="t",
                           today=AS_OF).ok
    run = assessments.record(engine, assessments.compute(
        engine, standard=load("cn-national"), year=2019, engine_name="db"), actor="o")
    with session_factory(engine)() as db, db.begin():
        plans.draft(db, run_id=run, scope=EVERYTHING, actor="drafter", as_of=AS_OF)
        for plan in db.scalars(select(PlanRecord).order_by(PlanRecord.id)).all()[:3]:
            plans.approve(db, plan_id=plan.id, scope=EVERYTHING, actor="officer", as_of=AS_OF,
                          expected_version=None)
    return engine


def overdue(engine: Engine, as_of: date, scope: Scope = EVERYTHING) -> list[tuple[str, str,
                                                                                  int]]:
    with Session(engine) as db:
        rows = accountability.overdue(db, scope=scope, as_of=as_of)
    return [(r["household"], r["kind"], r["days_overdue"]) for r in rows]


def measure_of(engine: Engine, number: str, kind: str) -> int:
    with Session(engine) as db:
        return db.scalars(select(MeasureRecord.id).join(PlanRecord).join(HouseholdRecord).where(
            HouseholdRecord.number == number, MeasureRecord.kind == kind)).one()


def test_nothing_is_overdue_on_or_before_the_due_date(ledger_db: Engine) -> None:
    assert overdue(ledger_db, date(2020, 1, 15)) == []
    assert overdue(ledger_db, date(2020, 1, 31)) == []


def test_measures_are_listed_after_their_due_date_with_days_overdue(ledger_db: Engine) -> None:
    assert overdue(ledger_db, date(2020, 2, 10)) == [
        (NUMBERS[0], "health", 10), (NUMBERS[1], "health", 10), (NUMBERS[2], "health", 10)]
    later = overdue(ledger_db, date(2020, 7, 9))
    assert len(later) == 5 and (NUMBERS[0], "industry", 10) in later
    assert (NUMBERS[2], "health", 160) in later
    assert all(n != NUMBERS[3] for n, _, _ in later)  # a draft's dates are not promises yet


def test_a_measure_done_or_cancelled_leaves_the_list(ledger_db: Engine, tmp_path: Path) -> None:
    first, second = measure_of(ledger_db, NUMBERS[0], "health"), measure_of(ledger_db,
                                                                            NUMBERS[1], "health")
    with session_factory(ledger_db)() as db, db.begin():
        evidence.store(db, measure_id=first, filename="a.png", data=b"\x89PNG\r\n\x1a\n..",
                       content_type="image/png", actor="cadre", as_of=date(2020, 2, 5),
                       data_dir=tmp_path, max_bytes=100, scope=EVERYTHING)
        ledger.complete(db, measure_id=first, completed_on=date(2020, 2, 5), actor="cadre",
                        as_of=date(2020, 2, 5), scope=EVERYTHING)
        ledger.cancel(db, measure_id=second, reason="moved away", actor="cadre",
                      as_of=date(2020, 2, 5), scope=EVERYTHING)
    assert overdue(ledger_db, date(2020, 2, 10)) == [(NUMBERS[2], "health", 10)]


def test_the_accountability_list_groups_by_helper_and_unit_worst_first(ledger_db: Engine) -> None:
    late = measure_of(ledger_db, NUMBERS[2], "health")
    with session_factory(ledger_db)() as db, db.begin():
        ledger.record_delay(db, measure_id=late, reason="卫生院无人", follow_up="约谈",
                            actor="township", as_of=date(2020, 3, 1), scope=EVERYTHING,
                            expected_version=1)
    with Session(ledger_db) as db:
        groups = accountability.accountability(db, scope=EVERYTHING, as_of=date(2020, 7, 9))
    summary = [{k: g[k] for k in accountability.GROUP_COLUMNS} for g in groups]
    assert summary == [
        {"helper": "H001", "helper_name": "王帮扶", "unit": "县农业农村局", "measures": 4,
         "total_days_overdue": 340, "max_days_overdue": 160, "without_reason": 4},
        {"helper": "H002", "helper_name": "李帮扶", "unit": "乡卫生院", "measures": 1,
         "total_days_overdue": 160, "max_days_overdue": 160, "without_reason": 0},
    ]
    (item,) = groups[1]["items"]
    assert (item["measure"], item["delay_reason"], item["follow_up"]) == (late, "卫生院无人",
                                                                          "约谈")
    flat = accountability.flat(groups)
    assert len(flat) == 5 and flat[-1]["delay_reason"] == "卫生院无人"
    with Session(ledger_db) as db:
        assert accountability.accountability(db, scope=EVERYTHING, as_of=AS_OF) == []


def test_the_lists_keep_to_the_region_scope(ledger_db: Engine) -> None:
    assert overdue(ledger_db, date(2020, 7, 9), Scope(OTHER_VILLAGE)) == []
    assert len(overdue(ledger_db, date(2020, 7, 9), Scope("621121001"))) == 5


def test_a_helpers_scope_lists_only_the_households_it_names(ledger_db: Engine) -> None:
    helper = Scope("621121001", households=frozenset({NUMBERS[2]}))
    assert {n for n, _, _ in overdue(ledger_db, date(2020, 7, 9), helper)} == {NUMBERS[2]}
