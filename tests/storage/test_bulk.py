"""Staging rows: every row arrives, and the staged table is analysed on a small sample
without changing how the rest of the transaction analyses."""

from __future__ import annotations

import pyarrow as pa
from sqlalchemy import Engine, func, select

from tuopin.storage import bulk


def test_staged_rows_arrive_and_leave_the_statistics_target_as_it_was(engine: Engine) -> None:
    data = pa.table({"number": [f"H{i}" for i in range(2_000)],
                     "year": pa.array(range(2_000), pa.int64())})
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL default_statistics_target = 123")
        staged = bulk.staging_table(conn, "staging_test", data.schema)
        bulk.load(conn, staged, data)
        assert conn.execute(select(func.count()).select_from(staged)).scalar_one() == 2_000
        if conn.dialect.name == "postgresql":
            assert conn.exec_driver_sql(
                "SHOW default_statistics_target").scalar_one() == "123"
            analysed = conn.exec_driver_sql(
                "SELECT reltuples FROM pg_class WHERE relname = 'staging_test'").scalar_one()
            assert analysed == 2_000  # the planner knows how many rows came
