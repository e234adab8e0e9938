"""What every command needs: settings and, lazily, the store's engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tuopin.config import Settings
from tuopin.domain.errors import ConfigurationError
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory


@dataclass
class CliContext:
    settings: Settings
    debug: bool = False
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url, echo=self.settings.echo_sql)
        return self._engine

    def ready_engine(self) -> Engine:
        """The engine of a store that has been initialised (``tuopin init``)."""
        if not migrate.is_current(self.engine):
            raise ConfigurationError(
                "The database is not initialised or not up to date: run `tuopin init` first."
            )
        return self.engine

    def session(self) -> Session:
        return session_factory(self.ready_engine())()

    @property
    def actor(self) -> str:
        """Who the audit trail names for changes made from the command line."""
        import getpass

        return f"cli:{getpass.getuser()}"

    @staticmethod
    def today() -> date:
        return date.today()


def get(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
