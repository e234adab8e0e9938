"""Accounts: argon2id hashes, validation, logins, disabling, resets, changes, the sessions
they end, principals, reveals, demo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import COUNTY, OPERATOR, OTHER_VILLAGE, VILLAGE, operator, registry_files, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.io.schema import Kind
from tuopin.services import audit
from tuopin.services.access import demo_accounts, masking, sessions, users
from tuopin.services.imports.files import import_file
from tuopin.storage.db import session_factory
from tuopin.storage.models import AuditEventRecord, UserRecord

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "a long enough password"
TOWNSHIP = "621121001000"
ADMIN = operator("admin")
LIMITS = sessions.SessionLimits()
NOW = 1_000_000.0


@pytest.fixture
def db(engine: Engine, tmp_path: Path, today: Any) -> Iterator[Session]:
    """A session on a store holding three households of VILLAGE and helper H001."""
    for kind, path in registry_files(tmp_path).items():
        assert import_file(engine, principal=OPERATOR, kind=Kind(kind), path=path,
                           today=today).ok
    with session_factory(engine)() as session, session.begin():
        yield session


def add(db: Session, username: str = "lisi", role: Role = Role.VILLAGE_CADRE,
        region: str | None = VILLAGE, **extra: Any) -> users.User:
    return users.add(db, principal=ADMIN, username=username, role=role, region_code=region,
                     password=PASSWORD, hasher=CHEAP, **extra)


def events(db: Session, action: str) -> list[AuditEventRecord]:
    return list(db.scalars(select(AuditEventRecord).where(AuditEventRecord.action == action)))


def test_a_new_user_gets_an_argon2id_hash_and_an_audit_event_without_it(db: Session) -> None:
    user = add(db, display_name="李村干部")
    stored = db.scalars(select(UserRecord)).one()
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    assert (user.username, user.role, user.region_code, user.active) == (
        "lisi", Role.VILLAGE_CADRE, VILLAGE, True)
    event = events(db, "add")[0]
    assert (event.entity_id, event.actor) == ("lisi", "admin")
    assert "$argon2" not in (event.after or "")
    assert json.loads(event.after or "{}")["display_name"] == "李村干部"


@pytest.mark.parametrize(("changes", "message"), [
    ({"username": "Li Si"}, "username"),
    ({"username": "ab"}, "username"),
    ({"password": "short"}, "at least"),
    ({"region": None}, "needs a region"),
    ({"region": "621121009009"}, "not in the registry"),
    ({"region": TOWNSHIP}, "scoped to a village"),
    ({"role": Role.TOWNSHIP_OFFICER}, "scoped to a township"),
    ({"role": Role.COUNTY_OFFICER, "region": TOWNSHIP}, "scoped to a county"),
    ({"role": Role.HELPER}, "names its helper"),
    ({"role": Role.HELPER, "helper_number": "H999"}, "H999"),
])
def test_a_bad_account_is_refused_with_the_reason(db: Session, changes: dict[str, Any],
                                                  message: str) -> None:
    values: dict[str, Any] = {"username": "lisi", "role": Role.VILLAGE_CADRE, "region": VILLAGE,
                              "password": PASSWORD, **changes}
    with pytest.raises(ValidationFailed, match=message):
        users.add(db, principal=ADMIN, username=values.pop("username"), role=values.pop("role"),
                  region_code=values.pop("region"), password=values.pop("password"),
                  hasher=CHEAP, **values)


def test_a_username_is_taken_once(db: Session) -> None:
    add(db)
    with pytest.raises(Conflict):
        add(db)


def test_an_admin_needs_no_region_and_sees_everything(db: Session) -> None:
    admin = add(db, "root", Role.ADMIN, None)
    assert users.principal_of(db, user=admin).scope == Scope()


@pytest.mark.parametrize(("username", "password", "ok"), [
    ("lisi", PASSWORD, True), ("lisi", "a wrong password", False), ("wangwu", PASSWORD, False),
])
def test_authenticate_accepts_only_the_right_password(db: Session, username: str,
                                                      password: str, ok: bool) -> None:
    add(db)
    found = users.authenticate(db, username=username, password=password, hasher=CHEAP)
    assert (found is not None) is ok
    logins = events(db, "login" if ok else "login_failed")
    assert len(logins) == (0 if username == "wangwu" else 1)  # unknown names leave no trace


def test_a_disabled_user_is_refused_even_with_the_right_password(db: Session) -> None:
    add(db)
    users.disable(db, principal=ADMIN, username="lisi")
    assert users.authenticate(db, username="lisi", password=PASSWORD, hasher=CHEAP) is None
    assert users.get_active(db, user_id=db.scalars(select(UserRecord.id)).one()) is None
    assert [e.action for e in events(db, "disable")] == ["disable"]


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_login(db: Session) -> None:
    add(db)
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert users.authenticate(db, username="lisi", password=PASSWORD, hasher=stronger)
    assert "t=2" in db.scalars(select(UserRecord.password_hash)).one()


def test_a_reset_changes_the_stamp_that_sessions_carry(db: Session) -> None:
    before = add(db)
    new = users.reset_password(db, principal=ADMIN, username="lisi", hasher=CHEAP)
    assert len(new) >= 16
    after = users.authenticate(db, username="lisi", password=new, hasher=CHEAP)
    assert after is not None and after.stamp != before.stamp
    assert users.authenticate(db, username="lisi", password=PASSWORD, hasher=CHEAP) is None
    assert new not in "".join(e.after or "" for e in events(db, "reset_password"))


def test_unknown_users_cannot_be_disabled_or_reset(db: Session) -> None:
    with pytest.raises(NotFound):
        users.disable(db, principal=ADMIN, username="nobody")
    with pytest.raises(NotFound):
        users.reset_password(db, principal=ADMIN, username="nobody", hasher=CHEAP)
    with pytest.raises(NotFound):
        users.change(db, principal=ADMIN, username="nobody", role=Role.VILLAGE_CADRE,
                     region_code=VILLAGE)


def test_the_list_holds_the_accounts_inside_a_region(db: Session) -> None:
    add(db, "lisi")
    add(db, "zhaoliu", Role.COUNTY_OFFICER, COUNTY)
    add(db, "root", Role.ADMIN, None)
    assert [u.username for u in users.list_users(db, principal=ADMIN)] == [
        "lisi", "root", "zhaoliu"]
    assert [u.username for u in users.list_users(db, principal=operator("admin", VILLAGE))] == [
        "lisi"]


def test_a_helper_sees_only_the_households_assigned_to_them(db: Session) -> None:
    helper = add(db, "wangwu", Role.HELPER, COUNTY, helper_number="H001")
    principal = users.principal_of(db, user=helper)
    assert principal.households == {f"{VILLAGE}{i:04d}" for i in (1, 2, 3)}
    assert principal.sees(f"{VILLAGE}0001") and not principal.sees(f"{OTHER_VILLAGE}0001")
    assert (principal.actor, principal.role, principal.helper_id) == (
        "web:wangwu", Role.HELPER, helper.helper_id)


def test_a_reveal_returns_the_value_and_audits_only_the_field(db: Session) -> None:
    cadre = add(db)
    number = f"{VILLAGE}0001"
    value = masking.reveal(db, principal=users.principal_of(db, user=cadre), number=number,
                           field="id_number", member_id=1)
    assert len(value) == 18
    event = events(db, "reveal")[0]
    assert (event.actor, event.entity, event.entity_id) == ("web:lisi", "member", "1")
    assert value not in (event.after or "")
    assert audit.verify(db, principal=OPERATOR).ok


def test_an_auditor_may_not_reveal(db: Session) -> None:
    auditor = add(db, "shenba", Role.AUDITOR, COUNTY)
    with pytest.raises(PermissionDenied):
        masking.reveal(db, principal=users.principal_of(db, user=auditor),
                       number=f"{VILLAGE}0001", field="phone")


def test_a_household_outside_the_region_cannot_be_revealed(db: Session) -> None:
    other = add(db, "zhouqi", Role.VILLAGE_CADRE, OTHER_VILLAGE)
    with pytest.raises(NotFound):
        masking.reveal(db, principal=users.principal_of(db, user=other),
                       number=f"{VILLAGE}0001", field="phone")


def test_the_demo_makes_one_account_per_role_once(db: Session) -> None:
    first = demo_accounts.create_demo(db, principal=operator("make run"), county=COUNTY,
                                      hasher=CHEAP)
    assert {a.user.role for a in first} == set(Role)
    assert all(a.password and len(a.password) >= 16 for a in first)
    regions = {a.user.role: a.user.region_code for a in first}
    assert (regions[Role.VILLAGE_CADRE], regions[Role.TOWNSHIP_OFFICER], regions[Role.ADMIN]) == (
        VILLAGE, TOWNSHIP, None)
    helper = next(a.user for a in first if a.user.role is Role.HELPER)
    assert users.principal_of(db, user=helper).households
    again = demo_accounts.create_demo(db, principal=operator("make run"),
                                      hasher=CHEAP)  # the first county
    assert [a.password for a in again] == [None] * len(Role)


def test_the_demo_needs_a_county_with_households(db: Session) -> None:
    with pytest.raises(ValidationFailed):
        demo_accounts.create_demo(db, principal=OPERATOR, county=VILLAGE, hasher=CHEAP)
    with pytest.raises(NotFound):
        demo_accounts.create_demo(db, principal=OPERATOR, county="621122", hasher=CHEAP)


def logged_in(db: Session, account: users.User, times: int = 2) -> list[str]:
    """``times`` sessions of ``account`` (two browsers), each resumable now."""
    tokens = [sessions.start(db, user=account, address="10.0.0.1", now=NOW)
              for _ in range(times)]
    assert all(sessions.resume(db, token=t, limits=LIMITS, now=NOW + 1) for t in tokens)
    return tokens


def live(db: Session, tokens: list[str]) -> list[bool]:
    return [sessions.resume(db, token=t, limits=LIMITS, now=NOW + 1) is not None
            for t in tokens]


ENDING: dict[str, Any] = {
    "a disabled account": lambda db: users.disable(db, principal=ADMIN, username="lisi"),
    "a password reset": lambda db: users.reset_password(db, principal=ADMIN, username="lisi",
                                                        hasher=CHEAP),
    "another role": lambda db: users.change(db, principal=ADMIN, username="lisi",
                                            role=Role.AUDITOR, region_code=COUNTY),
    "another region": lambda db: users.change(db, principal=ADMIN, username="lisi",
                                              role=Role.VILLAGE_CADRE,
                                              region_code=OTHER_VILLAGE),
    "another helper": lambda db: users.change(db, principal=ADMIN, username="lisi",
                                              role=Role.HELPER, region_code=COUNTY,
                                              helper_number="H001"),
}


@pytest.mark.parametrize("what", list(ENDING), ids=list(ENDING))
def test_it_ends_every_session_of_an_account_whose_reach_or_password_changes(
        db: Session, what: str) -> None:
    account = add(db)
    others = logged_in(db, add(db, "zhaoliu", Role.COUNTY_OFFICER, COUNTY), 1)
    tokens = logged_in(db, account)
    ENDING[what](db)
    assert live(db, tokens) == [False, False]
    assert live(db, others) == [True]  # another account's sessions go on


def test_a_change_of_the_display_name_alone_keeps_the_sessions(db: Session) -> None:
    account = add(db)
    tokens = logged_in(db, account)
    changed = users.change(db, principal=ADMIN, username="lisi", role=Role.VILLAGE_CADRE,
                           region_code=VILLAGE, display_name="李四")
    assert changed.display_name == "李四"
    assert live(db, tokens) == [True, True]
    (event,) = events(db, "change")
    assert (event.actor, event.entity_id) == ("admin", "lisi")


def test_a_change_is_audited_with_what_it_was_and_what_it_is(db: Session) -> None:
    add(db)
    changed = users.change(db, principal=ADMIN, username="lisi", role=Role.TOWNSHIP_OFFICER,
                           region_code=TOWNSHIP)
    assert (changed.role, changed.region_code) == (Role.TOWNSHIP_OFFICER, TOWNSHIP)
    (event,) = events(db, "change")
    assert json.loads(event.before or "{}")["region_code"] == VILLAGE
    assert json.loads(event.after or "{}")["role"] == Role.TOWNSHIP_OFFICER.value


@pytest.mark.parametrize("role", [Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE, Role.HELPER,
                                  Role.VERIFIER, Role.AUDITOR])
def test_a_principal_without_the_right_to_manage_users_is_refused_and_nothing_ends(
        db: Session, role: Role) -> None:
    tokens = logged_in(db, add(db))
    principal = user(role, COUNTY, username="someone")
    refusals = [
        lambda: users.add(db, principal=principal, username="zhouqi", role=Role.VILLAGE_CADRE,
                          region_code=VILLAGE, password=PASSWORD, hasher=CHEAP),
        lambda: users.disable(db, principal=principal, username="lisi"),
        lambda: users.reset_password(db, principal=principal, username="lisi", hasher=CHEAP),
        lambda: users.change(db, principal=principal, username="lisi", role=Role.AUDITOR,
                             region_code=COUNTY),
        lambda: users.list_users(db, principal=principal),
    ]
    for refused in refusals:
        with pytest.raises(PermissionDenied):
            refused()
    assert live(db, tokens) == [True, True]
    assert [u.username for u in users.list_users(db, principal=ADMIN)] == ["lisi"]
    assert events(db, "disable") == events(db, "reset_password") == events(db, "change") == []
