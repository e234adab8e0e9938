"""The API's background jobs: start long work (an assessment run, an export written to a
file, a funds check), follow it, fetch its file, cancel it.

A start answers 202 Accepted with the job and its URL in ``Location``; `tuopin worker` does
the work (the API only queues it). A caller sees their own jobs; an administrator and a
county officer also see those started in their region; any other job is not found.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import FileResponse

from tuopin.api.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.api.problems import WRITES, ApiProblem
from tuopin.api.schemas_jobs import JobOut, NewExport, NewFundsCheck, NewRun
from tuopin.domain.enums import JobState
from tuopin.domain.errors import RuleBroken
from tuopin.services.access.principal import Principal
from tuopin.services.jobs import queue, starts
from tuopin.services.jobs.queue import JobView

router = APIRouter(tags=["jobs"])
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The job's id")]
Responses = dict[int | str, dict[str, Any]]
STARTED: Responses = {202: {"description": "Queued: follow it at the URL in Location",
                            "headers": {"Location": {"description": "The job's URL",
                                                     "schema": {"type": "string"}}}}}
ENDED: Responses = {409: {**WRITES[409], "description": "The job has ended already"}}
MEDIA_TYPES = queue.MEDIA_TYPES
OTHER = "application/octet-stream"
FILE: Responses = {200: {"description": "The file the job made: an export's CSV or "
                                        "Parquet, a funds check's XLSX",
                         "content": {media.split(";")[0]: {"schema": {"type": "string",
                                                                      "format": "binary"}}
                                     for media in (*MEDIA_TYPES.values(), OTHER)}}}


def _url(request: Request, *parts: str) -> str:
    """The path of a job's URL under the API's mount (/api/v1/jobs/...)."""
    return "/".join((request.scope.get("root_path", "").rstrip("/"), "v1", "jobs", *parts))


def _when(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def _out(request: Request, view: JobView, lang: str) -> dict[str, Any]:
    """A job in the API's shape: its words in ``lang``, its times in ISO 8601."""
    done = view.state is JobState.DONE
    return {"id": view.id, "kind": view.kind, "state": view.state, "actor": view.actor,
            "done": view.done, "total": view.total, "percent": 100 if done else view.percent,
            "message": view.message.translated(lang) if view.message else None,
            "result": view.result,
            "file": _url(request, view.id, "file") if done and view.result_file else None,
            "error": view.error.translated(lang) if view.error else None,
            "attempts": view.attempts, "cancel_requested": view.cancel_requested,
            "created_at": _when(view.created_at), "started_at": _when(view.started_at),
            "finished_at": _when(view.finished_at)}


def _started(request: Request, response: Response, db: SessionDep, principal: Principal,
             lang: str, job_id: str) -> dict[str, Any]:
    """A job just queued, with its URL in Location."""
    response.headers["Location"] = _url(request, job_id)
    return _out(request, queue.show(db, principal=principal, job_id=job_id), lang)


@router.post("/runs", response_model=JobOut, status_code=202, responses=STARTED)
def start_run(request: Request, response: Response, db: SessionDep, principal: PrincipalDep,
              lang: LangDep, new: NewRun) -> Any:
    """Queue an assessment run of your region: every household surveyed in ``year``,
    against a shipped standard (GET /runs lists it once the job is done)."""
    job_id = starts.start_assessment(db, principal=principal, standard=new.standard,
                                     year=new.year)
    return _started(request, response, db, principal, lang, job_id)


@router.post("/jobs/exports", response_model=JobOut, status_code=202, responses=STARTED)
def start_export(request: Request, response: Response, db: SessionDep,
                 principal: PrincipalDep, lang: LangDep, new: NewExport) -> Any:
    """Queue an export of a whole kind in your scope, written to a file to fetch when done
    (for very large exports; GET /export/{kind} streams the same file at once)."""
    job_id = starts.start_export(db, principal=principal, kind=new.kind.value,
                                 fmt=new.format.value, region=new.region, run=new.run)
    return _started(request, response, db, principal, lang, job_id)


@router.post("/jobs/funds-checks", response_model=JobOut, status_code=202, responses=STARTED)
def start_funds_check(request: Request, response: Response, db: SessionDep,
                      principal: PrincipalDep, lang: LangDep, today: TodayDep,
                      new: NewFundsCheck) -> Any:
    """Queue the funds checks of your region on ``as_of``: an XLSX file of the findings
    (GET /funds/anomalies gives them at once, as JSON)."""
    job_id = starts.start_funds_check(db, principal=principal, as_of=new.as_of, today=today,
                                      lang=new.lang or lang)
    return _started(request, response, db, principal, lang, job_id)


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(request: Request, db: SessionDep, api: StateDep, principal: PrincipalDep,
              lang: LangDep,
              state: Annotated[JobState | None, Query(description="Only jobs in this state")]
              = None,
              limit: Annotated[int, Query(ge=1, le=100, description="Jobs at most")] = 100,
              ) -> Any:
    """Your jobs, newest first (an administrator's and a county officer's: their region's
    too)."""
    views = queue.list_jobs(db, principal=principal, state=state, limit=limit,
                            data_dir=api.settings.data_dir)
    return [_out(request, view, lang) for view in views]


@router.get("/jobs/{job_id}", response_model=JobOut)
def get_job(request: Request, db: SessionDep, api: StateDep, principal: PrincipalDep,
            lang: LangDep, job_id: JobId) -> Any:
    """A job as it stands, with its progress while it runs."""
    return _out(request, queue.show(db, principal=principal, job_id=job_id,
                                    data_dir=api.settings.data_dir), lang)


@router.get("/jobs/{job_id}/file", response_class=FileResponse, response_model=None,
            responses=FILE)
def get_job_file(db: SessionDep, api: StateDep, principal: PrincipalDep,
                 job_id: JobId) -> FileResponse:
    """The file a done job made (404 when it made none)."""
    path = queue.result_path(db, principal=principal, job_id=job_id,
                             data_dir=api.settings.data_dir)
    return FileResponse(path, filename=path.name,
                        media_type=MEDIA_TYPES.get(path.suffix, OTHER),
                        headers={"Cache-Control": "no-store"})


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, responses=ENDED)
def cancel_job(request: Request, db: SessionDep, api: StateDep, principal: PrincipalDep,
               lang: LangDep, job_id: JobId) -> Any:
    """Cancel a job: a queued one at once, a running one at its next step (what it wrote
    is rolled back); 409 when it has ended."""
    try:
        queue.cancel(db, principal=principal, job_id=job_id)
    except RuleBroken as ended:  # the job's state, not the request, is at odds: 409
        raise ApiProblem("conflict", ended.message) from ended
    return _out(request, queue.show(db, principal=principal, job_id=job_id,
                                    data_dir=api.settings.data_dir), lang)
