"""Demo accounts: one per role in a county of the registry (what `make run` prints)."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel, Role
from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.i18n import gettext
from tuopin.services.access import users
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.storage.models import (
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    RegionRecord,
    UserRecord,
)
from tuopin.storage.scope import in_region

DEMO_ROLES = (
    ("demo-admin", Role.ADMIN, None), ("demo-county", Role.COUNTY_OFFICER, "county"),
    ("demo-township", Role.TOWNSHIP_OFFICER, "township"),
    ("demo-village", Role.VILLAGE_CADRE, "village"), ("demo-helper", Role.HELPER, "county"),
    ("demo-verifier", Role.VERIFIER, "county"), ("demo-auditor", Role.AUDITOR, "county"),
)


@dataclass(frozen=True)
class DemoAccount:
    user: users.User
    password: str | None  # None: the account existed already (its password is not known)


def _demo_places(db: Session, county: str | None) -> tuple[dict[str, str], str | None]:
    """The county, township and village for the demo accounts, and a helper of the village."""
    if county is None:
        county = db.scalar(select(func.min(RegionRecord.code))
                           .where(RegionRecord.level == int(RegionLevel.COUNTY)))
        if county is None:
            raise NotFound("the registry has no county: build one first (tuopin synth)")
    county = regions.normalize(county)
    if regions.level_of(county) is not RegionLevel.COUNTY:
        raise ValidationFailed(f"{county} is not a county code")
    village = db.scalar(select(func.min(HouseholdRecord.village_code))
                        .where(in_region(Scope(county), HouseholdRecord.village_code)))
    if village is None:
        raise NotFound(f"county {county} has no households")
    township = regions.parent_of(village) or county
    helper = db.scalar(
        select(func.min(HelperRecord.number))
        .join(HelperAssignmentRecord, HelperAssignmentRecord.helper_id == HelperRecord.id)
        .join(HouseholdRecord, HouseholdRecord.id == HelperAssignmentRecord.household_id)
        .where(HouseholdRecord.village_code == village))
    return {"county": county, "township": township, "village": village}, helper


@changes(Action.MANAGE_USERS)
def create_demo(db: Session, *, principal: Principal, county: str | None = None,
                hasher: PasswordHasher | None = None) -> list[DemoAccount]:
    """One account per role in a demo county; existing ones are listed without a password."""
    places, helper = _demo_places(db, county)
    accounts = []
    for username, role, level in DEMO_ROLES:
        existing = db.scalars(select(UserRecord).where(UserRecord.username == username)).first()
        if existing is not None:
            accounts.append(DemoAccount(users.user_of(existing), None))
            continue
        if role is Role.HELPER and helper is None:
            continue
        password, name = users.new_password(), gettext(role.title, "zh") + "（演示）"
        user = users.add(db, principal=principal, username=username, role=role,
                         password=password, region_code=places[level] if level else None,
                         helper_number=helper, display_name=name, hasher=hasher)
        accounts.append(DemoAccount(user, password))
    return accounts
