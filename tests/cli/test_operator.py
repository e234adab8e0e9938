"""The command line acts as a named operator: `--operator NAME`, TUOPIN_OPERATOR, else the login
name; the audit trail records `cli:NAME`. A step is never dated after today."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import Result
from typer.testing import CliRunner

from factories import VILLAGE, households, operator, registry_files
from tuopin.cli.main import app, main
from tuopin.services import audit
from tuopin.storage.db import make_engine, session_factory

runner = CliRunner()
NUMBER = str(households(1)[0]["number"])  # the poor household of registry_files
TOWNSHIP = VILLAGE[:9]  # 平襄镇, as an officer types it
TOWNSHIP_CODE = TOWNSHIP.ljust(12, "0")  # as the store keeps it
LOGIN = getpass.getuser()  # who runs the tests


def invoke(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, ["--database-url", url, *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def audit_log(url: str, entity: str, entity_id: str | None = None) -> list[dict[str, Any]]:
    """The audit events of ``entity`` as `tuopin audit log --format json` prints them."""
    args = ["audit", "log", "--entity", entity, "--format", "json"]
    rows = json.loads(invoke(url, *args, *(["--id", entity_id] if entity_id else [])).stdout)
    assert isinstance(rows, list)
    return rows


def history(url: str, entity: str, entity_id: str | None = None) -> list[dict[str, Any]]:
    """The same events read through the audit service, as an operator of the command line."""
    engine = make_engine(url)
    try:
        with session_factory(engine)() as db:
            return audit.history(db, principal=operator(), entity=entity, entity_id=entity_id)
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TUOPIN_OPERATOR from whoever runs the tests (the tests set it themselves), a wide
    terminal, and quick password hashes."""
    monkeypatch.delenv("TUOPIN_OPERATOR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # an error on one line, as on an office screen
    monkeypatch.setattr("tuopin.services.access.users.default_hasher",
                        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    """The small registry, imported by the operator `loader`."""
    for kind, path in registry_files(tmp_path).items():
        invoke(db_url, "--operator", "loader", "import", kind, str(path))
    return db_url


def test_an_import_is_audited_as_the_operator_named_by_option_environment_or_login(
    db_url: str, tmp_path: Path,
) -> None:
    files = registry_files(tmp_path)
    invoke(db_url, "--operator", "alice", "import", "regions", str(files["regions"]))
    invoke(db_url, "import", "households", str(files["households"]),
           env={"TUOPIN_OPERATOR": "bob"})
    invoke(db_url, "import", "members", str(files["members"]))
    for entity, actor in [("regions", "cli:alice"), ("households", "cli:bob"),
                          ("members", f"cli:{LOGIN}")]:
        (event,) = audit_log(db_url, entity)
        assert (event["action"], event["actor"]) == ("import", actor), entity
        (stored,) = history(db_url, entity)
        assert (stored["action"], stored["actor"]) == ("import", actor), entity


def test_the_option_wins_over_the_environment(db_url: str, tmp_path: Path) -> None:
    files = registry_files(tmp_path)
    invoke(db_url, "--operator", "alice", "import", "regions", str(files["regions"]),
           env={"TUOPIN_OPERATOR": "bob"})
    assert [e["actor"] for e in audit_log(db_url, "regions")] == ["cli:alice"]


def test_without_a_name_the_operator_is_the_login_name(
    loaded: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    invoke(loaded, "users", "add", "lisi", "--role", "village_cadre", "--region", VILLAGE)
    monkeypatch.setattr(getpass, "getuser", lambda: "carol")
    invoke(loaded, "users", "disable", "lisi")
    assert [(e["action"], e["actor"]) for e in audit_log(loaded, "user", "lisi")] == [
        ("add", f"cli:{LOGIN}"), ("disable", "cli:carol")]


def test_users_add_and_change_are_audited_as_the_operator(loaded: str) -> None:
    invoke(loaded, "--operator", "alice", "users", "add", "lisi", "--role", "village_cadre",
           "--region", VILLAGE, "--name", "李四")
    changed = invoke(loaded, "users", "change", "lisi", "--role", "township_officer",
                     "--region", TOWNSHIP, env={"TUOPIN_OPERATOR": "bob"})
    assert f"lisi is now township_officer of {TOWNSHIP_CODE}" in changed.stderr
    (listed,) = json.loads(invoke(loaded, "users", "list", "--format", "json").stdout)
    assert (listed["username"], listed["display_name"], listed["role"],
            listed["region_code"]) == ("lisi", "李四", "township_officer", TOWNSHIP_CODE)
    add, change = audit_log(loaded, "user", "lisi")
    assert (add["action"], add["actor"]) == ("add", "cli:alice")
    assert (change["action"], change["actor"]) == ("change", "cli:bob")
    before, after = json.loads(change["before"]), json.loads(change["after"])  # as stored
    assert (before["role"], before["region_code"]) == ("village_cadre", VILLAGE)
    assert (after["role"], after["region_code"]) == ("township_officer", TOWNSHIP_CODE)
    assert [e["actor"] for e in history(loaded, "user", "lisi")] == ["cli:alice", "cli:bob"]
    verified = json.loads(invoke(loaded, "audit", "verify", "--format", "json").stdout)
    assert verified["ok"] is True


def test_a_change_that_changes_nothing_is_not_audited(loaded: str) -> None:
    invoke(loaded, "users", "add", "lisi", "--role", "village_cadre", "--region", VILLAGE)
    invoke(loaded, "users", "change", "lisi", "--role", "village_cadre", "--region", VILLAGE)
    assert [e["action"] for e in audit_log(loaded, "user", "lisi")] == ["add"]


@pytest.fixture
def drafted(loaded: str) -> str:
    """A run and a drafted plan for the poor household, by the operator `alice`."""
    out = invoke(loaded, "--operator", "alice", "assess", "--standard", "cn-national",
                 "--year", "2019", "--engine", "db", "--format", "json").stdout
    assert json.loads(out)["run"] == 1
    invoke(loaded, "--operator", "alice", "plans", "draft", "--run", "1", "--household", NUMBER,
           "--as-of", "2020-01-01")
    return loaded


def test_a_plan_step_is_audited_as_the_operator(drafted: str) -> None:
    invoke(drafted, "plans", "approve", NUMBER, "--as-of", "2020-01-02",
           env={"TUOPIN_OPERATOR": "bob"})
    plan = json.loads(invoke(drafted, "plans", "show", NUMBER, "--format", "json").stdout)["plan"]
    assert (plan["drafted_by"], plan["approved_by"]) == ("cli:alice", "cli:bob")
    events = audit_log(drafted, "plan", str(plan["plan"]))
    assert [(e["action"], e["actor"]) for e in events] == [("draft", "cli:alice"),
                                                          ("approve", "cli:bob")]


def _run_main(url: str, args: list[str], monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["tuopin", "--database-url", url, *args])
    with pytest.raises(SystemExit) as caught:
        main()
    return caught.value.code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("args", [
    ["plans", "approve", NUMBER],
    ["measures", "start", "1"],
    ["exit", "announce", NUMBER],
    ["monitor", "scan", "--run", "1"],
], ids=lambda args: " ".join(args[:2]))
def test_a_step_dated_after_today_is_refused(
    drafted: str, args: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    before = history(drafted, "plan") + history(drafted, "measure")
    code, err = _run_main(drafted, [*args, "--as-of", tomorrow], monkeypatch, capsys)
    assert code == 1, err
    assert f"--as-of {tomorrow} is after today" in err and len(err.splitlines()) == 1, err
    assert history(drafted, "plan") + history(drafted, "measure") == before
    plan = json.loads(invoke(drafted, "plans", "show", NUMBER, "--format", "json").stdout)
    assert plan["plan"]["status"] == "draft"
    assert {m["status"] for m in plan["measures"]} == {"planned"}


def test_a_step_dated_today_is_taken(
    drafted: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    today = date.today().isoformat()
    code, err = _run_main(drafted, ["plans", "approve", NUMBER, "--as-of", today],
                          monkeypatch, capsys)
    assert code in (0, None), err
    plan = json.loads(invoke(drafted, "plans", "show", NUMBER, "--format", "json").stdout)
    assert (plan["plan"]["status"], plan["plan"]["approved_on"]) == ("approved", today)
