"""Bulk loading: Arrow batches into a staging table, then one set-based merge.

The staging table lives inside the caller's transaction, so a crash or kill anywhere
leaves the store as it was. Rows reach it by COPY on PostgreSQL and executemany on SQLite;
the merge is a single INSERT ... SELECT ... ON CONFLICT DO UPDATE that only touches rows
whose values differ (and bumps their version), so re-importing a file changes nothing. A big
load into an empty table builds that table's indexes after its rows (storage.first_load).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Float,
    MetaData,
    Table,
    Text,
    and_,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from tuopin.storage import first_load

Progress = Callable[[int], None]
BATCH_ROWS = 50_000
LOAD_CACHE_KIB = 256 * 1024  # at most; SQLite takes pages as it reads them

_SQL_TYPES = {
    pa.string(): Text,
    pa.large_string(): Text,
    pa.int64(): BigInteger,
    pa.int32(): BigInteger,
    pa.int16(): BigInteger,
    pa.float64(): Float,
    pa.bool_(): Boolean,
    pa.date32(): Date,
}


def table_for(name: str, schema: pa.Schema) -> Table:
    """The SQLAlchemy description of a temporary table shaped like ``schema``."""
    columns = [Column(f.name, _SQL_TYPES[f.type]) for f in schema]
    table = Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])
    table.dialect_options["postgresql"]["on_commit"] = "DROP"
    return table


def staging_table(conn: Connection, name: str, schema: pa.Schema) -> Table:
    """Create a temporary table shaped like ``schema`` (dropped when the transaction ends)."""
    table = table_for(name, schema)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
    table.create(conn)
    return table


def load(conn: Connection, table: Table, data: pa.Table, progress: Progress | None = None) -> None:
    """Append ``data`` to ``table``: COPY on PostgreSQL, executemany on SQLite."""
    batches = data.to_batches(max_chunksize=BATCH_ROWS)
    if conn.dialect.name == "postgresql":
        _copy(conn, table, batches, progress)
    else:
        for batch in batches:
            _executemany(conn, table, batch)
            if progress:
                progress(batch.num_rows)
    # Autovacuum never sees temporary tables: without statistics the planner guesses a
    # handful of rows and joins a million staged rows by nested loops.
    _analyze_staged(conn, table.name)


# The staged rows' statistics only steer the checks' and the merge's joins (hash or nested
# loop): the row count and a rough distinct count do that, and a sample of 3,000 rows gives
# both (a million staged members: 0.47 s -> 0.03 s for PostgreSQL's default 30,000).
STAGED_STATISTICS_TARGET = 10


def _analyze_staged(conn: Connection, name: str) -> None:
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(f"ANALYZE {name}")
        return
    before = conn.exec_driver_sql("SHOW default_statistics_target").scalar_one()
    conn.exec_driver_sql(f"SET LOCAL default_statistics_target = {STAGED_STATISTICS_TARGET}")
    conn.exec_driver_sql(f"ANALYZE {name}")
    conn.exec_driver_sql(f"SET LOCAL default_statistics_target = {int(before)}")


@contextmanager
def tuned(conn: Connection) -> Iterator[None]:
    """Settings for a big load, for the caller's transaction only; durability is untouched.

    SQLite: a page cache large enough for the registry's indexes (the default 2 MB sent the
    merge of a million members to the disk for every household it looked up: 13 s of its 32).
    PostgreSQL: memory for the staged rows' hash joins and for building indexes.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def analyze(conn: Connection, tables: tuple[str, ...]) -> None:
    """Refresh the planner's statistics of ``tables`` (PostgreSQL and SQLite alike)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")  # sample, as PostgreSQL does
    for name in tables:
        conn.exec_driver_sql(f"ANALYZE {name}")


def _executemany(conn: Connection, table: Table, batch: pa.RecordBatch) -> None:
    columns = []
    for column in batch.columns:
        if pa.types.is_date(column.type):
            column = pc.cast(column, pa.string())  # SQLite stores dates as ISO text
        elif pa.types.is_boolean(column.type):
            # as SQLite stores them; the driver binds an int at once, a bool it first tries
            # to adapt (a quarter of the load's time)
            column = pc.cast(column, pa.int8())
        columns.append(column.to_pylist())
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                           zip(*columns, strict=True))
    finally:
        cursor.close()


def _copy(conn: Connection, table: Table, batches: list[pa.RecordBatch],
          progress: Progress | None) -> None:
    """One COPY for every batch; a thread of psycopg's sends each batch while the next one
    is written as CSV, so the server parses rows while Arrow writes them."""
    from psycopg.copy import QueuedLibpqWriter

    names = ", ".join(f'"{c.name}"' for c in table.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    sql = f"COPY {table.name} ({names}) FROM STDIN WITH (FORMAT csv)"
    with cursor.copy(sql, writer=QueuedLibpqWriter(cursor)) as copy:
        for batch in batches:
            buffer = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([batch]), buffer, options)
            copy.write(buffer.getvalue())
            if progress:
                progress(batch.num_rows)


@dataclass(frozen=True)
class MergeCounts:
    inserted: int
    updated: int
    unchanged: int

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(self.inserted + other.inserted, self.updated + other.updated,
                           self.unchanged + other.unchanged)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter((self.inserted, self.updated, self.unchanged))


def merge(
    conn: Connection, *, target: Table, source: Table, key: Sequence[str],
    values: Mapping[str, ColumnElement[Any]],
    joins: Iterable[tuple[Table, ColumnElement[Any]]] = (),
    where: ColumnElement | None = None, versioned: bool = False,
) -> MergeCounts:
    """Upsert ``values`` (target column -> expression over the source) keyed by ``key``.

    Rows whose values all equal the stored ones are left alone, so their version does not
    move and re-importing the same data reports them as unchanged.
    """
    # SQLite needs a WHERE in INSERT ... SELECT ... ON CONFLICT to parse it unambiguously.
    query = select(*[expr.label(name) for name, expr in values.items()]).select_from(source)
    for other, condition in joins:
        query = query.join(other, condition)
    query = query.where(where if where is not None else true())
    statement = _insert(conn, target).from_select(list(values), query)
    updates: dict[str, ColumnElement] = {
        name: statement.excluded[name] for name in values if name not in key
    }
    changed = [target.c[name].is_distinct_from(statement.excluded[name]) for name in updates]
    if versioned:
        updates["version"] = target.c.version + 1
    upsert = (statement.on_conflict_do_update(index_elements=list(key), set_=updates,
                                              where=or_(*changed)) if changed
              else statement.on_conflict_do_nothing(index_elements=list(key)))
    # counted only up to the threshold: a first load learns its total from the insert
    enough = conn.execute(select(func.count()).select_from(
        query.limit(first_load.FIRST_LOAD_ROWS).subquery())).scalar_one()
    if first_load.applies(conn, target, enough):
        # PostgreSQL's first load drops the unique constraints too, so its insert has no
        # arbiter: two rows with one key fail as ON CONFLICT DO UPDATE fails on them there.
        # SQLite keeps its unique indexes and its ON CONFLICT.
        return _first_load(conn, target, statement if conn.dialect.name == "postgresql"
                           else upsert)
    sub = query.subquery("q")
    total = conn.execute(select(func.count()).select_from(sub)).scalar_one()
    existing = conn.execute(
        select(func.count()).select_from(
            sub.join(target, and_(*[target.c[k] == sub.c[k] for k in key]))
        )
    ).scalar_one()
    affected = conn.execute(upsert.execution_options(preserve_rowcount=True)).rowcount
    inserted = total - existing
    updated = max(affected - inserted, 0)
    return MergeCounts(inserted, updated, total - inserted - updated)


def _insert(conn: Connection, target: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(target)


def _first_load(conn: Connection, target: Table, statement: Any) -> MergeCounts:
    """Every row is new: insert them with the indexes built after (storage.first_load)."""
    with first_load.indexes_after(conn, target):
        total = conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    return MergeCounts(total, 0, 0)
