"""The 对账销号 ledger's rules: what a measure may do next, and what a draft plan contains.

Pure functions over plain facts; services load the facts, ask these rules, and only then
change anything, so a refused step leaves the database untouched. Every refusal is a
``RuleBroken`` carrying an English msgid and its values, so a UI can show it in zh or en.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from tuopin.domain.enums import MeasureKind, MeasureStatus, PlanStatus, PovertyCause
from tuopin.domain.errors import RuleBroken
from tuopin.domain.measures import CatalogueEntry, entry, for_cause, for_indicator
from tuopin.i18n import N_

S = MeasureStatus
OPEN = frozenset({S.PLANNED, S.IN_PROGRESS})  # still owed: these can fall overdue
FINAL = frozenset({S.VERIFIED, S.CANCELLED})  # checked off or dropped: nothing changes them


NOT_APPROVED = N_("Measure {measure} belongs to a plan that is not approved yet: approve the "
                  "plan before its measures are carried out.")


class Step(StrEnum):
    """What can be done to a measure once its plan is approved."""

    START = "start"
    COMPLETE = "complete"
    VERIFY = "verify"
    CANCEL = "cancel"


# step -> (the statuses it may start from, the status it leads to). A measure delivered in
# one go (an insurance enrolment) may be completed without being started first.
TRANSITIONS: dict[Step, tuple[frozenset[MeasureStatus], MeasureStatus]] = {
    Step.START: (frozenset({S.PLANNED}), S.IN_PROGRESS),
    Step.COMPLETE: (OPEN, S.DONE),
    Step.VERIFY: (frozenset({S.DONE}), S.VERIFIED),
    Step.CANCEL: (frozenset({S.PLANNED, S.IN_PROGRESS, S.DONE}), S.CANCELLED),
}


class Remeasure(StrEnum):
    """What a later assessment run says about a measure's indicator."""

    CONFIRMED = "confirmed"  # the indicator is met now
    REVIEW = "review"  # verified, yet the household still fails it


@dataclass(frozen=True)
class MeasureFacts:
    """What the rules look at: a measure's status, its plan's, its evidence and owner."""

    measure_id: int
    status: MeasureStatus
    plan_status: PlanStatus
    evidence: int = 0
    # who is responsible: the helper's number and the usernames of that helper's accounts
    responsible: frozenset[str] = field(default_factory=frozenset)
    approved_on: date | None = None  # the plan's approval: no step of a measure before it


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _step(facts: MeasureFacts, step: Step) -> MeasureStatus:
    sources, target = TRANSITIONS[step]
    if step is not Step.CANCEL and facts.plan_status is not PlanStatus.APPROVED:
        raise RuleBroken(NOT_APPROVED, measure=facts.measure_id)
    if facts.status not in sources:
        raise RuleBroken(N_("Measure {measure} is {status}: it cannot be moved to {target}."),
                         measure=facts.measure_id, status=facts.status.value,
                         target=target.value)
    return target


def start(facts: MeasureFacts) -> MeasureStatus:
    """Planned → in progress."""
    return _step(facts, Step.START)


def complete(facts: MeasureFacts, *, completed_on: date | None, as_of: date) -> MeasureStatus:
    """→ done: needs at least one evidence file and a completion date that has passed."""
    target = _step(facts, Step.COMPLETE)
    if facts.evidence < 1:
        raise RuleBroken(N_("Measure {measure} has no evidence: attach at least one photo or "
                            "PDF before marking it done."), measure=facts.measure_id)
    if completed_on is None:
        raise RuleBroken(N_("Give the date measure {measure} was completed."),
                         measure=facts.measure_id)
    if completed_on > as_of:
        raise RuleBroken(N_("The completion date {on} is later than {as_of}."),
                         on=completed_on.isoformat(), as_of=as_of.isoformat())
    if facts.approved_on is not None and completed_on < facts.approved_on:
        raise RuleBroken(N_("The completion date {on} is before the plan was approved "
                            "({approved})."), on=completed_on.isoformat(),
                         approved=facts.approved_on.isoformat())
    return target


def verify(facts: MeasureFacts, *, verifier: str | None) -> MeasureStatus:
    """Done → verified (对账销号), by someone who is not the responsible helper."""
    target = _step(facts, Step.VERIFY)
    if verifier is None or _blank(verifier):
        raise RuleBroken(N_("Name the verifier who checks measure {measure} off."),
                         measure=facts.measure_id)
    if verifier.strip().casefold() in {r.casefold() for r in facts.responsible}:
        raise RuleBroken(N_("{verifier} is responsible for measure {measure} and cannot "
                            "verify it: another person must check it off."),
                         verifier=verifier.strip(), measure=facts.measure_id)
    return target


def cancel(facts: MeasureFacts, *, reason: str | None) -> MeasureStatus:
    """Any status but verified or cancelled → cancelled, with a reason."""
    target = _step(facts, Step.CANCEL)
    if _blank(reason):
        raise RuleBroken(N_("Give the reason for cancelling measure {measure}."),
                         measure=facts.measure_id)
    return target


def _not_final(facts: MeasureFacts) -> None:
    if facts.status in FINAL:
        raise RuleBroken(N_("Measure {measure} is {status} and can no longer be changed."),
                         measure=facts.measure_id, status=facts.status.value)


def revise(facts: MeasureFacts, *, reason: str | None) -> None:
    """Editing a measure: free on a draft; on an approved plan a revision with a reason."""
    _not_final(facts)
    if facts.plan_status is PlanStatus.APPROVED:
        need_reason(reason)


def need_reason(reason: str | None) -> None:
    """Every change to an approved plan (动态调整) says why."""
    if _blank(reason):
        raise RuleBroken(N_("A change to an approved plan needs a reason."))


def attach_evidence(facts: MeasureFacts) -> None:
    """Evidence goes to a measure of an approved plan that is not yet checked off."""
    if facts.plan_status is not PlanStatus.APPROVED:
        raise RuleBroken(NOT_APPROVED, measure=facts.measure_id)
    _not_final(facts)


def record_delay(facts: MeasureFacts, *, reason: str | None) -> None:
    """查明原因: the reason a measure is late, on a measure still owed or just done."""
    _not_final(facts)
    if _blank(reason):
        raise RuleBroken(N_("Give the reason measure {measure} is late."),
                         measure=facts.measure_id)


def approve(status: PlanStatus, *, live_measures: int) -> PlanStatus:
    """Draft → approved, with at least one measure that is not cancelled."""
    if status is PlanStatus.APPROVED:
        raise RuleBroken(N_("The plan is already approved."))
    if live_measures < 1:
        raise RuleBroken(N_("A plan needs at least one measure before it is approved."))
    return PlanStatus.APPROVED


def remeasured(status: MeasureStatus, *, still_deprived: bool) -> Remeasure | None:
    """A later run's verdict on a done or verified measure, or None when it says nothing."""
    if status not in (S.DONE, S.VERIFIED):
        return None
    if not still_deprived:
        return Remeasure.CONFIRMED
    return Remeasure.REVIEW if status is S.VERIFIED else None


def days_overdue(status: MeasureStatus, due: date, as_of: date) -> int:
    """Days past the due date of a measure still owed; 0 when it is not overdue."""
    if status not in OPEN:
        return 0
    return max((as_of - due).days, 0)


# -- drafting: which measures answer a household's failings --------------------------------


@dataclass(frozen=True)
class DraftMeasure:
    """One measure of a drafted plan: a catalogue kind and what it answers."""

    entry: CatalogueEntry
    indicators: tuple[str, ...]
    cause: PovertyCause | None

    @property
    def kind(self) -> MeasureKind:
        """The catalogue kind of this measure."""
        return self.entry.kind

    def indicator_text(self, width: int) -> str | None:
        """The answered indicator ids joined by ';', as many whole ids as ``width`` holds."""
        text = ""
        for indicator in self.indicators:
            joined = f"{text};{indicator}" if text else indicator
            if len(joined) > width:
                break
            text = joined
        return text or None


def causes_of(main: str | None, others: str | None) -> list[PovertyCause]:
    """The recorded causes of poverty, main first, without repeats."""
    values = [main or "", *(others or "").split(";")]
    found = [PovertyCause.of(v.strip()) for v in values if v.strip()]
    return list(dict.fromkeys(found))


def draft_measures(deprived: Sequence[str],
                   causes: Sequence[PovertyCause]) -> list[DraftMeasure]:
    """One measure per catalogue kind answering every failed indicator, then every cause.

    A cause is answered already when a chosen kind lists it; it is then recorded on that
    measure (if it has no cause yet) instead of adding another measure.
    """
    indicators: dict[MeasureKind, list[str]] = {}
    for indicator in deprived:
        found = for_indicator(indicator)
        if found is not None:
            indicators.setdefault(found.kind, []).append(indicator)
    cause_of: dict[MeasureKind, PovertyCause] = {}
    for cause in causes:
        answering = next((k for k in indicators if cause in entry(k).causes), None)
        if answering is None:
            found = for_cause(cause)
            if found is None:
                continue
            answering = found.kind
            indicators.setdefault(answering, [])
        cause_of.setdefault(answering, cause)
    return [DraftMeasure(entry(kind), tuple(ids), cause_of.get(kind))
            for kind, ids in indicators.items()]
