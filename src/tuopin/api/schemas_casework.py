"""The API's shapes of plans and measures (一户一策, 对账销号), exits and monitoring cases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from tuopin.domain.enums import ExitState, MeasureStatus, MonitoringState


class Evidence(BaseModel):
    """A file attached to a measure as evidence that it was delivered."""

    evidence: int
    file: str
    sha256: str
    type: str = Field(description="The type read from the file's first bytes")
    size: int
    by: str
    on: date


class Measure(BaseModel):
    """A measure of a plan and where it stands in the ledger; its ETag is ``version``."""

    id: int
    plan: int
    household: str
    kind: str
    content: str
    indicator: str | None
    cause: str | None
    helper: str | None = Field(description="The responsible helper's number")
    helper_name: str | None
    unit: str | None
    due_date: date
    budget: float = Field(description="Yuan")
    funding_source: str | None
    status: str
    completed_on: date | None
    verifier: str | None
    verified_on: date | None
    cancel_reason: str | None
    delay_reason: str | None
    follow_up: str | None
    remeasure: str | None
    evidence: list[Evidence]
    version: int


class Plan(BaseModel):
    household: str
    plan: int
    status: str
    version: int
    run: int | None = Field(description="The assessment run it was drafted from")
    drafted_by: str | None
    drafted_on: date | None
    approved_by: str | None
    approved_on: date | None


class HouseholdPlan(BaseModel):
    """一户一策: a household's plan (its newest) and every measure of it."""

    plan: Plan
    measures: list[Measure]


class Reason(BaseModel):
    """Why a measure is cancelled."""

    model_config = {"extra": "forbid"}

    reason: str = Field(min_length=1, max_length=500)


class Delay(BaseModel):
    """查明原因: why a measure is late, and what follows (问责)."""

    model_config = {"extra": "forbid"}

    reason: str = Field(min_length=1, max_length=500)
    follow_up: str | None = Field(default=None, max_length=500)


class OverdueMeasure(BaseModel):
    """A measure of an approved plan still owed after its due date."""

    measure: int
    household: str
    village_code: str
    kind: str
    content: str
    indicator: str | None
    helper: str | None
    helper_name: str | None
    unit: str | None
    due_date: date
    days_overdue: int
    status: str
    delay_reason: str | None
    follow_up: str | None


class AccountabilityGroup(BaseModel):
    """问责清单: one responsible helper and unit, with their overdue measures' totals."""

    helper: str | None
    helper_name: str | None
    unit: str | None
    measures: int
    total_days_overdue: int
    max_days_overdue: int
    without_reason: int


class ExitEvidence(BaseModel):
    """What an exit step rests on: the democratic review's minutes and the run judged on
    (a proposal), the notice's dates (a notice, an announcement), the objection, or the
    indicators a run found failed (a return to poverty)."""

    minutes: str | None = None
    run: int | None = None
    standard: str | None = None
    year: int | None = None
    notice_start: date | None = None
    notice_end: date | None = None
    objection: str | None = None
    failed: list[str] | None = None


class ExitEvent(BaseModel):
    on: date
    from_: str = Field(alias="from")
    to: str
    by: str
    note: str | None
    run_id: int | None
    evidence: ExitEvidence | None

    model_config = {"populate_by_name": True}


class ExitCase(BaseModel):
    """退出: a household's exit case and its steps. ``version`` 0: no case yet (send
    ``If-Match: "0"`` to open one)."""

    number: str
    household_status: str
    state: str
    run_id: int | None = None
    opened_on: date | None = None
    notice_start: date | None = None
    notice_end: date | None = None
    exited_on: date | None = None
    version: int = 0
    events: list[ExitEvent]


class ExitStep(BaseModel):
    """The state to move an exit case to: ``pre_exit`` (预脱贫: propose, with the democratic
    review's minutes as ``note``, on ``run`` or the household's newest national run),
    ``in_notice`` (公示 from ``start``, default today), ``exited`` (公告 once the notice is
    over) or ``not_exited`` (an objection during the notice, its reason as ``note``)."""

    model_config = {"extra": "forbid"}

    to: Literal[ExitState.PRE_EXIT, ExitState.IN_NOTICE, ExitState.EXITED,
                ExitState.NOT_EXITED]
    note: str | None = Field(default=None, max_length=2000)
    run: int | None = Field(default=None, ge=1, le=2**62)
    start: date | None = None


class MonitoringCase(BaseModel):
    """防返贫监测: a case in the identification procedure, or decided; its ETag is ``version``."""

    case: int
    number: str
    village_code: str
    state: str
    category: str
    risk_types: str | None
    source: str
    run_id: int | None
    opened_on: date
    deadline: date
    notice_start: date | None
    notice_end: date | None
    identified_on: date | None
    cleared_on: date | None
    plan_id: int | None
    late: bool
    days_late: int
    version: int


class MonitoringEvent(BaseModel):
    on: date
    from_: str = Field(alias="from")
    to: str
    by: str
    note: str | None

    model_config = {"populate_by_name": True}


class Shock(BaseModel):
    kind: str
    occurred_on: date
    amount: float | None = Field(description="The loss in yuan, if known")
    reported_on: date
    reassess_by: date | None


class MonitoringCaseFile(MonitoringCase):
    """A case with its steps (tuopin's own notes in the Accept-Language) and its shocks."""

    events: list[MonitoringEvent]
    shocks: list[Shock]


class MonitoringStep(BaseModel):
    """The next state of the procedure (or ``rejected``), dated ``on`` (default today);
    ``cleared`` (风险消除) closes an identified case when every condition holds."""

    model_config = {"extra": "forbid"}

    to: MonitoringState
    on: date | None = None
    note: str | None = Field(default=None, max_length=500)


# -- the household file's summaries (GET /households/{number}) -------------------------------

class PlanSummary(BaseModel):
    """The household's plan in brief: the measures by where they stand."""

    plan: int
    status: str
    version: int
    measures: int
    open: int = Field(description="Planned or in progress")
    done: int
    verified: int
    cancelled: int


class ExitSummary(BaseModel):
    state: str
    version: int = Field(description="0: no exit case yet")
    opened_on: date | None = None
    notice_end: date | None = None
    exited_on: date | None = None


class MonitoringSummary(BaseModel):
    case: int
    state: str
    category: str
    deadline: date
    late: bool
    version: int


def plan_summary(found: Mapping[str, Any]) -> dict[str, Any]:
    """A plan as household_plans.show gives it, counted for the household file."""
    states = [m["status"] for m in found["measures"]]
    open_ = sum(s in (MeasureStatus.PLANNED, MeasureStatus.IN_PROGRESS) for s in states)
    return {**found["plan"], "measures": len(states), "open": open_,
            "done": states.count(MeasureStatus.DONE), "verified":
            states.count(MeasureStatus.VERIFIED), "cancelled":
            states.count(MeasureStatus.CANCELLED)}
