"""Verification plans: planning one, who may see it and its list, releasing and closing it.

Who sees what (the policy's READ_VERIFICATION holds the roles; this module the states):

- a plan of a county is seen by those whose region is the county, inside it or around it;
- the county office, the administrator and the auditor see every plan and its list from the
  draw on (the auditor to redraw and check it);
- the verifier sees a third-party evaluation and its list once drawn, a spot check (暗访督查)
  only once it is released to them on the day: before that no one below the county knows
  of it;
- township officers and village cadres see a third-party evaluation's plan and figures, but
  the list (which households are visited, and what was found there) only once the plan is
  closed, to put right the errors found in their area;
- the seed (with the registry, it redraws the list) and the draw's random start are part of
  the list: whoever may not see the list sees neither.

A plan moves planned → drawn → released → closed; each step records who took it and on
which day (never before the step it follows), and an audit event.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel, Role
from tuopin.domain.errors import Message, NotFound, RuleBroken
from tuopin.domain.verification import (
    FRAMES,
    NEXT_STATE,
    Frame,
    PlanState,
    VerificationKind,
    defaults,
)
from tuopin.i18n import N_
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import RegionRecord, VerificationPlanRecord

PLAN = N_("The verification plan")
NOT_A_COUNTY = N_("A verification is planned for a county: {code} is not a county code.")
BAD_PARAMETER = N_("{name} must be {rule}, not {value}.")
UNKNOWN_FRAME = N_("Unknown frame {frame}: use exited, unregistered or registered.")
WRONG_STATE = N_("The plan is {state}: {step} is not possible now.")
# the steps WRONG_STATE names
STEP_WORDS = {"draw": N_("drawing its sample"), "release": N_("releasing its list"),
              "close": N_("closing it"), "check": N_("checking its draw"),
              "estimate": N_("estimating its figures")}
BEFORE_STEP = N_("The date {on} is before the plan's previous step ({previous}).")
FUTURE_YEAR = N_("The year {year} is after the day of planning ({on}).")
# who sees every plan and list of their region from the draw on
ALWAYS = frozenset({Role.ADMIN, Role.COUNTY_OFFICER, Role.AUDITOR})
BELOW_COUNTY = frozenset({Role.TOWNSHIP_OFFICER, Role.VILLAGE_CADRE})
MAX_SEED = 2**63 - 1
STEPS = {PlanState.DRAWN: ("drawn_by", "drawn_on"),
         PlanState.RELEASED: ("released_by", "released_on"),
         PlanState.CLOSED: ("closed_by", "closed_on")}
PLAN_FIELDS = ("region_code", "year", "kind", "state", "margin", "confidence", "deff", "p",
               "villages", "frame_hash", "sample_hash", "sample_size", "planned_by",
               "planned_on", "drawn_by", "drawn_on", "released_by", "released_on",
               "closed_by", "closed_on", "version")


def county_of(code: str) -> str:
    """The county a region code lies in (a county's own code for a county)."""
    return code[:6].ljust(regions.CODE_LENGTH, "0")


def _reaches(principal: Principal, plan: VerificationPlanRecord) -> bool:
    """The plan's county is the principal's region, inside it, or holds it."""
    scope = principal.scope
    if scope.covers(plan.region_code):
        return True
    return bool(scope.region_code) and county_of(scope.region_code or "") == plan.region_code


def plan_visible(principal: Principal, plan: VerificationPlanRecord) -> bool:
    """Whether ``principal`` may know of ``plan`` at all (see the module's docstring)."""
    if not _reaches(principal, plan):
        return False
    if principal.operator or principal.role in ALWAYS:
        return True
    state, third_party = PlanState.of(plan.state), plan.kind == VerificationKind.THIRD_PARTY
    if principal.role is Role.VERIFIER:
        return third_party or state in (PlanState.RELEASED, PlanState.CLOSED)
    if principal.role in BELOW_COUNTY:
        return third_party or state is PlanState.CLOSED
    return False


def list_visible(principal: Principal, plan: VerificationPlanRecord) -> bool:
    """Whether ``principal`` may see which households ``plan`` drew (and its seed)."""
    if not plan_visible(principal, plan):
        return False
    state = PlanState.of(plan.state)
    if principal.operator or principal.role in ALWAYS:
        return True
    if principal.role is Role.VERIFIER:
        if plan.kind == VerificationKind.THIRD_PARTY:
            return state is not PlanState.PLANNED
        return state in (PlanState.RELEASED, PlanState.CLOSED)
    return principal.role in BELOW_COUNTY and state is PlanState.CLOSED


@reads(Action.READ_VERIFICATION)
def find(db: Session, *, principal: Principal, plan_id: int, lock: bool = False,
         need_list: bool = False) -> VerificationPlanRecord:
    """The plan ``plan_id`` if ``principal`` may know of it (and, with ``need_list``, see its
    list); else NotFound, as if it did not exist."""
    query = select(VerificationPlanRecord).where(VerificationPlanRecord.id == plan_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = db.scalars(query).first()
    if found is None or not (list_visible if need_list else plan_visible)(principal, found):
        raise NotFound(f"verification plan {plan_id} not found")
    return found


def plan_row(plan: VerificationPlanRecord, *, secret: bool) -> dict[str, Any]:
    """A plan as plain data; its seed and the draw's random start only when not ``secret``
    (for who may see its list)."""
    design = json.loads(plan.design) if plan.design else None
    if design is not None and secret:
        design["villages"] = {k: v for k, v in design["villages"].items() if k != "start"}
    return {"plan": plan.id, **{name: getattr(plan, name) for name in PLAN_FIELDS},
            "seed": None if secret else plan.seed,
            "sizes": json.loads(plan.sizes) if plan.sizes else None, "design": design}


def _county(db: Session, principal: Principal, code: str) -> str:
    county = regions.normalize(code)
    try:
        level = regions.level_of(county)
    except regions.RegionCodeError:
        level = None
    if level is not RegionLevel.COUNTY:
        raise RuleBroken(NOT_A_COUNTY, code=repr(code))
    known = db.scalar(select(RegionRecord.code).where(RegionRecord.code == county))
    if known is None or not principal.scope.covers(county):
        raise NotFound(f"county {code} not found")
    return county


def _check(name: str, value: float, ok: bool, rule: str) -> None:
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        raise RuleBroken(BAD_PARAMETER, name=name, rule=rule, value=value)


def _sizes(given: Mapping[str, int] | None) -> dict[str, int] | None:
    if not given:
        return None
    found = {}
    for name, value in given.items():
        try:
            frame = Frame.of(name)
        except ValueError:
            raise RuleBroken(UNKNOWN_FRAME, frame=repr(name)) from None
        _check(f"size of {frame.value}", value, isinstance(value, int) and value >= 0,
               "a whole number, 0 or more")
        found[frame.value] = int(value)
    return {f.value: found[f.value] for f in FRAMES if f.value in found}


@changes(Action.PLAN_VERIFICATION)
def plan(db: Session, *, principal: Principal, region: str, year: int,
         kind: VerificationKind, seed: int, as_of: date, margin: float | None = None,
         confidence: float | None = None, deff: float | None = None, p: float | None = None,
         villages: int | None = None, sizes: Mapping[str, int] | None = None
         ) -> dict[str, Any]:
    """Plan a verification of the county ``region`` in ``year``: the design's parameters
    (the kind's defaults for those not given) and the seed; nothing is drawn yet."""
    county = _county(db, principal, region)
    usual = defaults(kind)
    chosen = {"margin": usual.margin if margin is None else margin,
              "confidence": usual.confidence if confidence is None else confidence,
              "deff": usual.deff if deff is None else deff, "p": usual.p if p is None else p}
    _check("margin", chosen["margin"], 0 < chosen["margin"] < 1, "between 0 and 1")
    _check("confidence", chosen["confidence"], 0 < chosen["confidence"] < 1,
           "between 0 and 1")
    _check("deff", chosen["deff"], chosen["deff"] > 0, "positive")
    _check("p", chosen["p"], 0 < chosen["p"] < 1, "between 0 and 1")
    _check("villages", villages or 0, villages is None or villages >= 1, "at least 1")
    _check("seed", seed, 0 <= seed <= MAX_SEED, f"a whole number from 0 to {MAX_SEED}")
    if not 2000 <= year <= as_of.year:
        raise RuleBroken(FUTURE_YEAR, year=year, on=as_of.isoformat())
    given = _sizes(sizes)
    record = VerificationPlanRecord(
        region_code=county, year=year, kind=kind.value, villages=villages, seed=seed,
        sizes=json.dumps(given) if given else None, state=PlanState.PLANNED.value,
        planned_by=principal.actor, planned_on=as_of, **chosen)
    db.add(record)
    records.flush(db, what=PLAN)
    row = plan_row(record, secret=False)
    audit.record(db, actor=principal.actor, action="plan", entity="verification_plan",
                 entity_id=str(record.id), after=_audited(row))
    return row


def _audited(row: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a plan: everything but its design's details."""
    return {k: v for k, v in row.items() if k != "design"}


def wrong_state(record: VerificationPlanRecord, step: str) -> RuleBroken:
    """The refusal of ``step`` (a key of STEP_WORDS) in the plan's present state."""
    return RuleBroken(WRONG_STATE, state=Message(PlanState.of(record.state).title),
                      step=Message(STEP_WORDS[step]))


def check_step(record: VerificationPlanRecord, *, to: PlanState, as_of: date, step: str,
               expected_version: int | None = None) -> None:
    """Refuse a step to ``to`` unless it is the plan's next one, on the version the caller
    saw, dated no earlier than the step before it."""
    state = PlanState.of(record.state)
    if NEXT_STATE.get(state) is not to:
        raise wrong_state(record, step)
    records.check_version(PLAN, found=record.version, expected=expected_version,
                          current=plan_row(record, secret=True))
    previous = record.planned_on if state is PlanState.PLANNED else getattr(
        record, STEPS[state][1])
    if as_of < previous:
        raise RuleBroken(BEFORE_STEP, on=as_of.isoformat(), previous=previous.isoformat())


def mark_step(record: VerificationPlanRecord, *, to: PlanState, actor: str,
              as_of: date) -> None:
    """Record the step to ``to``: the state, who took it and on which day."""
    by, on = STEPS[to]
    record.state = to.value
    setattr(record, by, actor)
    setattr(record, on, as_of)


def _advance(db: Session, principal: Principal, record: VerificationPlanRecord, *,
             to: PlanState, as_of: date, step: str,
             expected_version: int | None) -> dict[str, Any]:
    check_step(record, to=to, as_of=as_of, step=step, expected_version=expected_version)
    secret = not list_visible(principal, record)
    before = _audited(plan_row(record, secret=secret))
    mark_step(record, to=to, actor=principal.actor, as_of=as_of)
    records.flush(db, what=PLAN)
    row = plan_row(record, secret=not list_visible(principal, record))
    audit.record(db, actor=principal.actor, action=step, entity="verification_plan",
                 entity_id=str(record.id), before=before, after=_audited(row))
    return row


@changes(Action.RELEASE_SAMPLE)
def release(db: Session, *, principal: Principal, plan_id: int, as_of: date,
            expected_version: int | None = None) -> dict[str, Any]:
    """Release a drawn sample to the verifiers (a spot check: on the day of the visits);
    findings can be recorded from now on."""
    record = find(db, principal=principal, plan_id=plan_id, lock=True)
    return _advance(db, principal, record, to=PlanState.RELEASED, as_of=as_of,
                   step="release", expected_version=expected_version)


@changes(Action.CLOSE_VERIFICATION)
def close(db: Session, *, principal: Principal, plan_id: int, as_of: date,
          expected_version: int | None = None) -> dict[str, Any]:
    """Close a released plan: its findings are final, and its estimates count for the
    county's exit check."""
    record = find(db, principal=principal, plan_id=plan_id, lock=True)
    return _advance(db, principal, record, to=PlanState.CLOSED, as_of=as_of, step="close",
                   expected_version=expected_version)


@reads(Action.READ_VERIFICATION)
def show(db: Session, *, principal: Principal, plan_id: int) -> dict[str, Any]:
    """One plan: its parameters, design, state and steps."""
    record = find(db, principal=principal, plan_id=plan_id)
    return plan_row(record, secret=not list_visible(principal, record))


@reads(Action.READ_VERIFICATION)
def list_plans(db: Session, *, principal: Principal, region: str | None = None,
               state: PlanState | None = None) -> list[dict[str, Any]]:
    """The plans ``principal`` may know of (of ``region``'s county and the counties in it),
    newest first."""
    scope = principal.within(region).scope
    plans = VerificationPlanRecord
    query = select(plans)
    if scope.region_code:
        query = query.where(or_(plans.region_code.startswith(scope.prefix, autoescape=True),
                                plans.region_code == county_of(scope.region_code)))
    if state is not None:
        query = query.where(plans.state == state.value)
    viewer = principal.within(region)
    found = db.scalars(query.order_by(plans.id.desc()))
    return [plan_row(p, secret=not list_visible(viewer, p)) for p in found
            if plan_visible(viewer, p)]
