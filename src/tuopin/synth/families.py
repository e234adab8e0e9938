"""Who lives in a household: head, spouse, children, parents, grandchildren, with coherent ages.

Each household's members are laid out in slots (head, spouse, children, child-in-law,
grandchildren, parents); counts per slot are drawn per household and expanded to members
with ``np.repeat``, so there is no loop over people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuopin.domain.enums import Relation
from tuopin.synth.names import SURNAMES, draw_surnames

RELATIONS = list(Relation)
SLOTS = (Relation.HEAD, Relation.SPOUSE, Relation.CHILD, Relation.CHILD_IN_LAW,
         Relation.GRANDCHILD, Relation.PARENT)
HEAD, SPOUSE, CHILD, IN_LAW, GRANDCHILD, PARENT = range(len(SLOTS))
DAYS_PER_YEAR = 365.25


@dataclass
class Family:
    """Every member of a county's households, as parallel arrays, plus per-household facts."""

    household: np.ndarray  # index of the member's household
    slot: np.ndarray  # index into SLOTS
    age: np.ndarray  # years (fractional) on the reference date
    birth: np.ndarray  # datetime64[D]
    male: np.ndarray
    surname: np.ndarray  # index into SURNAMES
    head_age: np.ndarray  # per household

    def __len__(self) -> int:
        return len(self.household)

    @property
    def relation(self) -> np.ndarray:
        """Index into ``list(Relation)``."""
        return np.array([RELATIONS.index(r) for r in SLOTS])[self.slot]


def _composition(rng: np.random.Generator, size: np.ndarray, head_age: np.ndarray) -> np.ndarray:
    """How many members each household has in each slot, shape (slots, households)."""
    n = len(size)
    spouse = (size >= 2) & (rng.random(n) < 0.85)
    rest = size - 1 - spouse
    parents = np.where(head_age < 60, rng.choice(3, size=n, p=[0.72, 0.17, 0.11]), 0)
    parents = np.minimum(rest, parents)
    rest = rest - parents
    # Older heads often live with a married child and grandchildren.
    three_generations = (head_age >= 48) & (rest >= 2) & (rng.random(n) < 0.6)
    children = np.where(three_generations, 1, rest)
    grandchildren = np.where(three_generations, rest - 2, 0)
    return np.stack([np.ones(n, np.int64), spouse, children, three_generations,
                     grandchildren, parents]).astype(np.int64)


def _offspring_age(rng: np.random.Generator, parent_age: np.ndarray) -> np.ndarray:
    """A child's age: the parent was 20-34 at the birth, or 18+ for young parents."""
    age = parent_age - 20 - 14 * rng.random(len(parent_age))
    young = np.maximum(parent_age - 18, 0.5) * rng.random(len(parent_age))
    return np.where(age >= 0, age, young)


def draw(rng: np.random.Generator, size: np.ndarray, reference: np.datetime64) -> Family:
    """Draw the members of households of the given sizes, ages counted on ``reference``."""
    n = len(size)
    alone = size == 1
    head_age = np.clip(np.where(alone, rng.normal(62, 14, n), rng.normal(48, 11, n)), 22, 92)
    counts = _composition(rng, size, head_age)
    household = np.repeat(np.arange(n), size)
    position = np.arange(len(household)) - (np.cumsum(size) - size)[household]
    bounds = np.cumsum(counts, axis=0)[:, household]
    slot = (position[None, :] >= bounds).sum(axis=0)
    rank = position - np.where(slot > 0, bounds[np.maximum(slot - 1, 0), np.arange(len(slot))], 0)
    three_generations = counts[IN_LAW] > 0
    adult_child_age = head_age - 20 - 8 * rng.random(n)
    head_male = rng.random(n) < np.where(alone, 0.55, 0.9)
    adult_child_male = rng.random(n) < 0.85
    age = _ages(rng, slot, household, head_age, adult_child_age, three_generations)
    male = _sexes(rng, slot, rank, counts[PARENT][household], head_male[household],
                  np.where(three_generations, adult_child_male, rng.random(n) < 0.52)[household])
    surname = _surnames(rng, slot, male, household, head_male, counts[SPOUSE] > 0)
    offset = np.round(age * DAYS_PER_YEAR).astype("timedelta64[D]")
    return Family(household, slot, age, reference - offset, male, surname, head_age)


def _ages(
    rng: np.random.Generator, slot: np.ndarray, household: np.ndarray, head_age: np.ndarray,
    adult_child_age: np.ndarray, three_generations: np.ndarray,
) -> np.ndarray:
    head = head_age[household]
    adult_child = adult_child_age[household]
    m = len(slot)
    child = np.where(three_generations[household], adult_child, _offspring_age(rng, head))
    by_slot = np.stack([
        head,
        np.maximum(head + rng.normal(-2, 3, m), 18),
        child,
        np.maximum(adult_child + rng.normal(-1, 3, m), 18),
        _offspring_age(rng, adult_child),
        np.minimum(head + 20 + 12 * rng.random(m), 100),
    ])
    # Keep birthdays off the reference date itself so nobody is born "today".
    return by_slot[slot, np.arange(m)] + rng.random(m) / DAYS_PER_YEAR + 1 / DAYS_PER_YEAR


def _sexes(
    rng: np.random.Generator, slot: np.ndarray, rank: np.ndarray, parents: np.ndarray,
    head_male: np.ndarray, first_child_male: np.ndarray,
) -> np.ndarray:
    coin = rng.random(len(slot)) < 0.52
    # With two parents the first is the father; a lone parent is more often the mother.
    parent_male = np.where(parents == 2, rank == 0, rng.random(len(slot)) < 0.35)
    by_slot = np.stack([head_male, ~head_male, np.where(rank == 0, first_child_male, coin),
                        ~first_child_male, coin, parent_male])
    return by_slot[slot, np.arange(len(slot))]


def _surnames(
    rng: np.random.Generator, slot: np.ndarray, male: np.ndarray, household: np.ndarray,
    head_male: np.ndarray, has_spouse: np.ndarray,
) -> np.ndarray:
    n = len(head_male)
    head = draw_surnames(rng, n)
    spouse = draw_surnames(rng, n)
    # Children take the father's surname: the head's, or the spouse's when the head is a wife.
    family = np.where(head_male | ~has_spouse, head, spouse)[household]
    own = draw_surnames(rng, len(slot))
    kin = np.where(rng.random(len(slot)) < 0.95, family, own)
    by_slot = np.stack([head[household], spouse[household], kin, own, kin,
                        np.where(male, head[household], own)])
    result: np.ndarray = by_slot[slot, np.arange(len(slot))]
    assert result.max(initial=0) < len(SURNAMES)
    return result
