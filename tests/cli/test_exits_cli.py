"""`tuopin exit ...` and `tuopin monitor ...`: the workflows end to end from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import REGIONS, VILLAGE, person_id, write_csv
from tuopin.cli.main import app
from tuopin.domain.errors import ValidationFailed

runner = CliRunner()
GOOD = {"household_size": 1, "wage_income": 20000, "food_secure": "是", "clothing_secure": "是",
        "housing_grade": "A", "water_quantity_lpd": 60, "water_piped": "是",
        "water_outage_days": 0, "water_quality_ok": "是", "medical_expenses": 0}
HOMES = {  # number: (status, year_identified, year_exited, 2019 wage, 2020 wage)
    f"{VILLAGE}0001": ("poor", 2016, None, 20000, 1000),
    f"{VILLAGE}0002": ("poor", 2016, None, 20000, 20000),
    f"{VILLAGE}0003": ("ordinary", None, None, 20000, 4000),
    f"{VILLAGE}0004": ("ordinary", None, None, 20000, 20000),
}
N1, N2, N3, N4 = HOMES


def tuopin(url: str, *args: str) -> str:
    result = runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> str:
    homes, people, surveys = [], [], []
    for i, (number, (status, identified, exited, wage19, wage20)) in enumerate(HOMES.items()):
        homes.append({"number": number, "village_code": VILLAGE, "status": status,
                      "year_identified": identified, "year_exited": exited})
        people.append({"household_number": number, "name": f"户主{i}", "relation": "head",
                       "id_number": person_id(date(1970, 1, 1 + i), 11 + 2 * i),
                       "health": "healthy", "labour": "ordinary", "medical_insurance": "是"})
        surveys += [{"household_number": number, "year": 2019, **GOOD, "wage_income": wage19},
                    {"household_number": number, "year": 2020, **GOOD, "wage_income": wage20}]
    files = {"regions": write_csv(tmp_path / "r.csv", REGIONS),
             "households": write_csv(tmp_path / "h.csv", homes),
             "members": write_csv(tmp_path / "m.csv", people),
             "surveys": write_csv(tmp_path / "s.csv", surveys)}
    for kind, path in files.items():
        tuopin(db_url, "import", kind, str(path))
    return db_url


def assess(url: str, standard: str, year: int) -> str:
    out = tuopin(url, "assess", "--standard", standard, "--year", str(year), "--engine", "db",
                 "--format", "json")
    return str(json.loads(out)["run"])


def test_a_household_exits_returns_and_villages_and_counties_are_checked(
    loaded: str, tmp_path: Path,
) -> None:
    run = assess(loaded, "cn-national", 2019)
    tuopin(loaded, "exit", "propose", N1, "--run", run, "--minutes", "评议记录1",
           "--as-of", "2020-03-02")
    tuopin(loaded, "exit", "notice", N1, "--start", "2020-03-03")
    with pytest.raises(ValidationFailed, match="announced from 2020-03-10"):
        tuopin(loaded, "exit", "announce", N1, "--as-of", "2020-03-09")
    out = tuopin(loaded, "exit", "announce", N1, "--as-of", "2020-03-10", "--format", "json")
    assert json.loads(out)["household_status"] == "exited"
    shown = json.loads(tuopin(loaded, "exit", "show", N1, "--format", "json"))
    assert [e["to"] for e in shown["events"]] == ["pre_exit", "in_notice", "exited"]
    assert "评议记录1" in tuopin(loaded, "exit", "show", N1)
    tuopin(loaded, "exit", "propose", N2, "--run", run, "--minutes", "m", "--as-of", "2020-03-02")
    tuopin(loaded, "exit", "notice", N2, "--start", "2020-03-03")
    out = tuopin(loaded, "exit", "object", N2, "--reason", "群众有异议", "--as-of", "2020-03-04",
                 "--format", "json")
    assert json.loads(out)["state"] == "not_exited"
    listed = json.loads(tuopin(loaded, "exit", "list", "--state", "exited", "--format", "json"))
    assert [r["number"] for r in listed] == [N1]
    later = assess(loaded, "cn-national", 2020)
    returned = json.loads(tuopin(loaded, "exit", "returns", "--run", later, "--as-of",
                                 "2021-01-05", "--format", "json"))
    assert [(r["number"], r["state"]) for r in returned] == [(N1, "returned")]
    checked = json.loads(tuopin(loaded, "exit", "check", "--level", "village", "--run", later,
                                "--format", "json"))
    assert checked[0]["verdict"] == "fail"  # 1 poor person of 4
    verification = write_csv(tmp_path / "v.csv", [{
        "code": "621121", "wrong_exit_rate": "1%", "missed_rate": "0.5%",
        "approval_rate": "95%"}])
    book = tmp_path / "check.xlsx"
    out = tuopin(loaded, "exit", "check", "--level", "county", "--run", run, "--verification",
                 str(verification), "--out", str(book), "--format", "csv", "--lang", "en")
    assert book.stat().st_size > 0
    assert "Wrong-exit rate" in out and out.count("\n") == 5  # header and four criteria
    assert "< 3%" in tuopin(loaded, "exit", "check", "--level", "county", "--run", run)


def test_monitoring_from_scan_to_identification_with_notice_shock_and_late_list(
    loaded: str,
) -> None:
    run = assess(loaded, "cn-monitoring", 2020)
    found = json.loads(tuopin(loaded, "monitor", "scan", "--run", run, "--as-of", "2021-01-10",
                              "--format", "json"))
    (case,) = [c for c in found["proposed"] if c["number"] == N3]
    assert case["category"] == "edge"
    number = str(case["case"])
    for to, on in [("visited", "2021-01-11"), ("reviewed", "2021-01-12"),
                   ("in_notice", "2021-01-13")]:
        tuopin(loaded, "monitor", "advance", number, "--to", to, "--on", on, "--note", "ok")
    notice = tuopin(loaded, "monitor", "notice", number)
    assert "边缘易致贫户" in notice and "2021-01-13至2021-01-17" in notice
    with pytest.raises(ValidationFailed, match="review it from 2021-01-18"):
        tuopin(loaded, "monitor", "advance", number, "--to", "township_reviewed", "--on",
               "2021-01-17")
    tuopin(loaded, "monitor", "advance", number, "--to", "township_reviewed", "--on",
           "2021-01-18")
    out = tuopin(loaded, "monitor", "advance", number, "--to", "identified", "--on",
                 "2021-01-20", "--format", "json")
    assert json.loads(out)["state"] == "identified"
    shock = json.loads(tuopin(loaded, "monitor", "shock", N4, "--kind", "illness", "--on",
                              "2021-02-01", "--amount", "30000", "--as-of", "2021-02-02",
                              "--format", "json"))
    assert shock["reassess_by"] == "2021-02-17" and shock["case"]["state"] == "proposed"
    late = json.loads(tuopin(loaded, "monitor", "list", "--late", "--as-of", "2021-03-01",
                             "--format", "json"))
    assert [r["number"] for r in late] == [N4]
    with pytest.raises(ValidationFailed, match="less than 6 months"):
        tuopin(loaded, "monitor", "clear", number, "--as-of", "2021-02-01")
    shown = json.loads(tuopin(loaded, "monitor", "show", number, "--format", "json"))
    assert [e["to"] for e in shown["events"]][-1] == "identified"
    assert N3 in tuopin(loaded, "monitor", "list", "--format", "csv")
