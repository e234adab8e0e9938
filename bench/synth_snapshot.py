"""A Parquet snapshot straight from the generator (bench only): the layout `tuopin snapshot`
writes, without loading millions of rows into a store first. Ids are assigned here the way
the store would assign them (one sequence per table)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tuopin.domain import regions as codes
from tuopin.io.schema import Kind
from tuopin.storage.snapshot import arrow_schema
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate_tables


def _conform(table: pa.Table, name: str, extra: dict[str, pa.Array]) -> pa.Table:
    schema = arrow_schema(name)
    columns = []
    for field in schema:
        if field.name in extra:
            column = extra[field.name]
        elif field.name in table.column_names:
            column = table.column(field.name)
        elif field.name == "version":
            column = pa.array(np.ones(table.num_rows, dtype=np.int32))
        else:
            column = pa.nulls(table.num_rows, field.type)
        columns.append(pc.cast(column, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write(config: SynthConfig, out: Path) -> dict[str, int]:
    """Generate ``config`` into ``out`` as a snapshot; rows per table."""
    counts = dict.fromkeys(("region", "household", "member", "survey"), 0)
    next_id = dict.fromkeys(("household", "member", "survey"), 1)
    numbers: dict[str, int] = {}  # the current county's household number -> id
    for kind, table in _chunks(config):
        if kind is Kind.REGIONS:
            code = table.column("code").to_pylist()
            levels = pa.array([int(codes.level_of(c)) for c in code], pa.int32())
            parents = pa.array([codes.parent_of(c) for c in code], pa.string())
            _write(out / "region" / "part-0.parquet",
                   _conform(table, "region", {"level": levels, "parent_code": parents}))
            counts["region"] += table.num_rows
            continue
        name = {Kind.HOUSEHOLDS: "household", Kind.MEMBERS: "member",
                Kind.SURVEYS: "survey"}[kind]
        county = table.column("village_code" if kind is Kind.HOUSEHOLDS else
                              "household_number")[0].as_py()[:6].ljust(12, "0")
        ids = pa.array(np.arange(next_id[name], next_id[name] + table.num_rows,
                                 dtype=np.int64))
        next_id[name] += table.num_rows
        extra = {"id": ids}
        if kind is Kind.HOUSEHOLDS:
            numbers = dict(zip(table.column("number").to_pylist(), ids.to_pylist(),
                               strict=True))
        else:
            extra["household_id"] = pa.array(
                [numbers[n] for n in table.column("household_number").to_pylist()], pa.int64())
        _write(out / name / f"county={county}" / f"part-{next_id[name]}.parquet",
               _conform(table, name, extra))
        counts[name] += table.num_rows
    manifest = {"format": 1, "taken_at": datetime.now(UTC).isoformat(), "backend": "synth",
                "revision": None, "rows": counts, "tuopin_version": "bench"}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return counts


def _chunks(config: SynthConfig):  # type: ignore[no-untyped-def]
    for kind, table in generate_tables(config):
        if kind is not Kind.HELPERS:
            yield kind, table


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
