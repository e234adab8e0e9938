"""The checks of the books of funds: one Ibis expression per rule, on any engine.

Each rule's query gives one row per finding: ``subject`` (a payment's, project's or fund's
number), ``amount`` (int64 fen), the numbers of related records (``RELATED``) and the facts
its explanation names (domain.fund_rules.RULES), and ``variant`` where a rule explains
itself in more than one way. The rules read the shared tables of analytics.fund_tables,
already confined to the caller's region; the books are read as they stood on ``as_of``:
payments, allocations and funds dated later are not in them yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir

from tuopin.analytics.fund_tables import (
    BOOKS,
    Books,
    Check,
    Prepared,
    books,
    days,
    prepare,
)
from tuopin.domain.enums import HouseholdStatus, ProjectStatus

__all__ = ["BOOKS", "QUERIES", "RELATED", "Books", "Check", "Prepared", "books", "prepare",
           "run"]

FINISHED = (ProjectStatus.COMPLETED.value, ProjectStatus.CLOSED.value)
# significant digits of a region code by its level (domain.regions: a prefix match)
DIGITS = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}


# -- payments ---------------------------------------------------------------------------------

def _payment_rows(t: ir.Table, **facts: Any) -> ir.Table:
    """One finding per payment of ``t``, with ``facts``."""
    return t.select(subject=t.number, amount=t.amount, project=t.project,
                    paid_on=t.paid_on, **facts)


def payee_not_registered(p: Prepared, check: Check) -> ir.Table:
    t = p.payments
    no_member = t.payee_id_number.notnull() & t.m_id.isnull()
    no_home = t.payee_household.notnull() & t.n_id.isnull()
    t = t.filter(no_member | no_home)
    return _payment_rows(
        t, household=t.household,
        payee_id_number=ibis.ifelse(no_member, t.payee_id_number, ibis.null("string")),
        payee_household=ibis.ifelse(no_home, t.payee_household, ibis.null("string")))


def payee_deceased(p: Prepared, check: Check) -> ir.Table:
    t = p.payments
    t = t.filter(t.m_id.notnull() & t.deceased_date.notnull() & (t.paid_on >= t.deceased_date))
    return _payment_rows(t, household=t.household, name=t.name,
                         deceased_date=t.deceased_date)


def duplicate_payment(p: Prepared, check: Check) -> ir.Table:
    """The later of two standing payments to one payee by one project, within the window."""
    t = p.payments
    # the payee: the person when an ID number is given, else the household paid as a whole
    t = t.mutate(by_person=t.payee_id_number.notnull(),
                 payee_key=ibis.coalesce(t.payee_id_number, t.payee_household))
    e = t.select(e_number=t.number, e_project=t.project_id, e_by_person=t.by_person,
                 e_key=t.payee_key, e_paid_on=t.paid_on)
    pairs = t.join(e, [
        t.project_id == e.e_project, t.payee_key == e.e_key, t.by_person == e.e_by_person,
        (e.e_paid_on < t.paid_on) | ((e.e_paid_on == t.paid_on) & (e.e_number < t.number)),
        days(t.paid_on, e.e_paid_on) <= check.rules.duplicate_window_days,
    ])
    later = pairs.group_by(later_id=pairs.id).aggregate(
        earlier=pairs.e_number.group_concat(";"),
        days=days(pairs.paid_on, pairs.e_paid_on).min())
    t = t.join(later, t.id == later.later_id)
    # whom it went to: the member's name, else the numbers as typed (services.funds.checks)
    return _payment_rows(t, household=t.household, payee=t.name,
                         payee_id_number=t.payee_id_number,
                         payee_household=t.payee_household, earlier=t.earlier, days=t.days)


def payee_ineligible(p: Prepared, check: Check) -> ir.Table:
    """Paid to an ordinary household, or one that exited too long before the payment.

    The registry keeps a household's status now and the years it was identified and exited.
    "Never poor, never monitored" is status ordinary with neither year: a household that is
    ordinary again after its monitoring ended (风险消除) keeps its year of identification and
    is not taken for one that was never on the register. An exit is judged by calendar years,
    as the transition period is (exited 2020: payments up to 2025 are within five years).
    """
    t = p.payments
    ordinary = HouseholdStatus.ORDINARY.value
    never = ((t.household_status == ordinary) & t.year_identified.isnull()
             & t.year_exited.isnull())
    exited_long_ago = (t.household_status.isin([ordinary, HouseholdStatus.EXITED.value])
                       & t.year_exited.notnull()
                       & (t.paid_on.year() - t.year_exited > check.rules.years_after_exit))
    t = t.filter(t.household_id.notnull() & (never | exited_long_ago))
    return _payment_rows(t, household=t.household, household_status=t.household_status,
                         year_exited=t.year_exited, variant=ibis.ifelse(never, "", "exited"))


def _inside(code: ir.StringValue, region: ir.StringValue, level: ir.IntegerValue
            ) -> ir.BooleanValue:
    """``code`` lies in ``region`` of ``level``: their significant digits agree."""
    return ibis.cases(*[(level == lv, code.substr(0, n) == region.substr(0, n))
                        for lv, n in DIGITS.items()], else_=False)


def _villages(b: Books) -> ir.Table:
    return b.region.select(v_code=b.region.code, village=b.region.name)


def outside_region(p: Prepared, check: Check) -> ir.Table:
    t, b = p.payments, p.books
    r = b.region.select(r_code=b.region.code, region=b.region.name, level=b.region.level)
    t = t.filter(t.household_id.notnull())
    t = t.join(r, t.region_code == r.r_code)
    t = t.filter(~_inside(t.village_code, t.region_code, t.level))
    v = _villages(b)
    t = t.left_join(v, t.village_code == v.v_code)
    return _payment_rows(t, household=t.household, village=t.village,
                         village_code=t.village_code, region=t.region,
                         region_code=t.region_code)


def conflict_of_interest(p: Prepared, check: Check) -> ir.Table:
    """The payee or a member of the payee's household is a helper assigned, on the day of
    the payment, to a household of the payee's village (dates of the assignment when known).
    Helpers are few: they are matched to the payments last (see ``prepare``)."""
    t = p.payments.filter(p.payments.household_id.notnull())
    k = p.helper_members
    family = t.join(k, [t.household_id == k.k_household, t.village_code == k.a_village])
    family = family.select("id", "paid_on", "helper", "helper_name", "start_date", "end_date")
    a = p.assigned
    payee = t.join(a, [t.payee_id_number == a.person, t.village_code == a.a_village])
    payee = payee.select("id", "paid_on", "helper", "helper_name", "start_date", "end_date")
    found = family.union(payee)
    found = found.filter(found.start_date.isnull() | (found.start_date <= found.paid_on),
                         found.end_date.isnull() | (found.end_date >= found.paid_on))
    pairs = found.select(pay_id=found.id, helper=found.helper,
                         helper_name=found.helper_name).distinct()
    per_payment = pairs.group_by("pay_id").aggregate(
        helpers=pairs.helper.group_concat(";"), people=pairs.helper_name.group_concat(";"))
    t = t.join(per_payment, t.id == per_payment.pay_id)
    v = _villages(p.books)
    t = t.left_join(v, t.village_code == v.v_code)
    return _payment_rows(t, household=t.household, village=t.village, people=t.people,
                         helpers=t.helpers)


# -- projects and funds -----------------------------------------------------------------------

def over_budget(p: Prepared, check: Check) -> ir.Table:
    t = p.projects
    t = t.filter(t.net > t.budget)
    return t.select("subject", amount=t.net - t.budget, budget=t.budget, net=t.net,
                    funds=t.funds)


def over_allocation(p: Prepared, check: Check) -> ir.Table:
    t = p.projects
    t = t.filter(t.net > t.allocated)
    return t.select("subject", amount=t.net - t.allocated, allocated=t.allocated, net=t.net,
                    funds=t.funds)


def stalled_project(p: Prepared, check: Check) -> ir.Table:
    """First given money more than idle_days ago, not finished, and no payment standing."""
    t = p.projects
    t = t.filter(t.allocated_on.notnull(), ~t.status.isin(FINISHED), t.standing == 0)
    t = t.mutate(days=days(check.day, t.allocated_on))
    t = t.filter(t.days > check.rules.idle_days)
    return t.select("subject", amount=t.allocated, allocated=t.allocated,
                    allocated_on=t.allocated_on, days=t.days, status=t.status, funds=t.funds)


def project_overdue(p: Prepared, check: Check) -> ir.Table:
    """Past its end date, not finished; the amount is what it holds and has not paid out."""
    t = p.projects
    t = t.filter(t.end_on < check.day, ~t.status.isin(FINISHED))
    left = t.allocated - t.net
    return t.select("subject", amount=ibis.ifelse(left > 0, left, 0), end_on=t.end_on,
                    days=days(check.day, t.end_on), status=t.status, net=t.net,
                    allocated=t.allocated, funds=t.funds)


def fund_overcommitted(p: Prepared, check: Check) -> ir.Table:
    t = p.funds
    t = t.filter(t.allocated > t.fund_amount)
    return t.select("subject", amount=t.allocated - t.fund_amount, fund_amount=t.fund_amount,
                    allocated=t.allocated, projects=t.projects)


def idle_funds(p: Prepared, check: Check) -> ir.Table:
    t = p.funds
    t = t.mutate(days=days(check.day, t.received_on))
    t = t.filter(t.days > check.rules.idle_days, t.allocated < t.fund_amount)
    return t.select("subject", amount=t.fund_amount - t.allocated, fund_amount=t.fund_amount,
                    allocated=t.allocated, received_on=t.received_on, days=t.days,
                    projects=t.projects)


Query = Callable[[Prepared, Check], ir.Table]
QUERIES: dict[str, Query] = {
    "payee_not_registered": payee_not_registered, "payee_deceased": payee_deceased,
    "duplicate_payment": duplicate_payment, "payee_ineligible": payee_ineligible,
    "outside_region": outside_region, "conflict_of_interest": conflict_of_interest,
    "over_budget": over_budget, "over_allocation": over_allocation,
    "fund_overcommitted": fund_overcommitted, "idle_funds": idle_funds,
    "stalled_project": stalled_project, "project_overdue": project_overdue,
}
# Columns naming related records, in the order a finding lists them (';'-lists allowed).
RELATED: dict[str, tuple[str, ...]] = {
    "payee_not_registered": ("project", "household"),
    "payee_deceased": ("project", "household"),
    "duplicate_payment": ("earlier", "project", "household"),
    "payee_ineligible": ("project", "household"),
    "outside_region": ("project", "household"),
    "conflict_of_interest": ("project", "household", "helpers"),
    "over_budget": ("funds",), "over_allocation": ("funds",),
    "stalled_project": ("funds",), "project_overdue": ("funds",),
    "fund_overcommitted": ("projects",), "idle_funds": ("projects",),
}


def run(registry: Any, check: Check) -> dict[str, list[dict[str, Any]]]:
    """Every rule's findings on ``registry``'s engine, as rows of Python values."""
    prepared = prepare(registry, check)
    return {rule.id: QUERIES[rule.id](prepared, check).to_pyarrow().to_pylist()
            for rule in check.rules.rules}
