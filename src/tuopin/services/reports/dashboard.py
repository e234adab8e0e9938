"""The dashboard of a region: figures read from stored assessment results, not the registry.

Poverty figures (population, poor households and people, incidence, the trend and the
breakdown by the next level down) are read from ``assessment_rollup``, which the run wrote
for every region and level when it was stored: a request reads a few rows, never the
results. They come from the newest run of the latest year that has results, and the year's
figures (exits) are of that year too, not of today's calendar year, which may have no data
yet. The workflow figures (exits, monitored households, overdue measures) change with every
step and are single COUNT queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tuopin.domain import ledger, regions
from tuopin.domain.enums import HouseholdStatus, PlanStatus, RegionLevel
from tuopin.domain.errors import NotFound
from tuopin.domain.scope import Scope
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.storage import rollups
from tuopin.storage.models import (
    AssessmentRollupRecord,
    AssessmentRunRecord,
    HouseholdRecord,
    MeasureRecord,
    PlanRecord,
    RegionRecord,
    SurveyRecord,
)
from tuopin.storage.scope import in_region

U = AssessmentRollupRecord


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
    year: int | None = None  # the latest year with data: the year of ``exits``
    exits: int = 0  # households that exited in ``year``
    monitored_households: int = 0
    overdue_measures: int = 0


def _figures(row: Any) -> Figures:
    return Figures(*(int(v or 0) for v in row))


def _level_of(scope: Scope) -> RegionLevel:
    return regions.level_of(scope.region_code) if scope.region_code else RegionLevel.PROVINCE


def _runs(db: Session, scope: Scope) -> list[Any]:
    """Every run with results in the scope, with its totals there, from the roll-up: the
    scope's own row (everything: the sum of the provinces)."""
    query = (select(AssessmentRunRecord.id, AssessmentRunRecord.standard_name,
                    AssessmentRunRecord.year, func.sum(U.households), func.sum(U.people),
                    func.sum(U.poor_households), func.sum(U.poor_people))
             .join(U, U.run_id == AssessmentRunRecord.id)
             .where(U.level == int(_level_of(scope)))
             .group_by(AssessmentRunRecord.id, AssessmentRunRecord.standard_name,
                       AssessmentRunRecord.year)
             .order_by(AssessmentRunRecord.id))
    if scope.region_code:
        query = query.where(U.region_code == scope.region_code)
    return list(db.execute(query).all())


def _child_level(scope: Scope) -> RegionLevel | None:
    if not scope.region_code:
        return RegionLevel.PROVINCE
    level = regions.level_of(scope.region_code)
    return None if level is RegionLevel.VILLAGE else RegionLevel(level + 1)


def _breakdown(db: Session, run_id: int, scope: Scope,
               level: RegionLevel) -> list[dict[str, Any]]:
    """The run's figures for each region of ``level`` inside the scope (roll-up rows)."""
    rows = rollups.by_region(db, run_id, level, scope)
    codes = [code for code, *_ in rows]
    names = dict(db.execute(select(RegionRecord.code, RegionRecord.name)
                            .where(RegionRecord.code.in_(codes))).all())
    result = []
    for code, *counts in rows:
        figures = _figures(counts)
        result.append({"code": code, "name": names.get(code, code),
                       "village": level is RegionLevel.VILLAGE, **vars(figures),
                       "incidence": figures.incidence})
    return result


def _latest(runs: list[Any]) -> Any:
    """The newest run of the latest year (runs are in id order)."""
    return max(runs, key=lambda r: (r.year, r.id))


def _data_year(db: Session, scope: Scope, runs: list[Any], as_of: date) -> int:
    """The latest year with data in the scope: of the runs with results there, else of the
    surveys, else ``as_of``'s."""
    if runs:
        return int(_latest(runs).year)
    surveyed = db.scalar(
        select(func.max(SurveyRecord.year))
        .join(HouseholdRecord, HouseholdRecord.id == SurveyRecord.household_id)
        .where(in_region(scope, HouseholdRecord.village_code)))
    return int(surveyed) if surveyed is not None else as_of.year


def _workflow_counts(db: Session, scope: Scope, as_of: date,
                     year: int) -> tuple[int, int, int]:
    in_scope = in_region(scope, HouseholdRecord.village_code)
    # an exit, imported or through the procedure (which records its year), is the
    # household's year_exited
    exits = db.scalar(select(func.count(HouseholdRecord.id)).where(
        HouseholdRecord.year_exited == year, in_scope))
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


@reads()
def overview(db: Session, *, principal: Principal, as_of: date,
             standard: str | None = None) -> Dashboard:
    """The dashboard of the principal's region on ``as_of`` from the newest run of the
    latest year of ``standard`` (default: the standard of the newest run that has results
    there); exits are counted in that year."""
    scope = Scope(principal.scope.region_code)  # figures of the region, not of a helper's few
    runs = _runs(db, scope)
    standards = sorted({r.standard_name for r in runs})
    board = Dashboard(scope.region_code, standards)
    chosen = standard if standard in standards else (runs[-1].standard_name if runs else None)
    mine = [r for r in runs if r.standard_name == chosen]
    board.year = _data_year(db, scope, mine, as_of)
    board.exits, board.monitored_households, board.overdue_measures = (
        _workflow_counts(db, scope, as_of, board.year))
    if not mine:
        return board
    latest = _latest(mine)
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


@reads()
def latest_run(db: Session, *, principal: Principal, standard: str | None = None) -> int:
    """The newest run of the latest year that has results in the principal's region (of
    ``standard``, if given): what a report shows unless told which run."""
    runs = [r for r in _runs(db, Scope(principal.scope.region_code))
            if standard is None or r.standard_name == standard]
    if not runs:
        raise NotFound("no assessment run has results in this region: run `tuopin assess`")
    return int(_latest(runs).id)
