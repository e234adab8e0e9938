"""Registering households and members and entering surveys by hand, as the importer would.

A form hands in text as typed. Every row goes through the importer's own validation
(``io.validate``: cell types, rules across fields, duplicates inside the household) and then
through the checks the importer makes against the database (an ID number registered in
another household, a second head). Problems of member row ``i`` of a new household are
reported on the column ``members.{i}.{field}`` so a form can show each next to its field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel, Relation
from tuopin.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.io.cells import as_text
from tuopin.io.problems import Problem
from tuopin.io.readers import RawFile
from tuopin.io.schema import Kind, field_names
from tuopin.io.validate import validate_file
from tuopin.services import audit
from tuopin.services.registry import households
from tuopin.services.registry.households import StaleVersion
from tuopin.storage.models import HouseholdRecord, MemberRecord, RegionRecord, SurveyRecord
from tuopin.storage.scope import in_region

SEQUENCE_DIGITS = 4  # a household number is its village code and a 4-digit sequence
MAX_MEMBERS = 30  # the importer's largest household size
SURVEY_FIELDS = [n for n in field_names(Kind.SURVEYS) if n not in ("household_number", "year")]
MEMBER_FIELDS = [n for n in field_names(Kind.MEMBERS) if n != "household_number"]
HOUSEHOLD_FIELDS = field_names(Kind.HOUSEHOLDS)

HEAD_NEEDED = N_("A household needs a head: mark one member as the head.")
NUMBER_TAKEN = N_("Household number {number} is already registered.")
ID_ELSEWHERE = N_("This ID number is already registered in household {other} (database).")
ID_HIDDEN = N_("This ID number is already registered in another household.")
HEAD_TAKEN = N_("The household already has a head in the database ({head}).")
NO_VILLAGE = N_("Village {code} is not in the registry: import the regions first.")
VILLAGE_FULL = N_("Village {code} has no free household number left; type one.")
CLASH = N_("Someone registered the same household number or ID number at the same moment. "
           "Nothing was saved; try again.")


def _text(value: Any) -> str | None:
    return None if value is None else as_text(value)


def _cell(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _checked(kind: Kind, rows: Sequence[Mapping[str, str | None]], numbers: Sequence[int],
             today: date) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Rows checked together by the importer's rules (so duplicates between them count)."""
    names = field_names(kind)
    table = pa.table({f"c{i}": pa.array([_cell(r.get(n)) for r in rows], pa.string())
                      for i, n in enumerate(names)})
    raw = RawFile(Path("form"), names, table, pa.array(numbers, pa.int64()), None, "")
    checked = validate_file(raw, kind, today=today)
    return checked.table.to_pylist(), checked.problems


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise ValidationFailed(f"{len(problems)} problems", problems)


def _flush(db: Session) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict(CLASH) from exc


def _household(db: Session, scope: Scope, number: str) -> HouseholdRecord:
    record = db.scalars(select(HouseholdRecord).where(
        HouseholdRecord.number == number, in_region(scope, HouseholdRecord.village_code))).first()
    if record is None:
        raise NotFound(f"household {number} not found")
    return record


def _row(record: Any, names: Sequence[str]) -> dict[str, Any]:
    return {n: getattr(record, n) for n in names}


# -- villages and numbers -------------------------------------------------------------------

def villages(db: Session, *, scope: Scope) -> list[dict[str, str]]:
    """The villages a user may register households in, in code order."""
    rows = db.execute(select(RegionRecord.code, RegionRecord.name).where(
        RegionRecord.level == int(RegionLevel.VILLAGE), in_region(scope, RegionRecord.code))
        .order_by(RegionRecord.code))
    return [{"code": r.code, "name": r.name} for r in rows]


def village_in_scope(db: Session, *, scope: Scope, code: str) -> str:
    """A registered village inside ``scope`` (another region: 403; no such village: 404)."""
    normal = regions.normalize(code)
    try:
        level = regions.level_of(normal)
    except regions.RegionCodeError as exc:
        raise NotFound(f"village {code} not found") from exc
    if not scope.covers(normal):
        raise PermissionDenied(f"village {normal} is outside your region")
    if level is not RegionLevel.VILLAGE or db.get(RegionRecord, normal) is None:
        raise NotFound(f"village {normal} not found")
    return normal


def next_number(db: Session, *, village: str) -> str | None:
    """The village code followed by the next free sequence (None when 9999 are taken)."""
    width = len(village) + SEQUENCE_DIGITS
    highest = db.scalar(select(func.max(HouseholdRecord.number)).where(
        HouseholdRecord.number.startswith(village, autoescape=True),
        func.length(HouseholdRecord.number) == width))
    tail = highest[len(village):] if highest else "0"
    sequence = int(tail) + 1 if tail.isdigit() else 1
    return f"{village}{sequence:0{SEQUENCE_DIGITS}d}" if sequence < 10**SEQUENCE_DIGITS else None


def new_household_defaults(db: Session, *, scope: Scope,
                           village: str | None) -> dict[str, Any]:
    """What the registration form offers: the villages in scope, the chosen one, its number."""
    choices = villages(db, scope=scope)
    if village is None and len(choices) == 1:
        village = choices[0]["code"]
    code = village_in_scope(db, scope=scope, code=village) if village else None
    return {"villages": choices, "village": code,
            "next_number": next_number(db, village=code) if code else None}


# -- a new household with its members -------------------------------------------------------

def _household_values(db: Session, scope: Scope, typed: Mapping[str, str | None],
                      today: date) -> tuple[dict[str, Any], list[Problem]]:
    village = regions.normalize(_cell(typed.get("village_code")) or "")
    if village and not scope.covers(village):
        raise PermissionDenied(f"village {village} is outside your region")
    number = _cell(typed.get("number"))
    problems: list[Problem] = []
    try:
        is_village = regions.level_of(village) is RegionLevel.VILLAGE
    except regions.RegionCodeError:
        is_village = False  # the importer's rules below say what is wrong with it
    if number is None and is_village:
        number = next_number(db, village=village)
        if number is None:
            problems.append(Problem(1, "number", "", VILLAGE_FULL, {"code": village}))
    ([values], found) = _checked(Kind.HOUSEHOLDS,
                                 [{**typed, "village_code": village, "number": number}], [1],
                                 today)
    problems += found
    if is_village and db.get(RegionRecord, village) is None:
        problems.append(Problem(1, "village_code", village, NO_VILLAGE, {"code": village}))
    if number is not None and db.scalar(select(HouseholdRecord.id).where(
            HouseholdRecord.number == number)) is not None:
        problems.append(Problem(1, "number", number, NUMBER_TAKEN, {"number": number}))
    return values, problems


def _id_problems(db: Session, scope: Scope, values: Mapping[str, Any], row: int = 1,
                 member_id: int | None = None) -> list[Problem]:
    """An ID number may belong to one person only (the importer's database check)."""
    id_number = values.get("id_number")
    if id_number is None:
        return []
    other = db.execute(
        select(HouseholdRecord.number, HouseholdRecord.village_code, MemberRecord.id)
        .join(MemberRecord, MemberRecord.household_id == HouseholdRecord.id)
        .where(MemberRecord.id_number == id_number)).first()
    if other is None or other.id == member_id:
        return []
    if scope.covers(other.village_code):  # a number outside the user's region stays unnamed
        return [Problem(row, "id_number", id_number, ID_ELSEWHERE, {"other": other.number})]
    return [Problem(row, "id_number", id_number, ID_HIDDEN)]


def _member_rows(db: Session, scope: Scope, number: str | None,
                 typed: Sequence[Mapping[str, str | None]],
                 today: date) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The member rows that hold anything, checked together; problems on members.{i}.*."""
    kept = [(i, row) for i, row in enumerate(typed[:MAX_MEMBERS])
            if any(_cell(v) for k, v in row.items() if k in MEMBER_FIELDS)]
    if not kept:
        return [], [Problem(1, "members.0.relation", "", HEAD_NEEDED)]
    rows, found = _checked(Kind.MEMBERS, [{**r, "household_number": number} for _, r in kept],
                           [i + 1 for i, _ in kept], today)
    for (i, _), values in zip(kept, rows, strict=True):
        found += _id_problems(db, scope, values, i + 1)
    if not any(v["relation"] == Relation.HEAD.value for v in rows):
        found.append(Problem(kept[0][0] + 1, "relation", "", HEAD_NEEDED))
    problems = [replace(p, column=f"members.{p.row - 1}.{p.column}") for p in found
                if p.column != "household_number"]
    return rows, problems


def register_household(
    db: Session, *, scope: Scope, household: Mapping[str, str | None],
    members: Sequence[Mapping[str, str | None]], actor: str, today: date,
) -> HouseholdRecord:
    """A new household in a village of ``scope`` with its members (one of them the head)."""
    values, problems = _household_values(db, scope, household, today)
    people, member_problems = _member_rows(db, scope, values["number"], members, today)
    _refuse(problems + member_problems)
    record = HouseholdRecord(**values)
    db.add(record)
    for person in people:
        db.add(MemberRecord(household=record, **{n: person[n] for n in MEMBER_FIELDS}))
    _flush(db)
    audit.record(db, actor=actor, action="add", entity="household", entity_id=record.number,
                 after={**values, "members": [_row(m, MEMBER_FIELDS) for m in record.members]})
    return record


# -- one member -----------------------------------------------------------------------------

def household(db: Session, *, scope: Scope, number: str) -> dict[str, Any]:
    """A household in scope (its number and village), for a form that adds to it."""
    record = _household(db, scope, number)
    return {"number": record.number, "village_code": record.village_code}


def member(db: Session, *, scope: Scope, number: str, member_id: int) -> dict[str, Any]:
    """One member of a household in scope, as plain data (with its version)."""
    record = db.get(MemberRecord, member_id)
    if record is None or record.household.number != number or not scope.covers(
            record.household.village_code):
        raise NotFound(f"member {member_id} of household {number} not found")
    return {"id": record.id, "version": record.version, **_row(record, MEMBER_FIELDS)}


def _head_problem(record: HouseholdRecord, values: Mapping[str, Any],
                  member_id: int | None) -> list[Problem]:
    if values.get("relation") != Relation.HEAD.value:
        return []
    head = next((m for m in record.members if m.relation == Relation.HEAD.value
                 and m.id != member_id), None)
    return [] if head is None else [Problem(1, "relation", "", HEAD_TAKEN, {"head": head.name})]


def add_member(db: Session, *, scope: Scope, number: str, values: Mapping[str, str | None],
               actor: str, today: date) -> MemberRecord:
    """A new member of a household in scope, by the importer's rules for a member row."""
    record = _household(db, scope, number)
    ([person], problems) = _checked(Kind.MEMBERS, [{**values, "household_number": number}],
                                    [1], today)
    problems += _id_problems(db, scope, person)
    problems += _head_problem(record, person, None)
    _refuse(problems)
    added = MemberRecord(household=record, **{n: person[n] for n in MEMBER_FIELDS})
    db.add(added)
    _flush(db)
    audit.record(db, actor=actor, action="add", entity="member", entity_id=str(added.id),
                 after={"household_number": number, **_row(added, MEMBER_FIELDS)})
    return added


def edit_member(db: Session, *, scope: Scope, number: str, member_id: int,
                expected_version: int, changes: Mapping[str, str | None], actor: str,
                today: date) -> MemberRecord:
    """households.edit_member for a member of household ``number``, with the import's
    checks against the other households (ID number) and members (one head)."""
    current = member(db, scope=scope, number=number, member_id=member_id)
    if current["version"] == expected_version:  # a stale edit is refused there, first
        typed = {**{n: _text(current[n]) for n in MEMBER_FIELDS}, **changes}
        ([person], problems) = _checked(Kind.MEMBERS, [{**typed, "household_number": number}],
                                        [1], today)
        record = _household(db, scope, number)
        problems += _id_problems(db, scope, person, member_id=member_id)
        problems += _head_problem(record, person, member_id)
        _refuse(problems)
    return households.edit_member(db, scope=scope, member_id=member_id,
                                  expected_version=expected_version, changes=changes,
                                  actor=actor, today=today)


# -- a year's survey ------------------------------------------------------------------------

def survey(db: Session, *, scope: Scope, number: str, year: int) -> dict[str, Any]:
    """The survey of ``year`` (None if not entered yet) and the household's living members."""
    record = _household(db, scope, number)
    stored = next((s for s in record.surveys if s.year == year), None)
    living = sum(1 for m in record.members if m.deceased_date is None)
    return {"survey": None if stored is None else _row(stored, SURVEY_FIELDS),
            "living_members": living}


def enter_survey(
    db: Session, *, scope: Scope, number: str, year: int, values: Mapping[str, str | None],
    seen: Mapping[str, str] | None, actor: str, today: date,
) -> SurveyRecord:
    """Enter or correct the survey of ``year``, unless it changed since the form showed it.

    The survey table has no version column: ``seen`` (the values the form was opened with,
    as text; all empty for a survey not entered yet) is compared with what is stored, and a
    difference is refused as StaleVersion carrying the stored values. ``None`` skips this.
    """
    record = _household(db, scope, number)
    stored = next((s for s in record.surveys if s.year == year), None)
    before = None if stored is None else _row(stored, SURVEY_FIELDS)
    now = {n: _text(before[n]) if before else None for n in SURVEY_FIELDS}
    if seen is not None and any((now[n] or "") != (seen.get(n) or "") for n in SURVEY_FIELDS):
        raise StaleVersion(f"the survey of {year} of household {number} changed meanwhile",
                           before or dict.fromkeys(SURVEY_FIELDS))
    ([checked], problems) = _checked(
        Kind.SURVEYS, [{**values, "household_number": number, "year": str(year)}], [1], today)
    _refuse(problems)
    if stored is None:
        stored = SurveyRecord(household=record, year=year)
        db.add(stored)
    for name in SURVEY_FIELDS:
        setattr(stored, name, checked[name])
    _flush(db)
    after = _row(stored, SURVEY_FIELDS)
    if after != before:
        audit.record(db, actor=actor, action="add" if before is None else "edit",
                     entity="survey", entity_id=f"{number}/{year}", before=before, after=after)
    return stored
