"""`tuopin restore`: a backup (services/ops/backup.py) put back, and checked.

Nothing is touched before every file of the backup has been read and found to be the one
its manifest names (size and SHA-256), and a target holding records is replaced only when
asked to. After the restore the store is checked as a reader would: the audit chain walked
from its first event to the head the manifest recorded, every table counted against the
manifest, every file copied back hashed again.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from tuopin.domain.errors import ValidationFailed
from tuopin.services import audit
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.ops.backup import (
    FILES,
    FORMAT,
    MANIFEST,
    Progress,
    copy_file,
    count_rows,
    database_kind,
    file_entry,
    find_tool,
    libpq_target,
    quiet,
    read_state,
    run_tool,
)
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import Base

# rows a store has as soon as it is migrated: not records of anyone
SEEDED = {"audit_head", "alembic_version"}


@dataclass(frozen=True)
class Check:
    """One thing the restore checked, and what it found."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    """Every check of a restore; ``ok`` when each of them held."""

    checks: tuple[Check, ...]
    # the backup's schema is older than this tuopin's: `tuopin init` upgrades the store
    upgrade_needed: bool = False

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


@changes(Action.MAINTAIN)
def restore(*, principal: Principal, source: Path, url: str, data_dir: Path,
            force: bool = False, progress: Progress | None = None) -> Report:
    """Restore the backup in ``source`` into the store at ``url`` and its files into
    ``data_dir``, then check the result against the manifest."""
    tick = progress or quiet
    manifest = read_manifest(source)
    kind = database_kind(make_url(url))
    if kind != manifest["database"]["kind"]:
        raise ValidationFailed(f"the backup is of a {manifest['database']['kind']} database; "
                               f"it cannot be restored into {kind}")
    tool = find_tool("pg_restore") if kind == "postgresql" else None
    checked = check_files(source, manifest, tick)
    engine = make_engine(url)
    try:
        _refuse_records(engine, force)
        tick("database", 0, 1)
        database = source / _relative(manifest["database"]["file"])
        if tool is not None:
            _pg_restore(engine, tool, database)
        else:
            _sqlite_restore(engine, database)
        tick("database", 1, 1)
        copied = _copy_back(source, manifest, data_dir, tick)
        checks = (checked, copied, *_verify(engine, manifest, principal))
        return Report(checks, upgrade_needed=not migrate.is_current(engine))
    finally:
        engine.dispose()


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of the backup in ``source``; refused when missing or of another format."""
    path = source / MANIFEST
    if not path.is_file():
        raise ValidationFailed(f"{path} is missing: {source} is not a complete backup")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"{path} is not a readable manifest: {exc}") from exc
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != FORMAT:
        raise ValidationFailed(f"{path}: backup format {found!r} is not {FORMAT}, the one "
                               "this version of tuopin reads")
    return manifest


def check_files(source: Path, manifest: dict[str, Any], tick: Progress = quiet) -> Check:
    """Every file of the manifest present, with its size and SHA-256 (ValidationFailed
    naming each one that is not)."""
    files: dict[str, dict[str, Any]] = manifest["files"]
    if manifest["database"]["file"] not in files:
        raise ValidationFailed("the manifest lists no database file")
    bad = []
    for done, name in enumerate(sorted(files), 1):
        path = source / _relative(name)
        if not path.is_file():
            bad.append(f"{name} is missing")
        elif file_entry(path) != {"sha256": files[name]["sha256"], "size": files[name]["size"]}:
            bad.append(f"{name} is corrupted (its size or SHA-256 differs from the manifest)")
        tick("checksums", done, len(files))
    if bad:
        raise ValidationFailed(f"the backup in {source} is damaged: {'; '.join(bad)}. "
                               "Nothing was restored.", problems=bad)
    return Check("checksums", True, f"every file of the manifest ({len(files)}) is intact")


def _relative(name: str) -> PurePosixPath:
    """A manifest's file name, refused if it points outside the backup (a crafted manifest
    must not make restore write anywhere else)."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValidationFailed(f"the manifest names a file outside the backup: {name!r}")
    return path


def _refuse_records(engine: Engine, force: bool) -> None:
    """Refuse a target that holds records, unless ``force``."""
    with engine.connect() as conn:
        names = (set(inspect(conn).get_table_names()) & set(Base.metadata.tables)) - SEEDED
        counts = count_rows(conn, sorted(names))
    full = {name: rows for name, rows in counts.items() if rows}
    if full and not force:
        listed = ", ".join(f"{name} ({rows})" for name, rows in sorted(full.items())[:5])
        raise ValidationFailed(f"the target database is not empty: {listed}. Restore into an "
                               "empty database, or replace it with --force")


def _pg_restore(engine: Engine, tool: str, database: Path) -> None:
    # every table goes first, so that nothing of the target (a table of a newer schema, rows
    # --force replaces) survives beside the restored store
    with engine.begin() as conn:
        for name in inspect(conn).get_table_names():
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    engine.dispose()
    uri, env = libpq_target(engine.url)
    # --no-owner/--no-acl: the target's roles need not be the source's; one transaction, so
    # that a failure leaves no half-restored store
    run_tool([tool, "--clean", "--if-exists", "--no-owner", "--no-acl", "--exit-on-error",
              "--single-transaction", f"--dbname={uri}", str(database)], env)


def _sqlite_restore(engine: Engine, database: Path) -> None:
    target = engine.url.database
    assert target is not None  # database_kind refused an in-memory store
    engine.dispose()
    # the backup API replaces the target's every page under its own lock (a reader of the
    # target sees the old store or the new one), whatever journal the target keeps
    with closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as src, \
            closing(sqlite3.connect(target, timeout=30)) as dst:
        src.backup(dst)


def _copy_back(source: Path, manifest: dict[str, Any], data_dir: Path,
               tick: Progress) -> Check:
    """Copy the files back into ``data_dir``, each hashed again as it is written."""
    names = sorted(n for n in manifest["files"] if _relative(n).parts[0] == FILES)
    wrong = []
    for done, name in enumerate(names, 1):
        relative = _relative(name)
        entry = copy_file(source / relative, data_dir.joinpath(*relative.parts[1:]))
        if entry != {"sha256": manifest["files"][name]["sha256"],
                     "size": manifest["files"][name]["size"]}:
            wrong.append(name)
        tick("files", done, len(names))
    detail = (f"{len(names)} files copied into {data_dir}" if not wrong
              else f"copied with another content: {', '.join(wrong)}")
    return Check("files", not wrong, detail)


def _verify(engine: Engine, manifest: dict[str, Any], principal: Principal) -> list[Check]:
    with engine.connect() as conn:
        state = read_state(conn)
    expected: dict[str, int] = manifest["counts"]
    differ = [f"{name}: {state.counts.get(name)} (backup: {expected.get(name)})"
              for name in sorted(set(expected) | set(state.counts))
              if state.counts.get(name) != expected.get(name)]
    revision = manifest["database"]["revision"]
    with session_factory(engine)() as db:
        chain = audit.verify(db, principal=principal)
    head = manifest["audit"]
    chain_ok = (chain.ok and chain.head_hash == head["head_hash"]
                and chain.events == head["events"])
    chain_detail = (f"{chain.events} events, head {chain.head_hash}" if chain_ok else
                    f"{chain.detail or 'the head differs from the backup'}: {chain.events} "
                    f"events, head {chain.head_hash} (backup: {head['events']} events, head "
                    f"{head['head_hash']})")
    return [
        Check("revision", state.revision == revision,
              f"{state.revision} (backup: {revision})"),
        Check("counts", not differ,
              f"{len(expected)} tables, {sum(expected.values())} rows" if not differ
              else "; ".join(differ)),
        Check("audit chain", chain_ok, chain_detail),
    ]
