"""Errors as RFC 9457 problem details (application/problem+json), in zh or en.

The error tree maps as the web maps it - NotFound 404, PermissionDenied 403,
ValidationFailed 400 with every field problem of the importer, Conflict 409, too many
attempts 429 - plus the API's own: no valid token 401 (the same answer for a missing,
wrong, revoked or expired token), a stale If-Match 412, a missing If-Match 428. ``type`` is
a URN a program can switch on; ``title`` and ``detail`` are in the Accept-Language.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from tuopin.domain.errors import (
    Conflict,
    Message,
    NotFound,
    PermissionDenied,
    RuleBroken,
    StaleVersion,
    TooManyAttempts,
    ValidationFailed,
)
from tuopin.i18n import N_, gettext, normalize_lang, translate
from tuopin.io.problems import Problem as FieldProblem
from tuopin.logs import REQUEST_ID
from tuopin.services.access.masking import mask_payload

MEDIA_TYPE = "application/problem+json"
URN = "urn:tuopin:problem:"


class FieldError(BaseModel):
    """One refused value: the field (a column of the importer), the value and why."""

    field: str
    value: str
    message: str
    row: int | None = Field(default=None, description="The row of a list or file (1 = first)")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="urn:tuopin:problem:<kind>, stable for programs")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)
    current: dict[str, Any] | None = Field(
        default=None, description="On 412: the record as it is stored now")
    request_id: str | None = Field(
        default=None, description="The request's id (the X-Request-ID header), as the "
        "server's logs have it: quote it when reporting a problem")


# kind: (status, title msgid)
KINDS: dict[str, tuple[int, str]] = {
    "invalid": (400, N_("The input was not accepted")),
    "unauthorized": (401, N_("A valid API token is needed")),
    "forbidden": (403, N_("Not allowed")),
    "not-found": (404, N_("Not found")),
    "method-not-allowed": (405, N_("Not allowed")),
    "conflict": (409, N_("Someone else saved first")),
    "stale": (412, N_("Someone else saved first")),
    "too-large": (413, N_("The input was not accepted")),
    "precondition-required": (428, N_("An If-Match header is needed")),
    "too-many-requests": (429, N_("Too many attempts")),
    "error": (500, N_("Something went wrong")),
}
STATUS_KIND = {status: kind for kind, (status, _title) in reversed(KINDS.items())}
SEVERAL = N_("{count} values were not accepted; see errors.")
NO_TOKEN = N_("Send a valid API token: Authorization: Bearer <token>.")

# every operation documents these answers (schemathesis holds responses to them)
Responses = dict[int | str, dict[str, Any]]
PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}


def _documented(*kinds: str) -> Responses:
    return {KINDS[kind][0]: {"model": ProblemDetail, "content": PROBLEM_CONTENT,
                             "description": gettext(KINDS[kind][1], "en")} for kind in kinds}


COMMON = _documented("invalid", "unauthorized", "forbidden", "not-found", "too-many-requests")
WRITES = _documented("conflict", "stale", "precondition-required")


class ApiProblem(Exception):
    """A refusal of the API itself (no token, no If-Match, too many requests)."""

    def __init__(self, kind: str, detail: str, *, headers: dict[str, str] | None = None,
                 current: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.headers, self.current = kind, detail, headers, current


def lang_of(request: Request) -> str:
    """The first of zh and en in Accept-Language (by order, not q: clients send one)."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith(("zh", "en")):
            return normalize_lang(tag)
    return normalize_lang(getattr(request.app.state.api.settings, "lang", None))


def _text(message: object, lang: str) -> str:
    if isinstance(message, RuleBroken):
        return message.translated(lang)
    if isinstance(message, Message):
        return message.translated(lang)
    return gettext(str(message), lang)


def respond(request: Request, kind: str, detail: str, *, errors: list[FieldError] | None = None,
            headers: dict[str, str] | None = None,
            current: dict[str, Any] | None = None) -> JSONResponse:
    status, title = KINDS[kind]
    lang = lang_of(request)
    body = ProblemDetail(type=URN + kind, title=gettext(title, lang), status=status,
                         detail=detail, instance=request.url.path, errors=errors or [],
                         current=current, request_id=REQUEST_ID.get())
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=status,
                        media_type=MEDIA_TYPE, headers=headers)


def field_errors(problems: list[object], lang: str) -> list[FieldError]:
    return [FieldError(field=p.column, value=p.value, message=p.message(lang),
                       row=p.row or None)
            for p in problems if isinstance(p, FieldProblem)]


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationFailed)
    lang = lang_of(request)
    errors = field_errors(exc.problems, lang)
    detail = (exc.translated(lang) if isinstance(exc, RuleBroken)
              else errors[0].message if len(errors) == 1
              else translate(SEVERAL, lang, count=len(errors)) if errors
              else _text(exc, lang))
    return respond(request, "invalid", detail, errors=errors)


def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [FieldError(field=".".join(str(p) for p in e.get("loc", ())[1:]) or "body",
                         value=str(e.get("input", ""))[:200], message=str(e.get("msg", "")))
              for e in exc.errors()]
    return respond(request, "invalid", gettext(KINDS["invalid"][1], lang_of(request)),
                   errors=errors)


def _conflict(request: Request, exc: Exception) -> JSONResponse:
    lang = lang_of(request)
    if isinstance(exc, StaleVersion):
        # masked for everyone: the handler does not know the caller (read the record again)
        return respond(request, "stale", _text(exc.args[0], lang),
                       current=_plain(mask_payload(exc.current)))
    return respond(request, "conflict", _text(exc.args[0] if exc.args else exc, lang))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
            for k, v in values.items()}


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = STATUS_KIND.get(exc.status_code, "error" if exc.status_code >= 500 else "invalid")
    return respond(request, kind, gettext(KINDS[kind][1], lang_of(request)),
                   headers=getattr(exc, "headers", None))


def _api(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return respond(request, exc.kind, _text(exc.detail, lang_of(request)),
                   headers=exc.headers, current=exc.current)


def install(app: FastAPI) -> None:
    """Register every handler on the API's application."""
    lang = lang_of
    app.add_exception_handler(ApiProblem, _api)
    app.add_exception_handler(NotFound, lambda r, e: respond(
        r, "not-found", gettext(KINDS["not-found"][1], lang(r))))
    app.add_exception_handler(PermissionDenied, lambda r, e: respond(
        r, "forbidden", _text(e.args[0] if e.args else KINDS["forbidden"][1], lang(r))))
    app.add_exception_handler(ValidationFailed, _validation)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(TooManyAttempts, lambda r, e: respond(
        r, "too-many-requests", _text(e.args[0], lang(r)),
        headers={"Retry-After": str(e.retry_after)}))  # type: ignore[attr-defined]
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _request_validation)
    # anything unforeseen: a problem with the request's id (the server logs the traceback)
    app.add_exception_handler(Exception, lambda r, e: respond(
        r, "error", gettext(KINDS["error"][1], lang(r))))
