"""Registering households and members by hand, as the importer would.

A form hands in text as typed. Every row goes through the importer's own validation
(``io.validate``: cell types, rules across fields, duplicates inside the household) and then
through the checks the importer makes against the database (an ID number registered in
another household, a second head). Problems of member row ``i`` of a new household are
reported on the column ``members.{i}.{field}`` so a form can show each next to its field.
A collision with a record outside the principal's scope names nothing: it is a probe
(services.access.probes), counted, audited and, repeated, refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel, Relation
from tuopin.domain.errors import Message, NotFound, PermissionDenied, ValidationFailed
from tuopin.i18n import N_
from tuopin.io.cells import as_text
from tuopin.io.problems import Problem
from tuopin.io.readers import RawFile
from tuopin.io.schema import Kind, field_names
from tuopin.io.validate import validate_file
from tuopin.services import audit, records
from tuopin.services.access import probes
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import ProbeLimiter
from tuopin.services.registry import households
from tuopin.storage.models import HouseholdRecord, MemberRecord, RegionRecord
from tuopin.storage.scope import in_region

SEQUENCE_DIGITS = 4  # a household number is its village code and a 4-digit sequence
MAX_MEMBERS = 30  # the importer's largest household size
MEMBER_FIELDS = [n for n in field_names(Kind.MEMBERS) if n != "household_number"]
HOUSEHOLD_FIELDS = field_names(Kind.HOUSEHOLDS)

VILLAGE_OUTSIDE = N_("Village {code} is outside your region.")
HEAD_NEEDED = N_("A household needs a head: mark one member as the head.")
NUMBER_TAKEN = N_("Household number {number} is already registered.")
ID_ELSEWHERE = N_("This ID number is already registered in household {other} (database).")
NOT_OF_VILLAGE = N_("A household number starts with its village's code ({code}).")
HEAD_TAKEN = N_("The household already has a head in the database ({head}).")
NO_VILLAGE = N_("Village {code} is not in the registry: import the regions first.")
VILLAGE_FULL = N_("Village {code} has no free household number left; type one.")


def _text(value: Any) -> str | None:
    return None if value is None else as_text(value)


def _cell(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def checked_rows(kind: Kind, rows: Sequence[Mapping[str, str | None]], numbers: Sequence[int],
             today: date) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Rows checked together by the importer's rules (so duplicates between them count)."""
    names = field_names(kind)
    table = pa.table({f"c{i}": pa.array([_cell(r.get(n)) for r in rows], pa.string())
                      for i, n in enumerate(names)})
    raw = RawFile(Path("form"), names, table, pa.array(numbers, pa.int64()), None, "")
    checked = validate_file(raw, kind, today=today)
    return checked.table.to_pylist(), checked.problems


class _Entry:
    """What one registration found: its problems and its collisions outside the scope."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.probed: dict[str, list[str]] = {"id_number": [], "number": []}

    def outside(self, what: str, problem: Problem) -> None:
        self.probed[what].append(problem.value)
        self.problems.append(replace(problem, reason=probes.ASK_THE_COUNTY, params={}))

    def refuse(self, db: Session, principal: Principal, limiter: ProbeLimiter | None) -> None:
        """Refuse the entry if it has problems; collisions outside the scope are recorded."""
        for what, values in self.probed.items():
            probes.record(db, principal=principal, what=what, values=values, limiter=limiter)
        if any(self.probed.values()):
            raise probes.refuse(self.problems)
        if self.problems:
            raise ValidationFailed(f"{len(self.problems)} problems", self.problems)


def _row(record: Any, names: Sequence[str]) -> dict[str, Any]:
    return {n: getattr(record, n) for n in names}


# -- villages and numbers -------------------------------------------------------------------

@reads(Action.REGISTER)
def villages(db: Session, *, principal: Principal) -> list[dict[str, str]]:
    """The villages ``principal`` may register households in, in code order."""
    rows = db.execute(select(RegionRecord.code, RegionRecord.name).where(
        RegionRecord.level == int(RegionLevel.VILLAGE),
        in_region(principal.scope, RegionRecord.code))
        .order_by(RegionRecord.code))
    return [{"code": r.code, "name": r.name} for r in rows]


def _village_in_scope(db: Session, principal: Principal, code: str) -> str:
    """A registered village in ``principal``'s region (another region: 403; none: 404)."""
    normal = regions.normalize(code)
    try:
        level = regions.level_of(normal)
    except regions.RegionCodeError as exc:
        raise NotFound(f"village {code} not found") from exc
    if not principal.scope.covers(normal):
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


@reads(Action.REGISTER)
def new_household_defaults(db: Session, *, principal: Principal,
                           village: str | None) -> dict[str, Any]:
    """What the registration form offers: the villages in scope, the chosen one, its number."""
    choices = villages(db, principal=principal)
    if village is None and len(choices) == 1:
        village = choices[0]["code"]
    code = _village_in_scope(db, principal, village) if village else None
    return {"villages": choices, "village": code,
            "next_number": next_number(db, village=code) if code else None}


# -- a new household with its members -------------------------------------------------------

def _household_values(db: Session, principal: Principal, typed: Mapping[str, str | None],
                      today: date, entry: _Entry) -> dict[str, Any]:
    village = regions.normalize(_cell(typed.get("village_code")) or "")
    if village and not principal.scope.covers(village):
        raise PermissionDenied(Message(VILLAGE_OUTSIDE, code=village))
    number = _cell(typed.get("number"))
    problems = entry.problems
    try:
        is_village = regions.level_of(village) is RegionLevel.VILLAGE
    except regions.RegionCodeError:
        is_village = False  # the importer's rules below say what is wrong with it
    if number is None and is_village:
        number = next_number(db, village=village)
        if number is None:
            problems.append(Problem(1, "number", "", VILLAGE_FULL, {"code": village}))
    ([values], found) = checked_rows(Kind.HOUSEHOLDS,
                                 [{**typed, "village_code": village, "number": number}], [1],
                                 today)
    problems += found
    if is_village and db.get(RegionRecord, village) is None:
        problems.append(Problem(1, "village_code", village, NO_VILLAGE, {"code": village}))
    if number is not None and is_village and not number.startswith(village):
        # another village's number: refused as such, never looked up (no oracle)
        problems.append(Problem(1, "number", number, NOT_OF_VILLAGE, {"code": village}))
        return values
    taken = None if number is None else db.scalar(select(HouseholdRecord.village_code).where(
        HouseholdRecord.number == number))
    if number is not None and taken is not None:
        problem = Problem(1, "number", number, NUMBER_TAKEN, {"number": number})
        if principal.scope.covers(taken):
            problems.append(problem)
        else:
            entry.outside("number", problem)
    return values


def _id_problems(db: Session, principal: Principal, values: Mapping[str, Any],
                 entry: _Entry, row: int = 1, member_id: int | None = None,
                 column: str = "id_number") -> None:
    """An ID number may belong to one person only (the importer's database check); one of a
    person outside the principal's scope stays unnamed and counts as a probe."""
    id_number = values.get("id_number")
    if id_number is None:
        return
    other = db.execute(
        select(HouseholdRecord.number, HouseholdRecord.village_code, MemberRecord.id)
        .join(MemberRecord, MemberRecord.household_id == HouseholdRecord.id)
        .where(MemberRecord.id_number == id_number)).first()
    if other is None or other.id == member_id:
        return
    if principal.scope.reaches(village_code=other.village_code, number=other.number):
        entry.problems.append(Problem(row, column, id_number, ID_ELSEWHERE,
                                      {"other": other.number}))
    else:
        entry.outside("id_number", Problem(row, column, id_number, ID_ELSEWHERE))


def _member_rows(db: Session, principal: Principal, number: str | None,
                 typed: Sequence[Mapping[str, str | None]], today: date,
                 entry: _Entry) -> list[dict[str, Any]]:
    """The member rows that hold anything, checked together; problems on members.{i}.*."""
    kept = [(i, row) for i, row in enumerate(typed[:MAX_MEMBERS])
            if any(_cell(v) for k, v in row.items() if k in MEMBER_FIELDS)]
    if not kept:
        entry.problems.append(Problem(1, "members.0.relation", "", HEAD_NEEDED))
        return []
    rows, found = checked_rows(Kind.MEMBERS, [{**r, "household_number": number} for _, r in kept],
                           [i + 1 for i, _ in kept], today)
    entry.problems += [replace(p, column=f"members.{p.row - 1}.{p.column}") for p in found
                       if p.column != "household_number"]
    for (i, _), values in zip(kept, rows, strict=True):
        _id_problems(db, principal, values, entry, i + 1, column=f"members.{i}.id_number")
    if not any(v["relation"] == Relation.HEAD.value for v in rows):
        entry.problems.append(Problem(kept[0][0] + 1, f"members.{kept[0][0]}.relation", "",
                                      HEAD_NEEDED))
    return rows


@changes(Action.REGISTER)
def register_household(
    db: Session, *, principal: Principal, household: Mapping[str, str | None],
    members: Sequence[Mapping[str, str | None]], today: date,
    probe_limiter: ProbeLimiter | None = None,
) -> dict[str, Any]:
    """A new household in a village of the principal's region with its members (one of them
    the head); returns its number, village and members as plain data."""
    probes.check(db, principal=principal, limiter=probe_limiter)
    entry = _Entry()
    values = _household_values(db, principal, household, today, entry)
    people = _member_rows(db, principal, values["number"], members, today, entry)
    entry.refuse(db, principal, probe_limiter)
    record = HouseholdRecord(**values)
    db.add(record)
    for person in people:
        db.add(MemberRecord(household=record, **{n: person[n] for n in MEMBER_FIELDS}))
    records.flush(db, what=N_("The household"))
    added = [_row(m, MEMBER_FIELDS) for m in record.members]
    audit.record(db, actor=principal.actor, action="add", entity="household",
                 entity_id=record.number, after={**values, "members": added})
    return {"number": record.number, "village_code": record.village_code, "members": added}


# -- one member -----------------------------------------------------------------------------

@reads(Action.EDIT_REGISTRY)
def household(db: Session, *, principal: Principal, number: str) -> dict[str, Any]:
    """A household in scope (its number and village), for a form that adds to it."""
    record = records.household(db, principal=principal, number=number)
    return {"number": record.number, "village_code": record.village_code}


@reads(Action.EDIT_REGISTRY)
def member(db: Session, *, principal: Principal, number: str,
           member_id: int) -> dict[str, Any]:
    """One member of a household in scope, as plain data (with its version)."""
    record = records.member(db, principal=principal, member_id=member_id, number=number)
    return _member_data(record)


def _member_data(record: MemberRecord) -> dict[str, Any]:
    return {"id": record.id, "version": record.version, **_row(record, MEMBER_FIELDS)}


def _head_problem(record: HouseholdRecord, values: Mapping[str, Any],
                  member_id: int | None) -> list[Problem]:
    if values.get("relation") != Relation.HEAD.value:
        return []
    head = next((m for m in record.members if m.relation == Relation.HEAD.value
                 and m.id != member_id), None)
    return [] if head is None else [Problem(1, "relation", "", HEAD_TAKEN, {"head": head.name})]


@changes(Action.EDIT_REGISTRY)
def add_member(db: Session, *, principal: Principal, number: str,
               values: Mapping[str, str | None], today: date,
               probe_limiter: ProbeLimiter | None = None) -> dict[str, Any]:
    """A new member of a household in scope, by the importer's rules for a member row."""
    probes.check(db, principal=principal, limiter=probe_limiter)
    record = records.household(db, principal=principal, number=number, lock=True)
    ([person], problems) = checked_rows(Kind.MEMBERS, [{**values, "household_number": number}],
                                    [1], today)
    entry = _Entry()
    entry.problems += problems + _head_problem(record, person, None)
    _id_problems(db, principal, person, entry)
    entry.refuse(db, principal, probe_limiter)
    added = MemberRecord(household=record, **{n: person[n] for n in MEMBER_FIELDS})
    db.add(added)
    records.flush(db, what=N_("The member"))
    audit.record(db, actor=principal.actor, action="add", entity="member",
                 entity_id=str(added.id),
                 after={"household_number": number, **_row(added, MEMBER_FIELDS)})
    return _member_data(added)


@changes(Action.EDIT_REGISTRY)
def edit_member(db: Session, *, principal: Principal, number: str, member_id: int,
                expected_version: int, changes: Mapping[str, str | None], today: date,
                probe_limiter: ProbeLimiter | None = None) -> dict[str, Any]:
    """Correct a member of household ``number`` by the importer's rules for a member row,
    with its checks against the other households (ID number) and members (one head)."""
    probes.check(db, principal=principal, limiter=probe_limiter)
    record = records.member(db, principal=principal, member_id=member_id, number=number)
    if record.version == expected_version:  # a stale edit is refused below, first
        typed = {**{n: _text(getattr(record, n)) for n in MEMBER_FIELDS}, **changes}
        ([person], problems) = checked_rows(Kind.MEMBERS, [{**typed, "household_number": number}],
                                        [1], today)
        entry = _Entry()
        entry.problems += problems + _head_problem(record.household, person, member_id)
        _id_problems(db, principal, person, entry, member_id=member_id)
        entry.refuse(db, principal, probe_limiter)
    edited = _save_member(db, principal=principal, record=record,
                          expected_version=expected_version, changes=changes, today=today)
    return _member_data(edited)


def _save_member(
    db: Session, *, principal: Principal, record: MemberRecord, expected_version: int,
    changes: Mapping[str, str | None], today: date,
) -> MemberRecord:
    """Apply typed-in changes to a member already found in scope (ID number, sex and birth
    date must agree); the registration service adds its checks against other records."""
    names = [n for n in field_names(Kind.MEMBERS) if n != "household_number"]
    before = households.snapshot(record, names)
    records.check_version(N_("The member"), found=record.version, expected=expected_version,
                          current=before)
    typed = {**{n: _text(v) for n, v in before.items()},
             "household_number": record.household.number, **changes}
    values = households.validated_row(Kind.MEMBERS, typed, today)
    for name in names:
        setattr(record, name, values[name])
    records.flush(db, what=N_("The member"))
    after = households.snapshot(record, names)
    if after != before:
        audit.record(db, actor=principal.actor, action="edit", entity="member",
                     entity_id=str(record.id), before=before, after=after)
    return record
