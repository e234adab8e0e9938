"""Findings: what the verifiers found at each household drawn, imported from the filled
field lists or recorded one household at a time.

Both go through the importer's rules (io.readers, io.cells): every cell typed and checked,
every problem reported with its row, column, value and reason, and nothing written unless
the whole file is clean. The rules of a finding: a visited household has its size and the
verifier's judgement; one not visited has a reason and nothing else; a wrong exit is judged
only of an exited household and a missed poor one only of a household never registered;
the household must be one the plan drew (and within the verifier's region). Findings are
recorded while the plan is released, never after it is closed. Each import and each
household recorded is an audit event.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from tuopin.domain.enums import HousingGrade
from tuopin.domain.errors import NotFound, RuleBroken, ValidationFailed
from tuopin.domain.verification import ERROR_OF_FRAME, Judgement, NotVisited, PlanState
from tuopin.i18n import N_, gettext
from tuopin.io.cells import parse
from tuopin.io.problems import Problem
from tuopin.io.raw import RawFile, file_error
from tuopin.io.readers import read_file
from tuopin.io.schema import Field, FieldType, Kind, fields
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.verification import plans
from tuopin.storage.models import (
    VerificationFindingRecord,
    VerificationPlanRecord,
    VerificationSampleRecord,
    table_of,
)
from tuopin.storage.scope import in_region

T = FieldType
# the survey's measurements, as the annual survey takes them (none required here: a
# household not visited has none)
_SURVEY = {f.name: dataclasses.replace(f, required=False) for f in fields(Kind.SURVEYS)}
MEASURED = ("household_size", "wage_income", "production_income", "property_income",
            "transfer_income", "production_costs", "medical_expenses", "food_secure",
            "clothing_secure", "schooling_secure", "medical_secure", "housing_grade",
            "water_quantity_lpd", "water_piped", "water_trip_minutes", "water_outage_days",
            "water_quality_ok", "water_scarce_area")
FIELDS: tuple[Field, ...] = (
    Field("household_number", "Household number", T.TEXT, True, example="6211210010010001",
          max_length=32),
    Field("visited", "Visited", T.BOOLEAN, True, example="是"),
    Field("not_visited_reason", "Reason not visited", T.ENUM, False, NotVisited,
          example=""),
    Field("visited_on", "Visited on", T.DATE, example="2020-11-20"),
    *(_SURVEY[name] for name in MEASURED[:9]),
    Field("schooling_secure", "Compulsory schooling secured", T.BOOLEAN, example="是"),
    Field("medical_secure", "Basic medical care secured", T.BOOLEAN, example="是"),
    dataclasses.replace(_SURVEY["housing_grade"], required=False, enum=HousingGrade),
    *(_SURVEY[name] for name in MEASURED[12:]),
    Field("judgement", "Judgement", T.ENUM, False, Judgement, example="correct"),
    Field("approval", "Approves of the poverty alleviation work", T.BOOLEAN, example="是"),
    Field("note", "Note", T.TEXT, example="", max_length=500),
)
NAMES = tuple(spec.name for spec in FIELDS)
STORED = tuple(n for n in NAMES if n != "household_number")
NOT_RELEASED = N_("Findings are recorded while the plan is released to the verifiers; it is "
                  "{state}.")
NOT_DRAWN = N_("The household is not in this plan's sample.")
NEEDED_WHEN_VISITED = N_("A visited household needs this.")
NEEDED_WHEN_NOT_VISITED = N_("Give the reason the household was not visited.")
EMPTY_WHEN_NOT_VISITED = N_("A household not visited has no findings: leave this empty.")
WRONG_FRAME = N_("This judgement is made only of {frame}.")
DUPLICATE = N_("The same household is already on row {other}.")
FUTURE = N_("The date is in the future.")
BEFORE_RELEASE = N_("The visit is dated before the list was released ({released}).")
UNKNOWN_COLUMNS = N_("The header row matches no column of the findings. Expected columns "
                     "such as: {expected}.")
MISSING_COLUMN = N_("The required column {name} is missing.")
FINDING = N_("The finding")


@dataclass
class Checked:
    """A findings file typed and checked: a table of the fields, and what was wrong."""

    table: pa.Table
    rows: np.ndarray  # the file's row number of each table row
    headers: dict[str, str]  # field -> the header it was found under
    raw: dict[str, pa.Array]
    problems: list[Problem] = field(default_factory=list)

    def add(self, position: int, name: str, reason: str, **params: object) -> None:
        cells = self.raw.get(name)
        value = cells[position].as_py() if cells is not None else None
        self.problems.append(Problem(int(self.rows[position]), self.headers.get(name, name),
                                     value or "", reason, params))


def _positions(headers: list[str]) -> dict[str, int]:
    index = {label.strip().lower(): spec for spec in FIELDS
             for label in (spec.name, spec.header("en"), spec.header("zh"))}
    found = {}
    for position, header in enumerate(headers):
        spec = index.get(header.strip().lower())
        if spec is not None and spec.name not in found:
            found[spec.name] = position
    if not found:
        raise file_error(UNKNOWN_COLUMNS,
                         expected=", ".join(spec.header("zh") for spec in FIELDS[:4]))
    missing = [Problem(1, spec.header("zh"), "", MISSING_COLUMN,
                       {"name": {"zh": spec.header("zh"), "en": spec.name}})
               for spec in FIELDS if spec.required and spec.name not in found]
    if missing:
        raise ValidationFailed(f"{len(missing)} problems in the header row", missing)
    return found


def check_cells(raw: RawFile, *, today: date) -> Checked:
    """Type every column of a findings file and apply the rules within each row."""
    positions = _positions(raw.headers)
    n = len(raw)
    checked = Checked(pa.table({}), raw.rows.to_numpy(),
                      {name: raw.headers[i] for name, i in positions.items()}, {})
    arrays = {}
    for spec in FIELDS:
        cells = (raw.table.column(positions[spec.name]).combine_chunks()
                 if spec.name in positions else pa.nulls(n, pa.string()))
        checked.raw[spec.name] = cells
        parsed = parse(cells, spec, today=today)
        for position, reason, params in parsed.bad:
            checked.add(position, spec.name, reason, **params)
        arrays[spec.name] = parsed.values
        if spec.required:
            for at in np.flatnonzero(cells.is_null().to_numpy(zero_copy_only=False)):
                checked.add(int(at), spec.name, "A value is required.")
    checked.table = pa.table(arrays)
    _row_rules(checked, today)
    return checked


def _row_rules(checked: Checked, today: date) -> None:
    first: dict[str, int] = {}
    for position, row in enumerate(checked.table.to_pylist()):
        number = row["household_number"]
        if number is not None:
            if number in first:
                checked.add(position, "household_number", DUPLICATE,
                            other=int(checked.rows[first[number]]))
            else:
                first[number] = position
        if row["visited_on"] is not None and row["visited_on"] > today:
            checked.add(position, "visited_on", FUTURE)
        if row["visited"] is True:
            for name in ("household_size", "judgement"):
                if row[name] is None and checked.raw[name][position].as_py() is None:
                    checked.add(position, name, NEEDED_WHEN_VISITED)
            if row["not_visited_reason"] is not None:
                checked.add(position, "not_visited_reason", EMPTY_WHEN_NOT_VISITED)
        elif row["visited"] is False:
            if checked.raw["not_visited_reason"][position].as_py() is None:
                checked.add(position, "not_visited_reason", NEEDED_WHEN_NOT_VISITED)
            for name in ("visited_on", *MEASURED, "judgement", "approval"):
                if checked.raw[name][position].as_py() is not None:
                    checked.add(position, name, EMPTY_WHEN_NOT_VISITED)


@reads(Action.READ_VERIFICATION)
def sample_rows(db: Session, *, principal: Principal, plan_id: int,
                village: str | None = None) -> list[dict[str, Any]]:
    """The households a plan drew that ``principal`` may reach (only ``village``'s if given),
    in the order of the draw, each with its finding so far (None where none)."""
    record = plans.find(db, principal=principal, plan_id=plan_id, need_list=True)
    s, f = VerificationSampleRecord, VerificationFindingRecord
    scope = principal.within(village).scope
    columns = [*table_of(s).columns, *(getattr(f, n) for n in STORED), f.recorded_by,
               f.recorded_on, f.version.label("finding_version")]
    query = (select(*columns).outerjoin(f, f.sample_id == s.id)
             .where(s.plan_id == record.id, in_region(scope, s.village_code))
             .order_by(s.position))
    return [dict(row) for row in db.execute(query).mappings()]


def _open_plan(db: Session, principal: Principal, plan_id: int) -> VerificationPlanRecord:
    record = plans.find(db, principal=principal, plan_id=plan_id, lock=True, need_list=True)
    if record.state != PlanState.RELEASED.value:
        raise RuleBroken(NOT_RELEASED, state=PlanState.of(record.state).title)
    return record


@dataclass(frozen=True)
class Drawn:
    """A household drawn, as the findings need it."""

    id: int
    frame: str


def _drawn(db: Session, principal: Principal, record: VerificationPlanRecord,
           numbers: list[str]) -> dict[str, Drawn]:
    s = VerificationSampleRecord
    found = db.execute(select(s.household_number, s.id, s.frame).where(
        s.plan_id == record.id, s.household_number.in_(sorted(set(numbers))),
        in_region(principal.scope, s.village_code)))
    return {number: Drawn(sample_id, frame) for number, sample_id, frame in found}


def _sample_rules(checked: Checked, drawn: Mapping[str, Drawn],
                  released: date | None) -> None:
    for position, row in enumerate(checked.table.to_pylist()):
        sample = drawn.get(row["household_number"] or "")
        if sample is None:
            if row["household_number"] is not None:
                checked.add(position, "household_number", NOT_DRAWN)
            continue
        judgement = row["judgement"]
        for frame, error in ERROR_OF_FRAME.items():
            if judgement == error.value and sample.frame != frame.value:
                checked.add(position, "judgement", WRONG_FRAME,
                            frame={"zh": gettext(frame.title, "zh"), "en": frame.title})
        if released and row["visited_on"] is not None and row["visited_on"] < released:
            checked.add(position, "visited_on", BEFORE_RELEASE, released=released.isoformat())


@dataclass
class FindingsResult:
    """What an import of findings found and did (nothing is written unless it is clean)."""

    plan: int
    rows: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    written: bool = False


def _values(row: Mapping[str, Any]) -> dict[str, Any]:
    return {n: row[n] for n in STORED}


def _write(db: Session, principal: Principal, record: VerificationPlanRecord,
           rows: list[dict[str, Any]], drawn: Mapping[str, Drawn],
           today: date, result: FindingsResult) -> None:
    f = VerificationFindingRecord
    ids = [drawn[r["household_number"]].id for r in rows]
    existing = {x.sample_id: x for x in db.scalars(select(f).where(f.sample_id.in_(ids)))}
    new = []
    for row, sample_id in zip(rows, ids, strict=True):
        values = _values(row)
        known = existing.get(sample_id)
        if known is None:
            new.append({**values, "plan_id": record.id, "sample_id": sample_id,
                        "recorded_by": principal.actor, "recorded_on": today, "version": 1})
        elif {n: getattr(known, n) for n in STORED} == values:
            result.unchanged += 1
        else:
            for name, value in values.items():
                setattr(known, name, value)
            known.recorded_by, known.recorded_on = principal.actor, today
            result.updated += 1
    if new:
        db.execute(insert(table_of(f)), new)
    result.inserted = len(new)
    records.flush(db, what=FINDING)


def _checked_against_plan(db: Session, principal: Principal, record: VerificationPlanRecord,
                          checked: Checked) -> dict[str, Drawn]:
    numbers = [n for n in checked.table.column("household_number").to_pylist() if n]
    drawn = _drawn(db, principal, record, numbers)
    _sample_rules(checked, drawn, record.released_on)
    return drawn


@changes(Action.RECORD_FINDINGS)
def import_findings(db: Session, *, principal: Principal, plan_id: int, path: Path,
                    today: date, encoding: str | None = None, sheet: str | None = None,
                    dry_run: bool = False, name: str | None = None,
                    max_rows: int | None = None,
                    max_unpacked_bytes: int | None = None) -> FindingsResult:
    """Import a filled field list (XLSX or CSV) into a released plan: all rows, or - at the
    first problem anywhere in the file - none (ValidationFailed with every problem).
    ``name`` is what problems call the file (an upload's own name); ``max_rows`` and
    ``max_unpacked_bytes`` are an upload's limits (None: none)."""
    record = _open_plan(db, principal, plan_id)
    raw = read_file(path, encoding=encoding, sheet=sheet, name=name, max_rows=max_rows,
                    max_unpacked_bytes=max_unpacked_bytes)
    checked = check_cells(raw, today=today)
    drawn = _checked_against_plan(db, principal, record, checked)
    result = FindingsResult(record.id, len(raw),
                            problems=sorted(checked.problems, key=lambda p: (p.row, p.column)))
    if result.problems:
        raise ValidationFailed(f"{len(result.problems)} problems", result.problems)
    if dry_run:
        return result
    _write(db, principal, record, checked.table.to_pylist(), drawn, today, result)
    result.written = True
    audit.record(db, actor=principal.actor, action="import", entity="verification_finding",
                 entity_id=str(record.id),
                 after={"file": name or path.name, "sha256": raw.sha256, "rows": len(raw),
                        "inserted": result.inserted, "updated": result.updated,
                        "unchanged": result.unchanged})
    return result


def _form(values: Mapping[str, str | None], number: str) -> RawFile:
    names = list(NAMES)
    cells = {**values, "household_number": number}
    table = pa.table({f"c{i}": pa.array([_text(cells.get(n))], pa.string())
                      for i, n in enumerate(names)})
    return RawFile(Path("form"), names, table, pa.array([1], pa.int64()), None, "")


def _text(value: str | None) -> str | None:
    return value if value is None or value.strip() else None


@changes(Action.RECORD_FINDINGS)
def record_finding(db: Session, *, principal: Principal, plan_id: int, number: str,
                   values: Mapping[str, str | None], today: date,
                   expected_version: int | None = None) -> dict[str, Any]:
    """Record (or correct) the finding at one household drawn, from a form's text values,
    unless it changed since the form showed version ``expected_version``."""
    record = _open_plan(db, principal, plan_id)
    checked = check_cells(_form(values, number), today=today)
    drawn = _checked_against_plan(db, principal, record, checked)
    if number not in drawn:  # not drawn, or outside the verifier's region: as if absent
        raise NotFound(f"household {number} not found in verification plan {plan_id}")
    if checked.problems:
        raise ValidationFailed(f"{len(checked.problems)} problems", checked.problems)
    sample = drawn[number]
    f = VerificationFindingRecord
    known = db.scalars(select(f).where(f.sample_id == sample.id).with_for_update()).first()
    before = None if known is None else {n: getattr(known, n) for n in STORED}
    if known is not None:
        records.check_version(FINDING, found=known.version, expected=expected_version,
                              current=before or {})
    result = FindingsResult(record.id, 1)
    _write(db, principal, record, checked.table.to_pylist(), drawn, today, result)
    stored = db.scalars(select(f).where(f.sample_id == sample.id)).one()
    after = {n: getattr(stored, n) for n in STORED}
    if after != before:
        audit.record(db, actor=principal.actor, action="add" if before is None else "edit",
                     entity="verification_finding", entity_id=f"{record.id}/{number}",
                     before=before, after=after)
    return {"plan": record.id, "household_number": number, **after,
            "version": stored.version}
