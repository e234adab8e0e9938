"""Engines and sessions for the store; nothing is created at import time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, echo: bool = False, pool_size: int | None = None) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode, foreign keys and a busy timeout.

    ``pool_size`` (server databases): connections kept open; as many again may be opened
    for a burst.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so that
        # BEGIN IMMEDIATE serialises writers (the audit chain relies on it). Read-only work
        # (engine.execution_options(readonly=True)) begins deferred, so that readers never
        # queue behind a writer in WAL mode.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    pool = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": pool_size}
    return create_engine(url, echo=echo, pool_pre_ping=True, **pool)


def _sqlite_begin(conn: Any) -> None:
    readonly = conn.get_execution_options().get("readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def readonly(engine: Engine) -> Engine:
    """The same engine for read-only work (deferred transactions on SQLite)."""
    return engine.execution_options(readonly=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
