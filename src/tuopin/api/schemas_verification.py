"""The API's shapes of independent verification: plans, their samples, their estimates."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from tuopin.domain.verification import VerificationKind


class FrameSize(BaseModel):
    households: int
    villages: int
    townships: int


class FrameDesign(BaseModel):
    households: int
    target: int
    per_village: int
    drawn: int | None = None


class VillageDesign(BaseModel):
    requested: int
    drawn: int
    certain: int | None = None
    interval: float | None = None
    start: float | None = Field(default=None, description="Only for who may see the list")


class Design(BaseModel):
    frame: FrameSize
    frames: dict[str, FrameDesign]
    villages: VillageDesign
    method: str


class Plan(BaseModel):
    """A verification plan: its parameters, design, state and steps. The seed and the draw's
    random start are null for who may not see its list. The ETag is its version."""

    plan: int
    region_code: str
    year: int
    kind: str
    state: str
    margin: float
    confidence: float
    deff: float
    p: float
    villages: int | None
    frame_hash: str | None
    sample_hash: str | None
    sample_size: int | None
    planned_by: str
    planned_on: date
    drawn_by: str | None
    drawn_on: date | None
    released_by: str | None
    released_on: date | None
    closed_by: str | None
    closed_on: date | None
    version: int
    seed: int | None
    sizes: dict[str, int] | None
    design: Design | None


class NewPlan(BaseModel):
    """A verification of a county in a year; parameters left out take the kind's defaults."""

    model_config = {"extra": "forbid"}

    region: str = Field(pattern=r"^\d{6,12}$", description="The county's code")
    year: int = Field(ge=2000, le=2100)
    kind: VerificationKind
    seed: int = Field(ge=0, le=2**63 - 1)
    margin: float | None = Field(default=None, gt=0, lt=1)
    confidence: float | None = Field(default=None, gt=0, lt=1)
    deff: float | None = Field(default=None, gt=0, le=100)
    p: float | None = Field(default=None, gt=0, lt=1)
    villages: int | None = Field(default=None, ge=1, le=100_000)
    sizes: dict[str, int] | None = Field(default=None, description="Households per frame "
                                         "(exited, unregistered, registered)")


class SampleHousehold(BaseModel):
    """A household a plan drew, with what finds it (the head's ID number masked) and its
    finding so far (null fields: none recorded)."""

    position: int
    household_number: str
    village_code: str
    village: str | None
    township_code: str
    township: str | None
    frame: str
    stratum: str
    variance_stratum: str
    psu: str
    pi_village: float
    pi_household: float
    probability: float
    weight: float
    head: str | None
    head_id: str | None
    address: str | None
    status: str | None
    visited: bool | None
    not_visited_reason: str | None
    visited_on: date | None
    household_size: int | None
    wage_income: float | None
    production_income: float | None
    property_income: float | None
    transfer_income: float | None
    production_costs: float | None
    medical_expenses: float | None
    food_secure: bool | None
    clothing_secure: bool | None
    schooling_secure: bool | None
    medical_secure: bool | None
    housing_grade: str | None
    water_quantity_lpd: float | None
    water_piped: bool | None
    water_trip_minutes: float | None
    water_outage_days: int | None
    water_quality_ok: bool | None
    water_scarce_area: bool | None
    judgement: str | None
    approval: bool | None
    note: str | None
    recorded_by: str | None
    recorded_on: date | None
    finding_version: int | None


class Progress(BaseModel):
    village_code: str
    village: str | None
    township_code: str
    township: str | None
    frame: str
    drawn: int
    recorded: int
    visited: int


class Estimate(BaseModel):
    """One measure with its 95 % interval and its verdict against the exit criterion."""

    measure: str
    title_zh: str
    title_en: str
    unit: str
    criterion: str
    threshold: float
    comparison: str
    threshold_text: str
    n: int
    estimate: float | None
    se: float | None
    ci95: list[float] | None
    deff: float | None
    degf: int | None
    verdict: str = Field(description="pass, fail or undecided")


class Response(BaseModel):
    drawn: int
    visited: int
    rate: float | None


class ResponseReport(Response):
    frames: dict[str, Response]
    villages: dict[str, Response]
    cells_without_visits: int


class Estimates(BaseModel):
    """A drawn plan's estimates (final once it is closed)."""

    plan: int
    region_code: str
    year: int
    kind: str
    state: str
    closed_on: date | None
    final: bool
    western: bool
    measures: list[Estimate]
    response: ResponseReport
