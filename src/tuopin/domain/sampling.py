"""Drawing a reproducible two-stage sample: sizes, systematic PPS of villages, SRS within.

Pure functions over NumPy arrays; no I/O. The same seed and the same frame give the same
sample on any machine, to the byte:

- every random number comes from a PCG64 bit generator seeded through NumPy's SeedSequence
  (both algorithms are fixed by their specifications, unlike the streams of Generator's
  methods, which NumPy may change between versions), and is turned into a uniform number
  here, from the generator's raw 64-bit output (the top 53 bits);
- each village's households are drawn from a stream of their own, keyed by the village
  (``SeedSequence(seed, spawn_key=(key, group))``), so a village's draw depends on nothing
  but the seed, the village and its households;
- ties cannot decide anything: SRS takes the households with the smallest random keys, and
  a key is unique with probability 1 - 2^-53 per pair (a tie is broken by position).

Sample sizes: n0 = z² p (1 - p) / e² × deff, n = n0 / (1 + (n0 - 1) / N) (Cochran 1977,
4.2 with the design effect of Kish 1965), rounded up; never more than N.

Villages (PSUs) are drawn by systematic PPS on their household counts, in frame order
(township, then village code: an implicit stratification by township). A village at least
as large as the sampling interval is taken with certainty, the interval recomputed over the
rest, until none is; the others have probability m·M_v / M (m villages still to draw, M
their households). Households are drawn by SRS in each drawn village and group (the groups
are the frames: exited, unregistered, registered), a fixed number per village and group, or
all of them when there are fewer.

Variance strata (how an estimator should read the design): systematic sampling has no
unbiased variance estimator. The one used here treats the villages drawn with probability as
drawn with replacement from one stratum (the ultimate-cluster approximation; Wolter 2007,
ch. 8 and 2.4): it ignores the gain of the implicit stratification by township, so it errs
on the safe side - wider intervals, never narrower. (Pairing successive villages as strata
would claim that gain, but with the ten or twenty villages of a county its variance rests on
a handful of differences and its intervals covered the truth in only 92 % of 150 trials
against 99 % for one stratum; tests/services/test_verification_estimates.py.) A certainty
village is a stratum of its own whose PSUs are its households: it represents only itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# 2^-53: a 53-bit integer times this is a double in [0, 1), every value equally likely.
_UNIT = 2.0 ** -53
DRAWN, CERTAIN = "V", "C"  # the variance strata: villages drawn with probability; certain


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile of ``confidence`` (1.959964 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def initial_size(*, margin: float, confidence: float, deff: float, p: float = 0.5) -> float:
    """n0 = z² p (1 - p) / margin² × deff: the size for an infinite population."""
    if not 0.0 < margin < 1.0:
        raise ValueError(f"margin must lie strictly between 0 and 1, not {margin}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, not {p}")
    if deff <= 0.0:
        raise ValueError(f"the design effect must be positive, not {deff}")
    return z_value(confidence) ** 2 * p * (1.0 - p) / margin ** 2 * deff


def sample_size(population: int, *, margin: float, confidence: float, deff: float,
                p: float = 0.5) -> int:
    """The sample size for a population of ``population`` units, with the finite population
    correction n = n0 / (1 + (n0 - 1) / N), rounded up and at most N."""
    if population <= 0:
        return 0
    n0 = initial_size(margin=margin, confidence=confidence, deff=deff, p=p)
    n = n0 / (1.0 + (n0 - 1.0) / population)
    # a hair below an integer is that integer (floating-point noise, not a reason for one more)
    return min(population, math.ceil(n - 1e-9))


def generator(seed: int, *key: int) -> np.random.Generator:
    """A PCG64 generator for ``seed`` and the stream ``key`` (SeedSequence's spawn key)."""
    if seed < 0:
        raise ValueError(f"a seed is a non-negative integer, not {seed}")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def uniforms(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` uniform numbers in [0, 1) from the bit generator's raw output (stable)."""
    raw = np.asarray(rng.bit_generator.random_raw(size), dtype=np.uint64)
    return (raw >> np.uint64(11)).astype(np.float64) * _UNIT


@dataclass(frozen=True)
class PpsDraw:
    """Villages drawn by systematic PPS: their positions in the frame (ascending), their
    inclusion probabilities, and which were certain; ``probabilities`` holds every unit's."""

    selected: np.ndarray  # int64 positions, ascending
    probability: np.ndarray  # of each selected unit
    certain: np.ndarray  # bool, of each selected unit
    probabilities: np.ndarray  # of every unit of the frame (they add up to n)
    interval: float  # the sampling interval of the non-certainty draw (0: none)
    start: float  # the random start in [0, interval)


def pps_probabilities(sizes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Inclusion probabilities proportional to ``sizes`` for a sample of ``n`` units, with
    certainty units (probability 1) taken out until no unit exceeds the interval; returns
    (probabilities, certain). They add up to n (to min(n, units with a size))."""
    sizes = np.asarray(sizes, dtype=np.float64)
    if (sizes < 0).any():
        raise ValueError("sizes must not be negative")
    certain = np.zeros(len(sizes), dtype=bool)
    n = min(n, int((sizes > 0).sum()))
    while True:
        left = n - int(certain.sum())
        rest = np.where(certain, 0.0, sizes)
        total = rest.sum()
        if left <= 0 or total <= 0:
            break
        more = (rest >= total / left) & ~certain & (rest > 0)
        if not more.any():
            break
        certain |= more
    left = n - int(certain.sum())
    rest = np.where(certain, 0.0, sizes)
    total = rest.sum()
    probabilities = np.where(certain, 1.0, rest * left / total if total > 0 else 0.0)
    return probabilities, certain


def systematic_pps(sizes: Sequence[float] | np.ndarray, n: int,
                   rng: np.random.Generator) -> PpsDraw:
    """Draw ``n`` units with probability proportional to ``sizes`` by systematic sampling in
    the given order (certainty units first taken out); one uniform number is used."""
    sizes = np.asarray(sizes, dtype=np.float64)
    probabilities, certain = pps_probabilities(sizes, n)
    left = min(n, int((sizes > 0).sum())) - int(certain.sum())
    rest = np.where(certain, 0.0, sizes)
    interval = rest.sum() / left if left > 0 else 0.0
    start = float(uniforms(rng, 1)[0]) * interval
    chosen = certain.copy()
    if left > 0:
        points = start + interval * np.arange(left)
        bounds = np.cumsum(rest)
        # the unit whose cumulative range [C_(i-1), C_i) holds the point; a unit below the
        # interval holds at most one point, so no unit is hit twice
        hit = np.searchsorted(bounds, points, side="right")
        # rounding may put the last point on the total: it belongs to the last unit
        chosen[np.minimum(hit, int(np.flatnonzero(rest > 0)[-1]))] = True
    selected = np.flatnonzero(chosen)
    return PpsDraw(selected, probabilities[selected], certain[selected], probabilities,
                   interval, start)


def srs(population: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """A simple random sample of ``n`` of ``population`` positions, ascending: the positions
    with the ``n`` smallest random keys (every subset of size n equally likely)."""
    if n >= population:
        return np.arange(population, dtype=np.int64)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = uniforms(rng, population)
    order = np.lexsort((np.arange(population), keys))  # ties (2^-53 each) by position
    return np.sort(order[:n]).astype(np.int64)


def variance_strata(certain: np.ndarray, keys: Sequence[int] | np.ndarray) -> list[str]:
    """The variance stratum of each selected village: one (V) for every village drawn with
    probability, and one of its own for each certainty village (C followed by its key)."""
    return [f"{CERTAIN}{key}" if is_certain else DRAWN
            for is_certain, key in zip(certain, keys, strict=True)]


@dataclass(frozen=True)
class TwoStageSample:
    """A two-stage sample, one entry per household drawn, ordered by village (frame order),
    group and position.

    ``member`` is the household's position among its village's households of its group (in
    the order the caller listed them); probabilities are of inclusion: the village's, the
    household's given its village, and their product.
    """

    villages: PpsDraw
    village: np.ndarray  # frame position of the village
    group: np.ndarray
    member: np.ndarray
    pi_village: np.ndarray
    pi_household: np.ndarray
    variance_stratum: list[str]  # of each household (its village's; see variance_strata)
    certain: np.ndarray  # whether its village was certain

    @property
    def probability(self) -> np.ndarray:
        """The overall inclusion probability of each household (village × household)."""
        return self.pi_village * self.pi_household

    def __len__(self) -> int:
        return len(self.village)


def draw_two_stage(counts: np.ndarray, *, villages: int, takes: Sequence[int], seed: int,
                   keys: Sequence[int] | None = None) -> TwoStageSample:
    """Draw ``villages`` villages by systematic PPS on their households (``counts`` is
    villages × groups, in frame order), then in each drawn village ``takes[g]`` households of
    group g by SRS (all of them when fewer). ``keys`` name the villages' random streams
    (default: their positions); the PPS start has stream (0,), a village's group g
    stream (key, g + 1)."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2 or counts.shape[1] != len(takes):
        raise ValueError("counts must be villages × groups, one take per group")
    keys = list(range(len(counts))) if keys is None else list(keys)
    drawn = systematic_pps(counts.sum(axis=1), villages, generator(seed, 0))
    strata = variance_strata(drawn.certain, [keys[v] for v in drawn.selected])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("village", "group", "member", "pv",
                                                          "ph", "stratum", "certain")}
    for v, pv, certain, stratum in zip(drawn.selected, drawn.probability, drawn.certain,
                                       strata, strict=True):
        for g, take in enumerate(takes):
            size = int(counts[v, g])
            chosen = srs(size, int(take), generator(seed, int(keys[v]), g + 1))
            if not len(chosen):
                continue
            k = len(chosen)
            parts["village"].append(np.full(k, v, dtype=np.int64))
            parts["group"].append(np.full(k, g, dtype=np.int64))
            parts["member"].append(chosen)
            parts["pv"].append(np.full(k, pv))
            parts["ph"].append(np.full(k, k / size))
            parts["stratum"].append(np.full(k, stratum, dtype=object))
            parts["certain"].append(np.full(k, bool(certain)))

    def joined(name: str, dtype: type) -> np.ndarray:
        return np.concatenate(parts[name]) if parts[name] else np.zeros(0, dtype=dtype)

    return TwoStageSample(
        villages=drawn, village=joined("village", np.int64), group=joined("group", np.int64),
        member=joined("member", np.int64), pi_village=joined("pv", np.float64),
        pi_household=joined("ph", np.float64),
        variance_stratum=[str(s) for s in joined("stratum", object)],
        certain=joined("certain", bool))
