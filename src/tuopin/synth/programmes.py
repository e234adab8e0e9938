"""The funds a county receives each year and the projects it pays from them.

Each year the county receives central, provincial and county funds (and often integrated
agricultural funds, East–West cooperation, paired assistance or donations) early in the
year, allocates them to the projects of its project library (项目库) within weeks, and the
projects run from spring to December: village industry subsidies, township public-welfare
posts and solar dividends, county housing, education, health and benefit-card programmes.
Every project ends by 20 December of its year, so the books close with the year.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum

import numpy as np

from tuopin.domain.enums import FundSource, PaymentChannel, ProjectKind
from tuopin.synth.regions import County

COUNTY, TOWNSHIP, VILLAGE = range(3)  # the level of a project's region
LAST_DAY = "12-20"  # every project of a year ends by 20 December


class Payees(IntEnum):
    """Who a programme pays: a household, or a member of one of these kinds."""

    HOUSEHOLDS = 0
    STUDENTS = 1  # in school, 6-22
    ILL = 2  # chronically or seriously ill, or disabled
    AWAY = 3  # worked away from home this year
    WORKERS = 4  # 18-65, can work, at home (public-welfare posts)
    LABOURERS = 5  # 18-60, able-bodied (work-for-relief wages)


@dataclass(frozen=True)
class Programme:
    """A kind of project a county runs every year, in some or all of its units."""

    kind: ProjectKind
    title: str  # the project's name after "{year}年{place}"
    level: int
    payees: Payees
    chance: float  # that a unit at the level runs it in a year
    coverage: float  # share of the unit's candidates it pays
    rounds: int  # payments to each payee in a year
    low: int  # yuan per payment: from low to high in steps
    high: int
    step: int
    channel: PaymentChannel  # when the household has an account; cash otherwise
    days: tuple[int, int]  # how long a project runs
    top_up: bool = False  # rounds set so that payments reach payments_per_household


P, K = Payees, ProjectKind
CARD, BANK = PaymentChannel.CARD, PaymentChannel.BANK
PROGRAMMES = (
    Programme(K.INDUSTRY, "特色种养产业奖补", VILLAGE, P.HOUSEHOLDS, 0.7, 0.6, 1,
              1000, 5000, 100, CARD, (120, 240)),
    Programme(K.ASSET_INCOME, "光伏扶贫电站收益分配", TOWNSHIP, P.HOUSEHOLDS, 0.5, 0.5, 2,
              300, 1500, 50, CARD, (240, 330)),
    Programme(K.EMPLOYMENT, "乡村公益性岗位补贴", TOWNSHIP, P.WORKERS, 0.8, 0.12, 4,
              1500, 2400, 100, BANK, (270, 330)),
    Programme(K.EMPLOYMENT, "外出务工交通补贴", COUNTY, P.AWAY, 1.0, 0.5, 1,
              300, 1000, 50, CARD, (90, 200)),
    Programme(K.HOUSING, "农村危房改造补助", COUNTY, P.HOUSEHOLDS, 1.0, 0.04, 1,
              15000, 40000, 500, BANK, (150, 300)),
    Programme(K.EDUCATION, "雨露计划及教育资助", COUNTY, P.STUDENTS, 1.0, 0.9, 2,
              500, 1500, 500, CARD, (240, 300)),
    Programme(K.HEALTH, "健康扶贫医疗救助", COUNTY, P.ILL, 1.0, 0.4, 1,
              200, 8000, 10, CARD, (120, 300)),
    Programme(K.WATER, "农村饮水安全巩固提升", VILLAGE, P.HOUSEHOLDS, 0.1, 0.8, 1,
              300, 1500, 50, CARD, (90, 180)),
    Programme(K.INFRASTRUCTURE, "以工代赈道路建设", TOWNSHIP, P.LABOURERS, 0.2, 0.1, 2,
              2000, 6000, 100, BANK, (150, 270)),
    Programme(K.OTHER, "惠民惠农补贴（一卡通）", COUNTY, P.HOUSEHOLDS, 1.0, 1.0, 1,
              100, 600, 10, CARD, (330, 330), top_up=True),
)


@dataclass(frozen=True)
class Source:
    """A source of funds: how often a county has it, when it arrives, how much it funds."""

    source: FundSource
    title: str
    chance: float
    days: tuple[int, int]  # received this many days into the year
    weight: float  # share of the projects it funds


F = FundSource
SOURCES = (
    Source(F.CENTRAL, "中央财政专项扶贫资金", 1.0, (5, 45), 0.35),
    Source(F.PROVINCIAL, "省级财政专项扶贫资金", 1.0, (20, 75), 0.15),
    Source(F.PREFECTURE, "市级财政专项扶贫资金", 0.5, (30, 100), 0.05),
    Source(F.COUNTY, "县级财政专项扶贫资金", 1.0, (15, 90), 0.10),
    Source(F.INTEGRATED, "统筹整合涉农资金", 0.8, (30, 110), 0.20),
    Source(F.EAST_WEST, "东西部扶贫协作资金", 0.6, (40, 120), 0.08),
    Source(F.PAIRED, "中央单位定点帮扶资金", 0.4, (40, 120), 0.04),
    Source(F.DONATION, "社会帮扶捐赠资金", 0.3, (20, 120), 0.03),
)
CENTRAL_SOURCE = [s.source for s in SOURCES].index(F.CENTRAL)  # there every year
SECOND_FUND = 0.3  # share of projects paid from two funds


@dataclass
class Funds:
    """A county's funds, as parallel arrays."""

    year: np.ndarray
    source: np.ndarray  # index into SOURCES
    received: np.ndarray  # datetime64[D]

    def __len__(self) -> int:
        return len(self.year)


@dataclass
class Projects:
    """A county's projects, as parallel arrays."""

    year: np.ndarray
    programme: np.ndarray  # index into PROGRAMMES
    unit: np.ndarray  # index of its county (0), township or village
    region: np.ndarray  # 12-digit code
    fund: np.ndarray  # (n, 2): the funds it is paid from, -1 for none
    share: np.ndarray  # of the first fund
    allocated: np.ndarray  # the day both allocations are made
    start: np.ndarray
    end: np.ndarray
    rounds: np.ndarray

    def __len__(self) -> int:
        return len(self.year)

    @property
    def level(self) -> np.ndarray:
        return np.array([p.level for p in PROGRAMMES])[self.programme]

    def take(self, keep: np.ndarray) -> Projects:
        """The projects where ``keep`` is true."""
        return Projects(**{f.name: getattr(self, f.name)[keep] for f in fields(self)})


def townships(county: County) -> np.ndarray:
    """The index of each village's township."""
    _, index = np.unique(county.village_codes // 1000, return_inverse=True)
    return np.asarray(index, dtype=np.int64)


def unit_codes(county: County, level: int) -> np.ndarray:
    """The 12-digit codes of a county's units at ``level``."""
    if level == COUNTY:
        return np.array([county.code * 1_000_000], dtype=np.int64)
    if level == TOWNSHIP:
        return np.unique(county.village_codes // 1000) * 1000
    return county.village_codes


def draw_funds(rng: np.random.Generator, years: tuple[int, ...]) -> Funds:
    """The funds each year brings; central, provincial and county funds every year."""
    chance = np.array([s.chance for s in SOURCES])
    present = rng.random((len(years), len(SOURCES))) < chance
    low, high = (np.array([s.days[k] for s in SOURCES]) for k in (0, 1))
    days = rng.integers(low, high + 1, size=(len(years), len(SOURCES)))
    year_index, source = np.nonzero(present)
    first = np.array([np.datetime64(f"{y}-01-01") for y in years])
    received = first[year_index] + days[year_index, source].astype("timedelta64[D]")
    return Funds(np.asarray(years)[year_index], source, received)


def draw_projects(
    rng: np.random.Generator, county: County, funds: Funds, years: tuple[int, ...]
) -> Projects:
    """Each year's projects: a programme runs in a unit with the programme's chance."""
    parts: list[tuple[np.ndarray, ...]] = []
    for each_year in years:
        for index, each in enumerate(PROGRAMMES):
            codes = unit_codes(county, each.level)
            units = np.flatnonzero(rng.random(len(codes)) < each.chance)
            parts.append((np.full(len(units), each_year), np.full(len(units), index), units,
                          codes[units]))
    year, programme, unit, region = (np.concatenate([p[k] for p in parts]) for k in range(4))
    top_up = np.array([p.top_up for p in PROGRAMMES])[programme]
    fund = _funds_of(rng, funds, year, top_up)
    received = funds.received[fund[:, 0]]
    received = np.where(fund[:, 1] >= 0, np.maximum(received, funds.received[fund[:, 1]]),
                        received)
    n = len(year)
    allocated = received + rng.integers(5, 41, size=n).astype("timedelta64[D]")
    start = allocated + np.where(top_up, 0, rng.integers(0, 21, size=n)).astype(
        "timedelta64[D]")
    low, high = (np.array([p.days[k] for p in PROGRAMMES])[programme] for k in (0, 1))
    last = np.array([np.datetime64(f"{y}-{LAST_DAY}") for y in years])[
        np.searchsorted(years, year)]
    end = np.minimum(start + rng.integers(low, high + 1).astype("timedelta64[D]"), last)
    end = np.where(top_up, last, end)
    rounds = np.minimum(np.array([p.rounds for p in PROGRAMMES])[programme],
                        most_rounds(start, end))
    share = np.round(rng.uniform(0.5, 0.8, size=n), 2)
    return Projects(year, programme, unit, region, fund, share, allocated, start, end, rounds)


def most_rounds(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """How many payments a payee can get between ``start`` and ``end``: a week after the
    start, then at least 36 days apart (plus up to three days' delay), ending days early."""
    return np.maximum((end - start).astype(np.int64) - 14, 0) // GAP + 1


GAP = 36  # days between a payee's payments by one project: more than the 30 of the rule


def _funds_of(
    rng: np.random.Generator, funds: Funds, year: np.ndarray, top_up: np.ndarray,
) -> np.ndarray:
    """One fund per project, drawn by the sources' weights, and a second fund for some; the
    benefit card is paid from the central fund, the first to arrive, so it pays all year."""
    fund = np.full((len(year), 2), -1, dtype=np.int64)
    weights = np.array([s.weight for s in SOURCES])
    for y in np.unique(year):
        rows = np.flatnonzero(year == y)
        mine = np.flatnonzero(funds.year == y)
        p = weights[funds.source[mine]] / weights[funds.source[mine]].sum()
        fund[rows, 0] = mine[rng.choice(len(mine), size=len(rows), p=p)]
        second = mine[rng.choice(len(mine), size=len(rows), p=p)]
        keep = (rng.random(len(rows)) < SECOND_FUND) & (second != fund[rows, 0])
        fund[rows, 1] = np.where(keep, second, -1)
        central = mine[funds.source[mine] == CENTRAL_SOURCE]
        fund[rows[top_up[rows]]] = [central[0], -1]
    return fund


def use_every_fund(rng: np.random.Generator, projects: Projects, funds: Funds) -> None:
    """A fund no project draws on becomes the second fund of a project allocated after it
    arrived (a county does not leave its own budget's fund unused)."""
    top_up = np.array([p.top_up for p in PROGRAMMES])[projects.programme]
    for unused in np.setdiff1d(np.arange(len(funds)), projects.fund):
        free = np.flatnonzero((projects.fund[:, 1] < 0) & ~top_up
                              & (projects.year == funds.year[unused])
                              & (projects.allocated > funds.received[unused]))
        if len(free):
            projects.fund[free[rng.integers(0, len(free))], 1] = unused
