"""Who manages which accounts: an admin every one, a county officer those below them in the
county; nobody disables themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import COUNTY, OPERATOR, OTHER_VILLAGE, VILLAGE, operator, registry_files
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied, ValidationFailed
from tuopin.io.schema import Kind
from tuopin.services.access import sessions, users
from tuopin.services.access.principal import Principal
from tuopin.services.imports.files import import_file
from tuopin.storage.db import session_factory
from tuopin.storage.models import AuditEventRecord, RegionRecord

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long enough password"
OTHER_COUNTY, OTHER_COUNTY_VILLAGE = "621122000000", "621122001001"


@pytest.fixture
def db(engine: Engine, tmp_path: Path, today: Any) -> Iterator[Session]:
    """The test registry (county 621121), a second county with a village, and an admin."""
    for kind, path in registry_files(tmp_path).items():
        assert import_file(engine, principal=OPERATOR, kind=Kind(kind), path=path,
                           today=today).ok
    with session_factory(engine)() as session, session.begin():
        session.add_all([
            RegionRecord(code=OTHER_COUNTY, name="陇西县", level=3, parent_code="621100000000"),
            RegionRecord(code="621122001000", name="巩昌镇", level=4, parent_code=OTHER_COUNTY),
            RegionRecord(code=OTHER_COUNTY_VILLAGE, name="北关村", level=5,
                         parent_code="621122001000"),
        ])
        session.flush()
        yield session


def as_(db: Session, manager: users.User) -> Principal:
    """The principal ``manager`` acts as on the web."""
    return users.principal_of(db, user=manager)


def add(db: Session, username: str, role: Role, region: str | None,
        manager: users.User | None = None, **extra: Any) -> users.User:
    principal = as_(db, manager) if manager else operator("cli")
    return users.add(db, principal=principal, username=username, role=role,
                     region_code=region, password=PASSWORD, hasher=CHEAP, **extra)


@pytest.fixture
def officer(db: Session) -> users.User:
    return add(db, "zhaoliu", Role.COUNTY_OFFICER, COUNTY)


def test_a_county_officer_adds_a_village_cadre_of_the_county_audited_as_them(
        db: Session, officer: users.User) -> None:
    cadre = add(db, "lisi", Role.VILLAGE_CADRE, VILLAGE, manager=officer)
    assert (cadre.role, cadre.region_code) == (Role.VILLAGE_CADRE, VILLAGE)
    event = db.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "add",
                                                      AuditEventRecord.entity_id == "lisi")).one()
    assert event.actor == "web:zhaoliu"
    assert json.loads(event.after or "{}")["region_code"] == VILLAGE


@pytest.mark.parametrize(("role", "region"), [
    (Role.ADMIN, None),
    (Role.COUNTY_OFFICER, COUNTY),
    (Role.VILLAGE_CADRE, OTHER_COUNTY_VILLAGE),  # a village of another county
    (Role.AUDITOR, OTHER_COUNTY),
])
def test_a_county_officer_may_not_add_an_admin_a_peer_or_a_user_of_another_county(
        db: Session, officer: users.User, role: Role, region: str | None) -> None:
    with pytest.raises(PermissionDenied):
        add(db, "lisi", role, region, manager=officer)


def test_a_bad_region_is_refused_next_to_its_field_before_any_permission(
        db: Session, officer: users.User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        add(db, "lisi", Role.VILLAGE_CADRE, COUNTY, manager=officer)  # a county, not a village
    assert [p.column for p in refused.value.problems] == ["region_code"]
    assert "scoped to a village" in str(refused.value)


@pytest.mark.parametrize("role", [Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE, Role.HELPER,
                                  Role.VERIFIER, Role.AUDITOR])
def test_the_roles_below_may_not_manage_accounts(db: Session, role: Role) -> None:
    region = {Role.TOWNSHIP_OFFICER: "621121001000", Role.VILLAGE_CADRE: VILLAGE}.get(role, COUNTY)
    someone = add(db, "wangwu", role, region, helper_number="H001")
    add(db, "lisi", Role.VILLAGE_CADRE, VILLAGE)
    principal = as_(db, someone)
    with pytest.raises(PermissionDenied):
        add(db, "zhouqi", Role.VILLAGE_CADRE, VILLAGE, manager=someone)
    with pytest.raises(PermissionDenied):
        users.disable(db, principal=principal, username="lisi")
    with pytest.raises(PermissionDenied):
        users.reset_password(db, principal=principal, username="lisi", hasher=CHEAP)
    with pytest.raises(PermissionDenied):
        users.change(db, principal=principal, username="lisi", role=Role.AUDITOR,
                     region_code=COUNTY)
    with pytest.raises(PermissionDenied):
        users.accounts(db, principal=principal)
    with pytest.raises(PermissionDenied):
        users.region_choices(db, principal=principal)
    assert users.roles_for(principal) == []
    assert not users.may_manage(principal, role=Role.VILLAGE_CADRE, region_code=VILLAGE)
    assert [(u.username, u.active) for u in users.list_users(db, principal=OPERATOR)] == [
        ("lisi", True), ("wangwu", True)]


def test_a_county_officer_may_not_disable_or_reset_an_admin_or_a_peer(
        db: Session, officer: users.User) -> None:
    add(db, "root", Role.ADMIN, None)
    add(db, "peer", Role.COUNTY_OFFICER, COUNTY)
    principal = as_(db, officer)
    with pytest.raises(NotFound):  # outside the county, as the list does not show it
        users.disable(db, principal=principal, username="root")
    with pytest.raises(PermissionDenied):
        users.disable(db, principal=principal, username="peer")
    with pytest.raises(PermissionDenied):
        users.reset_password(db, principal=principal, username="peer", hasher=CHEAP)
    with pytest.raises(PermissionDenied):
        users.change(db, principal=principal, username="peer", role=Role.COUNTY_OFFICER,
                     region_code=COUNTY, display_name="同级")
    assert all(u.active for u in users.list_users(db, principal=OPERATOR))


def test_a_county_officer_may_not_touch_an_account_of_another_county(
        db: Session, officer: users.User) -> None:
    add(db, "far", Role.VILLAGE_CADRE, OTHER_COUNTY_VILLAGE)
    with pytest.raises(NotFound):
        users.reset_password(db, principal=as_(db, officer), username="far", hasher=CHEAP)
    with pytest.raises(NotFound):
        users.change(db, principal=as_(db, officer), username="far",
                     role=Role.VILLAGE_CADRE, region_code=VILLAGE)


def test_a_county_officer_disables_and_resets_a_cadre_of_the_county(
        db: Session, officer: users.User) -> None:
    cadre = add(db, "lisi", Role.VILLAGE_CADRE, VILLAGE)
    principal = as_(db, officer)
    limits, now = sessions.SessionLimits(), 1_000_000.0
    before_reset = sessions.start(db, user=cadre, address="10.0.0.1", now=now)
    new = users.reset_password(db, principal=principal, username="lisi", hasher=CHEAP)
    assert sessions.resume(db, token=before_reset, limits=limits, now=now) is None
    assert users.authenticate(db, username="lisi", password=new, hasher=CHEAP)
    before_disable = sessions.start(db, user=cadre, address="10.0.0.1", now=now)
    assert sessions.resume(db, token=before_disable, limits=limits, now=now) is not None
    assert not users.disable(db, principal=principal, username="lisi").active
    assert sessions.resume(db, token=before_disable, limits=limits, now=now) is None
    actors = {e.action: e.actor for e in db.scalars(
        select(AuditEventRecord).where(AuditEventRecord.entity_id == "lisi"))}
    assert actors["disable"] == actors["reset_password"] == "web:zhaoliu"


def test_a_county_officer_moves_a_cadre_within_the_county_and_ends_their_sessions(
        db: Session, officer: users.User) -> None:
    cadre = add(db, "lisi", Role.VILLAGE_CADRE, VILLAGE)
    limits, now = sessions.SessionLimits(), 1_000_000.0
    token = sessions.start(db, user=cadre, address="10.0.0.1", now=now)
    moved = users.change(db, principal=as_(db, officer), username="lisi",
                         role=Role.VILLAGE_CADRE, region_code=OTHER_VILLAGE)
    assert moved.region_code == OTHER_VILLAGE
    assert sessions.resume(db, token=token, limits=limits, now=now) is None
    with pytest.raises(PermissionDenied):  # nor may they make anyone their peer
        users.change(db, principal=as_(db, officer), username="lisi",
                     role=Role.COUNTY_OFFICER, region_code=COUNTY)
    event = db.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "change")).one()
    assert event.actor == "web:zhaoliu"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COUNTY_OFFICER])
def test_nobody_disables_themselves(db: Session, role: Role) -> None:
    me = add(db, "myself", role, COUNTY if role is Role.COUNTY_OFFICER else None)
    with pytest.raises(PermissionDenied):
        users.disable(db, principal=as_(db, me), username="myself")
    assert users.get_active(db, user_id=me.id) is not None


@pytest.mark.parametrize("role", [Role.ADMIN, Role.COUNTY_OFFICER])
def test_nobody_changes_their_own_role_or_region(db: Session, role: Role) -> None:
    me = add(db, "myself", role, COUNTY if role is Role.COUNTY_OFFICER else None)
    with pytest.raises(PermissionDenied):
        users.change(db, principal=as_(db, me), username="myself", role=Role.AUDITOR,
                     region_code=COUNTY)
    assert users.get_active(db, user_id=me.id) == me


def test_the_list_of_a_county_officer_holds_only_their_county_and_says_what_they_may_do(
        db: Session, officer: users.User) -> None:
    add(db, "root", Role.ADMIN, None)
    add(db, "lisi", Role.VILLAGE_CADRE, VILLAGE)
    add(db, "zhou", Role.VILLAGE_CADRE, OTHER_VILLAGE)
    add(db, "far", Role.VILLAGE_CADRE, OTHER_COUNTY_VILLAGE)
    rows = {str(r["username"]): r for r in users.accounts(db, principal=as_(db, officer))}
    assert set(rows) == {"lisi", "zhou", "zhaoliu"}
    assert rows["lisi"]["may_change"] and rows["lisi"]["region_name"] == "东关村"
    assert not rows["zhaoliu"]["may_change"] and rows["zhaoliu"]["is_self"]
    root = add(db, "root2", Role.ADMIN, None)
    assert {r["username"] for r in users.accounts(db, principal=as_(db, root))} >= {
        "far", "root"}


def test_the_choices_of_a_county_officer_are_the_roles_below_and_the_regions_of_the_county(
        db: Session, officer: users.User) -> None:
    principal = as_(db, officer)
    assert Role.ADMIN not in users.roles_for(principal)
    assert Role.COUNTY_OFFICER not in users.roles_for(principal)
    assert users.roles_for(OPERATOR) == list(Role)
    codes = [r["code"] for r in users.region_choices(db, principal=principal) or []]
    assert VILLAGE in codes and OTHER_COUNTY_VILLAGE not in codes
    assert all(code.startswith("621121") for code in codes)
