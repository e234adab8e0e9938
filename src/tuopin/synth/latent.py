"""Latent hardship: one standard-normal score per household that drives every deprivation.

A deprivation with rate ``p`` happens when ``rho * hardship + sqrt(1 - rho^2) * noise``
exceeds the normal quantile of ``1 - p``: the rate is exactly ``p`` overall, and ``rho``
sets how strongly it goes with low income and with the other deprivations.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()


def quantile(p: float) -> float:
    """The standard normal quantile of ``p``."""
    return _NORMAL.inv_cdf(p)


def mix(rng: np.random.Generator, driver: np.ndarray, rho: float) -> np.ndarray:
    """A standard normal correlated ``rho`` with the standard normal ``driver``."""
    return rho * driver + np.sqrt(1.0 - rho * rho) * rng.standard_normal(len(driver))


def happens(rng: np.random.Generator, driver: np.ndarray, rho: float, rate: float) -> np.ndarray:
    """True with probability ``rate``, more often where ``driver`` is high."""
    return mix(rng, driver, rho) > quantile(1.0 - rate)


def hardship(rng: np.random.Generator, village: np.ndarray, villages: int) -> np.ndarray:
    """Household hardship: a county part, a village part and the household's own part."""
    county = rng.standard_normal()
    village_part = rng.standard_normal(villages)[village]
    # Variance shares 0.05 / 0.2 / 0.75 keep the total standard normal; counties differ less
    # than villages, as most of a county's poverty is concentrated in some of its villages.
    own = rng.standard_normal(len(village))
    return np.sqrt(0.05) * county + np.sqrt(0.2) * village_part + np.sqrt(0.75) * own
