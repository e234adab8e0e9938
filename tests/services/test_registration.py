"""Registering households and members and entering surveys by hand: the importer's rules,
problems of a member row named by that row, the scope, probes outside it, stale surveys, the
audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import (
    OPERATOR,
    OTHER_VILLAGE,
    VILLAGE,
    households,
    operator,
    person_id,
    registry_files,
    user,
)
from tuopin.domain.enums import Role
from tuopin.domain.errors import (
    NotFound,
    PermissionDenied,
    StaleVersion,
    TooManyAttempts,
    ValidationFailed,
)
from tuopin.io.cells import as_text
from tuopin.io.schema import REGISTRY_KINDS
from tuopin.services import audit
from tuopin.services.access import probes
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import ProbeLimiter
from tuopin.services.imports.files import import_file
from tuopin.services.registry import registration, surveys
from tuopin.storage.db import session_factory
from tuopin.storage.models import (
    AuditEventRecord,
    HouseholdRecord,
    MemberRecord,
    ThrottleEventRecord,
)

TODAY = date(2026, 11, 29)
NUMBER = str(households(1)[0]["number"])
HEAD = person_id(date(1985, 6, 15), 31)
WIFE = person_id(date(1987, 2, 3), 42)
TAKEN = person_id(date(1970, 1, 1), 11)  # the head of NUMBER
HOUSEHOLD = {"village_code": VILLAGE, "status": "贫困户", "main_cause": "illness"}
PEOPLE = [{"name": "新户主", "id_number": HEAD, "relation": "户主"},
          {"name": "新妻子", "id_number": WIFE, "relation": "spouse"}]
SURVEY = {"household_size": "2", "wage_income": "5000", "food_secure": "是",
          "clothing_secure": "1", "housing_grade": "B"}
CADRE = operator("cadre")
LISI = user(Role.VILLAGE_CADRE, VILLAGE, username="lisi")  # a web user of VILLAGE


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    files = registry_files(tmp_path)
    for kind in REGISTRY_KINDS:
        assert import_file(engine, principal=OPERATOR, kind=kind, path=files[kind.value],
                           today=TODAY).ok
    return engine


def _register(engine: Engine, *, principal: Principal = CADRE,
              household: dict[str, str | None] | None = None,
              members: list[dict[str, str | None]] | None = None,
              probe_limiter: ProbeLimiter | None = None) -> str:
    with session_factory(engine)() as db, db.begin():
        registered = registration.register_household(
            db, principal=principal, household=household or HOUSEHOLD,
            members=PEOPLE if members is None else members, today=TODAY,
            probe_limiter=probe_limiter)
        return str(registered["number"])


def _refused(engine: Engine, **changes: object) -> list[tuple[str, str]]:
    """The (column, reason) of every problem of a refused registration."""
    with pytest.raises(ValidationFailed) as caught:
        _register(engine, **changes)  # type: ignore[arg-type]
    return [(p.column, p.reason) for p in caught.value.problems]


def _count(engine: Engine, what: type[HouseholdRecord | MemberRecord]) -> int:
    with Session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(what)) or 0)


def test_a_household_is_registered_with_the_next_number_its_members_and_an_audit_event(
        loaded: Engine) -> None:
    number = _register(loaded, principal=operator("cadre", VILLAGE))
    assert number == f"{VILLAGE}0004"  # the village has 0001-0003
    with Session(loaded) as db:
        record = db.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == number)).one()
        assert (record.status, record.main_cause) == ("poor", "illness")
        people = {m.name: (m.relation, m.sex, m.birth_date) for m in record.members}
        assert people == {"新户主": ("head", "male", date(1985, 6, 15)),
                          "新妻子": ("spouse", "female", date(1987, 2, 3))}
        (event,) = audit.history(db, principal=OPERATOR, entity="household", entity_id=number)
        assert (event["action"], event["actor"]) == ("add", "cadre")
        assert HEAD in (event["after"] or "")
        assert audit.verify(db, principal=OPERATOR).ok


def test_a_registration_returns_the_household_and_its_members_as_plain_data(
        loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin():
        registered = registration.register_household(
            db, principal=CADRE, household=HOUSEHOLD, members=PEOPLE, today=TODAY)
    assert (registered["number"], registered["village_code"]) == (f"{VILLAGE}0004", VILLAGE)
    assert [(m["name"], m["relation"]) for m in registered["members"]] == [
        ("新户主", "head"), ("新妻子", "spouse")]


def test_a_typed_number_is_kept_and_an_existing_one_is_refused_on_the_number_field(
        loaded: Engine) -> None:
    assert _refused(loaded, household={**HOUSEHOLD, "number": NUMBER}) == [
        ("number", registration.NUMBER_TAKEN)]
    assert _register(loaded, household={**HOUSEHOLD, "number": f"{VILLAGE}0100"}) == (
        f"{VILLAGE}0100")


@pytest.mark.parametrize("number", [f"{OTHER_VILLAGE}0100", "0100", f"{VILLAGE[:-1]}20100"])
def test_it_refuses_a_typed_number_that_does_not_start_with_its_village_code(
        loaded: Engine, number: str) -> None:
    before = _count(loaded, HouseholdRecord)
    assert _refused(loaded, household={**HOUSEHOLD, "number": number}) == [
        ("number", registration.NOT_OF_VILLAGE)]
    assert _count(loaded, HouseholdRecord) == before


def test_the_next_number_follows_the_highest_of_the_village(loaded: Engine) -> None:
    _register(loaded, household={**HOUSEHOLD, "number": f"{VILLAGE}0100"})
    with Session(loaded) as db:
        assert registration.next_number(db, village=VILLAGE) == f"{VILLAGE}0101"
        assert registration.next_number(db, village=OTHER_VILLAGE) == f"{OTHER_VILLAGE}0001"


def test_a_village_outside_the_scope_is_refused(loaded: Engine) -> None:
    with pytest.raises(PermissionDenied):
        _register(loaded, principal=operator("cadre", VILLAGE),
                  household={**HOUSEHOLD, "village_code": OTHER_VILLAGE})
    with Session(loaded) as db, pytest.raises(PermissionDenied):
        registration.new_household_defaults(db, principal=operator("cadre", VILLAGE),
                                            village=OTHER_VILLAGE)


@pytest.mark.parametrize("role", [Role.HELPER, Role.VERIFIER, Role.AUDITOR])
def test_a_role_that_does_not_edit_the_registry_may_not_register(loaded: Engine,
                                                                 role: Role) -> None:
    before = _count(loaded, HouseholdRecord)
    with pytest.raises(PermissionDenied):
        _register(loaded, principal=user(role, VILLAGE))
    assert _count(loaded, HouseholdRecord) == before


def test_a_village_that_is_not_registered_is_refused_on_its_field(loaded: Engine) -> None:
    unknown = VILLAGE[:-3] + "099"
    assert _refused(loaded, household={**HOUSEHOLD, "village_code": unknown}) == [
        ("village_code", registration.NO_VILLAGE)]


@pytest.mark.parametrize(("members", "expected"), [
    ([], [("members.0.relation", registration.HEAD_NEEDED)]),
    ([{**PEOPLE[0], "relation": "spouse"}, PEOPLE[1]],
     [("members.0.relation", registration.HEAD_NEEDED)]),
    ([PEOPLE[0], {**PEOPLE[1], "relation": "head"}],
     [("members.1.relation", "Household {number} already has a head on row {other}.")]),
    ([PEOPLE[0], {**PEOPLE[1], "id_number": HEAD}],
     [("members.1.id_number", "The same ID number is already on row {other}.")]),
    ([PEOPLE[0], {**PEOPLE[1], "id_number": WIFE[:-1] + "9"}],
     [("members.1.id_number", "The check digit is wrong.")]),
    ([PEOPLE[0], {**PEOPLE[1], "sex": "male"}],
     [("members.1.sex", "The sex does not match the ID number.")]),
    ([PEOPLE[0], {}, {}, {**PEOPLE[1], "id_number": TAKEN}],  # blank rows keep the numbering
     [("members.3.id_number", registration.ID_ELSEWHERE)]),
])
def test_member_rows_are_checked_by_the_importers_rules_each_problem_on_its_row(
        loaded: Engine, members: list[dict[str, str | None]],
        expected: list[tuple[str, str]]) -> None:
    before = (_count(loaded, HouseholdRecord), _count(loaded, MemberRecord))
    found = _refused(loaded, members=members)
    if expected[0][1] == "The check digit is wrong.":  # the exact wording is the importer's
        found = [(c, "The check digit is wrong.") for c, r in found if c == expected[0][0]]
    assert found == expected
    assert (_count(loaded, HouseholdRecord), _count(loaded, MemberRecord)) == before


def _move_away(engine: Engine) -> None:
    """Household NUMBER (whose head is TAKEN) moves to OTHER_VILLAGE, outside VILLAGE."""
    with session_factory(engine)() as db, db.begin():
        db.execute(HouseholdRecord.__table__.update().where(  # type: ignore[attr-defined]
            HouseholdRecord.number == NUMBER).values(village_code=OTHER_VILLAGE))


def test_an_id_number_registered_outside_the_scope_is_refused_without_naming_its_household(
        loaded: Engine) -> None:
    _move_away(loaded)
    problems = _refused(loaded, members=[PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}])
    assert problems == [("members.1.id_number", registration.ID_ELSEWHERE)]
    with pytest.raises(probes.ProbeRefused) as caught:
        _register(loaded, principal=operator("cadre", VILLAGE),
                  members=[PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}])
    assert [(p.column, p.reason, p.params) for p in caught.value.problems] == [
        ("members.1.id_number", probes.ASK_THE_COUNTY, {})]
    assert not any(NUMBER in p.message(lang) for p in caught.value.problems
                   for lang in ("en", "zh"))


def probes_of(engine: Engine, username: str = "lisi") -> tuple[int, list[dict[str, Any]]]:
    """How many probes count against ``username``, and the audit events of probes."""
    with Session(engine) as db:
        counted = db.scalar(select(func.count()).select_from(ThrottleEventRecord).where(
            ThrottleEventRecord.kind == "probe", ThrottleEventRecord.key == username))
        events = db.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "probe")
                            .order_by(AuditEventRecord.id)).all()
        return int(counted or 0), [{"actor": e.actor, "entity": e.entity,
                                    "entity_id": e.entity_id, **json.loads(e.after or "{}")}
                                   for e in events]


def _probing(engine: Engine, entry: Callable[[Session], object]) -> probes.ProbeRefused:
    """The refusal of ``entry``, its transaction committed as the web does for a refusal
    that keeps its record."""
    with session_factory(engine)() as db:
        with pytest.raises(probes.ProbeRefused) as caught:
            entry(db)
        assert caught.value.keep_transaction is True
        db.commit()
    return caught.value


def _registering(members: list[dict[str, str | None]] | None = None,
                 household: dict[str, str | None] | None = None,
                 limiter: ProbeLimiter | None = None) -> Callable[[Session], object]:
    return lambda db: registration.register_household(
        db, principal=LISI, household=household or HOUSEHOLD,
        members=PEOPLE if members is None else members, today=TODAY, probe_limiter=limiter)


ENTRIES: dict[str, Callable[[Session], object]] = {
    "a registration": _registering([PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}]),
    "an added member": lambda db: registration.add_member(
        db, principal=LISI, number=f"{VILLAGE}0002", values={**PEOPLE[1], "id_number": TAKEN},
        today=TODAY),
}


@pytest.mark.parametrize("entry", list(ENTRIES), ids=list(ENTRIES))
def test_it_audits_and_counts_an_id_number_registered_outside_the_scope(
        loaded: Engine, entry: str) -> None:
    _move_away(loaded)
    before = (_count(loaded, HouseholdRecord), _count(loaded, MemberRecord))
    refused = _probing(loaded, ENTRIES[entry])
    assert [(p.reason, p.params) for p in refused.problems] == [(probes.ASK_THE_COUNTY, {})]
    assert not any(NUMBER in p.message(lang) for p in refused.problems
                   for lang in ("en", "zh"))
    assert (_count(loaded, HouseholdRecord), _count(loaded, MemberRecord)) == before
    counted, events = probes_of(loaded)
    assert counted == 1
    assert [(e["actor"], e["entity_id"], e["values"]) for e in events] == [
        ("web:lisi", "id_number", [TAKEN])]


def test_it_audits_and_counts_a_typed_household_number_registered_outside_the_scope(
        loaded: Engine) -> None:
    other = f"{VILLAGE}0009"
    with session_factory(loaded)() as db, db.begin():  # registered in another village
        db.add(HouseholdRecord(number=other, village_code=OTHER_VILLAGE, status="ordinary"))
    refused = _probing(loaded, _registering(household={**HOUSEHOLD, "number": other}))
    assert [(p.column, p.reason, p.params) for p in refused.problems] == [
        ("number", probes.ASK_THE_COUNTY, {})]
    counted, events = probes_of(loaded)
    assert counted == 1 and [(e["entity_id"], e["values"]) for e in events] == [
        ("number", [other])]


def test_a_collision_inside_the_scope_still_names_the_other_household(loaded: Engine) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _register(loaded, principal=LISI,
                  members=[PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}])
    assert not isinstance(caught.value, probes.ProbeRefused)
    assert [(p.column, p.reason, p.params) for p in caught.value.problems] == [
        ("members.1.id_number", registration.ID_ELSEWHERE, {"other": NUMBER})]
    assert _refused(loaded, principal=LISI, household={**HOUSEHOLD, "number": NUMBER}) == [
        ("number", registration.NUMBER_TAKEN)]
    assert probes_of(loaded) == (0, [])


def test_past_the_probe_limit_registrations_are_refused_before_any_check(
        loaded: Engine) -> None:
    _move_away(loaded)
    limiter = ProbeLimiter(max_probes=2)
    for _ in range(2):
        _probing(loaded, _registering([PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}],
                                      limiter=limiter))
    before = (_count(loaded, HouseholdRecord), _count(loaded, MemberRecord))
    for members in (PEOPLE, [{**PEOPLE[0], "relation": "spouse"}],
                    [PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}]):
        with session_factory(loaded)() as db, db.begin(), pytest.raises(
                TooManyAttempts) as refused:
            _registering(members, limiter=limiter)(db)
        assert refused.value.retry_after > 0
    assert (_count(loaded, HouseholdRecord), _count(loaded, MemberRecord)) == before
    counted, events = probes_of(loaded)
    assert counted == 2 and len(events) == 2  # refused unchecked: no further probe recorded
    assert _register(loaded, probe_limiter=limiter) == f"{VILLAGE}0004"  # others go on


def test_a_household_field_is_refused_by_the_importers_rule(loaded: Engine) -> None:
    problems = _refused(loaded, household={**HOUSEHOLD, "year_identified": "2019",
                                           "year_exited": "2016"})
    assert [c for c, _ in problems] == ["year_exited"]


def _add(engine: Engine, values: dict[str, str | None], number: str = NUMBER,
         principal: Principal = CADRE) -> dict[str, Any]:
    with session_factory(engine)() as db, db.begin():
        return registration.add_member(db, principal=principal, number=number, values=values,
                                       today=TODAY)


def test_a_member_is_added_and_audited(loaded: Engine) -> None:
    added = _add(loaded, PEOPLE[1])
    assert (added["name"], added["relation"], added["version"]) == ("新妻子", "spouse", 1)
    with Session(loaded) as db:
        record = db.get(MemberRecord, added["id"])
        assert record is not None and record.household.number == NUMBER
        (event,) = audit.history(db, principal=OPERATOR, entity="member",
                                 entity_id=str(added["id"]))
        assert (event["action"], event["actor"]) == ("add", "cadre")


@pytest.mark.parametrize(("values", "column", "reason"), [
    ({**PEOPLE[1], "relation": "head"}, "relation", registration.HEAD_TAKEN),
    ({**PEOPLE[1], "id_number": TAKEN}, "id_number", registration.ID_ELSEWHERE),
    ({**PEOPLE[1], "disability_grade": "7"}, "disability_grade", None),
])
def test_a_member_that_breaks_a_rule_is_not_added(loaded: Engine, values: dict[str, str | None],
                                                  column: str, reason: str | None) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _add(loaded, values)
    assert [p.column for p in caught.value.problems] == [column]
    assert reason is None or caught.value.problems[0].reason == reason


def test_a_member_of_a_household_outside_the_scope_cannot_be_added(loaded: Engine) -> None:
    with pytest.raises(NotFound):
        _add(loaded, PEOPLE[1], principal=operator("cadre", OTHER_VILLAGE))


def _member_id(engine: Engine, id_number: str) -> int:
    with Session(engine) as db:
        return db.scalars(select(MemberRecord.id).where(
            MemberRecord.id_number == id_number)).one()


def test_a_member_correction_may_not_take_another_members_id_or_make_a_second_head(
        loaded: Engine) -> None:
    child = person_id(date(2012, 3, 1), 22)
    edit = registration.edit_member
    taken: dict[str, str | None] = {"id_number": TAKEN, "sex": None, "birth_date": None}
    for changes, column in ((taken, "id_number"), ({"relation": "head"}, "relation")):
        with session_factory(loaded)() as db, db.begin(), pytest.raises(
                ValidationFailed) as caught:
            edit(db, principal=operator("a"), number=NUMBER,
                 member_id=_member_id(loaded, child), expected_version=1, changes=changes,
                 today=TODAY)
        assert [p.column for p in caught.value.problems] == [column]
    with session_factory(loaded)() as db, db.begin():
        edit(db, principal=operator("a"), number=NUMBER, member_id=_member_id(loaded, TAKEN),
             expected_version=1, changes={"name": "户主甲"}, today=TODAY)
    with session_factory(loaded)() as db, db.begin(), pytest.raises(StaleVersion) as stale:
        edit(db, principal=operator("b"), number=NUMBER, member_id=_member_id(loaded, TAKEN),
             expected_version=1, changes={"name": "户主乙"}, today=TODAY)
    assert stale.value.current["name"] == "户主甲"


def test_a_member_is_found_only_through_its_own_household(loaded: Engine) -> None:
    other = str(households(2)[1]["number"])
    with Session(loaded) as db, pytest.raises(NotFound):
        registration.member(db, principal=OPERATOR, number=other,
                            member_id=_member_id(loaded, TAKEN))


def _enter(engine: Engine, year: int, values: Mapping[str, str | None],
           seen: dict[str, str] | None) -> dict[str, Any]:
    with session_factory(engine)() as db, db.begin():
        return surveys.enter_survey(db, principal=CADRE, number=NUMBER, year=year,
                                    values=values, seen=seen, today=TODAY)


def _seen(engine: Engine, year: int) -> dict[str, str]:
    with Session(engine) as db:
        stored = surveys.survey(db, principal=OPERATOR, number=NUMBER, year=year)["survey"]
    return {k: as_text(v) for k, v in (stored or dict.fromkeys(surveys.SURVEY_FIELDS)).items()}


def test_a_new_years_survey_is_entered_and_audited(loaded: Engine) -> None:
    _enter(loaded, 2025, SURVEY, _seen(loaded, 2025))
    with Session(loaded) as db:
        found = surveys.survey(db, principal=OPERATOR, number=NUMBER, year=2025)
        assert found["survey"]["wage_income"] == 5000.0
        assert found["survey"]["food_secure"] is True and found["living_members"] == 2
        (event,) = audit.history(db, principal=OPERATOR, entity="survey",
                                 entity_id=f"{NUMBER}/2025")
        assert (event["action"], event["actor"]) == ("add", "cadre")


def test_a_survey_is_corrected_unless_it_changed_since_the_form_showed_it(
        loaded: Engine) -> None:
    opened = _seen(loaded, 2019)
    _enter(loaded, 2019, {**opened, "wage_income": "4500"}, opened)
    with pytest.raises(StaleVersion) as caught:
        _enter(loaded, 2019, {**opened, "wage_income": "3600"}, opened)
    assert caught.value.current["wage_income"] == 4500.0
    with Session(loaded) as db:
        assert [e["action"] for e in audit.history(db, principal=OPERATOR, entity="survey",
                                                   entity_id=f"{NUMBER}/2019")] == ["edit"]


def test_a_survey_entered_meanwhile_by_someone_else_is_not_overwritten(loaded: Engine) -> None:
    blank = _seen(loaded, 2025)
    _enter(loaded, 2025, SURVEY, blank)
    with pytest.raises(StaleVersion):
        _enter(loaded, 2025, {**SURVEY, "wage_income": "1"}, blank)


@pytest.mark.parametrize(("year", "changes", "columns"), [
    (2025, {"wage_income": "-5"}, ["wage_income"]),
    (2025, {"household_size": "0", "housing_grade": "Z"}, ["household_size", "housing_grade"]),
    (2025, {"food_secure": None}, ["food_secure"]),
    (2027, {}, ["year"]),  # a year in the future
])
def test_a_survey_that_breaks_an_importer_rule_is_refused(
        loaded: Engine, year: int, changes: dict[str, str | None], columns: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _enter(loaded, year, {**SURVEY, **changes}, None)
    assert sorted(p.column for p in caught.value.problems) == columns
    with Session(loaded) as db:
        assert surveys.survey(db, principal=OPERATOR, number=NUMBER,
                              year=year)["survey"] is None


def test_a_survey_of_a_household_outside_the_scope_is_not_found(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin(), pytest.raises(NotFound):
        surveys.enter_survey(db, principal=operator("a", OTHER_VILLAGE), number=NUMBER,
                             year=2025, values=SURVEY, seen=None, today=TODAY)
