"""Reading the registry: summaries, the region tree with counts, households."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel
from tuopin.domain.errors import NotFound
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import SurveySubmissionRecord
from tuopin.storage.repositories import RegistryRepository

COUNT_KEYS = ("households", "members", "poor", "exited", "monitored")


@reads()
def summary(db: Session, *, principal: Principal) -> dict[str, int]:
    """How many regions, households, living and deceased members, surveys and helpers are
    registered."""
    repo = RegistryRepository(db, principal.scope)
    totals = repo.counts()
    by_status = repo.status_counts()
    return {**totals, **{f"{k}_households": by_status.get(k, 0)
                         for k in ("poor", "exited", "monitored")}}


@reads()
def household_summary(db: Session, *, principal: Principal) -> dict[str, int]:
    """Households (by status) and helpers in the scope: the dashboard's registry cards,
    two grouped passes over households only (no member or survey is counted)."""
    repo = RegistryRepository(db, principal.scope)
    by_status = repo.status_counts()
    return {"households": sum(by_status.values()), "helpers": repo.helper_count(),
            **{f"{k}_households": by_status.get(k, 0) for k in ("poor", "exited", "monitored")}}


@dataclass
class RegionNode:
    code: str
    name: str
    level: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))

    def as_row(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "level": RegionLevel(self.level).title,
                **self.counts}


@reads()
def region_tree(db: Session, *, principal: Principal, root: str | None = None,
                depth: int = 5) -> list[RegionNode]:
    """Regions in code order with household and member counts rolled up every level."""
    repo = RegistryRepository(db, principal.scope)
    nodes = {r.code: RegionNode(r.code, r.name, r.level) for r in repo.regions(root, depth)}
    for row in repo.village_counts():
        for code in [*regions.ancestors(row.village_code), row.village_code]:
            node = nodes.get(code)
            if node is None:
                continue
            for key in COUNT_KEYS:
                node.counts[key] += int(row._mapping[key] or 0)
    top = min((n.level for n in nodes.values()), default=1)
    return [n for n in nodes.values() if n.level < top + depth]


@reads()
def household_detail(db: Session, *, principal: Principal, number: str,
                     today: date) -> dict[str, Any]:
    """A household with its members, surveys and helpers, as plain data."""
    repo = RegistryRepository(db, principal.scope)
    found = repo.household_rows(number)
    if found is None:
        raise NotFound(f"household {number} not found")
    home, rows, years = found
    household = dict(home._mapping)
    members = [{**m._mapping, "age": _age(m.birth_date, today)} for m in rows]
    sources = _submissions(db, home.id)
    surveys = [{**r._mapping, "submission": sources.get(r.year)} for r in years]
    helpers = [dict(r._mapping) for r in repo.helpers_of(home.id)]
    return {"household": household, "members": members, "surveys": surveys,
            "helpers": helpers}


def _submissions(db: Session, household_id: int) -> dict[int, dict[str, Any]]:
    """Where each year's survey came from when it was collected on a phone, by year."""
    table = SurveySubmissionRecord.__table__
    rows = db.execute(select(table).where(table.c.household_id == household_id)).all()
    return {r.year: {k: r._mapping[k] for k in ("instance_id", "current_id", "form_id",
                                                "form_version", "submitter", "submitted_at",
                                                "source")}
            for r in rows}


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@reads()
def search(db: Session, *, principal: Principal, text: str,
           limit: int = 50) -> list[dict[str, Any]]:
    """Households whose number, member name or ID number matches ``text``."""
    repo = RegistryRepository(db, principal.scope)
    return [dict(r._mapping) for r in repo.search(text, limit)]
