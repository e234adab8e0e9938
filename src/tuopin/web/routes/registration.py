"""Registering a household with its members, adding or correcting a member, entering a survey.

Every form is checked by the importer's rules (services/registry/registration.py); a refused
save shows the form again with each problem next to its field (web/errors.py), and a save
made stale by someone else's shows what changed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tuopin.i18n import N_
from tuopin.services.registry import registration, surveys
from tuopin.web.deps import PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.web.registration_forms import HouseholdNew, MemberForm, SurveyForm
from tuopin.web.routes.households import PostedForm

router = APIRouter(prefix="/households")


def _saved(request: Request, number: str) -> Response:
    request.session["flash"] = N_("Saved.")
    return RedirectResponse(f"/households/{number}", status_code=303)


@router.get("/new")
def new_household_form(request: Request, db: SessionDep, state: StateDep,
                       principal: PrincipalDep, village: str | None = None) -> Response:
    defaults = registration.new_household_defaults(db, principal=principal, village=village)
    form = HouseholdNew.blank(defaults)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/new")
def register_household(request: Request, db: SessionDep, state: StateDep,
                       principal: PrincipalDep, today: TodayDep,
                       posted: PostedForm) -> Response:
    form = HouseholdNew.from_post(posted, registration.villages(db, principal=principal))
    if "add_row" in posted:  # "Add a member row": the same form, one row longer, not saved
        return state.templates.TemplateResponse(request, form.template,
                                                {"form": form.with_another_row()})
    request.state.form = form  # errors.py shows it again with the problems
    added = registration.register_household(
        db, principal=principal, household=form.household(), members=form.member_rows(),
        today=today, probe_limiter=state.probes)
    return _saved(request, added["number"])


@router.get("/{number}/members/new")
def new_member_form(request: Request, db: SessionDep, state: StateDep,
                    principal: PrincipalDep, number: str) -> Response:
    found = registration.household(db, principal=principal, number=number)
    form = MemberForm.blank(found["number"])
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/members/new")
def add_member(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
               today: TodayDep, posted: PostedForm, number: str) -> Response:
    form = MemberForm.from_post(number, None, posted, clear=True)
    request.state.form = form
    registration.add_member(db, principal=principal, number=number,
                            values=form.changes_to_save(), today=today,
                            probe_limiter=state.probes)
    return _saved(request, number)


@router.get("/{number}/members/{member_id}/edit")
def member_form(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                number: str, member_id: int) -> Response:
    found = registration.member(db, principal=principal, number=number, member_id=member_id)
    form = MemberForm.load(number, found, clear=principal.sees_identifiers)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/members/{member_id}/edit")
def edit_member(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                today: TodayDep, posted: PostedForm, number: str,
                member_id: int) -> Response:
    form = MemberForm.from_post(number, member_id, posted, clear=principal.sees_identifiers)
    request.state.form = form  # errors.py shows it again with the problems or the changes
    registration.edit_member(db, principal=principal, number=number, member_id=member_id,
                             expected_version=form.version, changes=form.changes_to_save(),
                             today=today, probe_limiter=state.probes)
    return _saved(request, number)


@router.get("/{number}/surveys/new")
def this_years_survey(db: SessionDep, principal: PrincipalDep, today: TodayDep,
                      number: str) -> Response:
    """The survey of the current year (the household page's "enter" link leads here)."""
    found = registration.household(db, principal=principal, number=number)
    return RedirectResponse(f"/households/{found['number']}/surveys/{today.year}",
                            status_code=303)


@router.get("/{number}/surveys/{year}")
def survey_form(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                number: str, year: int) -> Response:
    found = surveys.survey(db, principal=principal, number=number, year=year)
    form = SurveyForm.load(number, year, found)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{number}/surveys/{year}")
def enter_survey(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
                 posted: PostedForm, number: str, year: int) -> Response:
    form = SurveyForm.from_post(number, year, posted)
    request.state.form = form
    surveys.enter_survey(db, principal=principal, number=number, year=year,
                         values=form.to_save(), seen=form.seen, today=today)
    return _saved(request, number)
