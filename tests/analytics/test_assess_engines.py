"""The shipped standards give identical results on SQLite, PostgreSQL, DuckDB and Spark."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tuopin.analytics.assess import Plan, run_query
from tuopin.analytics.backends import close, open_snapshot, open_store
from tuopin.standards.loader import load

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

YEARS = {"cn-national": 2019, "cn-mpi": 2019, "cn-monitoring": 2020}


def canonical(table: pa.Table) -> list[dict[str, Any]]:
    """Rows by household; member lists sorted (engines concatenate in any order)."""
    rows = sorted(table.to_pylist(), key=lambda r: r["hid"])
    for row in rows:
        for key, value in row.items():
            if key.startswith("m_") and value:
                row[key] = ";".join(sorted(value.split(";")))
    return rows


def assert_same(got: list[dict[str, Any]], want: list[dict[str, Any]], engine: str) -> None:
    assert len(got) == len(want), engine
    for mine, theirs in zip(got, want, strict=True):
        assert mine.keys() == theirs.keys(), engine
        for key, value in theirs.items():
            if isinstance(value, float) or isinstance(mine[key], float):
                both_none = value is None and mine[key] is None
                assert both_none or math.isclose(mine[key], value, rel_tol=1e-9, abs_tol=1e-9), (
                    engine, key, mine["number"], mine[key], value)
            else:
                assert mine[key] == value, (engine, key, mine["number"], mine[key], value)


def test_every_shipped_standard_gives_the_same_results_on_every_engine(
    synthetic_store: str, synthetic_snapshot: Path, spark: Any
) -> None:
    """The store's own engine (SQLite, then PostgreSQL) against DuckDB and Spark."""
    for name, year in YEARS.items():
        standard = load(name)
        plan = Plan(standard, year, standard.income_line(year).amount)
        store = open_store(synthetic_store)
        try:
            want = canonical(run_query(store, plan))
        finally:
            close(store)
        assert want and any(row["poor"] for row in want), name
        for engine in ("duckdb", "spark"):
            registry = open_snapshot(synthetic_snapshot, engine=engine)
            try:
                assert_same(canonical(run_query(registry, plan)), want, f"{name} {engine}")
            finally:
                close(registry)


def test_the_hand_computed_cases_hold_on_spark(sqlite_url: str, tmp_path: Path,
                                               spark: Any) -> None:
    from datetime import UTC, date, datetime

    from factories import CASES, VILLAGE, assessment_registry
    from tuopin.io.schema import Kind
    from tuopin.services.imports import import_file
    from tuopin.storage.db import make_engine
    from tuopin.storage.snapshot import write_snapshot

    engine = make_engine(sqlite_url)
    files = assessment_registry(tmp_path, years=(2019,))
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        assert import_file(engine, kind=kind, path=files[kind.value], actor="t",
                           today=date(2026, 11, 29)).ok
    engine.dispose()
    write_snapshot(sqlite_url, tmp_path / "snap", taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    standard = load("cn-national")
    registry = open_snapshot(tmp_path / "snap", engine="spark")
    try:
        rows = run_query(registry, Plan(standard, 2019, standard.income_line(2019).amount))
    finally:
        close(registry)
    ids = [i.id for i in standard.indicators]
    found = {r["number"]: {i for i in ids if r[f"d_{i}"]} for r in rows.to_pylist()}
    numbers = {name: f"{VILLAGE}{i:04d}" for i, name in enumerate(CASES, start=1)}
    assert found == {numbers[name]: wanted for name, (_, _, wanted) in CASES.items()}
