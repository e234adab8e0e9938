"""`tuopin users ...` and `tuopin serve` (on a CLI assembled as cli/main.py assembles it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from argon2 import PasswordHasher
from typer.testing import CliRunner

from factories import COUNTY, VILLAGE, registry_files
from tuopin.cli import main, users_cmd, web_cmd
from tuopin.domain.errors import ConfigurationError, NotFound, ValidationFailed

runner = CliRunner()
app = typer.Typer()
app.callback()(main.root)
users_cmd.register(app)
web_cmd.register(app)


def tuopin(url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, *args], input=stdin,
                           catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def loaded(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("tuopin.services.access.users.default_hasher",
                        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    for kind, path in registry_files(tmp_path).items():
        assert runner.invoke(main.app, ["--database-url", sqlite_url, "import", kind,
                                        str(path)]).exit_code == 0
    return sqlite_url


def _users(url: str) -> list[dict[str, Any]]:
    code, out, _ = tuopin(url, "users", "list", "--format", "json")
    assert code == 0
    return list(json.loads(out))


def test_add_makes_a_password_and_prints_it_once(loaded: str) -> None:
    code, out, err = tuopin(loaded, "users", "add", "lisi", "--role", "village_cadre",
                            "--region", VILLAGE, "--name", "李四")
    assert code == 0 and "added lisi" in err and out.startswith("password: ")
    assert len(out.split()[1]) >= 16
    assert _users(loaded)[0] | {"created_at": None} == {
        "username": "lisi", "display_name": "李四", "role": "village_cadre",
        "region_code": VILLAGE, "helper_id": None, "active": True, "created_at": None}


def test_add_reads_the_password_from_stdin_and_prints_none(loaded: str) -> None:
    code, out, _ = tuopin(loaded, "users", "add", "wangwu", "--role", "helper", "--region",
                          COUNTY, "--helper", "H001", "--password-stdin",
                          stdin="a long enough password\n")
    assert code == 0 and out == "" and _users(loaded)[0]["helper_id"] == 1


def test_an_unknown_role_is_refused(loaded: str) -> None:
    with pytest.raises(ValidationFailed, match="unknown role"):
        tuopin(loaded, "users", "add", "lisi", "--role", "mayor", "--region", VILLAGE)


def test_disable_and_reset_password(loaded: str) -> None:
    tuopin(loaded, "users", "add", "lisi", "--role", "admin")
    assert tuopin(loaded, "users", "disable", "lisi")[0] == 0
    assert _users(loaded)[0]["active"] is False
    code, out, err = tuopin(loaded, "users", "reset-password", "lisi")
    assert code == 0 and "new password set" in err and out.startswith("password: ")
    with pytest.raises(NotFound):
        tuopin(loaded, "users", "disable", "nobody")


def test_list_limits_to_a_region(loaded: str) -> None:
    tuopin(loaded, "users", "add", "lisi", "--role", "village_cadre", "--region", VILLAGE)
    tuopin(loaded, "users", "add", "zhaoliu", "--role", "county_officer", "--region", COUNTY)
    code, out, _ = tuopin(loaded, "users", "list", "--region", VILLAGE, "--format", "csv")
    assert code == 0 and out.splitlines()[1].startswith("lisi,")
    assert len(out.splitlines()) == 2


def test_demo_prints_every_account_with_its_password_once(loaded: str) -> None:
    code, out, _ = tuopin(loaded, "users", "demo", "--region", COUNTY)
    assert code == 0
    lines = [line.split() for line in out.splitlines()[1:]]
    assert [line[0] for line in lines] == [
        "demo-admin", "demo-county", "demo-township", "demo-village", "demo-helper",
        "demo-verifier", "demo-auditor"]
    assert all(len(line[1]) >= 16 for line in lines)
    code, out, _ = tuopin(loaded, "users", "demo")
    assert "already exist: demo-admin" in out and "reset-password" in out
    assert not any(line[1] in out for line in lines)


def test_serve_runs_uvicorn_on_the_app_factory_with_the_same_database(
        loaded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setenv("TUOPIN_DATABASE_URL", "sqlite:///elsewhere.db")
    assert tuopin(loaded, "serve", "--port", "8123")[0] == 0
    (target,), options = calls[0]
    assert target == "tuopin.server:app_from_env" and options["factory"] is True
    assert (options["host"], options["port"]) == ("127.0.0.1", 8123)
    assert os.environ["TUOPIN_DATABASE_URL"] == loaded


def test_serve_refuses_a_store_that_is_not_initialised(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="tuopin init"):
        tuopin(f"sqlite:///{tmp_path / 'empty.db'}", "serve")


def test_serve_gives_every_worker_the_same_secret_key(
        loaded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append(k))
    monkeypatch.delenv("TUOPIN_SECRET_KEY", raising=False)
    assert tuopin(loaded, "serve", "--workers", "3")[0] == 0
    assert calls[0]["workers"] == 3
    # uvicorn's workers read the settings from the environment: one key for all of them
    assert len(os.environ["TUOPIN_SECRET_KEY"]) >= 32
    monkeypatch.delenv("TUOPIN_SECRET_KEY")
