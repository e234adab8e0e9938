"""Exit thresholds are data with their sources; each figure passes, fails or is pending."""

from __future__ import annotations

import pytest

from tuopin.domain import exit_criteria as ec
from tuopin.domain.enums import Labour
from tuopin.domain.exit_criteria import ExitLevel, Outcome


def criterion(ident: str) -> ec.Criterion:
    return next(c for c in ec.all_criteria() if c.id == ident)


@pytest.mark.parametrize(("ident", "figure", "western", "expected"), [
    ("incidence", 0.019, False, Outcome.PASS),
    ("incidence", 0.02, False, Outcome.FAIL),  # "below 2 %": 2 % itself fails
    ("incidence", 0.025, False, Outcome.FAIL),
    ("incidence", 0.025, True, Outcome.PASS),  # 3 % in the western region
    ("incidence", 0.03, True, Outcome.FAIL),
    ("wrong_exit_rate", 0.019, True, Outcome.PASS),
    ("wrong_exit_rate", 0.025, True, Outcome.FAIL),  # no western allowance
    ("missed_rate", 0.021, False, Outcome.FAIL),
    ("approval_rate", 0.90, False, Outcome.FAIL),  # "above 90 %"
    ("approval_rate", 0.93, False, Outcome.PASS),
    ("approval_rate", None, False, Outcome.PENDING),
    ("incidence", None, True, Outcome.PENDING),
])
def test_a_figure_is_judged_against_its_threshold(ident: str, figure: float | None,
                                                   western: bool, expected: Outcome) -> None:
    assert criterion(ident).judge(figure, western=western) is expected


def test_villages_are_judged_on_incidence_and_counties_on_three_rates_and_one_degree() -> None:
    assert [c.id for c in ec.criteria(ExitLevel.VILLAGE)] == ["incidence"]
    assert [c.id for c in ec.criteria(ExitLevel.COUNTY)] == [
        "incidence", "wrong_exit_rate", "missed_rate", "approval_rate"]
    assert all(c.veto for c in ec.all_criteria())


def test_every_threshold_names_its_source() -> None:
    assert "厅字〔2016〕16号" in criterion("incidence").source
    for ident in ("wrong_exit_rate", "missed_rate", "approval_rate"):
        assert "国开办发〔2017〕56号" in criterion(ident).source
    assert "中农组发〔2021〕7号" in ec.clearance().source


def test_thresholds_read_as_people_write_them() -> None:
    assert criterion("incidence").describe(western=False) == "< 2%"
    assert criterion("incidence").describe(western=True) == "< 3%"
    assert criterion("approval_rate").describe(western=True) == "> 90%"


@pytest.mark.parametrize(("outcomes", "expected"), [
    ([Outcome.PASS, Outcome.PASS], Outcome.PASS),
    ([Outcome.PASS, Outcome.PENDING], Outcome.PENDING),
    ([Outcome.PENDING, Outcome.FAIL], Outcome.FAIL),  # one veto decides alone
])
def test_the_verdict_fails_on_any_veto_and_waits_for_pending_ones(
    outcomes: list[Outcome], expected: Outcome,
) -> None:
    judged = list(zip(ec.criteria(ExitLevel.COUNTY), outcomes, strict=False))
    assert ec.verdict(judged) is expected


def test_clearance_conditions_come_from_the_file() -> None:
    rule = ec.clearance()
    assert (rule.min_months_stable, rule.min_measures_delivered) == (6, 1)
    assert rule.able_bodied_labour == {Labour.SKILLED, Labour.ORDINARY}
