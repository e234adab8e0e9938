"""The API's books of funds: balances, projects, payments, anomalies.

Money is text with two decimals (schemas_funds.Money); the services keep integer fen.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from tuopin.api.deps import LangDep, LimitDep, PrincipalDep, SessionDep, TodayDep
from tuopin.api.paging import BAD_CURSOR, decode_cursor, encode_cursor
from tuopin.api.problems import ApiProblem
from tuopin.api.schemas import Page
from tuopin.api.schemas_funds import Anomalies, Balances, HouseholdPayment, Payment, Project
from tuopin.api.schemas_funds import ProjectBalance as ProjectRow
from tuopin.domain import fund_rules
from tuopin.services.funds import books, checks, listing, pages
from tuopin.services.registry import lookup

router = APIRouter(tags=["funds"])
Cursor = Annotated[str | None, Query(max_length=200, description="From the last page's next")]
Region = Annotated[str | None, Query(pattern=r"^\d{6,12}$",
                                     description="Only this region (default: yours)")]
ProjectNumber = Annotated[str, Path(max_length=64, description="The project's number")]


@router.get("/funds/balances", response_model=Balances)
def balances(db: SessionDep, principal: PrincipalDep, region: Region = None) -> Any:
    """The balances of the projects and funds of your region (or of ``region`` in it)."""
    code = lookup.region_code(principal=principal, code=region) if region else None
    found = books.balances(db, principal=principal, region=code)
    return {"region": code or principal.scope.region_code, "projects": found.projects,
            "funds": found.funds, "totals": found.totals}


@router.get("/funds/projects", response_model=Page[ProjectRow])
def list_projects(db: SessionDep, principal: PrincipalDep, limit: LimitDep,
                  cursor: Cursor = None, region: Region = None) -> Any:
    """The projects of your region (or of ``region`` in it) with their balances, in number
    order, a page at a time."""
    code = lookup.region_code(principal=principal, code=region) if region else None
    after = decode_cursor(cursor, str)
    rows = listing.project_page(db, principal=principal.within(code),
                                after=after[0] if after else None, limit=limit)
    return {"items": rows,
            "next": encode_cursor([rows[-1]["project"]]) if len(rows) == limit else None}


@router.get("/funds/projects/{number}", response_model=Project)
def get_project(db: SessionDep, principal: PrincipalDep, number: ProjectNumber) -> Any:
    """A project: its balance and the funds that pay for it."""
    return listing.project(db, principal=principal, number=number)


@router.get("/funds/projects/{number}/payments", response_model=Page[Payment])
def list_payments(db: SessionDep, principal: PrincipalDep, number: ProjectNumber,
                  limit: LimitDep, cursor: Cursor = None) -> Any:
    """A project's payments by date and number, a page at a time."""
    after = decode_cursor(cursor, str, str)
    try:
        key = (date.fromisoformat(after[0]), str(after[1])) if after else None
    except ValueError:
        raise ApiProblem("invalid", BAD_CURSOR) from None
    rows = listing.payment_page(db, principal=principal, number=number, after=key, limit=limit)
    last = rows[-1] if rows else None
    return {"items": rows,
            "next": encode_cursor([last["paid_on"].isoformat(), last["number"]])
            if last is not None and len(rows) == limit else None}


@router.get("/households/{number}/payments", response_model=list[HouseholdPayment])
def household_payments(db: SessionDep, principal: PrincipalDep,
                       number: Annotated[str, Path(max_length=32)]) -> Any:
    """Every payment to a household or one of its members, from any project, newest first."""
    return pages.household_payments(db, principal=principal, number=number)


@router.get("/funds/anomalies", response_model=Anomalies)
def anomalies(db: SessionDep, principal: PrincipalDep, today: TodayDep, lang: LangDep,
              as_of: date | None = None) -> Any:
    """The findings of the funds checks in your region on a day (default today): who was
    paid twice, after death, outside the registry..., each explained."""
    day = min(as_of or today, today)
    found = checks.check(db.get_bind(), principal=principal, as_of=day)
    titles = {rule.id: rule.title.get(lang) for rule in fund_rules.load().rules}
    return {"as_of": day, "items": [{**f.as_row(lang), "rule_title": titles.get(f.rule, f.rule)}
                                    for f in found]}
