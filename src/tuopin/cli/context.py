"""What every command needs: settings, the operator it acts as, and lazily the store.

Nothing heavy is imported here at import time: `tuopin --help` and the commands that never
open the store must not pay for SQLAlchemy or Alembic. The settings are
built at the first command that reads them, the engine at the first that opens the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from tuopin.config import Settings
    from tuopin.services.access.principal import Principal


@dataclass
class CliContext:
    debug: bool = False
    operator: str | None = None  # --operator; else the login name of whoever runs tuopin
    database_url: str | None = None  # --database-url: overrides TUOPIN_DATABASE_URL
    _settings: Settings | None = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """The settings, built once (from ``TUOPIN_*`` and --database-url) when first read."""
        if self._settings is None:
            from tuopin.config import Settings

            settings = Settings()
            if self.database_url:
                settings = settings.model_copy(update={"database_url": self.database_url})
            self._settings = settings
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from tuopin.services import store

            self._engine = store.engine_for(self.settings.database_url,
                                            echo=self.settings.echo_sql)
        return self._engine

    def ready_engine(self) -> Engine:
        """The engine of a store that has been initialised (``tuopin init``)."""
        from tuopin.domain.errors import ConfigurationError
        from tuopin.services import store

        if not store.is_current(self.engine):
            raise ConfigurationError(
                "The database is not initialised or not up to date: run `tuopin init` first."
            )
        return self.engine

    def session(self) -> Session:
        from tuopin.services import store

        return store.sessions(self.ready_engine())()

    @property
    def operator_name(self) -> str:
        """Who runs the command: --operator (or TUOPIN_OPERATOR), else the login name."""
        if self.operator:
            return self.operator
        import getpass

        return getpass.getuser()

    def principal(self, region: str | None = None) -> Principal:
        """The command line's principal: the named operator, recorded as ``cli:NAME`` in the
        audit trail, looking at ``region`` (everything when None)."""
        from tuopin.services.access.principal import Principal

        return Principal.of_operator(self.operator_name, region=region)

    @staticmethod
    def today() -> date:
        return date.today()

    def as_of(self, given: date | None) -> date:
        """The date a step is taken on: today, or an earlier day given with --as-of (a step
        of a procedure is never dated after today)."""
        today = self.today()
        if given is None:
            return today
        if given > today:
            from tuopin.domain.errors import ValidationFailed

            raise ValidationFailed(f"--as-of {given.isoformat()} is after today "
                                   f"({today.isoformat()}): a step cannot be dated later")
        return given


def get(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
