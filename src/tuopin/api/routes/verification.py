"""The API's independent verification: plans, samples, estimates; planning, drawing,
releasing and closing a plan.

Which plans and lists a caller sees as a plan moves on is services/verification/plans.py's;
a list the caller may not (yet) see is not found, as on the pages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from tuopin.api.deps import PrincipalDep, SessionDep, TodayDep
from tuopin.api.paging import etag, expected_version
from tuopin.api.problems import WRITES
from tuopin.api.schemas_verification import Estimates, NewPlan, Plan, Progress, SampleHousehold
from tuopin.domain.verification import PlanState
from tuopin.services.registry import lookup
from tuopin.services.verification import draws, estimates, plans, visits

router = APIRouter(tags=["verification"])
PlanId = Annotated[int, Path(ge=1, le=2**62, description="The plan's id")]
IfMatch = Annotated[str | None, Header(description="The ETag of the version you read")]
Village = Annotated[str | None, Query(pattern=r"^\d{12}$", description="Only this village")]


@router.get("/verification/plans", response_model=list[Plan])
def list_plans(db: SessionDep, principal: PrincipalDep,
               region: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
               state: PlanState | None = None) -> Any:
    """The plans you may know of (of your region's county and the counties in it), newest
    first."""
    code = lookup.region_code(principal=principal, code=region) if region else None
    return plans.list_plans(db, principal=principal, region=code, state=state)


@router.post("/verification/plans", response_model=Plan, status_code=201,
             responses=WRITES)
def new_plan(response: Response, db: SessionDep, principal: PrincipalDep, today: TodayDep,
             body: NewPlan) -> Any:
    """Plan a verification of a county (nothing is drawn yet)."""
    made = plans.plan(db, principal=principal, as_of=today, **body.model_dump())
    response.headers["ETag"] = etag(made["version"])
    return made


@router.get("/verification/plans/{plan_id}", response_model=Plan)
def get_plan(response: Response, db: SessionDep, principal: PrincipalDep,
             plan_id: PlanId) -> Any:
    """One plan; the ETag is its version (send it in If-Match to take its next step)."""
    found = plans.show(db, principal=principal, plan_id=plan_id)
    response.headers["ETag"] = etag(found["version"])
    return found


@router.get("/verification/plans/{plan_id}/sample", response_model=list[SampleHousehold])
def sample(db: SessionDep, principal: PrincipalDep, plan_id: PlanId,
           village: Village = None) -> Any:
    """The households the plan drew in your region (only ``village``'s if given), in the
    order of the draw, with their findings so far - once the plan's state lets you see its
    list."""
    return visits.visit_list(db, principal=principal, plan_id=plan_id, village=village)


@router.get("/verification/plans/{plan_id}/sample/{number}", response_model=SampleHousehold)
def sampled_household(db: SessionDep, principal: PrincipalDep, plan_id: PlanId,
                      number: Annotated[str, Path(max_length=32)]) -> Any:
    """One household the plan drew, with its finding so far (not found when the plan did
    not draw it, it is outside your region, or you may not see the list yet)."""
    return visits.finding(db, principal=principal, plan_id=plan_id, number=number)


@router.get("/verification/plans/{plan_id}/progress", response_model=list[Progress])
def progress(db: SessionDep, principal: PrincipalDep, plan_id: PlanId) -> Any:
    """The visits so far per village and frame in your region."""
    return visits.progress(db, principal=principal, plan_id=plan_id)


@router.get("/verification/plans/{plan_id}/estimates", response_model=Estimates)
def plan_estimates(db: SessionDep, principal: PrincipalDep, plan_id: PlanId) -> Any:
    """错退率, 漏评率, 认可度 and the composite incidence with their 95 % intervals and verdicts
    (final once the plan is closed)."""
    return estimates.estimate(db, principal=principal, plan_id=plan_id)


@router.post("/verification/plans/{plan_id}/draw", response_model=Plan, responses=WRITES)
def draw(response: Response, db: SessionDep, principal: PrincipalDep, today: TodayDep,
         plan_id: PlanId, if_match: IfMatch = None) -> Any:
    """Draw the planned sample (once), only if If-Match is the plan's version."""
    draws.draw(db, principal=principal, plan_id=plan_id, as_of=today,
               expected_version=expected_version(if_match))
    found = plans.show(db, principal=principal, plan_id=plan_id)
    response.headers["ETag"] = etag(found["version"])
    return found


@router.post("/verification/plans/{plan_id}/release", response_model=Plan, responses=WRITES)
def release(response: Response, db: SessionDep, principal: PrincipalDep, today: TodayDep,
            plan_id: PlanId, if_match: IfMatch = None) -> Any:
    """Release the drawn sample to the verifiers, only if If-Match is the plan's version."""
    found = plans.release(db, principal=principal, plan_id=plan_id, as_of=today,
                          expected_version=expected_version(if_match))
    response.headers["ETag"] = etag(found["version"])
    return found


@router.post("/verification/plans/{plan_id}/close", response_model=Plan, responses=WRITES)
def close(response: Response, db: SessionDep, principal: PrincipalDep, today: TodayDep,
          plan_id: PlanId, if_match: IfMatch = None) -> Any:
    """Close a released plan (its findings are final), only if If-Match is its version."""
    found = plans.close(db, principal=principal, plan_id=plan_id, as_of=today,
                        expected_version=expected_version(if_match))
    response.headers["ETag"] = etag(found["version"])
    return found
