"""`tuopin verify ...`: the whole cycle from the command line, the redraw that proves a sample
(exit 1 when it does not), a refused file with its report, and the exit check naming the plan."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

import verification_county as county
from tuopin.cli.main import app
from tuopin.storage import rollups
from tuopin.storage.db import make_engine
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    HouseholdRecord,
    table_of,
)

runner = CliRunner()


def tuopin(url: str, *args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--database-url", url, "--operator", "pinggu", *args])
    assert result.exit_code == code, result.stdout + result.stderr + repr(result.exception)
    # a refusal reaches main() as the exception it prints in one line
    refusal = "" if isinstance(result.exception, SystemExit | None) else str(result.exception)
    return result.stdout + result.stderr + refusal


@pytest.fixture
def url(db_url: str) -> str:
    engine = make_engine(db_url)
    county.build(engine, townships=2, villages=3, households=(15, 30), wrong_exits=0.1)
    with engine.begin() as conn:
        conn.execute(insert(table_of(AssessmentRunRecord)).values(
            id=1, standard_name="cn-national", standard_version="1", standard_hash="x",
            standard_text="", year=2020, engine="db", snapshot_at="x", created_at="x",
            created_by="t", households=0, members=0, poor_households=0, poor_members=0,
            counts="{}", timings="{}"))
        homes = conn.execute(select(HouseholdRecord.id, HouseholdRecord.number,
                                    HouseholdRecord.village_code, HouseholdRecord.status))
        conn.execute(insert(table_of(AssessmentResultRecord)), [
            {"run_id": 1, "household_id": hid, "household_number": number,
             "village_code": village, "members": 1, "score": 0.0, "poor": status == "poor",
             "deprived": "", "categories": ""} for hid, number, village, status in homes])
        rollups.write(conn, 1)  # as a stored run has (runs.record)
    engine.dispose()
    return db_url


def _truth(url: str) -> county.Truth:
    # the same seed gives the same county: rebuild its truth in memory
    engine = make_engine("sqlite://")
    from tuopin.storage import migrate

    migrate.upgrade(engine)
    truth = county.build(engine, townships=2, villages=3, households=(15, 30), wrong_exits=0.1)
    engine.dispose()
    return truth


def test_the_verification_cycle_from_the_command_line(url: str, tmp_path: Path) -> None:
    planned = json.loads(tuopin(url, "verify", "plan", "--region", county.COUNTY, "--year",
                                "2020", "--kind", "third-party", "--seed", "20201231",
                                "--margin", "0.1", "--format", "json"))
    plan = str(planned["plan"])
    assert (planned["state"], planned["planned_by"], planned["seed"]) == (
        "planned", "cli:pinggu", 20201231)
    sample = tmp_path / "sample.csv"
    drawn = tuopin(url, "verify", "draw", plan, "--out", str(sample), "--format", "json")
    assert json.loads(drawn)["households"] == len(sample.read_text().splitlines()) - 1
    check = tuopin(url, "verify", "draw", plan, "--check", "--file", str(sample),
                   "--format", "json")
    assert json.loads(check)["identical"] is True
    sample.write_bytes(sample.read_bytes().replace(b"exited", b"EXITED", 1))
    changed = tuopin(url, "verify", "draw", plan, "--check", "--file", str(sample),
                     "--format", "json", code=1)
    assert json.loads(changed)["identical"] is False

    lists = tmp_path / "lists"
    exported = tuopin(url, "verify", "export", plan, "--out", str(lists), "--format", "csv")
    paths = sorted(lists.glob("*.csv"))
    assert paths and exported.count("households") == len(paths)
    (taken,) = json.loads(tuopin(url, "audit", "log", "--entity", "export", "--format",
                                 "json"))  # the lists name the households: on the record
    assert (taken["actor"], taken["entity_id"]) == ("cli:pinggu", f"plan{plan}-fieldlists")
    assert len(json.loads(taken["after"])["villages"]) == len(paths)
    filled = county.fill(paths, _truth(url), tmp_path / "filled.csv",
                         on=date.today().isoformat())
    refused = tuopin(url, "verify", "import", plan, str(filled), code=1)
    assert "while the plan is released" in refused
    tuopin(url, "verify", "release", plan)

    bad = tmp_path / "bad.csv"
    bad.write_text(filled.read_text(encoding="utf-8").replace(",是,", ",也许,", 1),
                   encoding="utf-8")
    report = tmp_path / "problems.csv"
    shown = tuopin(url, "verify", "import", plan, str(bad), "--report", str(report),
                   "--lang", "en", code=1)
    assert "nothing was written" in shown and "Not yes or no" in report.read_text()
    imported = json.loads(tuopin(url, "verify", "import", plan, str(filled), "--format",
                                 "json"))
    assert imported["written"] and imported["inserted"] == json.loads(drawn)["households"]
    tuopin(url, "verify", "close", plan)

    estimated = json.loads(tuopin(url, "verify", "estimate", plan, "--format", "json"))
    assert estimated["final"] is True
    assert [m["measure"] for m in estimated["measures"]] == [
        "wrong_exit_rate", "missed_rate", "approval_rate", "composite_incidence"]
    assert all(m["verdict"] in ("pass", "fail", "undecided") and len(m["ci95"]) == 2
               for m in estimated["measures"])
    table = tuopin(url, "verify", "estimate", plan, "--lang", "en")
    assert "Wrong-exit" in table and "final" in table
    assert plan in tuopin(url, "verify", "list")
    assert "20201231" in tuopin(url, "verify", "show", plan)

    checked = tuopin(url, "exit", "check", "--level", "county", "--run", "1")
    assert f"verification plan {plan}" in checked
    rows = json.loads(tuopin(url, "exit", "check", "--level", "county", "--run", "1",
                             "--format", "json"))
    criteria = {c["criterion"]: c for c in rows[0]["criteria"]}
    wrong = next(m for m in estimated["measures"] if m["measure"] == "wrong_exit_rate")
    assert criteria["wrong_exit_rate"]["figure"] == pytest.approx(wrong["estimate"])
    assert rows[0]["verification"]["plan"] == int(plan)


def test_a_seed_is_required_and_a_township_is_not_a_county(url: str) -> None:
    tuopin(url, "verify", "plan", "--region", county.COUNTY, "--year", "2020", code=2)
    out = tuopin(url, "verify", "plan", "--region", f"{county.COUNTY}001", "--year", "2020",
                 "--seed", "1", code=1)
    assert "not a county code" in out
