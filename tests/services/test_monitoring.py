"""Monitoring through the service: scan, shocks, the procedure and its deadline, the notice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import OPERATOR, operator, person_id, user
from tuopin.domain.enums import MonitoringState, Role, ShockKind
from tuopin.domain.errors import PermissionDenied, RuleBroken, StaleVersion, ValidationFailed
from tuopin.i18n import gettext, translate
from tuopin.services import audit
from tuopin.services.access.principal import Principal
from tuopin.services.assessment import runs as assessments
from tuopin.services.monitoring import cases as monitoring
from tuopin.services.monitoring import clearance as monitor_clearance
from tuopin.standards.loader import load
from tuopin.storage.db import session_factory
from tuopin.storage.models import (
    AuditEventRecord,
    HouseholdRecord,
    MemberRecord,
    MonitoringCaseRecord,
    MonitoringEventRecord,
    RegionRecord,
    ShockEventRecord,
    SurveyRecord,
)

VILLAGE = "621121001001"
REGIONS = [("620000000000", "甘肃省", 1, None), ("621100000000", "定西市", 2, "620000000000"),
           ("621121000000", "通渭县", 3, "621100000000"),
           ("621121001000", "平襄镇", 4, "621121000000"), (VILLAGE, "东关村", 5, "621121001000")]
WHO: dict[str, Any] = {"principal": operator("cadre")}
OFFICER = operator("officer")
# the three levels of the procedure (村申请、乡审核、县审定), as web users of the village's region
CUN = user(Role.VILLAGE_CADRE, VILLAGE, username="cun")
XIANG = user(Role.TOWNSHIP_OFFICER, "621121001000", username="xiang")
XIAN = user(Role.COUNTY_OFFICER, "621121000000", username="xian")
HELPER = user(Role.HELPER, VILLAGE, username="bang", households=frozenset({"H1"}))
SENSITIVE = {"id": person_id(date(1970, 1, 1), 11), "phone": "13912345678",
             "home_phone": "13800001111", "bank": "6228480000000000001"}


def seed(engine: Engine, homes: dict[str, dict[str, Any]]) -> None:
    """One household per entry, with a working head and a 2020 survey (survey overrides)."""
    with session_factory(engine)() as db, db.begin():
        db.add_all(RegionRecord(code=c, name=n, level=lv, parent_code=p)
                   for c, n, lv, p in REGIONS)
        db.flush()
        for i, (number, fields) in enumerate(homes.items()):
            survey = fields.pop("survey", {})
            home = HouseholdRecord(number=number, village_code=VILLAGE,
                                   **{"status": "ordinary", **fields})
            db.add(home)
            db.flush()
            db.add(MemberRecord(household_id=home.id, id_number=person_id(
                date(1970, 1, 1 + i), 11), name=f"户主{number}", sex="male",
                birth_date=date(1970, 1, 1 + i), relation="head", health="healthy",
                labour="ordinary", medical_insurance=True))
            db.add(SurveyRecord(household_id=home.id, year=2020, household_size=1, **{
                "wage_income": 21000, "medical_expenses": 0, "food_secure": True,
                "clothing_secure": True, "housing_grade": "A", "water_quantity_lpd": 60,
                "water_piped": True, "water_outage_days": 0, "water_quality_ok": True,
                **survey}))


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


def home_id(db: Session, number: str) -> int:
    return db.scalars(select(HouseholdRecord.id).where(HouseholdRecord.number == number)).one()


def test_a_scan_proposes_each_flagged_household_in_its_category(engine: Engine,
                                                                 db: Session) -> None:
    seed(engine, {
        "UNSTABLE": {"status": "exited", "year_exited": 2018, "survey": {"wage_income": 3000}},
        "EDGE": {"survey": {"wage_income": 4000}},
        "SUDDEN": {"survey": {"medical_expenses": 18000}},
        "FINE": {}, "POOR": {"status": "poor", "survey": {"wage_income": 1000}},
        "SHOCKED": {"survey": {"housing_grade": "D"}},
        "OPEN": {"survey": {"wage_income": 4000}}})
    with db.begin():
        db.add(ShockEventRecord(household_id=home_id(db, "SHOCKED"), kind="disaster",
                                occurred_on=date(2020, 7, 1), reported_on=date(2020, 7, 2),
                                reported_by="t", reassess_by=date(2020, 7, 17)))
        monitoring.record_shock(db, number="OPEN", kind=ShockKind.ILLNESS,
                                occurred_on=date(2020, 9, 1), amount=None, description=None,
                                as_of=date(2020, 9, 2), deadline_days=15, **WHO)
    computed = assessments.compute(engine, principal=OFFICER, standard=load("cn-monitoring"),
                                   year=2020, engine_name="db")
    run = assessments.record(engine, computed, principal=OFFICER)
    with db.begin():
        found = monitoring.scan(db, principal=OFFICER, run_id=run, as_of=date(2021, 1, 10),
                                deadline_days=15)
    got = {r["number"]: (r["category"], r["risk_types"].split(";")) for r in found["proposed"]}
    assert set(got) == {"UNSTABLE", "EDGE", "SUDDEN", "SHOCKED"}
    assert got["UNSTABLE"][0] == "unstable_exited" and "low_income" in got["UNSTABLE"][1]
    assert got["EDGE"][0] == "edge"
    assert got["SUDDEN"] == ("sudden_hardship", ["medical_costs"])
    assert got["SHOCKED"] == ("sudden_hardship", ["housing"])
    assert found["skipped_open"] == 1
    assert {r["deadline"] for r in found["proposed"]} == {date(2021, 1, 25)}
    assert {r["source"] for r in found["proposed"]} == {"scan"}
    with db.begin():
        again = monitoring.scan(db, principal=OFFICER, run_id=run, as_of=date(2021, 1, 11),
                                deadline_days=15)
    assert (again["proposed"], again["skipped_open"]) == ([], 5)
    with pytest.raises(ValidationFailed, match="a monitoring scan needs a run of cn-national"):
        monitoring.scan(db, principal=OFFICER, run_id=run, as_of=date(2021, 1, 11),
                        deadline_days=15, standard="cn-national")


def shock(db: Session, number: str = "H1", on: date = date(2021, 3, 1), **kw: Any) -> dict:
    with db.begin():
        return monitoring.record_shock(db, number=number, kind=kw.pop("kind", ShockKind.ILLNESS),
                                       occurred_on=on - timedelta(days=3),
                                       amount=kw.pop("amount", 30000), description="住院",
                                       as_of=on, deadline_days=15, **{**WHO, **kw})


def step(db: Session, case: int, to: MonitoringState, on: date, **kw: Any) -> dict:
    """A step taken on the day it is dated (``as_of``: a later day)."""
    with db.begin():
        return monitoring.advance(db, case_id=case, to=to, on=on, as_of=kw.pop("as_of", on),
                                  note=kw.pop("note", "ok"), notice_days=5, **{**WHO, **kw})


def test_a_shock_opens_a_case_with_a_deadline_and_later_shocks_attach_to_it(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {"status": "exited", "year_exited": 2019}, "P": {"status": "poor"}})
    first = shock(db)
    assert first["reassess_by"] == date(2021, 3, 16)
    case = first["case"]
    assert (case["state"], case["source"], case["category"], case["risk_types"],
            case["deadline"]) == ("proposed", "shock", "sudden_hardship", "illness",
                                  date(2021, 3, 16))
    second = shock(db, on=date(2021, 3, 5), kind=ShockKind.DISASTER)
    assert second["case"]["case"] == case["case"] and second["reassess_by"] == date(2021, 3, 20)
    assert shock(db, number="P")["case"] is None  # in the poverty register already
    shown = monitoring.show(db, principal=OPERATOR, case_id=case["case"],
                            as_of=date(2021, 3, 5))
    assert [s["kind"] for s in shown["shocks"]] == ["illness", "disaster"]
    assert len(audit.history(db, principal=OPERATOR, entity="shock_event")) == 3
    with pytest.raises(ValidationFailed, match="before it happened"):
        monitoring.record_shock(db, number="H1", kind=ShockKind.ACCIDENT,
                                occurred_on=date(2021, 4, 2), amount=None, description=None,
                                as_of=date(2021, 4, 1), deadline_days=15, **WHO)


def test_the_procedure_identifies_a_household_and_lists_it_late_after_the_deadline(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}, "H2": {}})
    case = shock(db)["case"]["case"]
    late = shock(db, number="H2")["case"]["case"]
    for to, on in [(MonitoringState.VISITED, date(2021, 3, 2)),
                   (MonitoringState.REVIEWED, date(2021, 3, 4)),
                   (MonitoringState.IN_NOTICE, date(2021, 3, 5)),
                   (MonitoringState.TOWNSHIP_REVIEWED, date(2021, 3, 10))]:
        step(db, case, to, on)
    row = step(db, case, MonitoringState.IDENTIFIED, date(2021, 3, 12))
    assert (row["state"], row["identified_on"], row["late"]) == (
        "identified", date(2021, 3, 12), False)
    step(db, late, MonitoringState.VISITED, date(2021, 3, 20))  # after its deadline: allowed
    status = db.scalars(select(HouseholdRecord.status).where(HouseholdRecord.number == "H1"))
    assert status.one() == "monitored"
    late_rows = monitoring.list_cases(db, principal=OPERATOR, as_of=date(2021, 3, 20),
                                      late_only=True)
    assert [(r["number"], r["days_late"]) for r in late_rows] == [("H2", 4)]
    assert len(monitoring.list_cases(db, principal=OPERATOR, as_of=date(2021, 3, 20))) == 2
    assert [r["number"] for r in monitoring.list_cases(
        db, principal=OPERATOR, as_of=date(2021, 3, 20), number="H2")] == ["H2"]
    db.rollback()
    step(db, late, MonitoringState.REJECTED, date(2021, 3, 22), note="农户不同意纳入")
    rows = {r["number"]: r for r in monitoring.list_cases(db, principal=OPERATOR,
                                                          as_of=date(2021, 6, 1))}
    assert (rows["H2"]["state"], rows["H2"]["late"], rows["H2"]["days_late"]) == (
        "rejected", True, 6)
    assert (rows["H1"]["late"], rows["H1"]["days_late"]) == (False, 0)
    events = audit.history(db, principal=OPERATOR, entity="monitoring_case",
                           entity_id=str(case))
    actions = [e["action"] for e in events]
    assert actions[0] == "monitor:propose" and actions[-1] == "monitor:identified"
    assert {e["actor"] for e in events} == {"cadre"}
    assert audit.verify(db, principal=OPERATOR).ok


def test_a_refused_or_stale_step_changes_nothing(engine: Engine, db: Session) -> None:
    seed(engine, {"H1": {}})
    case = shock(db)["case"]
    db.rollback()

    def counts() -> tuple:
        with Session(engine) as s:
            return (s.execute(select(MonitoringCaseRecord.state, MonitoringCaseRecord.version)
                              ).all(),
                    s.scalar(select(func.count()).select_from(MonitoringEventRecord)),
                    s.scalar(select(func.count()).select_from(AuditEventRecord)))

    before = counts()
    with db.begin(), pytest.raises(ValidationFailed, match="next step is 'visited'"):
        monitoring.advance(db, case_id=case["case"], to=MonitoringState.IN_NOTICE,
                           on=date(2021, 3, 2), as_of=date(2021, 3, 2), note=None,
                           notice_days=5, **WHO)
    assert counts() == before
    step(db, case["case"], MonitoringState.VISITED, date(2021, 3, 2))
    moved = counts()
    with db.begin(), pytest.raises(StaleVersion, match="saved by someone else first"):
        monitoring.advance(db, case_id=case["case"], to=MonitoringState.REVIEWED,
                           on=date(2021, 3, 3), as_of=date(2021, 3, 3), note=None,
                           notice_days=5, **WHO, expected_version=case["version"])
    assert counts() == moved


def test_the_village_notice_holds_no_id_phone_bank_or_health_data(engine: Engine,
                                                                    db: Session) -> None:
    seed(engine, {"H1": {"phone": SENSITIVE["home_phone"], "bank_account": SENSITIVE["bank"]}})
    with db.begin():
        head = db.scalars(select(MemberRecord)).one()
        head.phone, head.health = SENSITIVE["phone"], "serious"
        db.add(MemberRecord(household_id=head.household_id, name="李残", sex="female",
                            id_number=person_id(date(1990, 5, 5), 22), relation="spouse",
                            birth_date=date(1990, 5, 5), health="disabled", disability_grade=1))
    case = shock(db)["case"]["case"]
    with pytest.raises(ValidationFailed, match="no village notice yet"):
        monitor_clearance.notice(db, principal=OPERATOR, case_id=case)
    db.rollback()
    for to, on in [(MonitoringState.VISITED, date(2021, 3, 2)),
                   (MonitoringState.REVIEWED, date(2021, 3, 3)),
                   (MonitoringState.IN_NOTICE, date(2021, 3, 4))]:
        step(db, case, to, on)
    for lang in ("zh", "en"):
        text = monitor_clearance.notice(db, principal=OPERATOR, case_id=case, lang=lang)
        assert "户主H1" in text and "2021-03-04" in text and "2021-03-08" in text
        for secret in [*SENSITIVE.values(), head.id_number, person_id(date(1990, 5, 5), 22)]:
            assert secret not in text
        for health in ("大病", "残疾", "慢性病", "疾病", "illness", "serious", "disab", "medical",
                       "住院", "30000"):
            assert health not in text.lower()
        assert not re.search(r"\d{11,}|\d{17}[\dXx]", text)
    assert "突发严重困难户" in monitor_clearance.notice(db, principal=OPERATOR, case_id=case)


def test_the_notes_tuopin_writes_are_shown_in_the_readers_language(engine: Engine,
                                                                   db: Session) -> None:
    seed(engine, {"H1": {}})
    case = shock(db, kind=ShockKind.DISASTER)["case"]["case"]
    step(db, case, MonitoringState.VISITED, date(2021, 3, 2), note="shock: 户主说明情况")
    stored = monitoring.show(db, principal=OPERATOR, case_id=case, as_of=date(2021, 3, 2))
    assert [e["note"] for e in stored["events"]] == ["shock: disaster on 2021-02-26",
                                                    "shock: 户主说明情况"]
    for lang in ("zh", "en"):
        shown = monitoring.show(db, principal=OPERATOR, case_id=case, as_of=date(2021, 3, 2),
                                lang=lang)
        first, typed = (e["note"] for e in shown["events"])
        assert first == translate(monitoring.SHOCK_NOTE, lang,
                                  kind=gettext("natural disaster", lang), on="2021-02-26")
        assert typed == "shock: 户主说明情况"  # a user's own note is shown as typed


def stored_steps(engine: Engine) -> tuple[object, ...]:
    """The cases (state, version), their events and the audit trail's length."""
    with Session(engine) as s:
        return (s.execute(select(MonitoringCaseRecord.state, MonitoringCaseRecord.version)
                          .order_by(MonitoringCaseRecord.id)).all(),
                s.scalar(select(func.count()).select_from(MonitoringEventRecord)),
                s.scalar(select(func.count()).select_from(AuditEventRecord)))


@pytest.mark.parametrize(("on", "as_of", "refusal"), [
    (date(2021, 3, 6), date(2021, 3, 5), "after today"),
    (date(2021, 3, 3), date(2021, 3, 5), "before the step it follows"),
    (date(2021, 2, 28), date(2021, 3, 5), "before the case was opened"),
])
def test_a_step_dated_after_today_or_before_the_step_it_follows_is_refused(
    engine: Engine, db: Session, on: date, as_of: date, refusal: str,
) -> None:
    seed(engine, {"H1": {}})
    case = shock(db)["case"]["case"]  # opened on 2021-03-01
    step(db, case, MonitoringState.VISITED, date(2021, 3, 4))
    before = stored_steps(engine)
    with db.begin(), pytest.raises(RuleBroken, match=refusal):
        monitoring.advance(db, case_id=case, to=MonitoringState.REVIEWED, on=on, as_of=as_of,
                           note=None, notice_days=5, **WHO)
    assert stored_steps(engine) == before
    assert step(db, case, MonitoringState.REVIEWED, date(2021, 3, 4))["state"] == "reviewed"


@pytest.mark.parametrize("amount", ["1e400", "inf", "nan", "-5", "1.234", 2e8, "一千",
                                    float("inf")])
def test_a_shock_whose_amount_is_not_an_amount_of_money_is_refused(
    engine: Engine, db: Session, amount: object,
) -> None:
    seed(engine, {"H1": {}})
    with Session(engine) as s:
        shocks = s.scalar(select(func.count()).select_from(ShockEventRecord))
    with pytest.raises(RuleBroken) as refused:
        shock(db, amount=amount)
    assert refused.value.values["field"] == "amount"
    db.rollback()
    assert stored_steps(engine) == ([], 0, 0)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ShockEventRecord)) == shocks


@pytest.mark.parametrize(("amount", "stored"), [
    ("1,234.50", 1234.5), (" 1234.5 ", 1234.5), (100_000_000, 100_000_000.0), ("", None),
    (None, None), (0.1, 0.1),
])
def test_a_shocks_amount_is_stored_in_yuan_and_fen(engine: Engine, db: Session,
                                                   amount: object, stored: float | None) -> None:
    seed(engine, {"H1": {}})
    reported = shock(db, amount=amount)
    assert reported["amount"] == stored
    with Session(engine) as s:
        assert s.scalars(select(ShockEventRecord.amount)).one() == stored


def test_each_step_is_taken_by_its_level_and_refused_to_the_levels_below(
    engine: Engine, db: Session,
) -> None:
    seed(engine, {"H1": {}})
    case = shock(db, principal=CUN)["case"]["case"]
    procedure: list[tuple[MonitoringState, date, Principal, list[Principal]]] = [
        (MonitoringState.VISITED, date(2021, 3, 2), CUN, []),
        (MonitoringState.REVIEWED, date(2021, 3, 3), CUN, []),
        (MonitoringState.IN_NOTICE, date(2021, 3, 4), CUN, []),
        (MonitoringState.TOWNSHIP_REVIEWED, date(2021, 3, 10), XIANG, [CUN]),
        (MonitoringState.IDENTIFIED, date(2021, 3, 12), XIAN, [CUN, XIANG]),
    ]
    for to, on, level, below in procedure:
        for refused in below:
            before = stored_steps(engine)
            with db.begin(), pytest.raises(PermissionDenied):
                monitoring.advance(db, principal=refused, case_id=case, to=to, on=on,
                                   as_of=on, note=None, notice_days=5)
            assert stored_steps(engine) == before
        assert step(db, case, to, on, principal=level)["state"] == to.value
    events = audit.history(db, principal=OPERATOR, entity="monitoring_case",
                           entity_id=str(case))
    assert [(e["action"], e["actor"]) for e in events] == [
        ("monitor:propose", "web:cun"), ("monitor:visited", "web:cun"),
        ("monitor:reviewed", "web:cun"), ("monitor:in_notice", "web:cun"),
        ("monitor:township_reviewed", "web:xiang"), ("monitor:identified", "web:xian")]


@pytest.mark.parametrize(("principal", "allowed"), [(CUN, False), (XIANG, False), (XIAN, True)],
                         ids=["village", "township", "county"])
def test_only_the_county_rejects_a_case(engine: Engine, db: Session, principal: Principal,
                                        allowed: bool) -> None:
    seed(engine, {"H1": {}})
    case = shock(db)["case"]["case"]
    if allowed:
        row = step(db, case, MonitoringState.REJECTED, date(2021, 3, 2), note="农户不同意纳入",
                   principal=principal)
        assert row["state"] == "rejected"
        return
    before = stored_steps(engine)
    with db.begin(), pytest.raises(PermissionDenied):
        monitoring.advance(db, principal=principal, case_id=case,
                           to=MonitoringState.REJECTED, on=date(2021, 3, 2),
                           as_of=date(2021, 3, 2), note="农户不同意纳入", notice_days=5)
    assert stored_steps(engine) == before


def test_a_helper_may_not_report_a_shock(engine: Engine, db: Session) -> None:
    seed(engine, {"H1": {}})
    with pytest.raises(PermissionDenied):
        shock(db, principal=HELPER)
    db.rollback()
    assert stored_steps(engine) == ([], 0, 0)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ShockEventRecord)) == 0
    assert shock(db, principal=CUN)["case"] is not None  # the village reports it


@pytest.mark.parametrize(("note", "msgid", "values"), [
    ("scan of run 12", monitoring.SCAN_NOTE, {"run": "12"}),
    ("income 9000 >= line 6000; 2 measures delivered", monitoring.CLEARANCE_NOTE,
     {"income": "9000", "line": "6000", "measures": "2"}),
    ("shock: flood on 2021-02-26", monitoring.SHOCK_NOTE, {"kind": "flood", "on": "2021-02-26"}),
    ("农户不同意纳入", None, None),
])
def test_a_stored_note_is_read_back_as_its_msgid_and_values(note: str, msgid: str | None,
                                                            values: dict | None) -> None:
    found = monitoring.note_message(note)
    assert (found.msgid, found.values) == (msgid, values) if found else msgid is None
