"""API tokens: made for an account, shown once, stored as a hash, listed, revoked, expiring.

A token is the API's only credential (Bearer). It carries its account's role and region and
nothing more: the principal of a request is built from the account as it is now, so a
disabled account, a changed role or region takes effect on the next request. A personal
token is made by its owner (the web's account page) and a service token by whoever manages
the account (``tuopin tokens create``), for another system's account. ``authenticate``
answers None for a token that is missing, wrong, revoked or expired, and for a disabled
account - alike, so that a caller cannot tell which.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied, ValidationFailed
from tuopin.i18n import N_
from tuopin.io.problems import Problem
from tuopin.services import audit
from tuopin.services.access import users
from tuopin.services.access.policy import NOT_ALLOWED, Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import ApiTokenRecord, UserRecord

Clock = Callable[[], datetime]
PREFIX = "tp_"  # tokens say what they are (secret scanners find them by it)
SHOWN = 10  # characters of a token kept to tell it apart in lists
MAX_DAYS = 3650
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often per token
NAME_WIDTH = 64
BAD_NAME = N_("A token needs a name of 1 to 64 characters.")
BAD_DAYS = N_("A token expires after 1 to 3650 days.")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Token:
    """A token as lists show it: never its secret."""

    id: int
    username: str
    name: str
    kind: str  # personal | service
    prefix: str
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    def active_at(self, now: str) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _token(record: ApiTokenRecord, username: str) -> Token:
    return Token(record.id, username, record.name, record.kind, record.prefix,
                 record.created_by, record.created_at, record.expires_at, record.revoked_at,
                 record.last_used_at)


def _account(db: Session, principal: Principal, username: str | None) -> UserRecord:
    """The account a token is made or listed for: one's own, or one ``principal`` manages."""
    if username is None or username == principal.username:
        if principal.user_id is None:
            raise NotFound("an operator has no account of their own: name one")
        record = db.get(UserRecord, principal.user_id)
        if record is None:
            raise NotFound(f"user {principal.username} not found")
        return record
    record = db.scalars(select(UserRecord).where(UserRecord.username == username)).first()
    if record is None or not users.managed_scope(principal).covers(record.region_code or ""):
        raise NotFound(f"user {username} not found")
    if not users.may_manage(principal, role=Role.of(record.role),
                            region_code=record.region_code):
        raise PermissionDenied(NOT_ALLOWED)
    return record


def _check(name: str, days: int | None) -> None:
    if not 1 <= len(name.strip()) <= NAME_WIDTH:
        raise ValidationFailed(BAD_NAME, [Problem(0, "name", name, BAD_NAME)])
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(BAD_DAYS, [Problem(0, "expires_days", str(days), BAD_DAYS)])


@changes(Action.OWN_TOKENS)
def create(db: Session, *, principal: Principal, name: str, username: str | None = None,
           expires_days: int | None = None, clock: Clock = audit.utc_now) -> tuple[str, Token]:
    """A new token for ``username`` (default: the principal's own account): its secret, to
    be shown once, and how lists will show it. Another's account: only one the principal
    manages (a service token); the audit trail records who made it, never the secret."""
    _check(name, expires_days)
    account = _account(db, principal, username)
    if not account.active:
        raise ValidationFailed("the account is disabled",
                               [Problem(0, "username", account.username,
                                        N_("The account is disabled."))])
    secret = PREFIX + secrets.token_urlsafe(32)
    now = clock()
    record = ApiTokenRecord(
        user_id=account.id, name=name.strip(),
        kind="personal" if account.id == principal.user_id else "service",
        secret_hash=_hash(secret), prefix=secret[:SHOWN], created_by=principal.actor,
        created_at=_iso(now),
        expires_at=_iso(now + timedelta(days=expires_days)) if expires_days else None)
    db.add(record)
    db.flush()
    token = _token(record, account.username)
    audit.record(db, actor=principal.actor, action="add", entity="api_token",
                 entity_id=str(record.id),
                 after={"username": account.username, "name": token.name, "kind": token.kind,
                        "prefix": token.prefix, "expires_at": token.expires_at},
                 clock=clock)
    return secret, token


@reads(Action.OWN_TOKENS)
def list_tokens(db: Session, *, principal: Principal,
                username: str | None = None) -> list[Token]:
    """The tokens of an account (default: one's own), newest first, revoked ones included."""
    account = _account(db, principal, username)
    found = db.scalars(select(ApiTokenRecord).where(ApiTokenRecord.user_id == account.id)
                       .order_by(ApiTokenRecord.id.desc()))
    return [_token(r, account.username) for r in found]


@changes(Action.OWN_TOKENS)
def revoke(db: Session, *, principal: Principal, token_id: int, own: bool = False,
           clock: Clock = audit.utc_now) -> Token:
    """Revoke a token of one's own or of an account one manages (at once, for good);
    ``own``: only one of one's own (the pages and the API that list one's own tokens)."""
    record = db.get(ApiTokenRecord, token_id)
    owner = db.get(UserRecord, record.user_id) if record is not None else None
    if record is None or owner is None or (own and owner.id != principal.user_id):
        raise NotFound(f"token {token_id} not found")
    if owner.id != principal.user_id:
        try:
            _account(db, principal, owner.username)
        except PermissionDenied:
            raise NotFound(f"token {token_id} not found") from None
    if record.revoked_at is None:
        record.revoked_at = _iso(clock())
        audit.record(db, actor=principal.actor, action="revoke", entity="api_token",
                     entity_id=str(record.id), after={"username": owner.username,
                                                      "prefix": record.prefix}, clock=clock)
    return _token(record, owner.username)


@dataclass(frozen=True)
class Bearer:
    """Who a live token speaks for; ``stale``: its last use should be written (``touch``)."""

    user: users.User
    token_id: int
    stale: bool


def authenticate(db: Session, *, secret: str | None,
                 clock: Clock = audit.utc_now) -> Bearer | None:
    """The active account of a live token; None for anything else, alike.

    The last use is written at most once a minute per token, by the caller in a short
    transaction of its own (a read would otherwise write on every request).
    """
    if not secret or not secret.startswith(PREFIX) or len(secret) > 128:
        return None
    # the token and its account in one query: this runs on every request of the API
    row = db.execute(
        select(UserRecord.__table__, ApiTokenRecord.id.label("token_id"),
               ApiTokenRecord.expires_at, ApiTokenRecord.revoked_at,
               ApiTokenRecord.last_used_at)
        .join(ApiTokenRecord, ApiTokenRecord.user_id == UserRecord.id)
        .where(ApiTokenRecord.secret_hash == _hash(secret))).first()
    moment = clock()
    now = _iso(moment)
    if (row is None or row.revoked_at is not None or not row.active
            or (row.expires_at and row.expires_at <= now)):
        return None
    user = users.user_of(row)
    stale = row.last_used_at is None or row.last_used_at < _iso(moment - TOUCH_EVERY)
    return Bearer(user, row.token_id, stale)


def touch(db: Session, *, token_id: int, clock: Clock = audit.utc_now) -> None:
    """Record a use of the token (skipped when one was recorded less than a minute ago)."""
    now = clock()
    db.execute(update(ApiTokenRecord)
               .where(ApiTokenRecord.id == token_id,
                      (ApiTokenRecord.last_used_at.is_(None))
                      | (ApiTokenRecord.last_used_at < _iso(now - TOUCH_EVERY)))
               .values(last_used_at=_iso(now)))
