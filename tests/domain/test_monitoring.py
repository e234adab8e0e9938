"""The monitoring procedure, its deadline, risk clearance and the village notice."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from tuopin.domain import exit_criteria
from tuopin.domain import monitoring as m
from tuopin.domain.enums import MonitoringCategory
from tuopin.domain.enums import MonitoringState as S
from tuopin.domain.errors import RuleBroken, ValidationFailed
from tuopin.i18n import gettext

OPENED = date(2021, 3, 1)
TODAY = date(2021, 12, 31)  # the day every step is taken on (no step is dated after it)


def walk(*steps: tuple[S, date]) -> m.MonitoringCase:
    case = m.open_case(as_of=OPENED, deadline_days=15)
    for to, on in steps:
        case = m.advance(case, to, on=on, as_of=TODAY, notice_days=5, note="ok")
    return case


FULL = [(S.VISITED, date(2021, 3, 2)), (S.REVIEWED, date(2021, 3, 3)),
        (S.IN_NOTICE, date(2021, 3, 4)), (S.TOWNSHIP_REVIEWED, date(2021, 3, 9)),
        (S.IDENTIFIED, date(2021, 3, 12))]


def test_a_case_is_identified_through_every_step_within_its_deadline() -> None:
    case = walk(*FULL)
    assert case.state is S.IDENTIFIED and case.identified_on == date(2021, 3, 12)
    assert case.deadline == date(2021, 3, 16)
    assert (case.notice_start, case.notice_end) == (date(2021, 3, 4), date(2021, 3, 9))
    assert not m.is_late(case, as_of=date(2021, 4, 1), decided_on=case.identified_on)


def test_a_skipped_step_is_refused_naming_the_next_one() -> None:
    with pytest.raises(ValidationFailed, match="next step is 'visited'"):
        walk((S.REVIEWED, date(2021, 3, 2)))
    with pytest.raises(ValidationFailed, match="next step is 'in_notice'"):
        walk((S.VISITED, date(2021, 3, 2)), (S.REVIEWED, date(2021, 3, 2)),
             (S.TOWNSHIP_REVIEWED, date(2021, 3, 3)))


def test_the_notice_lasts_at_least_the_notice_days() -> None:
    with pytest.raises(ValidationFailed,
                       match=r"lasts until 2021-03-08 \(at least 5 days\).*from 2021-03-09"):
        walk(*FULL[:3], (S.TOWNSHIP_REVIEWED, date(2021, 3, 8)))


def test_a_rejection_needs_a_reason_and_ends_the_procedure() -> None:
    case = m.open_case(as_of=OPENED, deadline_days=15)
    with pytest.raises(ValidationFailed, match="reason"):
        m.advance(case, S.REJECTED, on=OPENED, as_of=TODAY, notice_days=5)
    rejected = m.advance(case, S.REJECTED, on=OPENED, as_of=TODAY, notice_days=5, note="不同意纳入")
    with pytest.raises(ValidationFailed, match="procedure is over"):
        m.advance(rejected, S.VISITED, on=OPENED, as_of=TODAY, notice_days=5)


def test_clearance_is_not_a_procedural_step() -> None:
    with pytest.raises(ValidationFailed, match="clear the case"):
        m.advance(walk(*FULL), S.CLEARED, on=date(2021, 12, 1), as_of=TODAY, notice_days=5)


def test_a_step_after_the_deadline_is_allowed_but_the_case_is_late() -> None:
    case = walk((S.VISITED, date(2021, 3, 20)))
    assert case.state is S.VISITED
    assert m.is_late(case, as_of=date(2021, 3, 20))
    assert not m.is_late(case, as_of=date(2021, 3, 16))
    identified = replace(case, state=S.IDENTIFIED, identified_on=date(2021, 3, 30))
    assert m.is_late(identified, as_of=date(2021, 5, 1), decided_on=date(2021, 3, 30))


def test_the_first_policy_category_wins() -> None:
    assert m.pick_category(["sudden_hardship", "edge"]) is MonitoringCategory.EDGE
    assert m.pick_category([""]) is None


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2021, 3, 12), 6, date(2021, 9, 12)),
    (date(2021, 8, 31), 6, date(2022, 2, 28)),
    (date(2021, 12, 1), 1, date(2022, 1, 1)),
])
def test_months_are_added_on_the_calendar(start: date, months: int, expected: date) -> None:
    assert m.add_months(start, months) == expected


GOOD = m.ClearanceFacts(income_per_capita=9000, monitoring_line=6000, delivered_measures=1,
                        able_bodied_members=1)
RULE = exit_criteria.clearance()


@pytest.mark.parametrize(("facts", "as_of", "unmet"), [
    (GOOD, date(2021, 9, 12), []),
    (replace(GOOD, able_bodied_members=0), date(2021, 9, 12), ["no able-bodied labour"]),
    (replace(GOOD, delivered_measures=0), date(2021, 9, 12), ["no assistance measure"]),
    (replace(GOOD, income_per_capita=5999), date(2021, 9, 12), ["still below the monitoring"]),
    (replace(GOOD, income_per_capita=None), date(2021, 9, 12), ["no income figure"]),
    (GOOD, date(2021, 9, 11), ["less than 6 months"]),
])
def test_clearance_names_every_unmet_condition(facts: m.ClearanceFacts, as_of: date,
                                               unmet: list[str]) -> None:
    case = walk(*FULL)
    problems = m.clearance_problems(case, facts, as_of=as_of, rule=RULE)
    assert len(problems) == len(unmet)
    assert all(want in got for want, got in zip(unmet, problems, strict=True))
    if unmet:
        with pytest.raises(ValidationFailed, match=unmet[0]):
            m.clear(case, facts, as_of=as_of, rule=RULE)
    else:
        assert m.clear(case, facts, as_of=as_of, rule=RULE).state is S.CLEARED


def test_only_an_identified_case_is_cleared() -> None:
    with pytest.raises(ValidationFailed, match="only an identified case"):
        m.clear(walk(*FULL[:2]), GOOD, as_of=date(2022, 1, 1), rule=RULE)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_notice_shows_only_name_size_category_and_dates(lang: str) -> None:
    facts = m.NoticeFacts(village="东关村", head_name="张三", household_size=4,
                          category_title="边缘易致贫户", notice_start=date(2021, 3, 4),
                          notice_end=date(2021, 3, 9))
    text = m.notice_text(facts, lang=lang)
    for shown in ("东关村", "张三", "4", "边缘易致贫户", "2021-03-04", "2021-03-08"):
        assert shown in text
    assert not re.search(r"\d{11,}", text)


def test_a_refused_clearance_lists_every_unmet_condition_in_the_readers_language() -> None:
    poor = replace(GOOD, income_per_capita=5999, able_bodied_members=0)
    with pytest.raises(RuleBroken) as caught:
        m.clear(walk(*FULL), poor, as_of=date(2021, 9, 12), rule=RULE)
    refusal = caught.value
    assert [p.msgid for p in refusal.problems] == [
        "income per capita {income} is still below the monitoring line {line}",
        "the household has no able-bodied labour: its risk is not cleared"]
    assert str(refusal) == ("risk not cleared: income per capita 5999 is still below the "
                            "monitoring line 6000; the household has no able-bodied labour: "
                            "its risk is not cleared")
    assert str(refusal) == refusal.translated("en")
    chinese = refusal.translated("zh")
    assert "；" in chinese and "; " not in chinese
    assert all(p.translated("zh") in chinese for p in refusal.problems)


def test_a_skipped_step_names_the_next_one_in_chinese() -> None:
    with pytest.raises(RuleBroken) as caught:
        m.advance(walk(), S.REVIEWED, on=OPENED, as_of=TODAY, notice_days=5)
    assert caught.value.values["next"] == "visited"
    assert gettext(S.VISITED.title, "zh") in caught.value.translated("zh")


def test_a_step_cannot_be_dated_after_today() -> None:
    with pytest.raises(RuleBroken, match="after today"):
        m.advance(walk(), S.VISITED, on=date(2022, 3, 1), as_of=date(2021, 3, 5),
                  notice_days=5)


def test_a_step_cannot_be_dated_before_the_step_it_follows() -> None:
    visited = walk((S.VISITED, date(2021, 3, 5)))
    with pytest.raises(RuleBroken, match="before the step it follows"):
        m.advance(visited, S.REVIEWED, on=date(2021, 3, 4), as_of=TODAY, notice_days=5)
    assert m.advance(visited, S.REVIEWED, on=date(2021, 3, 5), as_of=TODAY,
                     notice_days=5).last_step_on == date(2021, 3, 5)


def test_a_notice_dated_ahead_cannot_end_before_anyone_could_object() -> None:
    """The attack: a village notice started a year ahead is over, on paper, the day it is
    entered; it is refused, whatever the notice's length."""
    reviewed = walk((S.VISITED, date(2021, 3, 2)), (S.REVIEWED, date(2021, 3, 3)))
    with pytest.raises(RuleBroken):
        m.advance(reviewed, S.IN_NOTICE, on=date(2022, 3, 3), as_of=date(2021, 3, 3),
                  notice_days=5)
