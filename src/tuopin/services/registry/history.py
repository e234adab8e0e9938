"""A household's history: the audit events about it and everything hanging off it.

The audit trail names each record by its own id (a member by its row id, a measure by its
id, a survey as ``number/year``…); this gathers the ids of one household's members, plans,
measures and cases, and reads their events through the (entity, entity_id) index. The
payloads hold personal numbers (a registration lists its members): they are masked for a
principal whose role does not show them, and shown in full only as a recorded reveal.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from tuopin.services import records
from tuopin.services.access import masking
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import QuotaLimiter
from tuopin.storage.models import (
    AuditEventRecord,
    MeasureRecord,
    MemberRecord,
    MonitoringCaseRecord,
    PlanRecord,
    ShockEventRecord,
)

A = AuditEventRecord
LIMIT = 200  # the newest events; the rest stay in `tuopin audit log`


def _ids(db: Session, column: Any, where: Any) -> list[str]:
    return [str(v) for v in db.scalars(select(column).where(where))]


def _changes(before: str | None, after: str | None) -> list[dict[str, Any]]:
    """The fields an event changed (or set, or removed), each with its old and new value."""
    old = json.loads(before) if before else {}
    new = json.loads(after) if after else {}
    if not isinstance(old, dict) or not isinstance(new, dict):
        return []
    return [{"field": k, "before": old.get(k), "after": new.get(k)}
            for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]


@reads()
def events(db: Session, *, principal: Principal, number: str, reveal: bool = False,
           limit: int = LIMIT, quota: QuotaLimiter | None = None) -> list[dict[str, Any]]:
    """The household's audit events, newest first, each with what it changed; personal
    numbers masked unless the principal's role shows them or ``reveal`` (recorded) asks."""
    home = records.household(db, principal=principal, number=number)
    if reveal:
        masking.reveal_history(db, principal=principal, number=number, quota=quota)
    plans = select(PlanRecord.id).where(PlanRecord.household_id == home.id)
    named = {
        "household": [number], "exit_case": [number],
        "member": _ids(db, MemberRecord.id, MemberRecord.household_id == home.id),
        "plan": _ids(db, PlanRecord.id, PlanRecord.household_id == home.id),
        "measure": _ids(db, MeasureRecord.id, MeasureRecord.plan_id.in_(plans)),
        "monitoring_case": _ids(db, MonitoringCaseRecord.id,
                                MonitoringCaseRecord.household_id == home.id),
        "shock_event": _ids(db, ShockEventRecord.id, ShockEventRecord.household_id == home.id),
    }
    wanted = [and_(A.entity == entity, A.entity_id.in_(ids))
              for entity, ids in named.items() if ids]
    wanted.append(and_(A.entity == "survey", A.entity_id.startswith(f"{number}/",
                                                                     autoescape=True)))
    rows = db.scalars(select(A).where(or_(*wanted)).order_by(A.id.desc()).limit(limit))
    found = [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
              "entity": e.entity, "entity_id": e.entity_id,
              "changes": _changes(e.before, e.after)} for e in rows]
    return masking.mask_history(found, clear=reveal or principal.sees_identifiers)
