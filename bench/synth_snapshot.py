"""A Parquet snapshot straight from the generator (bench only): the layout `tuopin snapshot`
writes, without loading millions of rows into a store first. Ids are assigned here the way
the store would assign them (one sequence per table), and the numbers an import file gives
(a member's household, an allocation's fund and project, a payment's project and the payment
it reverses, a helper's households) are resolved to those ids, as the importer does."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tuopin.domain import regions as codes
from tuopin.io.schema import Kind
from tuopin.storage.snapshot import (
    MANIFEST,
    PARTITIONED,
    ROWS_PER_GROUP,
    TABLES,
    SnapshotManifest,
    arrow_schema,
    conform,
)
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate_tables

TABLE_OF = {Kind.HOUSEHOLDS: "household", Kind.MEMBERS: "member", Kind.SURVEYS: "survey",
            Kind.HELPERS: "helper", Kind.FUNDS: "fund", Kind.PROJECTS: "project",
            Kind.ALLOCATIONS: "allocation", Kind.DISBURSEMENTS: "disbursement"}
# Amounts come as yuan text with two decimals ("1234.50"); the store keeps integer fen.
FEN_COLUMNS = {"fund": ("amount",), "project": ("budget",), "allocation": ("amount",),
               "disbursement": ("amount",)}


def write(config: SynthConfig, out: Path) -> dict[str, int]:
    """Generate ``config`` into ``out`` as a snapshot; rows per table. The cases planted
    (``config.plant_anomalies``) are listed in ``planted.csv`` beside the snapshot."""
    planted: list[tuple[str, str]] = []
    snapshot = _Snapshot(out)
    try:
        for kind, table in generate_tables(config, planted=planted):
            snapshot.add(kind, table)
    finally:
        snapshot.close()
    manifest = SnapshotManifest(taken_at=datetime.now(UTC), backend="synth", revision=None,
                                rows=snapshot.counts, tuopin_version="bench")
    (out / MANIFEST).write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    with planted_path(out).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("rule", "subject"), *planted])
    return snapshot.counts


def planted_path(snapshot: Path) -> Path:
    """Where ``write`` lists the planted cases (rule, subject) of a snapshot."""
    return snapshot.with_name(snapshot.name + "-planted.csv")


class _Snapshot:
    """The tables being written: ids handed out so far, and the current county's numbers."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.counts = dict.fromkeys(TABLES, 0)
        self.next_id = dict.fromkeys(TABLES, 1)
        # table -> (the current county's numbers, in id order; the id of the first)
        self.numbers: dict[str, tuple[pa.ChunkedArray, int]] = {}
        self.writers: dict[str, pq.ParquetWriter] = {}  # the unpartitioned tables, one part

    def add(self, kind: Kind, table: pa.Table) -> None:
        if kind is Kind.REGIONS:
            code = table.column("code").to_pylist()
            levels = pa.array([int(codes.level_of(c)) for c in code], pa.int32())
            parents = pa.array([codes.parent_of(c) for c in code], pa.string())
            self._write("region", conform(table, "region",
                                           {"level": levels, "parent_code": parents}))
            return
        name = TABLE_OF[kind]
        extra = {"id": self._ids(name, table)}
        if kind in (Kind.MEMBERS, Kind.SURVEYS):
            extra["household_id"] = self._resolve("household", table["household_number"])
        elif kind is Kind.ALLOCATIONS:
            extra["fund_id"] = self._resolve("fund", table["fund"])
            extra["project_id"] = self._resolve("project", table["project"])
        elif kind is Kind.DISBURSEMENTS:
            extra["project_id"] = self._resolve("project", table["project"])
            extra["reverses_id"] = self._resolve("disbursement", table["reverses"])
        for column in FEN_COLUMNS.get(name, ()):
            extra[column] = pc.cast(pc.replace_substring(table[column], ".", ""), pa.int64())
        self._write(name, conform(table, name, extra), county=_county(kind, table))
        if kind is Kind.HELPERS:
            self._write("helper_assignment", self._assignments(table, extra["id"]))

    def _ids(self, name: str, table: pa.Table) -> pa.Array:
        first = self.next_id[name]
        self.next_id[name] += table.num_rows
        if "number" in table.column_names:
            self.numbers[name] = (table["number"], first)
        return pa.array(np.arange(first, first + table.num_rows, dtype=np.int64))

    def _resolve(self, name: str, numbers: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The ids of the current county's ``name`` rows with these numbers (NULL stays)."""
        known, first = self.numbers[name]
        position = pc.index_in(numbers, value_set=known)
        if position.null_count != numbers.null_count:
            raise ValueError(f"a number names no {name} of its county")
        return pc.add(pc.cast(position, pa.int64()), first)

    def _assignments(self, helpers: pa.Table, helper_ids: pa.Array) -> pa.Table:
        """One row per (helper, household) from the helpers' ';'-lists of households."""
        lists = pc.split_pattern(helpers["households"].combine_chunks(), ";")
        parent = pc.list_parent_indices(lists)
        first = self.next_id["helper_assignment"]
        self.next_id["helper_assignment"] += len(parent)
        return conform(pa.table({}), "helper_assignment", {
            "id": pa.array(np.arange(first, first + len(parent), dtype=np.int64)),
            "helper_id": helper_ids.take(parent),
            "household_id": self._resolve("household", pc.list_flatten(lists)),
            "start_date": helpers["start_date"].take(parent),
        }, rows=len(parent))

    def _write(self, name: str, table: pa.Table, county: str | None = None) -> None:
        self.counts[name] += table.num_rows
        if county is None:
            if name not in self.writers:
                (self.out / name).mkdir(parents=True, exist_ok=True)
                self.writers[name] = pq.ParquetWriter(self.out / name / "part-0.parquet",
                                                      table.schema, compression="zstd")
            self.writers[name].write_table(table, row_group_size=4 * ROWS_PER_GROUP)
            return
        folder = self.out / name / f"county={county}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / f"part-{self.next_id[name]}.parquet")

    def close(self) -> None:
        """Close every table; a table no county gave rows still gets its (empty) part."""
        for name in TABLES:
            if name not in PARTITIONED and name not in self.writers:
                self._write(name, arrow_schema(name).empty_table())
        for writer in self.writers.values():
            writer.close()


def _county(kind: Kind, table: pa.Table) -> str | None:
    """The county folder of a partitioned table's chunk (a chunk is one county's)."""
    if TABLE_OF[kind] not in PARTITIONED:
        return None
    key = "village_code" if kind is Kind.HOUSEHOLDS else "household_number"
    return str(table.column(key)[0].as_py())[:6].ljust(12, "0")
