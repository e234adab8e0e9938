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
from tuopin.domain.enums import ExitState, HouseholdStatus, MonitoringState, ShockKind, Titled
from tuopin.domain.errors import NotFound, RuleBroken, ValidationFailed
from tuopin.i18n import N_, gettext, translate
from tuopin.io.problems import Problem
from tuopin.services.access import policy
from tuopin.services.access.policy import Action
from tuopin.services.access.principal import Principal
from tuopin.services.exits import household_exits as exits
from tuopin.services.monitoring import cases as monitoring
from tuopin.services.monitoring import clearance as monitor_clearance
from tuopin.services.registry import lookup
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.web.routes.plans import render

router = APIRouter(prefix="/households")

# Who takes which step (村申请、乡审核、县审定) is the services' policy: the panels only offer
# what it allows the principal.
# The exit steps offered in each state (the domain still decides whether one is allowed).
EXIT_STEPS = {ExitState.NOT_EXITED: ("propose",), ExitState.RETURNED: ("propose",),
              ExitState.PRE_EXIT: ("notice",), ExitState.IN_NOTICE: ("announce", "object")}
REFUSED = N_("This step was not taken: {reason}")

Version = Annotated[int, Form(ge=1)]
SeenVersion = Annotated[int, Form(ge=0)]  # 0: no exit case existed when the page was opened
Text = Annotated[str, Form(max_length=2000)]
Note = Annotated[str, Form(max_length=500)]


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
    principal: Principal
    cases: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    template: str = "monitoring_page.html"
    conflict_template: str = "monitoring_page.html"

    @property
    def may_report(self) -> bool:
        """Whether this user may record a shock."""
        return policy.allows(self.principal, Action.REPORT_SHOCK)

    @property
    def shock_kinds(self) -> list[ShockKind]:
        return list(ShockKind)

    def steps(self, case: dict[str, Any]) -> list[MonitoringState]:
        """The states this user may move ``case`` to by a procedural step."""
        state = MonitoringState.of(case["state"])
        if state not in procedure.NEXT:
            return []
        return [to for to in (procedure.NEXT[state], MonitoringState.REJECTED)
                if policy.allows(self.principal, policy.monitoring_step(to))]

    def may_clear(self, case: dict[str, Any]) -> bool:
        return (case["state"] == MonitoringState.IDENTIFIED
                and policy.allows(self.principal, Action.CLEAR_RISK))

    def with_problems(self, problems: list[Problem], message: str,
                      lang: str) -> MonitoringPanel:
        return replace(self, error=message)

    def conflict(self, current: dict[str, Any]) -> MonitoringPanel:
        return replace(self, error=_changed(self.lang, MonitoringState, current.get("state")))


def load_exit(db: Session, *, principal: Principal, number: str, lang: str,
              today: date) -> ExitPanel:
    """The exit panel of a household the principal may see."""
    case = exits.show(db, principal=principal, number=number)
    # an exit is judged on the national standard's newest run (not a monitoring scan's)
    run = lookup.latest_run(db, principal=principal, number=number,
                            standard=exits.DEFAULT_STANDARD)
    return ExitPanel(number, lang, today, case, run,
                     may_act=policy.allows(principal, Action.EXIT_STEP))


def load_monitoring(db: Session, *, principal: Principal, number: str, lang: str,
                    today: date) -> MonitoringPanel:
    """The monitoring panel of a household the principal may see: each case with its steps."""
    exits.show(db, principal=principal, number=number)  # NotFound if it is not theirs
    ids = [c["case"] for c in monitoring.list_cases(db, principal=principal, as_of=today,
                                                    number=number)]
    cases = [monitoring.show(db, principal=principal, case_id=i, as_of=today, lang=lang)
             for i in ids]
    return MonitoringPanel(number, lang, today, principal, cases)


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


@router.get("/{number}/exit")
def exit_panel(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
               today: TodayDep, lang: LangDep, number: str) -> Response:
    panel = load_exit(db, principal=principal, number=number, lang=lang, today=today)
    return render(request, state, "_exit_panel.html", "exit_page.html", {"form": panel})


def _exit_form(request: Request, db: Session, principal: Principal, number: str, lang: str,
               today: date) -> None:
    """Check the household is the user's; keep its panel for errors.py to show again."""
    request.state.form = load_exit(db, principal=principal, number=number, lang=lang,
                                   today=today)


@router.post("/{number}/exit/propose")
def exit_propose(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                 today: TodayDep, lang: LangDep, number: str,
                 run: Annotated[int, Form(ge=1)], version: SeenVersion,
                 minutes: Text = "") -> Response:
    _exit_form(request, db, principal, number, lang, today)
    with _explained(lang):
        exits.propose(db, principal=principal, number=number, run_id=run, minutes=minutes,
                      as_of=today,
                      allow_identification_year=state.settings.exit_in_identification_year,
                      expected_version=version or None)
    return _done(request, number, "exit")


@router.post("/{number}/exit/notice")
def exit_notice(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                today: TodayDep, lang: LangDep, number: str,
                start: Annotated[date, Form()], version: Version) -> Response:
    _exit_form(request, db, principal, number, lang, today)
    with _explained(lang):
        exits.start_notice(db, principal=principal, number=number, start=start, as_of=today,
                           notice_days=state.settings.exit_notice_days,
                           expected_version=version)
    return _done(request, number, "exit")


@router.post("/{number}/exit/announce")
def exit_announce(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                  today: TodayDep, lang: LangDep, number: str, version: Version) -> Response:
    _exit_form(request, db, principal, number, lang, today)
    with _explained(lang):
        exits.announce(db, principal=principal, number=number, as_of=today,
                       allow_identification_year=state.settings.exit_in_identification_year,
                       expected_version=version)
    return _done(request, number, "exit")


@router.post("/{number}/exit/object")
def exit_object(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
                lang: LangDep, number: str, version: Version,
                reason: Note = "") -> Response:
    _exit_form(request, db, principal, number, lang, today)
    with _explained(lang):
        exits.record_objection(db, principal=principal, number=number, reason=reason,
                               as_of=today, expected_version=version)
    return _done(request, number, "exit")


@router.get("/{number}/monitoring")
def monitoring_panel(request: Request, db: SessionDep, state: StateDep,
                     principal: PrincipalDep, today: TodayDep, lang: LangDep,
                     number: str) -> Response:
    panel = load_monitoring(db, principal=principal, number=number, lang=lang, today=today)
    return render(request, state, "_monitoring_panel.html", "monitoring_page.html",
                  {"form": panel})


def _monitoring_form(request: Request, db: Session, principal: Principal, number: str,
                     lang: str, today: date, case_id: int | None = None) -> None:
    """Check the household (and the case) is the user's; keep the panel for errors.py."""
    panel = load_monitoring(db, principal=principal, number=number, lang=lang, today=today)
    if case_id is not None and not any(c["case"] == case_id for c in panel.cases):
        raise NotFound(f"monitoring case {case_id} not found")
    request.state.form = panel


@router.post("/{number}/monitoring/shock")
def monitoring_shock(request: Request, db: SessionDep, state: StateDep,
                     principal: PrincipalDep, today: TodayDep, lang: LangDep, number: str,
                     kind: Annotated[ShockKind, Form()],
                     occurred_on: Annotated[date, Form()],
                     amount: Annotated[str, Form(max_length=32)] = "",
                     note: Note = "") -> Response:
    _monitoring_form(request, db, principal, number, lang, today)
    with _explained(lang):
        # the amount is handed on as typed: the service takes only yuan and fen, finite
        row = monitoring.record_shock(
            db, principal=principal, number=number, kind=kind, occurred_on=occurred_on,
            amount=amount.strip() or None, description=note.strip() or None, as_of=today,
            deadline_days=state.settings.monitoring_deadline_days)
    if row["case"] is None:
        return _done(request, number, "monitoring", N_(
            "The shock was recorded. A registered poor household's plan answers it: no "
            "monitoring case was opened."))
    return _done(request, number, "monitoring")


@router.post("/{number}/monitoring/{case_id}/advance")
def monitoring_advance(request: Request, db: SessionDep, state: StateDep,
                       principal: PrincipalDep, today: TodayDep, lang: LangDep, number: str,
                       case_id: int, to: Annotated[MonitoringState, Form()],
                       version: Version, on: Annotated[date | None, Form()] = None,
                       note: Note = "") -> Response:
    _monitoring_form(request, db, principal, number, lang, today, case_id)
    with _explained(lang):
        monitoring.advance(db, principal=principal, case_id=case_id, to=to, on=on or today,
                           as_of=today, note=note.strip() or None,
                           notice_days=state.settings.monitoring_notice_days,
                           expected_version=version)
    return _done(request, number, "monitoring")


@router.post("/{number}/monitoring/{case_id}/clear")
def monitoring_clear(request: Request, db: SessionDep, principal: PrincipalDep,
                     today: TodayDep, lang: LangDep, number: str, case_id: int,
                     version: Version) -> Response:
    _monitoring_form(request, db, principal, number, lang, today, case_id)
    with _explained(lang):
        monitor_clearance.clear(db, principal=principal, case_id=case_id, as_of=today,
                                expected_version=version)
    return _done(request, number, "monitoring")


@router.get("/{number}/monitoring/{case_id}/notice")
def monitoring_notice(request: Request, db: SessionDep, state: StateDep,
                      principal: PrincipalDep, today: TodayDep, lang: LangDep, number: str,
                      case_id: int) -> Response:
    _monitoring_form(request, db, principal, number, lang, today, case_id)
    with _explained(lang):
        text = monitor_clearance.notice(db, principal=principal, case_id=case_id, lang=lang)
    heading, *lines = text.splitlines()
    return state.templates.TemplateResponse(request, "monitoring_notice.html", {
        "number": number, "case": case_id, "heading": heading, "lines": lines})
