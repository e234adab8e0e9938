"""Registering a household with its members, adding or correcting a member, entering a survey.

Every form is checked by the importer's rules (services/registration.py); a refused save
shows the form again with each problem next to its field (web/errors.py), and a save made
stale by someone else's shows what changed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tuopin.i18n import N_
from tuopin.services.access.users import User
from tuopin.services.registry import registration
from tuopin.web.deps import AccessDep, Editor, SessionDep, StateDep, TodayDep
from tuopin.web.registration_forms import HouseholdNew, MemberForm, SurveyForm
from tuopin.web.routes.households import PostedForm

router = APIRouter(prefix="/households")


def _saved(request: Request, number: str) -> Response:
    request.session["flash"] = N_("Saved.")
    return RedirectResponse(f"/households/{number}", status_code=303)


def _actor(user: User) -> str:
    return f"web:{user.username}"


@router.get("/new")
def new_household_form(request: Request, db: SessionDep, state: StateDep, user: Editor,
                       access: AccessDep, village: str | None = None) -> Response:
    defaults = registration.new_household_defaults(db, scope=access.scope, village=village)
    form = HouseholdNew.blank(defaults)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/new")
def register_household(request: Request, db: SessionDep, state: StateDep, user: Editor,
                       access: AccessDep, today: TodayDep, posted: PostedForm) -> Response:
    form = HouseholdNew.from_post(posted, registration.villages(db, scope=access.scope))
    if "add_row" in posted:  # "Add a member row": the same form, one row longer, not saved
        return state.templates.TemplateResponse(request, form.template,
                                                {"form": form.with_another_row()})
    request.state.form = form  # errors.py shows it again with the problems
    record = registration.register_household(
        db, scope=access.scope, household=form.household(), members=form.member_rows(),
        actor=_actor(user), today=today)
    return _saved(request, record.number)


@router.get("/{number}/members/new")
def new_member_form(request: Request, db: SessionDep, state: StateDep, user: Editor,
                    access: AccessDep, number: str) -> Response:
    found = registration.household(db, scope=access.scope, number=number)
    form = MemberForm.blank(found["number"])
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/members/new")
def add_member(request: Request, db: SessionDep, user: Editor, access: AccessDep,
               today: TodayDep, posted: PostedForm, number: str) -> Response:
    form = MemberForm.from_post(number, None, posted, clear=True)
    request.state.form = form
    registration.add_member(db, scope=access.scope, number=number,
                            values=form.changes_to_save(), actor=_actor(user), today=today)
    return _saved(request, number)


@router.get("/{number}/members/{member_id}/edit")
def member_form(request: Request, db: SessionDep, state: StateDep, user: Editor,
                access: AccessDep, number: str, member_id: int) -> Response:
    found = registration.member(db, scope=access.scope, number=number, member_id=member_id)
    form = MemberForm.load(number, found, clear=user.sees_identifiers)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/members/{member_id}/edit")
def edit_member(request: Request, db: SessionDep, user: Editor, access: AccessDep,
                today: TodayDep, posted: PostedForm, number: str, member_id: int) -> Response:
    form = MemberForm.from_post(number, member_id, posted, clear=user.sees_identifiers)
    request.state.form = form  # errors.py shows it again with the problems or the changes
    registration.edit_member(db, scope=access.scope, number=number, member_id=member_id,
                             expected_version=form.version, changes=form.changes_to_save(),
                             actor=_actor(user), today=today)
    return _saved(request, number)


@router.get("/{number}/surveys/new")
def this_years_survey(db: SessionDep, user: Editor, access: AccessDep, today: TodayDep,
                      number: str) -> Response:
    """The survey of the current year (the household page's "enter" link leads here)."""
    found = registration.household(db, scope=access.scope, number=number)
    return RedirectResponse(f"/households/{found['number']}/surveys/{today.year}",
                            status_code=303)


@router.get("/{number}/surveys/{year}")
def survey_form(request: Request, db: SessionDep, state: StateDep, user: Editor,
                access: AccessDep, number: str, year: int) -> Response:
    found = registration.survey(db, scope=access.scope, number=number, year=year)
    form = SurveyForm.load(number, year, found)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/surveys/{year}")
def enter_survey(request: Request, db: SessionDep, user: Editor, access: AccessDep,
                 today: TodayDep, posted: PostedForm, number: str, year: int) -> Response:
    form = SurveyForm.from_post(number, year, posted)
    request.state.form = form
    registration.enter_survey(db, scope=access.scope, number=number, year=year,
                              values=form.to_save(), seen=form.seen, actor=_actor(user),
                              today=today)
    return _saved(request, number)
