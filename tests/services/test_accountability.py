"""Overdue measures and the 问责清单 move with the as-of date and leave once delivered."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import OPERATOR, OTHER_VILLAGE, households, operator, registry_files, user, write_csv
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied
from tuopin.io.schema import REGISTRY_KINDS
from tuopin.services.access.principal import Principal
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.services.plans import accountability, evidence, ledger
from tuopin.services.plans import household_plans as plans
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
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
    for kind in REGISTRY_KINDS:
        assert import_file(engine, principal=operator("t"), kind=kind,
                           path=files[kind.value], today=AS_OF).ok
    run = assessments.record(engine, assessments.compute(
        engine, principal=OPERATOR, standard=load("cn-national"), year=2019,
        engine_name="db"), principal=operator("o"))
    with session_factory(engine)() as db, db.begin():
        plans.draft(db, principal=operator("drafter"), run_id=run, as_of=AS_OF)
        for plan in db.scalars(select(PlanRecord).order_by(PlanRecord.id)).all()[:3]:
            plans.approve(db, principal=operator("officer"), plan_id=plan.id, as_of=AS_OF,
                          expected_version=None)
    return engine


def overdue(engine: Engine, as_of: date,
            principal: Principal = OPERATOR) -> list[tuple[str, str, int]]:
    with Session(engine) as db:
        rows = accountability.overdue(db, principal=principal, as_of=as_of)
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
        evidence.store(db, principal=operator("cadre"), measure_id=first,
                       file=EvidenceFile("a.png", b"\x89PNG\r\n\x1a\n..", "image/png"),
                       as_of=date(2020, 2, 5), store=EvidenceStore(tmp_path, 100))
        ledger.complete(db, principal=operator("cadre"), measure_id=first,
                        completed_on=date(2020, 2, 5), as_of=date(2020, 2, 5))
        ledger.cancel(db, principal=operator("cadre"), measure_id=second, reason="moved away",
                      as_of=date(2020, 2, 5))
    assert overdue(ledger_db, date(2020, 2, 10)) == [(NUMBERS[2], "health", 10)]


def test_the_accountability_list_groups_by_helper_and_unit_worst_first(ledger_db: Engine) -> None:
    late = measure_of(ledger_db, NUMBERS[2], "health")
    with session_factory(ledger_db)() as db, db.begin():
        ledger.record_delay(db, principal=operator("township"), measure_id=late,
                            reason="卫生院无人", follow_up="约谈", as_of=date(2020, 3, 1),
                            expected_version=1)
    with Session(ledger_db) as db:
        groups = accountability.accountability(db, principal=OPERATOR, as_of=date(2020, 7, 9))
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
        assert accountability.accountability(db, principal=OPERATOR, as_of=AS_OF) == []


def test_the_lists_keep_to_the_region_scope(ledger_db: Engine) -> None:
    assert overdue(ledger_db, date(2020, 7, 9), operator("t", OTHER_VILLAGE)) == []
    assert len(overdue(ledger_db, date(2020, 7, 9), operator("t", "621121001"))) == 5


def test_a_helpers_scope_lists_only_the_households_it_names(ledger_db: Engine) -> None:
    helper = user(Role.HELPER, "621121001", username="li", households=frozenset({NUMBERS[2]}))
    assert {n for n, _, _ in overdue(ledger_db, date(2020, 7, 9), helper)} == {NUMBERS[2]}


def test_it_refuses_a_helper_the_accountability_list_that_ranks_the_helpers(
        ledger_db: Engine) -> None:
    helper = user(Role.HELPER, "621121001", username="li", households=frozenset({NUMBERS[2]}))
    with Session(ledger_db) as db, pytest.raises(PermissionDenied):
        accountability.accountability(db, principal=helper, as_of=date(2020, 7, 9))
    cadre = user(Role.VILLAGE_CADRE, "621121001001", username="cadre")
    with Session(ledger_db) as db:
        groups = accountability.accountability(db, principal=cadre, as_of=date(2020, 7, 9))
    assert sum(g["measures"] for g in groups) == 5
