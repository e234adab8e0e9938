"""The one wiring between the doors (web, CLI) and the store: engines, sessions, schema.

The web and the command line never import tuopin.storage themselves (an import-linter
contract says so): they open the store here and hand sessions to the services.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tuopin.storage import migrate
from tuopin.storage.db import make_engine, readonly, session_factory, transaction

__all__ = ["engine_for", "is_current", "readers", "revision", "sessions", "transaction",
           "upgrade"]


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
