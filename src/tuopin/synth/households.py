"""Households: number, village, status, category and causes of poverty."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tuopin.domain.enums import HouseholdCategory, HouseholdStatus, PovertyCause
from tuopin.synth import columns, paths
from tuopin.synth.config import STREAM_TRUTH, SynthConfig
from tuopin.synth.latent import hardship, mix
from tuopin.synth.paths import PovertyPath, Truth
from tuopin.synth.regions import County

STATUSES = list(HouseholdStatus)
ORDINARY, POOR, EXITED, MONITORED = (STATUSES.index(s) for s in HouseholdStatus)
# Household sizes 1..8 (mean about 3.6, as in rural Gansu).
SIZE_SHARES = np.array([0.10, 0.19, 0.20, 0.22, 0.15, 0.08, 0.04, 0.02])
CATEGORIES = list(HouseholdCategory)
CAUSES = list(PovertyCause)
# Causes that do not follow from the members' health or age, with their usual frequency.
OTHER_CAUSE_WEIGHTS = {
    PovertyCause.CAPITAL: 0.30, PovertyCause.SKILLS: 0.25, PovertyCause.TRANSPORT: 0.10,
    PovertyCause.LAND: 0.10, PovertyCause.WATER: 0.08, PovertyCause.DRIVE: 0.07,
    PovertyCause.DISASTER: 0.05, PovertyCause.OTHER: 0.05,
}
BANK_PREFIXES = ["622848", "621799", "622827", "623059", "621098"]
PHONE_PREFIXES = ["13", "15", "18"]


@dataclass
class Households:
    """The households of one county, as parallel arrays."""

    county: County
    village: np.ndarray  # index into county.village_codes
    number: np.ndarray  # village code * 10 000 + sequence
    hardship: np.ndarray
    status: np.ndarray  # index into STATUSES
    size: np.ndarray  # members ever listed, living or not
    path: PovertyPath  # the years the standard judges it poor, and what the register records
    category: np.ndarray | None = None  # index into CATEGORIES, -1 for none

    def __len__(self) -> int:
        return len(self.number)

    @property
    def registered(self) -> np.ndarray:
        """Households on the poverty register: poor, exited or monitored."""
        return self.status != ORDINARY


def draw(rng: np.random.Generator, county: County, config: SynthConfig) -> Households:
    """Draw the county's households: where they live, how hard-up they are, their path
    through poverty and the status the register gives them at the end of the last year,
    with the errors ``config`` asks for planted."""
    last = config.years[-1]
    village = np.repeat(np.arange(len(county.village_codes)), county.village_households)
    starts = np.cumsum(county.village_households) - county.village_households
    sequence = np.arange(len(village)) - starts[village] + 1
    number = county.village_codes[village] * 10_000 + sequence
    score = hardship(rng, village, len(county.village_codes))
    # Poverty follows hardship but not perfectly: some hard-up households cope.
    ranking = mix(rng, score, 0.85)
    path, monitored = paths.draw(rng, ranking, last)
    identified = path.identified <= last
    status = np.select([identified & (path.exited <= last), identified, monitored],
                       [EXITED, POOR, MONITORED], ORDINARY).astype(np.int8)
    if config.plants_truth:
        paths.plant(config.rng(STREAM_TRUTH, county.index), path, status == EXITED,
                    status == ORDINARY, ranking, last, wrong_exits=config.plant_wrong_exits,
                    missed_poor=config.plant_missed_poor)
    size = rng.choice(np.arange(1, 9), size=len(village), p=SIZE_SHARES)
    return Households(county, village, number, score, status, size, path)


def truth(hh: Households) -> list[tuple[str, str]]:
    """The planted errors as (household number, error), in household order."""
    planted = np.flatnonzero(hh.path.truth != Truth.NONE)
    labels = [Truth(t).label for t in hh.path.truth[planted].tolist()]
    return list(zip((f"{n:016d}" for n in hh.number[planted].tolist()), labels, strict=True))


def draw_category(rng: np.random.Generator, hh: Households, head_age: np.ndarray) -> None:
    """一般 / 低保 / 五保 for registered households: 五保 are old people living alone."""
    u = rng.random(len(hh))
    dibao = u < 0.12 + 0.15 * (hh.hardship > 1.0)
    wubao = (hh.size == 1) & (head_age >= 60) & (u > 0.5)
    category = np.where(wubao, 2, np.where(dibao, 1, 0))
    hh.category = np.where(hh.registered, category, -1).astype(np.int8)


def draw_causes(
    rng: np.random.Generator, hh: Households, disabled: np.ndarray, ill: np.ndarray,
    no_labour: np.ndarray, student: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Main cause and up to two other causes (-1 for none), coherent with the members."""
    n = len(hh)
    others = list(OTHER_CAUSE_WEIGHTS)
    weights = np.array(list(OTHER_CAUSE_WEIGHTS.values()))
    drawn = np.array([CAUSES.index(c) for c in others])[
        rng.choice(len(others), size=(3, n), p=weights / weights.sum())
    ]
    u = rng.random((4, n))
    main = drawn[0]
    # Later rules win: a disabled member explains poverty before an ill one, and so on.
    rules = (
        (PovertyCause.SCHOOLING, student, 0.5),
        (PovertyCause.LABOUR, no_labour, 0.6),
        (PovertyCause.ILLNESS, ill, 0.7),
        (PovertyCause.DISABILITY, disabled, 0.7),
    )
    for k, (cause, applies, chance) in enumerate(rules):
        main = np.where(applies & (u[k] < chance), CAUSES.index(cause), main)
    how_many = rng.choice(3, size=n, p=[0.3, 0.45, 0.25])
    second = np.where((how_many >= 1) & (drawn[1] != main), drawn[1], -1)
    third = np.where((how_many >= 2) & (drawn[2] != main) & (drawn[2] != drawn[1]), drawn[2], -1)
    none = ~hh.registered
    return np.where(none, -1, main), np.where(none[None, :], -1, np.stack([second, third]))


def table(
    rng: np.random.Generator, hh: Households, causes: tuple[np.ndarray, np.ndarray],
    last_year: int,
) -> dict[str, pa.Array]:
    """The households file's columns."""
    n = len(hh)
    village_codes = hh.county.village_codes[hh.village]
    group = (hh.number % 10_000 - 1) // 30 + 1  # 村民小组 of about thirty households
    address = pc.binary_join_element_wise(
        pc.cast(pa.array(group), pa.string()), "组",
        pc.cast(pa.array(rng.integers(1, 80, size=n)), pa.string()), "号", "",
    )
    # Monitored households were found in the last year; nobody exits in the year
    # identified (DOMAIN.md), which the path keeps.
    identified = np.where(hh.status == MONITORED, last_year, hh.path.identified)
    exited = hh.path.exited
    main, other = causes
    cause_words = [c.value for c in CAUSES]
    second, third = (columns.words(cause_words, np.maximum(o, 0), o >= 0) for o in other)
    # Joined only where both exist: binary_join_element_wise drops all-null rows on "skip".
    other_text = pc.coalesce(pc.binary_join_element_wise(second, third, ";"), second, third)
    phone = columns.random_digit_strings(rng, PHONE_PREFIXES, n, 11)
    bank = columns.random_digit_strings(rng, BANK_PREFIXES, n, 19)
    bank[:, -1] = columns.luhn_digit(bank[:, :-1])
    assert hh.category is not None
    return {
        "number": columns.fixed_width(hh.number, 16),
        "village_code": columns.fixed_width(village_codes, 12),
        "address": address,
        "status": columns.words([s.value for s in STATUSES], hh.status),
        "category": columns.words([c.value for c in CATEGORIES], np.maximum(hh.category, 0),
                                  hh.category >= 0),
        "main_cause": columns.words(cause_words, np.maximum(main, 0), main >= 0),
        "other_causes": other_text,
        "year_identified": columns.optional(identified, hh.registered, pa.int32()),
        "year_exited": columns.optional(exited, hh.status == EXITED, pa.int32()),
        "phone": columns.masked(columns.ascii_column(phone + 48), rng.random(n) < 0.9),
        "bank_account": columns.masked(columns.ascii_column(bank + 48), rng.random(n) < 0.85),
    }
