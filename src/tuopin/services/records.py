"""Finding a record within a principal's reach, and writing records back.

One lookup of a household by number inside the principal's scope (its region and, for a
helper, their own households), one of a member, one flush that turns the database's errors
into the error tree (never the driver's message), and one optimistic-version check. Every
service that reaches a household or writes goes through these, so a second door (the API,
the field importer) cannot forget the scope or leak a constraint's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tuopin.domain.errors import Conflict, Message, NotFound, PermissionDenied, StaleVersion
from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.services.access.principal import Principal
from tuopin.storage.models import HouseholdRecord, MemberRecord
from tuopin.storage.scope import in_households, in_region

CLASH = N_("Someone saved a record with the same key at the same moment. Nothing was saved; "
           "try again.")
SAVED_FIRST = N_("{what} was saved by someone else first; reload it and try again.")
REGION_OUTSIDE = N_("Region {code} is outside your region.")
STALE = N_("{what} was saved by someone else first (version {found}, you edited version "
           "{expected}); reload it and try again.")


def in_scope(scope: Scope) -> Any:
    """The WHERE clause of households (by village and number) inside ``scope``."""
    return in_region(scope, HouseholdRecord.village_code) & in_households(
        scope, HouseholdRecord.number)


def region_filter(principal: Principal, code: str | None) -> str | None:
    """A region code prefix a caller filters by (lists, exports): wider or narrower than
    their region is fine - the scope still applies -, one beside it is refused (regions are
    public knowledge: 403, not 404). None: no filter."""
    if not code:
        return None
    if not code.isdigit() or len(code) > 12:
        raise NotFound(f"region {code} not found")
    mine = principal.scope.prefix
    if not (code.startswith(mine) or mine.startswith(code)):
        raise PermissionDenied(Message(REGION_OUTSIDE, code=code))
    return code


def household(db: Session, *, principal: Principal, number: str,
              lock: bool = False) -> HouseholdRecord:
    """The household ``number`` if ``principal`` may reach it; else NotFound (as if it did
    not exist, so that nobody learns of a household outside their scope)."""
    query = select(HouseholdRecord).where(HouseholdRecord.number == number,
                                          in_scope(principal.scope))
    if lock:  # PostgreSQL locks the row; SQLite's BEGIN IMMEDIATE serialises writers already
        query = query.with_for_update().execution_options(populate_existing=True)
    found = db.scalars(query).first()
    if found is None:
        raise NotFound(f"household {number} not found")
    return found


def member(db: Session, *, principal: Principal, member_id: int,
           number: str | None = None) -> MemberRecord:
    """One member of a household ``principal`` may reach (of household ``number`` if given)."""
    query = (select(MemberRecord).join(HouseholdRecord,
                                       HouseholdRecord.id == MemberRecord.household_id)
             .where(MemberRecord.id == member_id, in_scope(principal.scope)))
    if number is not None:
        query = query.where(HouseholdRecord.number == number)
    found = db.scalars(query).first()
    if found is None:
        raise NotFound(f"member {member_id} not found")
    return found


def _named(what: str) -> Message:
    return what if isinstance(what, Message) else Message(what)


def flush(db: Session, *, what: str = "The record") -> None:
    """Write pending changes: a lost race on a version or a clash of a unique key becomes a
    Conflict that names ``what`` (a msgid or plain text), never the driver's message."""
    try:
        db.flush()
    except StaleDataError as exc:
        raise StaleVersion(Message(SAVED_FIRST, what=_named(what)), {}) from exc
    except IntegrityError as exc:
        raise Conflict(Message(CLASH)) from exc


def check_version(what: str, *, found: int | None, expected: int | None,
                  current: Mapping[str, Any]) -> None:
    """Refuse a change made on version ``expected`` when ``found`` is stored (None expected:
    no check). ``current`` (what is stored now) travels with the refusal."""
    if expected is not None and found != expected:
        raise StaleVersion(Message(STALE, what=_named(what), found=found, expected=expected),
                           dict(current))
