from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from tuopin.domain.errors import ValidationFailed
from tuopin.domain.idnumber import parse
from tuopin.io.schema import Kind
from tuopin.synth.idnumbers import id_numbers, sequences

from .conftest import SMALL

REFERENCE = pd.Timestamp(f"{SMALL.years[-1]}-09-01")  # ages are counted at this date


@pytest.fixture(scope="module")
def members(small: dict[Kind, pd.DataFrame]) -> pd.DataFrame:
    frame = small[Kind.MEMBERS].copy()
    frame["born"] = pd.to_datetime(frame.birth_date)
    frame["age"] = (REFERENCE - frame.born).dt.days / 365.25
    heads = frame[frame.relation == "head"].set_index("household_number")
    frame["head_born"] = frame.household_number.map(heads.born)
    frame["head_sex"] = frame.household_number.map(heads.sex)
    return frame


def test_every_id_number_is_valid_unique_and_agrees_with_sex_and_birth_date(
    members: pd.DataFrame,
) -> None:
    assert members.id_number.is_unique
    for id_number, sex, born in zip(members.id_number, members.sex, members.birth_date,
                                    strict=True):
        info = parse(id_number, today=date(2021, 1, 1))
        assert (info.sex.value, info.birth_date.isoformat()) == (sex, born)


def test_id_numbers_carry_the_households_county_code(members: pd.DataFrame) -> None:
    assert (members.id_number.str[:6] == members.household_number.str[:6]).all()


def test_every_member_belongs_to_a_household_of_one_to_eight(
    small: dict[Kind, pd.DataFrame], members: pd.DataFrame
) -> None:
    sizes = members.groupby("household_number").size()
    assert set(sizes.index) == set(small[Kind.HOUSEHOLDS].number)
    assert sizes.between(1, 8).all()
    assert 3.4 <= sizes.mean() <= 4.0


def test_each_household_has_one_living_head(members: pd.DataFrame) -> None:
    heads = members[members.relation == "head"]
    assert heads.household_number.is_unique
    assert heads.household_number.nunique() == members.household_number.nunique()
    assert (heads.deceased_date == "").all()


def test_ages_follow_the_relations(members: pd.DataFrame) -> None:
    gap = (members.born - members.head_born).dt.days / 365.25
    assert (gap[members.relation == "child"] >= 18).all()
    assert (gap[members.relation == "grandchild"] >= 36).all()
    assert (gap[members.relation == "parent"] <= -20).all()
    assert (members.age[members.relation.isin(["head", "spouse", "child_in_law"])] >= 18).all()
    spouses = members[members.relation == "spouse"]
    assert (spouses.sex != spouses.head_sex).all()


def test_schooling_follows_age_and_disability(members: pd.DataFrame) -> None:
    # by the age the standard counts: the last survey year minus the year of birth
    counted = SMALL.years[-1] - members.born.dt.year
    under_six = members[counted < 6]
    assert (under_six.schooling_status == "not_school_age").all()
    compulsory = members[counted.between(6, 15)]
    shares = compulsory.schooling_status.value_counts(normalize=True)
    assert shares["in_school"] > 0.9
    # a child out of school makes the household poor: only the poor of 2020 have one
    assert shares.get("dropped_out", 0) < 0.01
    assert (members.schooling_status[members.schooling_status == "home_taught"].index.isin(
        members.index[members.health == "disabled"])).all()
    assert (members.labour[members.age < 16] == "none").all()


def test_disability_grades_go_with_disability_only(members: pd.DataFrame) -> None:
    disabled = members.health == "disabled"
    assert (members.disability_grade[disabled] != "").all()
    assert (members.disability_grade[~disabled] == "").all()


def test_health_shares_are_plausible(members: pd.DataFrame) -> None:
    shares = members.health.value_counts(normalize=True)
    assert 0.07 < shares["chronic"] < 0.13
    assert 0.01 < shares["serious"] < 0.03
    assert 0.025 < shares["disabled"] < 0.055


def test_deaths_are_rare_and_after_birth(members: pd.DataFrame) -> None:
    dead = members[members.deceased_date != ""]
    assert 0 < len(dead) < 0.01 * len(members)
    assert (pd.to_datetime(dead.deceased_date) > dead.born).all()


def test_sequences_are_odd_for_men_and_distinct_within_a_birth_date() -> None:
    birth = np.array(["1980-01-01"] * 4 + ["1980-01-02"], dtype="datetime64[D]")
    male = np.array([True, False, True, False, True])
    assert sequences(birth, male).tolist() == [1, 2, 3, 4, 1]


def test_too_many_people_born_on_one_day_in_one_county_fail_loudly() -> None:
    birth = np.full(501, np.datetime64("1980-01-01"))
    with pytest.raises(ValidationFailed, match="birth date"):
        id_numbers(620102, birth, np.ones(501, dtype=bool))
