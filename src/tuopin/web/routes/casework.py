"""The household page's exit and monitoring panels, and the steps that move them.

Exit (退出): the proposal on the household's newest assessment with the democratic review's
minutes (预脱贫), the village notice (公示), the announcement once the notice is over (公告),
an objection during the notice. Monitoring (防返贫监测): a shock opens a case (or joins the
open one), the identification procedure's steps, risk clearance (风险消除) and the village
notice. As in routes/plans.py, a step is a plain form POST: on success back to the household
page; a refusal (a domain rule, a stale version) shows the panel again with the reason and
writes nothing (the request's transaction rolls back).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tuopin.domain import monitoring as procedure
from tuopin.domain.enums import (
    ExitState,
    HouseholdStatus,
    MonitoringState,
    Role,
    ShockKind,
    Titled,
)
from tuopin.domain.errors import NotFound, PermissionDenied, RuleBroken, ValidationFailed
from tuopin.domain.scope import Scope
from tuopin.i18n import N_, gettext, translate
from tuopin.io.problems import Problem
from tuopin.services.access import users
from tuopin.services.access.users import Access, User
from tuopin.services.exits import household_exits as exits
from tuopin.services.monitoring import cases as monitoring
from tuopin.services.monitoring import clearance as monitor_clearance
from tuopin.services.registry import lookup
from tuopin.web.deps import (
    AccessDep,
    CurrentUser,
    Editor,
    LangDep,
    SessionDep,
    StateDep,
    TodayDep,
    require,
)
from tuopin.web.routes.plans import render, village_of

router = APIRouter(prefix="/households")

# 村申请、乡审核、县审定 (DOMAIN.md, 中农组发〔2021〕7号): the village takes the first steps of
# monitoring, the township reviews the notice, the county decides (identified or not) and,
# as for identification, clears the risk. A household's exit is the village's procedure from
# proposal to announcement (厅字〔2016〕16号), so every editor may take its steps.
TOWNSHIP_UP = frozenset({Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER})
COUNTY_UP = frozenset({Role.ADMIN, Role.COUNTY_OFFICER})
DECIDED_BY = {MonitoringState.TOWNSHIP_REVIEWED: TOWNSHIP_UP,
              MonitoringState.IDENTIFIED: COUNTY_UP, MonitoringState.REJECTED: COUNTY_UP}
# The exit steps offered in each state (the domain still decides whether one is allowed).
EXIT_STEPS = {ExitState.NOT_EXITED: ("propose",), ExitState.RETURNED: ("propose",),
              ExitState.PRE_EXIT: ("notice",), ExitState.IN_NOTICE: ("announce", "object")}
REFUSED = N_("This step was not taken: {reason}")
Decider = Annotated[User, require(COUNTY_UP)]

Version = Annotated[int, Form(ge=1)]
SeenVersion = Annotated[int, Form(ge=0)]  # 0: no exit case existed when the page was opened
Text = Annotated[str, Form(max_length=2000)]
Note = Annotated[str, Form(max_length=500)]


def may_take(role: Role, to: MonitoringState) -> bool:
    """Whether ``role`` may take the monitoring step leading to ``to``."""
    return role in DECIDED_BY.get(to, users.EDITORS)


def _changed(lang: str, enum: type[Titled], state: object) -> str:
    """The refusal of a step made on a version someone else has changed since."""
    try:
        now = translate(enum.of(str(state)).title, lang)
    except ValueError:
        now = str(state)
    return translate(N_("Someone else changed this case after you opened the page; nothing of "
                        "yours was saved. It is now: {state}."), lang, state=now)


@dataclass(frozen=True)
class ExitPanel:
    """A household's exit case as its panel shows it; also the form errors.py re-renders."""

    number: str
    lang: str
    today: date
    case: dict[str, Any]
    run: int | None = None  # the household's newest assessment run: a proposal is judged on it
    may_act: bool = False
    error: str | None = None
    template: str = "exit_page.html"
    conflict_template: str = "exit_page.html"

    @property
    def version(self) -> int:
        return int(self.case.get("version", 0))

    @property
    def steps(self) -> tuple[str, ...]:
        """The steps this user is offered now (only a registered poor household may exit)."""
        steps = EXIT_STEPS.get(ExitState.of(self.case["state"]), ()) if self.may_act else ()
        if self.case["household_status"] != HouseholdStatus.POOR:
            return tuple(s for s in steps if s != "propose")
        return steps

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> ExitPanel:
        return replace(self, error=message)

    def conflict(self, current: dict[str, Any]) -> ExitPanel:
        return replace(self, error=_changed(self.lang, ExitState, current.get("state")))


@dataclass(frozen=True)
class MonitoringPanel:
    """A household's monitoring cases with their steps; also the form errors.py re-renders."""

    number: str
    lang: str
    today: date
    role: Role
    cases: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    template: str = "monitoring_page.html"
    conflict_template: str = "monitoring_page.html"

    @property
    def may_report(self) -> bool:
        """Whether this user may record a shock."""
        return self.role in users.EDITORS

    @property
    def shock_kinds(self) -> list[ShockKind]:
        return list(ShockKind)

    def steps(self, case: dict[str, Any]) -> list[MonitoringState]:
        """The states this user may move ``case`` to by a procedural step."""
        state = MonitoringState.of(case["state"])
        if state not in procedure.NEXT:
            return []
        return [to for to in (procedure.NEXT[state], MonitoringState.REJECTED)
                if may_take(self.role, to)]

    def may_clear(self, case: dict[str, Any]) -> bool:
        return case["state"] == MonitoringState.IDENTIFIED and self.role in COUNTY_UP

    def with_problems(self, problems: list[Problem], message: str,
                      lang: str) -> MonitoringPanel:
        return replace(self, error=message)

    def conflict(self, current: dict[str, Any]) -> MonitoringPanel:
        return replace(self, error=_changed(self.lang, MonitoringState, current.get("state")))


def load_exit(db: Session, *, access: Access, user: User, number: str, lang: str,
              today: date) -> ExitPanel:
    """The exit panel of a household the user may see."""
    if not access.sees(number):
        raise NotFound(f"household {number} not found")
    case = exits.show(db, number=number, scope=access.scope)
    # an exit is judged on the national standard's newest run (not a monitoring scan's)
    run = lookup.latest_run(db, scope=access.scope, number=number,
                            standard=exits.DEFAULT_STANDARD)
    return ExitPanel(number, lang, today, case, run, may_act=user.role in users.EDITORS)


def load_monitoring(db: Session, *, access: Access, user: User, number: str, lang: str,
                    today: date) -> MonitoringPanel:
    """The monitoring panel of a household the user may see: each case with its steps."""
    village = Scope(village_of(db, access, number))  # a village's few cases, not the county's
    ids = [c["case"] for c in monitoring.list_cases(db, scope=village, as_of=today)
           if c["number"] == number]
    cases = [monitoring.show(db, case_id=i, scope=village, as_of=today, lang=lang)
             for i in ids]
    return MonitoringPanel(number, lang, today, user.role, cases)


@contextmanager
def _explained(lang: str) -> Iterator[None]:
    """A domain refusal in the user's language: a rule's message and the values that are
    messages themselves (state titles, unmet conditions); any other under a heading."""
    try:
        yield
    except ValidationFailed as exc:
        if isinstance(exc, RuleBroken):
            message = exc.translated(lang)
        else:
            message = translate(REFUSED, lang, reason=gettext(str(exc), lang))
        raise ValidationFailed(message) from exc


def _done(request: Request, number: str, panel: str, message: str = N_("Saved.")) -> Response:
    request.session["flash"] = message
    return RedirectResponse(f"/households/{number}#{panel}", status_code=303)


def _actor(user: User) -> str:
    return f"web:{user.username}"


@router.get("/{number}/exit")
def exit_panel(request: Request, db: SessionDep, state: StateDep, user: CurrentUser,
               access: AccessDep, today: TodayDep, lang: LangDep, number: str) -> Response:
    panel = load_exit(db, access=access, user=user, number=number, lang=lang, today=today)
    return render(request, state, "_exit_panel.html", "exit_page.html", {"form": panel})


def _exit_form(request: Request, db: Session, access: Access, user: User, number: str,
               lang: str, today: date) -> None:
    """Check the household is the user's; keep its panel for errors.py to show again."""
    request.state.form = load_exit(db, access=access, user=user, number=number, lang=lang,
                                   today=today)


@router.post("/{number}/exit/propose")
def exit_propose(request: Request, db: SessionDep, state: StateDep, user: Editor,
                 access: AccessDep, today: TodayDep, lang: LangDep, number: str,
                 run: Annotated[int, Form(ge=1)], version: SeenVersion,
                 minutes: Text = "") -> Response:
    _exit_form(request, db, access, user, number, lang, today)
    with _explained(lang):
        exits.propose(db, number=number, run_id=run, minutes=minutes, as_of=today,
                      actor=_actor(user), scope=access.scope,
                      allow_identification_year=state.settings.exit_in_identification_year,
                      expected_version=version or None)
    return _done(request, number, "exit")


@router.post("/{number}/exit/notice")
def exit_notice(request: Request, db: SessionDep, state: StateDep, user: Editor,
                access: AccessDep, today: TodayDep, lang: LangDep, number: str,
                start: Annotated[date, Form()], version: Version) -> Response:
    _exit_form(request, db, access, user, number, lang, today)
    with _explained(lang):
        exits.start_notice(db, number=number, start=start, actor=_actor(user),
                           scope=access.scope, notice_days=state.settings.exit_notice_days,
                           expected_version=version)
    return _done(request, number, "exit")


@router.post("/{number}/exit/announce")
def exit_announce(request: Request, db: SessionDep, state: StateDep, user: Editor,
                  access: AccessDep, today: TodayDep, lang: LangDep, number: str,
                  version: Version) -> Response:
    _exit_form(request, db, access, user, number, lang, today)
    with _explained(lang):
        exits.announce(db, number=number, as_of=today, actor=_actor(user), scope=access.scope,
                       allow_identification_year=state.settings.exit_in_identification_year,
                       expected_version=version)
    return _done(request, number, "exit")


@router.post("/{number}/exit/object")
def exit_object(request: Request, db: SessionDep, user: Editor, access: AccessDep,
                today: TodayDep, lang: LangDep, number: str, version: Version,
                reason: Note = "") -> Response:
    _exit_form(request, db, access, user, number, lang, today)
    with _explained(lang):
        exits.record_objection(db, number=number, reason=reason, as_of=today,
                               actor=_actor(user), scope=access.scope,
                               expected_version=version)
    return _done(request, number, "exit")


@router.get("/{number}/monitoring")
def monitoring_panel(request: Request, db: SessionDep, state: StateDep, user: CurrentUser,
                     access: AccessDep, today: TodayDep, lang: LangDep,
                     number: str) -> Response:
    panel = load_monitoring(db, access=access, user=user, number=number, lang=lang,
                            today=today)
    return render(request, state, "_monitoring_panel.html", "monitoring_page.html",
                  {"form": panel})


def _monitoring_form(request: Request, db: Session, access: Access, user: User, number: str,
                     lang: str, today: date, case_id: int | None = None) -> None:
    """Check the household (and the case) is the user's; keep the panel for errors.py."""
    panel = load_monitoring(db, access=access, user=user, number=number, lang=lang,
                            today=today)
    if case_id is not None and not any(c["case"] == case_id for c in panel.cases):
        raise NotFound(f"monitoring case {case_id} not found")
    request.state.form = panel


@router.post("/{number}/monitoring/shock")
def monitoring_shock(request: Request, db: SessionDep, state: StateDep, user: Editor,
                     access: AccessDep, today: TodayDep, lang: LangDep, number: str,
                     kind: Annotated[ShockKind, Form()],
                     occurred_on: Annotated[date, Form()],
                     amount: Annotated[float | None, Form()] = None,
                     note: Note = "") -> Response:
    _monitoring_form(request, db, access, user, number, lang, today)
    with _explained(lang):
        row = monitoring.record_shock(
            db, number=number, kind=kind, occurred_on=occurred_on, amount=amount,
            description=note.strip() or None, as_of=today, actor=_actor(user),
            scope=access.scope, deadline_days=state.settings.monitoring_deadline_days)
    if row["case"] is None:
        return _done(request, number, "monitoring", N_(
            "The shock was recorded. A registered poor household's plan answers it: no "
            "monitoring case was opened."))
    return _done(request, number, "monitoring")


@router.post("/{number}/monitoring/{case_id}/advance")
def monitoring_advance(request: Request, db: SessionDep, state: StateDep, user: Editor,
                       access: AccessDep, today: TodayDep, lang: LangDep, number: str,
                       case_id: int, to: Annotated[MonitoringState, Form()],
                       version: Version, on: Annotated[date | None, Form()] = None,
                       note: Note = "") -> Response:
    if not may_take(user.role, to):
        raise PermissionDenied(N_("Your role may not do this."))
    _monitoring_form(request, db, access, user, number, lang, today, case_id)
    with _explained(lang):
        monitoring.advance(db, case_id=case_id, to=to, on=on or today,
                           note=note.strip() or None, actor=_actor(user), scope=access.scope,
                           notice_days=state.settings.monitoring_notice_days,
                           expected_version=version)
    return _done(request, number, "monitoring")


@router.post("/{number}/monitoring/{case_id}/clear")
def monitoring_clear(request: Request, db: SessionDep, user: Decider, access: AccessDep,
                     today: TodayDep, lang: LangDep, number: str, case_id: int,
                     version: Version) -> Response:
    _monitoring_form(request, db, access, user, number, lang, today, case_id)
    with _explained(lang):
        monitor_clearance.clear(db, case_id=case_id, as_of=today, actor=_actor(user),
                                scope=access.scope, expected_version=version)
    return _done(request, number, "monitoring")


@router.get("/{number}/monitoring/{case_id}/notice")
def monitoring_notice(request: Request, db: SessionDep, state: StateDep, user: CurrentUser,
                      access: AccessDep, today: TodayDep, lang: LangDep, number: str,
                      case_id: int) -> Response:
    _monitoring_form(request, db, access, user, number, lang, today, case_id)
    with _explained(lang):
        text = monitor_clearance.notice(db, case_id=case_id, scope=access.scope, lang=lang)
    heading, *lines = text.splitlines()
    return state.templates.TemplateResponse(request, "monitoring_notice.html", {
        "number": number, "case": case_id, "heading": heading, "lines": lines})
