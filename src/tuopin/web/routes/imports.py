"""The import page: upload a CSV or XLSX file, read its validation report, confirm.

Uploading stores the file by its SHA-256 and dry-runs it with the user's region scope; the
report lists every problem, and only a confirmation imports the stored file for real. The
session remembers which files this login checked (and as what), so that nobody confirms a
file they did not check: any other hash answers 404.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from tuopin.domain.errors import NotFound
from tuopin.i18n import N_, gettext
from tuopin.io.problems import Problem, as_rows
from tuopin.io.schema import Kind
from tuopin.services.access.users import User
from tuopin.services.imports import uploads
from tuopin.services.imports.files import ImportResult
from tuopin.services.imports.uploads import Importer
from tuopin.web.deps import AccessDep, Editor, LangDep, SessionDep, StateDep, TodayDep

router = APIRouter(prefix="/import")
SESSION_UPLOADS = "imports"
REMEMBERED = 5  # checked files a login keeps (the session lives in a cookie)
SHOWN = 200  # problems shown on the page; the download has them all
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KindForm = Annotated[Kind, Form()]
Option = Annotated[str, Form(max_length=64)]
FormatForm = Annotated[str, Form(pattern="^(csv|xlsx)$")]
KIND_TITLES = {Kind.REGIONS: N_("Regions"), Kind.HOUSEHOLDS: N_("Household records"),
               Kind.MEMBERS: N_("Household members"), Kind.SURVEYS: N_("Household surveys"),
               Kind.HELPERS: N_("Helpers and their households")}


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
        return replace(self, problems=rows[:SHOWN], error=None if rows else message)

    def conflict(self, current: dict[str, Any]) -> ImportForm:
        return self


def _form(user: User, kind: str = "", encoding: str = "", sheet: str = "") -> ImportForm:
    kinds = tuple((k.value, KIND_TITLES[k]) for k in uploads.kinds_for(user.role))
    return ImportForm(kinds, kind, encoding, sheet)


def _importer(state: StateDep, user: User, access: AccessDep, today: TodayDep,
              encoding: str = "", sheet: str = "") -> Importer:
    return Importer(state.settings.data_dir, user.role, access.scope, f"web:{user.username}",
                    today, encoding or None, sheet or None)


def _remember(request: Request, upload: uploads.Upload, kind: Kind, encoding: str,
             sheet: str) -> dict[str, str]:
    entry = {"sha256": upload.sha256, "suffix": upload.suffix, "kind": kind.value,
             "name": upload.name, "encoding": encoding, "sheet": sheet}
    kept = [e for e in _remembered(request)
            if (e.get("sha256"), e.get("kind")) != (upload.sha256, kind.value)]
    request.session[SESSION_UPLOADS] = [*kept, entry][-REMEMBERED:]
    return entry


def _remembered(request: Request) -> list[dict[str, str]]:
    found = request.session.get(SESSION_UPLOADS)
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def _recall(request: Request, sha256: str, kind: Kind) -> dict[str, str]:
    """The file this login checked as ``kind`` (NotFound for any other)."""
    for entry in _remembered(request):
        if entry.get("sha256") == sha256 and entry.get("kind") == kind.value:
            return entry
    raise NotFound(f"upload {sha256} not found")


def _forget(request: Request, sha256: str, kind: Kind) -> None:
    request.session[SESSION_UPLOADS] = [
        e for e in _remembered(request)
        if (e.get("sha256"), e.get("kind")) != (sha256, kind.value)]


def _report_page(entry: dict[str, str], result: ImportResult, lang: str,
            **extra: object) -> dict[str, object]:
    """The report page's data: counts, the first problems, and what may be done next."""
    rows = as_rows(result.problems, lang)
    preview = result.preview
    return {"upload": entry, "result": result, "kind_title": KIND_TITLES[result.kind],
            "problems": rows[:SHOWN], "total": len(rows),
            "rejected": len(result.rejected_rows),
            "valid": result.rows - len(result.rejected_rows),
            "preview": tuple(preview) if preview is not None else (0, 0, 0),
            "done": False, "error": None, **extra}


@router.get("")
def import_form(request: Request, state: StateDep, user: Editor) -> Response:
    form = _form(user)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.get("/template/{kind}.xlsx")
def template(user: Editor, lang: LangDep, kind: Kind) -> Response:
    body = uploads.template_for(user.role, kind, lang=lang)
    return Response(body, media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{kind.value}.xlsx"'})


@router.post("")
def check(request: Request, db: SessionDep, state: StateDep, user: Editor, access: AccessDep,
          today: TodayDep, lang: LangDep, kind: KindForm,
          file: Annotated[UploadFile | None, File()] = None, encoding: Option = "",
          sheet: Option = "") -> Response:
    request.state.form = _form(user, kind.value, encoding, sheet)
    importer = _importer(state, user, access, today, encoding, sheet)
    checked = uploads.check(db, importer, kind=kind,
                            filename=(file.filename or "") if file else "",
                            stream=file.file if file else io.BytesIO(),
                            max_bytes=state.settings.evidence_max_bytes)
    entry = _remember(request, checked.upload, kind, encoding, sheet)
    return state.templates.TemplateResponse(request, "import_report.html",
                                            _report_page(entry, checked.result, lang))


@router.post("/{sha256}/problems")
def problems(request: Request, db: SessionDep, state: StateDep, user: Editor,
             access: AccessDep, today: TodayDep, lang: LangDep, sha256: str,
             kind: KindForm, fmt: FormatForm = "xlsx") -> Response:
    entry = _recall(request, sha256, kind)
    importer = _importer(state, user, access, today, entry["encoding"], entry["sheet"])
    body = uploads.problem_report(db, importer, kind=kind, sha256=sha256,
                                  suffix=entry["suffix"], fmt=fmt, lang=lang)
    name = f"{kind.value}-problems.{fmt}"
    return Response(body, media_type=XLSX if fmt == "xlsx" else CSV, headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/{sha256}/confirm")
def confirm(request: Request, db: SessionDep, state: StateDep, user: Editor,
            access: AccessDep, today: TodayDep, lang: LangDep, sha256: str, kind: KindForm,
            skip_invalid: Annotated[bool, Form()] = False) -> Response:
    entry = _recall(request, sha256, kind)
    importer = _importer(state, user, access, today, entry["encoding"], entry["sheet"])
    result = uploads.confirm(db, importer, kind=kind, sha256=sha256, suffix=entry["suffix"],
                             skip_invalid=skip_invalid)
    if not result.written:  # the registry changed since the check: nothing was imported
        refused = gettext(N_("The file has problems now, so nothing was imported. Read the "
                             "report again."), lang)
        return state.templates.TemplateResponse(
            request, "import_report.html", _report_page(entry, result, lang, error=refused),
            status_code=400)
    _forget(request, sha256, kind)
    request.session["flash"] = N_("The file was imported.")
    return state.templates.TemplateResponse(request, "import_report.html",
                                            _report_page(entry, result, lang, done=True))
