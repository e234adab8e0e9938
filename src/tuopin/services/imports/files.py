"""Importing registry files: validate everything, then write all or nothing.

The flow, for every kind: read the file (io.readers), type and check it on its own
(io.validate), stage the rows in a temporary table inside one transaction, check them
against the database with set-based queries (does the village exist, is this ID number
already another household's), and only then merge them into the registry and append one
audit event for the batch. Any problem - or a dry run - rolls the transaction back.

A ``scope`` (the web user's region) turns every row that would touch a village or household
outside it into a problem on that row; without one (the CLI) every region may be written.
The CLI runs an import on its own transaction (``import_file``); the web runs it inside the
request's session under a savepoint (``import_in_session``), so that on SQLite it does not
wait for the write lock its own request already holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Connection, Engine, Table, delete
from sqlalchemy.orm import Session

from tuopin.domain.errors import ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.io.problems import Problem
from tuopin.io.readers import RawFile, read_file
from tuopin.io.schema import Kind
from tuopin.io.validate import Validated, validate_file
from tuopin.services import audit
from tuopin.services.imports.checks import CHECKS, SCOPE_CHECKS
from tuopin.services.imports.merges import MERGES
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
    """Raised inside the transaction to undo a dry run or a refused import."""


# After writing this many rows, refresh the planner's statistics of the tables written (on
# PostgreSQL autovacuum may take minutes; meanwhile a search or a household page planned on
# the statistics of an empty table scans what an index would find).
ANALYZE_AFTER_ROWS = 10_000
TABLES = {Kind.REGIONS: ("region",), Kind.HOUSEHOLDS: ("household",),
          Kind.MEMBERS: ("member",), Kind.SURVEYS: ("survey",),
          Kind.HELPERS: ("helper", "helper_assignment")}


def import_file(
    engine: Engine, *, kind: Kind, path: Path, actor: str, today: date,
    encoding: str | None = None, sheet: str | None = None, dry_run: bool = False,
    skip_invalid: bool = False, progress: Progress | None = None, scope: Scope | None = None,
) -> ImportResult:
    """Validate ``path`` as ``kind``; write it when clean (or when skipping bad rows)."""
    raw = read_file(path, encoding=encoding, sheet=sheet)
    return import_raw(engine, kind=kind, raw=raw, actor=actor, today=today, dry_run=dry_run,
                      skip_invalid=skip_invalid, progress=progress, scope=scope)


def import_raw(
    engine: Engine, *, kind: Kind, raw: RawFile, actor: str, today: date,
    dry_run: bool = False, skip_invalid: bool = False, progress: Progress | None = None,
    scope: Scope | None = None,
) -> ImportResult:
    """The import of text cells already read (from a file or from the generator)."""
    validated = validate_file(raw, kind, today=today)
    result = ImportResult(kind, raw.path, raw.sha256, len(raw), encoding=raw.encoding,
                          dry_run=dry_run)
    try:
        with engine.begin() as conn:
            _import(conn, raw, validated, result, actor, skip_invalid, progress, scope)
    except _Rollback:
        return _undone(result)
    result.written = True
    return result


def import_in_session(
    db: Session, *, kind: Kind, path: Path, actor: str, today: date,
    encoding: str | None = None, sheet: str | None = None, dry_run: bool = False,
    skip_invalid: bool = False, scope: Scope | None = None,
) -> ImportResult:
    """``import_file`` inside ``db``'s transaction: committed (or not) with the rest of it."""
    raw = read_file(path, encoding=encoding, sheet=sheet)
    validated = validate_file(raw, kind, today=today)
    result = ImportResult(kind, raw.path, raw.sha256, len(raw), encoding=raw.encoding,
                          dry_run=dry_run)
    try:
        with db.begin_nested():
            _import(db.connection(), raw, validated, result, actor, skip_invalid, None, scope)
    except _Rollback:
        return _undone(result)
    result.written = True
    return result


def _import(
    conn: Connection, raw: RawFile, validated: Validated, result: ImportResult, actor: str,
    skip_invalid: bool, progress: Progress | None, scope: Scope | None,
) -> None:
    """Stage, check and merge; raise _Rollback to undo a dry run or a refused import."""
    _stage_check_merge(conn, raw, validated, result, actor, skip_invalid, progress, scope)
    if result.dry_run or (result.problems and not skip_invalid):
        raise _Rollback


def _undone(result: ImportResult) -> ImportResult:
    result.inserted = result.updated = result.unchanged = 0
    return result


def _stage_check_merge(
    conn: Connection, raw: RawFile, validated: Validated, result: ImportResult, actor: str,
    skip_invalid: bool, progress: Progress | None, scope: Scope | None,
) -> None:
    data = validated.table.append_column("_row", pa.array(validated.rows, type=pa.int64()))
    staging = bulk.staging_table(conn, f"staging_{validated.kind.value}", data.schema)
    done = 0

    def loaded(rows: int) -> None:
        nonlocal done
        done += rows
        if progress:
            progress("load", done, data.num_rows)

    bulk.load(conn, staging, data, loaded)
    CHECKS[validated.kind](conn, staging, validated, scope)
    if scope is not None and scope.prefix:
        SCOPE_CHECKS[validated.kind](conn, staging, validated, scope)
    result.problems = sorted(validated.problems, key=lambda p: (p.row, p.column))
    bad_rows = sorted({p.row for p in result.problems if p.row > 0})
    result.rejected_rows = bad_rows
    if result.problems and not skip_invalid:
        return
    _drop_rows(conn, staging, bad_rows)
    if progress:
        progress("merge", 0, 1)
    counts = MERGES[validated.kind](conn, staging)
    result.inserted, result.updated, result.unchanged = counts
    if result.dry_run:
        result.preview = counts
    if not result.dry_run and counts.inserted + counts.updated >= ANALYZE_AFTER_ROWS:
        bulk.analyze(conn, TABLES[validated.kind])
    if counts.inserted or counts.updated:
        audit.record(
            conn, actor=actor, action="import", entity=validated.kind.value,
            entity_id=raw.sha256,
            after={"file": raw.path.name, "sha256": raw.sha256, "rows": len(raw),
                   "inserted": counts.inserted, "updated": counts.updated,
                   "unchanged": counts.unchanged, "rejected": len(bad_rows)},
        )
    if progress:
        progress("merge", 1, 1)


def _drop_rows(conn: Connection, staging: Table, rows: list[int]) -> None:
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        conn.execute(delete(staging).where(staging.c._row.in_(chunk)))


def raise_for(result: ImportResult) -> None:
    """Turn a refused import into the error the CLI and web report."""
    if result.problems and not result.written:
        raise ValidationFailed(f"{len(result.problems)} problems", result.problems)

