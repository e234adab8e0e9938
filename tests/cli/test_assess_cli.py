"""The assessment commands on a small registry: tables, JSON, CSV and XLSX."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from factories import CASES, VILLAGE, assessment_registry
from tuopin.cli.main import app
from tuopin.domain.errors import NotFound
from tuopin.standards.loader import load

runner = CliRunner()
NUMBERS = {name: f"{VILLAGE}{i:04d}" for i, name in enumerate(CASES, start=1)}


def tuopin(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout


@pytest.fixture
def store(sqlite_url: str, tmp_path: Path) -> str:
    for kind, path in assessment_registry(tmp_path, years=(2019, 2020)).items():
        code, out = tuopin(sqlite_url, "import", kind, str(path))
        assert code == 0, out
    return sqlite_url


def assess(url: str, standard: str = "cn-national", year: str = "2019") -> int:
    code, out = tuopin(url, "assess", "--standard", standard, "--year", year, "--format", "json")
    assert code == 0, out
    return int(json.loads(out)["run"])


def test_assess_records_a_run_and_lists_it(store: str) -> None:
    run = assess(store)
    code, out = tuopin(store, "assess", "list", "--format", "json")
    assert [r["run"] for r in json.loads(out)] == [run]
    code, out = tuopin(store, "assess", "show", str(run), "--format", "csv")
    assert code == 0 and "cn-national" in out


def test_assess_show_explains_a_household_in_both_languages(store: str) -> None:
    run = assess(store)
    number = NUMBERS["dropout"]
    code, out = tuopin(store, "assess", "show", str(run), "--household", number, "--lang", "en",
                       "--format", "json")
    explained = json.loads(out)["indicators"]
    assert explained[0]["explanation"].startswith("member 小明 (aged 12)")
    code, out = tuopin(store, "assess", "show", str(run), "--household", number)
    assert code == 0 and "小明（12岁）" in out


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_report_incidence_in_every_format(store: str, tmp_path: Path, fmt: str) -> None:
    run = assess(store)
    out_file = tmp_path / "incidence.xlsx"
    code, out = tuopin(store, "report", "incidence", "--run", str(run), "--level", "village",
                       "--format", fmt, "--out", str(out_file))
    assert code == 0
    poor = sum(1 for _, _, wanted in CASES.values() if wanted)
    if fmt == "json":
        rows = json.loads(out)
        assert rows[0]["poor_households"] == poor and rows[-1]["name"] == "total"
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert rows[0]["code"] == VILLAGE
    else:
        assert "东关村" in out
    sheet = load_workbook(out_file).active
    assert sheet is not None and sheet.cell(1, 1).value == "code"


def test_reports_default_to_the_newest_run_of_the_latest_year(store: str) -> None:
    with pytest.raises(NotFound, match="tuopin assess"):  # no run yet
        tuopin(store, "report", "incidence")
    latest = assess(store, year="2020")
    earlier = assess(store, year="2019")  # newer, but of an earlier year
    assert earlier > latest
    code, out = tuopin(store, "report", "incidence", "--level", "village")
    assert code == 0 and f"run {latest}" in out
    mpi = assess(store, "cn-mpi", "2020")
    assess(store, "cn-mpi", "2019")
    code, out = tuopin(store, "report", "mpi")  # the newest cn-mpi run of the latest year
    assert code == 0 and f"run {mpi}" in out


def test_report_mpi_json_has_the_alkire_foster_keys(store: str, tmp_path: Path) -> None:
    run = assess(store, "cn-mpi")
    code, out = tuopin(store, "report", "mpi", "--run", str(run), "--by", "village",
                       "--format", "json", "--out", str(tmp_path / "mpi.xlsx"))
    data = json.loads(out)
    assert {"n", "H", "A", "M0", "uncensored_headcounts", "censored_headcounts",
            "contributions", "se", "ci95", "groups"} <= set(data)
    assert data["M0"] == pytest.approx(data["H"] * data["A"])
    code, out = tuopin(store, "report", "mpi", "--run", str(run), "--by", "age_group")
    assert code == 0 and "6-15" in out


def test_mpi_on_any_table_with_the_documented_interface(tmp_path: Path) -> None:
    data = Path(__file__).parents[1] / "data" / "nlsw88_af.csv"
    shaped = tmp_path / "nlsw.csv"
    with data.open(encoding="utf-8") as source, shaped.open("w", encoding="utf-8") as target:
        rows = list(csv.DictReader(source))
        writer = csv.writer(target)
        writer.writerow(["wage", "collgrad", "hours", "married"])
        for r in rows:
            writer.writerow([r["wage"], 1 - int(r["collgrad"]), r["hours"], r["married"]])
    result = runner.invoke(app, ["mpi", str(shaped), "--indicators", "wage,collgrad,hours",
                                 "--cutoffs", "wage=4,hours=26", "--k", "0.3333333333",
                                 "--by", "married", "--format", "json"])
    assert result.exit_code == 0, result.stdout
    data_out = json.loads(result.stdout)
    assert data_out["n"] == 2242 and data_out["M0"] == pytest.approx(0.3699078, abs=1e-7)
    assert set(data_out["groups"]) == {"0", "1"}
    csv_out = runner.invoke(app, ["mpi", str(shaped), "--indicators", "wage,collgrad,hours",
                                  "--cutoffs", "wage=4,hours=26", "--k", "0.5",
                                  "--format", "csv"]).stdout
    assert csv_out.splitlines()[0] == "measure,indicator,group,value,se,ci_low,ci_high"


def test_mpi_refuses_weights_that_do_not_sum_to_one(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,0\n0,1\n", encoding="utf-8")
    with pytest.raises(Exception, match="sum"):
        runner.invoke(app, ["mpi", str(path), "--indicators", "a,b", "--k", "0.5",
                            "--weights", "a=0.7,b=0.7"], catch_exceptions=False)


def test_diff_and_what_if(store: str, tmp_path: Path) -> None:
    first = assess(store)
    looser = tmp_path / "looser.toml"
    looser.write_text(load("cn-national").text.replace(
        'deprived = "survey.water_outage_days > 36"',
        'deprived = "survey.water_outage_days > 60"'), encoding="utf-8")
    code, out = tuopin(store, "assess", "--what-if", str(looser), "--run", str(first),
                       "--format", "json")
    changes = json.loads(out)["changes"]
    assert [c["household_number"] for c in changes] == [NUMBERS["water_cut"]]
    code, out = tuopin(store, "assess", "--standard", str(looser), "--year", "2019",
                       "--format", "json")
    second = json.loads(out)["run"]
    code, out = tuopin(store, "assess", "diff", str(first), str(second), "--format", "json",
                       "--out", str(tmp_path / "diff.xlsx"))
    assert json.loads(out)["summary"] == {"poor -> not poor": 1}
    assert (tmp_path / "diff.xlsx").exists()


def test_snapshot_then_assess_on_duckdb(store: str, tmp_path: Path) -> None:
    code, out = tuopin(store, "snapshot", "--out", str(tmp_path / "snap"))
    assert code == 0 and json.loads(out)["rows"]["household"] == len(CASES)
    code, out = tuopin(store, "assess", "--standard", "cn-national", "--year", "2019",
                       "--engine", "duckdb", "--snapshot", str(tmp_path / "snap"),
                       "--format", "json")
    data = json.loads(out)
    assert data["engine"] == "duckdb"
    assert data["poor_households"] == sum(1 for _, _, w in CASES.values() if w)


def test_standards_list_and_check(tmp_path: Path) -> None:
    out = runner.invoke(app, ["standards", "list", "--format", "json"]).stdout
    assert [s["name"] for s in json.loads(out)] == ["cn-monitoring", "cn-mpi", "cn-national"]
    result = runner.invoke(app, ["standards", "check", "cn-national"])
    assert result.exit_code == 0 and "OK" in result.stdout
