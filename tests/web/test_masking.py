"""Masking: what a role that does not need the full numbers sees."""

from __future__ import annotations

import pytest

from tuopin.web.masking import mask_account, mask_id, mask_phone, shown


@pytest.mark.parametrize(("mask", "value", "expected"), [
    (mask_id, "11010519491231002X", "110105********002X"),
    (mask_id, "110105491231002", "110105*****1002"),  # an old 15-digit number
    (mask_id, "1234", "****"),
    (mask_phone, "13800000000", "138****0000"),
    (mask_phone, "09327654321", "093****4321"),
    (mask_phone, "1234567", "*******"),
    (mask_account, "6228480012345678", "6228********5678"),
    (mask_account, "12345678", "********"),
])
def test_a_masked_number_keeps_only_its_ends(mask: object, value: str, expected: str) -> None:
    assert mask(value) == expected  # type: ignore[operator]


def test_an_empty_value_offers_nothing_to_reveal() -> None:
    assert shown("phone", None, clear=False) == shown("phone", "", clear=False)
    assert not shown("phone", None, clear=False).masked


def test_a_role_that_needs_the_numbers_sees_them_whole() -> None:
    value = shown("id_number", "11010519491231002X", clear=True)
    assert (str(value), value.masked) == ("11010519491231002X", False)
