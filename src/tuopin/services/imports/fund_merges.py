"""How staged rows of the books of funds are merged (see storage.bulk.merge).

Funds and projects are upserted by number, allocations by (fund, project). A payment is
inserted once and never updated (the checks refuse a changed one); a reversal's link to
the payment it reverses is set after every row of the file is in, since the reversed
payment may come in the same file.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, select, update

from tuopin.storage.bulk import MergeCounts, merge
from tuopin.storage.models import (
    AllocationRecord,
    DisbursementRecord,
    FundRecord,
    ProjectRecord,
    table_of,
)

fund = table_of(FundRecord)
project = table_of(ProjectRecord)
allocation = table_of(AllocationRecord)
payment = table_of(DisbursementRecord)

FUND_COLUMNS = ("number", "name", "source", "year", "amount", "region_code", "received_on")
PROJECT_COLUMNS = ("number", "name", "region_code", "kind", "budget", "start_on", "end_on",
                   "status", "closed_on")
PAYMENT_COLUMNS = ("number", "payee_id_number", "payee_household", "amount", "paid_on",
                   "channel", "account")


def merge_funds(conn: Connection, staging: Table) -> MergeCounts:
    return merge(conn, target=fund, source=staging, key=("number",),
                 values={c: staging.c[c] for c in FUND_COLUMNS}, versioned=True)


def merge_projects(conn: Connection, staging: Table) -> MergeCounts:
    return merge(conn, target=project, source=staging, key=("number",),
                 values={c: staging.c[c] for c in PROJECT_COLUMNS}, versioned=True)


def merge_allocations(conn: Connection, staging: Table) -> MergeCounts:
    return merge(conn, target=allocation, source=staging, key=("fund_id", "project_id"),
                 values={"fund_id": fund.c.id, "project_id": project.c.id,
                         "amount": staging.c.amount, "allocated_on": staging.c.allocated_on},
                 joins=[(fund, fund.c.number == staging.c.fund),
                        (project, project.c.number == staging.c.project)])


def merge_disbursements(conn: Connection, staging: Table) -> MergeCounts:
    counts = merge(conn, target=payment, source=staging, key=("number",),
                   values={"project_id": project.c.id,
                           **{c: staging.c[c] for c in PAYMENT_COLUMNS}},
                   joins=[(project, project.c.number == staging.c.project)])
    reversed_ = payment.alias("reversed")
    reversed_id = (select(reversed_.c.id)
                   .select_from(staging.join(reversed_, reversed_.c.number == staging.c.reverses))
                   .where(staging.c.number == payment.c.number).scalar_subquery())
    conn.execute(update(payment)
                 .where(payment.c.reverses_id.is_(None),
                        payment.c.number.in_(select(staging.c.number)
                                             .where(staging.c.reverses.is_not(None))))
                 .values(reverses_id=reversed_id))
    return counts
