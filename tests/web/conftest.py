"""Fixtures of the web tests: the registry built once per worker, copied for every test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from factories import operator
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

class Inline(Executor):
    """Background work done at once, so that a test sees its result on the next request."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future: Future[object] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry, one assessment run (cn-national 2019) and one user per persona."""
    folder = tmp_path_factory.mktemp("web")
    path = folder / "tuopin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    for kind, file in files(folder).items():
        assert import_file(engine, principal=operator(), kind=kind, path=file,
                           today=TODAY_).ok
    computed = assessments.compute(engine, principal=operator(), standard=load("cn-national"),
                                   year=2019, engine_name="db")
    assessments.record(engine, computed, principal=operator())
    with session_factory(engine)() as db, db.begin():
        for name, p in PERSONAS.items():
            users.add(db, principal=operator(), username=name.replace("_", "-"), role=p.role,
                      region_code=p.region, password=PASSWORD, helper_number=p.helper,
                      hasher=CHEAP)
    engine.dispose()
    return path


@pytest.fixture
def web_url(web_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "tuopin.db"
    shutil.copy(web_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    # evidence and uploads in the test's own folder, never in the working directory's var/
    app = create_app(settings_for(web_url, data_dir=tmp_path / "data"), hasher=CHEAP,
                     today=lambda: TODAY_, background=Inline())
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
