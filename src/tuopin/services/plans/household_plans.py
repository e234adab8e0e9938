"""一户一策: plans drafted from an assessment run's deprivations, approved by a person.

A draft answers every indicator the household fails and every recorded cause of poverty
with one measure per catalogue kind (domain.ledger.draft_measures); its helper is the one
assigned to the household, its due dates and budgets come from the catalogue. A draft
never overwrites an approved plan; a newer draft replaces an older one in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from tuopin.domain import ledger
from tuopin.domain.enums import MeasureStatus, PlanStatus
from tuopin.domain.errors import NotFound
from tuopin.domain.scope import Scope
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import get_run
from tuopin.services.plans.store import (
    Helper,
    assigned_helpers,
    check_version,
    current_plan_id,
    flush,
    plan_for_update,
    plan_named,
    plan_snapshot,
    touch,
)
from tuopin.storage.models import (
    AssessmentResultRecord,
    EvidenceRecord,
    HelperRecord,
    HouseholdRecord,
    MeasureRecord,
    PlanRecord,
    table_of,
)

INDICATOR_WIDTH: int = getattr(table_of(MeasureRecord).c.indicator.type, "length", 32)


@dataclass
class DraftReport:
    """What `plans draft` did: plans drafted (new or replacing a draft) and households skipped."""

    run_id: int
    drafted: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """One row per household, drafted or skipped."""
        return [*self.drafted, *self.skipped]


def _poor_results(db: Session, run_id: int, scope: Scope, number: str | None) -> Any:
    query = (select(AssessmentResultRecord.household_id, AssessmentResultRecord.household_number,
                    AssessmentResultRecord.deprived, AssessmentResultRecord.poor,
                    HouseholdRecord.main_cause, HouseholdRecord.other_causes)
             .join(HouseholdRecord, HouseholdRecord.id == AssessmentResultRecord.household_id)
             .where(AssessmentResultRecord.run_id == run_id, records.in_scope(scope)))
    if number is not None:
        query = query.where(AssessmentResultRecord.household_number == number)
    else:
        query = query.where(AssessmentResultRecord.poor.is_(True))
    return query.order_by(AssessmentResultRecord.household_number)


def _existing_plans(db: Session, household_ids: Any) -> dict[int, PlanRecord]:
    """Each household's newest plan with its measures, locked, in two queries."""
    plans = db.scalars(select(PlanRecord).where(PlanRecord.household_id.in_(household_ids))
                       .options(selectinload(PlanRecord.measures)).order_by(PlanRecord.id)
                       .with_for_update(of=PlanRecord)
                       .execution_options(populate_existing=True)).all()
    return {p.household_id: p for p in plans}


def _measures(drafts: list[ledger.DraftMeasure], helper: Helper | None,
              as_of: date) -> list[MeasureRecord]:
    return [MeasureRecord(
        kind=d.kind.value, content=d.entry.content_zh,
        indicator=d.indicator_text(INDICATOR_WIDTH), cause=d.cause.value if d.cause else None,
        helper_id=helper.id if helper else None, unit=helper.unit if helper else None,
        due_date=as_of + timedelta(days=d.entry.days), budget=d.entry.budget,
        funding_source=d.entry.funding, status=MeasureStatus.PLANNED.value,
    ) for d in drafts]


@changes(Action.DRAFT_PLANS)
def draft(db: Session, *, principal: Principal, run_id: int, as_of: date,
          household_number: str | None = None) -> DraftReport:
    """Draft a plan for each poor household of a run (or one household), audited per plan."""
    scope, actor = principal.scope, principal.actor
    get_run(db, run_id)
    query = _poor_results(db, run_id, scope, household_number)
    results = db.execute(query).all()
    if household_number is not None and not results:
        raise NotFound(f"household {household_number} is not in run {run_id}")
    ids = (query.with_only_columns(AssessmentResultRecord.household_id).order_by(None)
           .scalar_subquery())
    existing = _existing_plans(db, ids)
    helpers = assigned_helpers(db, ids, as_of)
    report, pending = DraftReport(run_id), []
    numbers = {h.id: h.number for h in helpers.values()}
    for row in results:
        number, plan = row.household_number, existing.get(row.household_id)
        if not row.poor:
            report.skipped.append({"household": number, "skipped": "not poor in this run"})
        elif plan is not None and plan.status == PlanStatus.APPROVED.value:
            report.skipped.append({"household": number, "plan": plan.id,
                                   "skipped": "has an approved plan"})
        else:
            drafts = ledger.draft_measures(
                [d for d in row.deprived.split(";") if d],
                ledger.causes_of(row.main_cause, row.other_causes))
            helper = helpers.get(row.household_id)
            before = plan_snapshot(db, plan, numbers) if plan is not None else None
            plan = plan or PlanRecord(household_id=row.household_id,
                                      status=PlanStatus.DRAFT.value)
            pending.append((plan, before, _measures(drafts, helper, as_of)))
            report.drafted.append({"household": number, "measures": len(drafts),
                                   "helper": helper.number if helper else None,
                                   "replaced": before is not None})
    _write_drafts(db, pending, run_id, actor, as_of, numbers)
    for drafted, (plan, _, _) in zip(report.drafted, pending, strict=True):
        drafted["plan"] = plan.id
    return report


def _write_drafts(db: Session, pending: list[tuple[PlanRecord, dict[str, Any] | None,
                                                   list[MeasureRecord]]],
                  run_id: int, actor: str, as_of: date, numbers: dict[int, str]) -> None:
    """Write every draft in one flush, then one audit event per plan (the chain is serial)."""
    replaced = [plan for plan, before, _ in pending if before is not None]
    for chunk in range(0, len(replaced), 5000):  # keep the IN list within SQLite's limits
        # a draft's measures have no evidence or revisions yet: replacing them loses nothing
        db.execute(delete(MeasureRecord).where(MeasureRecord.plan_id.in_(
            [p.id for p in replaced[chunk:chunk + 5000]]))
            .execution_options(synchronize_session=False))
    for plan in replaced:
        for measure in plan.measures:
            db.expunge(measure)
        set_committed_value(plan, "measures", [])
        touch(plan)
    for plan, _, measures in pending:
        plan.run_id, plan.drafted_by, plan.drafted_on = run_id, actor, as_of
        plan.measures = measures
        db.add(plan)
    flush(db)
    for plan, before, _ in pending:
        audit.record(db, actor=actor, action="redraft" if before else "draft", entity="plan",
                     entity_id=str(plan.id), before=before,
                     after={**plan_snapshot(db, plan, numbers), "as_of": as_of})


@changes(Action.APPROVE_PLAN)
def approve(db: Session, *, principal: Principal, plan_id: int, as_of: date,
            expected_version: int | None) -> dict[str, Any]:
    """Draft → approved (needs a measure that is not cancelled), audited."""
    actor = principal.actor
    plan = plan_for_update(db, plan_id=plan_id, scope=principal.scope)
    before = plan_snapshot(db, plan)
    check_version(plan_named(plan_id), plan, expected_version, before)
    live = sum(1 for m in plan.measures if m.status != MeasureStatus.CANCELLED.value)
    plan.status = ledger.approve(PlanStatus.of(plan.status), live_measures=live).value
    plan.approved_by, plan.approved_on = actor, as_of
    flush(db)
    audit.record(db, actor=actor, action="approve", entity="plan", entity_id=str(plan.id),
                 before={"status": before["status"], "version": before["version"]},
                 after={"status": plan.status, "version": plan.version, "as_of": as_of})
    return {"plan": plan.id, "status": plan.status, "version": plan.version,
            "approved_by": plan.approved_by, "approved_on": plan.approved_on}


@changes(Action.APPROVE_PLAN)
def approve_all(db: Session, *, principal: Principal, as_of: date) -> list[dict[str, Any]]:
    """Approve every draft plan in scope that has a live measure; one audit event each."""
    actor = principal.actor
    drafts = db.scalars(
        select(PlanRecord).join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .where(PlanRecord.status == PlanStatus.DRAFT.value, records.in_scope(principal.scope))
        .options(selectinload(PlanRecord.measures)).order_by(PlanRecord.id)
        .with_for_update(of=PlanRecord).execution_options(populate_existing=True)).all()
    approved = []
    for plan in drafts:
        live = sum(1 for m in plan.measures if m.status != MeasureStatus.CANCELLED.value)
        if live:  # a plan without measures waits for a person to add one
            before = plan.version
            plan.status = ledger.approve(PlanStatus.DRAFT, live_measures=live).value
            plan.approved_by, plan.approved_on = actor, as_of
            approved.append((plan, before))
    flush(db)
    for plan, before in approved:
        audit.record(db, actor=actor, action="approve", entity="plan", entity_id=str(plan.id),
                     before={"status": PlanStatus.DRAFT.value, "version": before},
                     after={"status": plan.status, "version": plan.version, "as_of": as_of})
    return [{"plan": plan.id, "status": plan.status, "version": plan.version}
            for plan, _ in approved]


@reads()
def current_plan(db: Session, *, principal: Principal, number: str) -> int:
    """The id of a household's plan (its newest one)."""
    return current_plan_id(db, number=number, scope=principal.scope)


def _measure_rows(db: Session, where: Any, *, files: bool) -> list[dict[str, Any]]:
    """Measures with their helper and evidence count (and, with ``files``, each file)."""
    evidence = func.count(EvidenceRecord.id).label("evidence")
    rows = db.execute(
        select(MeasureRecord, HelperRecord.number, HelperRecord.name, evidence)
        .outerjoin(HelperRecord, HelperRecord.id == MeasureRecord.helper_id)
        .outerjoin(EvidenceRecord, EvidenceRecord.measure_id == MeasureRecord.id)
        .where(where)
        .group_by(MeasureRecord.id, HelperRecord.number, HelperRecord.name)
        .order_by(MeasureRecord.id)).all()
    found = [_measure_row(m, helper, name, count) for m, helper, name, count in rows]
    if files:
        attached = _evidence_files(db, [row["id"] for row in found])
        for row in found:
            row["evidence_files"] = attached.get(row["id"], [])
    return found


def _evidence_files(db: Session, measure_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each measure's evidence files (name, hash, type, size, who, when), in one query."""
    attached: dict[int, list[dict[str, Any]]] = {}
    if not measure_ids:
        return attached
    for e in db.scalars(select(EvidenceRecord).where(EvidenceRecord.measure_id.in_(measure_ids))
                        .order_by(EvidenceRecord.id)):
        attached.setdefault(e.measure_id, []).append({
            "evidence": e.id, "file": e.filename, "sha256": e.sha256, "type": e.content_type,
            "size": e.size, "by": e.uploaded_by, "on": e.uploaded_on})
    return attached


@reads()
def show(db: Session, *, principal: Principal, number: str,
         files: bool = False) -> dict[str, Any]:
    """A household's plan and its measures as plain data (helper, evidence count, status;
    with ``files``, each measure's evidence files too)."""
    household = records.household(db, principal=principal, number=number)
    plan = db.scalars(select(PlanRecord).where(PlanRecord.household_id == household.id)
                      .order_by(PlanRecord.id.desc())).first()
    if plan is None:
        raise NotFound(f"household {number} has no plan")
    return {
        "plan": {"household": number, "plan": plan.id, "status": plan.status,
                 "version": plan.version, "run": plan.run_id, "drafted_by": plan.drafted_by,
                 "drafted_on": plan.drafted_on, "approved_by": plan.approved_by,
                 "approved_on": plan.approved_on},
        "measures": _measure_rows(db, MeasureRecord.plan_id == plan.id, files=files),
    }


@reads()
def measure(db: Session, *, principal: Principal, measure_id: int) -> dict[str, Any]:
    """One measure in scope as ``show`` lists it, with its plan, household and evidence files."""
    found = db.execute(
        select(MeasureRecord.plan_id, HouseholdRecord.number)
        .join(PlanRecord, PlanRecord.id == MeasureRecord.plan_id)
        .join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .where(MeasureRecord.id == measure_id, records.in_scope(principal.scope))).first()
    if found is None:
        raise NotFound(f"measure {measure_id} not found")
    row = _measure_rows(db, MeasureRecord.id == measure_id, files=True)[0]
    return {**row, "plan": found[0], "household": found[1]}


def _measure_row(m: MeasureRecord, helper: str | None, name: str | None,
                 evidence: int) -> dict[str, Any]:
    return {
        "id": m.id, "kind": m.kind, "content": m.content, "indicator": m.indicator,
        "cause": m.cause, "helper": helper, "helper_name": name, "unit": m.unit,
        "due_date": m.due_date, "budget": float(m.budget), "funding_source": m.funding_source,
        "status": m.status, "evidence": evidence, "completed_on": m.completed_on,
        "verifier": m.verifier, "verified_on": m.verified_on,
        "cancel_reason": m.cancel_reason, "delay_reason": m.delay_reason,
        "follow_up": m.follow_up, "remeasure": m.remeasure, "version": m.version,
    }
