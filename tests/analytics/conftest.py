"""Shared analytics fixtures: one Spark session per test process, a synthetic store, a snapshot,
and the cross-engine probe expression (``village_summary``).

Spark tests carry ``@pytest.mark.spark`` and ``xdist_group("spark")``, so that under
``pytest -n 2 --dist loadgroup`` (``make test``) one worker runs them all on one session.
The standalone-cluster test loads this file with ``runpy`` in a child process to run the same
expression there, so it must stay importable on its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pytest

from tuopin.analytics.backends import Registry
from tuopin.services.imports.synthetic import load_synthetic
from tuopin.storage.db import make_engine
from tuopin.storage.snapshot import write_snapshot
from tuopin.synth.config import SynthConfig

# Small villages and counties, so 2,000 households span five counties and 100 villages.
SYNTH = SynthConfig(households=2000, seed=11, households_per_village=20,
                    villages_per_township=5, townships_per_county=4)
TAKEN_AT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
YEAR = 2020
AS_OF = date(2020, 12, 31)


def village_summary(registry: Registry) -> ir.Table:
    """Per village: a member->household->survey join, counts, sums, any/all, ages, dates."""
    h, m, s = registry.household, registry.member, registry.survey
    survey = s.filter(s.year == YEAR)
    born = m.birth_date
    birthday_later = (born.month() * 100 + born.day()) > (AS_OF.month * 100 + AS_OF.day)
    people = m.filter(m.deceased_date.isnull() | (m.deceased_date > AS_OF)).select(
        hid=m.household_id, born=born, insured=m.medical_insurance, dibao=m.dibao,
        disabled=m.health == "disabled",
        age=AS_OF.year - born.year() - ibis.ifelse(birthday_later, 1, 0),
    )
    income = (survey.wage_income.fill_null(0) + survey.production_income.fill_null(0)
              + survey.property_income.fill_null(0) + survey.transfer_income.fill_null(0))
    homes = h.join(survey, h.id == survey.household_id).select(
        hid=h.id, village_code=h.village_code, poor=h.status == "poor",
        food_secure=survey.food_secure, size=survey.household_size, income=income)
    joined = people.join(homes, people.hid == homes.hid)
    by_member = joined.group_by("village_code").aggregate(
        households=joined.hid.nunique(), members=joined.count(),
        children=(joined.age < 16).sum(), oldest=joined.age.max(),
        # PostgreSQL's AVG of an integer is NUMERIC, which Ibis 12 cannot fetch as float64.
        mean_age=joined.age.cast("float64").mean(),
        earliest_birth=joined.born.min(), disabled=joined.disabled.sum(),
        any_dibao=joined.dibao.any(), all_insured=joined.insured.all(),
        income_shares=(joined.income / joined.size).sum(),
    )
    by_home = homes.group_by("village_code").aggregate(
        poor=homes.poor.sum(), food_insecure=(~homes.food_secure).sum(),
        income=homes.income.sum(), max_income=homes.income.max(),
    )
    return by_member.join(by_home, "village_code").order_by("village_code")


def rows_of(expr: ir.Table) -> list[dict[str, Any]]:
    """The rows of ``expr`` as Python values, in village order."""
    return sorted(expr.to_pyarrow().to_pylist(), key=lambda row: row["village_code"])


def assert_same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]], engine: str) -> None:
    """Equal row by row; floats equal to a relative 1e-9 (sums add up in another order)."""
    assert len(got) == len(want), engine
    for mine, theirs in zip(got, want, strict=True):
        assert mine.keys() == theirs.keys(), engine
        for key, value in theirs.items():
            if isinstance(value, float):
                assert math.isclose(mine[key], value, rel_tol=1e-9), (engine, key, mine)
            else:
                assert mine[key] == value and type(mine[key]) is type(value), (engine, key, mine)


def load_store(url: str, config: SynthConfig = SYNTH) -> dict[str, int]:
    """Fill the store at ``url`` with the synthetic registry of ``config``."""
    from factories import operator  # here: the cluster's driver runs this file on its own

    engine = make_engine(url)
    try:
        return load_synthetic(engine, principal=operator("test"), config=config,
                              today=date(2026, 11, 29))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The test process's Spark session (started once; ~8 s)."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed (make setup-spark)")
    from tuopin.analytics.backends import spark_session, stop_spark

    started = time.perf_counter()
    session = spark_session()
    print(f"\nSpark session started in {time.perf_counter() - started:.1f} s")
    yield session
    stop_spark()


@pytest.fixture
def synthetic_store(db_url: str) -> str:
    """A fresh store (SQLite, then PostgreSQL) holding the 2,000-household registry."""
    load_store(db_url)
    return db_url


@pytest.fixture
def synthetic_snapshot(synthetic_store: str, tmp_path: Path) -> Path:
    """A snapshot of ``synthetic_store``."""
    out = tmp_path / "snapshot"
    write_snapshot(synthetic_store, out, taken_at=TAKEN_AT)
    return out


@pytest.fixture
def sqlite_snapshot(sqlite_url: str, tmp_path: Path) -> Path:
    """A snapshot of the 2,000-household registry, from SQLite only."""
    load_store(sqlite_url)
    out = tmp_path / "snapshot"
    write_snapshot(sqlite_url, out, taken_at=TAKEN_AT)
    return out


class Probe:
    """The cross-engine probe, handed out as a fixture: test modules cannot import conftest."""

    expression: Callable[[Registry], ir.Table] = staticmethod(village_summary)
    rows = staticmethod(rows_of)
    assert_same = staticmethod(assert_same_rows)


@pytest.fixture
def probe() -> type[Probe]:
    """The cross-engine probe expression and its comparison."""
    return Probe
