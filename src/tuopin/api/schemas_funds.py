"""The API's shapes of the books of funds.

Money is text in yuan with two decimals (``"1234.50"``, ``"-500.00"``), never a float: the
books keep integer fen (domain.fen) and this is where fen become text. Account and ID
numbers arrive masked as the funds pages mask them, for a caller who does not see them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from tuopin.domain.fen import fen_text


def _yuan(value: Any) -> Any:
    return fen_text(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _text(value: Any) -> Any:
    """A masked value (masking.Shown) as its text; empty as null."""
    return None if value is None or str(value) == "" else str(value)


Money = Annotated[str, BeforeValidator(_yuan), Field(
    pattern=r"^-?\d+\.\d{2}$", description="Yuan with two decimals, as text", examples=["1234.50"])]
Masked = Annotated[str | None, BeforeValidator(_text)]


class ProjectBalance(BaseModel):
    project: str
    name: str
    region_code: str
    budget: Money
    allocated: Money
    disbursed: Money = Field(description="Payments, a payment later reversed included")
    reversed: Money = Field(description="What reversals took back")
    net: Money = Field(description="disbursed - reversed")
    remaining: Money = Field(description="allocated - net (negative: overspent)")


class FundBalance(BaseModel):
    fund: str
    name: str
    region_code: str
    amount: Money
    allocated: Money
    unallocated: Money
    disbursed: Money = Field(description="Its share of its projects' net payments")


class Totals(BaseModel):
    budget: Money
    allocated: Money
    disbursed: Money
    reversed: Money
    net: Money
    remaining: Money


class Balances(BaseModel):
    """The balances of the projects and funds of a region."""

    region: str | None
    projects: list[ProjectBalance]
    funds: list[FundBalance]
    totals: Totals


class Allocation(BaseModel):
    fund: str
    fund_name: str
    source: str
    amount: Money
    allocated_on: date


class Project(ProjectBalance):
    """A project with its balance and the funds that pay for it."""

    kind: str
    status: str
    start_on: date | None
    end_on: date | None
    closed_on: date | None
    allocations: list[Allocation]


class Payment(BaseModel):
    """A payment of a project; whom it went to is withheld (null) when the payee is
    registered outside your region."""

    number: str
    payee: Masked = Field(description="The payee's ID number (masked unless you see them)")
    payee_name: str | None
    household: str | None
    village_code: str | None
    registered: bool
    amount: Money
    paid_on: date
    channel: str
    account: Masked = Field(description="The account (only its last four digits unless you "
                                        "see identifiers)")
    reverses: str | None
    reversed_by: str | None
    withheld: bool


class HouseholdPayment(BaseModel):
    """A payment to a household or one of its members, from any project."""

    number: str
    project: str
    project_name: str
    project_visible: bool = Field(description="Whether the project is in your region")
    amount: Money
    paid_on: date
    channel: str
    account: Masked
    payee: str | None
    payee_id_number: Masked
    reverses: str | None
    reversed_by: str | None


class Anomaly(BaseModel):
    """A finding of the funds checks: a rule broken by a payment, project or fund."""

    rule: str
    rule_title: str
    severity: str
    subject: str
    subject_kind: str
    amount: str = Field(description="Yuan with two decimals: the money it is about")
    explanation: str
    related: list[str]


class Anomalies(BaseModel):
    as_of: date
    items: list[Anomaly]
