from __future__ import annotations

import pandas as pd

from tuopin.io.schema import Kind

REGISTERED = ["poor", "exited", "monitored"]


def test_household_numbers_are_the_village_code_and_a_sequence(
    small: dict[Kind, pd.DataFrame],
) -> None:
    households = small[Kind.HOUSEHOLDS]
    assert households.number.is_unique
    assert (households.number.str.len() == 16).all()
    assert (households.number.str[:12] == households.village_code).all()
    first = households.groupby("village_code").number.min().str[12:]
    assert (first == "0001").all()


def test_status_shares_are_those_of_a_poor_county_after_the_deadline(
    small: dict[Kind, pd.DataFrame],
) -> None:
    # Counties differ in hardship on purpose, so the bands are wide: a fifth or so of the
    # households were registered, nearly all have exited by 2020, a few are monitored.
    shares = small[Kind.HOUSEHOLDS].status.value_counts(normalize=True)
    assert 0.0005 < shares["poor"] < 0.01
    assert 0.12 < shares["exited"] < 0.35
    assert 0.005 < shares["monitored"] < 0.05


def test_only_registered_households_have_a_category_and_causes(
    small: dict[Kind, pd.DataFrame],
) -> None:
    households = small[Kind.HOUSEHOLDS]
    registered = households.status.isin(REGISTERED)
    for column in ("category", "main_cause", "year_identified"):
        assert (households[column][registered] != "").all(), column
    for column in ("category", "main_cause", "other_causes", "year_identified"):
        assert (households[column][~registered] == "").all(), column


def test_other_causes_never_repeat_the_main_cause(small: dict[Kind, pd.DataFrame]) -> None:
    households = small[Kind.HOUSEHOLDS]
    for main, others in zip(households.main_cause, households.other_causes, strict=True):
        if main:
            assert main not in others.split(";")


def test_exits_come_after_identification_and_by_2020(small: dict[Kind, pd.DataFrame]) -> None:
    households = small[Kind.HOUSEHOLDS]
    exited = households[households.status == "exited"]
    identified = exited.year_identified.astype(int)
    assert identified.between(2014, 2016).all()
    assert (exited.year_exited.astype(int) > identified).all()
    assert (exited.year_exited.astype(int) <= 2020).all()
    assert (households.year_exited[households.status != "exited"] == "").all()
    poor = households[households.status == "poor"]
    assert poor.year_identified.astype(int).between(2014, 2016).all()


def test_exits_spread_over_the_campaign_most_identified_in_2014(
    campaign: dict[Kind, pd.DataFrame],
) -> None:
    households = campaign[Kind.HOUSEHOLDS]
    registered = households[households.status.isin(["poor", "exited"])]
    identified = registered.year_identified.astype(int).value_counts(normalize=True)
    assert identified[2014] > 0.8
    exits = registered.year_exited[registered.status == "exited"].astype(int)
    per_year = exits.value_counts(normalize=True)
    assert set(per_year.index) == set(range(2015, 2021))
    assert per_year[2020] < per_year[2018]  # the last few were the hardest


def test_five_guarantee_households_are_old_people_living_alone(
    small: dict[Kind, pd.DataFrame],
) -> None:
    members = small[Kind.MEMBERS]
    wubao = small[Kind.HOUSEHOLDS].number[small[Kind.HOUSEHOLDS].category == "wubao"]
    theirs = members[members.household_number.isin(wubao)]
    assert len(theirs) == len(wubao) > 0
    assert (theirs.birth_date.str[:4].astype(int) <= 1960).all()


def test_bank_accounts_pass_the_luhn_check(small: dict[Kind, pd.DataFrame]) -> None:
    for account in small[Kind.HOUSEHOLDS].bank_account:
        if account:
            digits = [int(c) for c in reversed(account)]
            total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
            assert total % 10 == 0, account
