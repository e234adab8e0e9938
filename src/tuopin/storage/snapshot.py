"""Parquet snapshots of the registry, streamed from the store through ADBC.

A snapshot is a folder::

    manifest.json                       written last: no manifest, no snapshot
    region/part-0.parquet
    household/county=621121000000/part-0.parquet
    member/county=621121000000/part-0.parquet
    survey/county=621121000000/part-0.parquet
    helper/, helper_assignment/, fund/, project/, allocation/, disbursement/ (one part each)

Column types are canonical whatever the store (``arrow_schema``); the ``county`` partition
column lives only in the folder names.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from sqlalchemy import BigInteger, Boolean, Column, Date, Float, Integer, String, Table
from sqlalchemy.engine import make_url

from tuopin.domain.errors import ConfigurationError, NotFound, ValidationFailed
from tuopin.storage.models import (
    AllocationRecord,
    DisbursementRecord,
    FundRecord,
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    ProjectRecord,
    RegionRecord,
    SurveyRecord,
    table_of,
)

FORMAT = 1
MANIFEST = "manifest.json"
PARTITION = "county"
TABLES: dict[str, Table] = {
    "region": table_of(RegionRecord),
    "household": table_of(HouseholdRecord),
    "member": table_of(MemberRecord),
    "survey": table_of(SurveyRecord),
    # for the checks of the books of funds (whom a helper helps, who was paid)
    "helper": table_of(HelperRecord),
    "helper_assignment": table_of(HelperAssignmentRecord),
    "fund": table_of(FundRecord),
    "project": table_of(ProjectRecord),
    "allocation": table_of(AllocationRecord),
    "disbursement": table_of(DisbursementRecord),
}
PARTITIONED = ("household", "member", "survey")
BATCH_ROWS = 65_536
# Rows a county's file gathers before it writes a row group: stores are not ordered by
# county, so without it every batch would scatter into tiny row groups. Each county may hold
# up to this many rows in memory until the end, so it stays modest (80 counties x 32k rows of
# members is ~400 MB at worst; 1M members peak at ~490 MB RSS in all, 131k gave ~550 MB).
ROWS_PER_GROUP = 32_768
PROBE = "__probe"


@dataclass(frozen=True)
class SnapshotManifest:
    """What a complete snapshot holds; read back from ``manifest.json``."""

    taken_at: datetime
    backend: str  # "sqlite" or "postgresql"; never the URL, which may carry a password
    revision: str | None  # the store's Alembic revision
    rows: dict[str, int]
    tuopin_version: str
    format: int = FORMAT

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON-ready data."""
        return {
            "format": self.format,
            "taken_at": self.taken_at.isoformat(),
            "backend": self.backend,
            "alembic_revision": self.revision,
            "rows": self.rows,
            "tuopin_version": self.tuopin_version,
            "partitioning": {name: PARTITION for name in PARTITIONED},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SnapshotManifest:
        """The manifest from its JSON form."""
        return cls(
            taken_at=datetime.fromisoformat(data["taken_at"]), backend=data["backend"],
            revision=data["alembic_revision"], rows=dict(data["rows"]),
            tuopin_version=data["tuopin_version"], format=int(data["format"]),
        )


def _arrow_type(column: Column[Any]) -> pa.DataType:
    kind = column.type
    # Ids are 64-bit everywhere; other integers (years, counts, grades) are 32-bit.
    if isinstance(kind, BigInteger):
        return pa.int64()
    if isinstance(kind, Integer):
        return pa.int32()
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Date):
        return pa.date32()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, String):
        return pa.string()
    raise TypeError(f"no snapshot type for {column.table.name}.{column.name}: {kind!r}")


def arrow_schema(name: str) -> pa.Schema:
    """The canonical Arrow schema of snapshot table ``name`` (without the partition column)."""
    return pa.schema([
        pa.field(c.name, _arrow_type(c), nullable=bool(c.nullable)) for c in TABLES[name].columns
    ])


def conform(table: pa.Table, name: str, extra: dict[str, pa.Array],
            rows: int | None = None) -> pa.Table:
    """``table`` in the canonical schema of snapshot table ``name``, for tables made outside
    the store (the generator's): ``extra`` gives columns the table lacks (ids, resolved
    keys), a missing ``version`` is 1 and any other missing column is null."""
    schema = arrow_schema(name)
    rows = table.num_rows if rows is None else rows
    columns = []
    for field in schema:
        if field.name in extra:
            column = extra[field.name]
        elif field.name in table.column_names:
            column = table.column(field.name)
        elif field.name == "version":
            column = pa.repeat(pa.scalar(1, pa.int32()), rows)
        else:
            column = pa.nulls(rows, field.type)
        columns.append(pc.cast(column, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write_snapshot(url: str, out_dir: Path, *, taken_at: datetime) -> SnapshotManifest:
    """Write the registry in store ``url`` to ``out_dir`` as Parquet; all of it or nothing."""
    if taken_at.tzinfo is None:
        raise ValidationFailed("taken_at must carry a time zone")
    out_dir = Path(out_dir)
    _check_target(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place once whole, so a crash (or a kill)
    # leaves at most a hidden ``.name.partial-*`` folder without a manifest.
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        with _source(url) as source:
            rows = {name: _write_table(source, name, work / name) for name in TABLES}
            revision = source.revision()
        manifest = SnapshotManifest(
            taken_at=taken_at.astimezone(UTC), backend=source.backend, revision=revision,
            rows=rows, tuopin_version=metadata.version("tuopin"),
        )
        (work / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
        _move_into_place(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return manifest


def read_tables(url: str, names: Iterable[str]) -> dict[str, pa.Table]:
    """Tables of the store at ``url`` as Arrow in their canonical types, read in one
    transaction (for a query small enough to need no snapshot on disk)."""
    tables: dict[str, pa.Table] = {}
    with _source(url) as source:
        for name in names:
            schema = arrow_schema(name)
            full = (schema.append(pa.field(PARTITION, pa.string(), nullable=False))
                    if name in PARTITIONED else schema)
            batches = list(source.batches(_select_sql(name, source.backend), full))
            tables[name] = pa.Table.from_batches(batches, full).select(schema.names)
    return tables


def read_manifest(path: Path) -> SnapshotManifest:
    """The manifest of the complete snapshot at ``path``; NotFound if there is none."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise NotFound(f"no complete snapshot at {path} ({MANIFEST} is missing)")
    manifest = SnapshotManifest.from_json(json.loads(file.read_text()))
    if manifest.format != FORMAT:
        raise ConfigurationError(f"snapshot format {manifest.format} at {path}; "
                                 f"this tuopin reads format {FORMAT}")
    return manifest


def _check_target(out_dir: Path) -> None:
    # Replace only what is ours to replace: an earlier snapshot, or nothing.
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise ValidationFailed(f"{out_dir} exists and is not a snapshot; choose another folder")


def _move_into_place(work: Path, out_dir: Path) -> None:
    # POSIX cannot swap two folders in one step: for a moment the earlier snapshot sits
    # hidden beside the target, never a partial one in its place.
    if not out_dir.exists():
        work.rename(out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    out_dir.rename(old)
    work.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _write_table(source: _Source, name: str, folder: Path) -> int:
    schema = arrow_schema(name)
    partitioned = name in PARTITIONED
    county = pa.field(PARTITION, pa.string(), nullable=False)
    full = schema.append(county) if partitioned else schema
    count = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal count
        for batch in source.batches(_select_sql(name, source.backend), full):
            count += batch.num_rows
            yield batch

    ds.write_dataset(
        pa.RecordBatchReader.from_batches(full, batches()), folder, format="parquet",
        partitioning=[PARTITION] if partitioned else None,
        partitioning_flavor="hive" if partitioned else None,
        basename_template="part-{i}.parquet",
        # the folder is new: anything already there is a bug, not data to merge with
        existing_data_behavior="error",
        min_rows_per_group=ROWS_PER_GROUP, max_rows_per_group=4 * ROWS_PER_GROUP,
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
    )
    if count == 0:  # readers need a file to learn the columns of an empty table
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(schema.empty_table(), folder / "part-0.parquet")
    return count


def _select_sql(name: str, backend: str) -> str:
    alias = "h" if name == "household" else name[0]
    columns = [(f'{alias}."{c.name}"', c.name, _arrow_type(c)) for c in TABLES[name].columns]
    source = f'"{name}" AS {alias}'
    if name in ("member", "survey"):
        source += f' JOIN "household" AS h ON h."id" = {alias}."household_id"'
    if name in PARTITIONED:
        columns.append(("substr(h.\"village_code\", 1, 6) || '000000'", PARTITION, pa.string()))
    if backend == "sqlite":
        return _sqlite_sql(columns, source)
    return "SELECT " + ", ".join(f'{e} AS "{n}"' for e, n, _ in columns) + f" FROM {source}"


# storage class and a typed value for the probe row, by canonical type
_SQLITE_INT, _SQLITE_REAL, _SQLITE_TEXT = ("INTEGER", "0"), ("REAL", "0.0"), ("TEXT", "''")


def _sqlite_type(kind: pa.DataType) -> tuple[str, str]:
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return _SQLITE_INT
    return _SQLITE_REAL if pa.types.is_floating(kind) else _SQLITE_TEXT


def _sqlite_sql(columns: list[tuple[str, str, pa.DataType]], source: str) -> str:
    # The SQLite driver guesses each column's type from the first batch and fails when a
    # column that was NULL there holds text later. A first "probe" row with a typed
    # value in every column fixes the guesses; the casts pin each value's storage class
    # (dates stay ISO text, booleans 0/1; Arrow casts them afterwards).
    probe = [f'1 AS "{PROBE}"'] + [f'{_sqlite_type(k)[1]} AS "{n}"' for _, n, k in columns]
    real = ["0"] + [f"CAST({e} AS {_sqlite_type(k)[0]})" for e, _, k in columns]
    return f"SELECT {', '.join(probe)} UNION ALL SELECT {', '.join(real)} FROM {source}"


@dataclass
class _Source:
    backend: str
    connection: Any
    prepare: Callable[[Any], None]  # sets per-statement options on a new cursor

    def batches(self, sql: str, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """The rows of ``sql`` in batches, cast to ``schema`` (SQLite's probe row dropped)."""
        cursor = self.connection.cursor()
        try:
            self.prepare(cursor)
            cursor.execute(sql)
            for batch in cursor.fetch_record_batch():
                if PROBE in batch.schema.names:
                    # only the batch that holds the probe row pays for a filtering copy
                    if pc.max(batch.column(PROBE)).as_py() == 1:
                        batch = batch.filter(pc.equal(batch.column(PROBE), 0))
                    batch = batch.select(schema.names)
                yield batch.cast(schema)
        finally:
            cursor.close()

    def revision(self) -> str | None:
        """The store's Alembic revision, read in the same transaction as the rows."""
        cursor = self.connection.cursor()
        try:
            cursor.execute("SELECT version_num FROM alembic_version")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else str(row[0])


@contextmanager
def _source(url: str) -> Iterator[_Source]:
    """An ADBC connection inside one read transaction, so the tables agree with each other."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        path = parsed.database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise NotFound(f"no SQLite store at {path!r}")
        # DB-API connections start with autocommit off: every read below shares one
        # transaction (and, in WAL mode, one consistent view while writers go on).
        connection = adbc_sqlite.connect(path)

        def prepare(cursor: Any) -> None:
            cursor.adbc_statement.set_options(
                **{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
    elif backend == "postgresql":
        import adbc_driver_postgresql.dbapi as adbc_pg

        connection = adbc_pg.connect(
            parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        # READ COMMITTED would give each table its own moment; REPEATABLE READ gives one.
        connection.adbc_connection.set_options(**{
            "adbc.connection.transaction.isolation_level":
                "adbc.connection.transaction.isolation.repeatable_read"})

        def prepare(cursor: Any) -> None:
            return None
    else:
        raise ConfigurationError(f"snapshots read SQLite or PostgreSQL, not {backend}")
    try:
        yield _Source(backend, connection, prepare)
    finally:
        connection.rollback()  # nothing was written; end the read transaction
        connection.close()
