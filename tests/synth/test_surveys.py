from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuopin.io.schema import Kind
from tuopin.synth.paths import income_lines

from .conftest import CAMPAIGN, SMALL

INCOME = ["wage_income", "production_income", "property_income", "transfer_income"]
LINES = dict(zip(CAMPAIGN.years, income_lines(CAMPAIGN.years).tolist(), strict=True))


def _income_per_capita(surveys: pd.DataFrame) -> pd.Series:
    money = surveys[INCOME + ["production_costs"]].astype(float)
    net = money[INCOME].sum(axis=1) - money.production_costs
    return net / surveys.household_size.astype(int)


def _unsafe_water(surveys: pd.DataFrame) -> pd.Series:
    least = np.where(surveys.water_scarce_area == "1", 20, 35)
    return ((surveys.water_quantity_lpd.astype(float) < least)
            | ((surveys.water_piped != "1") & (surveys.water_trip_minutes.astype(float) > 20))
            | (surveys.water_outage_days.astype(int) > 36)
            | (surveys.water_quality_ok != "1"))


def _year(campaign: dict[Kind, pd.DataFrame], year: int) -> pd.DataFrame:
    """One survey year, one row per household with its deprivations and status."""
    surveys = campaign[Kind.SURVEYS]
    frame = surveys[surveys.year == str(year)].set_index("household_number")
    return frame.assign(
        income_poor=_income_per_capita(frame) < LINES[year],
        dangerous_housing=frame.housing_grade.isin(["C", "D"]),
        unsafe_water=_unsafe_water(frame),
        food_insecure=frame.food_secure != "1",
        status=campaign[Kind.HOUSEHOLDS].set_index("number").status,
    )


@pytest.fixture(scope="module")
def first_year(campaign: dict[Kind, pd.DataFrame]) -> pd.DataFrame:
    return _year(campaign, CAMPAIGN.years[0])


@pytest.fixture(scope="module")
def last_year(campaign: dict[Kind, pd.DataFrame]) -> pd.DataFrame:
    return _year(campaign, CAMPAIGN.years[-1])


def test_there_is_one_survey_per_household_and_year(small: dict[Kind, pd.DataFrame]) -> None:
    surveys = small[Kind.SURVEYS]
    assert len(surveys) == len(small[Kind.HOUSEHOLDS]) * len(SMALL.years)
    assert not surveys.duplicated(["household_number", "year"]).any()
    assert set(surveys.household_number) == set(small[Kind.HOUSEHOLDS].number)


def test_household_size_counts_the_members_living_on_the_collection_day(
    small: dict[Kind, pd.DataFrame],
) -> None:
    surveys = small[Kind.SURVEYS]
    members = small[Kind.MEMBERS].merge(surveys, on="household_number")
    living = (members.birth_date <= members.collected_on) & (
        (members.deceased_date == "") | (members.deceased_date > members.collected_on))
    counted = living.groupby([members.household_number, members.year]).sum()
    sizes = surveys.set_index(["household_number", "year"]).household_size.astype(int)
    assert (counted.loc[sizes.index] == sizes).all()
    assert sizes.between(1, 8).all()


def test_surveys_are_collected_in_november_or_december_of_their_year(
    small: dict[Kind, pd.DataFrame],
) -> None:
    surveys = small[Kind.SURVEYS]
    assert (surveys.collected_on.str[:4] == surveys.year).all()
    assert surveys.collected_on.str[5:7].isin(["11", "12"]).all()


def test_income_poverty_is_that_of_a_poor_county_in_2014_and_rare_in_2020(
    first_year: pd.DataFrame, last_year: pd.DataFrame,
) -> None:
    assert 0.12 < first_year.income_poor.mean() < 0.30
    assert last_year.income_poor.mean() < 0.02


def test_the_poorest_live_on_no_less_than_a_quarter_of_the_line(
    first_year: pd.DataFrame,
) -> None:
    share = _income_per_capita(first_year) / LINES[CAMPAIGN.years[0]]
    assert share.min() > 0.25
    assert 0.4 < share[first_year.income_poor].median() < 0.9


def test_poor_households_are_poorer(last_year: pd.DataFrame) -> None:
    median = _income_per_capita(last_year).groupby(last_year.status).median()
    assert median["poor"] < median["monitored"] < median["exited"] < median["ordinary"]


def test_monitored_households_live_between_the_line_and_the_monitoring_line(
    last_year: pd.DataFrame,
) -> None:
    income = _income_per_capita(last_year)[last_year.status == "monitored"]
    line = LINES[CAMPAIGN.years[-1]]
    assert len(income) and income.between(line, 1.5 * line).all()


@pytest.mark.parametrize("deprivation", ["dangerous_housing", "unsafe_water", "food_insecure"])
def test_deprivations_are_rare_and_go_with_income_poverty(
    first_year: pd.DataFrame, deprivation: str
) -> None:
    rate = first_year[deprivation].mean()
    assert 0.005 < rate < 0.12
    by_poverty = first_year.groupby("income_poor")[deprivation].mean()
    assert by_poverty[True] > 2 * by_poverty[False]


def test_deprivations_go_together(first_year: pd.DataFrame) -> None:
    housing = first_year.dangerous_housing
    assert first_year.unsafe_water[housing].mean() > 2 * first_year.unsafe_water[~housing].mean()


def test_later_years_improve(campaign: dict[Kind, pd.DataFrame]) -> None:
    surveys = campaign[Kind.SURVEYS]
    by_year = surveys.groupby("year")
    income = _income_per_capita(surveys).groupby(surveys.year).median()
    dangerous = by_year.housing_grade.agg(lambda g: g.isin(["C", "D"]).mean())
    unsafe = _unsafe_water(surveys).groupby(surveys.year).mean()
    for earlier, later in zip(CAMPAIGN.years, CAMPAIGN.years[1:], strict=False):
        first, then = str(earlier), str(later)
        assert income[then] > income[first]
        assert dangerous[then] < dangerous[first] and unsafe[then] < unsafe[first]


def test_renovated_houses_are_grade_a(campaign: dict[Kind, pd.DataFrame]) -> None:
    surveys = campaign[Kind.SURVEYS].sort_values(["household_number", "year"])
    dangerous = surveys.housing_grade.isin(["C", "D"])
    before = dangerous.groupby(surveys.household_number).shift(fill_value=False)
    renovated = before & ~dangerous
    assert renovated.any() and (surveys.housing_grade[renovated] == "A").all()


def test_net_income_matches_its_components(small: dict[Kind, pd.DataFrame]) -> None:
    surveys = small[Kind.SURVEYS]
    assert (_income_per_capita(surveys) > 0).all()
    costs = surveys.production_costs.astype(float)
    assert (costs <= surveys.production_income.astype(float)).all()
