"""The household page's plan panel and the 对账销号 steps of a measure.

The panels load into the household page (htmx ``hx-get`` on load) and stand alone as pages
without JavaScript. A step is a plain form POST: on success back to the household page; a
refusal (a ledger rule, a bad upload, a stale version) shows the plan again with the reason
and writes nothing (the request's transaction rolls back).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tuopin.domain.enums import MeasureStatus, Role
from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.domain.ledger import RuleBroken
from tuopin.i18n import N_, translate
from tuopin.io.problems import Problem
from tuopin.services import evidence, exits, ledger, plans
from tuopin.services.users import Access, User
from tuopin.web.deps import AccessDep, CurrentUser, LangDep, SessionDep, StateDep, TodayDep, require

router = APIRouter(prefix="/households")

# Who may move a measure: those who change the registry, and a helper (for the households
# assigned to them only: AccessDep already hides every other household).
ACTORS = frozenset({Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER,
                    Role.VILLAGE_CADRE, Role.HELPER})
Actor = Annotated[User, require(ACTORS)]
# Checking a measure off (对账销号) is also the verifier's job; the ledger refuses a verifier
# who is among the measure's responsible people.
VERIFIERS = ACTORS | {Role.VERIFIER}
Verifier = Annotated[User, require(VERIFIERS)]
Version = Annotated[int, Form(ge=1)]
Reason = Annotated[str, Form(max_length=500)]


@dataclass(frozen=True)
class PlanPanel:
    """A household's plan as the panel shows it; also the ``form`` web/errors.py re-renders."""

    number: str
    lang: str
    plan: dict[str, Any] | None
    measures: list[dict[str, Any]] = field(default_factory=list)
    may_act: bool = False  # start, complete, delay, cancel
    may_verify: bool = False
    error: str | None = None
    template: str = "plan.html"
    conflict_template: str = "plan.html"

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> PlanPanel:
        return replace(self, error=message)

    def conflict(self, current: dict[str, Any]) -> PlanPanel:
        status = current.get("status")
        shown = translate(MeasureStatus.of(status).title, self.lang) if status else "–"
        return replace(self, error=translate(
            N_("Someone else changed measure {measure} after you opened the page; nothing of "
               "yours was saved. It is now {status} (version {version})."), self.lang,
            measure=current.get("id", ""), status=shown, version=current.get("version", "")))


def village_of(db: Session, access: Access, number: str) -> str:
    """The village of a household the user may see (NotFound for any other)."""
    if not access.sees(number):
        raise NotFound(f"household {number} not found")
    return exits.household(db, number=number, scope=access.scope).village_code


def load_panel(db: Session, *, access: Access, user: User, number: str,
               lang: str) -> PlanPanel:
    """The plan panel of a household the user may see (an empty one when it has no plan)."""
    village_of(db, access, number)
    try:
        shown = plans.show(db, number=number, scope=access.scope)
    except NotFound:
        return PlanPanel(number, lang, None)
    return PlanPanel(number, lang, shown["plan"], shown["measures"],
                     may_act=user.role in ACTORS, may_verify=user.role in VERIFIERS)


def render(request: Request, state: StateDep, fragment: str, page: str,
            context: dict[str, Any]) -> Response:
    name = fragment if request.headers.get("hx-request") == "true" else page
    return state.templates.TemplateResponse(request, name, context)


@router.get("/{number}/plan")
def plan_panel(request: Request, db: SessionDep, state: StateDep, user: CurrentUser,
               access: AccessDep, lang: LangDep, number: str) -> Response:
    panel = load_panel(db, access=access, user=user, number=number, lang=lang)
    return render(request, state, "_plan_panel.html", "plan.html", {"form": panel})


@contextmanager
def _explained(lang: str) -> Iterator[None]:
    """A ledger refusal in the user's language (its msgid is in the catalog)."""
    try:
        yield
    except RuleBroken as exc:
        raise ValidationFailed(translate(exc.msgid, lang, **exc.values)) from exc


def _prepare(request: Request, db: Session, access: Access, user: User, number: str,
             measure_id: int, lang: str) -> None:
    """Check the measure is this household's; keep the panel for errors.py to show again."""
    panel = load_panel(db, access=access, user=user, number=number, lang=lang)
    if not any(m["id"] == measure_id for m in panel.measures):
        raise NotFound(f"measure {measure_id} not found")
    request.state.form = panel


def _done(request: Request, number: str) -> Response:
    request.session["flash"] = N_("Saved.")
    return RedirectResponse(f"/households/{number}#plan", status_code=303)


@router.post("/{number}/measures/{measure_id}/start")
def start(request: Request, db: SessionDep, user: Actor, access: AccessDep, today: TodayDep,
          lang: LangDep, number: str, measure_id: int, version: Version) -> Response:
    _prepare(request, db, access, user, number, measure_id, lang)
    with _explained(lang):
        ledger.start(db, measure_id=measure_id, actor=f"web:{user.username}", as_of=today,
                     scope=access.scope, expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/complete")
def complete(request: Request, db: SessionDep, state: StateDep, user: Actor,
             access: AccessDep, today: TodayDep, lang: LangDep, number: str, measure_id: int,
             version: Version, evidence_file: Annotated[UploadFile | None, File()] = None,
             completed_on: Annotated[date | None, Form()] = None) -> Response:
    _prepare(request, db, access, user, number, measure_id, lang)
    settings = state.settings
    with _explained(lang):
        if evidence_file is None or not evidence_file.filename:
            raise RuleBroken(N_("Attach a photo or a PDF as evidence."))
        # one byte more than allowed is enough to refuse the file without reading it all
        data = evidence_file.file.read(settings.evidence_max_bytes + 1)
        evidence.store(db, measure_id=measure_id, filename=evidence_file.filename, data=data,
                       content_type=evidence_file.content_type, actor=f"web:{user.username}",
                       as_of=today, data_dir=settings.data_dir,
                       max_bytes=settings.evidence_max_bytes, scope=access.scope)
        ledger.complete(db, measure_id=measure_id, completed_on=completed_on or today,
                        actor=f"web:{user.username}", as_of=today, scope=access.scope,
                        expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/verify")
def verify(request: Request, db: SessionDep, user: Verifier, access: AccessDep, today: TodayDep,
           lang: LangDep, number: str, measure_id: int, version: Version) -> Response:
    _prepare(request, db, access, user, number, measure_id, lang)
    with _explained(lang):
        ledger.verify(db, measure_id=measure_id, verifier=user.username,
                      actor=f"web:{user.username}", as_of=today, scope=access.scope,
                      expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/cancel")
def cancel(request: Request, db: SessionDep, user: Actor, access: AccessDep, today: TodayDep,
           lang: LangDep, number: str, measure_id: int, version: Version,
           reason: Reason = "") -> Response:
    _prepare(request, db, access, user, number, measure_id, lang)
    with _explained(lang):
        ledger.cancel(db, measure_id=measure_id, reason=reason, actor=f"web:{user.username}",
                      as_of=today, scope=access.scope, expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/delay")
def delay(request: Request, db: SessionDep, user: Actor, access: AccessDep, today: TodayDep,
          lang: LangDep, number: str, measure_id: int, version: Version,
          reason: Reason = "", follow_up: Reason = "") -> Response:
    _prepare(request, db, access, user, number, measure_id, lang)
    with _explained(lang):
        ledger.record_delay(db, measure_id=measure_id, reason=reason, follow_up=follow_up,
                            actor=f"web:{user.username}", as_of=today, scope=access.scope,
                            expected_version=version)
    return _done(request, number)
