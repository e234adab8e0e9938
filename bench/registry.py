"""Synth and import of 1M members (BENCH_SCALE=province: ~5M), on SQLite and PostgreSQL.

Baselines, measured in the same run: pandas `to_csv` of the same members (the cost of the
output alone) for synth; for import, loading the same file with no validation at all —
pandas `read_csv` + `to_sql` into a bare table (SQLite) and a hand-written `COPY ... FROM
STDIN` of the raw file (PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from pathlib import Path

from bench.common import measure, report

PG_SERVER = os.environ.get("TUOPIN_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SCALES = {"default": 275_000, "province": 1_375_000}  # households: ~1M and ~5M members


def _members(folder: Path) -> int:
    with (folder / "members.csv").open("rb") as handle:
        return sum(1 for _ in handle) - 1


def bench_synth(folder: Path) -> list[str]:
    households = SCALES[os.environ.get("BENCH_SCALE", "default")]
    ours = measure("synth", "synth", folder, households)
    members = _members(folder)
    baseline = measure("pandas to_csv", "pandas_to_csv", folder, rows=members)
    return [report(f"synth {members:,} members (csv)", ours.with_rows(members), baseline)]


def bench_import_sqlite(folder: Path, members: int) -> list[str]:
    work = Path(tempfile.mkdtemp())
    url = f"sqlite:///{work / 'bench.db'}"
    measure("prepare", "prepare", url, folder)
    ours = measure("import", "tuopin_import", url, folder, rows=members)
    baseline = measure("pandas to_sql", "pandas_to_sql", folder, work / "plain.db",
                       rows=members)
    return [report(f"import {members:,} members SQLite", ours, baseline)]


def bench_import_postgres(folder: Path, members: int) -> list[str]:
    name = f"tuopin_bench_{uuid.uuid4().hex[:8]}"
    libpq = PG_SERVER.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(["psql", f"{libpq}/postgres", "-qc", f'CREATE DATABASE "{name}"'],
                   check=True)
    try:
        url = f"{PG_SERVER}/{name}"
        measure("prepare", "prepare", url, folder)
        ours = measure("import", "tuopin_import", url, folder, rows=members)
        baseline = measure("COPY raw CSV", "copy_raw_csv", f"{libpq}/{name}", folder,
                           rows=members)
        return [report(f"import {members:,} members PostgreSQL", ours, baseline)]
    finally:
        subprocess.run(["psql", f"{libpq}/postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)


def run() -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="tuopin-bench-"))
    lines = bench_synth(folder)
    members = _members(folder)
    lines += bench_import_sqlite(folder, members)
    lines += bench_import_postgres(folder, members)
    return lines
