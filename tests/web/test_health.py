"""/healthz and /readyz: alive without the database; ready with a current store and a worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tuopin.services.jobs import heartbeat
from tuopin.storage.db import make_engine, session_factory
from tuopin.web.app import create_app
from web.personas import CHEAP, settings_for

PG_CLOSED = "postgresql+psycopg://postgres@127.0.0.1:1/nothing"


def _unreachable_sqlite(tmp_path: Path) -> str:
    """A SQLite URL whose file is a folder: SQLite cannot open it."""
    folder = tmp_path / "secret-folder"
    folder.mkdir()
    return f"sqlite:///{folder}"


def _client(url: str, tmp_path: Path) -> TestClient:
    return TestClient(create_app(settings_for(url, data_dir=tmp_path / "data"), hasher=CHEAP),
                      follow_redirects=False)


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with _client(db_url, tmp_path) as client:
        yield client


def _beat(url: str, *, ago: float) -> None:
    engine = make_engine(url)
    now = time.time()
    with session_factory(engine)() as db, db.begin():
        heartbeat.beat(db, name="worker-1", started_at=now - 3600, running=0, concurrency=2,
                       now=now - ago)
    engine.dispose()


def test_healthz_answers_ok_without_asking_the_database(tmp_path: Path) -> None:
    with _client(_unreachable_sqlite(tmp_path), tmp_path) as client:
        answer = client.get("/healthz")
        assert (answer.status_code, answer.text) == (200, "ok")
        assert client.head("/healthz").status_code == 200
        assert "set-cookie" not in answer.headers


def test_readyz_is_ready_with_a_current_store_and_a_fresh_heartbeat(
        client: TestClient, db_url: str) -> None:
    _beat(db_url, ago=5)
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready" and body["failed"] == []
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "schema": True, "worker": True}
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize("ago", [heartbeat.FRESH_SECONDS + 30, 86_400])
def test_readyz_says_the_worker_is_stale(client: TestClient, db_url: str, ago: float) -> None:
    _beat(db_url, ago=ago)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"]["detail"].startswith("stale")
    assert body["checks"]["database"]["ok"] and body["checks"]["schema"]["ok"]


def test_readyz_says_no_worker_has_ever_run(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["failed"] == ["worker"]
    assert "no worker has ever run" in body["checks"]["worker"]["detail"]


def test_readyz_refuses_a_store_whose_schema_is_not_current(blank_db_url: str,
                                                            tmp_path: Path) -> None:
    with _client(blank_db_url, tmp_path) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"]
    assert "schema" in body["failed"]
    assert "tuopin init" in body["checks"]["schema"]["detail"]


@pytest.mark.parametrize("url", ["sqlite", pytest.param(PG_CLOSED, marks=pytest.mark.postgres)])
def test_readyz_refuses_an_unreachable_database(url: str, tmp_path: Path) -> None:
    if url == "sqlite":
        url = _unreachable_sqlite(tmp_path)
    with _client(url, tmp_path) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["failed"] == ["database", "schema", "worker"]
    assert body["checks"]["database"]["detail"].startswith("unreachable (OperationalError)")
    # the public answer names no path, server or user
    assert "folder" not in answer.text and "127.0.0.1" not in answer.text


def test_the_health_routes_need_no_login_and_set_no_cookie(client: TestClient) -> None:
    for path in ("/healthz", "/readyz"):
        answer = client.get(path)
        assert answer.status_code in (200, 503), path
        assert "set-cookie" not in answer.headers, path
        assert "location" not in answer.headers, path
