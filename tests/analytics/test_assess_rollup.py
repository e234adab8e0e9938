"""The roll-up computed in the engine, and an assessment without explanation facts."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tuopin.analytics.assess import Plan, rollup, run_query
from tuopin.analytics.backends import close, open_snapshot, open_store
from tuopin.standards.loader import load

YEARS = {"cn-national": 2019, "cn-mpi": 2019}
DIGITS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


def summed(results: pa.Table) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """The roll-up worked out row by row in Python from the households' results."""
    totals: dict[tuple[int, str], Counter[str]] = {}
    for row in results.to_pylist():
        for level, digits in DIGITS.items():
            key = (level, row["village_code"][:digits].ljust(12, "0"))
            count = totals.setdefault(key, Counter())
            count.update(households=1, people=row["members"],
                         poor_households=int(row["poor"]),
                         poor_people=row["members"] if row["poor"] else 0)
    return {key: (c["households"], c["people"], c["poor_households"], c["poor_people"])
            for key, c in totals.items()}


def as_dict(table: pa.Table) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    assert table.schema.field("level").type == pa.int32()
    rows = table.to_pylist()
    found = {(r["level"], r["region_code"]): (r["households"], r["people"],
                                              r["poor_households"], r["poor_people"])
             for r in rows}
    assert len(found) == len(rows)  # one row per level and region
    return found


def test_the_rollup_sums_the_assessment_at_every_level_on_the_store_and_duckdb(
        synthetic_store: str, synthetic_snapshot: Path) -> None:
    for name, year in YEARS.items():
        standard = load(name)
        plan = Plan(standard, year, standard.income_line(year).amount)
        store = open_store(synthetic_store)
        try:
            want = summed(run_query(store, plan))
            assert as_dict(rollup(store, plan)) == want, name
        finally:
            close(store)
        assert any(poor for _, _, poor, _ in want.values()), name
        registry = open_snapshot(synthetic_snapshot)
        try:
            assert as_dict(rollup(registry, plan)) == want, name
            county = min(code for level, code in want if level == 5)[:6]
            scoped = as_dict(rollup(registry, plan, scope_prefix=county))
            assert {code[:6] for level, code in scoped if level >= 3} == {county}
            assert scoped[(3, county.ljust(12, "0"))] == want[(3, county.ljust(12, "0"))]
        finally:
            close(registry)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_the_rollup_is_the_same_on_spark(synthetic_snapshot: Path, spark: Any) -> None:
    standard = load("cn-national")
    plan = Plan(standard, 2019, standard.income_line(2019).amount)
    found = []
    for engine in ("duckdb", "spark"):
        registry = open_snapshot(synthetic_snapshot, engine=engine)
        try:
            found.append(as_dict(rollup(registry, plan)))
        finally:
            close(registry)
    assert found[0] == found[1]


def test_an_assessment_without_facts_gives_the_same_verdicts(
        synthetic_snapshot: Path) -> None:
    standard = load("cn-national")
    plan = Plan(standard, 2019, standard.income_line(2019).amount)
    registry = open_snapshot(synthetic_snapshot)
    try:
        full = run_query(registry, plan)
        bare = run_query(registry, replace(plan, facts=False))
    finally:
        close(registry)
    explained = [c for c in full.column_names if c.startswith(("m_", "v_"))]
    assert explained and not [c for c in bare.column_names if c.startswith(("m_", "v_"))]
    assert bare.equals(full.drop_columns(explained))


def test_aggregates_that_read_the_household_give_what_one_member_pass_gives(
        synthetic_snapshot: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second pass (members joined to their households), forced for every aggregate,
    agrees with the single pass that member-only aggregates take."""
    from tuopin.analytics import assess

    standard = load("cn-monitoring")
    plan = Plan(standard, 2020, standard.income_line(2020).amount)
    registry = open_snapshot(synthetic_snapshot)
    try:
        one_pass = run_query(registry, plan)
        monkeypatch.setattr(assess, "_member_only", lambda node: False)
        two_passes = run_query(registry, plan)
    finally:
        close(registry)
    assert any(c.startswith("m_") for c in one_pass.column_names)
    assert [sorted_members(r) for r in two_passes.to_pylist()] == [
        sorted_members(r) for r in one_pass.to_pylist()]


def sorted_members(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its member lists sorted (engines concatenate in any order)."""
    return {k: ";".join(sorted(v.split(";"))) if k.startswith("m_") and v else v
            for k, v in row.items()}
