"""Typed dependencies: the database session, the logged-in user, their access, role checks.

Dependencies that only read the request are ``async def``: FastAPI runs a plain ``def`` in
its thread pool, a hop that costs more than such a dependency's work (a few 100 µs of a
page's few ms). Whatever waits on the database runs in the thread pool, never on the event
loop: ``current_user``, the end of ``get_db``'s transaction, a helper's access.

Every route that shows or changes the registry takes ``AccessDep`` (the user's Scope, and
for a helper their households) and hands it to the services, which query only through it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any

from anyio import CancelScope, CapacityLimiter, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied
from tuopin.i18n import N_, normalize_lang
from tuopin.services.access import users
from tuopin.services.access.users import Access, User
from tuopin.web.csrf import SAFE_METHODS
from tuopin.web.state import WebState, state_of

SESSION_USER = "uid"
SESSION_STAMP = "stamp"
SESSION_LANG = "lang"
SESSION_SINCE = "since"


class LoginRequired(Exception):
    """No valid session: the browser is sent to the login page (web/errors.py)."""


async def get_state(request: Request) -> WebState:
    return state_of(request)


StateDep = Annotated[WebState, Depends(get_state)]


@contextmanager
def _transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as db, db.begin():
        yield db


async def get_db(request: Request, state: StateDep) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent, or rolled back.

    Pages (GET) read in a deferred transaction, so on SQLite they never wait for a writer.
    Beginning is pure Python (a Session connects at its first query), so it happens here on
    the event loop; ending talks to the database, so it runs in the thread pool, shielded
    from cancellation, as FastAPI does for a plain ``def`` generator.
    """
    factory = state.readers if request.method in SAFE_METHODS else state.sessions
    transaction = _transaction(factory)
    db = transaction.__enter__()
    limiter = CapacityLimiter(1)  # the exit never waits for a free worker (see FastAPI's)
    try:
        yield db
    except BaseException as exc:
        with CancelScope(shield=True):
            swallowed = await to_thread.run_sync(
                transaction.__exit__, type(exc), exc, exc.__traceback__, limiter=limiter)
        if not swallowed:
            raise
    else:
        with CancelScope(shield=True):
            await to_thread.run_sync(transaction.__exit__, None, None, None, limiter=limiter)


# scope="function": the commit happens before the response goes out, so a page never says
# "saved" for a change that then fails to commit.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


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


def _expired(request: Request) -> bool:
    """A login lasts session_max_age from logging in, however often the cookie is renewed."""
    since = request.session.get(SESSION_SINCE)
    age = state_of(request).settings.session_max_age
    return not isinstance(since, int) or time.time() - since > age


def current_user(request: Request, db: SessionDep) -> User:
    """The logged-in, still active user whose password has not changed since logging in."""
    uid = request.session.get(SESSION_USER)
    user = users.get_active(db, user_id=uid) if isinstance(uid, int) else None
    if user is None or request.session.get(SESSION_STAMP) != user.stamp or _expired(request):
        for key in (SESSION_USER, SESSION_STAMP, SESSION_SINCE):
            request.session.pop(key, None)
        raise LoginRequired
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def get_access(db: SessionDep, user: CurrentUser) -> Access:
    known = users.region_access(user)
    if known is not None:
        return known
    return await to_thread.run_sync(lambda: users.access_of(db, user=user))


AccessDep = Annotated[Access, Depends(get_access)]


def require(roles: Collection[Role]) -> Any:
    """A dependency that lets only ``roles`` through (others get 403)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise PermissionDenied(N_("Your role may not do this."))
        return user

    return Depends(check)


Editor = Annotated[User, require(users.EDITORS)]
Revealer = Annotated[User, require(users.MAY_REVEAL)]
