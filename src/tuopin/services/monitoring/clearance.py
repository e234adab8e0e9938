"""Risk clearance (风险消除) of a monitored household, and the village notice of a case.

Clearance gathers the facts the domain judges: the latest monitoring assessment's income and
line, the household's delivered measures (the ledger's measures done or verified, read only)
and its living able-bodied members; the conditions are in data/exit_criteria.toml. The notice
is built from the few fields domain.monitoring.NoticeFacts allows, so no ID, phone, bank or
health data can reach it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tuopin.domain import exit_criteria
from tuopin.domain import monitoring as procedure
from tuopin.domain.enums import (
    HouseholdStatus,
    MeasureStatus,
    MonitoringCategory,
    MonitoringState,
    Relation,
)
from tuopin.domain.errors import Message, RuleBroken
from tuopin.domain.exit_criteria import lookup
from tuopin.i18n import N_
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.assessment.runs import run_standard
from tuopin.services.monitoring.cases import (
    CLEARANCE_NOTE,
    DEFAULT_STANDARD,
    apply,
    case_row,
    domain_case,
    load_case,
    set_status,
)
from tuopin.standards.loader import load
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    HouseholdRecord,
    MeasureRecord,
    MemberRecord,
    MonitoringCaseRecord,
    PlanRecord,
    RegionRecord,
)

DELIVERED = (MeasureStatus.DONE.value, MeasureStatus.VERIFIED.value)


def _income(db: Session, household_id: int, standard: str) -> tuple[float | None, float | None]:
    """The household's income and the line in the newest run of ``standard`` that has it."""
    r, run = AssessmentResultRecord, AssessmentRunRecord
    found = db.execute(select(r.income_per_capita, run).join(run, run.id == r.run_id)
                       .where(r.household_id == household_id, run.standard_name == standard)
                       .order_by(run.year.desc(), run.id.desc()).limit(1)).first()
    if found is None:
        return None, None
    income, latest = found
    return income, run_standard(latest).income_line(latest.year).amount


def _living(household_id: int, as_of: date) -> Any:
    return (MemberRecord.household_id == household_id) & or_(
        MemberRecord.deceased_date.is_(None), MemberRecord.deceased_date > as_of)


def clearance_facts(db: Session, home: HouseholdRecord, *, as_of: date,
                    standard: str = DEFAULT_STANDARD) -> procedure.ClearanceFacts:
    """What clearance is judged on, for one household on ``as_of``."""
    rule = exit_criteria.clearance()
    income, line = _income(db, home.id, standard)
    delivered = db.scalar(select(func.count()).select_from(MeasureRecord)
                          .join(PlanRecord, PlanRecord.id == MeasureRecord.plan_id)
                          .where(PlanRecord.household_id == home.id,
                                 MeasureRecord.status.in_(DELIVERED)))
    able = db.scalar(select(func.count()).select_from(MemberRecord).where(
        _living(home.id, as_of),
        MemberRecord.labour.in_([labour.value for labour in rule.able_bodied_labour])))
    return procedure.ClearanceFacts(income_per_capita=income, monitoring_line=line,
                                    delivered_measures=int(delivered or 0),
                                    able_bodied_members=int(able or 0))


@changes(Action.CLEAR_RISK)
def clear(db: Session, *, principal: Principal, case_id: int, as_of: date,
          standard: str = DEFAULT_STANDARD,
          expected_version: int | None = None) -> dict[str, Any]:
    """风险消除: close an identified case when every condition holds; else say which fails."""
    actor = principal.actor
    record, home = load_case(db, case_id=case_id, scope=principal.scope,
                             expected_version=expected_version)
    facts = clearance_facts(db, home, as_of=as_of, standard=standard)
    cleared = procedure.clear(domain_case(record), facts, as_of=as_of,
                              rule=exit_criteria.clearance())
    apply(db, record, home, cleared, on=as_of, actor=actor, action="monitor:cleared",
          note=CLEARANCE_NOTE.format(income=f"{facts.income_per_capita:g}",
                                     line=f"{facts.monitoring_line:g}",
                                     measures=facts.delivered_measures))
    # back to what it was before monitoring: exited if it once exited, else an ordinary one
    set_status(db, home, HouseholdStatus.EXITED if home.year_exited is not None
               else HouseholdStatus.ORDINARY, actor=actor)
    return case_row(record, home, as_of=as_of)


def _category_title(db: Session, record: MonitoringCaseRecord, lang: str) -> str:
    run = db.get(AssessmentRunRecord, record.run_id) if record.run_id else None
    standard = run_standard(run) if run else load(DEFAULT_STANDARD)
    for category in standard.categories:
        if category.id == record.category:
            return category.title.get(lang)
    return lookup(MonitoringCategory, record.category).title


def notice_facts(db: Session, record: MonitoringCaseRecord, home: HouseholdRecord, *,
                 lang: str) -> procedure.NoticeFacts:
    """The only facts a village notice shows."""
    if record.notice_start is None or record.notice_end is None:
        raise RuleBroken(N_("monitoring case {case} has no village notice yet: advance it to "
                            "'{state}' ({title}) first"), case=record.id,
                         state=MonitoringState.IN_NOTICE.value,
                         title=Message(MonitoringState.IN_NOTICE.title))
    village = db.get(RegionRecord, home.village_code)
    living = _living(home.id, record.notice_start)
    head = db.scalars(select(MemberRecord.name).where(
        living, MemberRecord.relation == Relation.HEAD.value)).first()
    size = db.scalar(select(func.count()).select_from(MemberRecord).where(living))
    return procedure.NoticeFacts(
        village=village.name if village else home.village_code, head_name=head or "-",
        household_size=int(size or 0), category_title=_category_title(db, record, lang),
        notice_start=record.notice_start, notice_end=record.notice_end)


@reads()
def notice(db: Session, *, principal: Principal, case_id: int, lang: str = "zh") -> str:
    """The text of a case's village notice (公示), free of ID, phone, bank and health data."""
    record, home = load_case(db, case_id=case_id, scope=principal.scope)
    return procedure.notice_text(notice_facts(db, record, home, lang=lang), lang=lang)
