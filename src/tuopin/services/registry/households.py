"""Editing households and members: the importer's rules, optimistic locking, an audit event.

A form (web) or a command hands in the values a person typed, as text, together with the
version they saw. The values are checked by exactly the rules the importer applies to a
file row; a stale version is refused with the current values, never silently overwritten.
A household's status (and the years that go with it) is not a field a person edits: it
changes only through registration and the exit, return-to-poverty and monitoring procedures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from tuopin.domain.errors import ValidationFailed
from tuopin.i18n import N_
from tuopin.io.cells import as_text
from tuopin.io.problems import Problem
from tuopin.io.readers import RawFile
from tuopin.io.schema import Kind, field_names
from tuopin.io.validate import validate_file
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.storage.models import HouseholdRecord, MemberRecord, RegionRecord

# Set by the procedures (registration, exit, return to poverty, monitoring), never by an edit.
PROCEDURE_FIELDS = ("status", "year_identified", "year_exited")
BY_PROCEDURE = N_("A household's status and its years change only through the exit, "
                  "return-to-poverty and monitoring procedures, not by an edit or an import.")
NOT_YOUR_VILLAGE = N_("Village {code} is not a registered village in your region.")


def _text(value: Any) -> str | None:
    return None if value is None else as_text(value)


def validated_row(kind: Kind, values: Mapping[str, str | None], today: date) -> dict[str, Any]:
    """One record checked by the importer's rules; ValidationFailed names each bad field."""
    names = field_names(kind)
    table = pa.table({f"c{i}": pa.array([values.get(n)], pa.string())
                      for i, n in enumerate(names)})
    raw = RawFile(Path("form"), names, table, pa.array([2], pa.int64()), None, "")
    checked = validate_file(raw, kind, today=today)
    if checked.problems:
        raise ValidationFailed(f"{len(checked.problems)} problems", checked.problems)
    return checked.table.to_pylist()[0]


def snapshot(record: HouseholdRecord | MemberRecord, names: list[str]) -> dict[str, Any]:
    """The fields ``names`` of a record as plain data."""
    return {n: getattr(record, n) for n in names if hasattr(record, n)}


def _refuse_procedure_fields(before: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    changed = [n for n in PROCEDURE_FIELDS if before.get(n) != values.get(n)]
    if changed:
        problems = [Problem(0, n, _text(values.get(n)) or "", BY_PROCEDURE) for n in changed]
        raise ValidationFailed(problems[0].message("en"), problems)


@changes(Action.EDIT_REGISTRY)
def edit_household(
    db: Session, *, principal: Principal, number: str, expected_version: int | None,
    changes: Mapping[str, str | None], today: date,
) -> dict[str, Any]:
    """Apply typed-in changes to one household, audited, if nobody saved in between."""
    record = records.household(db, principal=principal, number=number, lock=True)
    names = field_names(Kind.HOUSEHOLDS)
    before = snapshot(record, names)
    records.check_version(N_("The household"), found=record.version,
                          expected=expected_version, current=before)
    values = validated_row(Kind.HOUSEHOLDS, {**{n: _text(v) for n, v in before.items()},
                                             **changes}, today)
    _refuse_procedure_fields(before, values)
    village = values["village_code"]
    if not principal.scope.covers(village) or db.get(RegionRecord, village) is None:
        problem = Problem(0, "village_code", village, NOT_YOUR_VILLAGE, {"code": village})
        raise ValidationFailed(problem.message("en"), [problem])
    for name in names:
        setattr(record, name, values[name])
    records.flush(db, what=N_("The household"))
    after = snapshot(record, names)
    if after != before:
        audit.record(db, actor=principal.actor, action="edit", entity="household",
                     entity_id=number, before=before, after=after)
    return {**after, "version": record.version}
