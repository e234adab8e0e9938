"""Accounts for programs (the API): one account with a version tag, and changing or
disabling it only if it is still the version the program read.

An account has no version column: its tag is a hash of what it holds (role, region,
helper, name, whether it is active), as a survey's is; a change made on an older tag is
refused with the account as it is now. Who may manage which account is users.py's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from tuopin.domain.enums import Role
from tuopin.domain.errors import Message, NotFound, StaleVersion, ValidationFailed
from tuopin.i18n import N_
from tuopin.services import audit
from tuopin.services.access import users
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal

ACCOUNT_CHANGED = N_("The account {username} changed since you read it; read it again.")
CHANGEABLE = frozenset({"role", "region_code", "helper_number", "display_name"})
TAGGED = ("username", "display_name", "role", "region_code", "helper", "active")


def tag_of(row: dict[str, Any]) -> str:
    """An account's version tag: a hash of the fields a change could touch."""
    text = audit.canonical_json({name: row.get(name) for name in TAGGED}) or ""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@reads(Action.MANAGE_USERS)
def account(db: Session, *, principal: Principal, username: str) -> dict[str, Any]:
    """One account ``principal`` manages, as ``users.accounts`` lists it, with its tag
    (NotFound for one they do not manage)."""
    found = users.accounts(db, principal=principal, username=username)
    if not found:
        raise NotFound(f"user {username} not found")
    return {**found[0], "tag": tag_of(found[0])}


def _current(db: Session, principal: Principal, username: str, tag: str) -> dict[str, Any]:
    row = account(db, principal=principal, username=username)
    if row["tag"] != tag:
        raise StaleVersion(Message(ACCOUNT_CHANGED, username=username), row)
    return row


@changes(Action.MANAGE_USERS)
def change_tagged(db: Session, *, principal: Principal, username: str, tag: str,
                  changes: Mapping[str, Any]) -> dict[str, Any]:
    """``users.change`` for a program that read the account's ``tag``: refused (with the
    account as it is now) when it changed since. ``changes`` holds some of role,
    region_code, helper_number and display_name; what it leaves out is kept."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}")
    row = _current(db, principal, username, tag)
    role = changes.get("role", row["role"])
    users.change(db, principal=principal, username=username,
                 role=role if isinstance(role, Role) else Role.of(str(role)),
                 region_code=changes.get("region_code", row["region_code"] or None),
                 helper_number=changes.get("helper_number", row["helper"] or None),
                 display_name=changes.get("display_name"))
    return account(db, principal=principal, username=username)


@changes(Action.MANAGE_USERS)
def disable_tagged(db: Session, *, principal: Principal, username: str,
                   tag: str) -> dict[str, Any]:
    """``users.disable`` for a program that read the account's ``tag``."""
    _current(db, principal, username, tag)
    users.disable(db, principal=principal, username=username)
    return account(db, principal=principal, username=username)
