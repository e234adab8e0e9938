"""What the web's funds pages read besides the books: the dashboard's card, the payments a
household received, and revealing a payment's account or payee number by a recorded act.

A household's payments are those made to one of its members (by ID number) or to the
household itself (by number), from any project: a village cadre sees the payments to their
village's households even from a township's project, whose other payees they never see.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, union
from sqlalchemy.orm import Session, aliased

from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.services import audit, records
from tuopin.services.access import policy
from tuopin.services.access.masking import shown
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import QuotaLimiter, reveal_quota
from tuopin.services.funds import books
from tuopin.storage.models import DisbursementRecord, HouseholdRecord, MemberRecord, ProjectRecord
from tuopin.storage.scope import in_region

D, P = DisbursementRecord, ProjectRecord
REVEALABLE = ("account", "payee_id_number")


@reads(Action.READ_FUNDS)
def card(db: Session, *, principal: Principal) -> dict[str, int]:
    """The dashboard's funds card: what the projects of ``principal``'s region were
    allocated, paid (net of reversals) and have left, in fen."""
    projects = books.project_balances(
        db, select(P.id).where(in_region(principal.scope, P.region_code)))
    return {"projects": len(projects),
            "allocated": sum(p.allocated for p in projects),
            "disbursed": sum(p.net for p in projects),
            "remaining": sum(p.remaining for p in projects)}


@reads(Action.READ_FUNDS)
def household_payments(db: Session, *, principal: Principal,
                       number: str) -> list[dict[str, Any]]:
    """Every payment to household ``number`` or one of its members, newest first (amounts in
    fen; the account's last four digits and a masked ID unless ``principal`` sees
    identifiers). NotFound outside the principal's scope."""
    home = records.household(db, principal=principal, number=number)
    people = select(MemberRecord.id_number).where(MemberRecord.household_id == home.id)
    # the payments' ids first, each way through its own index: one OR of the two made
    # PostgreSQL scan every payment of the province (seconds a page at 500,000 households)
    paid = union(
        select(D.id).where(D.payee_id_number.in_(people)),
        select(D.id).where((D.payee_household == number) & D.payee_id_number.is_(None)),
    ).subquery()
    reversed_, reversal = aliased(D), aliased(D)
    rows = db.execute(
        select(D.number, P.number, P.name, P.region_code, D.amount, D.paid_on, D.channel,
               D.account, D.payee_id_number, MemberRecord.name, reversed_.number,
               reversal.number)
        .select_from(paid)
        .join(D, D.id == paid.c.id)
        .join(P, P.id == D.project_id)
        .outerjoin(MemberRecord, (MemberRecord.id_number == D.payee_id_number)
                   & (MemberRecord.household_id == home.id))
        .outerjoin(reversed_, reversed_.id == D.reverses_id)
        .outerjoin(reversal, reversal.reverses_id == D.id)
        .order_by(D.paid_on.desc(), D.number.desc()))
    clear = principal.sees_identifiers
    return [{"number": payment, "project": project, "project_name": name,
             "project_visible": principal.scope.covers(region), "amount": int(amount),
             "paid_on": paid_on, "channel": channel,
             "account": shown("account", account, clear),
             "payee": payee_name, "payee_id_number": shown("payee_id_number", id_number, clear),
             "reverses": reverses, "reversed_by": reversed_by}
            for (payment, project, name, region, amount, paid_on, channel, account, id_number,
                 payee_name, reverses, reversed_by) in rows]


def _visible_payment(db: Session, principal: Principal, number: str) -> DisbursementRecord:
    """A payment ``principal`` may see with its payee: of a project in their region, its
    payee not registered outside it; or paid to a household they reach."""
    found = db.scalars(select(D).where(D.number == number)).first()
    if found is None:
        raise NotFound(f"payment {number} not found")
    project = db.get(P, found.project_id)
    payee_homes = [h for h in db.scalars(
        select(HouseholdRecord).where(or_(
            HouseholdRecord.id.in_(select(MemberRecord.household_id)
                                   .where(MemberRecord.id_number == found.payee_id_number)),
            HouseholdRecord.number == found.payee_household)))]
    scope = principal.scope
    if any(scope.reaches(village_code=h.village_code, number=h.number) for h in payee_homes):
        return found  # paid to someone they reach
    if (not payee_homes and project is not None and scope.households is None
            and scope.covers(project.region_code)):
        return found  # an unregistered payee of a project of their region
    raise NotFound(f"payment {number} not found")


@changes(Action.REVEAL)
def reveal_payment(db: Session, *, principal: Principal, number: str, field: str,
                   quota: QuotaLimiter | None = None) -> str:
    """A payment's account or payee ID number in full; the reveal is audited (the field,
    never the value) and counted against the principal's quota, as for a household's."""
    if field not in REVEALABLE:
        raise ValidationFailed(f"{field} cannot be revealed")
    policy.require(principal, Action.READ_FUNDS)  # and only who may see payments at all
    payment = _visible_payment(db, principal, number)
    if not principal.operator:
        (quota or reveal_quota()).take(db, principal.name)
    audit.record(db, actor=principal.actor, action="reveal", entity="disbursement",
                 entity_id=number, after={"field": field})
    return str(getattr(payment, field) or "")

