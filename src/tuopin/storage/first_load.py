"""A first load into an empty table: its secondary indexes built after the rows, not with them.

Inserting a province's members one index entry at a time costs most of an import: on
PostgreSQL a million rows through five indexes, a unique-constraint arbiter and a foreign-key
trigger per row took 35 s, the same rows into the bare table and the indexes built after in
~10 s (sorted builds, one set-based foreign-key check). The table is empty, so nothing can
conflict; everything happens inside the caller's transaction, so a rollback or a kill puts the
indexes and constraints back as they were. On SQLite only plain secondary indexes are dropped
(its unique constraints cannot be), and the insert keeps its ON CONFLICT.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Table, func, select

# Below this many rows the ordinary merge is as fast and takes no exclusive lock.
FIRST_LOAD_ROWS = 50_000


def applies(conn: Connection, target: Table, source_rows: int) -> bool:
    """Whether to load ``target`` bare: it is empty and many rows are coming."""
    if source_rows < FIRST_LOAD_ROWS or not _empty(conn, target):
        return False
    if conn.dialect.name == "postgresql":
        # Dropping an index takes this lock anyway; taken first, nobody can write a row
        # between the check and the load.
        conn.exec_driver_sql(f'LOCK TABLE "{target.name}" IN ACCESS EXCLUSIVE MODE')
        return _empty(conn, target)
    return True


def _empty(conn: Connection, target: Table) -> bool:
    return conn.execute(select(func.count()).select_from(
        select(1).select_from(target).limit(1).subquery())).scalar_one() == 0


@contextmanager
def indexes_after(conn: Connection, target: Table) -> Iterator[None]:
    """Drop ``target``'s secondary indexes (PostgreSQL: and its unique and foreign-key
    constraints) for the body, then create them again exactly as they were defined."""
    if conn.dialect.name == "postgresql":
        rebuild = _drop_postgresql(conn, target.name)
    else:
        rebuild = _drop_sqlite(conn, target.name)
    yield
    for statement in rebuild:
        conn.exec_driver_sql(statement)


def _drop_sqlite(conn: Connection, table: str) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name", (table,)).all()
    for name, _ in rows:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def _drop_postgresql(conn: Connection, table: str) -> list[str]:
    # Indexes no constraint owns; unique and foreign-key constraints that no other table's
    # foreign key leans on (the primary key stays: ids are drawn as rows arrive).
    indexes = conn.exec_driver_sql(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %(t)s::regclass AND NOT i.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
        " AND c.conrelid = i.indrelid) ORDER BY 1", {"t": table}).all()
    constraints = conn.exec_driver_sql(
        "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = %(t)s::regclass AND (c.contype = 'f' OR (c.contype = 'u' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' "
        " AND r.confrelid = c.conrelid AND r.conindid = c.conindid))) "
        "ORDER BY c.contype DESC, c.conname", {"t": table}).all()
    for name, _ in indexes:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    for name, _ in constraints:
        conn.exec_driver_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    # unique constraints (ordered first) before the foreign keys, then the plain indexes
    return ([f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
             for name, definition in constraints] + [definition for _, definition in indexes])
