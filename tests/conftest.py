"""Shared fixtures: a fresh database per test, on SQLite and on PostgreSQL.

Each test run migrates one template per backend and copies it for every test (a file copy
on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests stay independent and fast.
PostgreSQL is required: set TUOPIN_TEST_SKIP_PG=1 only to work without it locally.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory

# every log record of the run, as JSON, scanned for ID and phone numbers at the end
pytest_plugins = ("logscan",)

PG_SERVER = os.environ.get("TUOPIN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SKIP_PG = os.environ.get("TUOPIN_TEST_SKIP_PG") == "1"
TODAY = date(2026, 11, 29)
RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    engine = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: Engine, worker_id: str) -> Iterator[str]:
    name = f"tuopin_tpl_{RUN}_{worker_id}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(f"{PG_SERVER}/{name}")
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tuopin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


def _fresh_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    if SKIP_PG:
        pytest.skip("TUOPIN_TEST_SKIP_PG=1")
    admin: Engine = request.getfixturevalue("pg_admin")
    template: str = request.getfixturevalue("pg_template")
    name = f"tuopin_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated, empty store: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "tuopin.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        yield from _fresh_pg(request)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh store with no schema at all (for tests of the migrations)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        return
    if SKIP_PG:
        pytest.skip("TUOPIN_TEST_SKIP_PG=1")
    admin: Engine = request.getfixturevalue("pg_admin")
    name = f"tuopin_b_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL store, for tests of concurrency that only PostgreSQL can show."""
    yield from _fresh_pg(request)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "tuopin.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as db:
        yield db


@pytest.fixture
def today() -> date:
    return TODAY
