"""防返贫监测: scan a monitoring run for cases, record shocks, take procedural steps, list.

A scan of a ``cn-monitoring`` run proposes every household in one of the three categories,
or at risk with a shock reported in the past 12 months, unless it already has an open case.
Shocks can be recorded at any time; they open a re-assessment case (or attach to the open
one) with a deadline. The procedure itself is domain/monitoring.py; clearance and the
village notice are in monitor_clearance.py. Every change is audited in its transaction.
The notes tuopin writes on a case's steps are catalog msgids filled in English; ``show`` gives
them back in the reader's language.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, insert, select
from sqlalchemy.orm import Session

from tuopin.domain import monitoring as procedure
from tuopin.domain.enums import (
    HouseholdStatus,
    MonitoringCategory,
    MonitoringState,
    PlanStatus,
    ShockKind,
)
from tuopin.domain.errors import Message, NotFound, RuleBroken
from tuopin.domain.exit_criteria import lookup
from tuopin.domain.money import parse_optional_money
from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.services import audit, records
from tuopin.services.access import policy
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import get_run
from tuopin.storage.models import (
    AssessmentResultRecord,
    HouseholdRecord,
    MonitoringCaseRecord,
    MonitoringEventRecord,
    PlanRecord,
    ShockEventRecord,
    table_of,
)

DEFAULT_STANDARD = "cn-monitoring"
CASE = N_("The monitoring case")
SHOCK_WINDOW = timedelta(days=365)  # judged on the past 12 months (中农组发〔2021〕7号)
CASE_FIELDS = ("state", "category", "risk_types", "source", "run_id", "opened_on", "deadline",
               "notice_start", "notice_end", "identified_on", "cleared_on", "plan_id")
OPEN = [s.value for s in MonitoringState if s not in procedure.CLOSED]
# the notes tuopin itself writes on a case's steps (a user's notes are kept as typed)
SCAN_NOTE = N_("scan of run {run}")
SHOCK_NOTE = N_("shock: {kind} on {on}")
CLEARANCE_NOTE = N_("income {income} >= line {line}; {measures} measures delivered")


def _pattern(msgid: str) -> re.Pattern[str]:
    """What ``msgid`` reads like once filled: its text, any value in each placeholder."""
    parts = re.split(r"\{(\w+)\}", msgid)  # text, name, text, name, ..., text
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)"
                              for i, part in enumerate(parts)))


NOTES = tuple((msgid, _pattern(msgid)) for msgid in (SCAN_NOTE, SHOCK_NOTE, CLEARANCE_NOTE))


def note_message(note: str) -> Message | None:
    """A stored note that tuopin wrote, as its msgid and values (None: a user's own note)."""
    # Stored notes are English text, older ones too, so they are read back by their msgid's
    # shape rather than kept apart in a column of their own.
    for msgid, pattern in NOTES:
        found = pattern.fullmatch(note)
        if found is None:
            continue
        values: dict[str, object] = found.groupdict()
        if "kind" in values:
            try:
                values["kind"] = Message(lookup(ShockKind, str(values["kind"])).title)
            except ValueError:
                pass  # a kind tuopin no longer has: shown as stored
        return Message(msgid, **values)
    return None


def note_in(note: str | None, lang: str | None) -> str | None:
    """A step's note for a reader of ``lang``: tuopin's own notes translated, a user's as typed."""
    message = note_message(note) if note else None
    return note if message is None else message.translated(lang)


def snapshot(record: MonitoringCaseRecord) -> dict[str, Any]:
    """A case's fields as plain data (for the audit trail and refusals)."""
    return {name: getattr(record, name) for name in CASE_FIELDS}


def domain_case(record: MonitoringCaseRecord,
                last_step_on: date | None = None) -> procedure.MonitoringCase:
    """The stored case as the domain's state machine sees it."""
    return procedure.MonitoringCase(
        lookup(MonitoringState, record.state), record.opened_on, record.deadline,
        record.notice_start, record.notice_end, record.identified_on, record.cleared_on,
        last_step_on)


def last_step_on(db: Session, case_id: int) -> date | None:
    """The date of a case's latest step (its events)."""
    return db.scalar(select(func.max(MonitoringEventRecord.on))
                     .where(MonitoringEventRecord.case_id == case_id))


def flush(db: Session) -> None:
    """Flush, turning a lost race on a case's version into a Conflict."""
    records.flush(db, what=CASE)


def load_case(db: Session, *, case_id: int, scope: Scope,
              expected_version: int | None = None) -> tuple[MonitoringCaseRecord,
                                                            HouseholdRecord]:
    """A case and its household, inside the scope (a helper's: their households), at the
    version the caller saw."""
    found = db.execute(
        select(MonitoringCaseRecord, HouseholdRecord)
        .join(HouseholdRecord, HouseholdRecord.id == MonitoringCaseRecord.household_id)
        .where(MonitoringCaseRecord.id == case_id, records.in_scope(scope))).first()
    if found is None:
        raise NotFound(f"monitoring case {case_id} not found")
    record, home = found
    records.check_version(CASE, found=record.version, expected=expected_version,
                          current=snapshot(record))
    return record, home


def apply(db: Session, record: MonitoringCaseRecord, home: HouseholdRecord,
          case_: procedure.MonitoringCase, *, on: date, actor: str, note: str | None,
          action: str) -> None:
    """Write an allowed step: the case's fields, its event and its audit record."""
    before = snapshot(record) if record.id is not None else None
    previous = record.state if record.id is not None else ""
    record.state = case_.state.value
    record.notice_start, record.notice_end = case_.notice_start, case_.notice_end
    record.identified_on, record.cleared_on = case_.identified_on, case_.cleared_on
    record.plan_id = record.plan_id or plan_of(db, home.id)
    db.add(record)
    flush(db)
    db.add(MonitoringEventRecord(case_id=record.id, from_state=previous,
                                 to_state=record.state, on=on, by=actor, note=note))
    audit.record(db, actor=actor, action=action, entity="monitoring_case",
                 entity_id=str(record.id), before=before,
                 after={**snapshot(record), "household": home.number, "note": note})


def set_status(db: Session, home: HouseholdRecord, status: HouseholdStatus, *,
               actor: str) -> None:
    """Change a household's status, audited."""
    if home.status == status.value:
        return
    before = home.status
    home.status = status.value
    flush(db)
    audit.record(db, actor=actor, action="status", entity="household", entity_id=home.number,
                 before={"status": before}, after={"status": home.status})


def plan_of(db: Session, household_id: int) -> int | None:
    """The household's plan to link (its newest approved one, else its newest draft)."""
    return plans_of(db, [household_id]).get(household_id)


def plans_of(db: Session, household_ids: list[int], *, chunk: int = 5_000) -> dict[int, int]:
    """Each household's plan to link, by household id (households without one left out)."""
    approved_first = case((PlanRecord.status == PlanStatus.APPROVED.value, 0), else_=1)
    linked: dict[int, int] = {}
    for start in range(0, len(household_ids), chunk):
        rows = db.execute(
            select(PlanRecord.household_id, PlanRecord.id)
            .where(PlanRecord.household_id.in_(household_ids[start:start + chunk]))
            .order_by(PlanRecord.household_id, approved_first, PlanRecord.id.desc()))
        for household_id, plan_id in rows:
            linked.setdefault(household_id, plan_id)
    return linked


def _new_case(home: HouseholdRecord, category: MonitoringCategory, risks: list[str],
              source: str, run_id: int | None, opened: procedure.MonitoringCase
              ) -> MonitoringCaseRecord:
    return MonitoringCaseRecord(
        household_id=home.id, category=category.value, risk_types=";".join(risks)[:200],
        source=source, run_id=run_id, state=opened.state.value, opened_on=opened.opened_on,
        deadline=opened.deadline)


@changes(Action.MONITOR_SCAN)
def scan(db: Session, *, principal: Principal, run_id: int, as_of: date, deadline_days: int,
         standard: str = DEFAULT_STANDARD) -> dict[str, Any]:
    """Propose a case for every household the run flags, unless it has an open case."""
    actor, scope = principal.actor, principal.scope
    run = get_run(db, run_id)
    if run.standard_name != standard:
        raise RuleBroken(N_("run {run} assessed {found}; a monitoring scan needs a run of "
                            "{standard}"), run=run.id, found=run.standard_name, standard=standard)
    r, h, s = AssessmentResultRecord, HouseholdRecord, ShockEventRecord
    shocked = exists().where(s.household_id == h.id, s.reported_on <= as_of,
                             s.reported_on > as_of - SHOCK_WINDOW)
    has_open = exists().where(MonitoringCaseRecord.household_id == h.id,
                              MonitoringCaseRecord.state.in_(OPEN))
    flagged = (select(h, r.deprived, r.categories, has_open).join(r, r.household_id == h.id)
               .where(r.run_id == run.id, records.in_scope(scope),
                      h.status != HouseholdStatus.POOR.value,
                      (r.categories != "") | and_(r.poor.is_(True), shocked))
               .order_by(h.number))
    found = db.execute(flagged).all()
    fresh = [(home, deprived, categories) for home, deprived, categories, is_open in found
             if not is_open]
    # set-based: a county's scan proposes thousands of cases, written in a few statements
    plans = plans_of(db, [home.id for home, _, _ in fresh])
    opened = procedure.open_case(as_of=as_of, deadline_days=deadline_days)
    note = SCAN_NOTE.format(run=run.id)
    cases = []
    for home, deprived, categories in fresh:
        category = (procedure.pick_category(categories.split(";"))
                    or MonitoringCategory.SUDDEN_HARDSHIP)
        record = _new_case(home, category, [d for d in deprived.split(";") if d], "scan",
                           run.id, opened)
        record.plan_id = plans.get(home.id)
        cases.append(record)
    db.add_all(cases)
    flush(db)
    if cases:
        db.execute(insert(table_of(MonitoringEventRecord)),
                   [{"case_id": record.id, "from_state": "", "to_state": record.state,
                     "on": as_of, "by": actor, "note": note} for record in cases])
    audit.record_many(db, [
        audit.Change(actor, "monitor:propose", "monitoring_case", str(record.id), None,
                     {**snapshot(record), "household": home.number, "note": note})
        for record, (home, _, _) in zip(cases, fresh, strict=True)])
    proposed = [case_row(record, home, as_of=as_of)
                for record, (home, _, _) in zip(cases, fresh, strict=True)]
    skipped = len(found) - len(fresh)
    return {"run": run.id, "proposed": proposed, "skipped_open": skipped}


@changes(Action.REPORT_SHOCK)
def record_shock(db: Session, *, principal: Principal, number: str, kind: ShockKind,
                 occurred_on: date, amount: object | None, description: str | None,
                 as_of: date, deadline_days: int) -> dict[str, Any]:
    """Record a shock (its loss in yuan and fen, if known); it opens a re-assessment case
    (or attaches to the open one)."""
    actor = principal.actor
    if occurred_on > as_of:
        raise RuleBroken(N_("a shock on {occurred} cannot be reported on {on}, before it "
                            "happened"), occurred=occurred_on.isoformat(), on=as_of.isoformat())
    loss = parse_optional_money(amount, field="amount")
    home = records.household(db, principal=principal, number=number, lock=True)
    record = db.scalars(select(MonitoringCaseRecord).where(
        MonitoringCaseRecord.household_id == home.id, MonitoringCaseRecord.state.in_(OPEN))
        .order_by(MonitoringCaseRecord.id.desc())).first()
    note = SHOCK_NOTE.format(kind=kind.value, on=occurred_on.isoformat())
    if record is None and home.status != HouseholdStatus.POOR.value:
        # a poor household is in the register already: its plan answers the shock
        opened = procedure.open_case(as_of=as_of, deadline_days=deadline_days)
        record = _new_case(home, MonitoringCategory.SUDDEN_HARDSHIP, [kind.value], "shock",
                           None, opened)
        apply(db, record, home, opened, on=as_of, actor=actor, action="monitor:propose",
              note=note)
    elif record is not None:
        db.add(MonitoringEventRecord(case_id=record.id, from_state=record.state,
                                     to_state=record.state, on=as_of, by=actor, note=note))
    shock = ShockEventRecord(
        household_id=home.id, kind=kind.value, occurred_on=occurred_on, reported_on=as_of,
        amount=float(loss) if loss is not None else None, description=description,
        reported_by=actor,
        case_id=record.id if record else None, reassess_by=as_of + timedelta(days=deadline_days))
    db.add(shock)
    flush(db)
    after = {"household": home.number, "kind": kind.value, "occurred_on": occurred_on,
             "amount": shock.amount, "case_id": shock.case_id,
             "reassess_by": shock.reassess_by}
    audit.record(db, actor=actor, action="shock", entity="shock_event",
                 entity_id=str(shock.id), after=after)
    return {"shock": shock.id, **after,
            "case": case_row(record, home, as_of=as_of) if record else None}


def _step_action(*, to: MonitoringState, **_: object) -> Action:
    return policy.monitoring_step(to)


@changes(_step_action)
def advance(db: Session, *, principal: Principal, case_id: int, to: MonitoringState, on: date,
            as_of: date, note: str | None, notice_days: int,
            expected_version: int | None = None) -> dict[str, Any]:
    """The next step of the procedure (or a rejection), dated ``on`` (not after ``as_of``,
    today, nor before the step it follows); each step is taken by its level (村申请、乡审核、
    县审定: the policy). Identified households are monitored."""
    actor = principal.actor
    record, home = load_case(db, case_id=case_id, scope=principal.scope,
                             expected_version=expected_version)
    moved = procedure.advance(domain_case(record, last_step_on(db, record.id)), to, on=on,
                              as_of=as_of, notice_days=notice_days, note=note)
    apply(db, record, home, moved, on=on, actor=actor, note=note,
          action=f"monitor:{moved.state.value}")
    if moved.state is MonitoringState.IDENTIFIED:
        set_status(db, home, HouseholdStatus.MONITORED, actor=actor)
    return case_row(record, home, as_of=on)


def _decided(db: Session, case_id: int | None = None) -> dict[int, date]:
    """When rejected cases (one, or all) were rejected; identification dates are on the case."""
    e = MonitoringEventRecord
    query = (select(e.case_id, func.max(e.on))
             .where(e.to_state == MonitoringState.REJECTED.value).group_by(e.case_id))
    if case_id is not None:
        query = query.where(e.case_id == case_id)
    return dict(db.execute(query).all())


def case_row(record: MonitoringCaseRecord, home: HouseholdRecord, *, as_of: date,
             decided_on: date | None = None) -> dict[str, Any]:
    """A case as plain data, with whether it is late on ``as_of``."""
    decided = record.identified_on or decided_on
    late = procedure.is_late(domain_case(record), as_of=as_of, decided_on=decided)
    open_for = (as_of if record.state in {s.value for s in procedure.PROCEDURE} else decided)
    return {"case": record.id, "number": home.number, "village_code": home.village_code,
            **snapshot(record), "late": late,
            "days_late": max(0, (open_for - record.deadline).days) if late and open_for
            else 0, "version": record.version}


@reads()
def list_cases(db: Session, *, principal: Principal, as_of: date, late_only: bool = False,
               state: MonitoringState | None = None, number: str | None = None,
               after: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Every monitoring case in scope (or of one household), optionally only one state or
    only the late ones; a page of ``limit`` cases after the case ``after`` (in id order)."""
    query = (select(MonitoringCaseRecord, HouseholdRecord)
             .join(HouseholdRecord, HouseholdRecord.id == MonitoringCaseRecord.household_id)
             .where(records.in_scope(principal.scope)))
    if number is not None:
        query = query.where(HouseholdRecord.number == number)
    if state is not None:
        query = query.where(MonitoringCaseRecord.state == state.value)
    if after is not None:
        query = query.where(MonitoringCaseRecord.id > after)
    found = db.execute(query.order_by(MonitoringCaseRecord.id).limit(limit)).all()
    decided = _decided(db) if any(c.state == MonitoringState.REJECTED for c, _ in found) else {}
    rows = [case_row(c, h, as_of=as_of, decided_on=decided.get(c.id)) for c, h in found]
    return [r for r in rows if r["late"]] if late_only else rows


@reads()
def show(db: Session, *, principal: Principal, case_id: int, as_of: date,
         lang: str | None = None) -> dict[str, Any]:
    """A case, its steps and the shocks attached to it; with ``lang``, tuopin's notes in it."""
    record, home = load_case(db, case_id=case_id, scope=principal.scope)
    events = db.scalars(select(MonitoringEventRecord).where(
        MonitoringEventRecord.case_id == record.id).order_by(MonitoringEventRecord.id)).all()
    shocks = db.scalars(select(ShockEventRecord).where(ShockEventRecord.case_id == record.id)
                        .order_by(ShockEventRecord.id)).all()
    decided = _decided(db, record.id).get(record.id)
    return {**case_row(record, home, as_of=as_of, decided_on=decided),
            "events": [{"on": e.on, "from": e.from_state, "to": e.to_state, "by": e.by,
                        "note": note_in(e.note, lang) if lang else e.note} for e in events],
            "shocks": [{"kind": s.kind, "occurred_on": s.occurred_on, "amount": s.amount,
                        "reported_on": s.reported_on, "reassess_by": s.reassess_by}
                       for s in shocks]}
