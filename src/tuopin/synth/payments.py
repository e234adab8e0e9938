"""Payments of a county's projects to the households and members of each project's region.

A project pays the poor, monitored and recently exited households of its region (or their
living members: students, the ill, workers), each payee once a round, rounds at least 33
days apart, so no payee is ever paid twice by a project within the 30 days of the duplicate
rule. A few payments went to a mistyped account: each is reversed and paid again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pyarrow as pa

from tuopin.domain.enums import PaymentChannel
from tuopin.synth import members as mb
from tuopin.synth.households import EXITED, MONITORED, POOR
from tuopin.synth.programmes import (
    PROGRAMMES,
    Payees,
    Programme,
    Projects,
    most_rounds,
    townships,
    unit_codes,
)
from tuopin.synth.regions import County

CHANNELS = list(PaymentChannel)
CASH = CHANNELS.index(PaymentChannel.CASH)
REGULAR, REVERSAL, CORRECTION, PLANTED = range(4)
RECENT_EXIT = 3  # households exited up to three years before are still paid (of the 5 allowed)
REVERSED_SHARE = 0.0005  # of payments, reversed for a mistyped account and paid again


@dataclass
class Registry:
    """What the books need to know about a county's registry."""

    county: County
    village: np.ndarray  # per household
    number: np.ndarray  # household numbers
    status: np.ndarray
    exited: np.ndarray  # year exited, 0 for none
    accounts: pa.Array  # each household's bank account, null for none
    household: np.ndarray  # per member
    ids: pa.Array  # members' ID numbers
    died: np.ndarray  # datetime64[D], NaT for the living
    age: np.ndarray
    health: np.ndarray
    schooling: np.ndarray
    labour: np.ndarray
    away: np.ndarray  # months worked away
    helpers: pa.Array  # each helper's assigned households, joined by ";"
    head: np.ndarray  # per member: the household's head
    surveyed: np.ndarray  # per household: the last survey's collection day
    has_account: np.ndarray = field(init=False)
    township: np.ndarray = field(init=False)  # per household

    def __post_init__(self) -> None:
        self.has_account = self.accounts.is_valid().to_numpy(zero_copy_only=False)
        self.township = townships(self.county)[self.village]

    def eligible(self, year: int | np.ndarray) -> np.ndarray:
        """Households a project may pay in ``year``: poor, monitored, or exited at most
        three years before (for an array of years, one row per year)."""
        year = np.asarray(year)[..., None]
        exited = (self.status == EXITED) & (self.exited >= year - RECENT_EXIT)
        return (self.status == POOR) | (self.status == MONITORED) | exited

    @property
    def living(self) -> np.ndarray:
        """Members who never die within the registry's years: the only ones paid by ID."""
        return np.isnat(self.died)


@dataclass
class Payments:
    """Payments of a county's projects as parallel arrays; indexes point into pools that hold
    the registry's values first and made-up ones (unregistered payees, wrong accounts) after."""

    project: np.ndarray
    household: np.ndarray  # the payee's registered household, -1 for none
    member: np.ndarray  # the payee's ID number (index into the ID pool), -1 when by household
    payee_household: np.ndarray  # the household number paid (pool index), -1 when by ID
    amount: np.ndarray  # fen
    paid: np.ndarray  # datetime64[D]
    channel: np.ndarray
    account: np.ndarray  # index into the account pool, -1 for none
    reverses: np.ndarray  # index of the payment reversed, -1 for none
    last: np.ndarray  # the payee's last payment by this project
    entry: np.ndarray  # REGULAR, REVERSAL, CORRECTION or PLANTED

    def __len__(self) -> int:
        return len(self.project)

    def rows(self, index: np.ndarray) -> Payments:
        """A copy of the payments at ``index``, ``reverses`` left as it is."""
        return Payments(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def take(self, index: np.ndarray) -> Payments:
        """The payments at ``index`` (a mask or positions); ``reverses`` is renumbered (a
        reversal kept without the payment it reverses would be a bug: it raises)."""
        positions = np.flatnonzero(index) if index.dtype == bool else index
        new = np.full(len(self), -1, dtype=np.int64)
        new[positions] = np.arange(len(positions))
        taken = self.rows(positions)
        old = taken.reverses
        taken.reverses = np.where(old >= 0, new[np.maximum(old, 0)], -1)
        if ((old >= 0) & (taken.reverses < 0)).any():
            raise AssertionError("a reversal kept without the payment it reverses")
        return taken

    def extend(self, other: Payments, *, absolute: bool = False) -> Payments:
        """These payments, then ``other``, whose ``reverses`` count from its own start (or
        from the start of these, when ``absolute``)."""
        shift = 0 if absolute else len(self)
        moved = np.where(other.reverses >= 0, other.reverses + shift, -1)
        joined = {f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                  for f in fields(self) if f.name != "reverses"}
        return Payments(**joined, reverses=np.concatenate([self.reverses, moved]))


def empty() -> Payments:
    """No payments."""
    none = np.zeros(0, dtype=np.int64)
    return Payments(none, none, none, none, none, none.astype("datetime64[D]"), none, none,
                    none, none.astype(bool), none)


def candidates(registry: Registry, payees: Payees, eligible: np.ndarray) -> np.ndarray:
    """Members (or households, for HOUSEHOLDS) a programme may pay."""
    if payees is Payees.HOUSEHOLDS:
        return np.flatnonzero(eligible)
    r = registry
    adult = (r.age >= 18) & (r.age <= 65)
    able = r.labour <= mb.ORDINARY_LABOUR
    wanted = {
        Payees.STUDENTS: (r.schooling == mb.IN_SCHOOL) & (r.age >= 6) & (r.age <= 22),
        Payees.ILL: np.isin(r.health, [mb.CHRONIC, mb.SERIOUS, mb.DISABLED]),
        Payees.AWAY: r.away > 0,
        Payees.WORKERS: adult & (r.labour <= mb.WEAK) & (r.away == 0),
        Payees.LABOURERS: adult & able & (r.age <= 60),
    }[payees]
    return np.flatnonzero(wanted & r.living & eligible[r.household])


def _units(registry: Registry, level: int) -> np.ndarray:
    """Each household's unit at ``level``: the county (0), its township or its village."""
    return [np.zeros(len(registry.village), dtype=np.int64), registry.township,
            registry.village][level]


def typical_amount(rng: np.random.Generator, programme: Programme, n: int) -> np.ndarray:
    """``n`` amounts in fen in the programme's range and steps."""
    steps = (programme.high - programme.low) // programme.step + 1
    return (programme.low + programme.step * rng.integers(0, steps, size=n)) * 100


def _pay(
    rng: np.random.Generator, registry: Registry, projects: Projects, programme: Programme,
    project: np.ndarray, payee: np.ndarray,
) -> Payments:
    """Every round's payment of each (project, payee) pair: the first a week after the
    project starts, the others spread evenly to its end, each up to three days late."""
    by_member = programme.payees is not Payees.HOUSEHOLDS
    rounds = projects.rounds[project]
    pair = np.repeat(np.arange(len(project)), rounds)
    k = np.arange(len(pair)) - (np.cumsum(rounds) - rounds)[pair]
    j = project[pair]
    span = (projects.end[j] - projects.start[j]).astype(np.int64) - 14
    spacing = span // np.maximum(rounds[pair] - 1, 1)
    late = rng.integers(0, 4, size=len(pair))
    paid = projects.start[j] + (7 + k * spacing + late).astype("timedelta64[D]")
    amount = typical_amount(rng, programme, len(project))[pair]
    household = (registry.household[payee] if by_member else payee)[pair]
    has_account = registry.has_account[household]
    none = np.full(len(pair), -1, dtype=np.int64)
    return Payments(
        project=j, household=household, member=payee[pair] if by_member else none,
        payee_household=none if by_member else household, amount=amount, paid=paid,
        channel=np.where(has_account, CHANNELS.index(programme.channel), CASH),
        account=np.where(has_account, household, -1), reverses=none,
        last=k == rounds[pair] - 1, entry=np.full(len(pair), REGULAR),
    )


def draw(
    rng: np.random.Generator, registry: Registry, projects: Projects, years: tuple[int, ...],
    per_household: float,
) -> Payments:
    """Every project's regular payments, year by year and programme by programme; the
    benefit card's rounds make the year's payments up to ``per_household`` per eligible
    household (as far as its rounds can go)."""
    payments = empty()
    for year in years:
        eligible = registry.eligible(year)
        made = 0
        for index, programme in enumerate(PROGRAMMES):
            mine = np.flatnonzero((projects.year == year) & (projects.programme == index))
            if not len(mine):
                continue
            if programme.top_up:
                wanted = -(-(per_household * eligible.sum() - made) // max(eligible.sum(), 1))
                projects.rounds[mine] = np.minimum(max(int(wanted), 1),
                                                   most_rounds(projects.start[mine],
                                                               projects.end[mine]))
            of_unit = np.full(len(unit_codes(registry.county, programme.level)), -1)
            of_unit[projects.unit[mine]] = mine
            payee = candidates(registry, programme.payees, eligible)
            home = payee if programme.payees is Payees.HOUSEHOLDS else registry.household[payee]
            project = of_unit[_units(registry, programme.level)[home]]
            chosen = (project >= 0) & (rng.random(len(payee)) < programme.coverage)
            part = _pay(rng, registry, projects, programme, project[chosen], payee[chosen])
            made += len(part)
            payments = payments.extend(part)
    return payments


def reverse_some(
    rng: np.random.Generator, payments: Payments, wrong_accounts_from: int,
    closed_on: np.datetime64,
) -> tuple[Payments, int]:
    """Reverse a few payments to a mistyped account and pay them again to the right one.

    The payment reversed is a payee's last by its project, so the new payment (at most 22
    days later, before the books close) is never within 30 days of another unreversed one.
    Returns the payments and how many wrong accounts (pool indexes from
    ``wrong_accounts_from``) they use.
    """
    in_time = payments.paid <= closed_on - np.timedelta64(22, "D")
    pool = np.flatnonzero(payments.last & (payments.account >= 0) & in_time)
    count = min(len(pool), round(len(payments) * REVERSED_SHARE) or int(len(payments) >= 20))
    if not count:
        return payments, 0
    chosen = np.sort(rng.choice(pool, size=count, replace=False))
    right = payments.account[chosen]
    payments.account[chosen] = wrong_accounts_from + np.arange(count)
    payments.last[chosen] = False
    reversal = payments.rows(chosen)
    reversal.amount = -reversal.amount
    reversal.paid = reversal.paid + rng.integers(3, 16, size=count).astype("timedelta64[D]")
    reversal.reverses = chosen.astype(np.int64)
    reversal.entry[:] = REVERSAL
    again = payments.rows(chosen)
    again.paid = reversal.paid + rng.integers(1, 8, size=count).astype("timedelta64[D]")
    again.account = right
    again.last[:] = True
    again.entry[:] = CORRECTION
    return payments.extend(reversal, absolute=True).extend(again), count
