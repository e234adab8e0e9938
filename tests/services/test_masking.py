"""Masking: what a role that does not need the full numbers sees."""

from __future__ import annotations

import pytest

from tuopin.services.access.masking import (
    mask_account,
    mask_history,
    mask_id,
    mask_payload,
    mask_phone,
    shown,
)


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


ID, PHONE, ACCOUNT = "11010519491231002X", "13800000000", "6228480012345678"


def test_mask_payload_masks_the_numbers_of_members_nested_in_a_list() -> None:
    payload = {"number": "6211210010010004", "phone": PHONE, "bank_account": ACCOUNT,
               "members": [{"name": "新户主", "id_number": ID, "phone": PHONE},
                           {"name": "新妻子", "id_number": "110105195001010021",
                            "phone": None}]}
    assert mask_payload(payload) == {
        "number": "6211210010010004", "phone": "138****0000",
        "bank_account": "6228********5678",
        "members": [{"name": "新户主", "id_number": "110105********002X",
                     "phone": "138****0000"},
                    {"name": "新妻子", "id_number": "110105********0021", "phone": None}]}


@pytest.mark.parametrize(("value", "field", "expected"), [
    (ID, "id_number", "110105********002X"),  # a change of one field: the value alone
    ([ID, "110105195001010021"], "id_number", ["110105********002X", "110105********0021"]),
    ({"rows": [{"payee_id_number": ID}]}, None, {"rows": [{"payee_id_number":
                                                            "110105********002X"}]}),
    ({"name": "户主", "address": "一组1号"}, None, {"name": "户主", "address": "一组1号"}),
    ("", "phone", ""),
])
def test_mask_payload_masks_a_number_wherever_it_is(value: object, field: str | None,
                                                    expected: object) -> None:
    assert mask_payload(value, field=field) == expected


def test_a_history_is_masked_unless_the_reader_sees_the_numbers() -> None:
    events = [{"action": "add", "changes": [
        {"field": "members", "before": None, "after": [{"id_number": ID, "phone": PHONE}]},
        {"field": "phone", "before": PHONE, "after": "13900000000"}]}]
    (masked,) = mask_history(events, clear=False)
    assert masked["changes"] == [
        {"field": "members", "before": None,
         "after": [{"id_number": "110105********002X", "phone": "138****0000"}]},
        {"field": "phone", "before": "138****0000", "after": "139****0000"}]
    assert mask_history(events, clear=True) == events
