"""The household exit state machine: every step, and every refusal with its reason."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tuopin.domain import exit_workflow as wf
from tuopin.domain.enums import ExitState, HouseholdStatus
from tuopin.domain.errors import RuleBroken, ValidationFailed
from tuopin.i18n import gettext

DAY = date(2020, 3, 2)


def proposed(**changes: Any) -> wf.ExitCase:
    values: dict[str, Any] = {
        "as_of": DAY, "minutes": "村民主评议会议记录 2020-03-01", "status": HouseholdStatus.POOR,
        "poor_in_run": False, "failed": [], "year_identified": 2016,
        "allow_identification_year": False, **changes}
    return wf.propose(wf.ExitCase(), **values)


def in_notice() -> wf.ExitCase:
    return wf.start_notice(proposed(), start=date(2020, 3, 5), notice_days=7,
                           as_of=date(2020, 12, 31))


def test_a_household_goes_from_proposal_through_notice_to_exit() -> None:
    case = proposed()
    assert (case.state, case.opened_on) == (ExitState.PRE_EXIT, DAY)
    case = wf.start_notice(case, start=date(2020, 3, 5), notice_days=7,
                           as_of=date(2020, 12, 31))
    assert (case.state, case.notice_end) == (ExitState.IN_NOTICE, date(2020, 3, 12))
    case = wf.announce(case, as_of=date(2020, 3, 12), year_identified=2016,
                       allow_identification_year=False)
    assert (case.state, case.exited_on) == (ExitState.EXITED, date(2020, 3, 12))


def test_a_household_poor_in_the_run_is_refused_naming_its_failed_indicators() -> None:
    with pytest.raises(ValidationFailed, match="still poor.*income, housing") as caught:
        proposed(poor_in_run=True, failed=["income", "housing"])
    assert caught.value.problems == ["income", "housing"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"status": HouseholdStatus.ORDINARY}, "only a registered poor household"),
    ({"status": HouseholdStatus.EXITED}, "only a registered poor household"),
    ({"minutes": "  "}, "minutes"),
    ({"year_identified": 2020}, "no exit in the year of identification"),
])
def test_a_proposal_is_refused_with_its_reason(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        proposed(**changes)


def test_the_identification_year_rule_is_a_setting() -> None:
    assert proposed(year_identified=2020, allow_identification_year=True).state \
        is ExitState.PRE_EXIT


def test_the_exit_is_announced_only_once_the_notice_has_ended() -> None:
    with pytest.raises(ValidationFailed,
                       match="lasts until 2020-03-11: the exit can be announced from 2020-03-12"):
        wf.announce(in_notice(), as_of=date(2020, 3, 11), year_identified=2016,
                    allow_identification_year=False)


def test_an_announcement_in_the_year_of_identification_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="identified in 2020"):
        wf.announce(in_notice(), as_of=date(2020, 3, 20), year_identified=2020,
                    allow_identification_year=False)


@pytest.mark.parametrize(("step", "message"), [
    (lambda: wf.start_notice(wf.ExitCase(), start=DAY, notice_days=7,
                           as_of=date(2020, 12, 31)),
     "cannot start the notice: the case is 'not_exited'.*needs a case in 'pre_exit'"),
    (lambda: wf.announce(proposed(), as_of=date(2020, 5, 1), year_identified=2016,
                         allow_identification_year=False),
     "cannot announce the exit: the case is 'pre_exit'.*needs a case in 'in_notice'"),
    (lambda: wf.object_to(proposed(), as_of=DAY, reason="x"), "needs a case in 'in_notice'"),
    (lambda: wf.mark_returned(proposed()), "needs a case in 'exited'"),
    (lambda: wf.propose(proposed(), as_of=DAY, minutes="m", status=HouseholdStatus.POOR,
                        poor_in_run=False, failed=[], year_identified=None,
                        allow_identification_year=False), "cannot propose an exit"),
])
def test_a_skipped_or_repeated_step_is_refused(step: Any, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        step()


def test_the_notice_cannot_start_before_the_proposal() -> None:
    with pytest.raises(ValidationFailed, match="before the proposal"):
        wf.start_notice(proposed(), start=date(2020, 3, 1), notice_days=7,
                           as_of=date(2020, 12, 31))


def test_an_objection_during_the_notice_sends_the_case_back_with_its_reason_required() -> None:
    case = wf.object_to(in_notice(), as_of=date(2020, 3, 8), reason="家中新增大病患者")
    assert case.state is ExitState.NOT_EXITED and case.notice_start is None
    with pytest.raises(ValidationFailed, match="reason"):
        wf.object_to(in_notice(), as_of=date(2020, 3, 8), reason="")
    with pytest.raises(ValidationFailed, match="the notice starts on 2020-03-05"):
        wf.object_to(in_notice(), as_of=date(2020, 3, 4), reason="too early")


def test_a_returned_household_can_be_proposed_again() -> None:
    exited = wf.announce(in_notice(), as_of=date(2020, 4, 1), year_identified=2016,
                         allow_identification_year=False)
    returned = wf.mark_returned(exited)
    assert returned.state is ExitState.RETURNED
    again = wf.propose(returned, as_of=date(2022, 3, 1), minutes="m", status=HouseholdStatus.POOR,
                       poor_in_run=False, failed=[], year_identified=2016,
                       allow_identification_year=False)
    assert again.state is ExitState.PRE_EXIT and again.exited_on is None


def test_a_refusal_carries_its_msgid_and_reads_with_the_states_in_chinese() -> None:
    with pytest.raises(RuleBroken) as caught:
        wf.announce(proposed(), as_of=date(2020, 5, 1), year_identified=2016,
                    allow_identification_year=False)
    refusal = caught.value
    assert refusal.msgid.startswith("cannot {action}: the case is '{state}'")
    assert refusal.values["state"] == "pre_exit"
    assert str(refusal) == refusal.translated("en")
    assert "proposed for exit" in str(refusal) and "in public notice" in str(refusal)
    chinese = refusal.translated("zh")
    assert gettext("proposed for exit", "zh") in chinese
    assert gettext("in public notice", "zh") in chinese
    assert gettext("announce the exit", "zh") in chinese


def test_the_failed_indicators_are_listed_in_the_readers_language() -> None:
    with pytest.raises(RuleBroken) as caught:
        proposed(poor_in_run=True, failed=[])
    assert str(caught.value).endswith("it fails the standard")
    assert caught.value.translated("zh").endswith(gettext("the standard", "zh"))


def test_a_notice_cannot_start_after_today() -> None:
    """The attack: a notice started a year ahead would be over before anyone could object,
    and would freeze the case (no objection before a notice starts)."""
    with pytest.raises(RuleBroken, match="after today"):
        wf.start_notice(proposed(), start=date(2021, 3, 5), notice_days=7,
                        as_of=date(2020, 3, 5))
    started = wf.start_notice(proposed(), start=date(2020, 3, 5), notice_days=7,
                              as_of=date(2020, 3, 5))
    assert started.notice_start == date(2020, 3, 5)
