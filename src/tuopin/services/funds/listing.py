"""The books of funds page by page, for programs (the API): projects with their balances,
one project's allocations, and its payments.

Pages are keyset pages: projects in number order, payments by (date, number), so that a
list read while the books are imported neither skips nor repeats a record. The scope, the
masking and the payees withheld are the books' own (services.funds.books, payees).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain.errors import NotFound
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.services.funds import books
from tuopin.services.funds.payees import payments
from tuopin.storage.models import AllocationRecord, FundRecord, ProjectRecord
from tuopin.storage.scope import in_region

A, F, P = AllocationRecord, FundRecord, ProjectRecord


@reads(Action.READ_FUNDS)
def project_page(db: Session, *, principal: Principal, after: str | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """Up to ``limit`` projects of ``principal``'s region after the number ``after``, in
    number order, each with its balance (fen)."""
    ids = (select(P.id).where(in_region(principal.scope, P.region_code))
           .order_by(P.number).limit(limit))
    if after is not None:
        ids = ids.where(P.number > after)
    return [asdict(b) for b in books.project_balances(db, ids)]


def _project(db: Session, principal: Principal, number: str) -> ProjectRecord:
    found = db.scalars(select(P).where(P.number == number,
                                       in_region(principal.scope, P.region_code))).first()
    if found is None:
        raise NotFound(f"project {number} not found")
    return found


@reads(Action.READ_FUNDS)
def project(db: Session, *, principal: Principal, number: str) -> dict[str, Any]:
    """A project of ``principal``'s region with its balance and the funds that pay for it
    (its payments: ``payment_page``)."""
    record = _project(db, principal, number)
    balance = books.project_balances(db, select(P.id).where(P.id == record.id))[0]
    allocations = [
        {"fund": fund, "fund_name": name, "source": source, "amount": int(amount),
         "allocated_on": allocated_on}
        for fund, name, source, amount, allocated_on in db.execute(
            select(F.number, F.name, F.source, A.amount, A.allocated_on)
            .join(F, F.id == A.fund_id).where(A.project_id == record.id).order_by(F.number))]
    return {**asdict(balance), "kind": record.kind, "status": record.status,
            "start_on": record.start_on, "end_on": record.end_on,
            "closed_on": record.closed_on, "allocations": allocations}


@reads(Action.READ_FUNDS)
def payment_page(db: Session, *, principal: Principal, number: str,
                 after: tuple[date, str] | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """Up to ``limit`` payments of project ``number`` after (date, payment number)
    ``after``, as the project's page lists them: a payee outside the region withheld, ID
    and account numbers masked unless ``principal`` sees identifiers."""
    record = _project(db, principal, number)
    return [books._payment_row(p, principal)
            for p in payments(db, project_id=record.id, after=after, limit=limit)]
