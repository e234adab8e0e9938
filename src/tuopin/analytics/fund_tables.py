"""The tables the funds checks read and share: the books of a registry, the payments that
stand with their payees resolved, projects and funds with their sums, and the helpers.

Every table is confined to the caller's region here, in the query (see ``in_scope``); the
rules (analytics.funds) read these. Only operations that agree on SQLite, PostgreSQL and
DuckDB are used (STACK.md): joins, anti-joins, group-by with sum/min/count/group_concat,
date deltas in days; no interval arithmetic (SQLite has none).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from tuopin.domain.errors import ConfigurationError
from tuopin.domain.fund_rules import FundRules

BOOKS = ("region", "household", "member", "helper", "helper_assignment", "fund", "project",
         "allocation", "disbursement")


@dataclass(frozen=True)
class Books:
    """The tables the checks read, each with its canonical schema."""

    region: ir.Table
    household: ir.Table
    member: ir.Table
    helper: ir.Table
    helper_assignment: ir.Table
    fund: ir.Table
    project: ir.Table
    allocation: ir.Table
    disbursement: ir.Table


def books(registry: Any) -> Books:
    """The books of a registry opened by analytics.backends (a snapshot may be too old)."""
    missing = [name for name in BOOKS if getattr(registry, name, None) is None]
    if missing:
        raise ConfigurationError(f"the data lack {', '.join(missing)}: take a new snapshot "
                                 "(`tuopin snapshot`), this one is older than the books of funds")
    return Books(**{name: getattr(registry, name) for name in BOOKS})


@dataclass(frozen=True)
class Check:
    """What every rule's query needs: the thresholds, the day, the caller's region prefix."""

    rules: FundRules
    as_of: date
    scope_prefix: str = ""

    @property
    def day(self) -> ir.DateScalar:
        return ibis.date(self.as_of)


@dataclass(frozen=True)
class Prepared:
    """The books and what the rules share: payments with their payees, projects and funds
    with their sums, each already confined to the caller's region."""

    books: Books
    payments: ir.Table
    projects: ir.Table
    funds: ir.Table
    assigned: ir.Table  # helpers by the villages they are assigned in
    helper_members: ir.Table  # helpers who are members of a household


def in_scope(check: Check, *codes: ir.StringValue) -> ir.BooleanValue:
    """True when any of ``codes`` lies in the caller's region (NULL codes never do)."""
    if not check.scope_prefix:
        return ibis.literal(True)
    found = [code.startswith(check.scope_prefix).fill_null(False) for code in codes]
    result = found[0]
    for more in found[1:]:
        result = result | more
    return result


def days(later: ir.DateValue, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole days from ``earlier`` to ``later``."""
    return later.delta(earlier, unit="day").cast("int64")


def fen(value: ir.NumericValue) -> ir.IntegerValue:
    # PostgreSQL sums BIGINT as NUMERIC and DuckDB as HUGEINT: back to int64 fen
    return value.cast("int64")


# -- payments ---------------------------------------------------------------------------------

def standing(b: Books, check: Check) -> ir.Table:
    """Payments made by ``as_of`` that stand: neither a reversal nor reversed by then."""
    d = b.disbursement
    paid = d.filter(d.paid_on <= check.day)
    reversed_ids = paid.filter(paid.reverses_id.notnull()).select(rid=paid.reverses_id)
    kept = paid.filter(paid.reverses_id.isnull())
    return kept.anti_join(reversed_ids, kept.id == reversed_ids.rid).select(*kept.columns)


def payments(b: Books, check: Check) -> ir.Table:
    """Standing payments in the caller's region, with their project and their payee
    resolved in the registry.

    The payee is the member with the payee's ID number (their household is the payee's
    household), else the household with the payee's household number; either may be absent.
    """
    s = standing(b, check)
    m = b.member.select(m_id=b.member.id, m_household=b.member.household_id,
                        m_id_number=b.member.id_number, name=b.member.name,
                        deceased_date=b.member.deceased_date)
    by_number = b.household.select(n_id=b.household.id, n_number=b.household.number)
    h = b.household.select(
        household_id=b.household.id, household=b.household.number,
        village_code=b.household.village_code, household_status=b.household.status,
        year_identified=b.household.year_identified, year_exited=b.household.year_exited)
    p = b.project.select(p_id=b.project.id, project=b.project.number,
                         region_code=b.project.region_code)
    # each join names its columns on the chain so far (Ibis refuses the bare inputs here)
    t = s.left_join(m, s.payee_id_number == m.m_id_number)
    t = t.left_join(by_number, t.payee_household == by_number.n_number)
    t = t.mutate(payee_home=ibis.coalesce(t.m_household, t.n_id))
    t = t.left_join(h, t.payee_home == h.household_id)
    t = t.join(p, t.project_id == p.p_id)
    # in the caller's region by the project's region or by the payee household's village
    t = t.filter(in_scope(check, t.region_code, t.village_code))
    return t.select(
        "id", "number", "project_id", "payee_id_number", "payee_household", "amount",
        "paid_on", "m_id", "n_id", "name", "deceased_date", "household_id", "household",
        "village_code", "household_status", "year_identified", "year_exited", "project",
        "region_code")


def assigned_helpers(b: Books) -> ir.Table:
    """Helpers with an ID number, one row per assigned household's village."""
    hp = b.helper.filter(b.helper.id_number.notnull())
    a, h = b.helper_assignment, b.household
    t = hp.join(a, hp.id == a.helper_id)
    t = t.join(h, t.household_id == h.id)
    return t.select(person=t.id_number, helper=t.number, helper_name=t.name,
                    start_date=t.start_date, end_date=t.end_date, a_village=t.village_code)


def helper_members(assigned: ir.Table, b: Books) -> ir.Table:
    """The members of the registry who are helpers, with their household and assignments."""
    m = b.member.select(k_person=b.member.id_number, k_household=b.member.household_id)
    t = m.join(assigned, m.k_person == assigned.person)
    return t.select("k_household", "helper", "helper_name", "start_date", "end_date",
                    "a_village")


# -- projects and funds -----------------------------------------------------------------------

def _allocations(b: Books, check: Check) -> ir.Table:
    a = b.allocation
    return a.filter(a.allocated_on <= check.day)


def projects(b: Books, check: Check) -> ir.Table:
    """Projects in the caller's region with their allocations and net payments on the day
    (net: every payment, reversals negative; standing: how many payments stand)."""
    p = b.project.filter(in_scope(check, b.project.region_code))
    d = b.disbursement.filter(b.disbursement.paid_on <= check.day)
    paid = d.group_by(paid_project=d.project_id).aggregate(net=fen(d.amount.sum()))
    kept = standing(b, check)
    counted = kept.group_by(kept_project=kept.project_id).aggregate(standing=kept.count())
    a = _allocations(b, check)
    f = b.fund.select(f_id=b.fund.id, fund=b.fund.number)
    a = a.join(f, a.fund_id == f.f_id)
    given = a.group_by(given_project=a.project_id).aggregate(
        allocated=fen(a.amount.sum()), allocated_on=a.allocated_on.min(),
        funds=a.fund.group_concat(";"))
    t = (p.left_join(paid, p.id == paid.paid_project)
         .left_join(counted, p.id == counted.kept_project)
         .left_join(given, p.id == given.given_project))
    return t.select(
        subject=t.number, budget=t.budget, end_on=t.end_on, status=t.status,
        net=ibis.coalesce(t.net, 0), allocated=ibis.coalesce(t.allocated, 0),
        allocated_on=t.allocated_on, standing=ibis.coalesce(t.standing, 0), funds=t.funds)


def funds(b: Books, check: Check) -> ir.Table:
    """Funds received by the day in the caller's region, with what they gave to projects."""
    f = b.fund
    f = f.filter(f.received_on <= check.day, in_scope(check, f.region_code))
    a = _allocations(b, check)
    p = b.project.select(p_id=b.project.id, project=b.project.number)
    a = a.join(p, a.project_id == p.p_id)
    given = a.group_by("fund_id").aggregate(allocated=fen(a.amount.sum()),
                                            projects=a.project.group_concat(";"))
    t = f.left_join(given, f.id == given.fund_id)
    return t.select(subject=t.number, fund_amount=t.amount, received_on=t.received_on,
                    allocated=ibis.coalesce(t.allocated, 0), projects=t.projects)


def prepare(registry: Any, check: Check) -> Prepared:
    """The tables the rules share. On DuckDB each is computed once into a temporary table:
    six rules read the payments (resolving millions of payees is most of the work), and a
    rule that joins only finished tables keeps DuckDB's optimizer from reordering a join of
    helpers, households and villages into one that pairs every household of a village (a
    plan measured at over 100 s for a million payments, against under 1 s)."""
    b = books(registry)
    duck = registry.engine == "duckdb"
    tag = uuid.uuid4().hex[:8]

    def kept(name: str, expr: ir.Table) -> ir.Table:
        if not duck:
            return expr
        return registry.backend.create_table(f"funds_{name}_{tag}", expr, temp=True)

    assigned = kept("assigned", assigned_helpers(b))
    return Prepared(
        b, payments=kept("payments", payments(b, check)),
        projects=kept("projects", projects(b, check)), funds=kept("funds", funds(b, check)),
        assigned=assigned, helper_members=kept("helper_members", helper_members(assigned, b)))
