"""Fixtures of the API tests: the web tests' small world, served with the API mounted, and
a token for every persona."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tuopin.server import create_server
from tuopin.services.access import tokens, users
from tuopin.services.access.principal import Principal
from tuopin.storage.models import AuditEventRecord, UserRecord
from web.conftest import Inline, web_template, web_url  # noqa: F401  (fixtures)
from web.personas import CHEAP, PERSONAS, TODAY_, settings_for

ALL = tuple(PERSONAS)


def principal_of(app: FastAPI, persona: str) -> Principal:
    """The principal ``persona``'s account acts as (as its owner, in the web)."""
    with app.state.web.sessions() as db:
        record = db.scalars(select(UserRecord).where(
            UserRecord.username == persona.replace("_", "-"))).one()
        return users.principal_of(db, user=users.user_of(record))


def exports_recorded(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    """The export events of the audit trail: (actor, file, what the event says)."""
    with app.state.web.sessions() as db:
        rows = db.execute(select(AuditEventRecord.actor, AuditEventRecord.entity_id,
                                 AuditEventRecord.after)
                          .where(AuditEventRecord.action == "export")
                          .order_by(AuditEventRecord.id)).all()
    return [(actor, name, json.loads(after)) for actor, name, after in rows]


def token_for(app: FastAPI, persona: str, **options: Any) -> str:
    """A new personal token of ``persona``'s account (made as its owner would)."""
    with app.state.web.sessions() as db, db.begin():
        secret, _info = tokens.create(db, principal=principal_of(app, persona),
                                      name=f"{persona} test", **options)
    return secret


@pytest.fixture
def server(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:  # noqa: F811
    app = create_server(settings_for(web_url, data_dir=tmp_path / "data"), hasher=CHEAP,
                        today=lambda: TODAY_, background=Inline())
    with TestClient(app):
        yield app


@pytest.fixture
def api_for(server: FastAPI) -> Iterator[Callable[[str | None], TestClient]]:
    """A client carrying ``persona``'s token (None: no token at all)."""
    made: list[TestClient] = []

    def make(persona: str | None) -> TestClient:
        headers = {"Authorization": f"Bearer {token_for(server, persona)}"} if persona else {}
        client = TestClient(server, headers=headers, base_url="http://testserver/api/v1")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
