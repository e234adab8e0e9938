"""One expression, four engines, the same numbers: the store itself, DuckDB and Spark."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tuopin.analytics.backends import CANONICAL, Registry, close, open_snapshot, open_store

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def test_one_expression_gives_the_same_numbers_on_every_engine(
    synthetic_store: str, synthetic_snapshot: Path, spark: Any, probe: Any,
) -> None:
    openers: list[Callable[[], Registry]] = [
        lambda: open_store(synthetic_store),
        lambda: open_snapshot(synthetic_snapshot, engine="duckdb"),
        lambda: open_snapshot(synthetic_snapshot, engine="spark"),
    ]
    results: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    for opener in openers:
        started = time.perf_counter()
        registry = opener()
        try:
            for name, schema in CANONICAL.items():
                assert getattr(registry, name).schema() == schema, (registry.engine, name)
            expr = probe.expression(registry)
            results[registry.engine] = (expr.schema(), probe.rows(expr))
        finally:
            close(registry)
        print(f"\n{registry.engine}: {time.perf_counter() - started:.2f} s")
    assert set(results) == {"sqlite" if "sqlite" in synthetic_store else "postgres",
                            "duckdb", "spark"}
    schema, want = results["duckdb"]
    for engine, (their_schema, rows) in results.items():
        assert their_schema == schema, engine
        probe.assert_same(rows, want, engine)
    _assert_the_probe_means_something(want)


def _assert_the_probe_means_something(rows: list[dict[str, Any]]) -> None:
    # Identical results prove little if every value were NULL, zero or the same.
    assert len(rows) > 50  # about a hundred villages
    assert sum(r["households"] for r in rows) == 2000
    assert {r["any_dibao"] for r in rows} == {True, False}
    assert {r["all_insured"] for r in rows} == {True, False}
    assert all(r["children"] > 0 and r["oldest"] >= 60 for r in rows)
    assert sum(r["poor"] for r in rows) > 0 and sum(r["disabled"] for r in rows) > 0
    assert all(isinstance(r["mean_age"], float) and r["income"] > 0 for r in rows)
    total = sum(r["income"] for r in rows)
    assert sum(r["income_shares"] for r in rows) == pytest.approx(total, rel=1e-9)
