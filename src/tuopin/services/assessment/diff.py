"""Which households change status between two assessments, and why (assess diff, what-if)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import Computed, get_run, result_rows
from tuopin.storage.models import AssessmentResultRecord
from tuopin.storage.scope import in_region

COLUMNS = ["household_number", "village_code", "household_id", "poor", "deprived", "score"]


@reads()
def stored_results(session: Session, *, principal: Principal, run_id: int) -> pa.Table:
    """A stored run's results in the principal's region as Arrow (the columns a diff needs)."""
    get_run(session, run_id)
    scope = principal.scope
    r = AssessmentResultRecord
    rows = session.execute(select(r.household_number, r.village_code, r.household_id, r.poor,
                                  r.deprived, r.score)
                           .where(r.run_id == run_id, in_region(scope, r.village_code))).all()
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in COLUMNS]
    types = [pa.string(), pa.string(), pa.int64(), pa.bool_(), pa.string(), pa.float64()]
    return pa.table({n: pa.array(c, t) for n, c, t in zip(COLUMNS, columns, types, strict=True)})


def computed_results(computed: Computed) -> pa.Table:
    return result_rows(0, computed).select(COLUMNS)


def diff(before: pa.Table, after: pa.Table) -> list[dict[str, Any]]:
    """Households whose poor/not-poor status differs, with the indicators gained and lost."""
    old = {r["household_id"]: r for r in before.to_pylist()}
    new = {r["household_id"]: r for r in after.to_pylist()}
    changes = []
    for hid in sorted(old.keys() | new.keys(), key=lambda h: (old.get(h) or new[h])[
            "household_number"]):
        a, b = old.get(hid), new.get(hid)
        was = a["poor"] if a else None
        now = b["poor"] if b else None
        if was == now:
            continue
        set_a = set((a or {}).get("deprived", "").split(";")) - {""}
        set_b = set((b or {}).get("deprived", "").split(";")) - {""}
        changes.append({
            "household_number": (a or b)["household_number"],  # type: ignore[index]
            "village_code": (a or b)["village_code"],  # type: ignore[index]
            "before": _status(was), "after": _status(now),
            "gained": ";".join(sorted(set_b - set_a)), "lost": ";".join(sorted(set_a - set_b)),
        })
    return changes


def _status(poor: bool | None) -> str:
    return "absent" if poor is None else ("poor" if poor else "not poor")


def summary(changes: list[dict[str, Any]]) -> dict[str, int]:
    """How many households move in each direction."""
    counts: dict[str, int] = {}
    for change in changes:
        key = f"{change['before']} -> {change['after']}"
        counts[key] = counts.get(key, 0) + 1
    return counts
