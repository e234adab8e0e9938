"""The command line: every command runs, prints tables/JSON/CSV, fails in one line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import households, members, registry_files, write_csv
from tuopin.cli.main import app

runner = CliRunner()


def tuopin(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    for kind, path in registry_files(tmp_path).items():
        code, out, err = tuopin(db_url, "import", kind, str(path))
        assert code == 0, out + err
    return db_url


def test_init_on_an_empty_file_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, _, err = tuopin(url, "init")
    assert code == 0 and "revision" in err


def test_a_command_on_an_uninitialised_store_says_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(Exception, match="tuopin init"):
        tuopin(url, "summary")


def test_summary_in_every_format(loaded: str) -> None:
    code, out, _ = tuopin(loaded, "summary", "--format", "json")
    assert code == 0 and json.loads(out)["households"] == 3
    code, out, _ = tuopin(loaded, "summary", "--format", "csv")
    assert ["field", "value"] == next(csv.reader(io.StringIO(out)))
    code, out, _ = tuopin(loaded, "summary")
    assert "households" in out


def test_regions_tree_rolls_counts_up(loaded: str) -> None:
    code, out, _ = tuopin(loaded, "regions", "--format", "json", "--depth", "5")
    rows = {r["code"]: r for r in json.loads(out)}
    assert rows["620000000000"]["households"] == 3
    assert rows["620000000000"]["members"] == 6
    assert rows["621121001001"]["poor"] == 1
    code, out, _ = tuopin(loaded, "regions")
    assert "通渭县" in out


def test_households_show_and_search(loaded: str) -> None:
    number = str(households(1)[0]["number"])
    code, out, _ = tuopin(loaded, "households", "show", number, "--format", "json")
    detail = json.loads(out)
    assert code == 0 and len(detail["members"]) == 2
    code, out, _ = tuopin(loaded, "households", "search", "户主0", "--format", "json")
    assert [r["number"] for r in json.loads(out)] == [number]


def test_an_import_with_errors_exits_non_zero_and_writes_a_report(
    db_url: str, tmp_path: Path
) -> None:
    files = registry_files(tmp_path)
    for kind in ("regions", "households"):
        tuopin(db_url, "import", kind, str(files[kind]))
    rows = members([str(h["number"]) for h in households(3)])
    rows[2]["sex"] = "不详"
    bad = write_csv(tmp_path / "bad.csv", rows)
    report = tmp_path / "report.csv"
    code, out, _ = tuopin(db_url, "import", "members", str(bad), "--report", str(report),
                          "--lang", "en")
    assert code == 1
    with report.open(encoding="utf-8-sig") as handle:
        lines = list(csv.DictReader(handle))
    assert list(lines[0]) == ["row", "column", "value", "reason"]
    assert (lines[0]["row"], lines[0]["column"], lines[0]["value"]) == ("4", "sex", "不详")
    assert lines[0]["reason"].startswith("Not one of the allowed values")


def test_skip_invalid_puts_bad_rows_in_the_reject_file(db_url: str, tmp_path: Path) -> None:
    files = registry_files(tmp_path)
    for kind in ("regions", "households"):
        tuopin(db_url, "import", kind, str(files[kind]))
    rows = members([str(h["number"]) for h in households(3)])
    rows[1]["birth_date"] = "2019-02-30"
    rejects = tmp_path / "rejects.csv"
    code, out, _ = tuopin(db_url, "import", "members", str(write_csv(tmp_path / "m.csv", rows)),
                          "--skip-invalid", "--rejects", str(rejects), "--format", "json")
    assert code == 0 and json.loads(out)["inserted"] == 5
    with rejects.open(encoding="utf-8-sig") as handle:
        (reject,) = list(csv.DictReader(handle))
    assert reject["row"] == "3" and reject["birth_date"] == "2019-02-30"
    assert "birth_date" in reject["reason"]


def test_export_re_imports_unchanged(loaded: str, tmp_path: Path) -> None:
    for kind in ("regions", "households", "members", "surveys", "helpers"):
        for fmt in ("csv", "xlsx", "parquet"):
            out = tmp_path / f"{kind}.{fmt}"
            code, _, _ = tuopin(loaded, "export", kind, "--out", str(out))
            assert code == 0 and out.exists()
            code, text, _ = tuopin(loaded, "import", kind, str(out), "--format", "json")
            result = json.loads(text)
            assert code == 0 and (result["inserted"], result["updated"]) == (0, 0), (kind, fmt)


def test_an_export_is_on_the_audit_trail_with_its_rows(loaded: str, tmp_path: Path) -> None:
    code, _, _ = tuopin(loaded, "--operator", "wang", "export", "members", "--region",
                        "621121001", "--out", str(tmp_path / "members.csv"))
    assert code == 0
    with (tmp_path / "members.csv").open(encoding="utf-8-sig") as handle:
        written = len(list(csv.DictReader(handle)))
    code, out, _ = tuopin(loaded, "audit", "log", "--entity", "export", "--format", "json")
    (event,) = json.loads(out)
    assert (event["actor"], event["action"], event["entity_id"]) == (
        "cli:wang", "export", "members")
    assert json.loads(event["after"]) == {"kind": "members", "rows": written,
                                          "scope": "621121001000", "masked": False}
    assert written > 0


def test_template_writes_a_workbook(tmp_path: Path) -> None:
    out = tmp_path / "members.xlsx"
    result = runner.invoke(app, ["template", "members", "--out", str(out)])
    assert result.exit_code == 0 and out.stat().st_size > 0


def test_audit_verify_and_log(loaded: str) -> None:
    code, out, _ = tuopin(loaded, "audit", "verify", "--format", "json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = tuopin(loaded, "audit", "log", "--entity", "members", "--format", "json")
    assert [e["action"] for e in json.loads(out)] == ["import"]


def test_audit_verify_exits_non_zero_after_tampering(loaded: str) -> None:
    from sqlalchemy import text

    from tuopin.storage.db import make_engine

    engine = make_engine(loaded)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'x' WHERE id = 2"))
    engine.dispose()
    code, out, _ = tuopin(loaded, "audit", "verify")
    assert code == 1 and "event 2" in out


def test_synth_writes_files_and_loads_into_the_database(sqlite_url: str, tmp_path: Path) -> None:
    code, out, _ = tuopin(sqlite_url, "synth", "--households", "300", "--seed", "3",
                          "--out", str(tmp_path / "s"), "--into-db")
    assert code == 0
    assert (tmp_path / "s" / "members.csv").exists()
    code, out, _ = tuopin(sqlite_url, "summary", "--format", "json")
    summary = json.loads(out)
    assert summary["households"] == 300
    # the living, as the region tree counts them; the dead apart
    code, out, _ = tuopin(sqlite_url, "regions", "--format", "json", "--depth", "1")
    (province,) = json.loads(out)
    with (tmp_path / "s" / "members.csv").open(encoding="utf-8") as handle:
        dead = sum(1 for row in csv.DictReader(handle) if row["deceased_date"])
    assert dead > 0 and summary["deceased_members"] == dead
    assert summary["members"] == province["members"]
