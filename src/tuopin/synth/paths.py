"""Each household's poverty path: the years the shipped standard judges it poor, and what the
register records of them (the year identified, the year exited).

The path comes first and everything else follows from it: a registered household is poor
from the year it was identified until the year it exited, and its surveys are drawn so that
the standard (``STANDARD``) judges them so (surveys.py), as do its members' schooling and
insurance (members.py). The path of the county follows the national one: most of the poor
identified in 2014 (建档立卡), a few more in 2015-2016, exits spread over 2015-2020, the
hardest last, and almost nobody poor after 2020. Errors are planted on purpose only, at the
rates asked (``SynthConfig.plant_wrong_exits``, ``plant_missed_poor``) and listed as the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cache

import numpy as np

from tuopin.standards.loader import load
from tuopin.synth.latent import quantile

STANDARD = "cn-national"  # the shipped standard the register agrees with
NEVER = 9999  # a year that never comes: not poor yet, or poor to the end
# Shares of the households: registered poor at some time (a deep-poverty county of Gansu:
# a fifth to a quarter of its rural people were poor in 2014), and the monitored band just above.
REGISTERED = 0.25
MONITORED = 0.02
IDENTIFIED = (np.array([2014, 2015, 2016]), np.array([0.88, 0.08, 0.04]))
# Exits in 2015-2020, as shares of those identified in 2014, after the national path of the
# rural poor (NBS, millions at the end of each year: 2014 70.17, 2015 55.75, 2016 43.35,
# 2017 30.46, 2018 16.60, 2019 5.51, 2020 0); the hardest 1 % are still poor at the end.
EXIT_YEARS = np.arange(2015, 2021)
EXIT_SHARES = np.array([0.22, 0.18, 0.19, 0.19, 0.15, 0.06])
STILL_POOR = 0.01
# How many years before its exit a household's income rose above the line (the last year
# it was poor for its house or water alone): 0, 1 or 2.
INCOME_FIRST = np.array([0.80, 0.12, 0.08])


class Truth(IntEnum):
    """A household's classification error, as truth.csv names it."""

    NONE = 0
    WRONGLY_EXITED = 1
    MISSED_POOR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass
class PovertyPath:
    """Per household: the register's years and the standard's, as parallel arrays."""

    identified: np.ndarray  # the year identified, NEVER for households never registered
    exited: np.ndarray  # the year the register records the exit, NEVER for none
    start: np.ndarray  # the first year the standard judges it poor, NEVER for none
    end: np.ndarray  # the first year after ``start`` it is not poor, NEVER for never
    crossing: np.ndarray  # the first year from ``start`` on with income above the line
    truth: np.ndarray  # Truth

    def poor(self, years: np.ndarray) -> np.ndarray:
        """The standard's verdict in each of ``years``: (years, households)."""
        y = np.asarray(years)[:, None]
        return (self.start <= y) & (y < self.end)


@cache
def income_lines(years: tuple[int, ...]) -> np.ndarray:
    """The shipped standard's income line of each year (yuan per person)."""
    standard = load(STANDARD)
    return np.array([standard.income_line(year).amount for year in years], dtype=np.float64)


def _exit_years(identified: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The exit year of each registered household, later for the harder (``order`` is the
    household's rank among the registered, uniform in [0, 1)): NEVER for the hardest."""
    exited = np.full(len(identified), NEVER, dtype=np.int64)
    for year in np.unique(identified):
        rows = identified == year
        later = EXIT_YEARS > year
        shares = np.r_[EXIT_SHARES[later], STILL_POOR]
        cdf = np.cumsum(shares / shares.sum())
        chosen = np.minimum(np.searchsorted(cdf, order[rows], side="right"), len(shares) - 1)
        exited[rows] = np.r_[EXIT_YEARS[later], NEVER][chosen]
    return exited


def draw(rng: np.random.Generator, ranking: np.ndarray,
         last_year: int) -> tuple[PovertyPath, np.ndarray]:
    """Every household's path by its ranking (a standard normal, higher is harder), and
    which households are in the monitored band just below the registered."""
    n = len(ranking)
    registered = ranking > quantile(1.0 - REGISTERED)
    monitored = ~registered & (ranking > quantile(1.0 - REGISTERED - MONITORED))
    years, shares = IDENTIFIED
    identified = np.where(registered, rng.choice(years, size=n, p=shares), NEVER)
    # the rank of each registered household's hardship (a noisy one) among the registered
    noisy = ranking + 0.5 * rng.standard_normal(n)
    order = np.zeros(n)
    ranks = np.argsort(np.argsort(noisy[registered]))
    order[registered] = (ranks + rng.random(len(ranks))) / max(len(ranks), 1)
    end = np.where(registered, _exit_years(identified, order), NEVER)
    earlier = rng.choice(len(INCOME_FIRST), size=n, p=INCOME_FIRST)
    crossing = np.where(end < NEVER, end - earlier, NEVER)
    path = PovertyPath(identified=identified, exited=np.where(end <= last_year, end, NEVER),
                       start=identified.copy(), end=end, crossing=crossing,
                       truth=np.zeros(n, dtype=np.int8))
    return path, monitored


def _choose(rng: np.random.Generator, pool: np.ndarray, weight: np.ndarray,
            rate: float) -> np.ndarray:
    """round(rate x pool) members of ``pool``, the heavier more likely (without
    replacement: the largest u ** (1 / weight))."""
    k = int(np.floor(rate * len(pool) + 0.5))
    if k == 0:
        return pool[:0]
    keys = np.log(rng.random(len(pool))) / weight
    return np.sort(pool[np.argpartition(-keys, k - 1)[:k]])


def plant(rng: np.random.Generator, path: PovertyPath, exited: np.ndarray,
          ordinary: np.ndarray, ranking: np.ndarray, last_year: int, *, wrong_exits: float,
          missed_poor: float) -> None:
    """Plant errors: exited households still poor to the end (错退), and ordinary ones poor
    from some year on (漏评); the harder more likely."""
    weight = np.exp(ranking)
    wrong = _choose(rng, np.flatnonzero(exited), weight[exited], wrong_exits)
    path.end[wrong] = path.crossing[wrong] = NEVER
    path.truth[wrong] = Truth.WRONGLY_EXITED
    missed = _choose(rng, np.flatnonzero(ordinary), weight[ordinary], missed_poor)
    # poor since the register began, or since any later year up to the last
    path.start[missed] = rng.integers(IDENTIFIED[0][0], last_year + 1, size=len(missed))
    path.end[missed] = path.crossing[missed] = NEVER
    path.truth[missed] = Truth.MISSED_POOR
