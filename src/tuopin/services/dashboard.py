"""The dashboard of a region: figures read from stored assessment results, not the registry.

Poverty figures (population, poor households and people, incidence, the trend and the
breakdown by the next level down) are SQL aggregates over ``assessment_result`` of the
newest run of one standard; the workflow figures (exits this year, monitored households,
overdue measures) are single COUNT queries. Nothing here loops over households in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from tuopin.domain import ledger, regions
from tuopin.domain.enums import (
    ExitState,
    HouseholdStatus,
    PlanStatus,
    RegionLevel,
)
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    ExitCaseRecord,
    HouseholdRecord,
    MeasureRecord,
    PlanRecord,
    RegionRecord,
)
from tuopin.storage.scope import Scope

R = AssessmentResultRecord


@dataclass(frozen=True)
class Figures:
    """Households, people and the poor among them (one run, one region)."""

    households: int = 0
    people: int = 0
    poor_households: int = 0
    poor_people: int = 0

    @property
    def incidence(self) -> float | None:
        """Poor people ÷ people (贫困发生率)."""
        return self.poor_people / self.people if self.people else None


@dataclass
class Dashboard:
    """Everything the dashboard shows, as plain data."""

    region: str | None
    standards: list[str]
    standard: str | None = None
    run: dict[str, Any] | None = None
    totals: Figures = field(default_factory=Figures)
    trend: list[dict[str, Any]] = field(default_factory=list)
    level: str | None = None  # the level of the breakdown rows
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    exits_this_year: int = 0
    monitored_households: int = 0
    overdue_measures: int = 0


def _sums() -> list[Any]:
    poor = cast(R.poor, Integer)
    return [func.count(R.id), func.coalesce(func.sum(R.members), 0),
            func.coalesce(func.sum(poor), 0), func.coalesce(func.sum(R.members * poor), 0)]


def _figures(row: Any) -> Figures:
    return Figures(*(int(v or 0) for v in row))


def _runs(db: Session, scope: Scope) -> list[Any]:
    """Every run with results in the scope, with its totals there (one GROUP BY)."""
    return list(db.execute(
        select(AssessmentRunRecord.id, AssessmentRunRecord.standard_name,
               AssessmentRunRecord.year, *_sums())
        .join(R, R.run_id == AssessmentRunRecord.id)
        .where(scope.clause(R.village_code))
        .group_by(AssessmentRunRecord.id, AssessmentRunRecord.standard_name,
                  AssessmentRunRecord.year)
        .order_by(AssessmentRunRecord.id)).all())


def _child_level(scope: Scope) -> RegionLevel | None:
    if not scope.region_code:
        return RegionLevel.PROVINCE
    level = regions.level_of(scope.region_code)
    return None if level is RegionLevel.VILLAGE else RegionLevel(level + 1)


def _breakdown(db: Session, run_id: int, scope: Scope,
               level: RegionLevel) -> list[dict[str, Any]]:
    """The run's figures for each region of ``level`` inside the scope."""
    prefix = func.substr(R.village_code, 1, level.digits)
    rows = db.execute(select(prefix.label("prefix"), *_sums())
                      .where(R.run_id == run_id, scope.clause(R.village_code))
                      .group_by(prefix).order_by(prefix)).all()
    codes = [r.prefix.ljust(12, "0") for r in rows]
    names = dict(db.execute(select(RegionRecord.code, RegionRecord.name)
                            .where(RegionRecord.code.in_(codes))).all())
    result = []
    for code, row in zip(codes, rows, strict=True):
        figures = _figures(row[1:])
        result.append({"code": code, "name": names.get(code, code),
                       "village": level is RegionLevel.VILLAGE, **vars(figures),
                       "incidence": figures.incidence})
    return result


def _workflow_counts(db: Session, scope: Scope, as_of: date) -> tuple[int, int, int]:
    in_scope = scope.clause(HouseholdRecord.village_code)
    exits = db.scalar(
        select(func.count(ExitCaseRecord.id))
        .join(HouseholdRecord, HouseholdRecord.id == ExitCaseRecord.household_id)
        .where(ExitCaseRecord.state == ExitState.EXITED.value,
               ExitCaseRecord.exited_on >= date(as_of.year, 1, 1),
               ExitCaseRecord.exited_on <= as_of, in_scope))
    monitored = db.scalar(select(func.count(HouseholdRecord.id)).where(
        HouseholdRecord.status == HouseholdStatus.MONITORED.value, in_scope))
    overdue = db.scalar(
        select(func.count(MeasureRecord.id))
        .join(PlanRecord, PlanRecord.id == MeasureRecord.plan_id)
        .join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
        .where(PlanRecord.status == PlanStatus.APPROVED.value,
               MeasureRecord.status.in_([s.value for s in ledger.OPEN]),
               MeasureRecord.due_date < as_of, in_scope))
    return int(exits or 0), int(monitored or 0), int(overdue or 0)


def overview(db: Session, *, scope: Scope, as_of: date,
             standard: str | None = None) -> Dashboard:
    """The dashboard of ``scope`` on ``as_of`` from the newest run of ``standard``
    (default: the standard of the newest run that has results in the scope)."""
    runs = _runs(db, scope)
    standards = sorted({r.standard_name for r in runs})
    board = Dashboard(scope.region_code, standards)
    board.exits_this_year, board.monitored_households, board.overdue_measures = (
        _workflow_counts(db, scope, as_of))
    chosen = standard if standard in standards else (runs[-1].standard_name if runs else None)
    mine = [r for r in runs if r.standard_name == chosen]
    if not mine:
        return board
    latest = mine[-1]
    board.standard = chosen
    board.run = {"id": latest.id, "year": latest.year, "standard": chosen}
    board.totals = _figures(latest[3:])
    by_year = {r.year: r for r in mine}  # runs are in id order: the newest of each year wins
    board.trend = [{"year": year, "run": r.id, **vars(_figures(r[3:]))}
                   for year, r in sorted(by_year.items())]
    level = _child_level(scope)
    if level is not None:
        board.level = level.title
        board.breakdown = _breakdown(db, latest.id, scope, level)
    return board
