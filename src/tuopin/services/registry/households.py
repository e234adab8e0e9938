"""Editing households and members: the importer's rules, optimistic locking, an audit event.

A form (web) or a command hands in the values a person typed, as text, together with the
version they saw. The values are checked by exactly the rules the importer applies to a
file row; a stale version is refused with the current values, never silently overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tuopin.domain.errors import Conflict, NotFound, ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.io.cells import as_text
from tuopin.io.readers import RawFile
from tuopin.io.schema import Kind, field_names
from tuopin.io.validate import validate_file
from tuopin.services import audit
from tuopin.storage.models import HouseholdRecord, MemberRecord, RegionRecord
from tuopin.storage.scope import in_region


class StaleVersion(Conflict):
    """Someone saved first: ``current`` holds what is stored now, field by field."""

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message)
        self.current = current


def _text(value: Any) -> str | None:
    return None if value is None else as_text(value)


def _validated_row(kind: Kind, values: Mapping[str, str | None], today: date) -> dict[str, Any]:
    """One record checked by the importer's rules; ValidationFailed names each bad field."""
    names = field_names(kind)
    table = pa.table({f"c{i}": pa.array([values.get(n)], pa.string())
                      for i, n in enumerate(names)})
    raw = RawFile(Path("form"), names, table, pa.array([2], pa.int64()), None, "")
    checked = validate_file(raw, kind, today=today)
    if checked.problems:
        raise ValidationFailed(f"{len(checked.problems)} problems", checked.problems)
    return checked.table.to_pylist()[0]


def _snapshot(record: HouseholdRecord | MemberRecord, names: list[str]) -> dict[str, Any]:
    return {n: getattr(record, n) for n in names if hasattr(record, n)}


def _check_version(record: HouseholdRecord | MemberRecord, expected: int,
                   names: list[str]) -> None:
    if record.version != expected:
        raise StaleVersion(
            f"saved by someone else first (version {record.version}, you edited {expected})",
            _snapshot(record, names),
        )


def _flush(db: Session) -> None:
    try:
        db.flush()
    except StaleDataError as exc:
        raise Conflict("saved by someone else first; reload and try again") from exc
    except IntegrityError as exc:
        raise Conflict(f"the change clashes with another record: {exc.orig}") from exc


def edit_household(
    db: Session, *, scope: Scope, number: str, expected_version: int,
    changes: Mapping[str, str | None], actor: str, today: date,
) -> HouseholdRecord:
    """Apply typed-in changes to one household, audited, if nobody saved in between."""
    record = db.scalars(select(HouseholdRecord).where(
        HouseholdRecord.number == number, in_region(scope, HouseholdRecord.village_code))).first()
    if record is None:
        raise NotFound(f"household {number} not found")
    names = field_names(Kind.HOUSEHOLDS)
    _check_version(record, expected_version, names)
    before = _snapshot(record, names)
    values = _validated_row(Kind.HOUSEHOLDS, {**{n: _text(v) for n, v in before.items()},
                                              **changes}, today)
    if not scope.covers(values["village_code"]) or db.get(RegionRecord,
                                                          values["village_code"]) is None:
        raise ValidationFailed(f"village {values['village_code']} is not in your registry")
    for name in names:
        setattr(record, name, values[name])
    _flush(db)
    after = _snapshot(record, names)
    if after != before:
        audit.record(db, actor=actor, action="edit", entity="household", entity_id=number,
                     before=before, after=after)
    return record


def edit_member(
    db: Session, *, scope: Scope, member_id: int, expected_version: int,
    changes: Mapping[str, str | None], actor: str, today: date,
) -> MemberRecord:
    """Apply typed-in changes to one member (ID number, sex and birth date must agree)."""
    record = db.get(MemberRecord, member_id)
    if record is None or not scope.covers(record.household.village_code):
        raise NotFound(f"member {member_id} not found")
    names = [n for n in field_names(Kind.MEMBERS) if n != "household_number"]
    _check_version(record, expected_version, names)
    before = _snapshot(record, names)
    typed = {**{n: _text(v) for n, v in before.items()},
             "household_number": record.household.number, **changes}
    values = _validated_row(Kind.MEMBERS, typed, today)
    for name in names:
        setattr(record, name, values[name])
    _flush(db)
    after = _snapshot(record, names)
    if after != before:
        audit.record(db, actor=actor, action="edit", entity="member", entity_id=str(member_id),
                     before=before, after=after)
    return record
