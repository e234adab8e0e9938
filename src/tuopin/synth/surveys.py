"""Annual surveys: income by component, 两不愁三保障 items and drinking water, per year.

Every item follows the household's latent hardship, so low income, dropout, dangerous
housing and unsafe water go together as they do in a real register. Later years improve:
incomes grow, some dangerous houses are renovated and some water supplies fixed.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tuopin.domain.enums import HousingGrade
from tuopin.synth import columns
from tuopin.synth.families import Family
from tuopin.synth.households import EXITED, MONITORED, POOR, Households
from tuopin.synth.latent import happens, mix, quantile
from tuopin.synth.members import CHRONIC, DISABLED, SERIOUS, Members
from tuopin.synth.names import draw_surnames, person_names

GRADES = list(HousingGrade)
A, B, C, D = range(4)
# Median per-capita net income of an ordinary household in 2019 (rural Gansu ~9,600 in 2019),
# growing ~8 % a year; registered households sit lower.
MEDIAN_INCOME_2019 = 7_800.0
GROWTH = 0.08
STATUS_EFFECT = {POOR: -0.5, MONITORED: -0.35, EXITED: -0.1}
INCOME_SPREAD = 0.4
HARDSHIP_EFFECT = 0.3  # log income per standard deviation of hardship
# Deprivation rates in the first survey year, and how strongly each follows hardship.
DANGEROUS_HOUSING = (0.05, 0.7)
UNSAFE_WATER = (0.05, 0.6)
INSECURE = (0.012, 0.7)
WATER_SCARCE_VILLAGES = 0.15
FIX_CHANCE = 0.5  # chance a year that a dangerous house or an unsafe supply is put right


def _persistent(
    rng: np.random.Generator, first: np.ndarray, years: int, fix: np.ndarray
) -> np.ndarray:
    """A deprivation of the first year, each later year put right with probability ``fix``."""
    state = [first]
    for _ in range(1, years):
        state.append(state[-1] & (rng.random(len(first)) >= fix))
    return np.stack(state)


def _present(fam: Family, mem: Members, day: np.ndarray, households: int) -> np.ndarray:
    """Members living in each household on each household's collection ``day``."""
    on = day[fam.household]
    alive = (fam.birth <= on) & ~(mem.deceased <= on)
    return np.bincount(fam.household, weights=alive, minlength=households).astype(np.int64)


def _per_household(fam: Family, households: int, weights: np.ndarray) -> np.ndarray:
    return np.bincount(fam.household, weights=weights, minlength=households)


def _incomes(
    rng: np.random.Generator, hh: Households, fam: Family, mem: Members, years: tuple[int, ...],
    size: np.ndarray,
) -> dict[str, np.ndarray]:
    """Income components for (years, households), net per capita log-normal by status."""
    n = len(hh)
    county_median = MEDIAN_INCOME_2019 * np.exp(0.1 * rng.standard_normal())
    effect = np.zeros(n)
    for status, shift in STATUS_EFFECT.items():
        effect[hh.status == status] = shift
    log_pc = (np.log(county_median) + GROWTH * (years[0] - 2019) + effect
              - HARDSHIP_EFFECT * hh.hardship + INCOME_SPREAD * rng.standard_normal(n))
    growth = rng.normal(GROWTH + 0.1 * hh.registered, 0.12, size=(len(years) - 1, n))
    log_pc = log_pc + np.vstack([np.zeros(n), np.cumsum(growth, axis=0)])
    net = np.exp(log_pc) * size
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


def _housing(rng: np.random.Generator, hh: Households, years: int) -> np.ndarray:
    """Grades A-D for (years, households); renovated houses become A."""
    rate, rho = DANGEROUS_HOUSING
    latent = mix(rng, hh.hardship, rho)
    first = latent > quantile(1 - rate)
    whole = latent > quantile(1 - rate / 5)  # about one in five dangerous houses is grade D
    safe = np.where(rng.random(len(hh)) < 0.55, A, B)
    # Registered households come first for renovation (危房改造).
    dangerous = _persistent(rng, first, years, np.where(hh.registered, 0.7, 0.4))
    return np.where(dangerous, np.where(whole, D, C), np.where(first, A, safe))


def _water(
    rng: np.random.Generator, hh: Households, years: int, scarce: np.ndarray
) -> dict[str, np.ndarray]:
    """The four water indicators; an unsafe supply fails one or more of them."""
    n = len(hh)
    rate, rho = UNSAFE_WATER
    unsafe = _persistent(rng, happens(rng, hh.hardship, rho, rate), years, np.full(n, FIX_CHANCE))
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
    values: dict[str, np.ndarray] = dict(_incomes(rng, hh, fam, mem, years, size))
    values["medical_expenses"] = _medical_expenses(rng, fam, mem, shape)
    rate, rho = INSECURE
    for item in ("food_secure", "clothing_secure"):
        insecure = happens(rng, hh.hardship, rho, rate)
        values[item] = ~_persistent(rng, insecure, count, np.full(n, 0.6))
    grade = _housing(rng, hh, count)
    scarce_villages = rng.random(len(hh.county.village_codes)) < WATER_SCARCE_VILLAGES
    values.update(_water(rng, hh, count, scarce_villages[hh.village]))
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
