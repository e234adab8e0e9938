"""Planning a verification, and a plan's life: planned → drawn → released → closed, each step
recorded (who, which day, an audit event), never back, never out of order or dated earlier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import verification_county as county
from factories import operator
from tuopin.domain.errors import NotFound, RuleBroken, StaleVersion
from tuopin.domain.verification import PlanState, VerificationKind
from tuopin.services.verification import draws, plans
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import AuditEventRecord

OPERATOR = operator()
ON = date(2021, 3, 1)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    county.build(engine, townships=2, villages=2, households=(10, 20))
    yield engine
    engine.dispose()


def _plan(engine: Engine, **given: Any) -> dict[str, Any]:
    values = {"region": county.COUNTY, "year": county.YEAR, "seed": 11,
              "kind": VerificationKind.THIRD_PARTY, "as_of": ON, **given}
    with session_factory(engine)() as db, db.begin():
        return plans.plan(db, principal=OPERATOR, **values)


def _step(engine: Engine, step: str, plan: int, on: date = ON,
          version: int | None = None) -> dict[str, Any]:
    with session_factory(engine)() as db, db.begin():
        if step == "draw":
            draws.draw(db, principal=OPERATOR, plan_id=plan, as_of=on, expected_version=version)
            return plans.show(db, principal=OPERATOR, plan_id=plan)
        function = plans.release if step == "release" else plans.close
        return function(db, principal=OPERATOR, plan_id=plan, as_of=on,
                        expected_version=version)


@pytest.mark.parametrize(("kind", "margin"), [(VerificationKind.THIRD_PARTY, 0.02),
                                              (VerificationKind.SPOT_CHECK, 0.10)])
def test_a_plan_takes_its_kinds_defaults_from_the_shipped_file(
    store: Engine, kind: VerificationKind, margin: float,
) -> None:
    row = _plan(store, kind=kind)
    assert (row["kind"], row["state"], row["margin"], row["confidence"], row["deff"],
            row["p"]) == (kind.value, "planned", margin, 0.95, 1.5, 0.5)
    assert (row["region_code"], row["year"], row["seed"], row["planned_by"],
            row["planned_on"], row["version"]) == ("621121000000", 2020, 11, "t", ON, 1)


def test_given_parameters_and_sizes_are_kept(store: Engine) -> None:
    row = _plan(store, margin=0.05, confidence=0.9, deff=2.0, p=0.1, villages=3,
                sizes={"unregistered": 40, "exited": 30})
    assert (row["margin"], row["confidence"], row["deff"], row["p"], row["villages"]) == (
        0.05, 0.9, 2.0, 0.1, 3)
    assert row["sizes"] == {"exited": 30, "unregistered": 40}


@pytest.mark.parametrize("bad", [
    {"margin": 0.0}, {"margin": 1.5}, {"confidence": 1.0}, {"deff": 0.0}, {"p": 1.0},
    {"villages": 0}, {"seed": -1}, {"sizes": {"poor": 3}}, {"sizes": {"exited": -1}},
    {"year": 2022}, {"margin": float("nan")},
])
def test_impossible_parameters_are_refused(store: Engine, bad: dict[str, Any]) -> None:
    with pytest.raises(RuleBroken):
        _plan(store, **bad)


@pytest.mark.parametrize(("region", "error"), [
    ("621121001", RuleBroken),  # a township
    ("621121001001", RuleBroken),  # a village
    ("62", RuleBroken),  # a province
    ("621199", NotFound),  # a county the store does not know
])
def test_a_verification_is_planned_for_a_known_county(store: Engine, region: str,
                                                     error: type[Exception]) -> None:
    with pytest.raises(error):
        _plan(store, region=region)


def test_a_plan_moves_forward_one_step_at_a_time_and_records_each(store: Engine) -> None:
    plan = _plan(store)["plan"]
    with pytest.raises(RuleBroken, match="planned: releasing its list"):
        _step(store, "release", plan)
    with pytest.raises(RuleBroken, match="closing it is not"):
        _step(store, "close", plan)
    drawn = _step(store, "draw", plan, date(2021, 3, 2))
    with pytest.raises(RuleBroken, match="before the plan's previous step"):
        _step(store, "release", plan, date(2021, 3, 1))
    with pytest.raises(StaleVersion):
        _step(store, "release", plan, date(2021, 3, 5), version=drawn["version"] - 1)
    released = _step(store, "release", plan, date(2021, 3, 5), version=drawn["version"])
    closed = _step(store, "close", plan, date(2021, 3, 9))
    assert (released["state"], released["released_by"], released["released_on"]) == (
        "released", "t", date(2021, 3, 5))
    assert (closed["state"], closed["closed_by"], closed["closed_on"]) == (
        "closed", "t", date(2021, 3, 9))
    for step in ("draw", "release", "close"):
        with pytest.raises(RuleBroken, match="closed: "):
            _step(store, step, plan, date(2021, 3, 10))
    with Session(store) as db:
        events = db.scalars(select(AuditEventRecord).where(
            AuditEventRecord.entity == "verification_plan").order_by(AuditEventRecord.id))
        trail = [(e.action, json.loads(e.after or "{}").get("state")) for e in events]
    assert trail == [("plan", "planned"), ("draw", None), ("release", "released"),
                     ("close", "closed")]


def test_plans_are_listed_newest_first_and_by_state(store: Engine) -> None:
    first = _plan(store)["plan"]
    second = _plan(store, kind=VerificationKind.SPOT_CHECK)["plan"]
    _step(store, "draw", second)
    with session_factory(store)() as db:
        every = plans.list_plans(db, principal=OPERATOR)
        drawn = plans.list_plans(db, principal=OPERATOR, state=PlanState.DRAWN)
        elsewhere = plans.list_plans(db, principal=OPERATOR, region=county.OTHER_COUNTY)
    assert [r["plan"] for r in every] == [second, first]
    assert [r["plan"] for r in drawn] == [second]
    assert elsewhere == []
