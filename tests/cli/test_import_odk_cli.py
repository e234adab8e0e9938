"""`tuopin import odk EXPORT`: a phone survey's export imported all or nothing, with
--dry-run, --report naming each problem's submission, --form and --map."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import VILLAGE, person_id, registry_files
from odk_exports import central_zip, key_of, kobo_xlsx
from tuopin.cli.main import app

runner = CliRunner()
FORM_ID = "tuopin_cn_national_2020"
NUMBER = f"{VILLAGE}0001"


def tuopin(*args: str, url: str, code: int = 0) -> str:
    result = runner.invoke(app, ["--database-url", url, "--operator", "zhang", *args])
    assert result.exit_code == code, result.stdout + result.stderr + repr(result.exception)
    return result.stdout + result.stderr


@pytest.fixture
def loaded(sqlite_url: str, tmp_path: Path) -> str:
    for kind, path in registry_files(tmp_path).items():
        tuopin("import", kind, str(path), url=sqlite_url)
    return sqlite_url


def submission(**values: str) -> dict[str, str]:
    return {"household_number": NUMBER, "year": "2020", "household_size": "3",
            "wage_income": "9000", "food_secure": "yes", "clothing_secure": "yes",
            "housing_grade": "B", **values}


def child(id_number: str) -> dict[str, object]:
    return {"_parent": 0, "id_number": id_number, "name": "小宝", "relation": "child"}


def test_an_export_is_dry_run_then_imported_once(loaded: str, tmp_path: Path) -> None:
    path = central_zip(tmp_path / "e.csv.zip", FORM_ID, [submission()],
                       {"members": [child(person_id(date(2019, 3, 1), 62))]})
    dry = json.loads(tuopin("import", "odk", str(path), "--dry-run", "--format", "json",
                            url=loaded))
    assert dry["surveys"] == [1, 0, 0] and dry["members"] == [1, 0, 0]
    assert dry["written"] is False and dry["dry_run"] is True
    done = json.loads(tuopin("import", "odk", str(path), "--format", "json", url=loaded))
    assert done["written"] is True and done["surveys"] == [1, 0, 0]
    again = json.loads(tuopin("import", "odk", str(path), "--format", "json", url=loaded))
    assert again["surveys"] == [0, 0, 1] and again["members"] == [0, 0, 1]


def test_problems_are_reported_by_submission_and_nothing_is_written(
        loaded: str, tmp_path: Path) -> None:
    path = central_zip(tmp_path / "bad.csv.zip", FORM_ID, [submission(wage_income="-5")],
                       {"members": [child(person_id(date(2019, 3, 1), 62))]})
    report = tmp_path / "problems.csv"
    said = tuopin("import", "odk", str(path), "--report", str(report), "--lang", "en",
                  url=loaded, code=1)
    assert "wage_income" in said
    with report.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["record"], r["column"]) for r in rows] == [(key_of(0, FORM_ID), "wage_income")]


def test_a_provinces_own_form_is_read_through_a_map(loaded: str, tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text('[fields]\nhh_id = "household_number"\nfang_wu = "housing_grade"\n'
                       '[choices.housing_grade]\n"2" = "B"\n[repeats]\nrenkou = "members"\n',
                       encoding="utf-8")
    main = [{"hh_id": NUMBER, "year": "2020", "household_size": "3", "food_secure": "yes",
             "clothing_secure": "yes", "fang_wu": "2", "_key": "uuid:kobo-1"}]
    path = kobo_xlsx(tmp_path / "kobo.xlsx", "省调查表", main,
                     {"renkou": [child(person_id(date(2019, 3, 1), 62))]})
    done = json.loads(tuopin("import", "odk", str(path), "--map", str(mapping),
                             "--format", "json", url=loaded))
    assert done["written"] is True and done["format"] == "kobo-xlsx", done


def test_options_of_file_imports_do_not_apply(loaded: str, tmp_path: Path) -> None:
    path = tmp_path / "x.csv.zip"
    said = tuopin("import", "odk", str(path), "--skip-invalid", url=loaded, code=2)
    assert "all submissions or none" in said
    said = tuopin("import", "surveys", str(path), "--map", "m.toml", url=loaded, code=2)
    assert "tuopin import odk" in said
