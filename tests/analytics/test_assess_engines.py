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

    from factories import CASES, OPERATOR, VILLAGE, assessment_registry
    from tuopin.io.schema import Kind
    from tuopin.services.imports.files import import_file
    from tuopin.storage.db import make_engine
    from tuopin.storage.snapshot import write_snapshot

    engine = make_engine(sqlite_url)
    files = assessment_registry(tmp_path, years=(2019,))
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        assert import_file(engine, principal=OPERATOR, kind=kind, path=files[kind.value],
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


AF_STANDARD = """
[standard]
name = "af-2011-example"
version = "1"
title = { zh = "Alkire-Foster (2011) 例", en = "Alkire-Foster (2011) worked example" }
years = [2019, 2019]
sources = ["Alkire and Foster (2011), J. Public Econ. 95: 476-487, the 4 x 4 example"]

[income]
per_capita = "survey.wage_income / survey.household_size"

[[income_line]]
year = 2019
amount = 13
source = "z1 = 13 in the paper's example"

[[indicators]]
id = "income"
dimension = "income"
weight = 0.25
title = { zh = "收入", en = "income" }
explain = { zh = "{income_per_capita}", en = "{income_per_capita}" }
deprived = "income_per_capita < income_line"

[[indicators]]
id = "schooling"
dimension = "schooling"
weight = 0.25
title = { zh = "受教育年限", en = "years of schooling" }
explain = { zh = "x", en = "x" }
deprived = "survey.water_quantity_lpd < 12"

[[indicators]]
id = "health"
dimension = "health"
weight = 0.25
title = { zh = "自评健康", en = "self-rated health" }
explain = { zh = "x", en = "x" }
deprived = "survey.water_trip_minutes < 3"

[[indicators]]
id = "fourth"
dimension = "fourth"
weight = 0.25
title = { zh = "第四维", en = "fourth dimension" }
explain = { zh = "x", en = "x" }
deprived = "survey.water_outage_days < 1"

[poverty]
rule = "score"
k = 0.5
"""
# The paper's achievement matrix (13.1 14 4 1 / 15.2 7 5 0 / 12.5 10 1 0 / 20 11 3 1), each
# person a one-member household, the four dimensions carried by four survey columns.
AF_MATRIX = [(13.1, 14, 4, 1), (15.2, 7, 5, 0), (12.5, 10, 1, 0), (20, 11, 3, 1)]


def test_the_alkire_foster_worked_example_on_every_engine(
    sqlite_url: str, pg_url: str, tmp_path: Path, spark: Any
) -> None:
    """c = (0, 2, 4, 1); at k = 2 of 4: H = 1/2, A = 3/4, M0 = 3/8 (Alkire & Foster 2011)."""
    from datetime import UTC, date, datetime

    import numpy as np

    from factories import OPERATOR, REGIONS, VILLAGE, person_id, write_csv
    from tuopin.analytics.mpi import af_measures
    from tuopin.io.schema import Kind
    from tuopin.services.imports.files import import_file
    from tuopin.standards.loader import loads
    from tuopin.storage.db import make_engine
    from tuopin.storage.snapshot import write_snapshot

    homes = [{"number": f"AF{i}", "village_code": VILLAGE, "status": "ordinary"}
             for i in range(4)]
    people = [{"household_number": f"AF{i}", "id_number": person_id(date(1980, 1, 1 + i), 11),
               "name": f"person{i}", "relation": "head"} for i in range(4)]
    surveys = [{"household_number": f"AF{i}", "year": 2019, "household_size": 1,
                "wage_income": x1, "water_quantity_lpd": x2, "water_trip_minutes": x3,
                "water_outage_days": x4, "food_secure": 1, "clothing_secure": 1,
                "housing_grade": "A"} for i, (x1, x2, x3, x4) in enumerate(AF_MATRIX)]
    files = {"regions": write_csv(tmp_path / "r.csv", REGIONS),
             "households": write_csv(tmp_path / "h.csv", homes),
             "members": write_csv(tmp_path / "m.csv", people),
             "surveys": write_csv(tmp_path / "s.csv", surveys)}
    for url in (sqlite_url, pg_url):
        engine = make_engine(url)
        for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
            assert import_file(engine, principal=OPERATOR, kind=kind,
                               path=files[kind.value], today=date(2026, 11, 29)).ok
        engine.dispose()
    write_snapshot(sqlite_url, tmp_path / "snap", taken_at=datetime(2026, 1, 1, tzinfo=UTC))
    standard = loads(AF_STANDARD, source="af.toml")
    plan = Plan(standard, 2019, 13.0)
    registries = [("sqlite", lambda: open_store(sqlite_url)),
                  ("postgres", lambda: open_store(pg_url)),
                  ("duckdb", lambda: open_snapshot(tmp_path / "snap", engine="duckdb")),
                  ("spark", lambda: open_snapshot(tmp_path / "snap", engine="spark"))]
    ids = [i.id for i in standard.indicators]
    for name, opener in registries:
        registry = opener()
        try:
            rows = sorted(run_query(registry, plan).to_pylist(), key=lambda r: r["number"])
        finally:
            close(registry)
        g0 = np.array([[r[f"d_{i}"] for i in ids] for r in rows])
        assert [round(r["score"] * 4) for r in rows] == [0, 2, 4, 1], name
        result = af_measures(g0, [0.25] * 4, 0.5, indicator_names=ids)
        assert (result.H, result.A, result.M0) == pytest.approx((1 / 2, 3 / 4, 3 / 8)), name
        assert [r["poor"] for r in rows] == [False, True, True, False], name
