"""Masking citizen ID, phone and bank numbers before they reach a template.

A role that does not need the numbers (users.SEES_IDENTIFIERS) gets only masked values;
the full value travels only in the answer to a deliberate, audited reveal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def mask_id(value: str) -> str:
    """110105********002X: the region and the last four characters stay."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value: str) -> str:
    """138****0000: the network prefix and the last four digits stay."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_account(value: str) -> str:
    """6228***********0000: the bank's prefix and the last four digits stay."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


MASKS = {"id_number": mask_id, "phone": mask_phone, "bank_account": mask_account}


@dataclass(frozen=True)
class Shown:
    """A sensitive value as a page shows it."""

    text: str
    masked: bool  # True: a reveal button is offered

    def __str__(self) -> str:
        return self.text


def shown(field: str, value: Any, clear: bool) -> Shown:
    if value is None or value == "":
        return Shown("", False)
    text = str(value)
    return Shown(text, False) if clear else Shown(MASKS[field](text), True)


def _masked(row: dict[str, Any], fields: tuple[str, ...], clear: bool) -> dict[str, Any]:
    return {**row, **{f: shown(f, row.get(f), clear) for f in fields}}


def mask_detail(detail: dict[str, Any], *, clear: bool) -> dict[str, Any]:
    """A household's detail with phone, bank account, ID numbers and phones masked.

    Helpers' phones stay: they are work numbers, posted on every household's contact card.
    """
    return {
        **detail,
        "household": _masked(detail["household"], ("phone", "bank_account"), clear),
        "members": [_masked(m, ("id_number", "phone"), clear) for m in detail["members"]],
    }


def mask_history(events: list[dict[str, Any]], *, clear: bool) -> list[dict[str, Any]]:
    """Audit events with the ID, phone and bank numbers in their changes masked."""
    if clear:
        return events

    def value(field: str, v: Any) -> Any:
        return MASKS[field](str(v)) if field in MASKS and v not in (None, "") else v

    return [{**e, "changes": [{**c, "before": value(c["field"], c["before"]),
                               "after": value(c["field"], c["after"])}
                              for c in e["changes"]]} for e in events]
