"""Checks of staged rows of the books of funds against the database, as set-based queries.

Funds and projects live in a region that must exist; an allocation joins a fund and a
project that exist; a payment belongs to a project that exists. A payment is never changed
in place: one already stored under its number must be the same in every field, and a wrong
one is corrected by a reversal (the opposite amount, the same project, naming it) and a new
payment. A payment is reversed only once, and a reversal is not itself reversed. For a
principal confined to a region, every row must lie inside it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Table, not_, or_, select

from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.io.validate import Validated
from tuopin.services.imports.checks import _absent, _report
from tuopin.storage.models import (
    DisbursementRecord,
    FundRecord,
    ProjectRecord,
    RegionRecord,
    table_of,
)
from tuopin.storage.scope import in_region

region = table_of(RegionRecord)
fund = table_of(FundRecord)
project = table_of(ProjectRecord)
payment = table_of(DisbursementRecord)

NO_REGION = N_("Region {code} is not in the registry: import the regions first.")
NO_FUND = N_("Fund {number} is not in the books: import the funds first.")
NO_PROJECT = N_("Project {number} is not in the books: import the projects first.")
NO_PAYMENT = N_("Payment {number} is neither in the file nor in the books.")
CHANGED = N_("Payment {number} is already in the books with other details: a disbursement "
             "is corrected by a reversal and a new payment.")
NOT_MATCHING = N_("A reversal has minus the amount of the payment it reverses ({amount}).")
OTHER_PROJECT = N_("A reversal belongs to the project of the payment it reverses ({project}).")
REVERSED_BEFORE = N_("Payment {number} was already reversed by payment {other}.")
REVERSES_REVERSAL = N_("Payment {number} is itself a reversal: it cannot be reversed.")
WITH_REFUSED = N_("The payment it reverses (row {other}) is refused, so this reversal is "
                 "refused with it.")
OUTSIDE = N_("Region {code} is outside your region.")
PAYMENT_COLUMNS = ("payee_id_number", "payee_household", "amount", "paid_on", "channel",
                   "account")


def _region_exists(conn: Connection, staging: Table, validated: Validated) -> None:
    rows = conn.execute(select(staging.c._row, staging.c.region_code).where(
        staging.c.region_code.is_not(None), _absent(region.c.code, staging.c.region_code)))
    _report(validated, rows, "region_code", NO_REGION, code="region_code")


def check_funds(conn: Connection, staging: Table, validated: Validated,
                scope: Scope | None = None) -> None:
    _region_exists(conn, staging, validated)


def check_projects(conn: Connection, staging: Table, validated: Validated,
                   scope: Scope | None = None) -> None:
    _region_exists(conn, staging, validated)


def _known(conn: Connection, staging: Table, validated: Validated, column: str, target: Table,
           reason: str) -> None:
    rows = conn.execute(select(staging.c._row, staging.c[column]).where(
        staging.c[column].is_not(None), _absent(target.c.number, staging.c[column])))
    _report(validated, rows, column, reason, number=column)


def check_allocations(conn: Connection, staging: Table, validated: Validated,
                      scope: Scope | None = None) -> None:
    _known(conn, staging, validated, "fund", fund, NO_FUND)
    _known(conn, staging, validated, "project", project, NO_PROJECT)


def check_disbursements(conn: Connection, staging: Table, validated: Validated,
                        scope: Scope | None = None) -> None:
    """The project exists; a stored payment is unchanged; reversals match what they reverse."""
    _known(conn, staging, validated, "project", project, NO_PROJECT)
    stored, was = payment.alias("stored"), payment.alias("was")
    stored_project = project.alias("stored_project")
    changed = conn.execute(
        select(staging.c._row, staging.c.number)
        .join(stored, stored.c.number == staging.c.number)
        .join(stored_project, stored_project.c.id == stored.c.project_id)
        .outerjoin(was, was.c.id == stored.c.reverses_id)
        .where(or_(stored_project.c.number != staging.c.project,
                   was.c.number.is_distinct_from(staging.c.reverses),
                   *[stored.c[c].is_distinct_from(staging.c[c]) for c in PAYMENT_COLUMNS])))
    _report(validated, changed, "number", CHANGED, number="number")
    _check_reversals(conn, staging, validated)
    _refuse_with_reversed(conn, staging, validated)


def _check_reversals(conn: Connection, staging: Table, validated: Validated) -> None:
    in_file = staging.alias("in_file")
    reversal = staging.c.reverses.is_not(None)
    missing = conn.execute(select(staging.c._row, staging.c.reverses).where(
        reversal, _absent(payment.c.number, staging.c.reverses),
        _absent(in_file.c.number, staging.c.reverses)))
    _report(validated, missing, "reverses", NO_PAYMENT, number="reverses")
    # what is reversed: the stored payment, else the one in the file
    for target, project_number in (
        (payment, select(project.c.number).where(project.c.id == payment.c.project_id)
         .scalar_subquery()),
        (in_file, in_file.c.project),
    ):
        base = select(staging.c._row).join(target, target.c.number == staging.c.reverses)
        if target is in_file:
            base = base.where(_absent(payment.c.number, staging.c.reverses))
        wrong_amount = conn.execute(base.add_columns(target.c.amount).where(
            reversal, staging.c.amount != -target.c.amount))
        _report(validated, wrong_amount, "amount", NOT_MATCHING, amount="amount")
        wrong_project = conn.execute(base.add_columns(project_number.label("reversed")).where(
            reversal, staging.c.project != project_number))
        _report(validated, wrong_project, "project", OTHER_PROJECT, project="reversed")
        of_reversal = conn.execute(base.add_columns(staging.c.reverses).where(
            reversal, target.c.reverses.is_not(None) if target is in_file
            else target.c.reverses_id.is_not(None)))
        _report(validated, of_reversal, "reverses", REVERSES_REVERSAL, number="reverses")
    earlier = payment.alias("earlier")
    reversed_before = conn.execute(
        select(staging.c._row, staging.c.reverses, earlier.c.number.label("other"))
        .join(payment, payment.c.number == staging.c.reverses)
        .join(earlier, earlier.c.reverses_id == payment.c.id)
        .where(earlier.c.number != staging.c.number))
    _report(validated, reversed_before, "reverses", REVERSED_BEFORE, number="reverses",
            other="other")


def _refuse_with_reversed(conn: Connection, staging: Table, validated: Validated) -> None:
    """A reversal of a payment of the same file that is refused is refused too: imported
    alone (``--skip-invalid``) it would be a negative payment that reverses nothing."""
    in_file = staging.alias("in_file")
    pairs = conn.execute(
        select(staging.c._row, in_file.c._row.label("other"))
        .join(in_file, in_file.c.number == staging.c.reverses)
        .where(_absent(payment.c.number, staging.c.reverses))).all()
    bad = {p.row for p in validated.problems}
    for row, other in pairs:
        if other in bad and row not in bad:
            validated.add_at_row(row, "reverses", WITH_REFUSED, other=str(other))


def _outside(conn: Connection, validated: Validated, query: object, name: str) -> None:
    rows = conn.execute(query)  # type: ignore[call-overload]
    _report(validated, rows, name, OUTSIDE, code="code")


def _scope_by_region(target: Table) -> Callable[[Connection, Table, Validated, Scope], None]:
    """The scope check of a kind whose rows name their own region (funds, projects): the
    region given is inside the scope, and no row takes over a record of a region outside."""
    def check(conn: Connection, staging: Table, validated: Validated, scope: Scope) -> None:
        _outside(conn, validated, select(staging.c._row, staging.c.region_code.label("code"))
                 .where(staging.c.region_code.is_not(None),
                        not_(in_region(scope, staging.c.region_code))), "region_code")
        _outside(conn, validated, select(staging.c._row, target.c.region_code.label("code"))
                 .join(target, target.c.number == staging.c.number)
                 .where(not_(in_region(scope, target.c.region_code))), "number")
    return check


scope_funds = _scope_by_region(fund)
scope_projects = _scope_by_region(project)


def scope_allocations(conn: Connection, staging: Table, validated: Validated,
                      scope: Scope) -> None:
    for column, target in (("fund", fund), ("project", project)):
        _outside(conn, validated, select(staging.c._row, target.c.region_code.label("code"))
                 .join(target, target.c.number == staging.c[column])
                 .where(not_(in_region(scope, target.c.region_code))), column)


def scope_disbursements(conn: Connection, staging: Table, validated: Validated,
                        scope: Scope) -> None:
    _outside(conn, validated, select(staging.c._row, project.c.region_code.label("code"))
             .join(project, project.c.number == staging.c.project)
             .where(not_(in_region(scope, project.c.region_code))), "project")

