"""`tuopin plans|measures|accountability`: draft, approve, check off, revise, see who is late."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from factories import OPERATOR, households, registry_files
from tuopin.cli.main import app, main
from tuopin.io.schema import Kind
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.standards.loader import load
from tuopin.storage.db import make_engine

runner = CliRunner()
NUMBER = str(households(1)[0]["number"])  # poor: income, medical (insurance unknown), house C
TODAY = date(2026, 11, 29)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def tuopin(url: str, *args: str) -> Any:
    result = runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return json.loads(result.stdout) if "json" in args else result.stdout


@pytest.fixture
def drafted(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TUOPIN_DATA_DIR", str(tmp_path / "data"))  # evidence goes here
    monkeypatch.setenv("COLUMNS", "200")  # tables as wide as an office screen
    engine = make_engine(db_url)  # the registry and its run, quicker than through the CLI
    for kind, path in registry_files(tmp_path).items():
        assert import_file(engine, principal=OPERATOR, kind=Kind(kind), path=path,
                           today=TODAY).ok
    assessments.record(engine, assessments.compute(
        engine, principal=OPERATOR, standard=load("cn-national"), year=2019,
        engine_name="db"), principal=OPERATOR)
    engine.dispose()
    rows = tuopin(db_url, "plans", "draft", "--run", "1", "--household", NUMBER,
                  "--as-of", "2020-01-01", "--format", "json")
    assert [(r["household"], r["measures"], r["helper"]) for r in rows] == [(NUMBER, 3, "H001")]
    return db_url


def test_a_plan_is_drafted_approved_and_checked_off(drafted: str, tmp_path: Path) -> None:
    shown = tuopin(drafted, "plans", "show", NUMBER, "--format", "json")
    assert shown["plan"]["status"] == "draft"
    assert [m["kind"] for m in shown["measures"]] == ["industry", "health", "housing"]
    assert "industry" in tuopin(drafted, "plans", "show", NUMBER)
    approved = tuopin(drafted, "plans", "approve", NUMBER, "--as-of", "2020-01-02",
                      "--version", "1", "--format", "json")
    assert (approved["status"], approved["approved_on"]) == ("approved", "2020-01-02")
    tuopin(drafted, "measures", "start", "1", "--as-of", "2020-01-05")
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    done = tuopin(drafted, "measures", "complete", "1", "--evidence", str(photo), "--on",
                  "2020-03-01", "--as-of", "2020-03-02", "--format", "json")
    assert (done["status"], done["completed_on"]) == ("done", "2020-03-01")
    verified = tuopin(drafted, "measures", "verify", "1", "--verifier", "H0007", "--format",
                      "json")
    assert (verified["status"], verified["verifier"]) == ("verified", "H0007")
    (stored,) = tuopin(drafted, "measures", "evidence", "2", str(photo), "--format", "json")
    (kept,) = (tmp_path / "data" / "evidence").rglob("*.png")  # the same photo, stored once
    assert kept.name == f"{stored['sha256']}.png" and kept.read_bytes() == PNG
    changes = tuopin(drafted, "plans", "remeasure", "--run", "1", "--format", "json")
    assert changes == []  # the run a plan was drafted from does not judge it


def test_overdue_and_accountability_move_with_the_as_of_date(drafted: str,
                                                             tmp_path: Path) -> None:
    approved = tuopin(drafted, "plans", "approve", "--all", "--as-of", "2020-01-01",
                      "--format", "json")
    assert approved == [{"plan": 1, "status": "approved", "version": 2}]
    assert tuopin(drafted, "plans", "overdue", "--as-of", "2020-01-31", "--format",
                  "json") == []
    rows = tuopin(drafted, "plans", "overdue", "--as-of", "2020-02-10", "--region",
                  "621121", "--format", "json")
    assert [(r["measure"], r["days_overdue"], r["helper"]) for r in rows] == [(2, 10, "H001")]
    tuopin(drafted, "measures", "delay", "2", "--reason", "医保局未受理", "--follow-up", "约谈",
           "--as-of", "2020-02-11")
    out = tmp_path / "accountability.xlsx"
    groups = tuopin(drafted, "accountability", "--as-of", "2020-07-09", "--out", str(out),
                    "--format", "json")
    assert [(g["helper"], g["measures"], g["total_days_overdue"], g["max_days_overdue"])
            for g in groups] == [("H001", 3, 180, 160)]
    sheet = load_workbook(out).active
    assert sheet is not None
    header, *body = list(sheet.values)
    assert "delay_reason" in header and len(body) == 3
    assert "医保局未受理" in tuopin(drafted, "accountability", "--as-of", "2020-07-09")
    assert "H001" in tuopin(drafted, "plans", "overdue", "--as-of", "2020-07-09", "--format",
                            "csv")


def test_dynamic_adjustment_is_shown_in_the_history(drafted: str) -> None:
    tuopin(drafted, "plans", "approve", NUMBER, "--as-of", "2020-01-01")
    added = tuopin(drafted, "measures", "add", NUMBER, "--kind", "employment", "--due",
                   "2020-05-01", "--reason", "儿子返乡", "--as-of", "2020-02-01", "--format",
                   "json")
    tuopin(drafted, "measures", "revise", str(added["id"]), "--budget", "2000", "--reason",
           "培训费上调", "--as-of", "2020-02-02")
    tuopin(drafted, "measures", "cancel", str(added["id"]), "--reason", "已自主就业")
    history = tuopin(drafted, "plans", "history", NUMBER, "--format", "json")
    assert [h["reason"] for h in history] == ["儿子返乡", "培训费上调", "已自主就业"]
    assert (history[1]["before"]["budget"], history[1]["after"]["budget"]) == (1500, 2000)
    assert "培训费上调" in tuopin(drafted, "plans", "history", NUMBER)


REFUSED = [
    (["plans", "approve", NUMBER, "--version", "7"], "saved by someone else first"),
    (["plans", "approve", NUMBER], None),
    (["measures", "complete", "1", "--on", "2020-03-01"], "has no evidence"),
    (["measures", "cancel", "1"], "Give the reason for cancelling measure 1"),
    (["measures", "verify", "1", "--verifier", "H002"], "is planned: it cannot be moved"),
    (["measures", "start", "99"], "measure 99 not found"),
]


def test_a_refused_step_exits_non_zero_with_one_line(
    drafted: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    for args, message in REFUSED:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["tuopin", "--database-url", drafted, *args])
        with pytest.raises(SystemExit) as caught:
            main()
        err = capsys.readouterr().err.strip()
        if message is None:  # a step that sets the next ones up
            assert caught.value.code in (0, None), err
            continue
        assert caught.value.code == 1, args
        assert message in err and len(err.splitlines()) == 1, err
