"""The synthetic register agrees with the shipped standard's verdicts on the households' own
surveys, year by year, except for the errors planted on purpose and listed as the truth; and
its incidence follows a real poor county's path, from high in 2014 to nearly nothing in 2020.

Every survey year is assessed by the real assessment query (on DuckDB), so a change of the
standard or of the assessment that breaks the agreement fails here.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from tuopin.synth.paths import Truth

from .conftest import CAMPAIGN
from .verdicts import Verdicts, assess

FIRST, LAST = CAMPAIGN.years[0], CAMPAIGN.years[-1]


@pytest.fixture(scope="module")
def verdicts() -> Verdicts:
    return assess(CAMPAIGN)


def _numbers(verdicts: Verdicts, mask: np.ndarray) -> set[str]:
    return set(np.array(verdicts.households["number"].to_pylist())[mask])


def _incidence(poor: np.ndarray, people: np.ndarray) -> float:
    """Poor people ÷ people, as the dashboard counts them."""
    return float((poor * people).sum() / people.sum())


def test_the_register_agrees_with_the_standard_every_year_except_the_planted_truth(
    verdicts: Verdicts,
) -> None:
    planted = {number for number, _ in verdicts.truth}
    disagreeing: set[str] = set()
    for year in CAMPAIGN.years:
        disagree = verdicts.poor[year] != verdicts.registered_poor(year)
        disagreeing |= _numbers(verdicts, disagree)
    assert planted and disagreeing == planted


@pytest.mark.parametrize(("error", "status"), [(Truth.WRONGLY_EXITED, "exited"),
                                               (Truth.MISSED_POOR, "ordinary")])
def test_each_planted_error_is_judged_poor_on_its_latest_survey(
    verdicts: Verdicts, error: Truth, status: str,
) -> None:
    statuses = np.array(verdicts.households["status"].to_pylist())
    mine = {number for number, label in verdicts.truth if label == error.label}
    assert mine == _numbers(verdicts, verdicts.poor[LAST] & (statuses == status))


def test_an_exit_is_recorded_in_the_year_the_surveys_stop_being_judged_poor(
    verdicts: Verdicts,
) -> None:
    h = verdicts.households
    exited = h["year_exited"].fill_null(0).to_numpy()
    planted = [number for number, _ in verdicts.truth]
    correct = ~np.isin(np.array(h["number"].to_pylist()), planted)
    checked = 0
    for year in CAMPAIGN.years[1:]:
        leaving = correct & (exited == year)
        assert verdicts.poor[year - 1][leaving].all() and not verdicts.poor[year][leaving].any()
        checked += int(leaving.sum())
    assert checked > 0.1 * h.num_rows


def test_the_planted_rates_are_met_in_every_county(verdicts: Verdicts) -> None:
    h = verdicts.households
    county = np.array([code[:6] for code in h["village_code"].to_pylist()])
    statuses = np.array(h["status"].to_pylist())
    planted = Counter((number[:6], label) for number, label in verdicts.truth)
    assert len(set(county)) > 1
    for code in set(county):
        exited = int(((county == code) & (statuses == "exited")).sum())
        ordinary = int(((county == code) & (statuses == "ordinary")).sum())
        wrong = planted[(code, Truth.WRONGLY_EXITED.label)]
        missed = planted[(code, Truth.MISSED_POOR.label)]
        assert abs(wrong - CAMPAIGN.plant_wrong_exits * exited) <= 0.5, code
        assert abs(missed - CAMPAIGN.plant_missed_poor * ordinary) <= 0.5, code


def test_the_incidence_falls_from_high_in_2014_to_nearly_nothing_in_2020(
    verdicts: Verdicts,
) -> None:
    by_standard = [_incidence(verdicts.poor[y], verdicts.people[y]) for y in CAMPAIGN.years]
    by_register = [_incidence(verdicts.registered_poor(y), verdicts.people[y])
                   for y in CAMPAIGN.years]
    for path in (by_standard, by_register):
        assert path[0] > 0.10 and path[-1] <= 0.02
        assert all(later < earlier for earlier, later in zip(path, path[1:], strict=False))
    # what remains in 2020 is the planted errors and the hardest few still registered
    assert by_register[-1] < 0.005


def test_without_planted_errors_the_register_agrees_everywhere() -> None:
    clean = dataclasses.replace(CAMPAIGN, households=2_000, years=(2019, 2020),
                                plant_wrong_exits=0.0, plant_missed_poor=0.0)
    verdicts = assess(clean)
    assert verdicts.truth == []
    for year in clean.years:
        assert (verdicts.poor[year] == verdicts.registered_poor(year)).all()
