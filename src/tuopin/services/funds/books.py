"""The books of funds as their keepers read them: balances, one project's books, and the
list of its payments a village posts in public (公示).

Every amount is integer fen; the doors show it with ``fen_text`` ("1234.50").

Balances. Per project: ``budget``; ``allocated``, the sum of its allocations; ``disbursed``,
the sum of its payments (the positive amounts, a payment later reversed included);
``reversed``, the sum of what its reversals took back, as a positive figure;
``net = disbursed - reversed`` (the sum of every amount); ``remaining = allocated - net``
(negative when the project paid more than it was given). Per fund: ``amount``;
``allocated``, the sum of its allocations to any project; ``unallocated = amount -
allocated`` (negative when the fund is overcommitted); ``disbursed``, its share of what its
projects paid, net.

A fund's share. A project paid from several funds spends them in proportion to what each
allocated to it: fund f's exact share of project p's net is ``net_p * a_fp / sum_g a_gp``.
Shares are rounded to the fen by the largest-remainder method (domain.fen.split_fen): each
fund gets the whole fen of its exact share, and the fen left over go one each to the funds
with the largest remainders, a tie to the fund with the smaller number. A project's shares
thus add up to its net exactly, and a fund's ``disbursed`` is the sum of its shares (off by
less than one fen per project from the exact share). A project's net without any allocation
is no fund's share (the over_allocation check finds it).

The sums run in the database - payments never leave it, only one sum per project - and the
split runs over allocation rows. Scope: a project by its region, a fund by its region (its
figures then cover every project it pays for); a payment is a project's. A payee registered
in a household outside the reader's region is withheld from the lists (services.funds.payees).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel
from tuopin.domain.errors import NotFound, RuleBroken
from tuopin.domain.fen import fen_text, split_fen
from tuopin.domain.scope import Scope
from tuopin.i18n import N_, normalize_lang, translate
from tuopin.io.writers import write_table
from tuopin.services.access.masking import shown
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.services.funds.payees import Payment, payments
from tuopin.storage.models import (
    AllocationRecord,
    DisbursementRecord,
    FundRecord,
    ProjectRecord,
    RegionRecord,
)
from tuopin.storage.scope import in_region

A, D, F, P = AllocationRecord, DisbursementRecord, FundRecord, ProjectRecord
# DOMAIN.md, "Funds": a project's money and beneficiaries are posted "normally for at least
# 10 days" (公告公示, 国开办发〔2017〕48号); TUOPIN_FUNDS_NOTICE_DAYS may lengthen it
NOTICE_DAYS = 10
NOT_BOTH = N_("Give a fund or a project, not both.")
NOT_REGISTERED = N_("(not in the registry)")
WITHHELD = N_("(registered outside your region)")
TITLE = N_("Public notice (公示) of payments: {project} ({number}), {region}")
PERIOD = N_("Notice period: {days} days from the day this list is posted.")
OBJECT_TO_VILLAGE = N_("Objections during the notice go to the village committee of "
                       "{village} or to the poverty alleviation office (县扶贫办) of {county}.")
OBJECT_TO_COUNTY = N_("Objections during the notice go to the payee's village committee or "
                      "to the poverty alleviation office (县扶贫办) of {county}.")
THE_COUNTY = N_("the county")
TOTAL = N_("Payments: {count}; in all: {total} yuan.")
COLUMNS = {"project": N_("Project"), "payee": N_("Payee"), "village": N_("Village"),
           "amount": N_("Amount (yuan)"), "paid_on": N_("Paid on")}


@dataclass(frozen=True)
class ProjectBalance:
    project: str
    name: str
    region_code: str
    budget: int
    allocated: int
    disbursed: int  # payments, a payment later reversed included
    reversed: int  # what reversals took back, positive
    net: int  # disbursed - reversed
    remaining: int  # allocated - net


@dataclass(frozen=True)
class FundBalance:
    fund: str
    name: str
    region_code: str
    amount: int
    allocated: int
    unallocated: int  # amount - allocated
    disbursed: int  # its shares of its projects' nets


@dataclass(frozen=True)
class Balances:
    projects: list[ProjectBalance]
    funds: list[FundBalance]

    @property
    def totals(self) -> dict[str, int]:
        """The projects' figures added up (the dashboard's funds card)."""
        names = ("budget", "allocated", "disbursed", "reversed", "net", "remaining")
        return {n: sum(getattr(p, n) for p in self.projects) for n in names}


def _projects_in(scope: Scope, *, project: str | None, fund: str | None) -> Select:
    query = select(P.id).where(in_region(scope, P.region_code))
    if project is not None:
        query = query.where(P.number == project)
    if fund is not None:
        query = query.where(P.id.in_(select(A.project_id).join(F, F.id == A.fund_id)
                                     .where(F.number == fund)))
    return query


def _funds_in(scope: Scope, *, project: str | None, fund: str | None) -> Select:
    query = select(F.id).where(in_region(scope, F.region_code))
    if fund is not None:
        query = query.where(F.number == fund)
    if project is not None:
        query = query.where(F.id.in_(select(A.fund_id).join(P, P.id == A.project_id)
                                     .where(P.number == project)))
    return query


def _sum(value: Any) -> int:
    return int(value or 0)  # PostgreSQL sums bigints as numeric: Decimal, exact


def project_balances(db: Session, ids: Select) -> list[ProjectBalance]:
    """The balance of every project whose id ``ids`` selects, by number."""
    allocated = (select(A.project_id, func.sum(A.amount).label("allocated"))
                 .where(A.project_id.in_(ids)).group_by(A.project_id).subquery("allocated"))
    paid = (select(D.project_id,
                   func.sum(case((D.amount > 0, D.amount), else_=0)).label("disbursed"),
                   func.sum(case((D.amount < 0, -D.amount), else_=0)).label("reversed"))
            .where(D.project_id.in_(ids)).group_by(D.project_id).subquery("paid"))
    rows = db.execute(
        select(P.number, P.name, P.region_code, P.budget, allocated.c.allocated,
               paid.c.disbursed, paid.c.reversed)
        .outerjoin(allocated, allocated.c.project_id == P.id)
        .outerjoin(paid, paid.c.project_id == P.id)
        .where(P.id.in_(ids)).order_by(P.number))
    found = []
    for number, name, region_code, budget, allocated_, disbursed, reversed_ in rows:
        net = _sum(disbursed) - _sum(reversed_)
        found.append(ProjectBalance(
            project=number, name=name, region_code=region_code, budget=int(budget),
            allocated=_sum(allocated_), disbursed=_sum(disbursed), reversed=_sum(reversed_),
            net=net, remaining=_sum(allocated_) - net))
    return found


def _shares(db: Session, fund_ids: Select) -> dict[int, int]:
    """Each fund's share of the nets of the projects it allocated to (see the docstring)."""
    paid_for = select(A.project_id).where(A.fund_id.in_(fund_ids))
    nets = dict(db.execute(select(D.project_id, func.sum(D.amount))
                           .where(D.project_id.in_(paid_for)).group_by(D.project_id)).all())
    weights: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for project_id, fund_id, number, amount in db.execute(
            select(A.project_id, A.fund_id, F.number, A.amount).join(F, F.id == A.fund_id)
            .where(A.project_id.in_(paid_for))):
        weights[project_id].append((number, fund_id, int(amount)))
    shares: dict[int, int] = defaultdict(int)
    for project_id, funds in weights.items():
        funds.sort()  # the fund with the smaller number wins a tie
        parts = split_fen(_sum(nets.get(project_id)), [amount for _, _, amount in funds])
        for (_, fund_id, _), part in zip(funds, parts, strict=True):
            shares[fund_id] += part
    return shares


def fund_balances(db: Session, ids: Select) -> list[FundBalance]:
    """The balance of every fund whose id ``ids`` selects, by number."""
    allocated = (select(A.fund_id, func.sum(A.amount).label("allocated"))
                 .where(A.fund_id.in_(ids)).group_by(A.fund_id).subquery("allocated"))
    rows = db.execute(
        select(F.id, F.number, F.name, F.region_code, F.amount, allocated.c.allocated)
        .outerjoin(allocated, allocated.c.fund_id == F.id)
        .where(F.id.in_(ids)).order_by(F.number)).all()
    shares = _shares(db, ids) if rows else {}
    return [FundBalance(fund=number, name=name, region_code=region_code, amount=int(amount),
                        allocated=_sum(allocated_), unallocated=int(amount) - _sum(allocated_),
                        disbursed=shares.get(fund_id, 0))
            for fund_id, number, name, region_code, amount, allocated_ in rows]


def _narrowed(scope: Scope, region: str | None) -> Scope | None:
    """``scope`` narrowed to ``region``: the region when inside the scope, the scope when
    the region holds it (what the reader sees of it), None when the two are apart."""
    if region is None:
        return scope
    code = regions.normalize(region)
    if scope.covers(code):
        return Scope(code, households=scope.households)
    if scope.region_code and regions.is_within(scope.region_code, code):
        return scope
    return None


@reads(Action.READ_FUNDS)
def balances(db: Session, *, principal: Principal, fund: str | None = None,
             project: str | None = None, region: str | None = None) -> Balances:
    """The balances of the projects and funds in ``principal``'s region (narrowed to
    ``region``): of one fund and the projects it pays for, or of one project and its funds."""
    if fund is not None and project is not None:
        raise RuleBroken(NOT_BOTH)
    scope = _narrowed(principal.scope, region)
    found = Balances(projects=[], funds=[]) if scope is None else Balances(
        projects=project_balances(db, _projects_in(scope, project=project, fund=fund)),
        funds=fund_balances(db, _funds_in(scope, project=project, fund=fund)))
    if project is not None and not found.projects:
        raise NotFound(f"project {project} not found")
    if fund is not None and not found.funds:
        raise NotFound(f"fund {fund} not found")
    return found


def _project(db: Session, scope: Scope, number: str) -> ProjectRecord:
    found = db.scalars(select(P).where(P.number == number,
                                       in_region(scope, P.region_code))).first()
    if found is None:
        raise NotFound(f"project {number} not found")
    return found


def _payment_row(payment: Payment, principal: Principal) -> dict[str, Any]:
    clear = principal.sees_identifiers
    withheld = payment.outside(principal.scope)
    return {
        "number": payment.number,
        "payee": None if withheld else shown("payee_id_number", payment.payee_id_number,
                                             clear).text or None,
        "payee_name": None if withheld else payment.name,
        "household": None if withheld else payment.household,
        "village_code": None if withheld else payment.village_code,
        "registered": payment.registered,
        "amount": payment.amount,
        "paid_on": payment.paid_on,
        "channel": payment.channel,
        # masking's "account": only the last four digits stay
        "account": None if withheld else shown("account", payment.account, clear).text or None,
        "reverses": payment.reverses,
        "reversed_by": payment.reversed_by,
        "withheld": withheld,
    }


@reads(Action.READ_FUNDS)
def show(db: Session, *, principal: Principal, project: str) -> dict[str, Any]:
    """A project with its balance, its allocations and its payments (amounts in fen; ID and
    account numbers masked unless ``principal`` sees identifiers)."""
    record = _project(db, principal.scope, project)
    balance = project_balances(db, select(P.id).where(P.id == record.id))[0]
    allocations = [
        {"fund": number, "fund_name": name, "source": source, "amount": int(amount),
         "allocated_on": allocated_on}
        for number, name, source, amount, allocated_on in db.execute(
            select(F.number, F.name, F.source, A.amount, A.allocated_on)
            .join(F, F.id == A.fund_id).where(A.project_id == record.id).order_by(F.number))]
    return {
        "project": {**asdict(balance), "kind": record.kind, "status": record.status,
                    "start_on": record.start_on, "end_on": record.end_on,
                    "closed_on": record.closed_on},
        "allocations": allocations,
        "payments": [_payment_row(p, principal) for p in payments(db, project_id=record.id)],
        "masked": not principal.sees_identifiers,
    }


@dataclass(frozen=True)
class DisclosureRow:
    project: str  # the project's name
    payee: str  # a name, or NOT_REGISTERED / WITHHELD in the disclosure's language
    village: str  # the payee household's village, "" when not in the registry
    amount: int  # fen
    paid_on: date


@dataclass(frozen=True)
class Disclosure:
    """The list a village posts: the heading lines, then one row a payment."""

    project: str  # the number
    name: str
    lang: str
    notice_days: int
    heading: tuple[str, ...]
    rows: tuple[DisclosureRow, ...]

    @property
    def total(self) -> int:
        return sum(r.amount for r in self.rows)

    @property
    def columns(self) -> dict[str, str]:
        """The column titles in the disclosure's language."""
        return {name: translate(title, self.lang) for name, title in COLUMNS.items()}


def _county_of(code: str) -> str | None:
    for candidate in [*regions.ancestors(code), code]:
        if regions.level_of(candidate) is RegionLevel.COUNTY:
            return candidate
    return None


def _heading(db: Session, record: ProjectRecord, rows: list[DisclosureRow], *, lang: str,
             notice_days: int) -> tuple[str, ...]:
    county = _county_of(record.region_code)
    names = dict(db.execute(select(RegionRecord.code, RegionRecord.name).where(
        RegionRecord.code.in_([record.region_code, county or record.region_code]))).all())
    region = names.get(record.region_code, record.region_code)
    county_name = names.get(county, county) if county else translate(THE_COUNTY, lang)
    at_village = regions.level_of(record.region_code) is RegionLevel.VILLAGE
    objections = (translate(OBJECT_TO_VILLAGE, lang, village=region, county=county_name)
                  if at_village else translate(OBJECT_TO_COUNTY, lang, county=county_name))
    return (translate(TITLE, lang, project=record.name, number=record.number, region=region),
            translate(PERIOD, lang, days=notice_days),
            objections,
            translate(TOTAL, lang, count=len(rows), total=fen_text(sum(r.amount for r in rows))))


@reads(Action.DISCLOSE_FUNDS)
def disclosure(db: Session, *, principal: Principal, project: str, lang: str,
               notice_days: int = NOTICE_DAYS) -> Disclosure:
    """The list of a project's payments for public notice: payee name, village, amount and
    date of every payment that stands (neither reversed nor a reversal) - no ID, phone or
    account number - under a heading with the notice period and where objections go."""
    lang = normalize_lang(lang)
    record = _project(db, principal.scope, project)
    standing = [p for p in payments(db, project_id=record.id) if p.standing]
    villages = {p.village_code for p in standing if p.village_code}
    names = dict(db.execute(select(RegionRecord.code, RegionRecord.name)
                            .where(RegionRecord.code.in_(sorted(villages)))).all())
    rows = []
    for p in standing:
        withheld = p.outside(principal.scope)
        if withheld:
            payee = translate(WITHHELD, lang)
        elif not p.registered:
            payee = translate(NOT_REGISTERED, lang)
        else:
            payee = p.name or "-"
        village = ("" if withheld or p.village_code is None
                   else names.get(p.village_code, p.village_code))
        rows.append(DisclosureRow(project=record.name, payee=payee, village=village,
                                  amount=p.amount, paid_on=p.paid_on))
    return Disclosure(project=record.number, name=record.name, lang=lang,
                      notice_days=notice_days,
                      heading=_heading(db, record, rows, lang=lang, notice_days=notice_days),
                      rows=tuple(rows))


def write_disclosure(found: Disclosure, path: Path) -> int:
    """Write a disclosure as CSV or XLSX (by the suffix): the heading lines, then the table
    with its titles in the disclosure's language; amounts as text ("1234.50"), never a
    float. Returns the number of payments written."""
    table = pa.table({
        "project": pa.array([r.project for r in found.rows], pa.string()),
        "payee": pa.array([r.payee for r in found.rows], pa.string()),
        "village": pa.array([r.village for r in found.rows], pa.string()),
        "amount": pa.array([fen_text(r.amount) for r in found.rows], pa.string()),
        "paid_on": pa.array([r.paid_on for r in found.rows], pa.date32()),
    })
    return write_table(table, path, headers=found.columns, preamble=found.heading)
