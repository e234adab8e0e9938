"""Masking citizen ID, phone and bank numbers, and revealing one by a recorded act.

A principal who does not need the numbers (principal.sees_identifiers) gets only masked
values, wherever they appear: a household's detail, and every audit payload, however deeply
a number is nested in it (a registration's member list). The full value travels only in the
answer to a deliberate reveal, which the audit trail records (the field, never the value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from tuopin.domain.errors import ValidationFailed
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import QuotaLimiter, reveal_quota

REVEALABLE = {"household": ("phone", "bank_account"), "member": ("id_number", "phone")}


def mask_id(value: str) -> str:
    """110105********002X: the region and the last four characters stay."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value: str) -> str:
    """138****0000: the network prefix and the last four digits stay."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_account(value: str) -> str:
    """6228***********0000: the bank's prefix and the last four digits stay."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_last_four(value: str) -> str:
    """************0000: only the last four digits stay (a payment's account, as the funds
    pages show it)."""
    return "*" * max(len(value) - 4, 4) + value[-4:] if len(value) > 4 else "*" * len(value)


MASKS = {"id_number": mask_id, "phone": mask_phone, "bank_account": mask_account,
         "account": mask_last_four, "payee_id_number": mask_id}


@dataclass(frozen=True)
class Shown:
    """A sensitive value as a page shows it."""

    text: str
    masked: bool  # True: a reveal button is offered

    def __str__(self) -> str:
        return self.text


def shown(field: str, value: Any, clear: bool) -> Shown:
    """A sensitive field's value, masked unless ``clear``."""
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


def mask_payload(value: Any, *, field: str | None = None) -> Any:
    """A value of an audit payload with every personal number in it masked, at any depth:
    a field named like one (id_number, phone, bank_account...) is masked wherever it is."""
    if isinstance(value, dict):
        return {k: mask_payload(v, field=k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_payload(v, field=field) for v in value]
    if field in MASKS and value not in (None, ""):
        return MASKS[field](str(value))
    return value


def mask_history(events: list[dict[str, Any]], *, clear: bool) -> list[dict[str, Any]]:
    """Audit events with the ID, phone and bank numbers in their changes masked."""
    if clear:
        return events
    return [{**e, "changes": [{**c, "before": mask_payload(c["before"], field=c["field"]),
                               "after": mask_payload(c["after"], field=c["field"])}
                              for c in e["changes"]]} for e in events]


@changes(Action.REVEAL)
def reveal(db: Session, *, principal: Principal, number: str, field: str,
           member_id: int | None = None, quota: QuotaLimiter | None = None) -> str:
    """One unmasked number of a household or member; the reveal is audited (not the value)
    and counted against the principal's quota of reveals."""
    entity = "member" if member_id is not None else "household"
    if field not in REVEALABLE[entity]:
        raise ValidationFailed(f"{field} cannot be revealed")
    home = records.household(db, principal=principal, number=number)
    if not principal.operator:
        (quota or reveal_quota()).take(db, principal.name)
    target: Any = home
    if member_id is not None:
        target = records.member(db, principal=principal, member_id=member_id, number=number)
    audit.record(db, actor=principal.actor, action="reveal", entity=entity,
                 entity_id=number if member_id is None else str(member_id),
                 after={"field": field, "household": number})
    return str(getattr(target, field) or "")


@changes(Action.REVEAL)
def reveal_history(db: Session, *, principal: Principal, number: str,
                   quota: QuotaLimiter | None = None) -> None:
    """Record that ``principal`` is shown a household's history with every number in full
    (one reveal of their quota)."""
    records.household(db, principal=principal, number=number)  # NotFound outside the scope
    if principal.sees_identifiers:
        return  # their role shows the numbers anyway: nothing is revealed
    (quota or reveal_quota()).take(db, principal.name)
    audit.record(db, actor=principal.actor, action="reveal", entity="household",
                 entity_id=number, after={"field": "history", "household": number})


def for_principal(principal: Principal, value: Any) -> Any:
    """``value`` (records as plain data, at any depth) as ``principal`` may see it: personal
    numbers in full for those whose work needs them, masked for everyone else."""
    return value if principal.sees_identifiers else mask_payload(value)
