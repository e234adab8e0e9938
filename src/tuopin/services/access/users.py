"""Users and what they may see: accounts, argon2id passwords, roles, region access, reveals.

Passwords are stored only as argon2id hashes (argon2-cffi); the audit trail records who
added, disabled or reset an account and every login, never a hash or a password. Each user
has a role and a region; ``access_of`` turns a user into the Scope every query goes through
(a helper additionally sees only the households assigned to them). Who manages whose
account is ``may_manage``: an admin every account, a county officer the roles below in
their county; the CLI acts as the system (``manager=None``).
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
from tuopin.services import audit
from tuopin.storage.models import (
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    UserRecord,
)
from tuopin.storage.repositories import RegistryRepository
from tuopin.storage.scope import in_region

Clock = Callable[[], datetime]
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 10
# Roles whose work needs full ID, phone and bank numbers; everyone else sees them masked.
SEES_IDENTIFIERS = frozenset({Role.ADMIN, Role.COUNTY_OFFICER})
# Roles that may reveal one masked number by a deliberate, audited click.
MAY_REVEAL = frozenset(Role) - {Role.AUDITOR}
# Roles that may change the registry (the auditor and the verifier only read).
EDITORS = frozenset({Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER,
                     Role.VILLAGE_CADRE})
# The level of region a role is scoped to, where the role implies one.
ROLE_LEVEL = {Role.COUNTY_OFFICER: RegionLevel.COUNTY, Role.TOWNSHIP_OFFICER: RegionLevel.TOWNSHIP,
              Role.VILLAGE_CADRE: RegionLevel.VILLAGE}
REVEALABLE = {"household": ("phone", "bank_account"), "member": ("id_number", "phone")}
# Who manages accounts: an admin every account, a county officer those below them in the county.
MANAGERS = frozenset({Role.ADMIN, Role.COUNTY_OFFICER})
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


def managed_scope(manager: User | None) -> Scope:
    """Where the accounts ``manager`` sees lie: everywhere for an admin and the system (None)."""
    if manager is None or manager.role is Role.ADMIN:
        return Scope()
    return Scope(manager.region_code)


def may_manage(manager: User | None, *, role: Role, region_code: str | None) -> bool:
    """Whether ``manager`` (None: the system, the CLI) may add, disable or reset such an account.

    An admin manages every account; a county officer the roles below admin and county
    officer, with a region inside their county; nobody else manages accounts.
    """
    if manager is None or manager.role is Role.ADMIN:
        return True
    return (manager.role is Role.COUNTY_OFFICER and role in COUNTY_MANAGES
            and region_code is not None and managed_scope(manager).covers(region_code))


def roles_for(manager: User | None) -> list[Role]:
    """The roles ``manager`` may give, in the order of the Role enum."""
    if manager is None or manager.role is Role.ADMIN:
        return list(Role)
    return [r for r in Role if r in COUNTY_MANAGES] if manager.role in MANAGERS else []


def _check_manager(manager: User | None) -> None:
    if manager is not None and manager.role not in MANAGERS:
        raise PermissionDenied(N_("Your role may not do this."))


def _managed(db: Session, username: str, manager: User | None) -> UserRecord:
    """An account ``manager`` may change: outside their county it is not found (as the list
    does not show it); inside, a role above theirs is refused."""
    _check_manager(manager)
    record = _record(db, username)
    if manager is None:
        return record
    if not managed_scope(manager).covers(record.region_code or ""):
        raise NotFound(f"user {username} not found")
    if not may_manage(manager, role=Role.of(record.role), region_code=record.region_code):
        raise PermissionDenied(N_("You may not manage an account of this role."))
    return record


def add(db: Session, *, username: str, role: Role, region_code: str | None, password: str,
        actor: str, display_name: str | None = None, helper_number: str | None = None,
        hasher: PasswordHasher | None = None, clock: Clock | None = None,
        manager: User | None = None) -> User:
    """Create an account with an argon2id hash of ``password``; audited without the hash.

    ``manager`` is the user adding it (None: the system); see ``may_manage``.
    """
    _check_manager(manager)
    if not USERNAME.match(username):
        _refuse("username", username,
                N_("A username has 3-64 lowercase letters, digits, '.', '_' or '-'."))
    if display_name is not None and len(display_name) > NAME_WIDTH:
        _refuse("display_name", display_name, N_("A display name has at most {count} "
                                                 "characters."), count=NAME_WIDTH)
    _check_password(password)
    region = _check_region(db, role, region_code)
    if not may_manage(manager, role=role, region_code=region):
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
    db.flush()
    user = user_of(record)
    audit.record(db, actor=actor, action="add", entity="user", entity_id=username,
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


def disable(db: Session, *, username: str, actor: str, manager: User | None = None) -> User:
    """Refuse every later login of ``username`` (its sessions end at their next request).

    ``manager`` is the user disabling it (None: the system); nobody disables themselves.
    """
    if manager is not None and manager.username == username:
        raise PermissionDenied(N_("You cannot disable your own account."))
    record = _managed(db, username, manager)
    if record.active:
        record.active = False
        db.flush()
        audit.record(db, actor=actor, action="disable", entity="user", entity_id=username,
                     before={"active": True}, after={"active": False})
    return user_of(record)


def reset_password(db: Session, *, username: str, actor: str, password: str | None = None,
                   hasher: PasswordHasher | None = None, manager: User | None = None) -> str:
    """Set a new password (a random one unless given) and return it; ends open sessions.

    ``manager`` is the user resetting it (None: the system); see ``may_manage``.
    """
    record = _managed(db, username, manager)
    password = password or new_password()
    _check_password(password)
    record.password_hash = (hasher or default_hasher()).hash(password)
    db.flush()
    audit.record(db, actor=actor, action="reset_password", entity="user", entity_id=username)
    return password


def list_users(db: Session, *, scope: Scope) -> list[User]:
    """Accounts whose region lies inside ``scope`` (admins without a region: everything)."""
    query = select(UserRecord).order_by(UserRecord.username)
    if scope.region_code:
        query = query.where(in_region(scope, UserRecord.region_code))
    return [user_of(r) for r in db.scalars(query)]


def accounts(db: Session, *, manager: User) -> list[dict[str, object]]:
    """The accounts ``manager`` manages, as rows with the helper's number, the region's name,
    and whether ``manager`` may disable it or reset its password."""
    _check_manager(manager)
    rows = db.execute(
        select(UserRecord, HelperRecord.number, RegionRecord.name)
        .outerjoin(HelperRecord, HelperRecord.id == UserRecord.helper_id)
        .outerjoin(RegionRecord, RegionRecord.code == UserRecord.region_code)
        .where(in_region(managed_scope(manager), UserRecord.region_code))
        .order_by(UserRecord.username))
    found = []
    for record, helper, region_name in rows:
        user = user_of(record)
        found.append({**user.as_row(), "helper": helper or "", "region_name": region_name or "",
                      "is_self": user.id == manager.id,
                      "may_change": may_manage(manager, role=user.role,
                                               region_code=user.region_code)})
    return found


def region_choices(db: Session, *, manager: User) -> list[dict[str, str]] | None:
    """The regions ``manager`` may place an account in, for a select; None when there are
    too many to list (the code is typed then)."""
    _check_manager(manager)
    rows = db.execute(
        select(RegionRecord.code, RegionRecord.name, RegionRecord.level)
        .where(in_region(managed_scope(manager), RegionRecord.code))
        .order_by(RegionRecord.code).limit(REGION_CHOICES + 1)).all()
    if len(rows) > REGION_CHOICES:
        return None
    return [{"code": r.code, "name": r.name, "level": RegionLevel(r.level).title} for r in rows]


def get_active(db: Session, *, user_id: int) -> User | None:
    """The active account with this id, or None (disabled or deleted)."""
    # a plain row: this runs on every request of every logged-in user
    row = db.execute(select(UserRecord.__table__).where(UserRecord.id == user_id)).first()
    return user_of(row) if row is not None and row.active else None


@dataclass(frozen=True)
class Access:
    """What one user may see: a region scope and, for a helper, only their households."""

    scope: Scope  # a helper's scope names their households

    @property
    def households(self) -> frozenset[str] | None:
        """A helper's households; None: every household in the scope."""
        return self.scope.households

    def sees(self, number: str) -> bool:
        return self.scope.admits(number)


def region_access(user: User) -> Access | None:
    """``user``'s Access when it needs no query: everyone's but a helper's (None)."""
    if user.role is Role.HELPER:
        return None
    return Access(Scope(user.region_code) if user.role is not Role.ADMIN else Scope())


def access_of(db: Session, *, user: User) -> Access:
    """The Scope (and, for a helper, the assigned households) every query of ``user`` uses."""
    known = region_access(user)
    if known is not None:
        return known
    scope = Scope(user.region_code)
    numbers = frozenset(db.scalars(
        select(HouseholdRecord.number)
        .join(HelperAssignmentRecord, HelperAssignmentRecord.household_id == HouseholdRecord.id)
        .where(HelperAssignmentRecord.helper_id == user.helper_id,
               in_region(scope, HouseholdRecord.village_code))))
    # the scope carries the numbers too, so lists and searches select only these households
    return Access(Scope(scope.region_code, households=numbers))


def reveal(db: Session, *, user: User, access: Access, number: str, field: str,
           member_id: int | None = None) -> str:
    """One unmasked number of a household or member; the reveal is audited (not the value)."""
    if user.role not in MAY_REVEAL:
        raise PermissionDenied(f"a {user.role.value} may not reveal personal numbers")
    entity = "member" if member_id is not None else "household"
    if field not in REVEALABLE[entity]:
        raise ValidationFailed(f"{field} cannot be revealed")
    home = RegistryRepository(db, access.scope).household(number)
    if home is None or not access.sees(number):
        raise NotFound(f"household {number} not found")
    target: HouseholdRecord | MemberRecord = home
    if member_id is not None:
        found = [m for m in home.members if m.id == member_id]
        if not found:
            raise NotFound(f"member {member_id} not found in household {number}")
        target = found[0]
    audit.record(db, actor=user.username, action="reveal", entity=entity,
                 entity_id=number if member_id is None else str(member_id),
                 after={"field": field, "household": number})
    return str(getattr(target, field) or "")
