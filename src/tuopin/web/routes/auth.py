"""Logging in and out, and choosing the language."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tuopin.i18n import normalize_lang
from tuopin.services.access import sessions, users
from tuopin.services.ops import metrics
from tuopin.web import csrf
from tuopin.web.deps import SESSION_LANG, SESSION_TOKEN, SessionDep, StateDep

router = APIRouter()


def safe_next(target: str | None) -> str:
    """A local path to go to after a form; anything else (another site) goes home."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_form(request: Request, state: StateDep, next: str = "/") -> Response:
    return state.templates.TemplateResponse(request, "login.html",
                                            {"next": safe_next(next), "failed": False,
                                             "username": ""})


@router.post("/login")
def login(request: Request, db: SessionDep, state: StateDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)],
          next: Annotated[str, Form()] = "/") -> Response:
    name = username.strip().lower()
    state.limiter.check(db, name, _address(request))
    user = users.authenticate(db, username=name, password=password, hasher=state.hasher)
    if user is None:
        state.limiter.failed(db, name, _address(request))
        metrics.login_failed(request.state, "web")
        return state.templates.TemplateResponse(
            request, "login.html", {"next": safe_next(next), "failed": True, "username": name},
            status_code=401)
    state.limiter.succeeded(db, name, _address(request))
    now = time.time()
    sessions.purge(db, limits=state.session_limits, now=now)
    # a new session and a new token at every login: one fixed before it is worth nothing
    token = sessions.start(db, user=user, address=_address(request), now=now)
    lang = request.session.get(SESSION_LANG)
    request.session.clear()
    request.session[SESSION_TOKEN] = token
    if lang:
        request.session[SESSION_LANG] = lang
    csrf.rotate(request)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, db: SessionDep) -> Response:
    token = request.session.get(SESSION_TOKEN)
    if isinstance(token, str):
        sessions.end(db, token=token)  # a copy of the cookie is worth nothing from now on
    lang = request.session.get(SESSION_LANG)
    request.session.clear()
    if lang:
        request.session[SESSION_LANG] = lang
    csrf.rotate(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/lang")
def choose_language(request: Request, lang: Annotated[str, Form()],
                    next: Annotated[str, Form()] = "/") -> Response:
    request.session[SESSION_LANG] = normalize_lang(lang)
    return RedirectResponse(safe_next(next), status_code=303)
