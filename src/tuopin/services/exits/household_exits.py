"""Household exits (退出): propose, notice, announce, objection, 返贫; each step audited.

The rules are the domain's state machine (domain/exit_workflow.py); this module finds the
records, asks the domain whether a step is allowed, and only then changes anything: a refused
step leaves every row and the audit trail as they were. Each step writes an ExitEventRecord
with who, when (``as_of``) and the evidence (minutes, run, notice dates, reason), and an
audit event in the same transaction. Cases are optimistically locked by their version.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tuopin.domain import exit_workflow as workflow
from tuopin.domain.enums import ExitState, HouseholdStatus
from tuopin.domain.errors import Bilingual, Message, RuleBroken
from tuopin.domain.exit_criteria import lookup
from tuopin.i18n import N_
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import get_run, run_standard
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    ExitCaseRecord,
    ExitEventRecord,
    HouseholdRecord,
)

DEFAULT_STANDARD = "cn-national"
CASE = N_("The exit case")
CASE_FIELDS = ("state", "run_id", "opened_on", "notice_start", "notice_end", "exited_on")


def _case_of(db: Session, household_id: int) -> ExitCaseRecord | None:
    return db.scalars(select(ExitCaseRecord).where(ExitCaseRecord.household_id == household_id)
                      .order_by(ExitCaseRecord.id.desc())).first()


def _domain(record: ExitCaseRecord | None) -> workflow.ExitCase:
    if record is None:
        return workflow.ExitCase()
    return workflow.ExitCase(lookup(ExitState, record.state), record.opened_on,
                             record.notice_start, record.notice_end, record.exited_on)


def _snapshot(record: ExitCaseRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in CASE_FIELDS}


def _check_version(record: ExitCaseRecord | None, expected: int | None) -> None:
    # no case yet is version 0: a step expecting 0 is refused once someone opened a case
    records.check_version(CASE, found=record.version if record else 0, expected=expected,
                          current=_snapshot(record) if record else {})


def _flush(db: Session) -> None:
    records.flush(db, what=CASE)


def _save(db: Session, home: HouseholdRecord, record: ExitCaseRecord | None,
          case: workflow.ExitCase, *, on: date, actor: str, note: str | None = None,
          evidence: dict[str, Any] | None = None, run_id: int | None = None,
          from_state: ExitState = ExitState.NOT_EXITED) -> ExitCaseRecord:
    """Write the new state, its event and its audit record (the step was already allowed)."""
    before = _snapshot(record) if record else None
    previous = record.state if record else from_state.value
    if record is None:
        record = ExitCaseRecord(household_id=home.id, state=case.state.value, opened_on=on)
        db.add(record)
    record.state = case.state.value
    record.opened_on = case.opened_on or record.opened_on
    record.notice_start, record.notice_end = case.notice_start, case.notice_end
    record.exited_on = case.exited_on
    if run_id is not None:
        record.run_id = run_id
    _flush(db)
    db.add(ExitEventRecord(case_id=record.id, from_state=previous, to_state=case.state.value,
                           on=on, by=actor, note=note, run_id=run_id,
                           evidence=json.dumps(evidence, ensure_ascii=False, default=str)
                           if evidence else None))
    audit.record(db, actor=actor, action=f"exit:{case.state.value}", entity="exit_case",
                 entity_id=home.number, before=before,
                 after={**_snapshot(record), "note": note, "evidence": evidence})
    return record


def _set_status(db: Session, home: HouseholdRecord, status: HouseholdStatus, *, actor: str,
                year_exited: int | None) -> None:
    before = {"status": home.status, "year_exited": home.year_exited}
    home.status = status.value
    home.year_exited = year_exited
    _flush(db)
    audit.record(db, actor=actor, action="status", entity="household", entity_id=home.number,
                 before=before, after={"status": home.status, "year_exited": home.year_exited})


def _result(db: Session, run: AssessmentRunRecord, home: HouseholdRecord,
            standard: str) -> AssessmentResultRecord:
    if run.standard_name != standard:
        raise RuleBroken(N_("run {run} assessed {found}; an exit is judged on a run of "
                            "{standard}"), run=run.id, found=run.standard_name, standard=standard)
    result = db.scalars(select(AssessmentResultRecord).where(
        AssessmentResultRecord.run_id == run.id,
        AssessmentResultRecord.household_id == home.id)).first()
    if result is None:
        raise RuleBroken(N_("household {number} has no result in run {run} (no {year} "
                            "survey?)"), number=home.number, run=run.id, year=run.year)
    return result


def _failed(run: AssessmentRunRecord, deprived: str) -> list[str]:
    """The failed indicators, each with its title, for a refusal people can act on."""
    standard = run_standard(run)
    names: list[str] = []
    for ident in filter(None, deprived.split(";")):
        try:
            title = standard.indicator(ident).title
        except KeyError:
            names.append(ident)
            continue
        names.append(Message(N_("{indicator} ({title})"), indicator=ident,
                             title=Bilingual(title.en, title.zh)))
    return names


def _household(db: Session, principal: Principal, number: str) -> HouseholdRecord:
    return records.household(db, principal=principal, number=number, lock=True)


@changes(Action.EXIT_STEP)
def propose(db: Session, *, principal: Principal, number: str, run_id: int, minutes: str,
            as_of: date, allow_identification_year: bool, standard: str = DEFAULT_STANDARD,
            expected_version: int | None = None) -> dict[str, Any]:
    """预脱贫: propose an exit after the democratic review, on a run where it is not poor."""
    actor = principal.actor
    home = _household(db, principal, number)
    record = _case_of(db, home.id)
    _check_version(record, expected_version)
    run = get_run(db, run_id)
    result = _result(db, run, home, standard)
    case = workflow.propose(
        _domain(record), as_of=as_of, minutes=minutes,
        status=lookup(HouseholdStatus, home.status),
        poor_in_run=result.poor, failed=_failed(run, result.deprived),
        year_identified=home.year_identified,
        allow_identification_year=allow_identification_year)
    evidence = {"minutes": minutes, "run": run.id, "standard": run.standard_name,
                "year": run.year}
    saved = _save(db, home, record, case, on=as_of, actor=actor, evidence=evidence,
                  run_id=run.id)
    return case_row(saved, home)


@changes(Action.EXIT_STEP)
def start_notice(db: Session, *, principal: Principal, number: str, start: date, as_of: date,
                 notice_days: int, expected_version: int | None = None) -> dict[str, Any]:
    """公示: the notice starts in the village on ``start`` (not after ``as_of``, today) and
    lasts ``notice_days``."""
    actor = principal.actor
    home = _household(db, principal, number)
    record = _case_of(db, home.id)
    _check_version(record, expected_version)
    case = workflow.start_notice(_domain(record), start=start, notice_days=notice_days,
                                 as_of=as_of)
    saved = _save(db, home, record, case, on=start, actor=actor, evidence={
        "notice_start": case.notice_start, "notice_end": case.notice_end})
    return case_row(saved, home)


@changes(Action.EXIT_STEP)
def announce(db: Session, *, principal: Principal, number: str, as_of: date,
             allow_identification_year: bool,
             expected_version: int | None = None) -> dict[str, Any]:
    """公告: announce the exit after the notice; the household is struck off (已脱贫)."""
    actor = principal.actor
    home = _household(db, principal, number)
    record = _case_of(db, home.id)
    _check_version(record, expected_version)
    case = workflow.announce(_domain(record), as_of=as_of, year_identified=home.year_identified,
                             allow_identification_year=allow_identification_year)
    saved = _save(db, home, record, case, on=as_of, actor=actor, evidence={
        "notice_start": case.notice_start, "notice_end": case.notice_end})
    _set_status(db, home, HouseholdStatus.EXITED, actor=actor, year_exited=as_of.year)
    return case_row(saved, home)


@changes(Action.EXIT_STEP)
def record_objection(db: Session, *, principal: Principal, number: str, reason: str,
                     as_of: date, expected_version: int | None = None) -> dict[str, Any]:
    """An objection during the notice: the case goes back to 未脱贫, with the reason."""
    actor = principal.actor
    home = _household(db, principal, number)
    record = _case_of(db, home.id)
    _check_version(record, expected_version)
    case = workflow.object_to(_domain(record), as_of=as_of, reason=reason)
    saved = _save(db, home, record, case, on=as_of, actor=actor, note=reason,
                  evidence={"objection": reason})
    return case_row(saved, home)


@changes(Action.MARK_RETURNS)
def mark_returns(db: Session, *, principal: Principal, run_id: int, as_of: date,
                 standard: str = DEFAULT_STANDARD) -> list[dict[str, Any]]:
    """返贫: every exited household that a run of its exit year or later finds poor."""
    actor = principal.actor
    run = get_run(db, run_id)
    if run.standard_name != standard:
        raise RuleBroken(N_("run {run} assessed {found}; a return to poverty is judged on a "
                            "run of {standard}"), run=run.id, found=run.standard_name,
                         standard=standard)
    h, r, c = HouseholdRecord, AssessmentResultRecord, ExitCaseRecord
    found = db.execute(
        select(h, r.deprived).join(r, r.household_id == h.id)
        .outerjoin(c, c.household_id == h.id)
        .where(r.run_id == run.id, r.poor.is_(True), records.in_scope(principal.scope),
               or_(h.status == HouseholdStatus.EXITED.value, c.state == ExitState.EXITED.value),
               or_(h.year_exited.is_(None), h.year_exited <= run.year))
        .order_by(h.number)).all()
    rows = []
    for home, deprived in found:
        record = _case_of(db, home.id)
        if record is not None and record.state != ExitState.EXITED.value:
            continue  # exited before tuopin kept cases, then proposed again: not returned
        current = _domain(record) if record else workflow.ExitCase(ExitState.EXITED)
        case = workflow.mark_returned(current)
        saved = _save(db, home, record, case, on=as_of, actor=actor, run_id=run.id,
                      evidence={"run": run.id, "failed": _failed(run, deprived)},
                      from_state=ExitState.EXITED)
        _set_status(db, home, HouseholdStatus.POOR, actor=actor, year_exited=home.year_exited)
        rows.append(case_row(saved, home))
    return rows


def case_row(record: ExitCaseRecord, home: HouseholdRecord) -> dict[str, Any]:
    """A case as plain data."""
    return {"number": home.number, "village_code": home.village_code,
            "household_status": home.status, **_snapshot(record), "version": record.version}


@reads()
def show(db: Session, *, principal: Principal, number: str) -> dict[str, Any]:
    """A household's exit case and every step, with its evidence."""
    home = records.household(db, principal=principal, number=number)
    record = _case_of(db, home.id)
    if record is None:
        return {"number": home.number, "household_status": home.status,
                "state": ExitState.NOT_EXITED.value, "events": []}
    events = db.scalars(select(ExitEventRecord).where(ExitEventRecord.case_id == record.id)
                        .order_by(ExitEventRecord.id)).all()
    return {**case_row(record, home), "events": [
        {"on": e.on, "from": e.from_state, "to": e.to_state, "by": e.by, "note": e.note,
         "run_id": e.run_id, "evidence": json.loads(e.evidence) if e.evidence else None}
        for e in events]}


@reads()
def list_cases(db: Session, *, principal: Principal,
               state: ExitState | None = None) -> list[dict[str, Any]]:
    """Every exit case in scope (optionally in one state), by household number."""
    query = (select(ExitCaseRecord, HouseholdRecord)
             .join(HouseholdRecord, HouseholdRecord.id == ExitCaseRecord.household_id)
             .where(records.in_scope(principal.scope)))
    if state is not None:
        query = query.where(ExitCaseRecord.state == state.value)
    return [case_row(c, h) for c, h in db.execute(query.order_by(HouseholdRecord.number))]
