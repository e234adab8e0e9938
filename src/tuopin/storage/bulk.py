"""Bulk loading: Arrow batches into a staging table, then one set-based merge.

The staging table lives inside the caller's transaction, so a crash or kill anywhere
leaves the store as it was. Rows reach it by COPY on PostgreSQL and executemany on SQLite;
the merge is a single INSERT ... SELECT ... ON CONFLICT DO UPDATE that only touches rows
whose values differ (and bumps their version), so re-importing a file changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
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

Progress = Callable[[int], None]
BATCH_ROWS = 50_000

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
    loader = _copy if conn.dialect.name == "postgresql" else _executemany
    for batch in data.to_batches(max_chunksize=BATCH_ROWS):
        loader(conn, table, batch)
        if progress:
            progress(batch.num_rows)
    # Autovacuum never sees temporary tables: without statistics the planner guesses a
    # handful of rows and joins a million staged rows by nested loops.
    conn.exec_driver_sql(f"ANALYZE {table.name}")


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
        columns.append(column.to_pylist())
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                           zip(*columns, strict=True))
    finally:
        cursor.close()


def _copy(conn: Connection, table: Table, batch: pa.RecordBatch) -> None:
    buffer = io.BytesIO()
    pacsv.write_csv(pa.Table.from_batches([batch]), buffer,
                    pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buffer.getvalue())


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
    sub = query.subquery("q")
    total = conn.execute(select(func.count()).select_from(sub)).scalar_one()
    existing = conn.execute(
        select(func.count()).select_from(
            sub.join(target, and_(*[target.c[k] == sub.c[k] for k in key]))
        )
    ).scalar_one()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(target).from_select(list(values), query)
    updates: dict[str, ColumnElement] = {
        name: statement.excluded[name] for name in values if name not in key
    }
    changed = [target.c[name].is_distinct_from(statement.excluded[name]) for name in updates]
    if versioned:
        updates["version"] = target.c.version + 1
    if changed:
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_=updates, where=or_(*changed)
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    affected = conn.execute(statement.execution_options(preserve_rowcount=True)).rowcount
    inserted = total - existing
    updated = max(affected - inserted, 0)
    return MergeCounts(inserted, updated, total - inserted - updated)
