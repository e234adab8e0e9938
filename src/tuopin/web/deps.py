"""Typed dependencies: the database session, the logged-in user and the principal.

Dependencies that only read the request are ``async def``: FastAPI runs a plain ``def`` in
its thread pool, a hop that costs more than such a dependency's work (a few 100 µs of a
page's few ms). Whatever waits on the database runs in the thread pool, never on the event
loop: ``current_user``, the end of ``get_db``'s transaction, a helper's principal.

The web only authenticates: every route that shows or changes anything takes
``PrincipalDep`` and hands it to the services, which decide who may do what (the policy) and
query only inside the principal's scope. No route checks a role.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from tuopin.i18n import normalize_lang
from tuopin.services.access import sessions, users
from tuopin.services.access.principal import Principal
from tuopin.services.access.users import User
from tuopin.services.store import request_transaction, write_if_free
from tuopin.web.csrf import SAFE_METHODS
from tuopin.web.state import WebState, state_of

SESSION_TOKEN = "sid"  # the server-side session's token (services/access/sessions.py)
SESSION_LANG = "lang"


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page (web/errors.py)."""


async def get_state(request: Request) -> WebState:
    return state_of(request)


StateDep = Annotated[WebState, Depends(get_state)]


async def get_db(request: Request, state: StateDep) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent, or rolled back
    (but for a refusal that keeps its record: a probe counted and audited, which the
    service wrote instead of the refused change).

    Pages (GET) read in a deferred transaction, so on SQLite they never wait for a writer.
    Beginning is pure Python (a Session connects at its first query), so it happens here on
    the event loop; ending talks to the database, so it runs in the thread pool, shielded
    from cancellation, as FastAPI does for a plain ``def`` generator.
    """
    factory = state.readers if request.method in SAFE_METHODS else state.sessions
    async with request_transaction(factory) as db:
        yield db


# scope="function": the commit happens before the response goes out, so a page never says
# "saved" for a change that then fails to commit.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


async def get_writing_db(state: StateDep) -> AsyncIterator[Session]:
    """A writing transaction for a GET that appends to the audit trail (a file of personal
    data taken away): a page's deferred transaction could not take SQLite's write lock once
    another writer had committed after its first read; this one waits for it when it begins,
    as a form's does. Committed, like the page's, before the response goes out."""
    async with request_transaction(state.sessions) as db:
        yield db


WritingSessionDep = Annotated[Session, Depends(get_writing_db, scope="function")]


def lang_of(conn: HTTPConnection) -> str:
    """The language chosen in this session, else the configured default."""
    chosen = conn.session.get(SESSION_LANG)
    return normalize_lang(chosen if isinstance(chosen, str) else state_of(conn).settings.lang)


async def get_lang(request: Request) -> str:
    return lang_of(request)


LangDep = Annotated[str, Depends(get_lang)]


async def get_today(state: StateDep) -> date:
    """The date every rule of this request uses (read once; tests fix it)."""
    return state.today()


TodayDep = Annotated[date, Depends(get_today)]


def _address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def current_user(request: Request, db: SessionDep) -> User:
    """The user of this browser's live server-side session (else: to the login page)."""
    state = state_of(request)
    token = request.session.get(SESSION_TOKEN)
    now = time.time()
    found = (sessions.resume(db, token=token, limits=state.session_limits, now=now)
             if isinstance(token, str) else None)
    if found is None:
        request.session.pop(SESSION_TOKEN, None)
        raise LoginRequired
    if found.stale:
        if request.method in SAFE_METHODS:  # a read-only transaction: write on the side,
            # or - the store busy with a long write, an import - at a later request
            write_if_free(state.sessions, lambda writer: sessions.touch(
                writer, key=found.key, now=now))
        else:  # this request writes already (and on SQLite holds the write lock)
            sessions.touch(db, key=found.key, now=now)
    request.state.user = found.user
    return found.user


CurrentUser = Annotated[User, Depends(current_user)]


async def get_principal(db: SessionDep, user: CurrentUser) -> Principal:
    """The principal the services are handed (a helper's names their households: a query)."""
    if not users.needs_query(user):
        return users.principal_of(db, user=user)
    return await to_thread.run_sync(lambda: users.principal_of(db, user=user))


PrincipalDep = Annotated[Principal, Depends(get_principal)]
