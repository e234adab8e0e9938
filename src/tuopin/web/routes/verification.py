"""The verification pages: the plans of the user's region, a plan (its design, sample,
progress, estimates and the steps the policy allows), the verifier's village list and one
household's finding form (both sized for a phone), field list and sample downloads, the
findings upload, and the county page's section of rates and the exit check.

What a user may see of a plan and its list, and may do with it, is the services' business
(services/verification/plans.py); the pages only offer the steps the policy allows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tuopin.domain.errors import NotFound
from tuopin.domain.verification import (
    FRAMES,
    Frame,
    Judgement,
    NotVisited,
    PlanState,
    VerificationKind,
)
from tuopin.i18n import N_, translate
from tuopin.services.access import policy
from tuopin.services.access.policy import Action
from tuopin.services.access.principal import Principal
from tuopin.services.exits import area_exits
from tuopin.services.registry import lookup
from tuopin.services.verification import (
    draws,
    estimates,
    fieldlists,
    findings,
    plans,
    visits,
)
from tuopin.web.deps import (
    LangDep,
    PrincipalDep,
    SessionDep,
    StateDep,
    TodayDep,
    WritingSessionDep,
)
from tuopin.web.routes.households import PostedForm
from tuopin.web.state import WebState
from tuopin.web.verification_forms import FindingForm, FindingsUpload, PlanForm

router = APIRouter(prefix="/verification")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
UPLOAD_SUFFIXES = (".xlsx", ".csv")
PlanId = Annotated[int, Path(ge=1, le=2**62)]
RegionCode = Annotated[str, Path(pattern=r"^\d{12}$")]
Number = Annotated[str, Path(max_length=32)]
IMPORTED = N_("Findings imported: {inserted} new, {updated} corrected, {unchanged} unchanged.")
SAVED = N_("The finding at household {number} was saved.")
# the titles (msgids) of the verification enums the pages name
TITLES = {"state": {s.value: s.title for s in PlanState},
          "kind": {k.value: k.title for k in VerificationKind},
          "frame": {f.value: f.title for f in Frame},
          "judgement": {j.value: j.title for j in Judgement},
          "reason": {r.value: r.title for r in NotVisited}}
STEPS = {"draw": N_("The sample was drawn."),
         "release": N_("The list was released to the verifiers."),
         "close": N_("The plan was closed: its findings are final.")}


def _render(request: Request, state: WebState, name: str,
            context: dict[str, Any]) -> Response:
    return state.templates.TemplateResponse(request, name, {**context, "titles": TITLES})


def _names(db: Session, principal: Principal, root: str | None) -> dict[str, str]:
    """Region code -> name for the regions of the user's tree (from ``root`` if they
    reach it)."""
    top = root if root and principal.scope.covers(root) else None
    return {n["code"]: n["name"] for n in lookup.tree(db, principal=principal, root=top)}


def _allowed(principal: Principal, plan: dict[str, Any]) -> dict[str, bool]:
    """The steps of ``plan`` to offer: its next step, if the user's role may take it."""
    state = PlanState.of(plan["state"])
    listed = plan["seed"] is not None  # who may not see the list sees no seed
    return {
        "draw": state is PlanState.PLANNED
        and policy.allows(principal, Action.PLAN_VERIFICATION),
        "release": state is PlanState.DRAWN and policy.allows(principal, Action.RELEASE_SAMPLE),
        "close": state is PlanState.RELEASED
        and policy.allows(principal, Action.CLOSE_VERIFICATION),
        "record": state is PlanState.RELEASED and listed
        and policy.allows(principal, Action.RECORD_FINDINGS),
        "list": listed and state is not PlanState.PLANNED,
    }


@router.get("")
def plan_list(request: Request, db: SessionDep, state: StateDep,
              principal: PrincipalDep) -> Response:
    """The plans of the user's region (and of the county it lies in), newest first."""
    found = plans.list_plans(db, principal=principal)
    return _render(request, state, "verification_plans.html", {
        "plans": found, "names": _names(db, principal, None),
        "may_plan": policy.allows(principal, Action.PLAN_VERIFICATION)})


@router.get("/new")
def new_plan_form(request: Request, state: StateDep, principal: PrincipalDep,
                  today: TodayDep) -> Response:
    policy.require(principal, Action.PLAN_VERIFICATION)
    form = PlanForm.blank(principal.scope.region_code, today)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/new")
def new_plan(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
             posted: PostedForm) -> Response:
    policy.require(principal, Action.PLAN_VERIFICATION)
    form = PlanForm.from_post(posted)
    request.state.form = form  # errors.py shows it again with the problems
    made = plans.plan(db, principal=principal, region=form.values["region"],
                      kind=form.kind(), as_of=today, **form.numbers())
    request.session["flash"] = N_("The plan was made: draw its sample when it is ready.")
    return RedirectResponse(f"/verification/{made['plan']}", status_code=303)


@router.get("/county/{code}")
def county_section(request: Request, db: SessionDep, state: StateDep,
                   principal: PrincipalDep, code: RegionCode) -> Response:
    """The county page's section: the latest closed plan's rates, and the exit check."""
    county = lookup.region_code(principal=principal, code=code)
    latest = estimates.latest_closed(db, principal=principal, counties=[county]).get(county)
    # the exit check takes the county's latest closed plan itself, and names it
    checked = area_exits.county_check(db, principal=principal, county=county)
    return _render(request, state, "_verification_county.html", {
        "county": county, "latest": latest, "check": checked})


@router.get("/{plan_id}")
def plan_page(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
              plan_id: PlanId) -> Response:
    """A plan: its state and steps, its design and sample, the findings so far per village,
    its estimates once closed, and the steps the user may take."""
    shown = plans.show(db, principal=principal, plan_id=plan_id)
    allowed = _allowed(principal, shown)
    progress = (visits.progress(db, principal=principal, plan_id=plan_id)
                if allowed["list"] else None)
    final = (estimates.estimate(db, principal=principal, plan_id=plan_id)
             if shown["state"] == PlanState.CLOSED.value else None)
    return _render(request, state, "verification_plan.html", {
        "plan": shown, "allowed": allowed, "progress": progress, "estimates": final,
        "county": _names(db, principal, shown["region_code"]).get(shown["region_code"], ""),
        "frames": [f.value for f in FRAMES], "upload": FindingsUpload(plan_id)})


@router.get("/{plan_id}/sample.csv")
def sample_file(db: SessionDep, principal: PrincipalDep, plan_id: PlanId) -> Response:
    """The sample file as drawn (its SHA-256 is the plan's sample hash)."""
    body = draws.sample_content(db, principal=principal, plan_id=plan_id)
    return Response(body, media_type=CSV, headers={
        "Content-Disposition": f'attachment; filename="plan{plan_id}_sample.csv"'})


@router.get("/{plan_id}/fieldlists/{code}.{fmt}")
def field_list(db: WritingSessionDep, principal: PrincipalDep, lang: LangDep,
               plan_id: PlanId, code: RegionCode, fmt: Annotated[str, Path(pattern="^(xlsx|csv)$")]
               ) -> Response:
    """One village's field list, to take to the field and bring back filled in."""
    found = fieldlists.field_lists(db, principal=principal, plan_id=plan_id, lang=lang,
                                   village=code)
    if not found:
        raise NotFound(f"no households of village {code} in plan {plan_id}")
    with tempfile.TemporaryDirectory(prefix="tuopin-fieldlist-") as folder:
        body = fieldlists.write_field_list(found[0], FilePath(folder), fmt).read_bytes()
    return Response(body, media_type=XLSX if fmt == "xlsx" else CSV, headers={
        "Content-Disposition": f'attachment; filename="{found[0].file_name(fmt)}"'})


@router.post("/{plan_id}/findings")
def upload_findings(request: Request, db: SessionDep, state: StateDep,
                    principal: PrincipalDep, today: TodayDep, lang: LangDep, plan_id: PlanId,
                    file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Import filled field lists (XLSX or CSV): every row, or none and every problem."""
    request.state.form = FindingsUpload(plan_id)
    name = FilePath((file.filename if file else "") or "findings.csv").name
    suffix = FilePath(name).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="tuopin-findings-") as folder:
        path = FilePath(folder) / f"findings{suffix if suffix in UPLOAD_SUFFIXES else '.csv'}"
        path.write_bytes(file.file.read() if file else b"")
        result = findings.import_findings(
            db, principal=principal, plan_id=plan_id, path=path, today=today, name=name,
            max_rows=state.upload_limits.max_rows,
            max_unpacked_bytes=state.upload_limits.max_unpacked_bytes)
    request.session["flash"] = translate(  # a message with values is kept translated
        IMPORTED, lang, inserted=result.inserted, updated=result.updated,
        unchanged=result.unchanged)
    return RedirectResponse(f"/verification/{plan_id}", status_code=303)


@router.get("/{plan_id}/villages/{code}")
def village_list(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                 plan_id: PlanId, code: RegionCode) -> Response:
    """The households of one village a plan drew, for the verifier to work through."""
    shown = plans.show(db, principal=principal, plan_id=plan_id)
    rows = [r for r in visits.visit_list(db, principal=principal, plan_id=plan_id,
                                         village=code)
            # a village outside the user's region narrows to nothing but their own
            if r["village_code"] == code]
    if not rows:
        raise NotFound(f"no households of village {code} in plan {plan_id}")
    return _render(request, state, "verification_village.html", {
        "plan": shown, "rows": rows, "village": rows[0]["village"] or code,
        "township": rows[0]["township"] or "", "code": code,
        "recorded": sum(r["visited"] is not None for r in rows),
        "allowed": _allowed(principal, shown)})


@router.get("/{plan_id}/households/{number}")
def finding_form(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                 today: TodayDep, plan_id: PlanId, number: Number) -> Response:
    """One household's finding: a form while the plan is released to the user, else the
    finding as recorded."""
    shown = plans.show(db, principal=principal, plan_id=plan_id)
    row = visits.finding(db, principal=principal, plan_id=plan_id, number=number)
    form = FindingForm.load(row, editable=_allowed(principal, shown)["record"], today=today,
                            closed=shown["state"] == PlanState.CLOSED.value)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/{plan_id}/households/{number}")
def record_finding(request: Request, db: SessionDep, principal: PrincipalDep,
                   today: TodayDep, lang: LangDep, posted: PostedForm, plan_id: PlanId,
                   number: Number) -> Response:
    """Record (or correct) one household's finding, unless someone saved it in between."""
    row = visits.finding(db, principal=principal, plan_id=plan_id, number=number)
    form = FindingForm.load(row, editable=True, today=today).posted(posted)
    request.state.form = form  # errors.py shows it again with the problems or the changes
    findings.record_finding(db, principal=principal, plan_id=plan_id, number=number,
                            values=form.to_save(), today=today,
                            expected_version=form.version)
    request.session["flash"] = translate(SAVED, lang, number=number)
    return RedirectResponse(f"{form.back}#h-{number}", status_code=303)


# last: its {step} would otherwise catch the plan's other POST routes
@router.post("/{plan_id}/{step}")
def take_step(request: Request, db: SessionDep, principal: PrincipalDep, today: TodayDep,
              plan_id: PlanId, step: Annotated[str, Path(pattern="^(draw|release|close)$")],
              version: Annotated[int | None, Form()] = None) -> Response:
    """Draw, release or close the plan (on the version the page showed)."""
    if step == "draw":
        draws.draw(db, principal=principal, plan_id=plan_id, as_of=today,
                   expected_version=version)
    elif step == "release":
        plans.release(db, principal=principal, plan_id=plan_id, as_of=today,
                      expected_version=version)
    else:
        plans.close(db, principal=principal, plan_id=plan_id, as_of=today,
                    expected_version=version)
    request.session["flash"] = STEPS[step]
    return RedirectResponse(f"/verification/{plan_id}", status_code=303)
