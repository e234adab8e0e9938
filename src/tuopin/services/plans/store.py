"""Loading plans and measures for a change: in scope, row-locked, version-checked.

Every change loads its row with SELECT ... FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE
already serialises writers) and refreshes it from the database, so the version compared with
the caller's is the one committed now, and a stale save is refused with the current values
(``StaleVersion``) before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from tuopin.domain.enums import MeasureStatus, PlanStatus
from tuopin.domain.errors import Message, NotFound
from tuopin.domain.ledger import MeasureFacts
from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.services import records
from tuopin.storage.models import (
    EvidenceRecord,
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MeasureRecord,
    PlanRecord,
    UserRecord,
)

MEASURE_FIELDS = ("kind", "content", "indicator", "cause", "helper", "unit", "due_date",
                  "budget", "funding_source")


@dataclass(frozen=True)
class Helper:
    id: int
    number: str
    name: str
    unit: str


def plan_for_update(db: Session, *, plan_id: int, scope: Scope) -> PlanRecord:
    """A plan in scope, locked and refreshed from the database."""
    plan = db.scalars(
        select(PlanRecord).join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .where(PlanRecord.id == plan_id, records.in_scope(scope))
        .with_for_update(of=PlanRecord).execution_options(populate_existing=True)
    ).first()
    if plan is None:
        raise NotFound(f"plan {plan_id} not found")
    return plan


def current_plan_id(db: Session, *, number: str, scope: Scope) -> int:
    """The id of a household's plan (its newest one)."""
    plan_id = db.scalar(
        select(func.max(PlanRecord.id))
        .join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .where(HouseholdRecord.number == number, records.in_scope(scope)))
    if plan_id is None:
        raise NotFound(f"household {number} has no plan")
    return plan_id


def measure_for_update(db: Session, *, measure_id: int, scope: Scope) -> MeasureRecord:
    """A measure in scope, locked and refreshed from the database."""
    measure = db.scalars(
        select(MeasureRecord).join(PlanRecord, PlanRecord.id == MeasureRecord.plan_id)
        .join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .where(MeasureRecord.id == measure_id, records.in_scope(scope))
        .with_for_update(of=MeasureRecord).execution_options(populate_existing=True)
    ).first()
    if measure is None:
        raise NotFound(f"measure {measure_id} not found")
    return measure


def measure_and_plan_for_update(db: Session, *, measure_id: int,
                                scope: Scope) -> tuple[MeasureRecord, PlanRecord]:
    """A measure and its plan, both locked: the plan first, in the order every writer uses
    (drafting locks plans, then deletes their measures), so two writers never deadlock."""
    plan_id = db.scalar(select(MeasureRecord.plan_id).where(MeasureRecord.id == measure_id))
    if plan_id is None:
        raise NotFound(f"measure {measure_id} not found")
    plan = plan_for_update(db, plan_id=plan_id, scope=scope)
    return measure_for_update(db, measure_id=measure_id, scope=scope), plan


def facts(db: Session, measure: MeasureRecord) -> MeasureFacts:
    """The facts the ledger's rules need about one measure."""
    evidence = db.scalar(select(func.count()).select_from(EvidenceRecord)
                         .where(EvidenceRecord.measure_id == measure.id)) or 0
    responsible: set[str] = set()
    if measure.helper_id is not None:
        helper = db.get(HelperRecord, measure.helper_id)
        if helper is not None:
            responsible.add(helper.number)
        responsible.update(db.scalars(select(UserRecord.username)
                                      .where(UserRecord.helper_id == measure.helper_id)))
    return MeasureFacts(measure_id=measure.id, status=MeasureStatus.of(measure.status),
                        plan_status=PlanStatus.of(measure.plan.status), evidence=evidence,
                        responsible=frozenset(responsible),
                        approved_on=measure.plan.approved_on)


def helper_number(db: Session, helper_id: int | None) -> str | None:
    """A helper's number from its id (None for none)."""
    helper = db.get(HelperRecord, helper_id) if helper_id is not None else None
    return helper.number if helper else None


def helper_by_number(db: Session, number: str) -> Helper:
    """A helper named by number (NotFound otherwise)."""
    record = db.scalars(select(HelperRecord).where(HelperRecord.number == number)).first()
    if record is None:
        raise NotFound(f"helper {number} not found")
    return Helper(record.id, record.number, record.name, record.unit)


def measure_snapshot(db: Session, measure: MeasureRecord,
                     numbers: Mapping[int, str] | None = None) -> dict[str, Any]:
    """A measure's fields as plain data (for audit events, revisions and display).

    ``numbers`` maps helper ids to numbers when the caller knows them already (drafting
    thousands of plans), sparing one lookup per measure.
    """
    helper = measure.helper_id
    return {
        "id": measure.id, "kind": measure.kind, "content": measure.content,
        "indicator": measure.indicator, "cause": measure.cause,
        "helper": numbers[helper] if numbers and helper is not None and helper in numbers
        else helper_number(db, helper), "unit": measure.unit,
        "due_date": measure.due_date, "budget": float(measure.budget),
        "funding_source": measure.funding_source, "status": measure.status,
        "version": measure.version,
    }


LEDGER_FIELDS = ("status", "completed_on", "verifier", "verified_on", "cancel_reason",
                 "delay_reason", "follow_up", "remeasure", "remeasure_run_id", "version")


def measure_state(measure: MeasureRecord) -> dict[str, Any]:
    """Where a measure stands in the ledger, as plain data."""
    return {"id": measure.id, **{n: getattr(measure, n) for n in LEDGER_FIELDS}}


def measure_row(db: Session, measure: MeasureRecord) -> dict[str, Any]:
    """A measure as the services hand it out: its fields, its ledger state and its plan."""
    return {**measure_snapshot(db, measure), **measure_state(measure), "plan": measure.plan_id}


def plan_snapshot(db: Session, plan: PlanRecord,
                  numbers: Mapping[int, str] | None = None) -> dict[str, Any]:
    """A plan and its measures as plain data."""
    return {
        "id": plan.id, "status": plan.status, "run_id": plan.run_id,
        "version": plan.version,
        "measures": [measure_snapshot(db, m, numbers) for m in plan.measures],
    }


def check_version(what: str, record: PlanRecord | MeasureRecord, expected: int | None,
                  current: dict[str, Any]) -> None:
    """Refuse a save made on an older version than the stored one (None: no check)."""
    records.check_version(what, found=record.version, expected=expected, current=current)


def plan_named(plan_id: int) -> Message:
    return Message(N_("plan {plan}"), plan=plan_id)


def measure_named(measure_id: int) -> Message:
    return Message(N_("measure {measure}"), measure=measure_id)


def touch(plan: PlanRecord) -> None:
    """Bump a plan's version: its content changed, so an approval of what was seen is stale."""
    flag_modified(plan, "status")


def flush(db: Session) -> None:
    """Write pending changes; the version guard in the UPDATE is the last line of defence."""
    records.flush(db, what=N_("The plan"))


def assigned_helpers(db: Session, household_ids: Any, as_of: date) -> dict[int, Helper]:
    """Each household's helper on ``as_of`` (its latest assignment), in one query.

    ``household_ids`` is a list or a subquery of household ids.
    """
    found = db.execute(
        select(HelperAssignmentRecord.household_id, HelperAssignmentRecord.start_date,
               HelperAssignmentRecord.id.label("assignment"), HelperRecord.id,
               HelperRecord.number, HelperRecord.name, HelperRecord.unit)
        .join(HelperRecord, HelperRecord.id == HelperAssignmentRecord.helper_id)
        .where(HelperAssignmentRecord.household_id.in_(household_ids),
               (HelperAssignmentRecord.start_date.is_(None))
               | (HelperAssignmentRecord.start_date <= as_of),
               (HelperAssignmentRecord.end_date.is_(None))
               | (HelperAssignmentRecord.end_date > as_of))
    ).all()
    # latest start wins; an assignment without a start date counts as the oldest
    rows = sorted(found, key=lambda r: (r.household_id, r.start_date or date.min, r.assignment))
    return {r.household_id: Helper(r.id, r.number, r.name, r.unit) for r in rows}
