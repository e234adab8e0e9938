from __future__ import annotations

import pandas as pd

from tuopin.io.schema import Kind


def test_every_registered_household_has_exactly_one_helper_of_its_county(
    small: dict[Kind, pd.DataFrame],
) -> None:
    households = small[Kind.HOUSEHOLDS]
    helpers = small[Kind.HELPERS]
    assigned = helpers.households.str.split(";").explode()
    registered = households.number[households.status != "ordinary"]
    assert assigned.is_unique
    assert set(assigned) == set(registered)
    county = helpers.number.str[1:7]
    assert (assigned.str[:6] == county.loc[assigned.index]).all()
    assert helpers.number.is_unique


def test_a_helper_has_three_to_five_households_except_a_countys_last(
    small: dict[Kind, pd.DataFrame],
) -> None:
    helpers = small[Kind.HELPERS]
    counts = helpers.households.str.count(";") + 1
    last = helpers.number.str[1:7].ne(helpers.number.str[1:7].shift(-1))
    assert counts[~last].between(3, 5).all()
    assert counts[last].between(1, 5).all()
    assert 3.5 < counts.mean() < 4.5


def test_helpers_work_in_a_bureau_of_their_county(small: dict[Kind, pd.DataFrame]) -> None:
    regions = small[Kind.REGIONS].set_index("code").name
    helpers = small[Kind.HELPERS]
    county_names = (helpers.number.str[1:7] + "000000").map(regions)
    assert all(unit.startswith(name) for unit, name in zip(helpers.unit, county_names,
                                                           strict=True))
