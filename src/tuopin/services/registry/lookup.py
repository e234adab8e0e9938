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
from tuopin.domain.scope import Scope
from tuopin.services.access.users import Access
from tuopin.services.assessment import runs as assessments
from tuopin.services.registry import queries as registry
from tuopin.storage.models import AssessmentResultRecord, AssessmentRunRecord, HouseholdRecord
from tuopin.storage.scope import in_region

VILLAGE_LIMIT = 5000  # more households than any village has
TREE_DEPTH = 3


def _region(access: Access, code: str) -> str:
    """A well-formed region code inside the user's scope (regions are not secret: 403)."""
    normal = regions.normalize(code)
    try:
        regions.level_of(normal)
    except regions.RegionCodeError as exc:
        raise NotFound(f"region {code} not found") from exc
    if not access.scope.covers(normal):
        raise PermissionDenied(f"region {normal} is outside your region")
    return normal


def tree(db: Session, *, access: Access, root: str | None = None) -> list[dict[str, Any]]:
    """Three levels of the region tree from ``root`` (default: the user's region), counted."""
    code = _region(access, root) if root else None
    nodes = registry.region_tree(db, scope=access.scope, root=code, depth=TREE_DEPTH)
    if code and not nodes:
        raise NotFound(f"region {code} not found")
    top = min((n.level for n in nodes), default=1)
    return [{**n.as_row(), "depth": n.level - top,
             "village": n.level == RegionLevel.VILLAGE} for n in nodes]


def search(db: Session, *, access: Access, text: str, limit: int = 50) -> list[dict[str, Any]]:
    """Households matching a number, a head's or member's name, or an ID number."""
    if not text.strip():
        return []
    # the scope holds a helper's households: the query selects only those
    return registry.search(db, scope=access.scope, text=text, limit=limit)


def village(db: Session, *, access: Access, code: str) -> dict[str, Any]:
    """A village (or any region) with its counts and the households the user may see in it."""
    code = _region(access, code)
    nodes = registry.region_tree(db, scope=access.scope, root=code, depth=1)
    if not nodes:
        raise NotFound(f"region {code} not found")
    # An empty search text matches every household number: the region's whole list.
    inside = Scope(code, households=access.scope.households)
    return {"region": nodes[0].as_row(),
            "households": registry.search(db, scope=inside, text="", limit=VILLAGE_LIMIT)}


def latest_run(db: Session, *, scope: Scope, number: str,
               standard: str | None = None) -> int | None:
    """The newest assessment run that has a result for this household (of ``standard``)."""
    # through the household's id, which results are indexed by (their number is not)
    query = select(func.max(AssessmentResultRecord.run_id)).join(
        HouseholdRecord, HouseholdRecord.id == AssessmentResultRecord.household_id).where(
        HouseholdRecord.number == number, in_region(scope, AssessmentResultRecord.village_code))
    if standard is not None:
        query = query.join(AssessmentRunRecord,
                           AssessmentRunRecord.id == AssessmentResultRecord.run_id).where(
            AssessmentRunRecord.standard_name == standard)
    return db.scalar(query)


def household(db: Session, *, access: Access, number: str, today: date,
              lang: str) -> dict[str, Any]:
    """Members, surveys, helpers and the latest assessment (explained) of one household."""
    if not access.sees(number):
        raise NotFound(f"household {number} not found")
    detail = registry.household_detail(db, scope=access.scope, number=number, today=today)
    detail["assessment"] = assessments.latest_household_result(
        db, number=number, scope=access.scope, lang=lang)
    return detail
