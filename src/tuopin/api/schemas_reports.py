"""The API's shapes of assessment runs, results and the poverty reports (incidence, MPI)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Run(BaseModel):
    """An assessment run as recorded (figures of the run's whole scope)."""

    run: int
    standard: str
    version: str
    hash: str = Field(description="The first 16 hex digits of the standard's SHA-256")
    year: int
    engine: str
    scope: str = Field(description="The region the run assessed ('' : everything)")
    snapshot_at: str
    created_by: str
    households: int
    members: int
    poor_households: int
    poor_members: int


class RunDetail(Run):
    """A run with its counts per indicator and category and its timings (seconds)."""

    created_at: str
    note: str | None
    deprived: dict[str, int] = Field(description="Households deprived in each indicator")
    category_counts: dict[str, int] = Field(description="Households of each category")
    timings: dict[str, float]


class ResultRow(BaseModel):
    """A household's result in a run (GET the household's result for explanations)."""

    run: int
    household_id: int
    household: str
    village_code: str
    members: int
    poor: bool
    score: float | None
    income_per_capita: float | None
    deprived: list[str] = Field(description="The indicators the household fails")
    categories: list[str]


class IncidenceRow(BaseModel):
    """贫困发生率 of one region: poor people ÷ people, poor households ÷ households."""

    code: str = Field(description="The region's 12-digit code ('' for the total)")
    name: str
    households: int
    poor_households: int
    people: int
    poor_people: int
    incidence: float | None
    household_incidence: float | None


class IncidenceReport(BaseModel):
    run: int
    level: str
    region: str | None
    rows: list[IncidenceRow]
    total: IncidenceRow


class MpiGroup(BaseModel):
    n: int
    population_share: float | None
    H: float | None
    A: float | None
    M0: float | None
    contribution: float | None
    censored_headcounts: dict[str, float | None]
    se: dict[str, float | None]
    ci95: dict[str, list[float | None]]


class MpiReport(BaseModel):
    """The Alkire-Foster measures of a run (shares as fractions), persons weighted."""

    run: int
    by: str | None
    region: str | None
    n: int
    dropped: int
    population: float
    k: float
    weights: dict[str, float]
    H: float | None
    A: float | None
    M0: float | None
    uncensored_headcounts: dict[str, float | None]
    censored_headcounts: dict[str, float | None]
    contributions: dict[str, float | None]
    dimension_contributions: dict[str, float | None] | None = None
    vulnerable: float | None
    severe: float | None
    se: dict[str, float | None]
    ci95: dict[str, list[float | None]]
    df: int
    groups: dict[str, MpiGroup] | None = None
