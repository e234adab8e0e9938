from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tuopin.io.schema import Kind

from .conftest import SEVERAL, SMALL

LINE_2019 = 3_200  # yuan per person, about the 2019 poverty line
INCOME = ["wage_income", "production_income", "property_income", "transfer_income"]


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


@pytest.fixture(scope="module")
def first_year(several: dict[Kind, pd.DataFrame]) -> pd.DataFrame:
    """The first survey year, one row per household with its deprivations."""
    surveys = several[Kind.SURVEYS]
    frame = surveys[surveys.year == str(SEVERAL.years[0])].set_index("household_number")
    members = several[Kind.MEMBERS]
    flags = pd.DataFrame({"dropout": members.schooling_status == "dropped_out",
                          "uninsured": members.medical_insurance == "0"})
    by_household = flags.groupby(members.household_number).any()
    frame = frame.assign(
        income_poor=_income_per_capita(frame) < LINE_2019,
        dropout=by_household.dropout,
        uninsured=by_household.uninsured,
        dangerous_housing=frame.housing_grade.isin(["C", "D"]),
        unsafe_water=_unsafe_water(frame),
        status=several[Kind.HOUSEHOLDS].set_index("number").status,
    )
    return frame


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


def test_income_poverty_is_between_five_and_ten_percent(first_year: pd.DataFrame) -> None:
    assert 0.04 < first_year.income_poor.mean() < 0.11


def test_poor_households_are_poorer(first_year: pd.DataFrame) -> None:
    median = _income_per_capita(first_year).groupby(first_year.status).median()
    assert median["poor"] < median["monitored"] < median["exited"] < median["ordinary"]


@pytest.mark.parametrize(
    "deprivation", ["dropout", "uninsured", "dangerous_housing", "unsafe_water"]
)
def test_deprivations_are_rare_and_go_with_income_poverty(
    first_year: pd.DataFrame, deprivation: str
) -> None:
    rate = first_year[deprivation].mean()
    assert 0.005 < rate < 0.08
    by_poverty = first_year.groupby("income_poor")[deprivation].mean()
    assert by_poverty[True] > 2 * by_poverty[False]


def test_deprivations_go_together(first_year: pd.DataFrame) -> None:
    housing = first_year.dangerous_housing
    assert first_year.unsafe_water[housing].mean() > 2 * first_year.unsafe_water[~housing].mean()


def test_later_years_improve(several: dict[Kind, pd.DataFrame]) -> None:
    surveys = several[Kind.SURVEYS]
    years = surveys.groupby("year")
    income = _income_per_capita(surveys).groupby(surveys.year).median()
    first, last = (str(y) for y in (SEVERAL.years[0], SEVERAL.years[-1]))
    assert income[last] > income[first]
    dangerous = years.housing_grade.agg(lambda g: g.isin(["C", "D"]).mean())
    assert dangerous[last] < dangerous[first]
    unsafe = _unsafe_water(surveys).groupby(surveys.year).mean()
    assert unsafe[last] < unsafe[first]


def test_net_income_matches_its_components(small: dict[Kind, pd.DataFrame]) -> None:
    surveys = small[Kind.SURVEYS]
    assert (_income_per_capita(surveys) > 0).all()
    costs = surveys.production_costs.astype(float)
    assert (costs <= surveys.production_income.astype(float)).all()
