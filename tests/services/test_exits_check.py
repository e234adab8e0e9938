"""Village and county exit checks: figures, thresholds (3 % in the west), vetoes, pending."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from factories import OPERATOR, operator
from tuopin.domain.errors import ValidationFailed
from tuopin.services.exits import area_exits as exit_checks
from tuopin.standards.loader import load
from tuopin.storage import rollups
from tuopin.storage.db import session_factory
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    HouseholdRecord,
    RegionRecord,
)

GANSU_VILLAGE, HEBEI_VILLAGE = "621121001001", "130102001001"
REGIONS = [("620000000000", "甘肃省", 1, None), ("621100000000", "定西市", 2, "620000000000"),
           ("621121000000", "通渭县", 3, "621100000000"),
           ("621121001000", "平襄镇", 4, "621121000000"),
           (GANSU_VILLAGE, "东关村", 5, "621121001000"),
           ("130000000000", "河北省", 1, None), ("130100000000", "石家庄市", 2, "130000000000"),
           ("130102000000", "长安区", 3, "130100000000"),
           ("130102001000", "某街道", 4, "130102000000"),
           (HEBEI_VILLAGE, "某村", 5, "130102001000")]


@pytest.fixture
def run(engine: Engine) -> int:
    """Both villages: 1 poor person in 40 (2.5 %): a pass in the west, a fail elsewhere."""
    standard = load("cn-national")
    with session_factory(engine)() as db, db.begin():
        db.add_all(RegionRecord(code=c, name=n, level=lv, parent_code=p)
                   for c, n, lv, p in REGIONS)
        record = AssessmentRunRecord(
            standard_name=standard.name, standard_version=standard.version,
            standard_hash=standard.content_hash, standard_text=standard.text, year=2019,
            engine="db", snapshot_at="x", created_at="x", created_by="t", households=8,
            members=80, poor_households=2, poor_members=2, counts="{}", timings="{}")
        db.add(record)
        db.flush()
        for village in (GANSU_VILLAGE, HEBEI_VILLAGE):
            for i, members in enumerate((1, 13, 13, 13)):
                home = HouseholdRecord(number=f"{village}{i:04d}", village_code=village,
                                       status="poor" if i == 0 else "ordinary")
                db.add(home)
                db.flush()
                db.add(AssessmentResultRecord(
                    run_id=record.id, household_id=home.id, household_number=home.number,
                    village_code=village, members=members, score=0.0, poor=i == 0,
                    deprived="income" if i == 0 else "", categories=""))
        db.flush()
        rollups.write(db.connection(), record.id)  # as a stored run has (runs.record)
        return record.id


def by_criterion(region: dict) -> dict[str, tuple]:
    return {c["criterion"]: (c["figure"], c["threshold"], c["outcome"])
            for c in region["criteria"]}


def test_villages_pass_below_3_percent_in_the_west_and_below_2_percent_elsewhere(
    engine: Engine, run: int,
) -> None:
    with Session(engine) as db:
        checked = {r["code"]: r for r in exit_checks.check(db, principal=OPERATOR,
                                                           level="village", run_id=run)}
    west, east = checked[GANSU_VILLAGE], checked[HEBEI_VILLAGE]
    assert (west["western"], west["verdict"]) == (True, "pass")
    assert by_criterion(west) == {"incidence": (pytest.approx(0.025), "< 3%", "pass")}
    assert (east["western"], east["verdict"]) == (False, "fail")
    assert by_criterion(east) == {"incidence": (pytest.approx(0.025), "< 2%", "fail")}
    assert "厅字〔2016〕16号" in west["criteria"][0]["source"]


def test_the_region_file_s_western_flag_decides_the_threshold(engine: Engine, run: int) -> None:
    with session_factory(engine)() as db, db.begin():
        db.execute(update(RegionRecord).where(RegionRecord.code == "620000000000")
                   .values(western=False))
    with Session(engine) as db:
        (region,) = exit_checks.check(db, principal=operator("t", GANSU_VILLAGE),
                                      level="village", run_id=run)
    assert (region["western"], region["verdict"]) == (False, "fail")


def test_a_county_without_verification_is_pending_on_three_rates_and_one_degree(
    engine: Engine, run: int,
) -> None:
    with Session(engine) as db:
        (county,) = exit_checks.check(db, principal=operator("t", "621121"), level="county",
                                      run_id=run)
    assert county["verdict"] == "pending"
    assert by_criterion(county) == {
        "incidence": (pytest.approx(0.025), "< 3%", "pass"),
        "wrong_exit_rate": (None, "< 2%", "pending"),
        "missed_rate": (None, "< 2%", "pending"),
        "approval_rate": (None, "> 90%", "pending")}
    assert {c["basis"] for c in county["criteria"][1:]} == {"not yet verified"}


@pytest.mark.parametrize(("figures", "verdict", "failed"), [
    ({"wrong_exit_rate": 0.01, "missed_rate": 0.005, "approval_rate": 0.95}, "pass", []),
    ({"wrong_exit_rate": 0.01, "missed_rate": 0.005, "approval_rate": 0.85}, "fail",
     ["approval_rate"]),
    ({"wrong_exit_rate": 0.01, "approval_rate": 0.95, "missed_rate": 0.03}, "fail",
     ["missed_rate"]),
    ({"wrong_exit_rate": 0.01, "approval_rate": 0.95}, "pending", []),
    ({"wrong_exit_rate": 0.01, "missed_rate": 0.005, "approval_rate": 0.95,
      "composite_incidence": 0.031}, "fail", ["incidence"]),
])
def test_each_county_criterion_is_a_veto(engine: Engine, run: int, figures: dict,
                                         verdict: str, failed: list[str]) -> None:
    with Session(engine) as db:
        (county,) = exit_checks.check(db, principal=operator("t", "621121"), level="county",
                                      run_id=run, verification={"621121": figures})
    assert county["verdict"] == verdict
    assert [c["criterion"] for c in county["criteria"] if c["outcome"] == "fail"] == failed


def test_flat_rows_give_one_row_per_region_and_criterion(engine: Engine, run: int) -> None:
    with Session(engine) as db:
        checked = exit_checks.check(db, principal=OPERATOR, level="county", run_id=run)
    rows = exit_checks.flat_rows(checked, lang="zh")
    assert len(rows) == 8 and {r["title"] for r in rows} >= {"错退率", "群众认可度"}


def test_verification_files_are_read_from_csv_or_json(tmp_path: Path) -> None:
    csv_file = tmp_path / "v.csv"
    csv_file.write_text("code,wrong_exit_rate,missed_rate,approval_rate\n"
                        "621121,1.5%,0.004,96%\n", encoding="utf-8")
    assert exit_checks.read_verification(csv_file) == {"621121000000": {
        "wrong_exit_rate": pytest.approx(0.015), "missed_rate": 0.004,
        "approval_rate": pytest.approx(0.96)}}
    json_file = tmp_path / "v.json"
    json_file.write_text(json.dumps({"621121": {"approval_rate": 0.9}}), encoding="utf-8")
    assert exit_checks.read_verification(json_file) == {"621121000000": {"approval_rate": 0.9}}
    json_file.write_text(json.dumps([{"code": "621121", "approval_rate": "120%"}]))
    with pytest.raises(ValidationFailed, match="entry 1, approval_rate: '120%' is not between"):
        exit_checks.read_verification(json_file)
    csv_file.write_text("code,missed_rate\nabc,0.1\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="'abc' is not a region code"):
        exit_checks.read_verification(csv_file)


def test_an_unknown_level_is_refused(engine: Engine, run: int) -> None:
    with Session(engine) as db, pytest.raises(ValidationFailed, match="village or county"):
        exit_checks.check(db, principal=OPERATOR, level="township", run_id=run)
