"""Background jobs in the browser: one's jobs (a supervisor's: their region's), a job's page
with a progress bar that follows it, its file, cancelling; and the forms that start long work
(an assessment run, an export, a funds check) as jobs for `tuopin worker`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from tuopin.i18n import N_
from tuopin.services.access import policy
from tuopin.services.access.policy import Action
from tuopin.services.jobs import queue, starts
from tuopin.services.jobs.queue import JobView
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.web.state import WebState

router = APIRouter(prefix="/jobs")
Text = Annotated[str, Form(max_length=64)]
MEDIA_TYPES = queue.MEDIA_TYPES
EXPORT_KINDS = ("households", "members", "surveys", "results", "funds", "projects",
                "disbursements")


def dispatch(state: WebState, after: BackgroundTasks, job_id: str) -> None:
    """Run the job here once the response is sent, when the app was given a ``background``
    (tests; a store without a worker); else `tuopin worker` takes it from the queue. The
    request's transaction - the job's row - is committed by then."""
    if state.background is not None:
        after.add_task(state.background.submit, state.jobs.run_job, job_id)


def when(moment: float | None) -> str:
    """A job's time as the page shows it (UTC, to the second)."""
    if moment is None:
        return "–"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _page(view: JobView, lang: str) -> dict[str, object]:
    return {"job": view, "when": when, "lang": lang,
            "message": view.message.translated(lang) if view.message else "",
            "error": view.error.translated(lang) if view.error else ""}


@router.get("")
def job_list(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
             today: TodayDep) -> Response:
    rows = queue.list_jobs(db, principal=principal, data_dir=state.settings.data_dir)
    from tuopin.standards.loader import shipped

    may = {a.value: policy.allows(principal, a)
           for a in (Action.ASSESS, Action.EXPORT, Action.CHECK_FUNDS)}
    return state.templates.TemplateResponse(request, "jobs.html", {
        "rows": rows, "when": when, "may_start": may, "standards": shipped(),
        "year": today.year - 1, "today": today.isoformat(), "export_kinds": EXPORT_KINDS})


@router.post("/assess")
def start_assessment(db: SessionDep, state: StateDep, principal: PrincipalDep,
                     after: BackgroundTasks, standard: Text,
                     year: Annotated[int, Form(ge=1900, le=2999)]) -> Response:
    job_id = starts.start_assessment(db, principal=principal, standard=standard, year=year)
    dispatch(state, after, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/export")
def start_export(db: SessionDep, state: StateDep, principal: PrincipalDep,
                 after: BackgroundTasks, kind: Text, format: Text = "csv",
                 region: Annotated[str, Form(max_length=12)] = "",
                 run: Annotated[str, Form(max_length=12)] = "") -> Response:
    job_id = starts.start_export(db, principal=principal, kind=kind, fmt=format,
                                 region=region or None,
                                 run=int(run) if run.strip().isdigit() else None)
    dispatch(state, after, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.post("/funds-check")
def start_funds_check(db: SessionDep, state: StateDep, principal: PrincipalDep,
                      after: BackgroundTasks, today: TodayDep, lang: LangDep,
                      as_of: Annotated[date, Form()]) -> Response:
    job_id = starts.start_funds_check(db, principal=principal, as_of=as_of, today=today,
                                      lang=lang)
    dispatch(state, after, job_id)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/{job_id}")
def job_page(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
             lang: LangDep, job_id: str) -> Response:
    view = queue.show(db, principal=principal, job_id=job_id,
                      data_dir=state.settings.data_dir)
    name = "_job_status.html" if request.headers.get("hx-request") == "true" else "job.html"
    return state.templates.TemplateResponse(request, name, _page(view, lang))


@router.get("/{job_id}/file")
def job_file(db: SessionDep, state: StateDep, principal: PrincipalDep,
             job_id: str) -> Response:
    path = queue.result_path(db, principal=principal, job_id=job_id,
                             data_dir=state.settings.data_dir)
    return FileResponse(path, filename=path.name, media_type=MEDIA_TYPES.get(path.suffix),
                        headers={"Cache-Control": "no-store"})


@router.post("/{job_id}/cancel")
def cancel(request: Request, db: SessionDep, principal: PrincipalDep,
           job_id: str) -> Response:
    queue.cancel(db, principal=principal, job_id=job_id)
    request.session["flash"] = N_("Cancelled: a running job stops at its next step.")
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
