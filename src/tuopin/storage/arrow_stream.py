"""SELECTs read as Arrow record batches, for results too big to hold in memory.

The caller (a service, or storage/snapshot.py) builds the query, WHERE clause and all: this
module decides nothing about who may read what. ``reading`` opens a connection of its own
in one read transaction (REPEATABLE READ on PostgreSQL; on SQLite a deferred read, which in
WAL mode never blocks a writer), so that every query run in it sees one state of the store
however long the caller takes to consume the rows. ``read_batches`` runs one query so, in
batches of exactly ``batch_rows`` rows (the last one fewer), so that a consumer writing one
Parquet row group per batch gets even row groups.

PostgreSQL is read through ADBC (COPY, straight into Arrow). SQLite is read through the
standard library's sqlite3, not ADBC: the ADBC driver links a SQLite library of its own,
and two SQLite libraries in one process break each other's POSIX locks on a WAL store
(sqlite.org, "How To Corrupt An SQLite Database File", 2.2.1): in a server process that
holds the engine's connections, its reader saw a stale store and the engine's connections
then failed with "disk I/O error". No module of tuopin may load adbc_driver_sqlite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import make_url

from tuopin.domain.errors import ConfigurationError, NotFound

# Rows fetched from SQLite at a time: as Python tuples (~0.2 KB a row) they are the costly
# form in memory, so a few thousand, turned into Arrow at once.
SQLITE_ROWS = 8_192
# "named" keeps a literal % as it is (pyformat dialects double it for their driver)
_DIALECTS = {"sqlite": SQLiteDialect(), "postgresql": PGDialect(paramstyle="named")}


class Reader(Protocol):
    """Queries on one connection, all in the same read transaction."""

    @property
    def backend(self) -> str:
        """The store's dialect: "sqlite" or "postgresql"."""
        ...

    def batches(self, sql: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """The rows of ``sql`` (its columns labelled as ``schema``'s fields, in order) in
        ``schema``'s types, in batches of the driver's size."""
        ...

    def scalar(self, sql: str) -> Any:
        """The first column of the first row of ``sql``; None without a row."""
        ...


def read_batches(url: str, query: Select[Any], schema: pa.Schema, *,
                 batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The rows of ``query`` (its columns labelled as ``schema``'s fields, in order) on the
    store at ``url``, as record batches in ``schema``'s types of ``batch_rows`` rows each.

    A generator: the connection opens at the first batch and closes when the generator is
    exhausted or closed (a client that went away)."""
    backend = make_url(url).get_backend_name()
    if backend not in _DIALECTS:
        raise ConfigurationError(f"Arrow reads need SQLite or PostgreSQL, not {backend}")
    sql = str(query.compile(dialect=_DIALECTS[backend], compile_kwargs={"literal_binds": True}))
    with reading(url) as reader:
        yield from _rebatched(reader.batches(sql, schema), batch_rows)


@contextmanager
def reading(url: str) -> Iterator[Reader]:
    """A connection of its own to the store at ``url`` inside one read transaction, rolled
    back and closed on leaving; NotFound for a SQLite file that does not exist."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise NotFound(f"no SQLite store at {path!r}")
        # Consumers pull the rows from threads of their own (Arrow's dataset writer, a
        # server's thread pool), one at a time: the connection may move between threads.
        with closing(sqlite3.connect(path, isolation_level=None,
                                     check_same_thread=False)) as connection:
            connection.execute("BEGIN")  # deferred: a read, one view of the store (WAL)
            try:
                yield _SQLiteReader(connection)
            finally:
                connection.rollback()
    elif backend == "postgresql":
        import adbc_driver_postgresql.dbapi as adbc_pg

        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with closing(adbc_pg.connect(dsn)) as connection:
            # READ COMMITTED would give each query its own moment; REPEATABLE READ gives one.
            connection.adbc_connection.set_options(**{
                "adbc.connection.transaction.isolation_level":
                    "adbc.connection.transaction.isolation.repeatable_read"})
            try:
                yield _PostgreSQLReader(connection)
            finally:
                connection.rollback()  # nothing was written: end the read transaction
    else:
        raise ConfigurationError(f"Arrow reads need SQLite or PostgreSQL, not {backend}")


@dataclass(frozen=True)
class _PostgreSQLReader:
    connection: Any  # an ADBC DB-API connection
    backend: str = "postgresql"

    def batches(self, sql: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            for batch in cursor.fetch_record_batch():
                yield batch.cast(schema)
        finally:
            cursor.close()

    def scalar(self, sql: str) -> Any:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else row[0]


def _sqlite_type(kind: pa.DataType) -> tuple[str, pa.DataType]:
    """The storage class a column is cast to in the query (so that all its values are of
    one Python type: dates ISO text, booleans 0/1) and its Arrow type before the schema's."""
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return "INTEGER", pa.int64()
    return ("REAL", pa.float64()) if pa.types.is_floating(kind) else ("TEXT", pa.string())


@dataclass(frozen=True)
class _SQLiteReader:
    connection: sqlite3.Connection
    backend: str = "sqlite"

    def batches(self, sql: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        stored = [_sqlite_type(f.type) for f in schema]
        columns = ", ".join(f'CAST(q."{f.name}" AS {kind})'
                            for f, (kind, _) in zip(schema, stored, strict=True))
        # the rows (tuples) go to Arrow as they are, as structs: no transposing in Python
        rows_type = pa.struct([pa.field(f.name, kind)
                               for f, (_, kind) in zip(schema, stored, strict=True)])
        cursor = self.connection.execute(f"SELECT {columns} FROM ({sql}) AS q")
        try:
            while rows := cursor.fetchmany(SQLITE_ROWS):
                batch = pa.RecordBatch.from_struct_array(pa.array(rows, type=rows_type))
                yield batch.cast(schema)
        finally:
            cursor.close()

    def scalar(self, sql: str) -> Any:
        with closing(self.connection.execute(sql)) as cursor:
            row = cursor.fetchone()
        return None if row is None else row[0]


def _rebatched(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """The same rows in batches of ``rows`` (PostgreSQL's driver sizes them by bytes);
    slices are views, only a batch made of pieces is copied."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - held, batch.num_rows)
            pending.append(batch.slice(0, take))
            held += take
            batch = batch.slice(take)
            if held == rows:
                yield _joined(pending)
                pending, held = [], 0
    if held:
        yield _joined(pending)


def _joined(pieces: list[pa.RecordBatch]) -> pa.RecordBatch:
    return pieces[0] if len(pieces) == 1 else pa.concat_batches(pieces)
