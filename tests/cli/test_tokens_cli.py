"""`tuopin tokens create|list|revoke` (on a CLI assembled as cli/main.py assembles it)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner

from factories import operator
from tuopin.cli import main, tokens_cmd
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.services.access import tokens, users
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import ApiTokenRecord, AuditEventRecord

runner = CliRunner()
app = typer.Typer()
app.callback()(main.root)
tokens_cmd.register(app)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def tuopin(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, "--operator", "ops", *args],
                           catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(sqlite_url: str) -> str:
    """A store with two accounts: ``sync-bot`` (active) and ``gone`` (disabled)."""
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as db, db.begin():
        for name in ("sync-bot", "gone"):
            users.add(db, principal=operator(), username=name, role=Role.ADMIN,
                      region_code=None, password="a long enough password", hasher=CHEAP)
        users.disable(db, principal=operator(), username="gone")
    engine.dispose()
    return sqlite_url


def _listed(url: str, username: str = "sync-bot") -> list[dict[str, Any]]:
    code, out, _ = tuopin(url, "tokens", "list", username, "--format", "json")
    assert code == 0
    return list(json.loads(out))


def _bearer(url: str, secret: str) -> tokens.Bearer | None:
    engine = make_engine(url)
    with session_factory(engine)() as db:
        found = tokens.authenticate(db, secret=secret)
    engine.dispose()
    return found


def _stored(url: str) -> tuple[list[ApiTokenRecord], list[AuditEventRecord]]:
    engine = make_engine(url)
    with session_factory(engine)() as db:
        rows = list(db.scalars(select(ApiTokenRecord)))
        events = list(db.scalars(select(AuditEventRecord)
                                 .where(AuditEventRecord.entity == "api_token")))
        db.expunge_all()
    engine.dispose()
    return rows, events


def test_create_prints_the_secret_alone_once_and_stores_only_its_hash(store: str) -> None:
    code, out, err = tuopin(store, "tokens", "create", "sync-bot", "--name", "低保系统")
    assert code == 0
    secret = out.strip()
    assert out == secret + "\n" and secret.startswith("tp_") and len(secret) > 40
    assert "shown only now and never again" in err and "does not expire" in err
    found = _bearer(store, secret)
    assert found is not None and found.user.username == "sync-bot"
    [row] = _listed(store)
    assert row["name"] == "低保系统" and row["kind"] == "service"
    assert row["created_by"] == "cli:ops" and secret.startswith(row["prefix"])
    assert row["expires_at"] is None and row["revoked_at"] is None
    records, events = _stored(store)
    assert [r.secret_hash for r in records] == [tokens._hash(secret)]
    assert [e.actor for e in events] == ["cli:ops"]
    assert all(secret not in json.dumps(e.after) for e in events)


def test_a_listing_never_shows_a_secret(store: str) -> None:
    secret = tuopin(store, "tokens", "create", "sync-bot", "--name", "a")[1].strip()
    for fmt in ("table", "json", "csv"):
        code, out, _ = tuopin(store, "tokens", "list", "sync-bot", "--format", fmt)
        assert code == 0 and secret not in out
        assert fmt == "table" or secret[:10] in out  # a table may be cut to the terminal


def test_expires_sets_the_end_date(store: str) -> None:
    code, _, err = tuopin(store, "tokens", "create", "sync-bot", "--name", "a",
                          "--expires", "30")
    assert code == 0 and "expires 20" in err
    assert _listed(store)[0]["expires_at"] is not None


def test_revoke_refuses_the_token_from_then_on(store: str) -> None:
    secret = tuopin(store, "tokens", "create", "sync-bot", "--name", "a")[1].strip()
    token_id = str(_listed(store)[0]["id"])
    code, _, err = tuopin(store, "tokens", "revoke", token_id)
    assert code == 0 and f"revoked token {token_id}" in err and "sync-bot" in err
    assert _listed(store)[0]["revoked_at"] is not None
    assert _bearer(store, secret) is None
    assert tuopin(store, "tokens", "revoke", token_id)[0] == 0  # again: nothing changes
    assert [e.action for e in _stored(store)[1]] == ["add", "revoke"]


def test_the_newest_token_is_listed_first(store: str) -> None:
    for name in ("first", "second"):
        tuopin(store, "tokens", "create", "sync-bot", "--name", name)
    assert [t["name"] for t in _listed(store)] == ["second", "first"]


@pytest.mark.parametrize(("args", "error"), [
    (["create", "nobody", "--name", "a"], NotFound),
    (["create", "gone", "--name", "a"], ValidationFailed),  # a disabled account
    (["create", "sync-bot", "--name", " "], ValidationFailed),
    (["create", "sync-bot", "--name", "x" * 65], ValidationFailed),
    (["create", "sync-bot", "--name", "a", "--expires", "0"], ValidationFailed),
    (["create", "sync-bot", "--name", "a", "--expires", "3651"], ValidationFailed),
    (["list", "nobody"], NotFound),
    (["revoke", "99"], NotFound),
])
def test_a_refused_command_makes_no_token(store: str, args: list[str],
                                          error: type[Exception]) -> None:
    with pytest.raises(error):
        tuopin(store, "tokens", *args)
    assert _stored(store)[0] == []


def test_the_module_imports_no_service_before_a_command_runs() -> None:
    # `tuopin --help` loads every command module: the services wait for a command's body
    tree = ast.parse(Path(tokens_cmd.__file__).read_text(encoding="utf-8"))
    top = [n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)]
    top += [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
    assert top and not [name for name in top if name.startswith("tuopin.services")]
