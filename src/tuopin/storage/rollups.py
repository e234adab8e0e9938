"""A run's figures per region and level (assessment_rollup), written once with the run.

Villages are summed from the run's results in one grouped pass; every level above is
summed from the village rows, so the whole roll-up costs about one scan of the results.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Integer, case, cast, func, insert, literal, select

from tuopin.domain.enums import RegionLevel
from tuopin.domain.scope import Scope
from tuopin.storage.models import AssessmentResultRecord, AssessmentRollupRecord
from tuopin.storage.scope import in_region

R = AssessmentResultRecord
U = AssessmentRollupRecord
COLUMNS = ("run_id", "level", "region_code", "households", "people", "poor_households",
           "poor_people")


def write(conn: Connection, run_id: int) -> None:
    """Store the roll-up of run ``run_id`` (its results must be written already)."""
    poor = case((R.poor, 1), else_=0)
    villages = (
        select(literal(run_id), literal(int(RegionLevel.VILLAGE)), R.village_code,
               func.count(R.id), func.coalesce(func.sum(R.members), 0),
               func.coalesce(func.sum(poor), 0),
               func.coalesce(func.sum(cast(R.members, Integer) * poor), 0))
        .where(R.run_id == run_id).group_by(R.village_code))
    conn.execute(insert(U).from_select(COLUMNS, villages))
    for level in (RegionLevel.TOWNSHIP, RegionLevel.COUNTY, RegionLevel.PREFECTURE,
                  RegionLevel.PROVINCE):
        code = func.substr(U.region_code, 1, level.digits).concat("0" * (12 - level.digits))
        above = (
            select(literal(run_id), literal(int(level)), code, func.sum(U.households),
                   func.sum(U.people), func.sum(U.poor_households), func.sum(U.poor_people))
            .where(U.run_id == run_id, U.level == int(RegionLevel.VILLAGE))
            .group_by(code))
        conn.execute(insert(U).from_select(COLUMNS, above))


def by_region(db: Any, run_id: int, level: RegionLevel, scope: Scope) -> list[tuple[Any, ...]]:
    """Run ``run_id``'s figures for every region of ``level`` inside ``scope``, in code
    order: (12-digit code, households, people, poor households, poor people).

    Read from the level asked for, or from the scope's own level when the scope lies inside
    one region of that level (a township's officer asking for counties gets the township's
    figures, not the whole county's)."""
    source = max((level, *(lv for lv in RegionLevel if lv.digits == len(scope.prefix))),
                 key=lambda lv: lv.digits)
    code = func.substr(U.region_code, 1, level.digits)
    rows = db.execute(
        select(code, func.sum(U.households), func.sum(U.people), func.sum(U.poor_households),
               func.sum(U.poor_people))
        .where(U.run_id == run_id, U.level == int(source), in_region(scope, U.region_code))
        .group_by(code).order_by(code)).all()
    return [(prefix.ljust(12, "0"), *(int(v or 0) for v in figures))
            for prefix, *figures in rows]
