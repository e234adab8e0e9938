"""Parquet snapshots of the registry, streamed from the store as Arrow (storage/arrow_stream).

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
from collections.abc import Iterable, Iterator
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

from tuopin.domain.errors import ConfigurationError, NotFound, ValidationFailed
from tuopin.storage.arrow_stream import Reader, reading
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
# Rows a county's file gathers before it writes a row group: stores are not ordered by
# county, so without it every batch would scatter into tiny row groups. Each county may hold
# up to this many rows in memory until the end, so it stays modest (80 counties x 32k rows of
# members is ~400 MB at worst; 1M members peak at ~490 MB RSS in all, 131k gave ~550 MB).
ROWS_PER_GROUP = 32_768


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
        with reading(url) as source:
            rows = {name: _write_table(source, name, work / name) for name in TABLES}
            revision = source.scalar("SELECT version_num FROM alembic_version")
        manifest = SnapshotManifest(
            taken_at=taken_at.astimezone(UTC), backend=source.backend,
            revision=None if revision is None else str(revision),
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
    with reading(url) as source:
        for name in names:
            schema = arrow_schema(name)
            full = (schema.append(pa.field(PARTITION, pa.string(), nullable=False))
                    if name in PARTITIONED else schema)
            batches = list(source.batches(_select_sql(name), full))
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


def _write_table(source: Reader, name: str, folder: Path) -> int:
    schema = arrow_schema(name)
    partitioned = name in PARTITIONED
    county = pa.field(PARTITION, pa.string(), nullable=False)
    full = schema.append(county) if partitioned else schema
    count = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal count
        for batch in source.batches(_select_sql(name), full):
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


def _select_sql(name: str) -> str:
    alias = "h" if name == "household" else name[0]
    columns = [(f'{alias}."{c.name}"', c.name) for c in TABLES[name].columns]
    source = f'"{name}" AS {alias}'
    if name in ("member", "survey"):
        source += f' JOIN "household" AS h ON h."id" = {alias}."household_id"'
    if name in PARTITIONED:
        columns.append(("substr(h.\"village_code\", 1, 6) || '000000'", PARTITION))
    return "SELECT " + ", ".join(f'{e} AS "{n}"' for e, n in columns) + f" FROM {source}"

