"""`tuopin form xlsform|households`: the form needs no store unless it is made for an area;
the households file is an area's, refused outside the operator's view."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert
from typer.testing import CliRunner

from factories import VILLAGE, registry_files
from tuopin.cli.main import app

runner = CliRunner()


def tuopin(*args: str, url: str | None = None, code: int = 0) -> str:
    prefix = ["--database-url", url] if url else []
    result = runner.invoke(app, [*prefix, "--operator", "zhang", *args])
    assert result.exit_code == code, result.stdout + result.stderr + repr(result.exception)
    refusal = "" if isinstance(result.exception, SystemExit | None) else str(result.exception)
    return result.stdout + result.stderr + refusal


@pytest.fixture
def loaded(sqlite_url: str, tmp_path: Path) -> str:
    for kind, path in registry_files(tmp_path).items():
        tuopin("import", kind, str(path), url=sqlite_url)
    return sqlite_url


def test_xlsform_writes_a_form_that_converts_without_a_store(tmp_path: Path) -> None:
    out = tmp_path / "form.xlsx"
    said = tuopin("form", "xlsform", "--standard", "cn-national", "--year", "2024",
                  "--out", str(out), url=f"sqlite:///{tmp_path / 'absent.db'}")
    assert "tuopin_cn_national_2024" in said
    warnings: list[str] = []
    convert(xlsform=str(out), warnings=warnings)
    assert warnings == []


def test_xlsform_takes_the_languages_and_a_typed_household(tmp_path: Path) -> None:
    out = tmp_path / "form.xlsx"
    tuopin("form", "xlsform", "--standard", "cn-mpi", "--year", "2020", "--out", str(out),
           "--lang", "en", "--typed-household")
    survey = load_workbook(out)["survey"]
    header = [cell.value for cell in survey[1]]
    assert "label::English (en)" in header and "label::中文 (zh)" not in header
    first = dict(zip(header, [cell.value for cell in survey[2]], strict=True))
    assert (first["name"], first["type"]) == ("household_number", "text")
    assert "languages" in tuopin("form", "xlsform", "--standard", "cn-mpi", "--year", "2020",
                                 "--out", str(out), "--lang", "fr", code=2)


def test_xlsform_for_an_area_checks_the_region(loaded: str, tmp_path: Path) -> None:
    out = tmp_path / "form.xlsx"
    said = tuopin("form", "xlsform", "--standard", "cn-national", "--year", "2024",
                  "--out", str(out), "--region", VILLAGE, url=loaded)
    assert f"tuopin_cn_national_2024_{VILLAGE}" in said
    assert "not found" in tuopin("form", "xlsform", "--standard", "cn-national", "--year",
                                 "2024", "--out", str(out), "--region", "621121009001",
                                 url=loaded, code=1)


def test_households_writes_the_media_file_and_the_entity_list(loaded: str,
                                                              tmp_path: Path) -> None:
    media, entities = tmp_path / "households.csv", tmp_path / "entities.csv"
    assert "3 households" in tuopin("form", "households", "--region", VILLAGE, "--out",
                                    str(media), url=loaded)
    rows = list(csv.DictReader(io.StringIO(media.read_text(encoding="utf-8"))))
    assert [r["number"] for r in rows] == [f"{VILLAGE}{i:04d}" for i in (1, 2, 3)]
    assert rows[0]["head"] == "户主0"
    tuopin("form", "households", "--region", VILLAGE, "--out", str(entities), "--layout",
           "entities", url=loaded)
    assert entities.read_text(encoding="utf-8").startswith("label,number,")


def test_households_of_an_area_not_in_the_registry_is_refused(loaded: str,
                                                            tmp_path: Path) -> None:
    said = tuopin("form", "households", "--region", "621122001001", "--out",
                  str(tmp_path / "h.csv"), url=loaded, code=1)
    assert "not found" in said


def test_a_form_needs_a_standard_and_a_year_or_a_plan(tmp_path: Path) -> None:
    out = str(tmp_path / "form.xlsx")
    assert "--verification" in tuopin("form", "xlsform", "--out", out, code=2)
    assert "--region" in tuopin("form", "households", "--out", out, code=2)
