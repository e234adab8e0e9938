"""Looking households up for one user: search, a village's list, one household's file.

Each function composes the reads one screen needs, all through the user's ``Access`` (a
region scope, and for a helper only the assigned households), so a caller cannot forget it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel
from tuopin.domain.errors import NotFound, PermissionDenied
from tuopin.services import records
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.services.access.probes import IdSearches, counts_as_id_search
from tuopin.services.assessment import runs as assessments
from tuopin.services.registry import queries as registry
from tuopin.storage.models import AssessmentResultRecord, AssessmentRunRecord, HouseholdRecord

VILLAGE_LIMIT = 5000  # more households than any village has
TREE_DEPTH = 3


@reads()
def region_code(*, principal: Principal, code: str) -> str:
    """A well-formed region code inside the user's scope (regions are not secret: 403)."""
    normal = regions.normalize(code)
    try:
        regions.level_of(normal)
    except regions.RegionCodeError as exc:
        raise NotFound(f"region {code} not found") from exc
    if not principal.scope.covers(normal):
        raise PermissionDenied(f"region {normal} is outside your region")
    return normal


@reads()
def tree(db: Session, *, principal: Principal, root: str | None = None) -> list[dict[str, Any]]:
    """Three levels of the region tree from ``root`` (default: the user's region), counted."""
    code = region_code(principal=principal, code=root) if root else None
    nodes = registry.region_tree(db, principal=principal, root=code, depth=TREE_DEPTH)
    if code and not nodes:
        raise NotFound(f"region {code} not found")
    top = min((n.level for n in nodes), default=1)
    return [{**n.as_row(), "depth": n.level - top,
             "village": n.level == RegionLevel.VILLAGE} for n in nodes]


@reads()
def search(db: Session, *, principal: Principal, text: str, limit: int = 50,
           id_searches: IdSearches | None = None) -> list[dict[str, Any]]:
    """Households matching a number, a head's or member's name, or an ID number (a search
    by a full ID number of someone who sees them masked is audited and counted)."""
    if not text.strip():
        return []
    if id_searches is not None and counts_as_id_search(principal, text):
        id_searches.take(principal, text.strip().upper())
    # the scope holds a helper's households: the query selects only those
    return registry.search(db, principal=principal, text=text, limit=limit)


@reads()
def village(db: Session, *, principal: Principal, code: str) -> dict[str, Any]:
    """A village (or any region) with its counts and the households the user may see in it."""
    code = region_code(principal=principal, code=code)
    nodes = registry.region_tree(db, principal=principal, root=code, depth=1)
    if not nodes:
        raise NotFound(f"region {code} not found")
    # An empty search text matches every household number: the region's whole list.
    return {"region": nodes[0].as_row(),
            "households": registry.search(db, principal=principal.within(code), text="",
                                          limit=VILLAGE_LIMIT)}


@reads()
def latest_run(db: Session, *, principal: Principal, number: str,
               standard: str | None = None) -> int | None:
    """The newest assessment run that has a result for this household (of ``standard``)."""
    # through the household's id, which results are indexed by (their number is not)
    query = select(func.max(AssessmentResultRecord.run_id)).join(
        HouseholdRecord, HouseholdRecord.id == AssessmentResultRecord.household_id).where(
        HouseholdRecord.number == number, records.in_scope(principal.scope))
    if standard is not None:
        query = query.join(AssessmentRunRecord,
                           AssessmentRunRecord.id == AssessmentResultRecord.run_id).where(
            AssessmentRunRecord.standard_name == standard)
    return db.scalar(query)


@reads()
def household(db: Session, *, principal: Principal, number: str, today: date,
              lang: str) -> dict[str, Any]:
    """Members, surveys, helpers and the latest assessment (explained) of one household."""
    detail = registry.household_detail(db, principal=principal, number=number, today=today)
    detail["assessment"] = assessments.latest_household_result(
        db, number=number, principal=principal, lang=lang)
    return detail
