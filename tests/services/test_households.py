"""Editing households and members: importer rules, optimistic locking, audited; a household's
status and its years change only through the procedures, never by an edit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import OPERATOR, OTHER_VILLAGE, VILLAGE, households, operator, registry_files
from tuopin.domain.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from tuopin.io.schema import REGISTRY_KINDS
from tuopin.services import audit
from tuopin.services.imports.files import import_file
from tuopin.services.registry.households import BY_PROCEDURE, edit_household
from tuopin.services.registry.registration import edit_member
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import AuditEventRecord, HouseholdRecord, MemberRecord

TODAY = date(2026, 11, 29)
NUMBER = str(households(1)[0]["number"])


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    files = registry_files(tmp_path)
    for kind in REGISTRY_KINDS:
        assert import_file(engine, principal=OPERATOR, kind=kind, path=files[kind.value],
                           today=TODAY).ok
    return engine


def stored(engine: Engine) -> tuple[object, ...]:
    """The household NUMBER as stored, and how many audit events there are."""
    with Session(engine) as db:
        home = db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == NUMBER)).one()
        events = len(db.scalars(select(AuditEventRecord.id)).all())
        return (home.status, home.year_identified, home.year_exited, home.address,
                home.version, events)


def test_an_edit_is_saved_versioned_and_audited(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin():
        saved = edit_household(db, principal=operator("cadre"), number=NUMBER,
                                expected_version=1,
                                changes={"address": "一组1号", "main_cause": "缺技术"},
                                today=TODAY)
        assert (saved["address"], saved["main_cause"], saved["version"]) == (
            "一组1号", "skills", 2)
    with Session(loaded) as db:
        (event,) = audit.history(db, principal=OPERATOR, entity="household", entity_id=NUMBER)
        assert event["actor"] == "cadre"
        assert '"main_cause":"illness"' in (event["before"] or "")
        assert '"main_cause":"skills"' in (event["after"] or "")
        assert '"address":"一组1号"' in (event["after"] or "")
        assert audit.verify(db, principal=OPERATOR).ok


def test_a_stale_version_is_refused_with_what_is_stored(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin():
        edit_household(db, principal=operator("a"), number=NUMBER, expected_version=1,
                       changes={"address": "一组1号"}, today=TODAY)
    before = stored(loaded)
    with session_factory(loaded)() as db, db.begin(), pytest.raises(StaleVersion) as caught:
        edit_household(db, principal=operator("b"), number=NUMBER, expected_version=1,
                       changes={"address": "二组2号"}, today=TODAY)
    assert caught.value.current["address"] == "一组1号"
    assert stored(loaded) == before


@pytest.mark.parametrize(("changes", "column"), [
    ({"year_identified": "2019", "year_exited": "2016"}, "year_exited"),  # exit before entry
    ({"main_cause": "没有这个原因"}, "main_cause"),
    ({"phone": "12"}, "phone"),
])
def test_an_invalid_value_is_refused_naming_the_field(
        loaded: Engine, changes: dict[str, str], column: str) -> None:
    before = stored(loaded)
    with session_factory(loaded)() as db, db.begin(), pytest.raises(ValidationFailed) as caught:
        edit_household(db, principal=operator("a"), number=NUMBER, expected_version=1,
                       changes=changes, today=TODAY)
    assert [p.column for p in caught.value.problems] == [column]
    assert stored(loaded) == before


@pytest.mark.parametrize(("changes", "column"), [
    ({"status": "已脱贫户"}, "status"),
    ({"status": "monitored"}, "status"),
    ({"year_identified": "2016"}, "year_identified"),
    ({"year_exited": "2020"}, "year_exited"),
])
def test_it_refuses_an_edit_of_the_status_or_its_years_on_that_field_and_changes_nothing(
        loaded: Engine, changes: dict[str, str], column: str) -> None:
    before = stored(loaded)
    with session_factory(loaded)() as db, db.begin(), pytest.raises(ValidationFailed) as caught:
        edit_household(db, principal=operator("a"), number=NUMBER, expected_version=1,
                       changes={**changes, "address": "一组1号"}, today=TODAY)
    assert [(p.column, p.reason) for p in caught.value.problems] == [(column, BY_PROCEDURE)]
    assert stored(loaded) == before


def test_it_accepts_an_edit_that_repeats_the_stored_status(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin():
        saved = edit_household(db, principal=operator("a"), number=NUMBER, expected_version=1,
                               changes={"status": "贫困户", "address": "一组1号"}, today=TODAY)
    assert (saved["status"], saved["address"], saved["version"]) == ("poor", "一组1号", 2)


def test_a_household_outside_the_scope_is_not_found(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin(), pytest.raises(NotFound):
        edit_household(db, principal=operator("a", OTHER_VILLAGE), number=NUMBER,
                       expected_version=1, changes={"address": "x"}, today=TODAY)


def test_a_member_edit_keeps_the_id_number_rules(loaded: Engine) -> None:
    with Session(loaded) as db:
        member = db.scalars(select(MemberRecord).where(MemberRecord.relation == "head")).first()
        assert member is not None
        member_id, number = member.id, member.household.number
    with session_factory(loaded)() as db, db.begin(), pytest.raises(ValidationFailed) as caught:
        edit_member(db, principal=operator("a", VILLAGE), number=number, member_id=member_id,
                    expected_version=1, changes={"sex": "女"}, today=TODAY)
    assert [p.column for p in caught.value.problems] == ["sex"]
    with session_factory(loaded)() as db, db.begin():
        saved = edit_member(db, principal=operator("a", VILLAGE), number=number,
                            member_id=member_id, expected_version=1,
                            changes={"health": "长期慢性病"}, today=TODAY)
        assert (saved["health"], saved["version"]) == ("chronic", 2)


@pytest.mark.postgres
def test_two_connections_saving_the_same_household_never_lose_an_update(
    pg_url: str, tmp_path: Path
) -> None:
    engine = make_engine(pg_url)
    files = registry_files(tmp_path)
    for kind in REGISTRY_KINDS:
        import_file(engine, principal=OPERATOR, kind=kind, path=files[kind.value], today=TODAY)
    first, second = session_factory(engine)(), session_factory(engine)()
    try:
        second.begin()
        seen = second.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == NUMBER)).one()  # loaded at version 1
        assert seen.version == 1
        with first.begin():
            edit_household(first, principal=operator("a"), number=NUMBER, expected_version=1,
                           changes={"address": "first"}, today=TODAY)
        with pytest.raises(Conflict):
            edit_household(second, principal=operator("b"), number=NUMBER,
                           expected_version=1, changes={"address": "second"}, today=TODAY)
        second.rollback()
    finally:
        first.close()
        second.close()
    with Session(engine) as db:
        stored_now = db.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == NUMBER)).one()
        assert (stored_now.address, stored_now.version) == ("first", 2)
    engine.dispose()
