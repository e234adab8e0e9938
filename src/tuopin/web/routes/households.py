"""Household search, the household page, its edit form, and revealing a masked number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from tuopin.i18n import N_
from tuopin.services.access import users
from tuopin.services.registry import history as household_history
from tuopin.services.registry import households, lookup
from tuopin.services.registry import queries as registry
from tuopin.web.deps import (
    AccessDep,
    CurrentUser,
    Editor,
    LangDep,
    Revealer,
    SessionDep,
    StateDep,
    TodayDep,
)
from tuopin.web.forms import HouseholdEdit
from tuopin.web.masking import mask_detail, mask_history

router = APIRouter(prefix="/households")


async def posted_form(request: Request) -> FormData:
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("")
def search(request: Request, db: SessionDep, state: StateDep, access: AccessDep,
           q: str = "") -> Response:
    rows = lookup.search(db, access=access, text=q[:64])
    name = "_search_results.html" if _htmx(request) else "search.html"
    return state.templates.TemplateResponse(request, name, {"q": q, "rows": rows})


@router.get("/{number}")
def show(request: Request, db: SessionDep, state: StateDep, user: CurrentUser,
         access: AccessDep, today: TodayDep, lang: LangDep, number: str) -> Response:
    detail = lookup.household(db, access=access, number=number, today=today, lang=lang)
    return state.templates.TemplateResponse(request, "household.html", {
        **mask_detail(detail, clear=user.sees_identifiers),
        "may_edit": user.role in users.EDITORS, "may_reveal": user.role in users.MAY_REVEAL,
    })


@router.get("/{number}/edit")
def edit_form(request: Request, db: SessionDep, state: StateDep, user: Editor,
              access: AccessDep, today: TodayDep, number: str) -> Response:
    detail = registry.household_detail(db, scope=access.scope, number=number, today=today)
    form = HouseholdEdit.load(detail["household"], clear=user.sees_identifiers)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/edit")
def edit(request: Request, db: SessionDep, user: Editor, access: AccessDep,
         today: TodayDep, posted: PostedForm, number: str) -> Response:
    form = HouseholdEdit.from_post(number, posted, clear=user.sees_identifiers)
    request.state.form = form  # errors.py shows it again with the problems or the changes
    households.edit_household(db, scope=access.scope, number=number,
                              expected_version=form.version, changes=form.changes_to_save(),
                              actor=f"web:{user.username}", today=today)
    request.session["flash"] = N_("Saved.")
    return RedirectResponse(f"/households/{number}", status_code=303)


@router.post("/{number}/reveal")
def reveal(request: Request, db: SessionDep, state: StateDep, user: Revealer,
           access: AccessDep, number: str, field: Annotated[str, Form(max_length=32)],
           member_id: Annotated[int | None, Form()] = None) -> Response:
    value = users.reveal(db, user=user, access=access, number=number, field=field,
                         member_id=member_id)
    name = "_revealed.html" if _htmx(request) else "revealed.html"
    return state.templates.TemplateResponse(request, name,
                                            {"value": value, "number": number})


@router.get("/{number}/history")
def history(request: Request, db: SessionDep, state: StateDep, user: CurrentUser,
            access: AccessDep, number: str) -> Response:
    events = household_history.events(db, access=access, number=number)
    name = "_history_panel.html" if _htmx(request) else "history.html"
    return state.templates.TemplateResponse(request, name, {
        "number": number, "limit": household_history.LIMIT,
        "events": mask_history(events, clear=user.sees_identifiers)})
