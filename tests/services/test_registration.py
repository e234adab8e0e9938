"""Registering households and members and entering surveys by hand: the importer's rules,
problems of a member row named by that row, the scope, stale surveys, the audit trail."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import OTHER_VILLAGE, VILLAGE, households, person_id, registry_files
from tuopin.domain.errors import NotFound, PermissionDenied, ValidationFailed
from tuopin.domain.scope import EVERYTHING, Scope
from tuopin.io.cells import as_text
from tuopin.io.schema import Kind
from tuopin.services import audit
from tuopin.services.imports.files import import_file
from tuopin.services.registry import registration
from tuopin.services.registry.households import StaleVersion
from tuopin.storage.db import session_factory
from tuopin.storage.models import HouseholdRecord, MemberRecord, SurveyRecord

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


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    files = registry_files(tmp_path)
    for kind in Kind:
        assert import_file(engine, kind=kind, path=files[kind.value], actor="t", today=TODAY).ok
    return engine


def _register(engine: Engine, *, scope: Scope = EVERYTHING,
              household: dict[str, str | None] | None = None,
              members: list[dict[str, str | None]] | None = None) -> str:
    with session_factory(engine)() as db, db.begin():
        record = registration.register_household(
            db, scope=scope, household=household or HOUSEHOLD,
            members=PEOPLE if members is None else members, actor="cadre", today=TODAY)
        return record.number


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
    number = _register(loaded, scope=Scope(VILLAGE))
    assert number == f"{VILLAGE}0004"  # the village has 0001-0003
    with Session(loaded) as db:
        record = db.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == number)).one()
        assert (record.status, record.main_cause) == ("poor", "illness")
        people = {m.name: (m.relation, m.sex, m.birth_date) for m in record.members}
        assert people == {"新户主": ("head", "male", date(1985, 6, 15)),
                          "新妻子": ("spouse", "female", date(1987, 2, 3))}
        (event,) = audit.history(db, entity="household", entity_id=number)
        assert event.action == "add" and HEAD in (event.after or "")
        assert audit.verify(db).ok


def test_a_typed_number_is_kept_and_an_existing_one_is_refused_on_the_number_field(
        loaded: Engine) -> None:
    assert _refused(loaded, household={**HOUSEHOLD, "number": NUMBER}) == [
        ("number", registration.NUMBER_TAKEN)]
    assert _register(loaded, household={**HOUSEHOLD, "number": f"{VILLAGE}0100"}) == (
        f"{VILLAGE}0100")


def test_the_next_number_follows_the_highest_of_the_village(loaded: Engine) -> None:
    _register(loaded, household={**HOUSEHOLD, "number": f"{VILLAGE}0100"})
    with Session(loaded) as db:
        assert registration.next_number(db, village=VILLAGE) == f"{VILLAGE}0101"
        assert registration.next_number(db, village=OTHER_VILLAGE) == f"{OTHER_VILLAGE}0001"


def test_a_village_outside_the_scope_is_refused(loaded: Engine) -> None:
    with pytest.raises(PermissionDenied):
        _register(loaded, scope=Scope(VILLAGE),
                  household={**HOUSEHOLD, "village_code": OTHER_VILLAGE})
    with Session(loaded) as db, pytest.raises(PermissionDenied):
        registration.new_household_defaults(db, scope=Scope(VILLAGE), village=OTHER_VILLAGE)


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


def test_an_id_number_registered_outside_the_scope_is_refused_without_naming_its_household(
        loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin():
        db.execute(HouseholdRecord.__table__.update().where(  # type: ignore[attr-defined]
            HouseholdRecord.number == NUMBER).values(village_code=OTHER_VILLAGE))
    problems = _refused(loaded, members=[PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}])
    assert problems == [("members.1.id_number", registration.ID_ELSEWHERE)]
    with pytest.raises(ValidationFailed) as caught:
        _register(loaded, scope=Scope(VILLAGE),
                  members=[PEOPLE[0], {**PEOPLE[1], "id_number": TAKEN}])
    assert [p.reason for p in caught.value.problems] == [registration.ID_HIDDEN]


def test_a_household_field_is_refused_by_the_importers_rule(loaded: Engine) -> None:
    problems = _refused(loaded, household={**HOUSEHOLD, "year_identified": "2019",
                                           "year_exited": "2016"})
    assert [c for c, _ in problems] == ["year_exited"]


def _add(engine: Engine, values: dict[str, str | None], number: str = NUMBER,
         scope: Scope = EVERYTHING) -> MemberRecord:
    with session_factory(engine)() as db, db.begin():
        return registration.add_member(db, scope=scope, number=number, values=values,
                                       actor="cadre", today=TODAY)


def test_a_member_is_added_and_audited(loaded: Engine) -> None:
    added = _add(loaded, PEOPLE[1])
    with Session(loaded) as db:
        record = db.get(MemberRecord, added.id)
        assert record is not None and record.household.number == NUMBER
        (event,) = audit.history(db, entity="member", entity_id=str(added.id))
        assert event.action == "add"


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
        _add(loaded, PEOPLE[1], scope=Scope(OTHER_VILLAGE))


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
            edit(db, scope=EVERYTHING, number=NUMBER, member_id=_member_id(loaded, child),
                 expected_version=1, changes=changes, actor="a", today=TODAY)
        assert [p.column for p in caught.value.problems] == [column]
    with session_factory(loaded)() as db, db.begin():
        edit(db, scope=EVERYTHING, number=NUMBER, member_id=_member_id(loaded, TAKEN),
             expected_version=1, changes={"name": "户主甲"}, actor="a", today=TODAY)
    with session_factory(loaded)() as db, db.begin(), pytest.raises(StaleVersion) as stale:
        edit(db, scope=EVERYTHING, number=NUMBER, member_id=_member_id(loaded, TAKEN),
             expected_version=1, changes={"name": "户主乙"}, actor="b", today=TODAY)
    assert stale.value.current["name"] == "户主甲"


def test_a_member_is_found_only_through_its_own_household(loaded: Engine) -> None:
    other = str(households(2)[1]["number"])
    with Session(loaded) as db, pytest.raises(NotFound):
        registration.member(db, scope=EVERYTHING, number=other,
                            member_id=_member_id(loaded, TAKEN))


def _enter(engine: Engine, year: int, values: Mapping[str, str | None],
           seen: dict[str, str] | None) -> SurveyRecord:
    with session_factory(engine)() as db, db.begin():
        return registration.enter_survey(db, scope=EVERYTHING, number=NUMBER, year=year,
                                         values=values, seen=seen, actor="cadre", today=TODAY)


def _seen(engine: Engine, year: int) -> dict[str, str]:
    with Session(engine) as db:
        stored = registration.survey(db, scope=EVERYTHING, number=NUMBER, year=year)["survey"]
    return {k: as_text(v) for k, v in (stored or dict.fromkeys(registration.SURVEY_FIELDS)).items()}


def test_a_new_years_survey_is_entered_and_audited(loaded: Engine) -> None:
    _enter(loaded, 2025, SURVEY, _seen(loaded, 2025))
    with Session(loaded) as db:
        found = registration.survey(db, scope=EVERYTHING, number=NUMBER, year=2025)
        assert found["survey"]["wage_income"] == 5000.0
        assert found["survey"]["food_secure"] is True and found["living_members"] == 2
        (event,) = audit.history(db, entity="survey", entity_id=f"{NUMBER}/2025")
        assert event.action == "add"


def test_a_survey_is_corrected_unless_it_changed_since_the_form_showed_it(
        loaded: Engine) -> None:
    opened = _seen(loaded, 2019)
    _enter(loaded, 2019, {**opened, "wage_income": "4500"}, opened)
    with pytest.raises(StaleVersion) as caught:
        _enter(loaded, 2019, {**opened, "wage_income": "3600"}, opened)
    assert caught.value.current["wage_income"] == 4500.0
    with Session(loaded) as db:
        assert [e.action for e in audit.history(db, entity="survey",
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
        assert registration.survey(db, scope=EVERYTHING, number=NUMBER,
                                   year=year)["survey"] is None


def test_a_survey_of_a_household_outside_the_scope_is_not_found(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin(), pytest.raises(NotFound):
        registration.enter_survey(db, scope=Scope(OTHER_VILLAGE), number=NUMBER, year=2025,
                                  values=SURVEY, seen=None, actor="a", today=TODAY)
