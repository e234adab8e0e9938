"""The one wiring between the doors (web, CLI) and the store: engines, sessions, schema.

The web and the command line never import tuopin.storage themselves (an import-linter
contract says so): they open the store here and hand sessions to the services.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tuopin.storage import migrate
from tuopin.storage.db import (
    make_engine,
    readonly,
    session_factory,
    transaction,
    write_if_free,
)

__all__ = ["engine_for", "is_current", "readers", "request_transaction", "revision", "sessions",
           "transaction", "upgrade", "write_if_free"]


def engine_for(url: str, *, echo: bool = False, pool_size: int | None = None) -> Engine:
    """An engine for the store at ``url`` (SQLite files get WAL mode, see storage.db)."""
    return make_engine(url, echo=echo, pool_size=pool_size)


def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions for work that may write."""
    return session_factory(engine)


def readers(engine: Engine) -> sessionmaker[Session]:
    """Sessions for read-only work (deferred transactions on SQLite: never behind a writer)."""
    return session_factory(readonly(engine))


def is_current(engine: Engine) -> bool:
    """Whether the store's schema is the newest."""
    return migrate.is_current(engine)


def revision(engine: Engine) -> str | None:
    """The store's schema revision (None: not initialised)."""
    return migrate.current_revision(engine)


def upgrade(engine: Engine) -> None:
    """Create the schema or bring it to the newest revision."""
    migrate.upgrade(engine)


@contextmanager
def _begun(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as db, db.begin():
        yield db


@asynccontextmanager
async def request_transaction(factory: sessionmaker[Session]) -> AsyncIterator[Session]:
    """One request's transaction (the web's and the API's): committed on success, rolled
    back on an error - but for a refusal that keeps its record (a probe counted and audited,
    ``keep_transaction``), which the service wrote instead of the refused change.

    Beginning is pure Python (a Session connects at its first query), so it happens on the
    event loop; ending talks to the database, so it runs in the thread pool, shielded from
    cancellation, as FastAPI does for a plain ``def`` generator.
    """
    from anyio import CancelScope, CapacityLimiter, to_thread  # the web's: not the CLI's

    transaction = _begun(factory)
    db = transaction.__enter__()
    limiter = CapacityLimiter(1)  # the exit never waits for a free worker thread
    try:
        yield db
    except BaseException as exc:
        kept = getattr(exc, "keep_transaction", False)
        ending = (None, None, None) if kept else (type(exc), exc, exc.__traceback__)
        with CancelScope(shield=True):
            swallowed = await to_thread.run_sync(transaction.__exit__, *ending,
                                                 limiter=limiter)
        if not swallowed:
            raise
    else:
        with CancelScope(shield=True):
            await to_thread.run_sync(transaction.__exit__, None, None, None, limiter=limiter)
