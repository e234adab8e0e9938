"""Alembic, driven from code: ``tuopin init`` creates or upgrades the schema.

Alembic is imported only by what migrates: asking whether the store is current (every
command that opens it does) reads the version table and the migration files' headers,
which costs a few milliseconds instead of Alembic's ~0.15 s of imports.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

_REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = ['\"]([^'\"]+)['\"]", re.M)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config whose migrations ship inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("tuopin.storage") / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The store's revision (None: no schema yet), read from Alembic's version table."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@lru_cache(maxsize=1)
def shipped_head() -> str | None:
    """The newest revision shipped: the one no migration names as its down_revision (read
    from the files' headers; a test holds it equal to Alembic's own answer)."""
    folder = resources.files("tuopin.storage") / "migrations" / "versions"
    revisions, downs = set(), set()
    for entry in folder.iterdir():
        if entry.name.endswith(".py") and entry.name != "__init__.py":
            source = entry.read_text(encoding="utf-8")
            revisions.update(_REVISION.findall(source))
            downs.update(_DOWN.findall(source))
    heads = revisions - downs
    return heads.pop() if len(heads) == 1 else None


def head_revision(engine: Engine) -> str | None:
    """The newest revision, as Alembic reads its script directory."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    return current_revision(engine) == (shipped_head() or head_revision(engine))
