"""Importing the submissions of a phone survey (ODK Central, KoboToolbox) exactly once.

An export is read (io.odk) into the survey rows and the member rows of its submissions, and
both go through the very checks of the survey and member importers - in one transaction, all
or nothing. What the file importers do not know is identity: a submission is its stable
instance id (Central's KEY, Kobo's root uuid), which an edit keeps. So:

- importing the same export again changes nothing (the merges find every row unchanged);
- a later export with an edited submission replaces that household's survey and updates its
  members - the survey it replaced is kept in the audit trail - and makes no second survey;
- a survey that came from another submission is not overwritten: both submissions are for
  the same household and year, and a person has to reject one of them;
- submissions rejected in review are skipped and counted.

Each survey keeps where it came from (``survey_submission``: instance id, form version,
submitter, submission time), which the household page shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from tuopin.i18n import N_
from tuopin.io.odk import OdkExport, read_export
from tuopin.io.problems import Problem
from tuopin.io.schema import Kind
from tuopin.io.validate import Validated, validate_file
from tuopin.services import audit
from tuopin.services.access import probes
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import ProbeLimiter
from tuopin.services.imports.files import ImportResult, Progress, Source
from tuopin.services.imports.files import (  # private there: the caller checks the policy
    _stage_check_merge as stage_check_merge,
)
from tuopin.services.imports.merges import merge_members
from tuopin.storage.models import (
    HouseholdRecord,
    SurveyRecord,
    SurveySubmissionRecord,
    table_of,
)

household = table_of(HouseholdRecord)
survey = table_of(SurveyRecord)
submission = table_of(SurveySubmissionRecord)

OTHER_SUBMISSION = N_("The survey of household {number} for {year} came from another "
                      "submission ({other}). Reject one of the two in the survey server and "
                      "export again.")
# what a submission record holds besides its identity and its survey's key
SOURCE_COLUMNS = ("current_id", "form_id", "form_version", "submitter", "submitted_at",
                  "source")
CHUNK = 500  # values in one IN list


@dataclass
class OdkImportResult:
    """What an import of a phone survey's export found and did."""

    path: Path
    sha256: str
    format: str
    submissions: int = 0  # in the export, rejected ones included
    rejected: int = 0  # skipped: rejected in review
    surveys: ImportResult | None = None
    members: ImportResult | None = None
    replaced: int = 0  # surveys an edited submission replaced
    recorded: int = 0  # submission records written or updated
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        """The counts, as the CLI, the web and a job's page show them."""
        def counts(result: ImportResult | None) -> tuple[int, int, int]:
            if result is None:
                return (0, 0, 0)
            if result.dry_run and result.preview is not None:
                return tuple(result.preview)  # type: ignore[return-value]
            return (result.inserted, result.updated, result.unchanged)

        return {"file": self.path.name, "format": self.format,
                "submissions": self.submissions, "rejected": self.rejected,
                "surveys": counts(self.surveys), "members": counts(self.members),
                "replaced": self.replaced, "problems": len(self.problems),
                "written": self.written, "dry_run": self.dry_run}


class _Undo(Exception):
    """Rolls the savepoint back (a dry run, or problems found)."""


@changes(Action.IMPORT)
def import_odk(
    engine: Engine, *, principal: Principal, path: Path, today: date,
    form: Path | None = None, mapping: Path | None = None, dry_run: bool = False,
    progress: Progress | None = None, max_rows: int | None = None,
) -> OdkImportResult:
    """Read an ODK Central or KoboToolbox export and import it on a transaction of its own."""
    export = read_export(path, form=form, mapping=mapping, max_rows=max_rows)
    with engine.begin() as conn, Session(bind=conn) as db:
        return import_export(db, principal=principal, export=export, today=today,
                             dry_run=dry_run, progress=progress)


@changes(Action.IMPORT)
def import_export(
    db: Session, *, principal: Principal, export: OdkExport, today: date,
    dry_run: bool = False, progress: Progress | None = None,
    probe_limiter: ProbeLimiter | None = None,
) -> OdkImportResult:
    """Import an export already read, inside ``db``'s transaction (under a savepoint): the
    members and surveys of every submission that was not rejected, or nothing."""
    probes.check(db, principal=principal, limiter=probe_limiter)
    result = OdkImportResult(export.path, export.sha256, export.format,
                             submissions=len(export.submissions),
                             rejected=sum(s.rejected for s in export.submissions),
                             dry_run=dry_run)
    surveys = validate_file(export.surveys, Kind.SURVEYS, today=today)
    members = (validate_file(export.members, Kind.MEMBERS, today=today)
               if export.members is not None and len(export.members) else None)
    source = Source(export.path.name, export.sha256, len(export.submissions))
    savepoint = db.begin_nested()
    probed: list[str] = []
    try:
        conn = db.connection()
        moved = _identity(conn, export, surveys)
        if members is not None:
            result.members = ImportResult(Kind.MEMBERS, export.path, export.sha256,
                                          len(members.rows), dry_run=dry_run)
            # a member's fields the form did not ask keep their registered values (those the
            # validation derives - sex and birth date from the ID number - are filled)
            only = frozenset(members.headers) | {
                name for name in members.table.column_names
                if members.table.column(name).null_count < members.table.num_rows}
            probed += stage_check_merge(conn, source, members, result.members, principal,
                                        False, progress,
                                        lambda c, staging: merge_members(c, staging, only))
        before = _surveys_before(conn, surveys)
        result.surveys = ImportResult(Kind.SURVEYS, export.path, export.sha256,
                                      len(surveys.rows), dry_run=dry_run)
        _remove_moved(conn, moved, principal)
        # checked and merged even when the members have problems (rolled back then): the
        # report names every problem of the export at once
        probed += stage_check_merge(conn, source, surveys, result.surveys, principal, False,
                                    progress)
        result.problems = _located(export, result)
        if result.problems:
            raise _Undo
        result.replaced = _audit_replaced(conn, export, surveys, before, principal)
        result.recorded = _record_submissions(conn, export, surveys)
        if dry_run:
            raise _Undo
    except _Undo:
        savepoint.rollback()
        if result.surveys is not None and not dry_run:
            result.surveys.inserted = result.surveys.updated = result.surveys.unchanged = 0
        if result.members is not None and not dry_run:
            result.members.inserted = result.members.updated = result.members.unchanged = 0
    except BaseException:
        savepoint.rollback()
        raise
    else:
        if probes.uses_up(db, principal=principal, count=len(probed), limiter=probe_limiter):
            savepoint.rollback()
        else:
            savepoint.commit()
            result.written = True
    if probed and not principal.operator:
        probes.record(db, principal=principal, what="id_number", values=probed,
                      limiter=probe_limiter)
    return result


def _keys(surveys: Validated) -> list[tuple[int, str, int]]:
    """(file row, household number, year) of every survey row that typed cleanly."""
    numbers = surveys.table.column("household_number").to_pylist()
    years = surveys.table.column("year").to_pylist()
    return [(int(row), number, int(year))
            for row, number, year in zip(surveys.rows, numbers, years, strict=True)
            if number is not None and year is not None]


def _identity(conn: Connection, export: OdkExport, surveys: Validated) -> list[tuple[int, int]]:
    """Check each submission against the ones imported before; returns the (household id,
    year) of surveys an edit moved to another household or year (to be removed).

    A survey of the same household and year that came from another submission is a problem
    on the new submission's household number.
    """
    keys = _keys(surveys)
    instances = {row: export.survey_of_row[row] for row, _, _ in keys}
    known = {r.instance_id: r for r in _select_submissions(
        conn, submission.c.instance_id, list(instances.values()))}
    pairs = [(number, year) for _, number, year in keys]
    taken = {(r.number, r.year): r for r in _submissions_of(conn, pairs)}
    moved: list[tuple[int, int]] = []
    for row, number, year in keys:
        instance = instances[row]
        other = taken.get((number, year))
        if other is not None and other.instance_id != instance:
            surveys.add_at_row(row, "household_number", OTHER_SUBMISSION, number=number,
                               year=year, other=other.instance_id)
        before = known.get(instance)
        if before is not None and (before.number, before.year) != (number, year):
            moved.append((before.household_id, before.year))
    return moved


def _select_submissions(conn: Connection, column: Any, values: list[Any]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(values), CHUNK):
        found += conn.execute(
            select(submission, household.c.number)
            .join(household, household.c.id == submission.c.household_id)
            .where(column.in_(values[start : start + CHUNK]))).all()
    return found


def _submissions_of(conn: Connection, pairs: list[tuple[str, int]]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(pairs), CHUNK):
        found += conn.execute(
            select(submission, household.c.number)
            .join(household, household.c.id == submission.c.household_id)
            .where(tuple_(household.c.number, submission.c.year)
                   .in_(pairs[start : start + CHUNK]))).all()
    return found


def _remove_moved(conn: Connection, moved: list[tuple[int, int]],
                  principal: Principal) -> None:
    """An edit changed a submission's household or year: its old survey goes (audited)."""
    for household_id, year in moved:
        old = conn.execute(select(survey, household.c.number)
                           .join(household, household.c.id == survey.c.household_id)
                           .where(survey.c.household_id == household_id,
                                  survey.c.year == year)).first()
        conn.execute(delete(submission).where(submission.c.household_id == household_id,
                                              submission.c.year == year))
        if old is None:
            continue
        conn.execute(delete(survey).where(survey.c.id == old.id))
        audit.record(conn, actor=principal.actor, action="remove", entity="survey",
                     entity_id=f"{old.number}/{year}",
                     before=_survey_values(old), after=None)


def _survey_values(row: Any) -> dict[str, Any]:
    skip = {"id", "household_id", "number"}
    return {k: (v.isoformat() if isinstance(v, date) else v)
            for k, v in row._mapping.items() if k not in skip}


def _surveys_before(conn: Connection, surveys: Validated) -> dict[tuple[str, int], Any]:
    """The stored surveys the rows would replace, by (household number, year)."""
    pairs = [(number, year) for _, number, year in _keys(surveys)]
    found: dict[tuple[str, int], Any] = {}
    for start in range(0, len(pairs), CHUNK):
        for row in conn.execute(
                select(survey, household.c.number)
                .join(household, household.c.id == survey.c.household_id)
                .where(tuple_(household.c.number, survey.c.year)
                       .in_(pairs[start : start + CHUNK]))):
            found[(row.number, row.year)] = row
    return found


def _audit_replaced(conn: Connection, export: OdkExport, surveys: Validated,
                    before: dict[tuple[str, int], Any], principal: Principal) -> int:
    """One audit event for every stored survey a submission changed: what it was, what it
    is now and which submission (and edit) changed it."""
    changed = 0
    by_instance = {s.instance_id: s for s in export.submissions}
    for row, number, year in _keys(surveys):
        old = before.get((number, year))
        if old is None:
            continue
        new = conn.execute(select(survey, household.c.number)
                           .join(household, household.c.id == survey.c.household_id)
                           .where(household.c.number == number, survey.c.year == year)).one()
        old_values, new_values = _survey_values(old), _survey_values(new)
        if old_values == new_values:
            continue
        sub = by_instance[export.survey_of_row[row]]
        audit.record(conn, actor=principal.actor, action="replace", entity="survey",
                     entity_id=f"{number}/{year}", before=old_values,
                     after={**new_values, "submission": sub.instance_id,
                            "edit": sub.current_id, "form_version": sub.form_version,
                            "submitted_at": sub.submitted_at, "file": export.path.name})
        changed += 1
    return changed


def _record_submissions(conn: Connection, export: OdkExport, surveys: Validated) -> int:
    """Insert or update the submission record of every imported survey; returns how many
    changed (none when the same export is imported again)."""
    keys = _keys(surveys)
    ids = dict(conn.execute(select(household.c.number, household.c.id).where(
        household.c.number.in_(sorted({number for _, number, _ in keys})))).all())
    by_instance = {s.instance_id: s for s in export.submissions}
    known = {r.instance_id: r for r in _select_submissions(
        conn, submission.c.instance_id, [export.survey_of_row[row] for row, _, _ in keys])}
    written = 0
    for row, number, year in keys:
        sub = by_instance[export.survey_of_row[row]]
        values = {"household_id": ids[number], "year": year, "current_id": sub.current_id,
                  "form_id": export.form_id, "form_version": sub.form_version,
                  "submitter": sub.submitter, "submitted_at": sub.submitted_at,
                  "source": export.format}
        old = known.get(sub.instance_id)
        if old is None:
            conn.execute(insert(submission).values(instance_id=sub.instance_id,
                                                   file_sha256=export.sha256, **values))
            written += 1
        elif any(getattr(old, k) != v for k, v in values.items()):
            conn.execute(update(submission)
                         .where(submission.c.instance_id == sub.instance_id)
                         .values(file_sha256=export.sha256, **values))
            written += 1
    return written


def _located(export: OdkExport, result: OdkImportResult) -> list[Problem]:
    """Every problem, named by its submission's instance id (and member position)."""
    found: list[Problem] = []
    for p in result.surveys.problems if result.surveys else []:
        found.append(_at(p, export.survey_of_row.get(p.row, ""), p.column))
    for p in result.members.problems if result.members else []:
        instance, position = export.member_of_row.get(p.row, ("", 0))
        column = f"members[{position}]/{p.column}" if position else p.column
        found.append(_at(p, instance, column))
    return found


def _at(problem: Problem, record: str, column: str) -> Problem:
    return Problem(problem.row, column, problem.value, problem.reason, problem.params,
                   record)
