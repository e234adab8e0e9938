"""Amounts of money: finite, not negative, bounded and exact to the fen."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuopin.domain.errors import RuleBroken
from tuopin.domain.money import (
    MISSING,
    MONEY_MAX,
    NEGATIVE,
    NOT_AMOUNT,
    NOT_FINITE,
    TOO_LARGE,
    TOO_PRECISE,
    parse_money,
    parse_optional_money,
)
from tuopin.i18n import has_translation

PROPERTY = settings(max_examples=300, deadline=None)


def refusal(value: object, maximum: Decimal = MONEY_MAX) -> RuleBroken:
    with pytest.raises(RuleBroken) as caught:
        parse_money(value, field="wage_income", maximum=maximum)
    return caught.value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0.00"),
        (12000, "12000.00"),
        (Decimal("1234.5"), "1234.50"),
        (Decimal("1234.500"), "1234.50"),  # trailing zeros are not a fraction of a fen
        (1234.56, "1234.56"),
        (0.1, "0.10"),
        (-0.0, "0.00"),
        ("1234.56", "1234.56"),
        ("  1,234.56 ", "1234.56"),
        ("1,234,567", "1234567.00"),
        ("+5", "5.00"),
        ("5.", "5.00"),
        (".5", "0.50"),
        ("-0", "0.00"),
        ("100000000", "100000000.00"),
        (MONEY_MAX, "100000000.00"),
    ],
)
def test_it_reads_an_amount_to_the_fen(value: object, expected: str) -> None:
    amount = parse_money(value, field="wage_income")
    assert amount == Decimal(expected)
    assert str(amount) == expected


@pytest.mark.parametrize(
    ("value", "msgid"),
    [
        (math.nan, NOT_FINITE),
        (math.inf, NOT_FINITE),
        (-math.inf, NOT_FINITE),
        (Decimal("NaN"), NOT_FINITE),
        (Decimal("sNaN"), NOT_FINITE),
        (Decimal("Infinity"), NOT_FINITE),
        (Decimal("-Infinity"), NOT_FINITE),
        ("inf", NOT_AMOUNT),
        ("-inf", NOT_AMOUNT),
        ("Infinity", NOT_AMOUNT),
        ("nan", NOT_AMOUNT),
        ("NaN", NOT_AMOUNT),
        ("1e400", NOT_AMOUNT),
        ("1e3", NOT_AMOUNT),
        ("", MISSING),
        ("   ", MISSING),
        (None, MISSING),
        (True, NOT_AMOUNT),
        ("¥100", NOT_AMOUNT),
        ("100元", NOT_AMOUNT),
        ("1,2", NOT_AMOUNT),  # commas only where thousands are
        ("1,2345", NOT_AMOUNT),
        ("１２３", NOT_AMOUNT),  # full-width digits, as the importer refuses them
        ("3.5.1", NOT_AMOUNT),
        ([], NOT_AMOUNT),
        (-1, NEGATIVE),
        ("-0.01", NEGATIVE),
        (Decimal("-1000000000"), NEGATIVE),
        (1e308, TOO_LARGE),
        pytest.param(10**5000, TOO_LARGE, id="5001-digit-int"),
        ("100000000.01", TOO_LARGE),
        (Decimal("1E+999999"), TOO_LARGE),
        (0.001, TOO_PRECISE),
        ("1234.567", TOO_PRECISE),
        ("1." + "0" * 60 + "1", TOO_PRECISE),
        (Decimal("1E-999999"), TOO_PRECISE),
        (1234.5600000000002, TOO_PRECISE),
    ],
)
def test_it_refuses_what_is_not_an_amount_of_money(value: object, msgid: str) -> None:
    error = refusal(value)
    assert error.msgid == msgid
    assert error.values["field"] == "wage_income"
    assert error.translated("zh") != error.translated("en")
    assert "wage_income" in error.translated("zh")


def test_a_refused_text_is_shown_shortened() -> None:
    error = refusal("x" * 5000)
    assert len(str(error)) < 200


def test_the_maximum_can_be_lowered() -> None:
    assert parse_money("500", field="budget", maximum=Decimal("500")) == Decimal("500.00")
    error = refusal("500.01", maximum=Decimal("500"))
    assert error.msgid == TOO_LARGE
    assert error.values["maximum"] == "500"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_an_optional_amount_may_be_missing(value: object) -> None:
    assert parse_optional_money(value, field="budget") is None


def test_an_optional_amount_that_is_given_is_checked() -> None:
    assert parse_optional_money("1,000", field="budget") == Decimal("1000.00")
    with pytest.raises(RuleBroken):
        parse_optional_money("nan", field="budget")


@pytest.mark.parametrize("msgid", [MISSING, NOT_AMOUNT, NOT_FINITE, NEGATIVE, TOO_PRECISE,
                                   TOO_LARGE])
def test_every_refusal_has_a_chinese_translation(msgid: str) -> None:
    assert has_translation(msgid)


AMOUNTS = st.decimals(min_value=0, max_value=MONEY_MAX, places=2, allow_nan=False,
                      allow_infinity=False)


@PROPERTY
@given(AMOUNTS)
def test_a_two_place_amount_reads_back_exactly_in_every_form(amount: Decimal) -> None:
    for form in (amount, str(amount), f"{amount:,}", f" {amount} ", float(amount)):
        parsed = parse_money(form, field="wage_income")
        assert parsed == amount
        assert parsed.as_tuple().exponent == -2


@PROPERTY
@given(st.sampled_from([math.nan, -math.nan, math.inf, -math.inf, Decimal("NaN"),
                        Decimal("-sNaN"), Decimal("Infinity"), Decimal("-Infinity")])
       | st.floats(allow_nan=True, allow_infinity=True)
       | st.decimals(allow_nan=True, allow_infinity=True))
def test_anything_not_finite_is_refused(value: float | Decimal) -> None:
    finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
    if not finite:
        assert refusal(value).msgid == NOT_FINITE


@PROPERTY
@given(st.one_of(st.text(), st.floats(), st.integers(), st.decimals()))
def test_any_value_is_an_amount_to_the_fen_or_a_rule_broken(value: object) -> None:
    try:
        amount = parse_money(value, field="wage_income")
    except RuleBroken:
        return
    assert 0 <= amount <= MONEY_MAX
    assert amount == amount.quantize(Decimal("0.01"))
