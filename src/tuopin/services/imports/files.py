"""Importing registry files: validate everything, then write all or nothing.

The flow, for every kind: read the file (io.readers), type and check it on its own
(io.validate), stage the rows in a temporary table inside one transaction, check them
against the database with set-based queries (does the village exist, is this ID number
already another household's), and only then merge them into the registry and append one
audit event for the batch. Any problem - or a dry run - rolls the transaction back.

The principal's scope (a user's region) turns every row that would touch a village or
household outside it into a problem on that row; the command line's operator may write every
region. The CLI runs an import on its own transaction (``import_file``); the web runs rows it
read and validated once inside the request's session under a savepoint
(``import_validated``), so that on SQLite it does not wait for the write lock its own
request already holds. A household's status is not imported over a registered one's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Connection, Engine, Table, delete
from sqlalchemy.orm import Session

from tuopin.domain.errors import TooManyAttempts, ValidationFailed
from tuopin.io.problems import Problem
from tuopin.io.readers import RawFile, read_file
from tuopin.io.schema import FUND_KINDS, Kind
from tuopin.io.validate import Validated, validate_file
from tuopin.services import audit
from tuopin.services.access import probes
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import ProbeLimiter
from tuopin.services.imports.kinds import CHECKS, MERGES, SCOPE_CHECKS, TABLES
from tuopin.storage import bulk
from tuopin.storage.bulk import MergeCounts

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class ImportResult:
    """What an import found and did; ``written`` is False unless the data was committed."""

    kind: Kind
    path: Path
    sha256: str
    rows: int
    problems: list[Problem] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    dry_run: bool = False
    encoding: str | None = None
    # What the merge of a dry run found before it was rolled back (None: it did not run).
    preview: MergeCounts | None = None

    @property
    def ok(self) -> bool:
        """True when the file had no problem at all."""
        return not self.problems


class _Rollback(Exception):
    """Raised inside the transaction to undo a dry run or a refused import; it carries the
    values that collided outside the scope (their record outlives the transaction)."""

    def __init__(self, probed: list[str]) -> None:
        super().__init__("rolled back")
        self.probed = probed


# After writing this many rows, refresh the planner's statistics of the tables written (on
# PostgreSQL autovacuum may take minutes; meanwhile a search or a household page planned on
# the statistics of an empty table scans what an index would find).
ANALYZE_AFTER_ROWS = 10_000


@dataclass(frozen=True)
class Source:
    """Where the rows of an import came from, for its result and its audit event."""

    name: str
    sha256: str
    rows: int
    encoding: str | None = None

    @classmethod
    def of(cls, raw: RawFile) -> Source:
        return cls(raw.path.name, raw.sha256, len(raw), raw.encoding)


def action_of(*, kind: Kind | str, **_: object) -> Action:
    """Regions are imported by an administrator only, the books of funds by a county office
    (or an administrator); the other kinds - and a phone survey's export (``"odk"``), which
    holds surveys and members - by the editors."""
    if kind is Kind.REGIONS:
        return Action.IMPORT_REGIONS
    return Action.IMPORT_FUNDS if kind in FUND_KINDS else Action.IMPORT


@changes(action_of)
def import_file(
    engine: Engine, *, principal: Principal, kind: Kind, path: Path, today: date,
    encoding: str | None = None, sheet: str | None = None, dry_run: bool = False,
    skip_invalid: bool = False, progress: Progress | None = None,
) -> ImportResult:
    """Validate ``path`` as ``kind``; write it when clean (or when skipping bad rows)."""
    raw = read_file(path, encoding=encoding, sheet=sheet)
    return import_raw(engine, principal=principal, kind=kind, raw=raw, today=today,
                      dry_run=dry_run, skip_invalid=skip_invalid, progress=progress)


@changes(action_of)
def import_raw(
    engine: Engine, *, principal: Principal, kind: Kind, raw: RawFile, today: date,
    dry_run: bool = False, skip_invalid: bool = False, progress: Progress | None = None,
) -> ImportResult:
    """The import of text cells already read (from a file or from the generator), on a
    transaction of its own."""
    validated = validate_file(raw, kind, today=today)
    result = ImportResult(kind, raw.path, raw.sha256, len(raw), encoding=raw.encoding,
                          dry_run=dry_run)
    try:
        with engine.begin() as conn:
            probed = _import(conn, Source.of(raw), validated, result, principal,
                             skip_invalid, progress)
            with Session(bind=conn) as db:
                if probes.uses_up(db, principal=principal, count=len(probed)):
                    raise _Rollback(probed)
        result.written = True
    except _Rollback as undone:
        probed = undone.probed
        _undone(result)
    if probed and not principal.operator:
        # the import's own transaction is gone: the record of the probe gets one of its own
        with engine.begin() as conn, Session(bind=conn) as db:
            _record_probes(db, principal, kind, probed, None)
        with Session(engine) as db:
            _check_limit(db, principal, None)
    return result


@changes(action_of)
def import_validated(
    db: Session, *, principal: Principal, kind: Kind, validated: Validated, source: Source,
    dry_run: bool = False, skip_invalid: bool = False, progress: Progress | None = None,
    probe_limiter: ProbeLimiter | None = None,
) -> ImportResult:
    """The import of rows read and validated before, inside ``db``'s transaction (under a
    savepoint, so that on SQLite it does not wait for the write lock its own request holds).

    Rows that collide with records outside the principal's scope are probes: recorded in
    ``db``'s transaction whatever becomes of the import, and refused past the limit.
    """
    if validated.kind is not kind:
        raise ValueError(f"rows validated as {validated.kind.value}, imported as {kind.value}")
    probes.check(db, principal=principal, limiter=probe_limiter)
    result = ImportResult(kind, Path(source.name), source.sha256, source.rows,
                          encoding=source.encoding, dry_run=dry_run)
    savepoint = db.begin_nested()
    try:
        probed = _import(db.connection(), source, validated, result, principal,
                         skip_invalid, progress)
    except _Rollback as undone:
        savepoint.rollback()
        probed = undone.probed
        _undone(result)
    except BaseException:
        savepoint.rollback()
        raise
    else:
        if probes.uses_up(db, principal=principal, count=len(probed), limiter=probe_limiter):
            savepoint.rollback()  # refused whole below: not even its good rows are written
            _undone(result)
        else:
            savepoint.commit()
            result.written = True
    if probed and not principal.operator:
        _record_probes(db, principal, kind, probed, probe_limiter)
        _check_limit(db, principal, probe_limiter)
    return result


def _record_probes(db: Session, principal: Principal, kind: Kind, probed: list[str],
                   limiter: ProbeLimiter | None) -> None:
    what = "number" if kind is Kind.HOUSEHOLDS else "id_number"
    probes.record(db, principal=principal, what=what, values=probed, limiter=limiter)


def _check_limit(db: Session, principal: Principal, limiter: ProbeLimiter | None) -> None:
    """A file that used up the allowance is refused whole: no report names its rows."""
    try:
        probes.check(db, principal=principal, limiter=limiter)
    except TooManyAttempts as exc:
        raise probes.LimitReached(exc.args[0], exc.retry_after) from exc


def _import(
    conn: Connection, source: Source, validated: Validated, result: ImportResult,
    principal: Principal, skip_invalid: bool, progress: Progress | None,
) -> list[str]:
    """Stage, check and merge; raise _Rollback to undo a dry run or a refused import.
    Returns (or, rolling back, carries) the values that collided outside the scope."""
    probed = _stage_check_merge(conn, source, validated, result, principal, skip_invalid,
                                progress)
    if result.dry_run or (result.problems and not skip_invalid):
        raise _Rollback(probed)
    return probed


def _undone(result: ImportResult) -> ImportResult:
    result.inserted = result.updated = result.unchanged = 0
    return result


def _stage_check_merge(
    conn: Connection, source: Source, validated: Validated, result: ImportResult,
    principal: Principal, skip_invalid: bool, progress: Progress | None,
    merge: Callable[[Connection, Table], MergeCounts] | None = None,
) -> list[str]:
    with bulk.tuned(conn):
        return _stage_check_merge_tuned(conn, source, validated, result, principal,
                                        skip_invalid, progress, merge)


def _stage_check_merge_tuned(
    conn: Connection, source: Source, validated: Validated, result: ImportResult,
    principal: Principal, skip_invalid: bool, progress: Progress | None,
    merge: Callable[[Connection, Table], MergeCounts] | None,
) -> list[str]:
    data = validated.table.append_column("_row", pa.array(validated.rows, type=pa.int64()))
    staging = bulk.staging_table(conn, f"staging_{validated.kind.value}", data.schema)
    done = 0

    def loaded(rows: int) -> None:
        nonlocal done
        done += rows
        if progress:
            progress("load", done, data.num_rows)

    bulk.load(conn, staging, data, loaded)
    scope = principal.scope
    probed = CHECKS[validated.kind](conn, staging, validated, scope) or []
    if scope.prefix:
        probed += SCOPE_CHECKS[validated.kind](conn, staging, validated, scope) or []
    result.problems = sorted(validated.problems, key=lambda p: (p.row, p.column))
    bad_rows = sorted({p.row for p in result.problems if p.row > 0})
    result.rejected_rows = bad_rows
    if result.problems and not skip_invalid:
        return probed
    _drop_rows(conn, staging, bad_rows)
    if progress:
        progress("merge", 0, 1)
    counts = (merge or MERGES[validated.kind])(conn, staging)
    result.inserted, result.updated, result.unchanged = counts
    if result.dry_run:
        result.preview = counts
    if not result.dry_run and counts.inserted + counts.updated >= ANALYZE_AFTER_ROWS:
        bulk.analyze(conn, TABLES[validated.kind])
    if counts.inserted or counts.updated:
        audit.record(
            conn, actor=principal.actor, action="import", entity=validated.kind.value,
            entity_id=source.sha256,
            after={"file": source.name, "sha256": source.sha256, "rows": source.rows,
                   "inserted": counts.inserted, "updated": counts.updated,
                   "unchanged": counts.unchanged, "rejected": len(bad_rows)},
        )
    if progress:
        progress("merge", 1, 1)
    return probed


def _drop_rows(conn: Connection, staging: Table, rows: list[int]) -> None:
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        conn.execute(delete(staging).where(staging.c._row.in_(chunk)))


def raise_for(result: ImportResult) -> None:
    """Turn a refused import into the error the CLI and web report."""
    if result.problems and not result.written:
        raise ValidationFailed(f"{len(result.problems)} problems", result.problems)

