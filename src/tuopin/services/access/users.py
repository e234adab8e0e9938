"""Accounts: argon2id passwords, roles, regions, and the principal a logged-in user acts as.

Passwords are stored only as argon2id hashes (argon2-cffi); the audit trail records who
added, disabled or reset an account and every login, never a hash or a password. Each user
has a role and a region; ``principal_of`` turns a user into the Principal every service
takes (a helper's scope also names the households assigned to them). Who manages whose
account is ``may_manage``: an admin (and the command line's operator) every account, a
county officer the roles below theirs in their county.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel, Role
from tuopin.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.i18n import N_, gettext
from tuopin.io.problems import Problem
from tuopin.services import audit, records
from tuopin.services.access import policy, sessions
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import SEES_IDENTIFIERS, Principal
from tuopin.storage.models import (
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    RegionRecord,
    UserRecord,
)
from tuopin.storage.scope import in_region

Clock = Callable[[], datetime]
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 10
# The level of region a role is scoped to, where the role implies one.
ROLE_LEVEL = {Role.COUNTY_OFFICER: RegionLevel.COUNTY, Role.TOWNSHIP_OFFICER: RegionLevel.TOWNSHIP,
              Role.VILLAGE_CADRE: RegionLevel.VILLAGE}
# A county officer manages the accounts of these roles in their county.
COUNTY_MANAGES = frozenset({Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE, Role.HELPER,
                            Role.VERIFIER, Role.AUDITOR})
NAME_WIDTH = 64
REGION_CHOICES = 2000  # more than a county holds: beyond, the code is typed


@lru_cache(maxsize=1)
def default_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile, ~170 ms here)."""
    return PasswordHasher()


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost,
                            parallelism=parallelism)
    return hasher.hash(secrets.token_urlsafe(16))


def _now(clock: Clock | None) -> str:
    return (clock or audit.utc_now)().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class User:
    """An account as the rest of tuopin sees it: never the password hash itself."""

    id: int
    username: str
    display_name: str
    role: Role
    region_code: str | None
    helper_id: int | None
    active: bool
    created_at: str
    stamp: str  # changes when the password does: a reset ends the user's sessions

    @property
    def sees_identifiers(self) -> bool:
        return self.role in SEES_IDENTIFIERS

    def as_row(self) -> dict[str, object]:
        return {"username": self.username, "display_name": self.display_name,
                "role": self.role.value, "region_code": self.region_code or "",
                "helper_id": self.helper_id, "active": self.active,
                "created_at": self.created_at}


def user_of(record: UserRecord | Row[Any]) -> User:
    stamp = hashlib.sha256(record.password_hash.encode()).hexdigest()[:16]
    return User(record.id, record.username, record.display_name, Role.of(record.role),
                record.region_code, record.helper_id, record.active, record.created_at, stamp)


def new_password() -> str:
    """A random password of 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


class UsernameTaken(ValidationFailed, Conflict):
    """A unique key clash (a Conflict) that a form shows next to its username field."""


def _refuse(column: str, value: object, reason: str, *,
            error: type[ValidationFailed] = ValidationFailed, **params: object) -> NoReturn:
    """Refuse one field: the English text for the CLI, the msgid for a form to translate."""
    problem = Problem(0, column, "" if value is None else str(value), reason, params)
    raise error(problem.message("en"), [problem])


def _titled(title: str) -> dict[str, str]:
    return {"zh": gettext(title, "zh"), "en": title}


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        _refuse("password", "", N_("A password needs at least {count} characters."),
                count=MIN_PASSWORD)


def _record(db: Session, username: str) -> UserRecord:
    found = db.scalars(select(UserRecord).where(UserRecord.username == username)).first()
    if found is None:
        raise NotFound(f"user {username} not found")
    return found


def _check_region(db: Session, role: Role, region_code: str | None) -> str | None:
    if not region_code:
        if role is not Role.ADMIN:
            _refuse("region_code", "", N_("The role {role} needs a region."),
                    role=_titled(role.title))
        return None
    code = regions.normalize(region_code)
    if db.get(RegionRecord, code) is None:
        _refuse("region_code", code, N_("Region {code} is not in the registry."), code=code)
    wanted = ROLE_LEVEL.get(role)
    if wanted is not None and regions.level_of(code) is not wanted:
        _refuse("region_code", code, N_("The role {role} is scoped to a {level}, not {code}."),
                role=_titled(role.title), level=_titled(wanted.title), code=code)
    return code


def _helper_id(db: Session, role: Role, helper_number: str | None) -> int | None:
    if role is not Role.HELPER:
        return None
    if not helper_number:
        _refuse("helper_number", "", N_("A helper account names its helper number."))
    found = db.scalar(select(HelperRecord.id).where(HelperRecord.number == helper_number))
    if found is None:
        _refuse("helper_number", helper_number, N_("Helper {number} is not in the registry."),
                number=helper_number)
    return int(found)


def managed_scope(principal: Principal) -> Scope:
    """Where the accounts ``principal`` manages lie: everywhere for an admin or an operator."""
    if principal.operator or principal.role is Role.ADMIN:
        return Scope()
    return Scope(principal.scope.region_code)


def may_manage(principal: Principal, *, role: Role, region_code: str | None) -> bool:
    """Whether ``principal`` may add, disable or reset such an account.

    An admin (and the command line's operator) manages every account; a county officer the
    roles below admin and county officer, with a region inside their county; nobody else.
    """
    if not policy.allows(principal, Action.MANAGE_USERS):
        return False
    if principal.operator or principal.role is Role.ADMIN:
        return True
    return (principal.role is Role.COUNTY_OFFICER and role in COUNTY_MANAGES
            and region_code is not None and managed_scope(principal).covers(region_code))


def roles_for(principal: Principal) -> list[Role]:
    """The roles ``principal`` may give, in the order of the Role enum."""
    if not policy.allows(principal, Action.MANAGE_USERS):
        return []
    if principal.operator or principal.role is Role.ADMIN:
        return list(Role)
    return [r for r in Role if r in COUNTY_MANAGES]


def _managed(db: Session, username: str, principal: Principal) -> UserRecord:
    """An account ``principal`` may change: outside their county it is not found (as the list
    does not show it); inside, a role above theirs is refused."""
    record = _record(db, username)
    if not managed_scope(principal).covers(record.region_code or ""):
        raise NotFound(f"user {username} not found")
    if not may_manage(principal, role=Role.of(record.role), region_code=record.region_code):
        raise PermissionDenied(N_("You may not manage an account of this role."))
    return record


@changes(Action.MANAGE_USERS)
def add(db: Session, *, principal: Principal, username: str, role: Role,
        region_code: str | None, password: str, display_name: str | None = None,
        helper_number: str | None = None, hasher: PasswordHasher | None = None,
        clock: Clock | None = None) -> User:
    """Create an account with an argon2id hash of ``password``; audited without the hash.

    ``principal`` may give only the roles and regions ``may_manage`` allows.
    """
    if not USERNAME.match(username):
        _refuse("username", username,
                N_("A username has 3-64 lowercase letters, digits, '.', '_' or '-'."))
    if display_name is not None and len(display_name) > NAME_WIDTH:
        _refuse("display_name", display_name, N_("A display name has at most {count} "
                                                 "characters."), count=NAME_WIDTH)
    _check_password(password)
    region = _check_region(db, role, region_code)
    if not may_manage(principal, role=role, region_code=region):
        raise PermissionDenied(N_("You may not give an account this role or region."))
    helper = _helper_id(db, role, helper_number)
    if db.scalar(select(UserRecord.id).where(UserRecord.username == username)) is not None:
        _refuse("username", username, N_("The username {username} is taken."),
                error=UsernameTaken, username=username)
    record = UserRecord(username=username, display_name=display_name or username,
                        password_hash=(hasher or default_hasher()).hash(password),
                        role=role.value, region_code=region, helper_id=helper, active=True,
                        created_at=_now(clock))
    db.add(record)
    records.flush(db, what=N_("The account"))
    user = user_of(record)
    audit.record(db, actor=principal.actor, action="add", entity="user", entity_id=username,
                 after=user.as_row())
    return user


def authenticate(db: Session, *, username: str, password: str,
                 hasher: PasswordHasher | None = None) -> User | None:
    """The user when the password is right and the account active; else None.

    An unknown username costs the same argon2 verification as a known one, and a disabled
    account is refused only after verifying, so timing tells nothing about either.
    """
    hasher = hasher or default_hasher()
    record = db.scalars(select(UserRecord).where(UserRecord.username == username)).first()
    stored = record.password_hash if record is not None else _dummy_hash(
        hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    try:
        hasher.verify(stored, password)
        good = record is not None
    except (VerificationError, InvalidHashError):
        good = False
    if record is None:
        return None
    if not (good and record.active):
        audit.record(db, actor=username, action="login_failed", entity="user",
                     entity_id=username, after={"active": record.active})
        return None
    if hasher.check_needs_rehash(record.password_hash):
        record.password_hash = hasher.hash(password)  # stronger parameters since it was set
    audit.record(db, actor=username, action="login", entity="user", entity_id=username)
    return user_of(record)


@changes(Action.MANAGE_USERS)
def disable(db: Session, *, principal: Principal, username: str) -> User:
    """Refuse every later login of ``username``; its sessions end at once.

    Nobody disables their own account.
    """
    if principal.username == username:
        raise PermissionDenied(N_("You cannot disable your own account."))
    record = _managed(db, username, principal)
    if record.active:
        record.active = False
        records.flush(db, what=N_("The account"))
        sessions.end_all(db, user_id=record.id)
        audit.record(db, actor=principal.actor, action="disable", entity="user",
                     entity_id=username, before={"active": True}, after={"active": False})
    return user_of(record)


@changes(Action.MANAGE_USERS)
def change(db: Session, *, principal: Principal, username: str, role: Role,
           region_code: str | None, helper_number: str | None = None,
           display_name: str | None = None) -> User:
    """Give an account another role, region or helper (or name); a change of what it may
    reach ends its sessions at once. Nobody changes their own role or region."""
    record = _managed(db, username, principal)
    region = _check_region(db, role, region_code)
    if not may_manage(principal, role=role, region_code=region):
        raise PermissionDenied(N_("You may not give an account this role or region."))
    helper = _helper_id(db, role, helper_number)
    if principal.username == username and (role.value, region) != (record.role,
                                                                    record.region_code):
        raise PermissionDenied(N_("You cannot change your own role or region."))
    if display_name is not None and len(display_name) > NAME_WIDTH:
        _refuse("display_name", display_name, N_("A display name has at most {count} "
                                                 "characters."), count=NAME_WIDTH)
    before = user_of(record).as_row()
    reach_changed = (role.value, region, helper) != (record.role, record.region_code,
                                                     record.helper_id)
    record.role, record.region_code, record.helper_id = role.value, region, helper
    record.display_name = display_name or record.display_name
    records.flush(db, what=N_("The account"))
    if reach_changed:
        sessions.end_all(db, user_id=record.id)
    after = user_of(record).as_row()
    if after != before:
        audit.record(db, actor=principal.actor, action="change", entity="user",
                     entity_id=username, before=before, after=after)
    return user_of(record)


@changes(Action.MANAGE_USERS)
def reset_password(db: Session, *, principal: Principal, username: str,
                   password: str | None = None, hasher: PasswordHasher | None = None) -> str:
    """Set a new password (a random one unless given) and return it; ends open sessions."""
    record = _managed(db, username, principal)
    password = password or new_password()
    _check_password(password)
    record.password_hash = (hasher or default_hasher()).hash(password)
    records.flush(db, what=N_("The account"))
    sessions.end_all(db, user_id=record.id)
    audit.record(db, actor=principal.actor, action="reset_password", entity="user",
                 entity_id=username)
    return password


@reads(Action.MANAGE_USERS)
def list_users(db: Session, *, principal: Principal) -> list[User]:
    """The accounts ``principal`` manages (admins without a region: every account)."""
    query = select(UserRecord).order_by(UserRecord.username)
    scope = managed_scope(principal).within(principal.scope.region_code)
    if scope.region_code:
        query = query.where(in_region(scope, UserRecord.region_code))
    return [user_of(r) for r in db.scalars(query)]


@reads(Action.MANAGE_USERS)
def accounts(db: Session, *, principal: Principal, after: str | None = None,
             limit: int | None = None, username: str | None = None) -> list[dict[str, object]]:
    """The accounts ``principal`` manages, as rows with the helper's number, the region's
    name, and whether ``principal`` may disable it or reset its password (a keyset page:
    the ``limit`` after the username ``after``; or only ``username``'s)."""
    query = (select(UserRecord, HelperRecord.number, RegionRecord.name)
             .outerjoin(HelperRecord, HelperRecord.id == UserRecord.helper_id)
             .outerjoin(RegionRecord, RegionRecord.code == UserRecord.region_code)
             .where(in_region(managed_scope(principal), UserRecord.region_code))
             .order_by(UserRecord.username).limit(limit))
    if after is not None:
        query = query.where(UserRecord.username > after)
    if username is not None:
        query = query.where(UserRecord.username == username)
    rows = db.execute(query)
    found = []
    for record, helper, region_name in rows:
        user = user_of(record)
        found.append({**user.as_row(), "helper": helper or "", "region_name": region_name or "",
                      "is_self": user.id == principal.user_id,
                      "may_change": may_manage(principal, role=user.role,
                                               region_code=user.region_code)})
    return found


@reads(Action.MANAGE_USERS)
def region_choices(db: Session, *, principal: Principal) -> list[dict[str, str]] | None:
    """The regions ``principal`` may place an account in, for a select; None when there are
    too many to list (the code is typed then)."""
    rows = db.execute(
        select(RegionRecord.code, RegionRecord.name, RegionRecord.level)
        .where(in_region(managed_scope(principal), RegionRecord.code))
        .order_by(RegionRecord.code).limit(REGION_CHOICES + 1)).all()
    if len(rows) > REGION_CHOICES:
        return None
    return [{"code": r.code, "name": r.name, "level": RegionLevel(r.level).title} for r in rows]


def get_active(db: Session, *, user_id: int) -> User | None:
    """The active account with this id, or None (disabled or deleted)."""
    # a plain row: this runs on every request of every logged-in user
    row = db.execute(select(UserRecord.__table__).where(UserRecord.id == user_id)).first()
    return user_of(row) if row is not None and row.active else None


def principal_of(db: Session, *, user: User, via: str = "web") -> Principal:
    """The principal of a logged-in ``user`` (``via`` names the door in the audit trail).

    Its scope is the user's region (everything for an admin); a helper's also names the
    households assigned to them, so every query selects only those.
    """
    scope = Scope(user.region_code) if user.role is not Role.ADMIN else Scope()
    if user.role is Role.HELPER:
        numbers = frozenset(db.scalars(
            select(HouseholdRecord.number)
            .join(HelperAssignmentRecord,
                  HelperAssignmentRecord.household_id == HouseholdRecord.id)
            .where(HelperAssignmentRecord.helper_id == user.helper_id,
                   in_region(scope, HouseholdRecord.village_code))))
        scope = Scope(scope.region_code, households=numbers)
    return Principal(actor=f"{via}:{user.username}", role=user.role, scope=scope,
                     username=user.username, user_id=user.id, helper_id=user.helper_id)


def needs_query(user: User) -> bool:
    """Whether ``principal_of`` reads the database for ``user`` (only a helper's does)."""
    return user.role is Role.HELPER
