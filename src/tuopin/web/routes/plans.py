"""The household page's plan panel, the 对账销号 steps of a measure, and editing the plan.

The panels load into the household page (htmx ``hx-get`` on load) and stand alone as pages
without JavaScript. A step is a plain form POST: on success back to the household page; a
refusal (a ledger rule, a bad upload, a stale version) shows the plan again with the reason
and writes nothing (the request's transaction rolls back). Editing a measure, adding one and
approving a draft plan work the same way; a refused edit keeps what was typed, each problem
next to its field, and a stale one lists what changed since the form was opened.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tuopin.domain.enums import MeasureKind, MeasureStatus
from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.domain.ledger import RuleBroken
from tuopin.i18n import N_, translate
from tuopin.io.problems import Problem
from tuopin.services import records
from tuopin.services.access import policy
from tuopin.services.access.policy import Action
from tuopin.services.access.principal import Principal
from tuopin.services.plans import household_plans as plans
from tuopin.services.plans import ledger
from tuopin.services.plans import revisions as plan_revisions
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.web.routes.households import PostedForm

router = APIRouter(prefix="/households")

Version = Annotated[int, Form(ge=1)]
Reason = Annotated[str, Form(max_length=500)]

# A measure's fields a person edits (the unit follows the helper; the indicator and cause
# are what the draft answered), with their labels.
EDITABLE = {"kind": N_("Kind"), "content": N_("Content"), "due_date": N_("Due date"),
            "budget": N_("Budget"), "funding_source": N_("Funding source"),
            "helper": N_("Helper number")}
REQUIRED = frozenset({"kind", "content", "due_date", "budget"})
NOT_ACCEPTED = N_("Some fields were not accepted; see below.")


def shown(name: str, value: object) -> str:
    """A stored measure field as its form shows it."""
    if value is None:
        return ""
    if name == "budget":
        return f"{float(str(value)):.2f}"
    return value.isoformat() if isinstance(value, date) else str(value)


def _parse(name: str, text: str) -> tuple[object, str | None]:
    """A typed field as the service takes it, or the msgid of why it is refused."""
    if not text:
        return None, N_("A value is required.") if name in REQUIRED else None
    if name == "due_date":
        try:
            return date.fromisoformat(text), None
        except ValueError:
            return None, N_("Not a date (write it as 2019-11-20).")
    if name == "budget":
        try:
            return float(text), None
        except ValueError:
            return None, N_("Not a number.")
    return text, None


@dataclass(frozen=True)
class MeasureDraft:
    """An edit form of one measure (``measure_id`` None: the add form) as it was posted."""

    measure_id: int | None
    version: int  # of the measure (of the plan for the add form) when the form was opened
    values: dict[str, str]
    seen: dict[str, str]  # what the form showed when it was opened
    reason: str
    errors: dict[str, str] = field(default_factory=dict)
    changes: list[dict[str, str]] = field(default_factory=list)
    stale: bool = False

    @classmethod
    def from_post(cls, form: FormData, measure_id: int | None, version: int) -> MeasureDraft:
        def text(key: str) -> str:  # browsers send line breaks as CRLF; they are stored as LF
            return str(form.get(key, "")).replace("\r\n", "\n")

        values = {name: text(name).strip() for name in EDITABLE}
        seen = {name: text(f"seen.{name}") for name in EDITABLE}
        return cls(measure_id, version, values, seen, text("reason").strip())

    def to_save(self) -> dict[str, object]:
        """The fields to save: on an edit those changed since the form was opened, on a new
        measure those filled in (the catalogue gives the rest). Every bad one is refused."""
        adding = self.measure_id is None
        wanted = [name for name, text in self.values.items()
                  if ((text or name == "kind") if adding else text != self.seen[name])]
        saved: dict[str, object] = {}
        problems = []
        for name in wanted:
            value, refused = _parse(name, self.values[name])
            if refused:
                problems.append(Problem(0, name, self.values[name], refused))
            saved[name] = value
        if problems:
            raise ValidationFailed(NOT_ACCEPTED, problems)
        return saved


def _measure_values(measure: Mapping[str, Any]) -> dict[str, str]:
    return {name: shown(name, measure.get(name)) for name in EDITABLE}


@dataclass(frozen=True)
class PlanPanel:
    """A household's plan as the panel shows it; also the ``form`` web/errors.py re-renders."""

    number: str
    lang: str
    plan: dict[str, Any] | None
    measures: list[dict[str, Any]] = field(default_factory=list)
    may_act: bool = False  # start, complete, delay, cancel
    may_verify: bool = False
    may_edit: bool = False  # edit and add measures
    may_approve: bool = False
    error: str | None = None
    draft: MeasureDraft | None = None  # the edit or add form being posted
    template: str = "plan.html"
    conflict_template: str = "plan.html"

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> PlanPanel:
        if self.draft is None:
            return replace(self, error=message)
        errors = {p.column: p.message(lang) for p in problems if p.column in EDITABLE}
        name, _, reason = message.partition(": ")  # the services name a bad field first
        if not errors and name in EDITABLE:
            errors = {name: reason}
        return replace(self, draft=replace(self.draft, errors=errors),
                       error=translate(NOT_ACCEPTED, lang) if errors else message)

    def conflict(self, current: dict[str, Any]) -> PlanPanel:
        if "measures" in current:  # the plan itself changed (approved, a measure added)
            return replace(self, error=translate(
                N_("Someone else changed this plan after you opened the page; nothing of yours "
                   "was saved. It is now at version {version}: look at it again."), self.lang,
                version=current.get("version", "")))
        status = current.get("status")
        now = translate(MeasureStatus.of(status).title, self.lang) if status else "–"
        panel = replace(self, error=translate(
            N_("Someone else changed measure {measure} after you opened the page; nothing of "
               "yours was saved. It is now {status} (version {version})."), self.lang,
            measure=current.get("id", ""), status=now, version=current.get("version", "")))
        if self.draft is None or not current:
            return panel
        changes = [{"name": name, "title": title, "seen": self.draft.seen[name],
                    "now": shown(name, current.get(name)), "typed": self.draft.values[name]}
                   for name, title in EDITABLE.items()
                   if shown(name, current.get(name)) != self.draft.seen[name]]
        return replace(panel, draft=replace(self.draft, changes=changes, stale=True))

    @property
    def fields(self) -> list[tuple[str, str]]:
        return list(EDITABLE.items())

    @property
    def kinds(self) -> list[str]:
        return [kind.value for kind in MeasureKind]

    def form_for(self, measure: Mapping[str, Any] | None) -> dict[str, Any]:
        """A measure's edit form (None: the add form): what was typed and refused when it is
        the posted one, else (and after a stale save, to start again) the saved values."""
        draft = self.draft
        version = measure["version"] if measure else (self.plan or {}).get("version")
        saved = _measure_values(measure) if measure else dict.fromkeys(EDITABLE, "")
        if draft is None or draft.measure_id != (measure["id"] if measure else None):
            return {"values": saved, "seen": saved, "errors": {}, "version": version,
                    "reason": "", "open": False}
        if draft.stale:
            return {"values": saved, "seen": saved, "errors": {}, "version": version,
                    "reason": draft.reason, "open": True}
        return {"values": draft.values, "seen": draft.seen, "errors": draft.errors,
                "version": draft.version, "reason": draft.reason, "open": True}


def load_panel(db: Session, *, principal: Principal, number: str, lang: str) -> PlanPanel:
    """The plan panel of a household the principal may see (an empty one without a plan);
    what it offers is what the policy allows the principal."""
    try:
        found = plans.show(db, principal=principal, number=number)
    except NotFound:
        records.household(db, principal=principal, number=number)  # NotFound if not theirs
        return PlanPanel(number, lang, None)
    return PlanPanel(number, lang, found["plan"], found["measures"],
                     may_act=policy.allows(principal, Action.MOVE_MEASURE),
                     may_verify=policy.allows(principal, Action.VERIFY_MEASURE),
                     may_edit=policy.allows(principal, Action.EDIT_PLAN),
                     may_approve=policy.allows(principal, Action.APPROVE_PLAN))


def render(request: Request, state: StateDep, fragment: str, page: str,
            context: dict[str, Any]) -> Response:
    name = fragment if request.headers.get("hx-request") == "true" else page
    return state.templates.TemplateResponse(request, name, context)


@router.get("/{number}/plan")
def plan_panel(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
               lang: LangDep, number: str) -> Response:
    panel = load_panel(db, principal=principal, number=number, lang=lang)
    return render(request, state, "_plan_panel.html", "plan.html", {"form": panel})


@contextmanager
def _explained(lang: str) -> Iterator[None]:
    """A ledger refusal in the user's language (its msgid is in the catalog)."""
    try:
        yield
    except RuleBroken as exc:
        raise ValidationFailed(translate(exc.msgid, lang, **exc.values)) from exc


def _prepare(request: Request, db: Session, principal: Principal, number: str,
             measure_id: int, lang: str, draft: MeasureDraft | None = None) -> None:
    """Check the measure is this household's; keep the panel for errors.py to show again."""
    panel = load_panel(db, principal=principal, number=number, lang=lang)
    if not any(m["id"] == measure_id for m in panel.measures):
        raise NotFound(f"measure {measure_id} not found")
    request.state.form = replace(panel, draft=draft)


def _prepare_plan(request: Request, db: Session, principal: Principal, number: str,
                  lang: str, draft: MeasureDraft | None = None) -> int:
    """The id of the household's plan; keep the panel for errors.py to show again."""
    panel = load_panel(db, principal=principal, number=number, lang=lang)
    if panel.plan is None:
        raise NotFound(f"household {number} has no plan")
    request.state.form = replace(panel, draft=draft)
    return int(panel.plan["plan"])


@contextmanager
def _known_helper(saving: Mapping[str, object]) -> Iterator[None]:
    """A helper number that is not in the registry, refused next to its field."""
    try:
        yield
    except NotFound as exc:
        typed = saving.get("helper")
        if not typed:
            raise
        problem = Problem(0, "helper", str(typed), N_("Helper {number} is not in the registry."),
                          {"number": typed})
        raise ValidationFailed(problem.message("en"), [problem]) from exc


def _done(request: Request, number: str) -> Response:
    request.session["flash"] = N_("Saved.")
    return RedirectResponse(f"/households/{number}#plan", status_code=303)


@router.post("/{number}/measures/{measure_id}/start")
def start(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
          lang: LangDep, number: str, measure_id: int, version: Version) -> Response:
    _prepare(request, db, principal, number, measure_id, lang)
    with _explained(lang):
        ledger.start(db, principal=principal, measure_id=measure_id, as_of=today,
                     expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/complete")
def complete(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
             today: TodayDep, lang: LangDep, number: str, measure_id: int,
             version: Version, evidence_file: Annotated[UploadFile | None, File()] = None,
             completed_on: Annotated[date | None, Form()] = None) -> Response:
    _prepare(request, db, principal, number, measure_id, lang)
    settings = state.settings
    files = []
    if evidence_file is not None and evidence_file.filename:
        # one byte more than allowed is enough to refuse the file without reading it all
        data = evidence_file.file.read(settings.evidence_max_bytes + 1)
        files.append(EvidenceFile(evidence_file.filename, data, evidence_file.content_type))
    with _explained(lang):
        ledger.complete(db, principal=principal, measure_id=measure_id,
                        completed_on=completed_on or today, as_of=today, files=files,
                        store=EvidenceStore(settings.data_dir, settings.evidence_max_bytes),
                        expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/verify")
def verify(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
           lang: LangDep, number: str, measure_id: int, version: Version) -> Response:
    _prepare(request, db, principal, number, measure_id, lang)
    with _explained(lang):
        ledger.verify(db, principal=principal, measure_id=measure_id, as_of=today,
                      expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/cancel")
def cancel(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
           lang: LangDep, number: str, measure_id: int, version: Version,
           reason: Reason = "") -> Response:
    _prepare(request, db, principal, number, measure_id, lang)
    with _explained(lang):
        ledger.cancel(db, principal=principal, measure_id=measure_id, reason=reason,
                      as_of=today, expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/delay")
def delay(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
          lang: LangDep, number: str, measure_id: int, version: Version,
          reason: Reason = "", follow_up: Reason = "") -> Response:
    _prepare(request, db, principal, number, measure_id, lang)
    with _explained(lang):
        ledger.record_delay(db, principal=principal, measure_id=measure_id, reason=reason,
                            follow_up=follow_up, as_of=today, expected_version=version)
    return _done(request, number)


@router.post("/{number}/measures/{measure_id}/revise")
def revise(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
           lang: LangDep, posted: PostedForm, number: str, measure_id: int,
           version: Version) -> Response:
    draft = MeasureDraft.from_post(posted, measure_id, version)
    _prepare(request, db, principal, number, measure_id, lang, draft)
    changes = draft.to_save()
    with _explained(lang), _known_helper(changes):
        plan_revisions.revise_measure(db, principal=principal, measure_id=measure_id,
                                      changes=changes, reason=draft.reason or None,
                                      as_of=today, expected_version=version)
    return _done(request, number)


@router.post("/{number}/plan/measures")
def add_measure(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
                lang: LangDep, posted: PostedForm, number: str, version: Version) -> Response:
    draft = MeasureDraft.from_post(posted, None, version)
    plan_id = _prepare_plan(request, db, principal, number, lang, draft)
    fields = draft.to_save()
    with _explained(lang), _known_helper(fields):
        plan_revisions.add_measure(db, principal=principal, plan_id=plan_id, fields=fields,
                                   reason=draft.reason or None, as_of=today,
                                   expected_version=version)
    return _done(request, number)


@router.post("/{number}/plan/approve")
def approve(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
            lang: LangDep, number: str, version: Version) -> Response:
    plan_id = _prepare_plan(request, db, principal, number, lang)
    with _explained(lang):
        plans.approve(db, principal=principal, plan_id=plan_id, as_of=today,
                      expected_version=version)
    return _done(request, number)
