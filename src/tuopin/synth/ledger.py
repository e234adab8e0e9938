"""The money of a county's books: allocations, budgets and fund amounts, to the fen.

A project is allocated what it pays plus a little headroom (rounded up to 1,000 yuan), its
budget is a little more, and a fund's amount is exactly what it allocates, so a clean book
has no fund idle, overcommitted or overspent. Planted cases change one figure each: a
budget below what was paid (over_budget), an allocation moved to another project of the
same fund (over_allocation), a fund's amount below (fund_overcommitted) or above
(idle_funds) what it allocates; and a project left unfinished past its end (overdue).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuopin.synth.payments import Payments
from tuopin.synth.programmes import COUNTY, Funds, Projects

THOUSAND = 100_000  # fen
HUNDRED = 10_000
PROJECT_RULES = ("over_budget", "over_allocation", "stalled_project", "project_overdue")
FUND_RULES = ("fund_overcommitted", "idle_funds")


@dataclass
class Ledger:
    """Allocations (a project's first and second fund), budgets and fund amounts, in fen."""

    allocation: np.ndarray  # (projects, 2), 0 where there is no second fund
    budget: np.ndarray
    fund_amount: np.ndarray
    overdue: np.ndarray  # projects left unfinished past their end (planted)


def sum_by(index: np.ndarray, amount: np.ndarray, n: int) -> np.ndarray:
    """Exact int64 sums of ``amount`` by ``index`` (float64 sums of whole fen stay exact
    far beyond any county's books: 2**53 fen is 90 trillion yuan)."""
    return np.rint(np.bincount(index, weights=amount, minlength=n)).astype(np.int64)


def _up(fen: np.ndarray, unit: int) -> np.ndarray:
    return -(-fen // unit) * unit


def settle(
    rng: np.random.Generator, projects: Projects, funds: Funds, planned: np.ndarray,
) -> Ledger:
    """Allocations for what each project plans to pay, budgets, and the funds' amounts."""
    n = len(projects)
    headroom = np.rint(planned * rng.uniform(0.01, 0.06, size=n)).astype(np.int64)
    total = _up(planned + headroom, THOUSAND) + THOUSAND
    two = projects.fund[:, 1] >= 0
    first = np.clip(np.rint(total * projects.share / HUNDRED).astype(np.int64) * HUNDRED,
                    HUNDRED, total - HUNDRED)
    first = np.where(two, first, total)
    allocation = np.stack([first, total - first], axis=1)
    margin = _up(np.rint(total * rng.uniform(0.0, 0.05, size=n)).astype(np.int64), THOUSAND)
    ledger = Ledger(allocation, total + margin, np.zeros(len(funds), dtype=np.int64),
                    np.zeros(0, dtype=np.int64))
    ledger.fund_amount = fund_amounts(projects, funds, ledger)
    return ledger


def fund_amounts(projects: Projects, funds: Funds, ledger: Ledger) -> np.ndarray:
    """What each fund allocates."""
    second = projects.fund[:, 1] >= 0
    return (sum_by(projects.fund[:, 0], ledger.allocation[:, 0], len(funds))
            + sum_by(projects.fund[second, 1], ledger.allocation[second, 1], len(funds)))


def _cut(rng: np.random.Generator, fen: int) -> int:
    """A shortfall of 2-8 % of ``fen``, whole hundreds of yuan, at least one hundred."""
    return max(HUNDRED, int(round(fen * rng.uniform(0.02, 0.08) / HUNDRED)) * HUNDRED)


def plant(
    rng: np.random.Generator, projects: Projects, funds: Funds, ledger: Ledger,
    payments: Payments, counts: dict[str, int], closed_on: np.datetime64,
    stalled: np.ndarray,
) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    """Plant ``counts[rule]`` cases of each project and fund rule; returns the subjects as
    (rule, kind, index) and the cases this county could not hold."""
    net = sum_by(payments.project, payments.amount, len(projects))
    free = np.ones(len(projects), dtype=bool)
    free[stalled] = False
    subjects: list[tuple[str, str, int]] = []
    short: dict[str, int] = {}

    def choose(pool: np.ndarray, rule: str) -> np.ndarray:
        wanted = counts.get(rule, 0)
        chosen = np.sort(rng.permutation(np.flatnonzero(pool))[:wanted])
        short[rule] = wanted - len(chosen)
        return chosen

    # a county programme is the bulk of a county's books: keep plants to local projects
    local = free & (projects.level != COUNTY) & (net >= 10 * HUNDRED)
    for j in choose(local, "over_budget"):
        ledger.budget[j] = net[j] - _cut(rng, int(net[j]))
        free[j] = False
        subjects.append(("over_budget", "project", int(j)))
    single = local & free & (projects.fund[:, 1] < 0) & _shared(projects, free)
    moved = _over_allocation(rng, projects, ledger, net, free,
                             choose(single, "over_allocation"))
    short["over_allocation"] = counts.get("over_allocation", 0) - len(moved)
    subjects += moved
    subjects += [("stalled_project", "project", int(j)) for j in stalled]
    ledger.overdue = choose(local & free & (projects.end < closed_on), "project_overdue")
    subjects += [("project_overdue", "project", int(j)) for j in ledger.overdue]
    ledger.fund_amount = fund_amounts(projects, funds, ledger)
    over = choose(ledger.fund_amount > 10 * HUNDRED, "fund_overcommitted")
    for f in over:
        ledger.fund_amount[f] -= min(_cut(rng, int(ledger.fund_amount[f])),
                                     int(ledger.fund_amount[f]) - HUNDRED)
    subjects += [("fund_overcommitted", "fund", int(f)) for f in over]
    old = (funds.received < closed_on - 366 * np.timedelta64(1, "D")) & (ledger.fund_amount > 0)
    old[over] = False
    for f in choose(old, "idle_funds"):
        ledger.fund_amount[f] += _cut(rng, int(ledger.fund_amount[f]))
        subjects.append(("idle_funds", "fund", int(f)))
    return subjects, short


def _shared(projects: Projects, free: np.ndarray) -> np.ndarray:
    """Projects whose (only) fund pays at least one other free project."""
    fund = projects.fund[:, 0]
    counts = np.bincount(fund[free], minlength=int(fund.max(initial=0)) + 1)
    return counts[fund] >= 2


def _over_allocation(
    rng: np.random.Generator, projects: Projects, ledger: Ledger, net: np.ndarray,
    free: np.ndarray, chosen: np.ndarray,
) -> list[tuple[str, str, int]]:
    """Move part of each chosen project's allocation to another project of its fund, so it
    has paid more than it was allocated (its budget still covers it); a project whose fund
    pays no other free project is left as it is."""
    free[chosen] = False
    out = []
    for j in chosen:
        others = np.flatnonzero(free & (projects.fund[:, 0] == projects.fund[j, 0]))
        if not len(others):
            free[j] = True
            continue
        k = int(others[rng.integers(0, len(others))])
        moved = int(ledger.allocation[j, 0]) - (int(net[j]) - _cut(rng, int(net[j])))
        ledger.allocation[j, 0] -= moved
        ledger.allocation[k, 0] += moved
        ledger.budget[k] += moved
        out.append(("over_allocation", "project", int(j)))
    return out
