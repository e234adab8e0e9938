"""A run's record and its household results page by page, for programs (the API).

Results are read in the order of the household's id within the run - the order of the
run's unique index (run, household) - so that a page is a range of that index, never an
OFFSET; each page holds only the households of the caller's region (a helper: their own).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.services import records
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import get_run, run_row
from tuopin.storage.models import AssessmentResultRecord
from tuopin.storage.scope import in_households, in_region

R = AssessmentResultRecord


def _ids(text: str | None) -> list[str]:
    return [part for part in (text or "").split(";") if part]


@reads()
def run_detail(db: Session, *, principal: Principal, run_id: int) -> dict[str, Any]:
    """One run's record: its standard, year, totals, counts per indicator and category, and
    the seconds each stage took."""
    run = get_run(db, run_id)
    counts = json.loads(run.counts)
    return {**run_row(run, full=False), "created_at": run.created_at, "note": run.note,
            "deprived": counts.get("indicators", {}), "category_counts":
            counts.get("categories", {}), "timings": json.loads(run.timings or "{}")}


@reads()
def result_page(db: Session, *, principal: Principal, run_id: int, after: int | None = None,
                limit: int = 100, poor: bool | None = None,
                region: str | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` results of run ``run_id`` after the household id ``after``, in the
    principal's region (and the region code prefix ``region``), only the poor or only the
    others if ``poor`` is given."""
    get_run(db, run_id)  # NotFound for a run that does not exist
    prefix = records.region_filter(principal, region)
    scope = principal.scope
    query = (select(R.household_id, R.household_number, R.village_code, R.members, R.poor,
                    R.score, R.income_per_capita, R.deprived, R.categories)
             .where(R.run_id == run_id, in_region(scope, R.village_code),
                    in_households(scope, R.household_number))
             .order_by(R.household_id).limit(limit))
    if after is not None:
        query = query.where(R.household_id > after)
    if poor is not None:
        query = query.where(R.poor.is_(poor))
    if prefix:
        query = query.where(R.village_code.startswith(prefix, autoescape=True))
    return [{"run": run_id, "household_id": hid, "household": number, "village_code": village,
             "members": members, "poor": bool(is_poor), "score": score,
             "income_per_capita": income, "deprived": _ids(deprived),
             "categories": _ids(categories)}
            for hid, number, village, members, is_poor, score, income, deprived, categories
            in db.execute(query)]
