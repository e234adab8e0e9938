"""The ledger's rules: every transition allowed or refused with a clear message; drafting."""

from __future__ import annotations

from datetime import date

import pytest

from tuopin.domain import ledger
from tuopin.domain.enums import MeasureKind, MeasureStatus, PlanStatus, PovertyCause
from tuopin.domain.ledger import MeasureFacts, Remeasure, RuleBroken

S = MeasureStatus
DAY = date(2020, 3, 1)


def facts(status: MeasureStatus, *, plan: PlanStatus = PlanStatus.APPROVED, evidence: int = 1,
          responsible: frozenset[str] = frozenset({"H001", "wang"})) -> MeasureFacts:
    return MeasureFacts(7, status, plan, evidence, responsible)


@pytest.mark.parametrize(("status", "allowed"), [
    (S.PLANNED, True), (S.IN_PROGRESS, False), (S.DONE, False), (S.VERIFIED, False),
    (S.CANCELLED, False),
])
def test_only_a_planned_measure_can_be_started(status: MeasureStatus, allowed: bool) -> None:
    if allowed:
        assert ledger.start(facts(status)) is S.IN_PROGRESS
    else:
        with pytest.raises(RuleBroken, match=f"Measure 7 is {status.value}: it cannot be "
                                             "moved to in_progress"):
            ledger.start(facts(status))


@pytest.mark.parametrize(("status", "allowed"), [
    (S.PLANNED, True), (S.IN_PROGRESS, True), (S.DONE, False), (S.VERIFIED, False),
    (S.CANCELLED, False),
])
def test_a_measure_still_owed_can_be_completed(status: MeasureStatus, allowed: bool) -> None:
    if allowed:
        assert ledger.complete(facts(status), completed_on=DAY, as_of=DAY) is S.DONE
    else:
        with pytest.raises(RuleBroken, match="cannot be moved to done"):
            ledger.complete(facts(status), completed_on=DAY, as_of=DAY)


@pytest.mark.parametrize(("evidence", "completed_on", "message"), [
    (0, DAY, "Measure 7 has no evidence"),
    (1, None, "Give the date measure 7 was completed"),
    (1, date(2020, 3, 2), "The completion date 2020-03-02 is later than 2020-03-01"),
])
def test_completing_needs_evidence_and_a_past_date(evidence: int, completed_on: date | None,
                                                    message: str) -> None:
    with pytest.raises(RuleBroken, match=message):
        ledger.complete(facts(S.IN_PROGRESS, evidence=evidence), completed_on=completed_on,
                        as_of=DAY)


@pytest.mark.parametrize("verifier", ["H001", "h001 ", "wang", "WANG"])
def test_the_responsible_helper_cannot_verify_their_own_measure(verifier: str) -> None:
    with pytest.raises(RuleBroken, match="is responsible for measure 7 and cannot verify it"):
        ledger.verify(facts(S.DONE), verifier=verifier)


@pytest.mark.parametrize("verifier", [None, "", "  "])
def test_verifying_names_a_verifier(verifier: str | None) -> None:
    with pytest.raises(RuleBroken, match="Name the verifier"):
        ledger.verify(facts(S.DONE), verifier=verifier)


@pytest.mark.parametrize("status", [S.PLANNED, S.IN_PROGRESS, S.VERIFIED, S.CANCELLED])
def test_only_a_done_measure_can_be_verified(status: MeasureStatus) -> None:
    with pytest.raises(RuleBroken, match="cannot be moved to verified"):
        ledger.verify(facts(status), verifier="H002")


def test_another_person_checks_a_done_measure_off() -> None:
    assert ledger.verify(facts(S.DONE), verifier="H002") is S.VERIFIED


@pytest.mark.parametrize(("status", "allowed"), [
    (S.PLANNED, True), (S.IN_PROGRESS, True), (S.DONE, True), (S.VERIFIED, False),
    (S.CANCELLED, False),
])
def test_any_measure_not_verified_can_be_cancelled_with_a_reason(status: MeasureStatus,
                                                                  allowed: bool) -> None:
    if allowed:
        assert ledger.cancel(facts(status), reason="moved away") is S.CANCELLED
        with pytest.raises(RuleBroken, match="Give the reason for cancelling measure 7"):
            ledger.cancel(facts(status), reason="  ")
    else:
        with pytest.raises(RuleBroken, match="cannot be moved to cancelled"):
            ledger.cancel(facts(status), reason="moved away")


@pytest.mark.parametrize("step", [ledger.start, ledger.attach_evidence])
def test_measures_of_a_draft_plan_are_not_carried_out(step: object) -> None:
    assert callable(step)
    with pytest.raises(RuleBroken, match="not approved yet"):
        step(facts(S.PLANNED, plan=PlanStatus.DRAFT))


def test_a_refusal_carries_its_msgid_and_values_for_translation() -> None:
    with pytest.raises(RuleBroken) as caught:
        ledger.cancel(facts(S.PLANNED), reason=None)
    assert caught.value.msgid == "Give the reason for cancelling measure {measure}."
    assert caught.value.values == {"measure": 7}


def test_revising_an_approved_plan_needs_a_reason_but_a_draft_does_not() -> None:
    ledger.revise(facts(S.PLANNED, plan=PlanStatus.DRAFT), reason=None)
    ledger.revise(facts(S.PLANNED), reason="road washed out")
    with pytest.raises(RuleBroken, match="A change to an approved plan needs a reason"):
        ledger.revise(facts(S.PLANNED), reason=" ")
    with pytest.raises(RuleBroken, match="is verified and can no longer be changed"):
        ledger.revise(facts(S.VERIFIED), reason="why not")


def test_a_plan_is_approved_once_and_only_with_a_measure() -> None:
    assert ledger.approve(PlanStatus.DRAFT, live_measures=1) is PlanStatus.APPROVED
    with pytest.raises(RuleBroken, match="at least one measure"):
        ledger.approve(PlanStatus.DRAFT, live_measures=0)
    with pytest.raises(RuleBroken, match="already approved"):
        ledger.approve(PlanStatus.APPROVED, live_measures=3)


@pytest.mark.parametrize(("status", "still", "outcome"), [
    (S.DONE, False, Remeasure.CONFIRMED), (S.VERIFIED, False, Remeasure.CONFIRMED),
    (S.VERIFIED, True, Remeasure.REVIEW), (S.DONE, True, None),
    (S.PLANNED, False, None), (S.CANCELLED, True, None),
])
def test_a_later_run_confirms_a_measure_or_flags_a_verified_one(
    status: MeasureStatus, still: bool, outcome: Remeasure | None
) -> None:
    assert ledger.remeasured(status, still_deprived=still) is outcome


@pytest.mark.parametrize(("status", "due", "days"), [
    (S.PLANNED, date(2020, 2, 20), 10), (S.IN_PROGRESS, date(2020, 2, 29), 1),
    (S.PLANNED, DAY, 0), (S.PLANNED, date(2020, 4, 1), 0), (S.DONE, date(2020, 1, 1), 0),
    (S.CANCELLED, date(2020, 1, 1), 0),
])
def test_days_overdue_count_only_measures_still_owed(status: MeasureStatus, due: date,
                                                     days: int) -> None:
    assert ledger.days_overdue(status, due, DAY) == days


def test_causes_are_read_main_first_without_repeats() -> None:
    assert ledger.causes_of("illness", "skills;illness; capital") == [
        PovertyCause.ILLNESS, PovertyCause.SKILLS, PovertyCause.CAPITAL]
    assert ledger.causes_of(None, None) == []


def kinds(measures: list[ledger.DraftMeasure]) -> dict[MeasureKind, tuple[tuple[str, ...],
                                                                         PovertyCause | None]]:
    return {m.kind: (m.indicators, m.cause) for m in measures}


def test_indicators_answered_by_one_kind_share_one_measure() -> None:
    drafted = ledger.draft_measures(["food", "clothing", "housing"], [])
    assert kinds(drafted) == {MeasureKind.SAFETY_NET: (("food", "clothing"), None),
                              MeasureKind.HOUSING: (("housing",), None)}


def test_a_cause_answered_by_a_chosen_kind_adds_no_measure() -> None:
    drafted = ledger.draft_measures(["income"], [PovertyCause.CAPITAL, PovertyCause.ILLNESS])
    assert kinds(drafted) == {MeasureKind.INDUSTRY: (("income",), PovertyCause.CAPITAL),
                              MeasureKind.HEALTH: ((), PovertyCause.ILLNESS)}


def test_the_indicator_field_keeps_whole_ids_that_fit() -> None:
    (water,) = ledger.draft_measures(["water_quantity", "water_guarantee", "water_quality"], [])
    assert water.indicator_text(32) == "water_quantity;water_guarantee"
    assert water.indicator_text(200) == "water_quantity;water_guarantee;water_quality"
    assert ledger.draft_measures([], [PovertyCause.OTHER])[0].indicator_text(32) is None


@pytest.mark.parametrize(("completed_on", "refused"), [
    (date(2020, 3, 31), True), (date(2020, 4, 1), False), (date(2020, 5, 1), False)])
def test_a_measure_cannot_be_completed_before_its_plan_was_approved(completed_on: date,
                                                                    refused: bool) -> None:
    known = MeasureFacts(7, MeasureStatus.IN_PROGRESS, PlanStatus.APPROVED, evidence=1,
                         approved_on=date(2020, 4, 1))
    if refused:
        with pytest.raises(RuleBroken, match="before the plan was approved"):
            ledger.complete(known, completed_on=completed_on, as_of=date(2020, 6, 1))
    else:
        assert ledger.complete(known, completed_on=completed_on,
                               as_of=date(2020, 6, 1)) is MeasureStatus.DONE
