"""Snapshots of a SQLite store inside a process whose engine holds connections to it.

A second SQLite library in the process (ADBC's driver links its own) breaks the engine's
POSIX locks on a WAL store: its reader saw a stale store and the engine's connections then
failed with "disk I/O error" (sqlite.org, "How To Corrupt An SQLite Database File", 2.2.1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy import Engine, func, insert, select, text

from tuopin.storage.db import make_engine
from tuopin.storage.models import RegionRecord
from tuopin.storage.snapshot import read_tables, write_snapshot

TAKEN_AT = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def _add_regions(engine: Engine, first: int, count: int) -> None:
    with engine.begin() as conn:
        conn.execute(insert(RegionRecord), [
            {"code": f"62{n:010d}", "name": f"县{n}", "level": 3}
            for n in range(first, first + count)])


def _regions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(RegionRecord)).scalar_one())


def test_snapshots_between_the_engine_s_writes_see_every_row_and_break_no_lock(
    sqlite_url: str, tmp_path: Path,
) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as held:  # as a server's pool holds its connections
            assert held.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            held.rollback()  # open, outside a transaction (which would hold the write lock)
            _add_regions(engine, 1, 5)
            first = read_tables(sqlite_url, ["region"])["region"].num_rows
            _add_regions(engine, 100, 7)
            again = read_tables(sqlite_url, ["region"])["region"].num_rows
            _add_regions(engine, 200, 3)
            manifest = write_snapshot(sqlite_url, tmp_path / "snap", taken_at=TAKEN_AT)
            stored = _regions(engine)
        assert (first, again, manifest.rows["region"]) == (stored - 10, stored - 3, stored)
        assert pq.read_table(tmp_path / "snap" / "region").num_rows == stored
        fresh = make_engine(sqlite_url)
        try:
            _add_regions(fresh, 300, 1)
            assert _regions(fresh) == _regions(engine) == stored + 1
        finally:
            fresh.dispose()
    finally:
        engine.dispose()

