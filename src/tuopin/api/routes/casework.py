"""The API's plans, measures, exits and monitoring.

Plans and measures (一户一策, 对账销号): a household's plan with its measures, the ledger's
steps of a measure (start, complete with evidence, verify, cancel, delay), the overdue
measures and the 问责清单. Exits (退出) and monitoring (防返贫监测): a case and its steps. Every
step needs the ETag of the version read in If-Match and answers with the new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Path, Query, Response, UploadFile

from tuopin.api.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep
from tuopin.api.paging import BAD_CURSOR, decode_cursor, encode_cursor, etag, expected_version
from tuopin.api.problems import WRITES, ApiProblem
from tuopin.api.schemas import Page
from tuopin.api.schemas_casework import (
    AccountabilityGroup,
    Delay,
    ExitCase,
    ExitStep,
    HouseholdPlan,
    Measure,
    MonitoringCase,
    MonitoringCaseFile,
    MonitoringStep,
    OverdueMeasure,
    Reason,
)
from tuopin.domain.enums import ExitState, MonitoringState
from tuopin.domain.errors import RuleBroken
from tuopin.i18n import N_
from tuopin.services.exits import household_exits as exits
from tuopin.services.monitoring import cases as monitoring
from tuopin.services.monitoring import clearance
from tuopin.services.plans import accountability, ledger
from tuopin.services.plans import household_plans as plans
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
from tuopin.services.registry import lookup

router = APIRouter(tags=["casework"])
Limit = Annotated[int, Query(ge=1, le=1000, description="Records per page")]
Cursor = Annotated[str | None, Query(max_length=200, description="From the last page's next")]
IfMatch = Annotated[str | None, Header(description="The ETag of the version you read")]
MeasureId = Annotated[int, Path(ge=1, le=2**62)]
CaseId = Annotated[int, Path(ge=1, le=2**62)]
# WRITES typed as FastAPI's ``responses`` wants it
STEPS: dict[int | str, dict[str, Any]] = {**WRITES}
NO_RUN = N_("Household {number} has no assessment run to judge an exit on; name one as run.")


def _measure(row: Mapping[str, Any], **where: object) -> dict[str, Any]:
    """A measure row of the services in the API's shape: its evidence as the files."""
    return {**row, **where, "evidence": row["evidence_files"]}


def _answer_measure(response: Response, db: SessionDep, principal: PrincipalDep,
                    measure_id: int) -> dict[str, Any]:
    """The measure as it is after a step, with the ETag of its new version."""
    row = plans.measure(db, principal=principal, measure_id=measure_id)
    response.headers["ETag"] = etag(row["version"])
    return _measure(row)


# -- plans and measures ----------------------------------------------------------------------

@router.get("/households/{number}/plan", response_model=HouseholdPlan)
def get_plan(response: Response, db: SessionDep, principal: PrincipalDep,
             number: str) -> Any:
    """一户一策: the household's plan and its measures, each with its evidence files and
    version (a measure's step needs that version in If-Match). The ETag is the plan's."""
    found = plans.show(db, principal=principal, number=number, files=True)
    plan = found["plan"]
    response.headers["ETag"] = etag(plan["version"])
    return {"plan": plan, "measures": [_measure(m, plan=plan["plan"], household=number)
                                       for m in found["measures"]]}


@router.get("/measures/overdue", response_model=Page[OverdueMeasure])
def list_overdue(db: SessionDep, principal: PrincipalDep, today: TodayDep, limit: Limit = 100,
                 cursor: Cursor = None) -> Any:
    """Measures of approved plans still owed after their due date, most overdue first."""
    after = decode_cursor(cursor, str, int)
    try:
        key = (date.fromisoformat(after[0]), after[1]) if after else None
    except ValueError:
        raise ApiProblem("invalid", BAD_CURSOR) from None
    rows = accountability.overdue(db, principal=principal, as_of=today, after=key, limit=limit)
    last = rows[-1] if len(rows) == limit else None
    return {"items": rows,
            "next": encode_cursor([last["due_date"].isoformat(), last["measure"]])
            if last else None}


@router.get("/accountability", response_model=list[AccountabilityGroup])
def list_accountability(db: SessionDep, principal: PrincipalDep, today: TodayDep) -> Any:
    """问责清单: overdue measures grouped by responsible helper and unit, worst first (one
    row per group; the measures themselves are /measures/overdue)."""
    return accountability.accountability(db, principal=principal, as_of=today)


@router.get("/measures/{measure_id}", response_model=Measure)
def get_measure(response: Response, db: SessionDep, principal: PrincipalDep,
                measure_id: MeasureId) -> Any:
    """One measure with its evidence files; the ETag is its version."""
    return _answer_measure(response, db, principal, measure_id)


@router.post("/measures/{measure_id}/start", response_model=Measure, responses=STEPS)
def start_measure(response: Response, db: SessionDep, principal: PrincipalDep,
                  today: TodayDep, measure_id: MeasureId, if_match: IfMatch = None) -> Any:
    """Planned → in progress."""
    ledger.start(db, principal=principal, measure_id=measure_id, as_of=today,
                 expected_version=expected_version(if_match))
    return _answer_measure(response, db, principal, measure_id)


@router.post("/measures/{measure_id}/complete", response_model=Measure, responses=STEPS)
def complete_measure(
    response: Response, db: SessionDep, state: StateDep, principal: PrincipalDep,
    today: TodayDep, measure_id: MeasureId, if_match: IfMatch = None,
    evidence_file: Annotated[UploadFile | None, File(
        description="A photo (JPEG, PNG, GIF, WebP) or a PDF")] = None,
    completed_on: Annotated[date | None, Form(description="Default: today")] = None,
) -> Any:
    """→ done, with an evidence file (multipart/form-data) unless one is attached already."""
    version = expected_version(if_match)
    settings = state.settings
    files = []
    if evidence_file is not None and evidence_file.filename:
        # one byte more than allowed is enough to refuse the file without reading it all
        data = evidence_file.file.read(settings.evidence_max_bytes + 1)
        files.append(EvidenceFile(evidence_file.filename, data, evidence_file.content_type))
    ledger.complete(db, principal=principal, measure_id=measure_id,
                    completed_on=completed_on or today, as_of=today, files=files,
                    store=EvidenceStore(settings.data_dir, settings.evidence_max_bytes),
                    expected_version=version)
    return _answer_measure(response, db, principal, measure_id)


@router.post("/measures/{measure_id}/verify", response_model=Measure, responses=STEPS)
def verify_measure(response: Response, db: SessionDep, principal: PrincipalDep,
                   today: TodayDep, measure_id: MeasureId, if_match: IfMatch = None) -> Any:
    """Done → verified (对账销号), by someone other than the responsible helper."""
    ledger.verify(db, principal=principal, measure_id=measure_id, as_of=today,
                  expected_version=expected_version(if_match))
    return _answer_measure(response, db, principal, measure_id)


@router.post("/measures/{measure_id}/cancel", response_model=Measure, responses=STEPS)
def cancel_measure(response: Response, db: SessionDep, principal: PrincipalDep,
                   today: TodayDep, measure_id: MeasureId, body: Reason,
                   if_match: IfMatch = None) -> Any:
    """Drop a measure, with the reason (on an approved plan, also a revision of the plan)."""
    ledger.cancel(db, principal=principal, measure_id=measure_id, reason=body.reason,
                  as_of=today, expected_version=expected_version(if_match))
    return _answer_measure(response, db, principal, measure_id)


@router.post("/measures/{measure_id}/delay", response_model=Measure, responses=STEPS)
def delay_measure(response: Response, db: SessionDep, principal: PrincipalDep,
                  today: TodayDep, measure_id: MeasureId, body: Delay,
                  if_match: IfMatch = None) -> Any:
    """查明原因: record why a late measure is late and the follow-up (问责)."""
    ledger.record_delay(db, principal=principal, measure_id=measure_id, reason=body.reason,
                        follow_up=body.follow_up, as_of=today,
                        expected_version=expected_version(if_match))
    return _answer_measure(response, db, principal, measure_id)


# -- exits -----------------------------------------------------------------------------------

def _answer_exit(response: Response, db: SessionDep, principal: PrincipalDep,
                 number: str) -> dict[str, Any]:
    case = exits.show(db, principal=principal, number=number)
    response.headers["ETag"] = etag(case.get("version", 0))
    return case


@router.get("/households/{number}/exit", response_model=ExitCase)
def get_exit(response: Response, db: SessionDep, principal: PrincipalDep, number: str) -> Any:
    """退出: the household's exit case and every step with its evidence. The ETag is the
    case's version (``"0"``: no case yet)."""
    return _answer_exit(response, db, principal, number)


@router.post("/households/{number}/exit/steps", response_model=ExitCase, responses=STEPS)
def take_exit_step(response: Response, db: SessionDep, state: StateDep,
                   principal: PrincipalDep, today: TodayDep, number: str, step: ExitStep,
                   if_match: IfMatch = None) -> Any:
    """Move the exit case to ``to``; the village's procedure decides whether it may."""
    version = expected_version(if_match)
    settings = state.settings
    common: dict[str, Any] = {"principal": principal, "number": number, "as_of": today,
                              "expected_version": version}
    if step.to is ExitState.PRE_EXIT:
        run = step.run or lookup.latest_run(db, principal=principal, number=number,
                                            standard=exits.DEFAULT_STANDARD)
        if run is None:
            exits.show(db, principal=principal, number=number)  # NotFound outside the scope
            raise RuleBroken(NO_RUN, number=number)
        exits.propose(db, run_id=run, minutes=step.note or "",
                      allow_identification_year=settings.exit_in_identification_year, **common)
    elif step.to is ExitState.IN_NOTICE:
        exits.start_notice(db, start=step.start or today,
                           notice_days=settings.exit_notice_days, **common)
    elif step.to is ExitState.EXITED:
        exits.announce(db, allow_identification_year=settings.exit_in_identification_year,
                       **common)
    else:
        exits.record_objection(db, reason=step.note or "", **common)
    return _answer_exit(response, db, principal, number)


# -- monitoring ------------------------------------------------------------------------------

@router.get("/monitoring", response_model=Page[MonitoringCase])
def list_monitoring(db: SessionDep, principal: PrincipalDep, today: TodayDep,
                    limit: Limit = 100, cursor: Cursor = None,
                    state: MonitoringState | None = None,
                    household: Annotated[str | None, Query(max_length=32)] = None) -> Any:
    """防返贫监测: the cases in your region, in id order, a page at a time; of one state or
    one household."""
    after = decode_cursor(cursor, int)
    rows = monitoring.list_cases(db, principal=principal, as_of=today, state=state,
                                 number=household, after=after[0] if after else None,
                                 limit=limit)
    return {"items": rows,
            "next": encode_cursor([rows[-1]["case"]]) if len(rows) == limit else None}


def _answer_case(response: Response, db: SessionDep, principal: PrincipalDep, today: date,
                 lang: str, case_id: int) -> dict[str, Any]:
    case = monitoring.show(db, principal=principal, case_id=case_id, as_of=today, lang=lang)
    response.headers["ETag"] = etag(case["version"])
    return case


@router.get("/monitoring/{case_id}", response_model=MonitoringCaseFile)
def get_monitoring(response: Response, db: SessionDep, principal: PrincipalDep,
                   today: TodayDep, lang: LangDep, case_id: CaseId) -> Any:
    """A case with its steps and shocks; the ETag is its version."""
    return _answer_case(response, db, principal, today, lang, case_id)


@router.post("/monitoring/{case_id}/steps", response_model=MonitoringCaseFile,
             responses=STEPS)
def take_monitoring_step(response: Response, db: SessionDep, state: StateDep,
                         principal: PrincipalDep, today: TodayDep, lang: LangDep,
                         case_id: CaseId, step: MonitoringStep,
                         if_match: IfMatch = None) -> Any:
    """The next step of the procedure, taken by its level (村申请、乡审核、县审定), a
    rejection with its reason, or 风险消除 (``cleared``)."""
    version = expected_version(if_match)
    if step.to is MonitoringState.CLEARED:
        clearance.clear(db, principal=principal, case_id=case_id, as_of=today,
                        expected_version=version)
    else:
        monitoring.advance(db, principal=principal, case_id=case_id, to=step.to,
                           on=step.on or today, as_of=today,
                           note=(step.note or "").strip() or None,
                           notice_days=state.settings.monitoring_notice_days,
                           expected_version=version)
    return _answer_case(response, db, principal, today, lang, case_id)
