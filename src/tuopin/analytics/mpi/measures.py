"""Alkire-Foster identification, aggregation and inference on a deprivation matrix.

Everything is vectorised over units: per-unit work is NumPy arithmetic, and group and PSU
totals come from ``np.bincount``. The only Python loops run over indicators or groups.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tuopin.analytics.mpi.result import GroupResult, MpiResult
from tuopin.analytics.survey import (
    Coded,
    Design,
    DomainVariance,
    build_design,
    code_values,
    logit_ci,
    t_quantile,
)
from tuopin.domain.errors import ValidationFailed

# Scores are sums of float weights: 1/3 + 1/3 + 1/3 need not equal 1 exactly, nor
# 100/3/100 equal 1/3. Comparing with this slack makes a score of exactly k poor.
TOLERANCE = 1e-9
# Rows per block when a block of the matrix is copied to floats (8 MB per indicator).
_BLOCK_ROWS = 1 << 20


@dataclass(frozen=True)
class _Inputs:
    names: list[str]
    matrix: np.ndarray
    weights: np.ndarray
    k: float
    p: np.ndarray
    design: Design
    groups: Coded | None
    dimensions: Mapping[str, Sequence[str]] | None
    vulnerable: tuple[float, float | None]
    severe: float


def af_measures(
    g0: np.ndarray,
    weights: Sequence[float] | np.ndarray,
    k: float,
    *,
    indicator_names: Sequence[str],
    sample_weight: np.ndarray | None = None,
    strata: np.ndarray | Coded | None = None,
    psu: np.ndarray | Coded | None = None,
    by: np.ndarray | Coded | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    vulnerable: tuple[float, float | None] = (0.2, None),
    severe: float = 0.5,
) -> MpiResult:
    """H, A, M0, headcounts, contributions, bands and linearised SEs of an n x d 0/1 matrix."""
    names = _check_names(indicator_names)
    matrix = _check_matrix(g0, len(names))
    n = matrix.shape[0]
    inputs = _Inputs(
        names=names,
        matrix=matrix,
        weights=check_weights(weights, names),
        k=check_k(k),
        p=_check_sample_weight(sample_weight, n),
        design=build_design(n, _coded(strata, "strata", n), _coded(psu, "psu", n)),
        groups=_coded(by, "by", n),
        dimensions=_check_dimensions(dimensions, names),
        vulnerable=_check_vulnerable(vulnerable),
        severe=_check_share(severe, "severe"),
    )
    return _compute(inputs)


def deprivation_scores(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """c_i = sum_j w_j * g0_ij for every unit."""
    scores = np.empty(matrix.shape[0], dtype=np.float64)
    for rows in _row_blocks(len(scores)):
        scores[rows] = matrix[rows].astype(np.float64) @ weights
    return scores


def _identify(matrix: np.ndarray, weights: np.ndarray, k: float, p: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Scores, who is poor, and p-weighted deprivation totals before and after censoring."""
    scores = np.empty(matrix.shape[0], dtype=np.float64)
    totals = np.zeros((2, matrix.shape[1]), dtype=np.float64)
    for rows in _row_blocks(len(scores)):
        # One float copy of a block serves the scores and both headcount totals (BLAS).
        block = matrix[rows].astype(np.float64)
        scores[rows] = block @ weights
        p_block = p[rows]
        totals += np.vstack([p_block, p_block * (scores[rows] >= k - TOLERANCE)]) @ block
    return scores, scores >= k - TOLERANCE, totals[0], totals[1]


def _row_blocks(n: int) -> list[slice]:
    return [slice(start, start + _BLOCK_ROWS) for start in range(0, n, _BLOCK_ROWS)]


def _compute(inputs: _Inputs) -> MpiResult:
    p = inputs.p
    scores, poor, deprived, deprived_poor = _identify(inputs.matrix, inputs.weights, inputs.k, p)
    p_poor = p * poor
    p_censored = p * scores * poor
    population = float(p.sum())
    national = DomainVariance(inputs.design, None, 1)
    h, se_h = national.ratio(p_poor, p)
    m0, se_m0 = national.ratio(p_censored, p)
    a, se_a = national.ratio(p_censored, p_poor)
    uncensored, censored = deprived / population, deprived_poor / population
    m0_value = float(m0[0])
    contributions = _contributions(inputs.weights * censored, m0_value)
    t = t_quantile(0.975, inputs.design.df)
    estimates = {"M0": m0_value, "H": float(h[0]), "A": float(a[0])}
    se = {"M0": float(se_m0[0]), "H": float(se_h[0]), "A": float(se_a[0])}
    return MpiResult(
        n=len(scores),
        dropped=0,
        population=population,
        k=inputs.k,
        weights=dict(zip(inputs.names, inputs.weights.tolist(), strict=True)),
        H=estimates["H"],
        A=estimates["A"],
        M0=m0_value,
        uncensored_headcounts=dict(zip(inputs.names, uncensored.tolist(), strict=True)),
        censored_headcounts=dict(zip(inputs.names, censored.tolist(), strict=True)),
        contributions=dict(zip(inputs.names, contributions.tolist(), strict=True)),
        dimension_contributions=_by_dimension(inputs, contributions),
        vulnerable=_share(_vulnerable_mask(scores, poor, inputs.vulnerable), p, population),
        severe=_share(scores >= inputs.severe - TOLERANCE, p, population),
        se=se,
        ci95={key: logit_ci(estimates[key], se[key], t) for key in ("M0", "H", "A")},
        df=inputs.design.df,
        groups=_group_results(inputs, p_poor, p_censored, m0_value, t),
    )


def _group_results(inputs: _Inputs, p_poor: np.ndarray, p_censored: np.ndarray,
                   m0: float, t: float) -> dict[str, GroupResult] | None:
    if inputs.groups is None:
        return None
    codes, labels = inputs.groups.codes, inputs.groups.labels
    domains = DomainVariance(inputs.design, codes, len(labels))
    h, se_h = domains.ratio(p_poor, inputs.p)
    m0_g, se_m0 = domains.ratio(p_censored, inputs.p)
    population = np.bincount(codes, weights=inputs.p, minlength=len(labels))
    units = np.bincount(codes, minlength=len(labels))
    total = float(population.sum())
    censored = [
        np.bincount(codes, weights=p_poor * inputs.matrix[:, j], minlength=len(labels))
        for j in range(len(inputs.names))
    ]
    results = {}
    for g, label in enumerate(labels):
        share = float(population[g] / total) if total > 0 else 0.0
        a = float(m0_g[g] / h[g]) if h[g] > 0 else 0.0
        heads = {name: _ratio(censored[j][g], population[g]) for j, name in enumerate(inputs.names)}
        results[label] = GroupResult(
            n=int(units[g]),
            population_share=share,
            H=float(h[g]),
            A=a,
            M0=float(m0_g[g]),
            contribution=share * float(m0_g[g]) / m0 if m0 > 0 else 0.0,
            censored_headcounts=heads,
            se={"M0": float(se_m0[g]), "H": float(se_h[g])},
            ci95={"M0": logit_ci(float(m0_g[g]), float(se_m0[g]), t),
                  "H": logit_ci(float(h[g]), float(se_h[g]), t)},
        )
    return results


def _ratio(top: float, bottom: float) -> float:
    return float(top / bottom) if bottom > 0 else 0.0


def _contributions(absolute: np.ndarray, m0: float) -> np.ndarray:
    if m0 <= 0:
        return np.zeros_like(absolute)
    return absolute / m0


def _share(mask: np.ndarray, p: np.ndarray, population: float) -> float:
    return float(np.sum(p, where=mask) / population)


def _vulnerable_mask(scores: np.ndarray, poor: np.ndarray,
                     band: tuple[float, float | None]) -> np.ndarray:
    low, high = band
    upper = ~poor if high is None else scores < high - TOLERANCE
    return (scores >= low - TOLERANCE) & upper


def _by_dimension(inputs: _Inputs, contributions: np.ndarray) -> dict[str, float] | None:
    if inputs.dimensions is None:
        return None
    index = {name: j for j, name in enumerate(inputs.names)}
    return {
        dimension: float(sum(contributions[index[name]] for name in members))
        for dimension, members in inputs.dimensions.items()
    }


def check_weights(weights: Sequence[float] | np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Indicator weights as an array: one per indicator, non-negative, summing to 1."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(names),):
        raise ValidationFailed(f"{len(names)} indicators need {len(names)} weights, got {w.size}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValidationFailed(f"indicator weights must be finite and non-negative: {w.tolist()}")
    if abs(float(w.sum()) - 1.0) > TOLERANCE:
        raise ValidationFailed(f"indicator weights must sum to 1, they sum to {float(w.sum())!r}")
    return w


def check_k(k: float) -> float:
    """The poverty cutoff k, which must lie in (0, 1]."""
    if isinstance(k, bool) or not isinstance(k, numbers.Real) or not 0.0 < float(k) <= 1.0:
        raise ValidationFailed(f"the poverty cutoff k must be in (0, 1], got {k!r}")
    return float(k)


def _check_names(names: Sequence[str]) -> list[str]:
    listed = [str(name) for name in names]
    if not listed:
        raise ValidationFailed("at least one indicator is needed")
    repeated = sorted({name for name in listed if listed.count(name) > 1})
    if repeated:
        raise ValidationFailed(f"indicators are listed twice: {', '.join(repeated)}")
    return listed


def _check_matrix(g0: np.ndarray, d: int) -> np.ndarray:
    matrix = np.asarray(g0)
    if matrix.ndim != 2 or matrix.shape[1] != d:
        raise ValidationFailed(f"the deprivation matrix must be n x {d}, got {matrix.shape}")
    if matrix.shape[0] == 0:
        raise ValidationFailed("there are no units to measure")
    if matrix.dtype == np.bool_:
        return matrix
    if not ((matrix == 0) | (matrix == 1)).all():
        raise ValidationFailed("the deprivation matrix must hold only 0 and 1")
    return matrix.astype(bool)


def _check_sample_weight(sample_weight: np.ndarray | None, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    p = np.asarray(sample_weight, dtype=np.float64)
    if p.shape != (n,):
        raise ValidationFailed(f"sample weights must be one per unit ({n}), got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValidationFailed("sample weights must be finite and non-negative")
    if not p.sum() > 0:
        raise ValidationFailed("sample weights sum to zero")
    return p


def _coded(values: np.ndarray | Coded | None, what: str, n: int) -> Coded | None:
    return None if values is None else code_values(values, what, n)


def _check_dimensions(dimensions: Mapping[str, Sequence[str]] | None,
                      names: Sequence[str]) -> Mapping[str, Sequence[str]] | None:
    if dimensions is None:
        return None
    seen: set[str] = set()
    for dimension, members in dimensions.items():
        for name in members:
            if name not in names:
                raise ValidationFailed(f"dimension {dimension!r} names an unknown indicator "
                                       f"{name!r}")
            if name in seen:
                raise ValidationFailed(f"indicator {name!r} is in more than one dimension")
            seen.add(name)
    return dimensions


def _check_vulnerable(band: tuple[float, float | None]) -> tuple[float, float | None]:
    low, high = band
    _check_share(low, "the vulnerable band's lower bound")
    if high is not None and not float(low) < float(high) <= 1.0:
        raise ValidationFailed(f"the vulnerable band must be low < high <= 1, got {band!r}")
    return (float(low), None if high is None else float(high))


def _check_share(value: float, what: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValidationFailed(f"{what} must be in [0, 1], got {value!r}")
    return float(value)
