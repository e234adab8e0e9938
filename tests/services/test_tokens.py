"""API tokens: a secret shown once and stored as a hash, expiring, revoked, refused alike for
a disabled account; made for oneself, or by a manager for an account they manage; the last
use written at most once a minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import COUNTY, OTHER_VILLAGE, VILLAGE, operator
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied, ValidationFailed
from tuopin.services.access import tokens, users
from tuopin.services.access.principal import Principal
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import ApiTokenRecord, AuditEventRecord, RegionRecord, UserRecord

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
OTHER_COUNTY = "621122000000"
REGIONS = [("620000000000", "甘肃省", 1, None), ("621100000000", "定西市", 2, "620000000000"),
           ("621121000000", "通渭县", 3, "621100000000"),
           ("621121001000", "平襄镇", 4, "621121000000"), (VILLAGE, "东关村", 5, "621121001000"),
           ("621121002000", "义岗镇", 4, "621121000000"),
           (OTHER_VILLAGE, "新景村", 5, "621121002000"),
           (OTHER_COUNTY, "陇西县", 3, "621100000000")]
ACCOUNTS = {"officer": (Role.COUNTY_OFFICER, COUNTY), "officer2": (Role.COUNTY_OFFICER, COUNTY),
            "outsider": (Role.COUNTY_OFFICER, OTHER_COUNTY),
            "cadre": (Role.VILLAGE_CADRE, VILLAGE), "cadre2": (Role.VILLAGE_CADRE, VILLAGE),
            "other-cadre": (Role.VILLAGE_CADRE, OTHER_VILLAGE), "admin": (Role.ADMIN, None)}


def at(seconds: float) -> tokens.Clock:
    return lambda: T0 + timedelta(seconds=seconds)


def _world(engine: Engine) -> Iterator[Session]:
    """The regions of a county (and of a second one) and an account of each kind."""
    with session_factory(engine)() as session, session.begin():
        for code, name, level, parent in REGIONS:
            session.add(RegionRecord(code=code, name=name, level=level, parent_code=parent))
            session.flush()
        for name, (role, region) in ACCOUNTS.items():
            users.add(session, principal=operator(), username=name, role=role,
                      region_code=region, password="a long enough password", hasher=CHEAP)
        yield session


@pytest.fixture
def db(sqlite_url: str) -> Iterator[Session]:
    """The world on SQLite: the rules do not depend on the engine."""
    engine = make_engine(sqlite_url)
    yield from _world(engine)
    engine.dispose()


@pytest.fixture
def any_db(engine: Engine) -> Iterator[Session]:
    """The world on SQLite and PostgreSQL: for what compares stored times."""
    yield from _world(engine)


def as_(db: Session, username: str) -> Principal:
    """The principal of ``username`` on the web."""
    found = db.scalars(select(UserRecord).where(UserRecord.username == username)).one()
    user = users.get_active(db, user_id=found.id)
    assert user is not None
    return users.principal_of(db, user=user)


START = at(0)


def make(db: Session, owner: str = "cadre", days: int | None = None,
         clock: tokens.Clock = START) -> tuple[str, tokens.Token]:
    return tokens.create(db, principal=as_(db, owner), name="低保对接", expires_days=days,
                         clock=clock)


def test_a_new_token_authenticates_as_its_account_with_its_role_and_region(
        db: Session) -> None:
    secret, token = make(db)
    assert secret.startswith("tp_") and len(secret) >= 43 and secret.startswith(token.prefix)
    assert (token.username, token.kind, token.created_by) == ("cadre", "personal", "web:cadre")
    found = tokens.authenticate(db, secret=secret, clock=at(1))
    assert found is not None and found.token_id == token.id and found.stale
    principal = users.principal_of(db, user=found.user, via="api")
    assert (principal.role, principal.scope.region_code) == (Role.VILLAGE_CADRE, VILLAGE)


def test_only_a_hash_of_the_secret_is_kept_in_the_store_and_the_audit_trail(
        db: Session) -> None:
    secret, token = make(db)
    tokens.revoke(db, principal=as_(db, "cadre"), token_id=token.id, clock=at(5))
    record = db.get(ApiTokenRecord, token.id)
    assert record is not None and record.secret_hash == tokens._hash(secret)
    stored = [str(getattr(record, c.key)) for c in ApiTokenRecord.__table__.columns]
    events = db.scalars(select(AuditEventRecord)
                        .where(AuditEventRecord.entity == "api_token")).all()
    assert [e.action for e in events] == ["add", "revoke"]
    trail = [str(getattr(e, c.key)) for e in events for c in AuditEventRecord.__table__.columns]
    assert not [v for v in stored + trail if secret in v or secret[10:30] in v]


@pytest.mark.parametrize("secret", [None, "", "tp_wrong", "no-prefix", "tp_" + "a" * 200])
def test_a_wrong_or_missing_secret_authenticates_nobody(db: Session,
                                                        secret: str | None) -> None:
    make(db)
    assert tokens.authenticate(db, secret=secret) is None


def test_a_token_expires_after_its_days(any_db: Session) -> None:
    db = any_db
    secret, token = make(db, days=1)
    assert token.expires_at == "2026-11-30T08:00:00Z"
    assert tokens.authenticate(db, secret=secret, clock=at(86_399)) is not None
    assert tokens.authenticate(db, secret=secret, clock=at(86_400)) is None
    assert not token.active_at("2026-11-30T08:00:00Z")


def test_a_token_without_days_does_not_expire(db: Session) -> None:
    secret, token = make(db)
    assert token.expires_at is None
    assert tokens.authenticate(db, secret=secret, clock=at(10 * 365 * 86_400)) is not None


def test_a_revoked_token_is_refused_and_revoking_again_changes_nothing(db: Session) -> None:
    secret, token = make(db)
    first = tokens.revoke(db, principal=as_(db, "cadre"), token_id=token.id, clock=at(5))
    again = tokens.revoke(db, principal=as_(db, "cadre"), token_id=token.id, clock=at(9))
    assert first.revoked_at == again.revoked_at == "2026-11-29T08:00:05Z"
    assert tokens.authenticate(db, secret=secret, clock=at(6)) is None
    assert [t.revoked_at for t in tokens.list_tokens(db, principal=as_(db, "cadre"))] == [
        "2026-11-29T08:00:05Z"]


def test_a_disabled_account_authenticates_nobody_and_gets_no_new_token(db: Session) -> None:
    secret, _ = make(db)
    users.disable(db, principal=operator(), username="cadre")
    assert tokens.authenticate(db, secret=secret) is None
    with pytest.raises(ValidationFailed, match="disabled"):
        tokens.create(db, principal=operator(), username="cadre", name="x")


def test_a_county_officer_makes_a_service_token_for_an_account_they_manage(
        db: Session) -> None:
    secret, token = tokens.create(db, principal=as_(db, "officer"), username="cadre",
                                  name="教育局学籍", clock=at(0))
    assert (token.username, token.kind, token.created_by) == ("cadre", "service", "web:officer")
    found = tokens.authenticate(db, secret=secret, clock=at(1))
    assert found is not None and found.user.username == "cadre"  # the cadre's rights only
    assert [t.id for t in tokens.list_tokens(db, principal=as_(db, "officer"),
                                             username="cadre")] == [token.id]
    assert tokens.revoke(db, principal=as_(db, "officer"), token_id=token.id).revoked_at


@pytest.mark.parametrize(("manager", "account", "error"), [
    ("officer", "admin", NotFound),  # above a county officer, and in no county
    ("officer", "officer2", PermissionDenied),  # in the county, but not below them
    ("outsider", "cadre", NotFound),  # another county's account: not said to exist
    ("cadre", "cadre2", PermissionDenied),  # the same village: a cadre manages nobody
    ("cadre", "other-cadre", NotFound),
])
def test_nobody_makes_or_lists_a_token_of_an_account_they_do_not_manage(
        db: Session, manager: str, account: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        tokens.create(db, principal=as_(db, manager), username=account, name="x")
    with pytest.raises(error):
        tokens.list_tokens(db, principal=as_(db, manager), username=account)
    assert db.scalars(select(ApiTokenRecord)).all() == []


@pytest.mark.parametrize("stranger", ["cadre2", "other-cadre", "outsider", "officer2"])
def test_nobody_revokes_a_token_of_an_account_they_do_not_manage(db: Session,
                                                                  stranger: str) -> None:
    secret, token = make(db, owner="officer")
    with pytest.raises(NotFound):
        tokens.revoke(db, principal=as_(db, stranger), token_id=token.id)
    assert tokens.authenticate(db, secret=secret) is not None


def test_one_lists_only_ones_own_tokens_newest_first(db: Session) -> None:
    _, first = make(db)
    _, second = make(db)
    make(db, owner="cadre2")
    assert [t.id for t in tokens.list_tokens(db, principal=as_(db, "cadre"))] == [
        second.id, first.id]


def test_an_operator_names_the_account(db: Session) -> None:
    with pytest.raises(NotFound, match="name one"):
        tokens.create(db, principal=operator(), name="x")
    _, token = tokens.create(db, principal=operator("cli:ops"), username="admin", name="x")
    assert (token.kind, token.created_by) == ("service", "cli:ops")


@pytest.mark.parametrize(("name", "days"), [
    ("", None), ("   ", None), ("x" * 65, None), ("x", 0), ("x", -1), ("x", 3651)])
def test_a_token_needs_a_name_and_a_sensible_life(db: Session, name: str,
                                                  days: int | None) -> None:
    with pytest.raises(ValidationFailed):
        tokens.create(db, principal=as_(db, "cadre"), name=name, expires_days=days)
    assert db.scalars(select(ApiTokenRecord)).all() == []


def test_the_last_use_is_written_at_most_once_a_minute(any_db: Session) -> None:
    db = any_db
    secret, token = make(db)

    def used(seconds: float) -> str | None:
        found = tokens.authenticate(db, secret=secret, clock=at(seconds))
        assert found is not None
        if found.stale:
            tokens.touch(db, token_id=found.token_id, clock=at(seconds))
        db.expire_all()
        return tokens.list_tokens(db, principal=as_(db, "cadre"))[0].last_used_at

    assert token.last_used_at is None
    assert used(10) == "2026-11-29T08:00:10Z"
    assert used(40) == "2026-11-29T08:00:10Z"  # within the minute: not written
    tokens.touch(db, token_id=token.id, clock=at(69))  # a late caller: still skipped
    db.expire_all()
    assert used(69) == "2026-11-29T08:00:10Z"
    assert used(71) == "2026-11-29T08:01:11Z"
    found = tokens.authenticate(db, secret=secret, clock=at(100))
    assert found is not None and not found.stale
