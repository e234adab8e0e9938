"""Alkire-Foster identification, aggregation and inference on a deprivation matrix.

Units are reduced to their deprivation profiles (``profiles``): scores, poverty and every
headcount come from the weighted count of units per group and profile, one ``np.bincount``.
The standard errors need, per PSU-by-group cell, the totals of three per-unit quantities
(weight, weight if poor, weight times censored score), three more; national totals are
those cells summed to PSUs. No Python loop runs over units, PSUs or profiles.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tuopin.analytics.mpi.profiles import Profiles, profiles_of_columns, profiles_of_matrix
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
# Cells times censored-score levels counted in one pass (a table of 32 MB at most).
_LEVEL_CELLS = 1 << 22


@dataclass(frozen=True)
class _Inputs:
    names: list[str]
    profiles: Profiles
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
    return _measures(names, matrix, weights, k, sample_weight=sample_weight, strata=strata,
                     psu=psu, by=by, dimensions=dimensions, vulnerable=vulnerable,
                     severe=severe)


def af_measures_of_columns(
    columns: Sequence[np.ndarray],
    weights: Sequence[float] | np.ndarray,
    k: float,
    *,
    indicator_names: Sequence[str],
    sample_weight: np.ndarray | None = None,
    design: Design | None = None,
    by: Coded | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    vulnerable: tuple[float, float | None] = (0.2, None),
    severe: float = 0.5,
) -> MpiResult:
    """``af_measures`` of d 0/1 columns (bool or int8, values checked by the caller) and a
    design built by the caller (None: a simple random sample), without building a matrix."""
    names = _check_names(indicator_names)
    if len(columns) != len(names) or len({len(c) for c in columns}) != 1:
        raise ValidationFailed(f"{len(names)} indicators need {len(names)} columns of one length")
    n = len(columns[0])
    if n == 0:
        raise ValidationFailed("there are no units to measure")
    if design is not None and design.n_units != n:
        raise ValidationFailed(f"the design has {design.n_units} units, the columns {n}")
    return _measures(names, list(columns), weights, k, sample_weight=sample_weight,
                     strata=None, psu=None, design=design, by=by, dimensions=dimensions,
                     vulnerable=vulnerable, severe=severe)


def _measures(names: list[str], flags: np.ndarray | list[np.ndarray],
              weights: Sequence[float] | np.ndarray, k: float, *,
              sample_weight: np.ndarray | None, strata: np.ndarray | Coded | None,
              psu: np.ndarray | Coded | None, by: np.ndarray | Coded | None,
              dimensions: Mapping[str, Sequence[str]] | None,
              vulnerable: tuple[float, float | None], severe: float,
              design: Design | None = None) -> MpiResult:
    n = len(flags[0]) if isinstance(flags, list) else flags.shape[0]
    vector, cutoff = check_weights(weights, names), check_k(k)
    p = check_sample_weight(sample_weight, n)
    if design is None:
        design = build_design(n, _coded(strata, "strata", n), _coded(psu, "psu", n))
    groups = _coded(by, "by", n)
    n_groups = len(groups.labels) if groups is not None else 1
    profiles = (profiles_of_columns(flags, n_groups) if isinstance(flags, list)
                else profiles_of_matrix(flags, n_groups))
    inputs = _Inputs(
        names=names, profiles=profiles, weights=vector, k=cutoff, p=p, design=design,
        groups=groups, dimensions=_check_dimensions(dimensions, names),
        vulnerable=_check_vulnerable(vulnerable), severe=_check_share(severe, "severe"),
    )
    return _compute(inputs)


def deprivation_scores(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """c_i = sum_j w_j * g0_ij for every unit."""
    scores = np.empty(matrix.shape[0], dtype=np.float64)
    for rows in _row_blocks(len(scores)):
        scores[rows] = matrix[rows].astype(np.float64) @ weights
    return scores


def _row_blocks(n: int) -> list[slice]:
    return [slice(start, start + _BLOCK_ROWS) for start in range(0, n, _BLOCK_ROWS)]


@dataclass(frozen=True)
class _Tables:
    """Per profile: score, poor, censored score; per group and profile: sum of weights."""

    scores: np.ndarray
    poor: np.ndarray
    censored: np.ndarray
    weight: np.ndarray  # n_groups x m


def _tables(inputs: _Inputs) -> _Tables:
    profiles, m = inputs.profiles, inputs.profiles.count
    scores = profiles.rows.astype(np.float64) @ inputs.weights
    poor = scores >= inputs.k - TOLERANCE
    if inputs.groups is None:
        key, n_groups = profiles.codes, 1
    else:
        n_groups = len(inputs.groups.labels)
        key = inputs.groups.codes.astype(np.int64)  # built in place: one array of n
        key *= m
        key += profiles.codes
    weight = np.bincount(key, weights=inputs.p, minlength=n_groups * m).reshape(n_groups, m)
    return _Tables(scores, poor, scores * poor, weight)


def _compute(inputs: _Inputs) -> MpiResult:
    tables = _tables(inputs)
    rows = inputs.profiles.rows
    by_profile = tables.weight.sum(axis=0)
    population = float(by_profile.sum())
    codes = inputs.profiles.codes
    grouped = DomainVariance(inputs.design, None if inputs.groups is None
                             else inputs.groups.codes, tables.weight.shape[0])
    cells = _cell_totals(grouped, inputs, tables)
    national = DomainVariance(inputs.design, None, 1) if inputs.groups is not None else grouped
    totals = [grouped.psu_totals(c) for c in cells] if inputs.groups is not None else cells
    h, se_h = national.ratio_of_totals(totals[1], totals[0])
    m0, se_m0 = national.ratio_of_totals(totals[2], totals[0])
    a, se_a = national.ratio_of_totals(totals[2], totals[1])
    uncensored = by_profile @ rows / population
    censored = (by_profile * tables.poor) @ rows / population
    m0_value = float(m0[0])
    contributions = _contributions(inputs.weights * censored, m0_value)
    t = t_quantile(0.975, inputs.design.df)
    estimates = {"M0": m0_value, "H": float(h[0]), "A": float(a[0])}
    se = {"M0": float(se_m0[0]), "H": float(se_h[0]), "A": float(se_a[0])}
    return MpiResult(
        n=len(codes),
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
        vulnerable=_share(_vulnerable_mask(tables.scores, tables.poor, inputs.vulnerable),
                          by_profile, population),
        severe=_share(tables.scores >= inputs.severe - TOLERANCE, by_profile, population),
        se=se,
        ci95={key: logit_ci(estimates[key], se[key], t) for key in ("M0", "H", "A")},
        df=inputs.design.df,
        groups=_group_results(inputs, tables, grouped, cells, m0_value, t),
    )


def _cell_totals(domains: DomainVariance, inputs: _Inputs, tables: _Tables
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per PSU-by-group cell, the totals of p, p if poor, and p times the censored score.

    The linearised values of every estimate are linear in these three, so they are all the
    variance needs. Few profiles share few censored scores (the global MPI's ten indicators
    have 19), so one pass counts p by cell and score; else three passes.
    """
    codes, p = inputs.profiles.codes, inputs.p
    # A non-poor unit's level is -1, apart from a poor unit whose score is 0 (k near 0).
    values, level = np.unique(np.where(tables.poor, tables.censored, -1.0), return_inverse=True)
    if domains.n_cells * len(values) > _LEVEL_CELLS:
        return (domains.cell_totals(p), domains.cell_totals(p * tables.poor[codes]),
                domains.cell_totals(p * tables.censored[codes]))
    small = level.astype(np.uint8 if len(values) <= 256 else np.intp)
    by_level = domains.cell_totals_by(p, small[codes], len(values))
    return (by_level.sum(axis=1), by_level @ (values >= 0).astype(np.float64),
            by_level @ np.maximum(values, 0.0))


def _group_results(inputs: _Inputs, tables: _Tables, domains: DomainVariance,
                   cells: tuple[np.ndarray, ...], m0: float, t: float
                   ) -> dict[str, GroupResult] | None:
    if inputs.groups is None:
        return None
    codes, labels = inputs.groups.codes, inputs.groups.labels
    h, se_h = domains.ratio_of_totals(cells[1], cells[0])
    m0_g, se_m0 = domains.ratio_of_totals(cells[2], cells[0])
    population = tables.weight.sum(axis=1)
    units = np.bincount(codes, minlength=len(labels))
    total = float(population.sum())
    censored = (tables.weight * tables.poor) @ inputs.profiles.rows
    results = {}
    for g, label in enumerate(labels):
        share = float(population[g] / total) if total > 0 else 0.0
        a = float(m0_g[g] / h[g]) if h[g] > 0 else 0.0
        heads = {name: _ratio(censored[g, j], population[g])
                 for j, name in enumerate(inputs.names)}
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


def _share(mask: np.ndarray, by_profile: np.ndarray, population: float) -> float:
    return float(np.sum(by_profile, where=mask) / population)


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


def check_sample_weight(sample_weight: np.ndarray | None, n: int) -> np.ndarray:
    """The sample weights as floats (1 for every unit when None): finite, >= 0, not all 0."""
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    p = np.asarray(sample_weight, dtype=np.float64)
    if p.shape != (n,):
        raise ValidationFailed(f"sample weights must be one per unit ({n}), got shape {p.shape}")
    if len(p) and not (p.min() >= 0 and np.isfinite(p.max())):  # NaN fails both tests
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
