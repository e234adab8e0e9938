"""Measures of poverty from a stored run: incidence by level, the Alkire-Foster set by group.

Results carry each household's village code and its living members, so incidence at any
level is a sum over villages whose code starts with the region's prefix; the MPI treats the
household as the unit of identification and weights it by its members (every member shares
the household's profile, MPI.md §3).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain.enums import RegionLevel
from tuopin.domain.errors import ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import get_run, run_standard
from tuopin.storage import rollups
from tuopin.storage.models import (
    AssessmentResultRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
)
from tuopin.storage.scope import in_region

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from tuopin.analytics.mpi import MpiResult

# numpy, pyarrow and the MPI calculator are imported by the MPI functions: incidence (and
# the exit checks built on it) reads the stored roll-up and starts without them.

LEVELS = {level.title: level for level in RegionLevel}
HOUSEHOLD_GROUPS = ("status", "head_sex")
PERSON_GROUPS = ("sex", "age_group")
AGE_GROUPS = ((0, 5, "0-5"), (6, 15, "6-15"), (16, 59, "16-59"), (60, 200, "60+"))


def _results(session: Session, run_id: int, scope: Scope) -> pa.Table:
    import pyarrow as pa

    r = AssessmentResultRecord
    rows = session.execute(select(r.household_id, r.village_code, r.members, r.poor,
                                  r.deprived, r.score)
                           .where(r.run_id == run_id, in_region(scope, r.village_code))).all()
    names = ["household_id", "village_code", "members", "poor", "deprived", "score"]
    types = [pa.int64(), pa.string(), pa.int64(), pa.bool_(), pa.string(), pa.float64()]
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types, strict=True)})


@reads()
def incidence(session: Session, *, principal: Principal, run_id: int,
              level: str) -> list[dict[str, Any]]:
    """Poor people ÷ people and poor households ÷ households for every region of ``level``
    in the principal's region."""
    scope = principal.scope
    if level not in LEVELS:
        raise ValidationFailed(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    get_run(session, run_id)
    # the run's stored roll-up: a few rows, not its results
    names = dict(session.execute(select(RegionRecord.code, RegionRecord.name).where(
        RegionRecord.level == int(LEVELS[level]))).all())
    return [{"code": code, "name": names.get(code, ""), "households": households,
             "poor_households": poor, "people": people, "poor_people": poor_people,
             "incidence": poor_people / people if people else None,
             "household_incidence": poor / households if households else None}
            for code, households, people, poor, poor_people
            in rollups.by_region(session, run_id, LEVELS[level], scope)]


def total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of incidence rows (the scope as a whole)."""
    sums = {k: sum(r[k] for r in rows) for k in ("households", "poor_households", "people",
                                                  "poor_people")}
    return {"code": "", "name": "total", **sums,
            "incidence": sums["poor_people"] / sums["people"] if sums["people"] else None,
            "household_incidence": (sums["poor_households"] / sums["households"]
                                    if sums["households"] else None)}


def _matrix(results: pa.Table, ids: list[str]) -> np.ndarray:
    import numpy as np

    deprived = results.column("deprived").to_pylist()
    index = {i: j for j, i in enumerate(ids)}
    matrix = np.zeros((len(deprived), len(ids)), dtype=bool)
    for row, text in enumerate(deprived):
        for item in (text or "").split(";"):
            if item in index:
                matrix[row, index[item]] = True
    return matrix


def _household_groups(session: Session, results: pa.Table, by: str) -> np.ndarray:
    import numpy as np

    ids = results.column("household_id").to_pylist()
    if by == "status":
        query = select(HouseholdRecord.id, HouseholdRecord.status)
    else:
        query = (select(MemberRecord.household_id, MemberRecord.sex)
                 .where(MemberRecord.relation == "head"))
    found = dict(session.execute(query).all())
    return np.array([str(found.get(i, "unknown")) for i in ids], dtype=object)


def _persons(session: Session, results: pa.Table, year: int, by: str) -> tuple[
        np.ndarray, np.ndarray]:
    """Row index into results and the group of every living member (person-level groups)."""
    import numpy as np

    position = {h: i for i, h in enumerate(results.column("household_id").to_pylist())}
    end = date(year, 12, 31)
    rows = session.execute(select(MemberRecord.household_id, MemberRecord.sex,
                                  MemberRecord.birth_date, MemberRecord.deceased_date)).all()
    index, groups = [], []
    for household_id, sex, born, died in rows:
        if household_id not in position or (died is not None and died <= end):
            continue
        index.append(position[household_id])
        if by == "sex":
            groups.append(sex)
        else:
            age = year - born.year
            groups.append(next(label for low, high, label in AGE_GROUPS if low <= age <= high))
    return np.array(index, dtype=np.int64), np.array(groups, dtype=object)


@reads()
def mpi(session: Session, *, principal: Principal, run_id: int, by: str | None) -> MpiResult:
    """The Alkire-Foster measures of a run in the principal's region, persons weighted,
    optionally by subgroup."""
    import numpy as np

    from tuopin.analytics.mpi import af_measures

    scope = principal.scope
    run = get_run(session, run_id)
    standard = run_standard(run)
    results = _results(session, run_id, scope)
    if results.num_rows == 0:
        raise ValidationFailed(f"run {run_id} has no results in this scope")
    ids = [i.id for i in standard.indicators]
    matrix = _matrix(results, ids)
    weights = [i.weight for i in standard.indicators]
    sample = results.column("members").to_numpy().astype(np.float64)
    groups: np.ndarray | None = None
    psu: np.ndarray | None = None
    if by in LEVELS:
        digits = LEVELS[by].digits
        groups = np.array([c[:digits].ljust(12, "0") for c in
                           results.column("village_code").to_pylist()], dtype=object)
    elif by in HOUSEHOLD_GROUPS:
        groups = _household_groups(session, results, by)
    elif by in PERSON_GROUPS:
        index, groups = _persons(session, results, run.year, by)
        # members of a household share its profile: the household is the sampling cluster
        matrix, sample, psu = matrix[index], np.ones(len(index)), index
    elif by is not None:
        raise ValidationFailed(f"unknown group {by!r}; use a level ({', '.join(LEVELS)}) or "
                               f"{', '.join(HOUSEHOLD_GROUPS + PERSON_GROUPS)}")
    keep = sample > 0
    band = standard.poverty.vulnerable or (0.2, standard.poverty.k)
    return af_measures(matrix[keep], weights, standard.poverty.k, indicator_names=ids,
                       sample_weight=sample[keep],
                       by=groups[keep] if groups is not None else None,
                       psu=psu[keep] if psu is not None else None,
                       dimensions=standard.dimensions, vulnerable=(band[0], band[1]),
                       severe=standard.poverty.severe or 0.5)


def mpi_of_file(path: Path, *, indicators: list[str], k: float,
                weights: dict[str, float] | None, cutoffs: dict[str, float] | None,
                sample_weight: str | None, by: str | None, strata: str | None,
                psu: str | None) -> MpiResult:
    """The Alkire-Foster measures of any CSV/Parquet table (survey microdata)."""
    from tuopin.analytics.mpi import mpi_from_file

    return mpi_from_file(path, indicators=indicators, k=k, weights=weights, cutoffs=cutoffs,
                         sample_weight=sample_weight, by=by, strata=strata, psu=psu)
