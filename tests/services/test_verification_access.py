"""Who may do what with a verification, persona by persona: the county office plans, draws and
releases; the verifier records and closes; a spot check's list (and its seed) stays with the
county until it is released; nobody below the county sees a list before the plan is closed;
a helper sees no plan; a county officer of another county finds nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine

import verification_county as county
from factories import operator, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied
from tuopin.domain.verification import PlanState, VerificationKind
from tuopin.services.access.principal import Principal
from tuopin.services.verification import draws, estimates, fieldlists, findings, plans
from tuopin.storage.db import make_engine, session_factory

OPERATOR = operator()
ON = date(2021, 3, 1)
TOWNSHIP = f"{county.COUNTY}001"
VILLAGE = f"{county.COUNTY}001001"
PERSONAS: dict[str, Principal] = {
    "county_officer": user(Role.COUNTY_OFFICER, county.COUNTY, username="county"),
    "auditor": user(Role.AUDITOR, county.COUNTY, username="auditor"),
    "verifier": user(Role.VERIFIER, county.COUNTY, username="verifier"),
    "township_officer": user(Role.TOWNSHIP_OFFICER, TOWNSHIP, username="township"),
    "village_cadre": user(Role.VILLAGE_CADRE, VILLAGE, username="cadre"),
    "helper": user(Role.HELPER, county.COUNTY, username="helper",
                   households=frozenset({f"{VILLAGE}0001"})),
    "outsider": user(Role.COUNTY_OFFICER, county.OTHER_COUNTY, username="outsider"),
}
STATES = tuple(PlanState)
EVERY = frozenset(STATES)
DRAWN_ON = frozenset(STATES[1:])
RELEASED_ON = frozenset(STATES[2:])
CLOSED = frozenset({PlanState.CLOSED})
NEVER: frozenset[PlanState] = frozenset()
THIRD, SPOT = VerificationKind.THIRD_PARTY, VerificationKind.SPOT_CHECK
# persona -> kind -> (states in which they know of the plan, in which they see its list)
SEES = {
    "county_officer": {THIRD: (EVERY, EVERY), SPOT: (EVERY, EVERY)},
    "auditor": {THIRD: (EVERY, EVERY), SPOT: (EVERY, EVERY)},
    "verifier": {THIRD: (EVERY, DRAWN_ON), SPOT: (RELEASED_ON, RELEASED_ON)},
    "township_officer": {THIRD: (EVERY, CLOSED), SPOT: (CLOSED, CLOSED)},
    "village_cadre": {THIRD: (EVERY, CLOSED), SPOT: (CLOSED, CLOSED)},
    "helper": {THIRD: (NEVER, NEVER), SPOT: (NEVER, NEVER)},
    "outsider": {THIRD: (NEVER, NEVER), SPOT: (NEVER, NEVER)},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[Any, int]]]:
    """A plan of each kind in each state."""
    from tuopin.storage import migrate

    path = tmp_path_factory.mktemp("access") / "tuopin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    county.build(engine, townships=2, villages=2, households=(10, 20))
    ids: dict[Any, int] = {}
    with session_factory(engine)() as db, db.begin():
        for kind in (THIRD, SPOT):
            for state in STATES:
                plan = plans.plan(db, principal=OPERATOR, region=county.COUNTY, year=2020,
                                  kind=kind, seed=len(ids), as_of=ON, villages=4)["plan"]
                if state is not PlanState.PLANNED:
                    draws.draw(db, principal=OPERATOR, plan_id=plan, as_of=ON)
                if state in RELEASED_ON:
                    plans.release(db, principal=OPERATOR, plan_id=plan, as_of=ON)
                if state is PlanState.CLOSED:
                    plans.close(db, principal=OPERATOR, plan_id=plan, as_of=ON)
                ids[kind, state] = plan
    yield engine, ids
    engine.dispose()


def _outcome(call: Any) -> str:
    try:
        call()
    except PermissionDenied:
        return "denied"
    except NotFound:
        return "not found"
    return "ok"


@pytest.mark.parametrize("persona", sorted(PERSONAS))
@pytest.mark.parametrize("kind", [THIRD, SPOT])
def test_who_knows_of_a_plan_and_who_sees_its_list(
    world: tuple[Engine, dict[Any, int]], persona: str, kind: VerificationKind,
) -> None:
    engine, ids = world
    principal = PERSONAS[persona]
    knows, sees = SEES[persona][kind]
    refused = "denied" if persona == "helper" else "not found"
    with session_factory(engine)() as db:
        for state in STATES:
            plan = ids[kind, state]
            shown = _outcome(lambda p=plan: plans.show(db, principal=principal, plan_id=p))
            listed = _outcome(lambda p=plan: findings.sample_rows(
                db, principal=principal, plan_id=p))
            assert (state, shown, listed) == (state, "ok" if state in knows else refused,
                                              "ok" if state in sees else refused)
            exported = _outcome(lambda p=plan: fieldlists.field_lists(
                db, principal=principal, plan_id=p, lang="zh"))
            checked = "ok" if state is PlanState.PLANNED else _outcome(  # nothing to check
                lambda p=plan: draws.check(db, principal=principal, plan_id=p))
            if state in sees:
                assert (exported, checked) == ("ok", "ok")
            elif state is not PlanState.PLANNED:
                assert (exported, checked) == (refused, refused)
            listing = plans.list_plans(db, principal=principal) if persona != "helper" else []
            assert (plan in {r["plan"] for r in listing}) == (state in knows)


@pytest.mark.parametrize("persona", ["township_officer", "village_cadre"])
def test_below_the_county_the_seed_and_the_random_start_stay_hidden(
    world: tuple[Engine, dict[Any, int]], persona: str,
) -> None:
    engine, ids = world
    with session_factory(engine)() as db:
        row = plans.show(db, principal=PERSONAS[persona], plan_id=ids[THIRD, PlanState.DRAWN])
        shown = plans.show(db, principal=PERSONAS["county_officer"],
                           plan_id=ids[THIRD, PlanState.DRAWN])
        closed = plans.show(db, principal=PERSONAS[persona],
                            plan_id=ids[THIRD, PlanState.CLOSED])
    assert row["seed"] is None and "start" not in row["design"]["villages"]
    assert shown["seed"] is not None and "start" in shown["design"]["villages"]
    assert closed["seed"] is not None


def test_a_village_cadre_sees_only_their_villages_households_of_a_closed_plan(
    world: tuple[Engine, dict[Any, int]],
) -> None:
    engine, ids = world
    with session_factory(engine)() as db:
        rows = findings.sample_rows(db, principal=PERSONAS["village_cadre"],
                                    plan_id=ids[THIRD, PlanState.CLOSED])
        every = findings.sample_rows(db, principal=OPERATOR,
                                     plan_id=ids[THIRD, PlanState.CLOSED])
    assert {r["village_code"] for r in rows} <= {VILLAGE}
    assert len(rows) == sum(r["village_code"] == VILLAGE for r in every)


# what each persona gets for each step: "ok", "denied" (the role may not) or "not found"
STEPS = {
    #                  plan         draw         release      record       close
    "county_officer": ("ok", "ok", "ok", "denied", "denied"),
    "auditor": ("denied", "denied", "denied", "denied", "denied"),
    "verifier": ("denied", "denied", "denied", "ok", "ok"),
    "township_officer": ("denied", "denied", "denied", "denied", "denied"),
    "village_cadre": ("denied", "denied", "denied", "denied", "denied"),
    "helper": ("denied", "denied", "denied", "denied", "denied"),
    "outsider": ("not found", "not found", "not found", "denied", "denied"),
}


@pytest.mark.parametrize("persona", sorted(STEPS))
@pytest.mark.parametrize("kind", [THIRD, SPOT])
def test_each_step_is_taken_by_its_role(world: tuple[Engine, dict[Any, int]], persona: str,
                                        kind: VerificationKind) -> None:
    engine, ids = world
    principal = PERSONAS[persona]
    with session_factory(engine)() as db:
        db.begin()
        try:
            number = findings.sample_rows(
                db, principal=OPERATOR, plan_id=ids[kind, PlanState.RELEASED])[0][
                "household_number"]
            calls = (
                lambda: plans.plan(db, principal=principal, region=county.COUNTY, year=2020,
                                   kind=kind, seed=1, as_of=ON),
                lambda: draws.draw(db, principal=principal, plan_id=ids[kind, PlanState.PLANNED],
                                   as_of=ON),
                lambda: plans.release(db, principal=principal,
                                      plan_id=ids[kind, PlanState.DRAWN], as_of=ON),
                lambda: findings.record_finding(
                    db, principal=principal, plan_id=ids[kind, PlanState.RELEASED],
                    number=number, values={"visited": "否", "not_visited_reason": "absent"},
                    today=ON),
                lambda: plans.close(db, principal=principal,
                                    plan_id=ids[kind, PlanState.RELEASED], as_of=ON),
            )
            outcomes = []
            for call in calls:
                with db.begin_nested() as step:
                    outcomes.append(_outcome(call))
                    step.rollback()
        finally:
            db.rollback()
    assert tuple(outcomes) == STEPS[persona]


def test_estimates_are_for_those_who_know_of_the_plan(
    world: tuple[Engine, dict[Any, int]],
) -> None:
    engine, ids = world
    plan = ids[SPOT, PlanState.DRAWN]
    with session_factory(engine)() as db:
        outcomes = {name: _outcome(lambda p=principal: estimates.estimate(
            db, principal=p, plan_id=plan)) for name, principal in PERSONAS.items()}
    assert outcomes == {"county_officer": "ok", "auditor": "ok", "verifier": "not found",
                        "township_officer": "not found", "village_cadre": "not found",
                        "helper": "denied", "outsider": "not found"}
