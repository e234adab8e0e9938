"""The API's typed shapes: every response is one of these (the OpenAPI schema says so).

Personal numbers (ID, phone, bank account) arrive masked for a caller whose role does not
need them, as text: the same field either way.
"""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from tuopin.api.schemas_casework import ExitSummary, MonitoringSummary, PlanSummary

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``next`` is the cursor of the following page (null: the last)."""

    items: list[T]
    next: str | None = Field(description="Pass as ?cursor= for the next page; null at the end")


class RegionNode(BaseModel):
    code: str
    name: str
    level: str
    depth: int
    village: bool
    households: int
    members: int
    poor: int
    exited: int
    monitored: int


class Household(BaseModel):
    number: str
    village_code: str
    address: str | None
    status: str
    category: str | None
    main_cause: str | None
    other_causes: str | None
    year_identified: int | None
    year_exited: int | None
    phone: str | None
    bank_account: str | None
    version: int


class HouseholdChange(BaseModel):
    """Fields to change, as text in the importer's spelling; a field left out is kept.
    The status and its years change only through the procedures."""

    model_config = {"extra": "forbid"}

    village_code: str | None = None
    address: str | None = None
    category: str | None = None
    main_cause: str | None = None
    other_causes: str | None = None
    phone: str | None = None
    bank_account: str | None = None


class Member(BaseModel):
    id: int
    household_number: str
    id_number: str
    name: str
    sex: str
    birth_date: date
    relation: str
    ethnicity: str | None
    education: str | None
    schooling_status: str | None
    health: str | None
    disability_grade: int | None
    labour: str | None
    months_worked_away: int | None
    medical_insurance: bool | None
    critical_illness_insurance: bool | None
    pension_insurance: bool | None
    dibao: bool | None
    phone: str | None
    deceased_date: date | None
    version: int


class SurveySubmission(BaseModel):
    """Where a survey collected on a phone came from (ODK Central, KoboToolbox)."""

    instance_id: str = Field(description="The submission's stable id (Central's KEY, Kobo's "
                                         "uuid); an edit keeps it")
    current_id: str | None = Field(description="The instance id of the edit last imported")
    form_id: str | None
    form_version: str | None
    submitter: str | None
    submitted_at: str | None = Field(description="As the survey server exported it")
    source: str = Field(description="central, kobo-xlsx or kobo-csv")


class Survey(BaseModel):
    """年度信息采集: money in yuan."""

    household_number: str
    year: int
    household_size: int
    wage_income: float | None
    production_income: float | None
    property_income: float | None
    transfer_income: float | None
    production_costs: float | None
    medical_expenses: float | None
    food_secure: bool
    clothing_secure: bool
    housing_grade: str
    water_quantity_lpd: float | None
    water_piped: bool | None
    water_trip_minutes: float | None
    water_outage_days: int | None
    water_quality_ok: bool | None
    water_scarce_area: bool | None
    collected_by: str | None
    collected_on: date | None
    submission: SurveySubmission | None = Field(
        default=None, description="Set when the survey was collected on a phone")


class SurveyValues(BaseModel):
    """A survey's values as text in the importer's spelling (as a CSV cell would hold them);
    the importer's rules check them. A field left out is empty."""

    model_config = {"extra": "forbid"}

    household_size: str | None = None
    wage_income: str | None = None
    production_income: str | None = None
    property_income: str | None = None
    transfer_income: str | None = None
    production_costs: str | None = None
    medical_expenses: str | None = None
    food_secure: str | None = None
    clothing_secure: str | None = None
    housing_grade: str | None = None
    water_quantity_lpd: str | None = None
    water_piped: str | None = None
    water_trip_minutes: str | None = None
    water_outage_days: str | None = None
    water_quality_ok: str | None = None
    water_scarce_area: str | None = None
    collected_by: str | None = None
    collected_on: str | None = None


class Explanation(BaseModel):
    indicator: str
    title: str
    explanation: str


class HouseholdResult(BaseModel):
    """A household's result in an assessment run, each failed indicator explained."""

    run: int
    standard: str
    year: int
    household: str
    poor: bool
    score: float | None
    income_per_capita: float | None
    categories: list[str]
    indicators: list[Explanation]


class Helper(BaseModel):
    number: str
    name: str
    unit: str
    phone: str | None


class HouseholdFile(BaseModel):
    """One household with everything recorded about it."""

    household: Household
    members: list[Member]
    surveys: list[Survey]
    helpers: list[Helper]
    assessment: HouseholdResult | None
    plan: PlanSummary | None = Field(description="Its plan (一户一策) in brief; null: none")
    exit: ExitSummary
    monitoring: list[MonitoringSummary]


class MemberValues(BaseModel):
    """A member's values as text in the importer's spelling (a CSV cell's)."""

    model_config = {"extra": "forbid"}

    id_number: str | None = None
    name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    relation: str | None = None
    ethnicity: str | None = None
    education: str | None = None
    schooling_status: str | None = None
    health: str | None = None
    disability_grade: str | None = None
    labour: str | None = None
    months_worked_away: str | None = None
    medical_insurance: str | None = None
    critical_illness_insurance: str | None = None
    pension_insurance: str | None = None
    dibao: str | None = None
    phone: str | None = None
    deceased_date: str | None = None


class HouseholdValues(HouseholdChange):
    """A new household's values: its number is given by tuopin when left out; its status
    (poor, ordinary...) and year identified are those of the registration (建档立卡)."""

    number: str | None = None
    status: str | None = None
    year_identified: str | None = None


class NewHousehold(BaseModel):
    """A household to register with its members, one of them the head."""

    model_config = {"extra": "forbid"}

    household: HouseholdValues
    members: list[MemberValues] = Field(min_length=1, max_length=30)


class Registered(BaseModel):
    number: str
    village_code: str


class TokenInfo(BaseModel):
    id: int
    username: str
    name: str
    kind: str
    prefix: str
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class NewToken(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=64)
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class CreatedToken(BaseModel):
    """The secret is shown this once: keep it."""

    token: str
    info: TokenInfo
