"""`tuopin funds check`: findings as a table, JSON with exactly seven keys, CSV or XLSX, in
the operator's language, region and rules; amounts are text with two decimals, never floats."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

import funds_check_book as book
from tuopin.cli.main import app
from tuopin.domain.errors import ValidationFailed

runner = CliRunner()
KEYS = ["rule", "severity", "subject", "subject_kind", "amount", "explanation", "related"]
AMOUNT = re.compile(r"^\d+\.\d{2}$")
ALL = {(rule, s) for rule, cases in book.FINDINGS.items() for s in cases}


def tuopin(url: str, *args: str) -> str:
    result = runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def check_json(url: str, *args: str) -> list[dict[str, Any]]:
    rows = json.loads(tuopin(url, "funds", "check", "--as-of", book.AS_OF.isoformat(),
                             "--format", "json", *args))
    assert isinstance(rows, list)
    return rows


def no_floats(value: Any) -> bool:
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(no_floats(v) for v in value)
    return not isinstance(value, float)


@pytest.fixture(scope="module")
def url(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return book.sqlite_store(tmp_path_factory.mktemp("funds_cli"), sqlite_template)


@pytest.fixture(scope="module")
def default_rows(url: str) -> list[dict[str, Any]]:
    """`tuopin funds check --format json` with every option left to its default."""
    return check_json(url)


def test_json_is_a_list_of_findings_with_exactly_seven_keys_and_amounts_as_text(
    default_rows: list[dict[str, Any]],
) -> None:
    rows = default_rows
    assert {(r["rule"], r["subject"]) for r in rows} == ALL
    assert all(list(r) == KEYS for r in rows)
    assert all(isinstance(r["amount"], str) and AMOUNT.match(r["amount"]) for r in rows)
    assert all(isinstance(r["related"], list) for r in rows)
    assert no_floats(rows)
    found = {(r["rule"], r["subject"]): r for r in rows}
    assert found[("over_budget", "P-OB")]["amount"] == "0.01"
    assert found[("duplicate_payment", "D-DUP-A2")]["related"] == [
        "D-DUP-A1", "P1", book.NUMBERS["A"]]


@pytest.mark.parametrize(("lang", "words"), [("en", "who died on"), ("zh", "去世")])
def test_explanations_come_in_the_language_asked(url: str, lang: str, words: str) -> None:
    rows = check_json(url, "--lang", lang)
    dead = next(r for r in rows if r["subject"] == "D-DEAD")
    assert words in dead["explanation"]


def test_the_default_language_is_the_settings_one(default_rows: list[dict[str, Any]]) -> None:
    dead = next(r for r in default_rows if r["subject"] == "D-DEAD")
    assert "去世" in dead["explanation"]  # TUOPIN_LANG defaults to zh


def test_a_region_narrows_the_findings_to_it(url: str) -> None:
    rows = check_json(url, "--region", book.TOWN2)
    assert {(r["rule"], r["subject"]) for r in rows} == book.IN_TOWN2


@pytest.mark.parametrize("engine", ["db", "duckdb"])
def test_every_engine_prints_the_same_findings(url: str, engine: str,
                                               default_rows: list[dict[str, Any]]) -> None:
    assert check_json(url, "--engine", engine) == default_rows  # the default is auto


def test_a_rules_file_replaces_thresholds_and_severities(url: str, tmp_path: Path) -> None:
    rules = tmp_path / "county.toml"
    rules.write_text('[thresholds]\nidle_days = 366\n[sources]\nidle_days = "县里定的"\n'
                     '[[rule]]\nid = "project_overdue"\nseverity = "medium"\n',
                     encoding="utf-8")
    rows = check_json(url, "--rules", str(rules))
    got = {(r["rule"], r["subject"]) for r in rows}
    assert got == ALL - {("idle_funds", "F-IDLE"), ("stalled_project", "P-STALL")}
    assert {r["severity"] for r in rows if r["rule"] == "project_overdue"} == {"medium"}


def test_a_bad_rules_file_is_refused_naming_its_key(url: str, tmp_path: Path) -> None:
    rules = tmp_path / "county.toml"
    rules.write_text('[thresholds]\nidle_days = "a year"\n', encoding="utf-8")
    with pytest.raises(ValidationFailed, match=r"county\.toml: thresholds\.idle_days"):
        tuopin(url, "funds", "check", "--as-of", "2026-11-29", "--rules", str(rules))


def test_csv_has_a_header_and_a_row_per_finding(url: str) -> None:
    text = tuopin(url, "funds", "check", "--as-of", "2026-11-29", "--format", "csv",
                  "--lang", "en")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == KEYS and len(rows) == len(ALL)
    coi = next(r for r in rows if r["subject"] == "D-COI")
    assert coi["related"] == f"P1; {book.NUMBERS['CAD']}; HLP1" and coi["amount"] == "300.00"


def test_the_table_counts_the_findings(url: str) -> None:
    assert f"{len(ALL)} findings" in tuopin(url, "funds", "check", "--as-of", "2026-11-29")


def test_out_writes_the_findings_to_xlsx_with_every_cell_as_text(url: str,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "findings.xlsx"
    tuopin(url, "funds", "check", "--as-of", "2026-11-29", "--out", str(out))
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == KEYS and len(rows) == len(ALL) + 1
    assert all(isinstance(cell, str) for row in rows[1:] for cell in row if cell is not None)
    assert ("over_budget", "P-OB", "0.01") in {(r[0], r[2], r[4]) for r in rows}


def test_a_check_dated_after_today_is_refused(url: str) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed, match="is after today"):
        tuopin(url, "funds", "check", "--as-of", tomorrow)


def test_the_day_of_the_check_is_required(url: str) -> None:
    result = runner.invoke(app, ["--database-url", url, "funds", "check"])
    assert result.exit_code != 0 and "--as-of" in result.output + result.stderr
