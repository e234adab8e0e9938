"""Household search, the household page, its edit form, its history, revealing a number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from tuopin.i18n import N_
from tuopin.services.access import masking, policy
from tuopin.services.access.masking import mask_detail
from tuopin.services.access.policy import Action
from tuopin.services.funds import pages as funds
from tuopin.services.registry import history, households, lookup
from tuopin.services.registry import queries as registry
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.web.forms import HouseholdEdit

router = APIRouter(prefix="/households")


async def posted_form(request: Request) -> FormData:
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("")
def search(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
           q: str = "") -> Response:
    rows = lookup.search(db, principal=principal, text=q[:64], id_searches=state.id_searches)
    name = "_search_results.html" if _htmx(request) else "search.html"
    return state.templates.TemplateResponse(request, name, {"q": q, "rows": rows})


@router.get("/{number}")
def show(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
         today: TodayDep, lang: LangDep, number: str) -> Response:
    detail = lookup.household(db, principal=principal, number=number, today=today, lang=lang)
    return state.templates.TemplateResponse(request, "household.html", {
        **mask_detail(detail, clear=principal.sees_identifiers),
        "may_edit": policy.allows(principal, Action.EDIT_REGISTRY),
        "may_reveal": policy.allows(principal, Action.REVEAL),
        "payments": (funds.household_payments(db, principal=principal, number=number)
                     if policy.allows(principal, Action.READ_FUNDS) else None),
    })


@router.get("/{number}/edit")
def edit_form(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
              today: TodayDep, number: str) -> Response:
    policy.require(principal, Action.EDIT_REGISTRY)  # the form itself is for editors only
    detail = registry.household_detail(db, principal=principal, number=number, today=today)
    form = HouseholdEdit.load(detail["household"], clear=principal.sees_identifiers)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/edit")
def edit(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
         posted: PostedForm, number: str) -> Response:
    form = HouseholdEdit.from_post(number, posted, clear=principal.sees_identifiers)
    request.state.form = form  # errors.py shows it again with the problems or the changes
    households.edit_household(db, principal=principal, number=number,
                              expected_version=form.version, changes=form.changes_to_save(),
                              today=today)
    request.session["flash"] = N_("Saved.")
    return RedirectResponse(f"/households/{number}", status_code=303)


@router.post("/{number}/reveal")
def reveal(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
           number: str, field: Annotated[str, Form(max_length=32)],
           member_id: Annotated[int | None, Form()] = None) -> Response:
    value = masking.reveal(db, principal=principal, number=number, field=field,
                           member_id=member_id, quota=state.reveals)
    name = "_revealed.html" if _htmx(request) else "revealed.html"
    return state.templates.TemplateResponse(request, name,
                                            {"value": value, "number": number})


def _history(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
             number: str, reveal: bool) -> Response:
    events = history.events(db, principal=principal, number=number, reveal=reveal,
                            quota=state.reveals)
    name = "_history_panel.html" if _htmx(request) else "history.html"
    return state.templates.TemplateResponse(request, name, {
        "number": number, "limit": history.LIMIT, "events": events,
        "revealed": reveal or principal.sees_identifiers,
        "may_reveal": policy.allows(principal, Action.REVEAL)})


@router.get("/{number}/history")
def history_page(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                 number: str) -> Response:
    return _history(request, db, state, principal, number, reveal=False)


@router.post("/{number}/history/reveal")
def history_revealed(request: Request, db: SessionDep, state: StateDep,
                     principal: PrincipalDep, number: str) -> Response:
    """The history with every number in full: a deliberate, recorded reveal (a POST)."""
    return _history(request, db, state, principal, number, reveal=True)
