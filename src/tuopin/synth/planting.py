"""Anomalies planted in a county's payments, each breaking exactly one rule of the checks.

Every planted payment goes to a payee that no other planted case touches and that is on no
reversed payment: an unregistered ID or household number; a member paid after their death;
a second payment within 30 days of a payee's last one; an ordinary household; a household
outside the project's region; a member of a household whose helper is given that member's
ID (the household's other payments are taken out, so only the planted one is a conflict).
Stalled projects (allocated over a year before the books close, nothing paid) lose their
payments here too, before the others are planted, so no planted payment lands in one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain.idnumber import check_chars_vectorised
from tuopin.synth.columns import digits
from tuopin.synth.households import ORDINARY
from tuopin.synth.idnumbers import ymd
from tuopin.synth.payments import (
    CASH,
    CHANNELS,
    PLANTED,
    REGULAR,
    Payments,
    Registry,
    empty,
    typical_amount,
)
from tuopin.synth.programmes import COUNTY, PROGRAMMES, TOWNSHIP, Projects

PAYMENT_RULES = ("payee_not_registered", "payee_deceased", "duplicate_payment",
                 "payee_ineligible", "outside_region", "conflict_of_interest")
UNREGISTERED_SEQUENCE = 800  # members' sequences stay far below, helpers' start at 900
DAY = np.timedelta64(1, "D")


class Short(Exception):
    """A county has no candidate left for a case: the case is planted in the next county."""


@dataclass
class Planted:
    """What planting did to a county's books, and what the rest of the books must do."""

    subjects: list[tuple[str, str, int]] = field(default_factory=list)  # rule, kind, index
    stalled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    helper_ids: dict[int, int] = field(default_factory=dict)  # helper -> member index
    deaths: dict[int, np.datetime64] = field(default_factory=dict)  # member -> day of death
    ids: list[str] = field(default_factory=list)  # unregistered ID numbers
    households: list[int] = field(default_factory=list)  # unregistered household numbers
    added: Payments = field(default_factory=empty)  # the planted payments
    short: dict[str, int] = field(default_factory=dict)  # cases that found no candidate


class _Planter:
    def __init__(self, rng: np.random.Generator, registry: Registry, projects: Projects,
                 payments: Payments, closed_on: np.datetime64) -> None:
        self.rng, self.registry, self.projects = rng, registry, projects
        self.payments, self.closed_on = payments, closed_on
        self.out = Planted()
        # households on a reversal or already chosen for a case are not chosen again
        self.used = np.zeros(len(registry.village), dtype=bool)
        on_reversal = (payments.entry != REGULAR) & (payments.household >= 0)
        self.used[payments.household[on_reversal]] = True
        self.open = np.ones(len(projects), dtype=bool)
        self.helper_used: set[int] = set()
        self._eligible = registry.eligible(np.unique(projects.year))
        self._years = np.unique(projects.year)
        self._taken: set[str] | None = None

    # -- choosing ---------------------------------------------------------------------------
    def eligible(self, project: int) -> np.ndarray:
        year = self.projects.year[project]
        return self._eligible[int(np.searchsorted(self._years, year))]

    def contains(self, project: int) -> np.ndarray:
        """Households inside a project's region."""
        level, unit = self.projects.level[project], self.projects.unit[project]
        r = self.registry
        if level == COUNTY:
            return np.ones(len(r.village), dtype=bool)
        return (r.township if level == TOWNSHIP else r.village) == unit

    def around(self, household: int) -> np.ndarray:
        """Open projects whose region holds ``household``, eligible in their year."""
        p, r = self.projects, self.registry
        unit = np.where(p.level == TOWNSHIP, r.township[household], r.village[household])
        inside = (p.level == COUNTY) | (p.unit == unit)
        years = np.searchsorted(self._years, p.year)
        return np.flatnonzero(self.open & inside & self._eligible[years, household])

    def pick(self, pool: np.ndarray) -> int:
        if not len(pool):
            raise Short
        return int(pool[self.rng.integers(0, len(pool))])

    def day_in(self, project: int, earliest: np.datetime64 | None = None) -> np.datetime64:
        start, end = self.projects.start[project], self.projects.end[project]
        if earliest is not None:
            start = max(start, earliest)
        return start + int(self.rng.integers(0, (end - start) // DAY + 1)) * DAY

    def living_member(self, household: int) -> int:
        """A member of ``household`` with no day of death, -1 for none."""
        r = self.registry  # a household's members are next to each other
        first, end = np.searchsorted(r.household, [household, household + 1])
        mine = first + np.flatnonzero(np.isnat(r.died[first:end]))
        return int(mine[self.rng.integers(0, len(mine))]) if len(mine) else -1

    # -- paying -----------------------------------------------------------------------------
    def pay(self, rule: str, project: int, day: np.datetime64, *, household: int = -1,
            member: int = -1, by_household: bool = False, amount: int | None = None) -> None:
        """Add a planted payment; an unregistered payee has ``household`` -1 and a pool
        index (beyond the registry's) in ``member`` or ``by_household``'s number."""
        programme = PROGRAMMES[self.projects.programme[project]]
        fen = int(typical_amount(self.rng, programme, 1)[0]) if amount is None else amount
        registered = household >= 0
        has_account = registered and bool(self.registry.has_account[household])
        paid_household = household if by_household and registered else -1
        if by_household and not registered:
            paid_household = len(self.registry.number) + len(self.out.households) - 1
        payment = Payments(
            project=np.array([project]), household=np.array([household]),
            member=np.array([member]), payee_household=np.array([paid_household]),
            amount=np.array([fen]), paid=np.array([day], dtype="datetime64[D]"),
            channel=np.array([CHANNELS.index(programme.channel) if has_account else CASH]),
            account=np.array([household if has_account else -1]),
            reverses=np.array([-1]), last=np.array([False]), entry=np.array([PLANTED]),
        )
        self.out.subjects.append((rule, "payment", len(self.out.added)))
        self.out.added = self.out.added.extend(payment)
        if registered:
            self.used[household] = True

    # -- the rules --------------------------------------------------------------------------
    def stall(self, n: int) -> None:
        """Projects allocated more than a year before the books close lose their payments."""
        old = self.projects.allocated < self.closed_on - 366 * DAY
        local = old & (self.projects.level != COUNTY)  # a county programme is too big to stall
        pool = np.flatnonzero(local) if local.sum() >= n else np.flatnonzero(old)
        chosen = self.rng.permutation(pool)[:n]
        self.out.short["stalled_project"] = n - len(chosen)
        self.out.stalled = np.sort(chosen)
        self.open[chosen] = False
        self.payments = self.payments.take(~np.isin(self.payments.project, chosen))

    def not_registered(self, k: int) -> None:
        project = self.pick(np.flatnonzero(self.open))
        day = self.day_in(project)
        r = self.registry
        villages = np.flatnonzero(np.bincount(r.village[self.contains(project)],
                                              minlength=len(r.county.village_codes)))
        village = int(self.rng.choice(villages))
        size = int((r.village == village).sum())
        if k % 2 and size + 1 + k < 10_000:
            number = int(r.county.village_codes[village]) * 10_000 + size + 1 + k
            self.out.households.append(number)
            self.pay("payee_not_registered", project, day, by_household=True)
            return
        self.out.ids.append(self.unregistered_id())
        self.pay("payee_not_registered", project, day,
                 member=len(r.household) + len(self.out.ids) - 1)

    def unregistered_id(self) -> str:
        if self._taken is None:
            self._taken = set(pc.cast(self.registry.ids, pa.string()).to_pylist())
        taken = self._taken | set(self.out.ids)
        while True:
            born = np.datetime64("1950-01-01") + int(self.rng.integers(0, 50 * 365)) * DAY
            sequence = UNREGISTERED_SEQUENCE + int(self.rng.integers(0, 100))
            first17 = self.registry.county.code * 10**11 + int(ymd(np.array([born]))[0]) * 1000
            body = digits(np.array([first17 + sequence]), 17)
            text = "".join(map(str, body[0])) + str(check_chars_vectorised(body)[0])
            if text not in taken:
                return text

    def deceased(self) -> None:
        """A member paid on or after their death: one who died, else (deaths are rare) one
        recorded as dying after the household's last survey, so the survey stays true."""
        r = self.registry
        dead = np.flatnonzero(~r.living & ~self.used[r.household])
        for member in self.rng.permutation(dead):
            household, died = int(r.household[member]), r.died[member]
            around = self.around(household)
            fits = around[self.projects.end[around] > died]
            if len(fits):
                project = int(fits[self.rng.integers(0, len(fits))])
                after = died + int(self.rng.integers(1, 21)) * DAY
                day = self.day_in(project, min(after, self.projects.end[project]))
                self.pay("payee_deceased", project, day, household=household,
                         member=int(member))
                return
        self.dies_later()

    def dies_later(self) -> None:
        r, p = self.registry, self.projects
        paid_by_id = np.zeros(len(r.household), dtype=bool)
        paid_by_id[self.payments.member[self.payments.member >= 0]] = True
        pool = np.flatnonzero(r.living & ~r.head & ~paid_by_id & ~self.used[r.household])
        for member in self.rng.permutation(pool)[:200]:
            household = int(r.household[member])
            died = r.surveyed[household] + int(self.rng.integers(1, 8)) * DAY
            around = self.around(household)
            fits = around[p.end[around] > died]
            if len(fits):
                project = int(fits[self.rng.integers(0, len(fits))])
                r.died[member] = died
                self.out.deaths[int(member)] = died
                self.pay("payee_deceased", project, self.day_in(project, died),
                         household=household, member=int(member))
                return
        raise Short

    def duplicate(self) -> None:
        p = self.payments
        pool = np.flatnonzero(p.last & (p.entry == REGULAR) & self.open[p.project]
                              & ~self.used[p.household] & (p.paid < self.closed_on))
        i = self.pick(pool)
        later = int(self.rng.integers(1, min(29, (self.closed_on - p.paid[i]) // DAY) + 1))
        self.pay("duplicate_payment", int(p.project[i]), p.paid[i] + later * DAY,
                 household=int(p.household[i]), member=int(p.member[i]),
                 by_household=p.member[i] < 0, amount=int(p.amount[i]))

    def to_household(self, rule: str, k: int, project: int, household: int) -> None:
        """Pay ``household`` (odd ``k``) or a living member of it by ID (even ``k``)."""
        member = self.living_member(household) if k % 2 == 0 else -1
        self.pay(rule, project, self.day_in(project), household=household, member=member,
                 by_household=member < 0)

    def ineligible(self, k: int) -> None:
        ordinary = (self.registry.status == ORDINARY) & ~self.used
        household = self.pick(np.flatnonzero(ordinary))
        p, r = self.projects, self.registry
        unit = np.where(p.level == TOWNSHIP, r.township[household], r.village[household])
        inside = np.flatnonzero(self.open & ((p.level == COUNTY) | (p.unit == unit)))
        self.to_household("payee_ineligible", k, self.pick(inside), household)

    def outside(self, k: int) -> None:
        local = self.open & (self.projects.level != COUNTY)
        for project in self.rng.permutation(np.flatnonzero(local)):
            away = self.eligible(project) & ~self.used & ~self.contains(project)
            if away.any():
                self.to_household("outside_region", k, int(project),
                                  self.pick(np.flatnonzero(away)))
                return
        raise Short

    def conflict(self, k: int, helper_of: np.ndarray) -> None:
        """A household's helper takes a living member's ID; the household's own payments go
        and one planted payment is the only one left."""
        r = self.registry
        taken = np.isin(helper_of, list(self.helper_used))
        has_living = np.bincount(r.household[r.living], minlength=len(r.village)) > 0
        pool = (helper_of >= 0) & ~taken & ~self.used & has_living & self._eligible.any(0)
        household = self.pick(np.flatnonzero(pool))
        project = self.pick(self.around(household))
        member = self.living_member(household)
        self.helper_used.add(int(helper_of[household]))
        self.out.helper_ids[int(helper_of[household])] = member
        self.payments = self.payments.take(self.payments.household != household)
        self.pay("conflict_of_interest", project, self.day_in(project), household=household,
                 member=member if k % 2 == 0 else -1, by_household=k % 2 == 1)


def helper_of(registry: Registry) -> np.ndarray:
    """The index of each household's helper, -1 for none."""
    lists = pc.split_pattern(registry.helpers, ";")
    parent = pc.list_parent_indices(lists).to_numpy()
    numbers = pc.cast(pc.list_flatten(lists), pa.int64()).to_numpy()
    out = np.full(len(registry.number), -1, dtype=np.int64)
    out[np.searchsorted(registry.number, numbers)] = parent
    return out


def plant(
    rng: np.random.Generator, registry: Registry, projects: Projects, payments: Payments,
    counts: dict[str, int], closed_on: np.datetime64,
) -> tuple[Payments, Planted]:
    """Plant ``counts[rule]`` cases of each payment rule (and take out the payments of
    ``counts["stalled_project"]`` projects); returns the payments with the planted ones
    last, and what was planted (with the cases this county could not hold)."""
    planter = _Planter(rng, registry, projects, payments, closed_on)
    planter.stall(counts.get("stalled_project", 0))
    helpers = helper_of(registry)
    cases = {
        "payee_not_registered": planter.not_registered,
        "payee_deceased": lambda k: planter.deceased(),
        "duplicate_payment": lambda k: planter.duplicate(),
        "payee_ineligible": planter.ineligible,
        "outside_region": planter.outside,
        "conflict_of_interest": lambda k: planter.conflict(k, helpers),
    }
    for rule, plant_one in cases.items():
        planter.out.short[rule] = 0
        for k in range(counts.get(rule, 0)):
            try:
                plant_one(k)
            except Short:
                planter.out.short[rule] += 1
    out = planter.out
    base = planter.payments
    out.subjects = [(rule, kind, index + len(base)) for rule, kind, index in out.subjects]
    return base.extend(out.added), out
