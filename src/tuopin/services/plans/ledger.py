"""The 对账销号 ledger: start, complete, verify (check off) and cancel measures; record why one
is late; let a later assessment run confirm a measure or flag it for review.

The rules live in domain.ledger; each function here loads the measure locked, asks the rule,
and only then writes the change and exactly one audit event, in the caller's transaction.
What completes a measure is the same through every door: evidence attached before or with
the completion (``complete`` takes the files), and a date between the plan's approval and
today. Each function returns the measure as plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from tuopin.domain import ledger
from tuopin.domain.enums import MeasureStatus, PlanStatus
from tuopin.domain.ledger import MeasureFacts
from tuopin.domain.scope import Scope
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import get_run, run_standard
from tuopin.services.plans import evidence
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
from tuopin.services.plans.revisions import write_revision
from tuopin.services.plans.store import (
    check_version,
    facts,
    flush,
    measure_and_plan_for_update,
    measure_for_update,
    measure_named,
    measure_row,
    measure_snapshot,
    measure_state,
    touch,
)
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    HouseholdRecord,
    MeasureRecord,
    PlanRecord,
)

_state = measure_state


def _load(db: Session, measure_id: int, scope: Scope, expected_version: int | None,
          with_plan: bool = False) -> tuple[MeasureRecord, MeasureFacts]:
    if with_plan:  # the plan changes too: lock it first (see measure_and_plan_for_update)
        measure, _ = measure_and_plan_for_update(db, measure_id=measure_id, scope=scope)
    else:
        measure = measure_for_update(db, measure_id=measure_id, scope=scope)
    check_version(measure_named(measure_id), measure, expected_version,
                  {**measure_snapshot(db, measure), **_state(measure)})
    return measure, facts(db, measure)


def _save(db: Session, measure: MeasureRecord, before: dict[str, Any], *, actor: str,
          action: str, as_of: date) -> dict[str, Any]:
    flush(db)
    audit.record(db, actor=actor, action=action, entity="measure", entity_id=str(measure.id),
                 before=before, after={**_state(measure), "as_of": as_of})
    return measure_row(db, measure)


@changes(Action.MOVE_MEASURE)
def start(db: Session, *, principal: Principal, measure_id: int, as_of: date,
          expected_version: int | None = None) -> dict[str, Any]:
    """Planned → in progress."""
    measure, known = _load(db, measure_id, principal.scope, expected_version)
    before = _state(measure)
    measure.status = ledger.start(known).value
    return _save(db, measure, before, actor=principal.actor, action="start", as_of=as_of)


@changes(Action.MOVE_MEASURE)
def complete(db: Session, *, principal: Principal, measure_id: int, completed_on: date | None,
             as_of: date, files: Sequence[EvidenceFile] = (),
             store: EvidenceStore | None = None,
             expected_version: int | None = None) -> dict[str, Any]:
    """→ done, on a date, with ``files`` attached first (evidence attached earlier counts
    too): at least one evidence file is needed."""
    measure, _ = _load(db, measure_id, principal.scope, expected_version)
    for file in files:
        if store is None:
            raise ValueError("evidence files need an EvidenceStore")
        evidence.store(db, principal=principal, measure_id=measure_id, file=file,
                       as_of=as_of, store=store)
    known = facts(db, measure)
    before = _state(measure)
    measure.status = ledger.complete(known, completed_on=completed_on, as_of=as_of).value
    measure.completed_on = completed_on
    return _save(db, measure, before, actor=principal.actor, action="complete", as_of=as_of)


@changes(Action.VERIFY_MEASURE)
def verify(db: Session, *, principal: Principal, measure_id: int, as_of: date,
           verifier: str | None = None, expected_version: int | None = None) -> dict[str, Any]:
    """Done → verified (对账销号) by someone other than the responsible helper: the principal
    (a user) or, from the command line, the verifier it names."""
    measure, known = _load(db, measure_id, principal.scope, expected_version)
    who = principal.username or verifier
    before = _state(measure)
    measure.status = ledger.verify(known, verifier=who).value
    measure.verifier, measure.verified_on = (who or "").strip(), as_of
    return _save(db, measure, before, actor=principal.actor, action="verify", as_of=as_of)


@changes(Action.MOVE_MEASURE)
def cancel(db: Session, *, principal: Principal, measure_id: int, reason: str | None,
           as_of: date, expected_version: int | None = None) -> dict[str, Any]:
    """Drop a measure with a reason; on an approved plan this is also a revision."""
    actor, scope = principal.actor, principal.scope
    measure, known = _load(db, measure_id, scope, expected_version, with_plan=True)
    before = measure_snapshot(db, measure)
    state = _state(measure)
    measure.status = ledger.cancel(known, reason=reason).value
    measure.cancel_reason = str(reason).strip()
    plan = measure.plan
    touch(plan)
    flush(db)
    if plan.status == PlanStatus.APPROVED.value:
        write_revision(db, plan=plan, actor=actor, as_of=as_of, reason=measure.cancel_reason,
                       before=before, after=measure_snapshot(db, measure))
    return _save(db, measure, state, actor=actor, action="cancel", as_of=as_of)


@changes(Action.MOVE_MEASURE)
def record_delay(db: Session, *, principal: Principal, measure_id: int, reason: str | None,
                 follow_up: str | None, as_of: date,
                 expected_version: int | None) -> dict[str, Any]:
    """查明原因: record why a measure is late and the follow-up action (问责)."""
    measure, known = _load(db, measure_id, principal.scope, expected_version)
    before = _state(measure)
    ledger.record_delay(known, reason=reason)
    measure.delay_reason = str(reason).strip()
    measure.follow_up = (follow_up or "").strip() or None
    return _save(db, measure, before, actor=principal.actor, action="delay", as_of=as_of)


@changes(Action.REMEASURE)
def remeasure(db: Session, *, principal: Principal, run_id: int) -> list[dict[str, Any]]:
    """Mark done/verified measures confirmed (indicator met) or for review (verified, failing).

    Only measures whose indicators the run's standard assesses are judged, and only against
    a run of the same or a later year than the one their plan was drafted from.
    """
    actor, scope = principal.actor, principal.scope
    run = get_run(db, run_id)
    assessed = {i.id for i in run_standard(run).indicators}
    drafted_from = aliased(AssessmentRunRecord)
    rows = db.execute(
        select(MeasureRecord, AssessmentResultRecord.deprived,
               AssessmentResultRecord.household_number)
        .join(PlanRecord, PlanRecord.id == MeasureRecord.plan_id)
        .join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .join(AssessmentResultRecord, and_(
            AssessmentResultRecord.household_id == PlanRecord.household_id,
            AssessmentResultRecord.run_id == run_id))
        .outerjoin(drafted_from, drafted_from.id == PlanRecord.run_id)
        .where(MeasureRecord.indicator.is_not(None),
               MeasureRecord.status.in_([MeasureStatus.DONE.value,
                                         MeasureStatus.VERIFIED.value]),
               or_(drafted_from.id.is_(None),
                   and_(drafted_from.id != run_id, drafted_from.year <= run.year)),
               records.in_scope(scope))
        .order_by(MeasureRecord.id)
        .with_for_update(of=MeasureRecord).execution_options(populate_existing=True)
    ).all()
    changes = []
    for measure, deprived, number in rows:
        indicators = {i for i in (measure.indicator or "").split(";") if i}
        if not indicators or not indicators <= assessed:
            continue  # the run's standard does not measure what this measure answers
        outcome = ledger.remeasured(MeasureStatus.of(measure.status),
                                    still_deprived=bool(indicators & set(deprived.split(";"))))
        if outcome is None or (measure.remeasure, measure.remeasure_run_id) == (outcome.value,
                                                                                run_id):
            continue
        before = _state(measure)
        measure.remeasure, measure.remeasure_run_id = outcome.value, run_id
        flush(db)
        audit.record(db, actor=actor, action="remeasure", entity="measure",
                     entity_id=str(measure.id), before=before, after=_state(measure))
        changes.append({"measure": measure.id, "household": number,
                        "indicator": measure.indicator, "status": measure.status,
                        "remeasure": outcome.value, "run": run_id})
    return changes
