"""Risk clearance (风险消除): refused for each unmet condition, with nothing changed; else done."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import OPERATOR, operator, person_id, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied, ValidationFailed
from tuopin.services import audit
from tuopin.services.monitoring import clearance as monitor_clearance
from tuopin.standards.loader import load
from tuopin.storage.db import session_factory
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    AuditEventRecord,
    HouseholdRecord,
    MeasureRecord,
    MemberRecord,
    MonitoringCaseRecord,
    PlanRecord,
    RegionRecord,
)

VILLAGE = "621121001001"
REGIONS = [("620000000000", "甘肃省", 1, None), ("621100000000", "定西市", 2, "620000000000"),
           ("621121000000", "通渭县", 3, "621100000000"),
           ("621121001000", "平襄镇", 4, "621121000000"), (VILLAGE, "东关村", 5, "621121001000")]
IDENTIFIED = date(2021, 3, 12)
GOOD: dict[str, Any] = {"labour": "ordinary", "measure": "done", "income": 7000.0,
                        "year_exited": 2019, "as_of": date(2021, 9, 12)}


def identified_case(engine: Engine, facts: dict[str, Any]) -> int:
    """A monitored household with an identified case, a run, a plan and one member."""
    standard = load("cn-monitoring")
    with session_factory(engine)() as db, db.begin():
        db.add_all(RegionRecord(code=c, name=n, level=lv, parent_code=p)
                   for c, n, lv, p in REGIONS)
        db.flush()
        home = HouseholdRecord(number="H1", village_code=VILLAGE, status="monitored",
                               year_exited=facts["year_exited"])
        db.add(home)
        db.flush()
        db.add(MemberRecord(household_id=home.id, id_number=person_id(date(1950, 1, 1), 11),
                            name="老张", sex="male", birth_date=date(1950, 1, 1),
                            relation="head", labour=facts["labour"]))
        run = AssessmentRunRecord(
            standard_name=standard.name, standard_version=standard.version,
            standard_hash=standard.content_hash, standard_text=standard.text, year=2021,
            engine="db", snapshot_at="x", created_at="x", created_by="t", households=1,
            members=1, poor_households=0, poor_members=0, counts="{}", timings="{}")
        plan = PlanRecord(household_id=home.id, status="approved", drafted_by="t",
                          drafted_on=date(2021, 3, 1))
        db.add_all([run, plan])
        db.flush()
        db.add(AssessmentResultRecord(
            run_id=run.id, household_id=home.id, household_number="H1", village_code=VILLAGE,
            members=1, income_per_capita=facts["income"], score=0.0, poor=False, deprived="",
            categories=""))
        db.add(MeasureRecord(plan_id=plan.id, kind="public_job", content="公益岗位",
                             due_date=date(2021, 6, 1), status=facts["measure"]))
        case = MonitoringCaseRecord(
            household_id=home.id, category="unstable_exited", risk_types="low_income",
            source="scan", run_id=run.id, state="identified", opened_on=date(2021, 3, 1),
            deadline=date(2021, 3, 16), identified_on=IDENTIFIED, plan_id=plan.id)
        db.add(case)
        db.flush()
        return case.id


def stored(engine: Engine) -> tuple:
    with Session(engine) as s:
        return (s.execute(select(MonitoringCaseRecord.state, MonitoringCaseRecord.version)).all(),
                s.execute(select(HouseholdRecord.status, HouseholdRecord.version)).all(),
                s.scalar(select(func.count()).select_from(AuditEventRecord)))


@pytest.mark.parametrize(("changes", "unmet"), [
    ({"labour": "none"}, "no able-bodied labour"),
    ({"labour": "weak"}, "no able-bodied labour"),
    ({"measure": "in_progress"}, "no assistance measure delivered"),
    ({"income": 5800.0}, "income per capita 5800 is still below the monitoring line 6000"),
    ({"as_of": date(2021, 9, 11)}, "less than 6 months since identification"),
])
def test_clearance_is_refused_naming_the_unmet_condition_and_changes_nothing(
    engine: Engine, changes: dict[str, Any], unmet: str,
) -> None:
    facts = {**GOOD, **changes}
    case = identified_case(engine, facts)
    before = stored(engine)
    with session_factory(engine)() as db, db.begin():
        with pytest.raises(ValidationFailed, match=unmet) as caught:
            monitor_clearance.clear(db, principal=operator("officer"), case_id=case,
                                    as_of=facts["as_of"])
    assert len(caught.value.problems) == 1
    assert stored(engine) == before


@pytest.mark.parametrize(("year_exited", "status"), [(2019, "exited"), (None, "ordinary")])
def test_clearance_closes_the_case_when_every_condition_holds(
    engine: Engine, year_exited: int | None, status: str,
) -> None:
    case = identified_case(engine, {**GOOD, "year_exited": year_exited})
    with session_factory(engine)() as db, db.begin():
        row = monitor_clearance.clear(db, principal=operator("officer"), case_id=case,
                                      as_of=GOOD["as_of"])
    assert (row["state"], row["cleared_on"]) == ("cleared", GOOD["as_of"])
    with Session(engine) as db:
        assert db.scalars(select(HouseholdRecord.status)).one() == status
        events = audit.history(db, principal=OPERATOR, entity="monitoring_case")
        assert [(e["action"], e["actor"]) for e in events] == [("monitor:cleared", "officer")]
        assert audit.verify(db, principal=OPERATOR).ok


@pytest.mark.parametrize(("role", "region"), [
    (Role.VILLAGE_CADRE, VILLAGE), (Role.TOWNSHIP_OFFICER, "621121001000"),
    (Role.HELPER, VILLAGE), (Role.VERIFIER, "621121000000"), (Role.AUDITOR, "621121000000"),
])
def test_clearance_is_the_countys_and_refused_to_every_other_role(
    engine: Engine, role: Role, region: str,
) -> None:
    case = identified_case(engine, GOOD)
    before = stored(engine)
    principal = user(role, region, households=frozenset({"H1"}) if role is Role.HELPER
                     else None)
    with session_factory(engine)() as db, db.begin(), pytest.raises(PermissionDenied):
        monitor_clearance.clear(db, principal=principal, case_id=case, as_of=GOOD["as_of"])
    assert stored(engine) == before
    with session_factory(engine)() as db, db.begin():
        row = monitor_clearance.clear(db, principal=user(Role.COUNTY_OFFICER, "621121000000"),
                                      case_id=case, as_of=GOOD["as_of"])
    assert row["state"] == "cleared"
