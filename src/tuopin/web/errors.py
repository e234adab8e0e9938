"""The one place that turns tuopin's error tree (and the web's own) into responses.

NotFound → 404, PermissionDenied → 403, ValidationFailed → 400 with every problem,
Conflict → 409 (a stale form shows what changed), no session → the login page, too many
failed logins → 429, anything unforeseen → 500. A form that set ``request.state.form`` is
shown again with its errors. Every error page shows the request's id (as the logs have it).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
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
from tuopin.i18n import N_, gettext, translate
from tuopin.io.problems import Problem
from tuopin.web.deps import LoginRequired, lang_of
from tuopin.web.state import state_of
from tuopin.web.telemetry import HEADER, request_id

log = logging.getLogger("tuopin.web")

TITLES = {400: N_("The input was not accepted"), 403: N_("Not allowed"),
          404: N_("Not found"), 409: N_("Someone else saved first"),
          429: N_("Too many attempts"), 500: N_("Something went wrong")}


def page(request: Request, status: int, message: str, problems: list[str] | None = None,
         headers: dict[str, str] | None = None, **values: object) -> Response:
    """The error page (or, for htmx, the same message as a fragment).

    ``message`` is translated when the catalog knows it (tuopin's own messages are msgids);
    ``values`` fill its placeholders.
    """
    lang = lang_of(request)
    if isinstance(message, Message):
        text = message.translated(lang)
    else:
        text = translate(message, lang, **values) if values else gettext(message, lang)
    context: dict[str, Any] = {"status": status, "heading": gettext(TITLES[status], lang),
                               "message": text, "problems": problems or [],
                               "request_id": request_id(request)}
    name = "_error.html" if request.headers.get("hx-request") else "error.html"
    return state_of(request).templates.TemplateResponse(request, name, context,
                                                        status_code=status, headers=headers)


def _form(request: Request) -> Any:
    return getattr(request.state, "form", None)


def on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationFailed)
    lang = lang_of(request)
    problems = [p for p in exc.problems if isinstance(p, Problem)]
    form = _form(request)
    message = exc.translated(lang) if isinstance(exc, RuleBroken) else gettext(str(exc), lang)
    if form is not None:
        shown = form.with_problems(problems, message, lang)
        return state_of(request).templates.TemplateResponse(
            request, form.template, {"form": shown}, status_code=400)
    return page(request, 400, message, [f"{p.column}: {p.message(lang)}" for p in problems])


def on_conflict(request: Request, exc: Exception) -> Response:
    form = _form(request)
    if isinstance(exc, StaleVersion) and form is not None:
        return state_of(request).templates.TemplateResponse(
            request, form.conflict_template, {"form": form.conflict(exc.current)},
            status_code=409)
    return page(request, 409, exc.args[0] if exc.args else str(exc))


def on_login_required(request: Request, exc: Exception) -> Response:
    target = "/login?next=" + quote(request.url.path + (f"?{request.url.query}"
                                                         if request.url.query else ""))
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def on_too_many(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyAttempts)
    return page(request, 429, exc.args[0], headers={"Retry-After": str(exc.retry_after)})


def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in TITLES:
        return page(request, exc.status_code, TITLES[exc.status_code])
    return Response(str(exc.detail), status_code=exc.status_code)


def on_error(request: Request, exc: Exception) -> Response:
    """An unforeseen error: a page with the request's id, which the log's traceback has too
    (Starlette raises the error on to the server, which logs it, after this answer)."""
    rid = request_id(request) or ""
    # the scope's app is the API's when the error came from there (it answered already)
    if getattr(request.app.state, "web", None) is not None:
        try:
            return page(request, 500, TITLES[500], headers={HEADER: rid})
        except Exception:  # noqa: BLE001 - the page itself failed: a plain answer still goes
            log.exception("rendering the error page failed")
    return PlainTextResponse(f"500 Something went wrong / 出错了. Request id: {rid}",
                             status_code=500, headers={HEADER: rid})


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(NotFound, lambda r, e: page(r, 404, str(e)))
    app.add_exception_handler(PermissionDenied, lambda r, e: page(r, 403, e.args[0]))
    app.add_exception_handler(ValidationFailed, on_validation)
    app.add_exception_handler(Conflict, on_conflict)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(TooManyAttempts, on_too_many)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError,
                              lambda r, e: page(r, 400, TITLES[400]))
    app.add_exception_handler(Exception, on_error)
