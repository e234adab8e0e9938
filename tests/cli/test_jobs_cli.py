"""`tuopin jobs list|show|cancel` and `tuopin worker --once` (on a CLI assembled as
cli/main.py assembles it), on jobs queued through the services as the web queues them."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
from argon2 import PasswordHasher
from sqlalchemy import select
from typer.testing import CliRunner

from factories import VILLAGE, households, operator, registry_files
from tuopin.cli import jobs_cmd, main
from tuopin.domain.enums import JobState, Role
from tuopin.domain.errors import Message, RuleBroken
from tuopin.io.schema import Kind
from tuopin.services.access import users
from tuopin.services.access.policy import NOT_ALLOWED
from tuopin.services.imports.files import import_file
from tuopin.services.jobs import queue, starts
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import UserRecord

runner = CliRunner()
app = typer.Typer()
app.callback()(main.root)
jobs_cmd.register(app)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
UNKNOWN = "0" * 32
NUMBERS = sorted(str(h["number"]) for h in households(3))


def tuopin(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, "--operator", "ops", *args],
                           catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def refused(url: str, args: list[str], monkeypatch: pytest.MonkeyPatch,
            capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    """Run the real entry point (which turns an error into one line and an exit code)."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["tuopin", "--database-url", url, "--operator", "ops",
                                      *args])
    with pytest.raises(SystemExit) as caught:
        main.main()
    return caught.value.code, capsys.readouterr().err.strip()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The jobs' files go to the test's own folder; no other TUOPIN_ setting leaks in."""
    for name in [n for n in os.environ if n.startswith("TUOPIN_")]:
        monkeypatch.delenv(name)
    folder = tmp_path / "data"
    monkeypatch.setenv("TUOPIN_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def store(db_url: str, tmp_path: Path, data_dir: Path, today: date) -> Iterator[str]:
    """A registry of three households of VILLAGE and an account of its village cadre."""
    engine = make_engine(db_url)
    for kind, path in registry_files(tmp_path).items():
        assert import_file(engine, principal=operator(), kind=Kind(kind), path=path,
                           today=today).ok
    with session_factory(engine)() as db, db.begin():
        users.add(db, principal=operator(), username="cadre", role=Role.VILLAGE_CADRE,
                  region_code=VILLAGE, password="a long enough password", hasher=CHEAP)
    engine.dispose()
    yield db_url


@pytest.fixture
def in_process_worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`tuopin worker` run inside pytest: its logging set-up would replace the test run's
    own log capture (and write to CliRunner's closed stream), and its signal handlers
    would outlive it - both are left as they were."""
    monkeypatch.setattr("tuopin.logs.configure", lambda *_args, **_kw: None)
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    yield
    for sig, handler in kept.items():
        signal.signal(sig, handler)


def queue_export(url: str, kind: str = "households", *, username: str | None = None,
                 region: str | None = None) -> str:
    """An export queued as the web queues it: by the operator, or by the account named."""
    engine = make_engine(url)
    with session_factory(engine)() as db, db.begin():
        principal = operator("ops")
        if username is not None:
            record = db.scalars(select(UserRecord).where(UserRecord.username == username)).one()
            principal = users.principal_of(db, user=users.user_of(record))
        job = starts.start_export(db, principal=principal, kind=kind, region=region)
    engine.dispose()
    return job


def listed(url: str, *args: str) -> list[dict[str, Any]]:
    code, out, err = tuopin(url, "jobs", "list", "--format", "json", *args)
    assert code == 0, err
    return list(json.loads(out))


def shown(url: str, job: str) -> dict[str, Any]:
    code, out, err = tuopin(url, "jobs", "show", job, "--format", "json")
    assert code == 0, err
    return dict(json.loads(out))


# -- jobs list / show ---------------------------------------------------------------------------

def test_list_of_no_jobs_is_empty(store: str) -> None:
    assert listed(store) == []


def test_list_shows_every_job_newest_first_in_json(store: str) -> None:
    first, second = queue_export(store), queue_export(store, "members", username="cadre")
    rows = listed(store)
    assert [r["id"] for r in rows] == [second, first]
    assert list(rows[0]) == jobs_cmd.COLUMNS
    assert {(r["kind"], r["state"]) for r in rows} == {("export", "queued")}
    assert (rows[0]["actor"], rows[0]["region"]) == ("web:cadre", VILLAGE)
    assert (rows[1]["actor"], rows[1]["region"]) == ("ops", "")  # factories.operator("ops")


def test_list_prints_a_table_and_csv(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # a table as wide as an office screen
    job = queue_export(store)
    code, out, _ = tuopin(store, "jobs", "list")
    row = next(line for line in out.splitlines() if job in line)  # the id whole, to copy
    assert code == 0 and "export" in row and "queued" in row
    code, out, _ = tuopin(store, "jobs", "list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [r["id"] for r in rows] == [job]


def test_list_filters_by_state(store: str, in_process_worker: None) -> None:
    done = queue_export(store)
    assert tuopin(store, "worker", "--once")[0] == 0
    waiting = queue_export(store)
    assert [r["id"] for r in listed(store, "--state", "queued")] == [waiting]
    assert [r["id"] for r in listed(store, "--state", "done")] == [done]
    assert listed(store, "--state", "failed") == []


def test_list_with_a_state_that_does_not_exist_is_a_usage_error(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = refused(store, ["jobs", "list", "--state", "finished"], monkeypatch, capsys)
    assert code == 2 and "--state" in err and "finished" in err
    assert "--debug" not in err, err  # the user's mistake, not tuopin's


def test_show_gives_a_jobs_arguments_and_state(store: str) -> None:
    job = queue_export(store, region=VILLAGE)
    found = shown(store, job)
    assert (found["id"], found["kind"], found["state"]) == (job, "export", "queued")
    assert found["args"] == {"kind": "households", "format": "csv", "region": VILLAGE,
                             "run": None}
    assert found["file"] is None and found["result"] == {}
    code, out, _ = tuopin(store, "jobs", "show", job)
    assert code == 0 and job in out and "households" in out


def test_show_of_an_unknown_job_exits_1_in_one_line(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = refused(store, ["jobs", "show", UNKNOWN], monkeypatch, capsys)
    assert code == 1 and UNKNOWN in err and len(err.splitlines()) == 1, err


# -- jobs cancel ----------------------------------------------------------------------------------

def test_cancel_ends_a_queued_job_and_the_worker_leaves_it(
    store: str, data_dir: Path, in_process_worker: None,
) -> None:
    job = queue_export(store, username="cadre")  # the operator cancels anyone's job
    code, out, _ = tuopin(store, "jobs", "cancel", job)
    assert code == 0 and f"job {job}: cancelled" in out
    found = shown(store, job)
    assert found["state"] == "cancelled" and found["finished"]
    code, _, err = tuopin(store, "worker", "--once")
    assert code == 0 and "stopped after 0 jobs" in err
    assert shown(store, job)["state"] == "cancelled"
    assert not (data_dir / "jobs" / job).exists()


def test_cancel_of_an_ended_job_exits_1_with_the_reason(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    in_process_worker: None,
) -> None:
    job = queue_export(store)
    assert tuopin(store, "worker", "--once")[0] == 0
    code, err = refused(store, ["jobs", "cancel", job], monkeypatch, capsys)
    assert code == 1 and len(err.splitlines()) == 1, err
    refusal = RuleBroken(queue.NOT_CANCELLABLE, state=Message(JobState.DONE.title))
    assert err in (f"error: {refusal}", f"error: {refusal.translated('zh')}"), err
    assert shown(store, job)["state"] == "done"


def test_cancel_twice_exits_1_the_second_time(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    job = queue_export(store)
    assert tuopin(store, "jobs", "cancel", job)[0] == 0
    code, err = refused(store, ["jobs", "cancel", job], monkeypatch, capsys)
    assert code == 1, err
    assert shown(store, job)["state"] == "cancelled"


def test_cancel_of_an_unknown_job_exits_1(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = refused(store, ["jobs", "cancel", UNKNOWN], monkeypatch, capsys)
    assert code == 1 and UNKNOWN in err, err


# -- worker --once ------------------------------------------------------------------------------

def test_worker_once_runs_the_queued_jobs_and_exits(store: str, data_dir: Path,
                                                     in_process_worker: None) -> None:
    everything = queue_export(store)
    cadres = queue_export(store, "members", username="cadre")
    code, _, err = tuopin(store, "worker", "--once")
    assert code == 0, err
    assert "stopped after 2 jobs" in err
    for job in (everything, cadres):
        found = shown(store, job)
        assert (found["state"], found["error"]) == ("done", ""), found
        assert found["file"] and (data_dir / "jobs" / job / found["file"]).is_file()
    content = (data_dir / "jobs" / everything / "households.csv").read_text("utf-8-sig")
    assert sorted(r["number"] for r in csv.DictReader(io.StringIO(content))) == NUMBERS
    assert shown(store, everything)["result"]["bytes"] == len(content.encode("utf-8")) + 3
    assert listed(store, "--state", "queued") == []
    code, _, err = tuopin(store, "worker", "--once")  # nothing left: it stops at once
    assert code == 0 and "stopped after 0 jobs" in err


def test_worker_masks_a_cadres_export_as_their_role_requires(
    store: str, data_dir: Path, in_process_worker: None,
) -> None:
    job = queue_export(store, "members", username="cadre")
    assert tuopin(store, "worker", "--once")[0] == 0
    found = shown(store, job)
    text = (data_dir / "jobs" / job / found["file"]).read_text("utf-8-sig")
    numbers = [r["id_number"] for r in csv.DictReader(io.StringIO(text))]
    assert numbers and all("*" in n for n in numbers), numbers


def test_worker_fails_the_job_of_an_account_disabled_since(
    store: str, in_process_worker: None,
) -> None:
    job = queue_export(store, username="cadre")
    engine = make_engine(store)
    with session_factory(engine)() as db, db.begin():
        users.disable(db, principal=operator(), username="cadre")
    engine.dispose()
    assert tuopin(store, "worker", "--once")[0] == 0
    found = shown(store, job)
    assert found["state"] == "failed" and found["error"] and found["file"] is None


def test_worker_runs_a_job_with_its_owners_role_as_it_is_now(
    store: str, in_process_worker: None,
) -> None:
    job = queue_export(store, username="cadre")
    engine = make_engine(store)
    with session_factory(engine)() as db, db.begin():  # a helper may not export
        users.change(db, principal=operator(), username="cadre", role=Role.HELPER,
                     region_code=VILLAGE, helper_number="H001")
    engine.dispose()
    assert tuopin(store, "worker", "--once")[0] == 0
    found = shown(store, job)
    assert found["state"] == "failed" and found["file"] is None
    assert found["error"] == str(NOT_ALLOWED)
