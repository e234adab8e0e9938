"""A county's books of funds: funds, projects, allocations and payments, in the import format.

The books close on 31 December of the last survey year (``SynthConfig.books_closed_on``):
every project has ended by then, completed or closed, every fund is allocated in full
within weeks of its arrival and every payment goes to an eligible, living payee inside the
project's region, so a clean book gives no finding of `tuopin funds check` on that day or
any later one. ``plant_anomalies`` cases of each rule are planted (planting.py, ledger.py)
so that each triggers its own rule and no other on the day the books close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain.enums import ProjectStatus
from tuopin.io.schema import Kind
from tuopin.synth import columns, ledger, payments, planting, programmes
from tuopin.synth.config import STREAM_FUNDS, STREAM_PLANT, SynthConfig
from tuopin.synth.households import BANK_PREFIXES
from tuopin.synth.payments import Payments, Registry
from tuopin.synth.programmes import PROGRAMMES, SOURCES, Funds, Projects
from tuopin.synth.regions import County, unit_names

STATUSES = list(ProjectStatus)
COMPLETED, CLOSED, IN_PROGRESS = (STATUSES.index(s) for s in (
    ProjectStatus.COMPLETED, ProjectStatus.CLOSED, ProjectStatus.IN_PROGRESS))
CLOSED_SHARE = 0.6  # of finished projects whose accounts are closed (结项) by the books' day
RULES = (*planting.PAYMENT_RULES, *ledger.PROJECT_RULES, *ledger.FUND_RULES)


@dataclass
class Books:
    """A county's books as Arrow columns per kind, the planted cases, the cases of each rule
    the county could not hold, the helpers whose ID number a planted conflict of interest
    changes (helper index -> ID number) and the members a planted payment to the dead
    records as dead."""

    columns: dict[Kind, dict[str, pa.Array]]
    planted: list[tuple[str, str]] = field(default_factory=list)
    short: dict[str, int] = field(default_factory=dict)
    helper_ids: dict[int, str] = field(default_factory=dict)
    deaths: dict[int, date] = field(default_factory=dict)  # member index -> day of death


def draw(
    config: SynthConfig, county: County, registry: Registry, *,
    plant: dict[str, int] | None = None,
) -> Books:
    """The county's books, with ``plant[rule]`` cases of each rule planted."""
    rng = config.rng(STREAM_FUNDS, county.index)
    closed_on = np.datetime64(config.books_closed_on)
    funds = programmes.draw_funds(rng, config.years)
    projects = programmes.draw_projects(rng, county, funds, config.years)
    paid = payments.draw(rng, registry, projects, config.years, config.payments_per_household)
    # a project that found nobody to pay is not in the books
    keep = np.bincount(paid.project, minlength=len(projects)) > 0
    projects = projects.take(keep)
    paid.project = (np.cumsum(keep) - 1)[paid.project]
    programmes.use_every_fund(rng, projects, funds)
    paid, wrong = payments.reverse_some(rng, paid, len(registry.number), closed_on)
    wrong_accounts = _accounts(rng, wrong)
    status, closed = _statuses(rng, projects, closed_on)
    planned = ledger.sum_by(paid.project, paid.amount, len(projects))
    subjects: list[tuple[str, str, int]] = []
    done = planting.Planted()
    short: dict[str, int] = {}
    if plant:
        prng = config.rng(STREAM_PLANT, county.index)
        paid, done = planting.plant(prng, registry, projects, paid, plant, closed_on)
        planned += ledger.sum_by(done.added.project, done.added.amount, len(projects))
        subjects += done.subjects
    books = ledger.settle(rng, projects, funds, planned)
    if plant:
        more, short = ledger.plant(prng, projects, funds, books, paid, plant, closed_on,
                                   done.stalled)
        subjects += more
        short.update(done.short)
        unfinished = np.r_[done.stalled, books.overdue].astype(np.int64)
        status[unfinished], closed[unfinished] = IN_PROGRESS, np.datetime64("NaT")
        # a stalled project is not yet past its end on the books' day
        later = prng.integers(200, 501, size=len(done.stalled)).astype("timedelta64[D]")
        projects.end[done.stalled] = closed_on + later
    pools = _Pools(registry, done, wrong_accounts)
    tables, numbers = _tables(config, county, funds, projects, books, paid, status, closed,
                              pools)
    planted = [(rule, numbers[kind][index]) for rule, kind, index in subjects]
    ids = pc.cast(registry.ids, pa.string())
    helper_ids = {h: ids[m].as_py() for h, m in done.helper_ids.items()}
    deaths = {m: day.astype(date) for m, day in done.deaths.items()}
    return Books(tables, planted, short, helper_ids, deaths)


def _accounts(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` mistyped bank accounts: 19 digits with a valid Luhn digit, like the real ones."""
    digits = columns.random_digit_strings(rng, BANK_PREFIXES, n, 19)
    digits[:, -1] = columns.luhn_digit(digits[:, :-1])
    return columns.ascii_column(digits + ord("0"))


def _statuses(
    rng: np.random.Generator, projects: Projects, closed_on: np.datetime64,
) -> tuple[np.ndarray, np.ndarray]:
    """Every project has ended by the books' day: completed, or closed some weeks later."""
    n = len(projects)
    closing = projects.end + rng.integers(10, 91, size=n).astype("timedelta64[D]")
    closes = (rng.random(n) < CLOSED_SHARE) & (closing <= closed_on)
    status = np.where(closes, CLOSED, COMPLETED)
    return status, np.where(closes, closing, np.datetime64("NaT"))


class _Pools:
    """The registry's ID numbers, household numbers and accounts, then made-up ones."""

    def __init__(self, registry: Registry, done: planting.Planted, wrong: pa.Array) -> None:
        self.ids = pa.concat_arrays([pc.cast(registry.ids, pa.string()),
                                     pa.array(done.ids, pa.string())])
        numbers = np.r_[registry.number, np.array(done.households, dtype=np.int64)]
        self.households = columns.fixed_width(numbers, 16)
        self.accounts = pa.concat_arrays([pc.cast(registry.accounts, pa.string()),
                                          pc.cast(wrong, pa.string())])


def _take(pool: pa.Array, index: np.ndarray) -> pa.Array:
    return pool.take(pa.array(np.maximum(index, 0), pa.int64(), mask=index < 0))


def _tables(
    config: SynthConfig, county: County, funds: Funds, projects: Projects, books: ledger.Ledger,
    paid: Payments, status: np.ndarray, closed: np.ndarray, pools: _Pools,
) -> tuple[dict[Kind, dict[str, pa.Array]], dict[str, list[str]]]:
    """The four files' columns, and the numbers of funds, projects and payments by index."""
    kept = books.fund_amount > 0
    fund_seq = _sequence(funds.year, kept)
    fund_numbers = pc.binary_join_element_wise(
        "F", columns.fixed_width(county.code * 1_000_000 + funds.year * 100 + fund_seq, 12), "")
    project_numbers = pc.binary_join_element_wise("P", columns.fixed_width(
        county.code * 10**8 + projects.year * 10**4 + _sequence(projects.year), 14), "")
    order = np.lexsort((paid.project, paid.paid))
    position = np.empty(len(paid), dtype=np.int64)
    position[order] = np.arange(len(paid))
    payment_numbers = pc.binary_join_element_wise(
        "D", columns.fixed_width(county.code * 10**8 + position + 1, 14), "")
    tables = {
        Kind.FUNDS: _funds(county, funds, books, fund_numbers, kept),
        Kind.PROJECTS: _projects(config, county, projects, books, project_numbers, status,
                                 closed),
        Kind.ALLOCATIONS: _allocations(projects, books, fund_numbers, project_numbers),
        Kind.DISBURSEMENTS: _disbursements(paid, order, payment_numbers, project_numbers,
                                           pools),
    }
    numbers = {"fund": fund_numbers.to_pylist(), "project": project_numbers.to_pylist(),
               "payment": payment_numbers.to_pylist()}
    return tables, numbers


def _sequence(year: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """1, 2, 3 ... within each year (rows in year order), counting only kept rows."""
    keep = np.ones(len(year), dtype=bool) if keep is None else keep
    counted = np.cumsum(keep)
    first = np.searchsorted(year, year)  # rows are in year order
    before = np.where(first > 0, counted[np.maximum(first - 1, 0)], 0)
    return counted - before


def _funds(county: County, funds: Funds, books: ledger.Ledger, numbers: pa.Array,
           kept: np.ndarray) -> dict[str, pa.Array]:
    rows = np.flatnonzero(kept)
    names = [f"{year}年{county.name}{SOURCES[s].title}"
             for year, s in zip(funds.year[rows].tolist(), funds.source[rows].tolist(),
                                strict=True)]
    return {
        "number": numbers.take(pa.array(rows)),
        "name": pa.array(names, pa.string()),
        "source": columns.words([s.source.value for s in SOURCES], funds.source[rows]),
        "year": pa.array(funds.year[rows], pa.int32()),
        "amount": columns.fen_text(books.fund_amount[rows]),
        "region_code": pa.array([f"{county.code:06d}000000"] * len(rows), pa.string()),
        "received_on": columns.dates(funds.received[rows]),
    }


def _projects(
    config: SynthConfig, county: County, projects: Projects, books: ledger.Ledger,
    numbers: pa.Array, status: np.ndarray, closed: np.ndarray,
) -> dict[str, pa.Array]:
    townships, villages = unit_names(config, county)
    places = ([county.name], townships, villages)
    names = [f"{year}年{places[PROGRAMMES[p].level][u]}{PROGRAMMES[p].title}"
             for year, p, u in zip(projects.year.tolist(), projects.programme.tolist(),
                                   projects.unit.tolist(), strict=True)]
    return {
        "number": numbers,
        "name": pa.array(names, pa.string()),
        "region_code": columns.fixed_width(projects.region, 12),
        "kind": columns.words([p.kind.value for p in PROGRAMMES], projects.programme),
        "budget": columns.fen_text(books.budget),
        "start_on": columns.dates(projects.start),
        "end_on": columns.dates(projects.end),
        "status": columns.words([s.value for s in STATUSES], status),
        "closed_on": columns.dates(closed, ~np.isnat(closed)),
    }


def _allocations(projects: Projects, books: ledger.Ledger, fund_numbers: pa.Array,
                 project_numbers: pa.Array) -> dict[str, pa.Array]:
    second = projects.fund[:, 1] >= 0
    project = np.r_[np.arange(len(projects)), np.flatnonzero(second)]
    fund = np.r_[projects.fund[:, 0], projects.fund[second, 1]]
    amount = np.r_[books.allocation[:, 0], books.allocation[second, 1]]
    order = np.lexsort((fund, project))
    project, fund, amount = project[order], fund[order], amount[order]
    return {
        "fund": fund_numbers.take(pa.array(fund)),
        "project": project_numbers.take(pa.array(project)),
        "amount": columns.fen_text(amount),
        "allocated_on": columns.dates(projects.allocated[project]),
    }


def _disbursements(paid: Payments, order: np.ndarray, numbers: pa.Array,
                   project_numbers: pa.Array, pools: _Pools) -> dict[str, pa.Array]:
    p = paid.rows(order)
    return {
        "number": numbers.take(pa.array(order)),
        "project": project_numbers.take(pa.array(p.project)),
        "payee_id_number": _take(pools.ids, p.member),
        "payee_household": _take(pools.households, p.payee_household),
        "amount": columns.fen_text(p.amount),
        "paid_on": columns.dates(p.paid),
        "channel": columns.words([c.value for c in payments.CHANNELS], p.channel),
        "account": _take(pools.accounts, p.account),
        "reverses": _take(numbers, p.reverses),
    }
