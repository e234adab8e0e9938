"""The API's dependencies: a transaction per request, the bearer's principal, the language.

Only a Bearer token authenticates; the web's session cookie is never read here, so a page
in a browser cannot make the API act (no CSRF surface). Every failure to authenticate -
no header, a wrong, revoked or expired token, a disabled account - is the same 401.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from tuopin.api.problems import NO_TOKEN, ApiProblem, lang_of
from tuopin.api.state import ApiState, api_state
from tuopin.i18n import N_
from tuopin.services.access import tokens, users
from tuopin.services.access.principal import Principal
from tuopin.services.ops import metrics
from tuopin.services.store import request_transaction, write_if_free

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOO_FAST = N_("Too many requests with this token; slow down.")
bearer = HTTPBearer(auto_error=False, description="An API token: `tuopin tokens create` or "
                    "the account page. Sent as `Authorization: Bearer tp_...`.")


async def get_state(request: Request) -> ApiState:
    return api_state(request)


StateDep = Annotated[ApiState, Depends(get_state)]


async def get_db(request: Request, state: StateDep) -> AsyncIterator[Session]:
    """One transaction per request (reads: a deferred one, never behind a writer), committed
    before the response goes out, or rolled back - but for a refusal that keeps its record
    (a probe counted and audited).

    As the web's (web/deps.py): beginning is pure Python, so it runs on the event loop (a
    thread hop costs more); ending talks to the database, so it runs in the thread pool,
    shielded from cancellation.
    """
    factory = state.readers if request.method in SAFE_METHODS else state.sessions
    async with request_transaction(factory) as db:
        yield db


SessionDep = Annotated[Session, Depends(get_db, scope="function")]


async def get_writing_db(state: StateDep) -> AsyncIterator[Session]:
    """A writing transaction for a GET that appends to the audit trail (an export). A read's
    transaction is deferred on SQLite: it could not take the write lock once another writer
    had committed after its first read; this one waits for the lock when it begins, as a
    POST's does. Committed, like the request's, before the response goes out."""
    async with request_transaction(state.sessions) as db:
        yield db


WritingSessionDep = Annotated[Session, Depends(get_writing_db, scope="function")]


def get_principal(request: Request, state: StateDep, db: SessionDep,
                  credentials: Annotated[HTTPAuthorizationCredentials | None,
                                         Depends(bearer)]) -> Principal:
    """The principal of the request's token (its account as it is now), rate limited."""
    found = tokens.authenticate(db, secret=credentials.credentials if credentials else None)
    if found is None:
        if credentials is not None:  # a token sent, not a valid one: a failed login
            metrics.login_failed(request.state, "api")
        raise ApiProblem("unauthorized", NO_TOKEN, headers={"WWW-Authenticate": "Bearer"})
    wait = state.buckets.take(found.token_id)
    if wait > 0:
        raise ApiProblem("too-many-requests", TOO_FAST,
                         headers={"Retry-After": str(max(1, round(wait)))})
    if found.stale:
        if request.method in SAFE_METHODS:  # a read-only transaction: write on the side,
            # or - the store busy with a long write, an import - at a later request
            write_if_free(state.sessions, lambda writer: tokens.touch(
                writer, token_id=found.token_id))
        else:  # this request writes already (and on SQLite holds the write lock)
            tokens.touch(db, token_id=found.token_id)
    return users.principal_of(db, user=found.user, via="api")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_lang(request: Request) -> str:
    return lang_of(request)


LangDep = Annotated[str, Depends(get_lang)]


async def get_today(state: StateDep) -> date:
    return state.today()


TodayDep = Annotated[date, Depends(get_today)]


async def get_limit(state: StateDep, limit: Annotated[int, Query(
        ge=1, le=1000, description="Records per page (at most TUOPIN_API_PAGE_MAX)")] = 100,
                    ) -> int:
    """The page size asked for, never above the server's TUOPIN_API_PAGE_MAX."""
    return min(limit, state.settings.api_page_max)


LimitDep = Annotated[int, Depends(get_limit)]
