"""Fixtures of the web tests: the registry built once per worker, copied for every test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from tuopin.services.access import users
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.standards.loader import load
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory
from tuopin.web.app import create_app
from web.personas import CHEAP, PASSWORD, PERSONAS, TODAY_, files, log_in, settings_for

# Browser tests wait up to 15 s for what a page should show: on CI's two cores, shared with
# the Spark and PostgreSQL tests, typing a search and rendering the answer once took more
# than Playwright's default 5 s.
expect.set_options(timeout=15_000)

@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry, one assessment run (cn-national 2019) and one user per persona."""
    folder = tmp_path_factory.mktemp("web")
    path = folder / "tuopin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    for kind, file in files(folder).items():
        assert import_file(engine, kind=kind, path=file, actor="t", today=TODAY_).ok
    computed = assessments.compute(engine, standard=load("cn-national"), year=2019,
                                   engine_name="db")
    assessments.record(engine, computed, actor="t")
    with session_factory(engine)() as db, db.begin():
        for name, p in PERSONAS.items():
            users.add(db, username=name.replace("_", "-"), role=p.role, region_code=p.region,
                      password=PASSWORD, actor="t", helper_number=p.helper, hasher=CHEAP)
    engine.dispose()
    return path


@pytest.fixture
def web_url(web_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "tuopin.db"
    shutil.copy(web_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(web_url: str) -> Iterator[FastAPI]:
    app = create_app(settings_for(web_url), hasher=CHEAP, today=lambda: TODAY_)
    with TestClient(app):  # runs the lifespan: the engine is disposed of at the end
        yield app


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Callable[[str | None], TestClient]]:
    """A browser of its own for a persona (None: anonymous), logged in."""
    made: list[TestClient] = []

    def make(persona: str | None) -> TestClient:
        client = TestClient(app, follow_redirects=False)
        made.append(client)
        return log_in(client, persona) if persona else client

    yield make
    for client in made:
        client.close()
