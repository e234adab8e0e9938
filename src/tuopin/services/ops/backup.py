"""`tuopin backup`: one consistent copy of the store and of its files, with a manifest.

A backup is a folder::

    manifest.json        written last: no manifest, no backup
    database.sqlite      SQLite: a copy made with SQLite's online backup API
    database.dump        PostgreSQL: pg_dump --format=custom
    files/evidence/...   the evidence, uploads and job results of the data dir
    files/uploads/...
    files/jobs/...

The counts per table, the schema revision and the audit head are read in the very state
that is copied - from the copy itself on SQLite, and on PostgreSQL in the REPEATABLE READ
transaction whose snapshot pg_dump is handed - so they describe the backup exactly even
while others go on writing. Restore (services/ops/restore.py) checks every one of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from tuopin.domain.errors import ConfigurationError, ValidationFailed
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.storage import migrate
from tuopin.storage.models import AuditHeadRecord, table_of

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite", "postgresql": "database.dump"}
FILES = "files"
FILE_DIRS = ("evidence", "uploads", "jobs")  # under the data dir, as the services keep them
CHUNK = 1 << 20
Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass(frozen=True)
class State:
    """What the copied state holds, read inside it."""

    revision: str | None
    counts: dict[str, int]
    head_hash: str
    events: int


def quiet(_step: str, _done: int, _total: int) -> None:
    """The progress callback of a caller that shows none."""


@changes(Action.MAINTAIN)
def create(engine: Engine, *, principal: Principal, data_dir: Path, out: Path,
           progress: Progress | None = None) -> dict[str, Any]:
    """Back up the store behind ``engine`` and ``data_dir``'s files into ``out`` (a new or
    empty folder); returns the manifest, which is written last."""
    tick = progress or quiet
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValidationFailed(f"{out} exists and is not an empty folder: back up into a new one")
    kind = database_kind(engine.url)
    dump = find_tool("pg_dump") if kind == "postgresql" else None  # before anything is made
    if migrate.current_revision(engine) is None:
        raise ConfigurationError("the database is not initialised: there is nothing to back up")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _write(engine, kind, dump, data_dir, out, tick)
    except BaseException:
        _clear(out, remove=created)  # a half-written backup must not look like one
        raise


def _write(engine: Engine, kind: str, dump: str | None, data_dir: Path, out: Path,
           tick: Progress) -> dict[str, Any]:
    name = DATABASE_FILES[kind]
    tick("database", 0, 1)
    if dump is not None:
        state = _pg_dump(engine, dump, out / name)
    else:
        state = _sqlite_copy(engine, out / name)
    tick("database", 1, 1)
    files = {name: file_entry(out / name)}
    files.update(_copy_files(data_dir, out / FILES, tick))
    manifest = {
        "format": FORMAT,
        "tuopin_version": metadata.version("tuopin"),
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": {"kind": kind, "file": name, "revision": state.revision},
        "counts": state.counts,
        "audit": {"head_hash": state.head_hash, "events": state.events},
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    return manifest


def _clear(out: Path, *, remove: bool) -> None:
    if remove:
        shutil.rmtree(out, ignore_errors=True)
        return
    for child in out.iterdir():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


# -- the database ------------------------------------------------------------------------

def database_kind(url: URL) -> str:
    """sqlite or postgresql; any other store cannot be backed up."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigurationError("an in-memory SQLite database cannot be backed up or "
                                     "restored: give a file")
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise ConfigurationError(f"backup and restore need SQLite or PostgreSQL, not {backend}")


def find_tool(name: str) -> str:
    """The path of a PostgreSQL client program (pg_dump, pg_restore) on PATH."""
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"{name} was not found on PATH: install the PostgreSQL client programs (Debian "
            f"and Ubuntu: postgresql-client, of the server's major version or newer), or "
            f"add their folder to PATH")
    return found


def libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``url``, and an environment that carries its password
    (PGPASSWORD: an argument would show the password to anyone running ps)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


def run_tool(args: list[str], env: dict[str, str]) -> None:
    """Run a PostgreSQL client program; its own message (the last lines) when it fails."""
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = " ".join(done.stderr.strip().splitlines()[-3:])
        raise ConfigurationError(f"{Path(args[0]).name} failed: {detail}")


def count_rows(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """The rows of each named table."""
    return {name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in names}


def read_state(conn: Connection) -> State:
    """The revision, the rows of every table and the audit head, as ``conn`` sees them."""
    counts = count_rows(conn, sorted(inspect(conn).get_table_names()))
    revision = (conn.scalar(text("SELECT version_num FROM alembic_version"))
                if "alembic_version" in counts else None)
    head = table_of(AuditHeadRecord)
    last_hash = conn.scalar(select(head.c.last_hash).where(head.c.id == 1))
    return State(revision, counts, str(last_hash), counts.get("audit_event", 0))


def _pg_dump(engine: Engine, tool: str, target: Path) -> State:
    uri, env = libpq_target(engine.url)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # the first statement fixes the transaction's snapshot; pg_dump is handed the
            # same one, so the counts below are the dump's, whatever is written meanwhile
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            state = read_state(conn)
            run_tool([tool, "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                      f"--dbname={uri}"], env)
    return state


def _sqlite_copy(engine: Engine, target: Path) -> State:
    source = engine.url.database
    assert source is not None  # database_kind refused an in-memory store
    # pages=-1 (the default) copies every page in one step, inside one read transaction:
    # a consistent state of the file, while writers go on in WAL mode
    with closing(sqlite3.connect(source, timeout=30)) as src, \
            closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        # the copy is one self-contained file (no -wal beside it) that can be hashed
        dst.execute("PRAGMA journal_mode=DELETE")
    copy = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with copy.connect() as conn:
            return read_state(conn)
    finally:
        copy.dispose()


# -- the files ---------------------------------------------------------------------------

def file_entry(path: Path) -> dict[str, Any]:
    """A file's SHA-256 and size, as the manifest lists it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def copy_file(source: Path, target: Path) -> dict[str, Any]:
    """Copy a file, hashing it on the way; its manifest entry."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
    shutil.copystat(source, target)  # keep the times: prune judges an upload by its age
    return {"sha256": digest.hexdigest(), "size": size}


def data_files(data_dir: Path) -> Iterator[Path]:
    """The evidence, upload and job files under ``data_dir``, relative to it."""
    for folder in FILE_DIRS:
        root = data_dir / folder
        if root.is_dir():
            yield from sorted(p.relative_to(data_dir) for p in root.rglob("*") if p.is_file())


def _copy_files(data_dir: Path, target: Path, tick: Progress) -> dict[str, dict[str, Any]]:
    found = list(data_files(data_dir))
    entries: dict[str, dict[str, Any]] = {}
    for done, relative in enumerate(found, 1):
        try:
            entry = copy_file(data_dir / relative, target / relative)
        except FileNotFoundError:
            continue  # removed since it was listed (an upload cancelled): not part of it
        entries[f"{FILES}/{relative.as_posix()}"] = entry
        tick("files", done, len(found))
    return entries
