"""Editing households and members: importer rules, optimistic locking, audited."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import OTHER_VILLAGE, VILLAGE, households, registry_files
from tuopin.domain.errors import Conflict, NotFound, ValidationFailed
from tuopin.domain.scope import EVERYTHING, Scope
from tuopin.io.schema import Kind
from tuopin.services import audit
from tuopin.services.imports.files import import_file
from tuopin.services.registry.households import StaleVersion, edit_household, edit_member
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import HouseholdRecord, MemberRecord

TODAY = date(2026, 11, 29)
NUMBER = str(households(1)[0]["number"])


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    files = registry_files(tmp_path)
    for kind in Kind:
        assert import_file(engine, kind=kind, path=files[kind.value], actor="t", today=TODAY).ok
    return engine


def test_an_edit_is_saved_versioned_and_audited(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin():
        record = edit_household(db, scope=EVERYTHING, number=NUMBER, expected_version=1,
                                changes={"status": "已脱贫户", "year_exited": "2020"},
                                actor="cadre", today=TODAY)
        assert (record.status, record.year_exited, record.version) == ("exited", 2020, 2)
    with Session(loaded) as db:
        (event,) = audit.history(db, entity="household", entity_id=NUMBER)
        assert '"status":"poor"' in (event.before or "")
        assert '"status":"exited"' in (event.after or "")
        assert audit.verify(db).ok


def test_a_stale_version_is_refused_with_what_is_stored(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin():
        edit_household(db, scope=EVERYTHING, number=NUMBER, expected_version=1,
                       changes={"address": "一组1号"}, actor="a", today=TODAY)
    with session_factory(loaded)() as db, db.begin(), pytest.raises(StaleVersion) as caught:
        edit_household(db, scope=EVERYTHING, number=NUMBER, expected_version=1,
                       changes={"address": "二组2号"}, actor="b", today=TODAY)
    assert caught.value.current["address"] == "一组1号"


def test_an_invalid_value_is_refused_naming_the_field(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin(), pytest.raises(ValidationFailed) as caught:
        edit_household(db, scope=EVERYTHING, number=NUMBER, expected_version=1,
                       changes={"year_identified": "2019", "year_exited": "2016"},
                       actor="a", today=TODAY)
    assert [p.column for p in caught.value.problems] == ["year_exited"]


def test_a_household_outside_the_scope_is_not_found(loaded: Engine) -> None:
    with session_factory(loaded)() as db, db.begin(), pytest.raises(NotFound):
        edit_household(db, scope=Scope(OTHER_VILLAGE), number=NUMBER, expected_version=1,
                       changes={"address": "x"}, actor="a", today=TODAY)


def test_a_member_edit_keeps_the_id_number_rules(loaded: Engine) -> None:
    with Session(loaded) as db:
        member = db.scalars(select(MemberRecord).where(MemberRecord.relation == "head")).first()
        assert member is not None
        member_id = member.id
    with session_factory(loaded)() as db, db.begin(), pytest.raises(ValidationFailed) as caught:
        edit_member(db, scope=Scope(VILLAGE), member_id=member_id, expected_version=1,
                    changes={"sex": "女"}, actor="a", today=TODAY)
    assert [p.column for p in caught.value.problems] == ["sex"]
    with session_factory(loaded)() as db, db.begin():
        saved = edit_member(db, scope=Scope(VILLAGE), member_id=member_id, expected_version=1,
                            changes={"health": "长期慢性病"}, actor="a", today=TODAY)
        assert (saved.health, saved.version) == ("chronic", 2)


@pytest.mark.postgres
def test_two_connections_saving_the_same_household_never_lose_an_update(
    pg_url: str, tmp_path: Path
) -> None:
    engine = make_engine(pg_url)
    files = registry_files(tmp_path)
    for kind in Kind:
        import_file(engine, kind=kind, path=files[kind.value], actor="t", today=TODAY)
    first, second = session_factory(engine)(), session_factory(engine)()
    try:
        second.begin()
        seen = second.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == NUMBER)).one()  # loaded at version 1
        assert seen.version == 1
        with first.begin():
            edit_household(first, scope=EVERYTHING, number=NUMBER, expected_version=1,
                           changes={"address": "first"}, actor="a", today=TODAY)
        with pytest.raises(Conflict):
            edit_household(second, scope=EVERYTHING, number=NUMBER, expected_version=1,
                           changes={"address": "second"}, actor="b", today=TODAY)
        second.rollback()
    finally:
        first.close()
        second.close()
    with Session(engine) as db:
        stored = db.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == NUMBER)).one()
        assert (stored.address, stored.version) == ("first", 2)
    engine.dispose()
