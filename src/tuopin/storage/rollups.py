"""A run's figures per region and level (assessment_rollup), written once with the run.

Villages are summed from the run's results in one grouped pass; every level above is
summed from the village rows, so the whole roll-up costs about one scan of the results.
"""

from __future__ import annotations

from sqlalchemy import Connection, Integer, case, cast, func, insert, literal, select

from tuopin.domain.enums import RegionLevel
from tuopin.storage.models import AssessmentResultRecord, AssessmentRollupRecord

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
