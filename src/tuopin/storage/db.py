"""Engines and sessions for the store; nothing is created at import time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Never write a transaction's pages to the WAL before its commit. SQLite 3.40 (Debian 12's)
    # can leave frames with zero checksums in the WAL when a transaction that spilled is
    # rolled back to a savepoint and then committed (an upload's dry run) while another
    # connection reads: the live processes do not notice, but the recovery after a crash
    # stops at those frames and loses every later commit, or finds the file malformed
    # (tests/services/test_worker_process.py). The price: a big transaction's pages stay in
    # memory until it commits.
    cursor.execute("PRAGMA cache_spill=OFF")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


BUSY_TIMEOUT_MS = 30_000


def write_if_free(factory: sessionmaker[Session], work: Callable[[Session], None]) -> bool:
    """Do a small write that may be skipped (the last use of a login or a token) in a
    transaction of its own; on SQLite, when another connection holds the write lock (a long
    import), give up at once instead of waiting for it. Returns whether it was written."""
    engine = factory.kw["bind"]
    if not is_sqlite(str(engine.url)):
        with factory() as db, db.begin():
            work(db)
        return True
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection  # not through SQLAlchemy: that would BEGIN
        assert raw is not None
        raw.execute("PRAGMA busy_timeout=0")
        try:
            with Session(bind=conn) as db:
                work(db)
                db.commit()
            return True
        except OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
