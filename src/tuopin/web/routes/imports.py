"""The import page: upload a CSV or XLSX file, follow its check, read the report, confirm.

Uploading only stores the file (services/imports/uploads.py); the check - reading the file
once, validating it, a dry run against the registry with the user's scope - runs in the
background (a job for `tuopin worker`), and the upload's page follows it (htmx polls it
while the work goes on). The report lists every problem; only a confirmation imports the
kept rows, in a job too. An upload is its uploader's alone: any other id answers 404.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from tuopin.domain.enums import JobKind
from tuopin.domain.errors import NotFound
from tuopin.i18n import N_
from tuopin.io.problems import Problem, as_rows
from tuopin.io.schema import Kind
from tuopin.services.access import policy
from tuopin.services.access.policy import Action
from tuopin.services.access.principal import Principal
from tuopin.services.imports import uploads
from tuopin.services.imports.uploads import UploadView
from tuopin.services.jobs import queue
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.web.routes.jobs import dispatch

router = APIRouter(prefix="/import")
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KindForm = Annotated[str, Form(max_length=32)]
Option = Annotated[str, Form(max_length=64)]
KIND_TITLES = {Kind.REGIONS: N_("Regions"), Kind.HOUSEHOLDS: N_("Household records"),
               Kind.MEMBERS: N_("Household members"), Kind.SURVEYS: N_("Household surveys"),
               Kind.HELPERS: N_("Helpers and their households"), Kind.FUNDS: N_("Funds"),
               Kind.PROJECTS: N_("Projects"), Kind.ALLOCATIONS: N_("Allocations of funds"),
               Kind.DISBURSEMENTS: N_("Disbursements (payments)"),
               uploads.ODK: N_("Phone survey export (ODK Central .csv.zip, KoboToolbox XLSX)")}
STAGE_TITLES = {"read": N_("Reading the file"), "validate": N_("Checking every cell"),
                "check": N_("Checking against the registry"), "import": N_("Importing")}


@dataclass(frozen=True)
class ImportForm:
    """The upload form; also the ``form`` web/errors.py shows again with a file's problems."""

    kinds: tuple[tuple[str, str], ...]  # (kind, title msgid) the user may import
    kind: str = ""
    encoding: str = ""
    sheet: str = ""
    error: str | None = None
    problems: list[dict[str, object]] = field(default_factory=list)
    template: str = "import.html"
    conflict_template: str = "import.html"

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> ImportForm:
        rows = as_rows(problems, lang)
        return replace(self, problems=rows[:uploads.SHOWN], error=None if rows else message)

    def conflict(self, current: dict[str, Any]) -> ImportForm:
        return self


def _form(principal: Principal, kind: str = "", encoding: str = "",
          sheet: str = "") -> ImportForm:
    kinds = tuple((k.value, KIND_TITLES[k]) for k in uploads.kinds_for(principal))
    if policy.allows(principal, Action.IMPORT):
        kinds += ((uploads.ODK, KIND_TITLES[uploads.ODK]),)
    return ImportForm(kinds, kind, encoding, sheet)


def _page(view: UploadView, lang: str) -> dict[str, object]:
    """The upload page's data: where it stands, its counts, the first problems."""
    return {"upload": view, "kind_title": KIND_TITLES[view.kind],
            "stage_title": STAGE_TITLES.get(view.stage, ""),
            "problems": as_rows(view.problems, lang), "error": (view.error.translated(lang)
                                                                if view.error else None)}


@router.get("")
def import_form(request: Request, state: StateDep, principal: PrincipalDep) -> Response:
    policy.require(principal, Action.IMPORT)
    form = _form(principal)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.get("/template/{kind}.xlsx")
def template(principal: PrincipalDep, lang: LangDep, kind: Kind) -> Response:
    body = uploads.template_for(principal=principal, kind=kind, lang=lang)
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{kind.value}.xlsx"'})


@router.post("")
def receive(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
            today: TodayDep, after: BackgroundTasks, kind: KindForm,
            file: Annotated[UploadFile | None, File()] = None, encoding: Option = "",
            sheet: Option = "") -> Response:
    request.state.form = _form(principal, kind, encoding, sheet)
    upload_id = uploads.receive(
        db, principal=principal, kind=_kind(kind), filename=(file.filename or "") if file else "",
        stream=file.file if file is not None else io.BytesIO(),
        data_dir=state.settings.data_dir, limits=state.upload_limits,
        encoding=encoding or None, sheet=sheet or None)
    job_id = queue.start(db, principal=principal, kind=JobKind.IMPORT_CHECK,
                         args={"upload": upload_id, "today": today.isoformat()})
    dispatch(state, after, job_id)
    return RedirectResponse(f"/import/{upload_id}", status_code=303)


def _kind(value: str) -> Kind | str:
    """The form's kind: a Kind or the phone survey's export (a 404 for anything else)."""
    try:
        return uploads.kind_of(value)
    except ValueError as exc:
        raise NotFound(f"no import of {value!r}") from exc


@router.get("/{upload_id}")
def show(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
         lang: LangDep, upload_id: str) -> Response:
    view = uploads.show(db, principal=principal, upload_id=upload_id,
                        data_dir=state.settings.data_dir, limits=state.upload_limits)
    name = ("_import_status.html" if request.headers.get("hx-request") == "true"
            else "import_report.html")
    return state.templates.TemplateResponse(request, name, _page(view, lang))


@router.get("/{upload_id}/problems.{fmt}")
def problems(db: SessionDep, state: StateDep, principal: PrincipalDep, lang: LangDep,
             upload_id: str, fmt: str) -> Response:
    body = uploads.problem_report(db, principal=principal, upload_id=upload_id,
                                  data_dir=state.settings.data_dir, fmt=fmt, lang=lang)
    return Response(body, media_type=XLSX if fmt == "xlsx" else CSV, headers={
        "Content-Disposition": f'attachment; filename="problems-{upload_id[:8]}.{fmt}"'})


@router.post("/{upload_id}/confirm")
def confirm(db: SessionDep, state: StateDep, principal: PrincipalDep, today: TodayDep,
            after: BackgroundTasks, upload_id: str,
            skip_invalid: Annotated[bool, Form()] = False) -> Response:
    uploads.confirm(db, principal=principal, upload_id=upload_id, skip_invalid=skip_invalid)
    job_id = queue.start(db, principal=principal, kind=JobKind.IMPORT,
                         args={"upload": upload_id, "today": today.isoformat()})
    dispatch(state, after, job_id)
    return RedirectResponse(f"/import/{upload_id}", status_code=303)


@router.post("/{upload_id}/cancel")
def cancel(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
           upload_id: str) -> Response:
    uploads.cancel(db, principal=principal, upload_id=upload_id,
                   data_dir=state.settings.data_dir)
    request.session["flash"] = N_("The upload was cancelled and its file removed.")
    return RedirectResponse("/import", status_code=303)
