"""Overdue measures and the 问责清单: who owes what, how late, why, and what follows.

"没有按期落实的要查明原因、问责处理": a measure of an approved plan that is still planned or
in progress after its due date is overdue. The lists are read as plain rows (one query);
grouping happens on those rows because every measure is listed in the output anyway.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from tuopin.domain import ledger
from tuopin.domain.enums import MeasureStatus, PlanStatus
from tuopin.services import records
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import HelperRecord, HouseholdRecord, MeasureRecord, PlanRecord

OVERDUE_COLUMNS = ["measure", "household", "village_code", "kind", "content", "indicator",
                   "helper", "helper_name", "unit", "due_date", "days_overdue", "status",
                   "delay_reason", "follow_up"]
GROUP_COLUMNS = ["helper", "helper_name", "unit", "measures", "total_days_overdue",
                 "max_days_overdue", "without_reason"]


@reads()
def overdue(db: Session, *, principal: Principal, as_of: date,
            after: tuple[date, int] | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
    """Measures still owed after their due date, most overdue first (a helper's scope:
    their households' only); a page of ``limit`` after the key (due date, measure) ``after``."""
    scope = principal.scope
    query = (
        select(MeasureRecord.id, HouseholdRecord.number, HouseholdRecord.village_code,
               MeasureRecord.kind, MeasureRecord.content, MeasureRecord.indicator,
               HelperRecord.number.label("helper"), HelperRecord.name.label("helper_name"),
               MeasureRecord.unit, MeasureRecord.due_date, MeasureRecord.status,
               MeasureRecord.delay_reason, MeasureRecord.follow_up)
        .join(PlanRecord, PlanRecord.id == MeasureRecord.plan_id)
        .join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .outerjoin(HelperRecord, HelperRecord.id == MeasureRecord.helper_id)
        .where(PlanRecord.status == PlanStatus.APPROVED.value,
               MeasureRecord.status.in_([s.value for s in ledger.OPEN]),
               MeasureRecord.due_date < as_of,
               records.in_scope(scope))
        .order_by(MeasureRecord.due_date, MeasureRecord.id).limit(limit))
    if after is not None:
        query = query.where(or_(MeasureRecord.due_date > after[0],
                                and_(MeasureRecord.due_date == after[0],
                                     MeasureRecord.id > after[1])))
    rows = db.execute(query).all()
    return [{
        "measure": r.id, "household": r.number, "village_code": r.village_code,
        "kind": r.kind, "content": r.content, "indicator": r.indicator, "helper": r.helper,
        "helper_name": r.helper_name, "unit": r.unit, "due_date": r.due_date,
        "days_overdue": ledger.days_overdue(MeasureStatus.of(r.status), r.due_date, as_of),
        "status": r.status, "delay_reason": r.delay_reason, "follow_up": r.follow_up,
    } for r in rows]


@reads(Action.READ_LISTS)
def accountability(db: Session, *, principal: Principal, as_of: date) -> list[dict[str, Any]]:
    """The 问责清单: overdue measures grouped by responsible helper and unit, worst first."""
    groups: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for row in overdue(db, principal=principal, as_of=as_of):
        group = groups.setdefault((row["helper"], row["unit"]), {
            "helper": row["helper"], "helper_name": row["helper_name"], "unit": row["unit"],
            "measures": 0, "total_days_overdue": 0, "max_days_overdue": 0,
            "without_reason": 0, "items": []})
        group["measures"] += 1
        group["total_days_overdue"] += row["days_overdue"]
        group["max_days_overdue"] = max(group["max_days_overdue"], row["days_overdue"])
        group["without_reason"] += row["delay_reason"] is None
        group["items"].append(row)
    return sorted(groups.values(), key=lambda g: (-g["total_days_overdue"], g["helper"] or "",
                                                  g["unit"] or ""))


def flat(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per overdue measure with its group's totals, for CSV and XLSX."""
    return [{**{c: g[c] for c in GROUP_COLUMNS}, **item}
            for g in groups for item in g["items"]]
