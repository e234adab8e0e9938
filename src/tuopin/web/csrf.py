"""CSRF: one random token per session, required on every unsafe request.

Forms carry it as the hidden field ``csrf_token``; htmx requests send it as the
``X-CSRF-Token`` header (static/app.js adds it). The check is an app-wide dependency, so a
route cannot forget it.
"""

from __future__ import annotations

import secrets

from starlette.requests import HTTPConnection, Request

from tuopin.domain.errors import PermissionDenied
from tuopin.i18n import N_

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf_token"
HEADER = "x-csrf-token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def token(conn: HTTPConnection) -> str:
    """This session's token, made on first use (it stays until the session changes hands)."""
    current = conn.session.get(FIELD)
    if not isinstance(current, str):
        current = secrets.token_urlsafe(32)
        conn.session[FIELD] = current
    return current


def rotate(conn: HTTPConnection) -> None:
    """A fresh token (at login and logout)."""
    conn.session[FIELD] = secrets.token_urlsafe(32)


async def protect(request: Request) -> None:
    """Refuse an unsafe request whose token is missing or not this session's."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(FIELD)
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else None
    if not (isinstance(expected, str) and sent and secrets.compare_digest(expected, sent)):
        raise PermissionDenied(N_("The form has expired or did not come from tuopin. "
                                  "Reload the page and try again."))
