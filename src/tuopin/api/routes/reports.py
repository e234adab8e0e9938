"""The API's assessment runs, results, incidence and MPI reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from tuopin.api.deps import LangDep, LimitDep, PrincipalDep, SessionDep
from tuopin.api.paging import decode_cursor, encode_cursor
from tuopin.api.schemas import HouseholdResult, Page
from tuopin.api.schemas_reports import (
    IncidenceReport,
    MpiReport,
    ResultRow,
    Run,
    RunDetail,
)
from tuopin.services.assessment import runs
from tuopin.services.registry import lookup
from tuopin.services.reports import dashboard, incidence, results

router = APIRouter(tags=["reports"])
RunId = Annotated[int, Path(ge=1, le=2**62, description="The run's id")]
Cursor = Annotated[str | None, Query(max_length=200, description="From the last page's next")]
RegionPrefix = Annotated[str | None, Query(pattern=r"^\d{2,12}$",
                                           description="A region code prefix (6211: a prefecture)")]
Region = Annotated[str | None, Query(pattern=r"^\d{6,12}$",
                                     description="Only this region (default: yours)")]
RunQuery = Annotated[int | None, Query(ge=1, le=2**62, description=(
    "The run (default: the newest run of the latest year with results in the region)"))]
Level = Annotated[str, Query(pattern=r"^(province|prefecture|county|township|village)$",
                             description="The level of the rows")]
MPI_STANDARD = "cn-mpi"  # as `tuopin report mpi`: without ?run=, this standard's newest run


@router.get("/runs", response_model=list[Run])
def list_runs(db: SessionDep, principal: PrincipalDep) -> Any:
    """Every recorded assessment run, oldest first."""
    return runs.list_runs(db, principal=principal)


@router.get("/runs/{run_id}", response_model=RunDetail)
def get_run(db: SessionDep, principal: PrincipalDep, run_id: RunId) -> Any:
    """One run: its standard, counts per indicator and category, and timings."""
    return results.run_detail(db, principal=principal, run_id=run_id)


@router.get("/runs/{run_id}/results", response_model=Page[ResultRow])
def list_results(db: SessionDep, principal: PrincipalDep, run_id: RunId, limit: LimitDep,
                 cursor: Cursor = None, poor: bool | None = None,
                 region: RegionPrefix = None) -> Any:
    """The run's household results in your region, a page at a time (only the poor with
    ``poor=true``, only the others with ``poor=false``)."""
    after = decode_cursor(cursor, int)
    rows = results.result_page(db, principal=principal, run_id=run_id,
                               after=after[0] if after else None, limit=limit, poor=poor,
                               region=region)
    return {"items": rows,
            "next": encode_cursor([rows[-1]["household_id"]]) if len(rows) == limit else None}


@router.get("/runs/{run_id}/results/{number}", response_model=HouseholdResult)
def get_result(db: SessionDep, principal: PrincipalDep, lang: LangDep, run_id: RunId,
               number: Annotated[str, Path(max_length=32)]) -> Any:
    """One household's result in the run, every failed indicator explained."""
    return runs.household_result(db, principal=principal, run_id=run_id, number=number,
                                 lang=lang)


@router.get("/reports/incidence", response_model=IncidenceReport)
def incidence_report(db: SessionDep, principal: PrincipalDep, run: RunQuery = None,
                     level: Level = "county", region: Region = None) -> Any:
    """贫困发生率 for every region of ``level`` in your region (or ``region``), with the total,
    as `tuopin report incidence` gives it."""
    code = lookup.region_code(principal=principal, code=region) if region else None
    viewer = principal.within(code)
    run_id = run if run is not None else dashboard.latest_run(db, principal=viewer)
    rows = incidence.incidence(db, principal=viewer, run_id=run_id, level=level)
    return {"run": run_id, "level": level, "region": code, "rows": rows,
            "total": incidence.total(rows)}


@router.get("/reports/mpi", response_model=MpiReport)
def mpi_report(db: SessionDep, principal: PrincipalDep, run: Annotated[int | None, Query(
                   ge=1, le=2**62, description=f"The run (default: the newest {MPI_STANDARD} "
                   "run of the latest year with results in the region)")] = None,
               by: Annotated[str | None, Query(
                   pattern=r"^[a-z_]{1,20}$",
                   description="A level, or status, head_sex, sex, age_group")] = None,
               region: Region = None) -> Any:
    """The Alkire-Foster measures (H, A, M0, contributions, standard errors) of a run in your
    region, optionally by subgroup, as `tuopin report mpi` gives them."""
    code = lookup.region_code(principal=principal, code=region) if region else None
    viewer = principal.within(code)
    run_id = run if run is not None else dashboard.latest_run(db, principal=viewer,
                                                              standard=MPI_STANDARD)
    found = incidence.mpi(db, principal=viewer, run_id=run_id, by=by)
    return {"run": run_id, "by": by, "region": code, **found.to_dict()}
