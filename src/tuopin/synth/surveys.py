"""Annual surveys: income by component, 两不愁三保障 items and drinking water, per year.

Each household's path (paths.py) says in which years the shipped standard judges it poor,
and the survey of every year is drawn to give that verdict: in a poor year its income is
below the year's line (or, in the last years before its exit, its house is dangerous or its
water unsafe); in any other year its income is above the line and every item is met. The
items that fail in the poor years follow the household's hardship: low income, dangerous
housing and unsafe water go together, and each is put right by the exit at the latest.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tuopin.domain.enums import HousingGrade
from tuopin.synth import columns
from tuopin.synth.families import Family
from tuopin.synth.households import MONITORED, Households
from tuopin.synth.members import CHRONIC, DISABLED, SERIOUS, Members
from tuopin.synth.names import draw_surnames, person_names
from tuopin.synth.paths import NEVER, income_lines

GRADES = list(HousingGrade)
A, B, C, D = range(4)
# Median per-capita net income of a household in 2019 (rural Gansu ~9,600 in 2019), growing
# ~8 % a year; a household's own level follows its hardship.
MEDIAN_INCOME_2019 = 7_800.0
GROWTH = 0.08
INCOME_SPREAD = 0.4
HARDSHIP_EFFECT = 0.3  # log income per standard deviation of hardship
# Income is never within this (log) distance of the line, so that rounding to the fen never
# changes a verdict.
MARGIN = 0.002
# Log income per capita against the line moves by these (per year) towards and past the
# household's crossing: up to about twice the line four years after an exit.
SLOPE_BELOW = (0.10, 0.35)
SLOPE_ABOVE = (0.06, 0.18)
DEEPEST = 3.5  # years' worth of SLOPE_BELOW: the deepest poor live on about 30 % of the line
MONITORING_LINE = 1.5  # x the poverty line, 2020 on (DOMAIN.md): monitored households' income
# Chances that each item fails in a household's poor years (from the year it became poor
# until a year at most its exit): housing, water, food, clothing.
ITEMS = ("housing", "water", "food", "clothing")
ITEM_CHANCES = np.array([0.25, 0.20, 0.05, 0.04])
WATER_SCARCE_VILLAGES = 0.15


def _present(fam: Family, mem: Members, day: np.ndarray, households: int) -> np.ndarray:
    """Members living in each household on each household's collection ``day``."""
    on = day[fam.household]
    alive = (fam.birth <= on) & ~(mem.deceased <= on)
    return np.bincount(fam.household, weights=alive, minlength=households).astype(np.int64)


def _per_household(fam: Family, households: int, weights: np.ndarray) -> np.ndarray:
    return np.bincount(fam.household, weights=weights, minlength=households)


def _welfare(rng: np.random.Generator, hh: Households, years: np.ndarray) -> np.ndarray:
    """Log income per capita against the line, (years, households), for a household that is
    never poor: the county's level, the household's hardship, growth; never below the
    line (a draw below it is reflected above it)."""
    n = len(hh)
    county_median = MEDIAN_INCOME_2019 * np.exp(0.1 * rng.standard_normal())
    log_pc = (np.log(county_median) + GROWTH * (years[0] - 2019) - HARDSHIP_EFFECT * hh.hardship
              + INCOME_SPREAD * rng.standard_normal(n))
    growth = rng.normal(GROWTH, 0.12, size=(len(years) - 1, n))
    log_pc = log_pc + np.vstack([np.zeros(n), np.cumsum(growth, axis=0)])
    margin = log_pc - np.log(income_lines(tuple(years.tolist())))[:, None]
    return np.where(margin < MARGIN, 2 * MARGIN - margin, margin)


def _margins(rng: np.random.Generator, hh: Households, years: np.ndarray) -> np.ndarray:
    """Log income per capita against the year's line, (years, households): below the line
    exactly in the household's income-poor years (from ``start`` until ``crossing``)."""
    n, path = len(hh), hh.path
    margin = _welfare(rng, hh, years)
    y = years[:, None]
    # a household poor to the end would cross the line some years after the last survey
    crossing = np.where(path.crossing == NEVER,
                        years[-1] + 1 + rng.integers(0, 4, size=n), path.crossing)
    below = rng.uniform(*SLOPE_BELOW, size=n)
    above = rng.uniform(*SLOPE_ABOVE, size=n)
    # at least half a year from the crossing; no further below it than 3.5 years' worth
    t = np.maximum(y - crossing + 0.5, -DEEPEST)
    slope = np.where(t < 0, below, above)
    # noise of at most 0.4 x slope keeps the sign, and |margin| >= 0.1 x slope > MARGIN
    trend = slope * t + 0.4 * slope * rng.uniform(-1, 1, size=(len(years), n))
    margin = np.where(y >= path.start, trend, margin)
    # monitored households live between the poverty line and the monitoring line
    edge = MARGIN + (np.log(MONITORING_LINE) - 2 * MARGIN) * rng.random(n)
    return np.where((hh.status == MONITORED) & (y >= 2020), edge, margin)


def _incomes(
    rng: np.random.Generator, hh: Households, fam: Family, mem: Members, years: np.ndarray,
    size: np.ndarray,
) -> dict[str, np.ndarray]:
    """Income components for (years, households) whose net per capita has the margins."""
    n = len(hh)
    lines = income_lines(tuple(years.tolist()))[:, None]
    net = lines * np.exp(_margins(rng, hh, years)) * size
    away = np.minimum(_per_household(fam, n, mem.months_away) / 12, 1.5)
    elders = _per_household(fam, n, fam.age >= 60)
    shares = np.stack([
        0.15 + 0.6 * away + 0.1 * rng.random(n),  # wages
        0.25 + 0.2 * rng.random(n),  # production, net of costs
        0.03 * rng.random(n) ** 3,  # property
        0.05 + 0.15 * hh.registered + 0.1 * np.minimum(elders, 2) + 0.25 * _dibao(fam, mem, n),
    ])
    shares = shares / shares.sum(axis=0)
    wage, production, property_, transfer = (shares[k][None, :] * net for k in range(4))
    cost_share = 0.25 + 0.25 * rng.random(n)
    costs = production * cost_share / (1 - cost_share)
    return {"wage_income": wage, "production_income": production + costs,
            "property_income": property_, "transfer_income": transfer, "production_costs": costs}


def _dibao(fam: Family, mem: Members, households: int) -> np.ndarray:
    """1.0 for households where someone draws 低保."""
    return (_per_household(fam, households, mem.dibao) > 0).astype(float)


def _failing(rng: np.random.Generator, hh: Households, years: np.ndarray) -> np.ndarray:
    """Which items fail, (items, years, households): each in a span of the household's poor
    years, from the first until a year at most its exit; where income rose above the line
    before the exit, the house or the water fails until the exit."""
    n, path = len(hh), hh.path
    last = int(years[-1])
    fails = rng.random((len(ITEMS), n)) < ITEM_CHANCES[:, None] * np.exp(0.3 * hh.hardship)
    # the year each item is put right: after the first poor year, by the exit at the latest
    cap = np.where(path.end == NEVER, last + 3, path.end)
    fixed = path.start + 1 + (rng.random((len(ITEMS), n)) * (cap - path.start)).astype(np.int64)
    held = path.crossing < path.end  # poor for a while on the house or the water alone
    which = rng.integers(0, 2, size=n)  # housing or water
    for item in (0, 1):
        mine = held & (which == item)
        fails[item] |= mine
        fixed[item] = np.where(mine, path.end, fixed[item])
    y = years[None, :, None]
    return fails[:, None, :] & (path.start <= y) & (y < fixed[:, None, :])


def _housing(rng: np.random.Generator, hh: Households, dangerous: np.ndarray) -> np.ndarray:
    """Grades A-D for (years, households): C or D while dangerous, A once renovated."""
    n = len(hh)
    whole = rng.random(n) < 0.2  # about one in five dangerous houses is grade D
    safe = np.where(rng.random(n) < 0.55, A, B)
    renovated = np.maximum.accumulate(dangerous, axis=0)
    return np.where(dangerous, np.where(whole, D, C), np.where(renovated, A, safe))


def _water(
    rng: np.random.Generator, hh: Households, unsafe: np.ndarray, scarce: np.ndarray
) -> dict[str, np.ndarray]:
    """The four water indicators; an unsafe supply fails one or more of them."""
    n = len(hh)
    years = unsafe.shape[0]
    least = np.where(scarce, 20.0, 35.0)  # litres per person per day (DOMAIN.md)
    piped = rng.random(n) < np.clip(0.88 - 0.05 * hh.hardship, 0, 1)
    first = rng.choice(4, size=n, p=[0.3, 0.3, 0.2, 0.2])
    fails = unsafe[None] & ((np.arange(4)[:, None] == first) | (rng.random((4, n)) < 0.15))[:, None]
    good = {
        "water_quantity_lpd": np.minimum(least + 5 + rng.lognormal(np.log(40), 0.5, n), 300),
        "water_trip_minutes": np.where(piped, 0, rng.integers(2, 21, size=n)),
        "water_outage_days": np.where(rng.random(n) < 0.6, 0, rng.integers(1, 31, size=n)),
    }
    bad = {
        "water_quantity_lpd": least - 1 - (least - 9) * rng.random(n),
        "water_trip_minutes": rng.integers(25, 91, size=n),
        "water_outage_days": rng.integers(40, 151, size=n),
    }
    out = {name: np.where(fails[k], bad[name], good[name]) for k, name in enumerate(good)}
    out["water_quantity_lpd"] = np.round(out["water_quantity_lpd"], 1)
    out["water_piped"] = piped & ~fails[1]
    out["water_quality_ok"] = ~fails[3]
    out["water_scarce_area"] = np.broadcast_to(scarce, (years, n))
    return out


def _medical_expenses(
    rng: np.random.Generator, fam: Family, mem: Members, shape: tuple[int, int]
) -> np.ndarray:
    n = shape[1]
    burden = (_per_household(fam, n, mem.health == CHRONIC) * 1.5
              + _per_household(fam, n, mem.health == SERIOUS) * 6
              + _per_household(fam, n, mem.health == DISABLED) * 0.8)
    spends = (burden > 0) | (rng.random(shape) < 0.6)
    return np.where(spends, rng.lognormal(np.log(400), 1.0, shape) * (1 + burden), 0.0)


def draw(
    rng: np.random.Generator, years: tuple[int, ...], hh: Households, fam: Family, mem: Members
) -> dict[str, pa.Array]:
    """The surveys file's columns: one row per household and year, household by household."""
    n, count = len(hh), len(years)
    shape = (count, n)
    day = np.stack([np.datetime64(f"{y}-11-01") + rng.integers(0, 51, size=n).astype(
        "timedelta64[D]") for y in years])
    size = np.stack([_present(fam, mem, day[k], n) for k in range(count)])
    surveyed = np.asarray(years)
    values: dict[str, np.ndarray] = dict(_incomes(rng, hh, fam, mem, surveyed, size))
    values["medical_expenses"] = _medical_expenses(rng, fam, mem, shape)
    housing, water, food, clothing = _failing(rng, hh, surveyed)
    values["food_secure"] = ~food
    values["clothing_secure"] = ~clothing
    grade = _housing(rng, hh, housing)
    scarce_villages = rng.random(len(hh.county.village_codes)) < WATER_SCARCE_VILLAGES
    values.update(_water(rng, hh, water, scarce_villages[hh.village]))
    village_count = len(hh.county.village_codes)
    collectors = person_names(rng, draw_surnames(rng, village_count),
                              rng.random(village_count) < 0.6)

    def rows(a: np.ndarray) -> np.ndarray:  # (years, households) -> household-major rows
        return np.ascontiguousarray(np.broadcast_to(a, shape).T).ravel()

    money = ("wage_income", "production_income", "property_income", "transfer_income",
             "production_costs", "medical_expenses")
    table: dict[str, pa.Array] = {
        "household_number": columns.fixed_width(np.repeat(hh.number, count), 16),
        "year": pa.array(np.tile(np.asarray(years), n), pa.int32()),
        "household_size": pa.array(rows(size), pa.int32()),
        "housing_grade": columns.words([g.value for g in GRADES], rows(grade)),
        "collected_by": collectors.take(pa.array(np.repeat(hh.village, count))),
        "collected_on": columns.dates(rows(day)),
    }
    for name, value in values.items():
        if name in money:
            table[name] = columns.money(rows(value))
        elif value.dtype == bool:
            table[name] = pa.array(rows(value))
        elif name == "water_quantity_lpd":
            table[name] = pa.array(rows(value), pa.float64())
        else:
            table[name] = pa.array(rows(value), pa.int32())
    return table
