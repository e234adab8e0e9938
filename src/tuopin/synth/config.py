"""What the synthetic registry generator is asked to produce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypedDict, cast

import numpy as np

from tuopin.domain.errors import ValidationFailed

# Streams of random numbers, kept apart so that adding draws to one never shifts another.
STREAM_PLAN = 0
STREAM_NAMES = 1
STREAM_COUNTY = 2
STREAM_FUNDS = 3  # the books of funds of a county
STREAM_PLANT = 4  # the anomalies planted in a county's books
STREAM_TRUTH = 5  # the classification errors planted in a county's registry (truth.csv)
MOST_PLANTED = 0.5  # the highest rate of wrong exits or missed poor that may be planted


PLANT_KEYS = {"wrong-exits": "plant_wrong_exits", "missed-poor": "plant_missed_poor"}


class PlantRates(TypedDict, total=False):
    """The SynthConfig fields of the classification errors to plant."""

    plant_wrong_exits: float
    plant_missed_poor: float


def parse_plant(text: str) -> PlantRates:
    """``wrong-exits=0.03,missed-poor=0.01`` as SynthConfig fields and their rates."""
    rates: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        field_name = PLANT_KEYS.get(key.strip())
        try:
            rate = float(value)
        except ValueError:
            rate = None
        if not sep or field_name is None or rate is None:
            raise ValidationFailed(f"--plant takes {' and '.join(PLANT_KEYS)} as key=rate "
                                   f"pairs (e.g. wrong-exits=0.03), not {item.strip()!r}")
        rates[field_name] = rate
    return cast(PlantRates, rates)  # its keys are the values of PLANT_KEYS


def parse_years(text: str) -> tuple[int, ...]:
    """``2014-2020`` (every year from the first to the last) or ``2019,2020``."""
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-", 1))
            return tuple(range(first, last + 1))
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValidationFailed(f"--years takes FIRST-LAST or a list like 2019,2020, "
                               f"not {text!r}") from None


@dataclass(frozen=True)
class SynthConfig:
    """How many households to generate, where, for which survey years, from which seed."""

    households: int
    seed: int = 0
    province: str = "62"  # two-digit province code; Gansu by default
    years: tuple[int, ...] = (2019, 2020)  # survey years
    households_per_village: int = 250  # a mean: each village gets 60-140 % of it
    villages_per_township: int = 15
    townships_per_county: int = 15
    funds: bool = True  # also draw the books of funds (funds, projects, payments)
    # Payments a year per poor, monitored or recently exited household: the programmes give
    # about 3.5, the benefit card (一卡通) at least one round more and up to about 9 rounds.
    payments_per_household: float = 4.0
    plant_anomalies: int = 0  # cases of every rule of `tuopin funds check` to plant
    # Classification errors planted in the registry, listed in truth.csv: the share of the
    # exited households that the standard still judges poor (wrongly exited, 错退), and the
    # share of the ordinary (never registered) households that it judges poor (missed, 漏评).
    plant_wrong_exits: float = 0.0
    plant_missed_poor: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.households < 1:
            problems.append("households must be at least 1")
        if self.seed < 0:
            problems.append("seed must not be negative")
        if len(self.province) != 2 or not self.province.isdigit():
            problems.append("province must be a two-digit code")
        if not self.years or list(self.years) != sorted(set(self.years)):
            problems.append("years must be distinct and in increasing order")
        elif not 2014 <= self.years[0] <= self.years[-1] <= 2100:
            # The register (建档立卡) began in 2014; households are identified from then on.
            problems.append("years must lie within 2014-2100")
        # Household numbers give a village four digits; the biggest village is 1.4 x the mean.
        if not 1 <= self.households_per_village <= 7000:
            problems.append("households_per_village must be within 1-7000")
        if not 1 <= self.villages_per_township <= 999:
            problems.append("villages_per_township must be within 1-999")
        if not 1 <= self.townships_per_county <= 999:
            problems.append("townships_per_county must be within 1-999")
        if not 0.0 <= self.payments_per_household <= 12.0:
            problems.append("payments_per_household must be within 0-12")
        if not 0 <= self.plant_anomalies <= 1_000:
            problems.append("plant_anomalies must be within 0-1000")
        if self.plant_anomalies and not self.funds:
            problems.append("plant_anomalies needs the books of funds")
        for name in ("plant_wrong_exits", "plant_missed_poor"):
            if not 0.0 <= getattr(self, name) <= MOST_PLANTED:
                problems.append(f"{name} must be within 0-{MOST_PLANTED}")
        if problems:
            raise ValidationFailed("; ".join(problems), problems)

    @property
    def books_closed_on(self) -> date:
        """The day the books are drawn up to: the last survey year's 31 December. Every
        project ends by then; a clean book gives no finding on any later day."""
        return date(self.years[-1], 12, 31)

    @property
    def plants_truth(self) -> bool:
        """Whether classification errors are planted (and truth.csv written)."""
        return bool(self.plant_wrong_exits or self.plant_missed_poor)

    def rng(self, *stream: int) -> np.random.Generator:
        """A generator for one stream (and chunk) of this config, independent of the others."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=stream))
