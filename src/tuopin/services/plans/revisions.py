"""动态调整: editing plans. A draft is edited freely (audited); every change to an approved
plan is a revision that records who, when, why and the measure before and after."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain import ledger
from tuopin.domain.enums import MeasureKind, MeasureStatus, PlanStatus, PovertyCause
from tuopin.domain.errors import ValidationFailed
from tuopin.domain.measures import entry
from tuopin.domain.money import parse_money
from tuopin.services import audit
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.plans.store import (
    MEASURE_FIELDS,
    assigned_helpers,
    check_version,
    current_plan_id,
    facts,
    flush,
    helper_by_number,
    measure_and_plan_for_update,
    measure_named,
    measure_row,
    measure_snapshot,
    plan_for_update,
    plan_named,
    plan_snapshot,
    touch,
)
from tuopin.storage.models import MeasureRecord, PlanRecord, PlanRevisionRecord, table_of


def _width(name: str) -> int | None:
    return getattr(table_of(MeasureRecord).c[name].type, "length", None)


def write_revision(db: Session, *, plan: PlanRecord, actor: str, as_of: date, reason: str,
                   before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Record one change to an approved plan (the caller has checked the reason)."""
    db.add(PlanRevisionRecord(plan_id=plan.id, changed_on=as_of, changed_by=actor,
                              reason=reason.strip(), before=audit.canonical_json(before),
                              after=audit.canonical_json(after)))


def _date(value: object) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(f"due_date: {value!r} is not a date (YYYY-MM-DD)") from None


def _budget(value: object) -> float:
    # yuan and fen, finite and bounded (domain.money); stored in a NUMERIC(14, 2) column
    return float(parse_money(value, field="budget"))


def _text(name: str, value: object, width: int | None = None) -> str | None:
    text = None if value is None else str(value).strip() or None
    if text is not None and width is not None and len(text) > width:
        raise ValidationFailed(f"{name}: longer than {width} characters")
    return text


def _enum(name: str, kind: Any, value: object) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return str(kind.of(str(value).strip()).value)
    except ValueError:
        raise ValidationFailed(f"{name}: {value!r} is not one of "
                               f"{', '.join(m.value for m in kind)}") from None


def coerce(db: Session, changes: Mapping[str, object]) -> dict[str, Any]:
    """Typed-in measure fields checked and converted; ``helper`` becomes ``helper_id``."""
    unknown = sorted(set(changes) - set(MEASURE_FIELDS))
    if unknown:
        raise ValidationFailed(f"not a measure field: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "kind":
            values[name] = _enum(name, MeasureKind, value)
            if values[name] is None:
                raise ValidationFailed("kind: a measure needs a kind")
        elif name == "cause":
            values[name] = _enum(name, PovertyCause, value)
        elif name == "due_date":
            values[name] = _date(value)
        elif name == "budget":
            values[name] = _budget(value)
        elif name == "helper":
            helper = None if _text(name, value) is None else helper_by_number(db, str(value))
            values["helper_id"] = helper.id if helper else None
            values.setdefault("unit", helper.unit if helper else None)
        elif name == "content":
            values[name] = _text(name, value)
            if values[name] is None:
                raise ValidationFailed("content: a measure needs a content")
        else:
            values[name] = _text(name, value, _width(name))
    if "unit" in changes:
        values["unit"] = _text("unit", changes["unit"], _width("unit"))
    return values


@changes(Action.EDIT_PLAN)
def revise_measure(db: Session, *, principal: Principal, measure_id: int,
                   changes: Mapping[str, object], reason: str | None, as_of: date,
                   expected_version: int | None) -> dict[str, Any]:
    """Change a measure's fields: an edit on a draft, a revision (reason needed) once approved."""
    measure, plan = measure_and_plan_for_update(db, measure_id=measure_id,
                                                scope=principal.scope)
    before = measure_snapshot(db, measure)
    check_version(measure_named(measure_id), measure, expected_version, before)
    ledger.revise(facts(db, measure), reason=reason)
    values = coerce(db, changes)
    if all(getattr(measure, k) == v for k, v in values.items()):
        return measure_row(db, measure)  # nothing to change, nothing to record
    for name, value in values.items():
        setattr(measure, name, value)
    return _recorded(db, plan, measure, before, actor=principal.actor, as_of=as_of,
                     reason=reason, action="revise" if _approved(plan) else "edit")


@changes(Action.EDIT_PLAN)
def add_measure(db: Session, *, principal: Principal, plan_id: int,
                fields: Mapping[str, object], reason: str | None, as_of: date,
                expected_version: int | None) -> dict[str, Any]:
    """Add a measure (defaults from the catalogue and the assigned helper); audited."""
    plan = plan_for_update(db, plan_id=plan_id, scope=principal.scope)
    check_version(plan_named(plan_id), plan, expected_version, plan_snapshot(db, plan))
    if plan.status == PlanStatus.APPROVED.value:
        ledger.need_reason(reason)
    values = coerce(db, fields)
    if values.get("kind") is None:
        raise ValidationFailed("kind: a measure needs a kind")
    defaults = entry(MeasureKind.of(values["kind"]))
    if "helper_id" not in values:
        helper = assigned_helpers(db, [plan.household_id], as_of).get(plan.household_id)
        values["helper_id"] = helper.id if helper else None
        values.setdefault("unit", helper.unit if helper else None)
    measure = MeasureRecord(**{
        "content": defaults.content_zh, "due_date": as_of + timedelta(days=defaults.days),
        "budget": defaults.budget, "funding_source": defaults.funding, **values,
        "status": MeasureStatus.PLANNED.value})
    plan.measures.append(measure)
    return _recorded(db, plan, measure, None, actor=principal.actor, as_of=as_of,
                     reason=reason, action="add_measure")


def _approved(plan: PlanRecord) -> bool:
    return plan.status == PlanStatus.APPROVED.value


def _recorded(db: Session, plan: PlanRecord, measure: MeasureRecord,
              before: dict[str, Any] | None, *, actor: str, as_of: date, reason: str | None,
              action: str) -> dict[str, Any]:
    """Write a measure's change: the plan's new version, a revision once the plan is
    approved (before and after), and the audit event."""
    touch(plan)
    flush(db)
    after = measure_snapshot(db, measure)
    if _approved(plan):
        write_revision(db, plan=plan, actor=actor, as_of=as_of, reason=str(reason),
                       before=before, after=after)
    audit.record(db, actor=actor, action=action, entity="measure", entity_id=str(measure.id),
                 before=before, after={**after, "plan": plan.id, "reason": reason,
                                       "as_of": as_of})
    return measure_row(db, measure)


@reads()
def history(db: Session, *, principal: Principal, number: str) -> list[dict[str, Any]]:
    """A household's plan's revisions, oldest first, with before and after as data."""
    plan_id = current_plan_id(db, number=number, scope=principal.scope)
    rows = db.scalars(select(PlanRevisionRecord).where(PlanRevisionRecord.plan_id == plan_id)
                      .order_by(PlanRevisionRecord.id)).all()
    return [{"revision": r.id, "changed_on": r.changed_on, "changed_by": r.changed_by,
             "reason": r.reason, "before": json.loads(r.before) if r.before else None,
             "after": json.loads(r.after) if r.after else None} for r in rows]
