"""Design-based means, proportions and totals, for the whole sample and its domains.

``estimate`` computes what R's survey package (4.5) computes with
``svydesign(ids = ~psu, strata = ~strata, weights = ~weights, fpc = ~fpc, nest = TRUE)``
and ``svymean`` / ``svytotal`` (``na.rm = TRUE, deff = TRUE``), ``confint``,
``svyciprop(method = "logit")`` and ``svyby``, by Taylor linearisation:

- mean: y_bar = sum(w y)/sum(w), linearised as z = w (y - y_bar)/sum(w); total: z = w y;
- a missing y takes its row out of the domain being estimated, not out of the design;
- a domain is estimated on the whole design, and its degrees of freedom are those of the
  design subset to it (as svyby gives them to svyciprop);
- deff is Kish's, against simple random sampling without replacement of the same size:
  deff = V / (s^2 (W - n)/(W n)) for a mean and V / (s^2 W^2 (W - n)/(W n)) for a total,
  s^2 being the weighted variance of y with divisor n - 1.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from tuopin.analytics.survey.design import (
    Coded,
    Design,
    LonelyPsu,
    build_design,
    code_values,
)
from tuopin.analytics.survey.result import DomainEstimate, Statistic, SurveyEstimate
from tuopin.analytics.survey.tdist import logit_ci, t_quantile
from tuopin.analytics.survey.variance import DomainVariance
from tuopin.domain.errors import RuleBroken, ValidationFailed
from tuopin.i18n import N_

Z975 = NormalDist().inv_cdf(0.975)


def estimate(
    y: np.ndarray,
    strata: np.ndarray | Coded | None = None,
    psu: np.ndarray | Coded | None = None,
    weights: np.ndarray | None = None,
    fpc: np.ndarray | None = None,
    by: np.ndarray | Coded | None = None,
    proportion: bool = False,
    lonely_psu: LonelyPsu | str = LonelyPsu.FAIL,
) -> SurveyEstimate:
    """The design-based mean (or proportion) and total of ``y``, and per level of ``by``.

    ``y`` is NaN where missing; ``weights`` default to N_h/n_h from the fpc, else 1.
    """
    values = _outcome(y, proportion)
    n = len(values)
    design = build_design(n, _coded(strata, "strata", n), _coded(psu, "psu", n),
                          _fpc(fpc, n), lonely_psu)
    w = _weights(weights, design, n)
    present = ~np.isnan(values)
    if not present.any():
        raise RuleBroken(N_("the variable to estimate has no value in any row"))
    y0 = np.where(present, values, 0.0)
    whole = _levels(design, np.where(present, 0, -1), 1, w, y0, proportion,
                    design.degf(np.zeros(n, dtype=np.intp), 1))
    domains = None
    if by is not None:
        coded = code_values(by, "by", n, missing=True)
        groups = np.where(present, coded.codes, -1)
        estimates = _levels(design, groups, len(coded.labels), w, y0, proportion,
                            design.degf(coded.codes, len(coded.labels)))
        domains = tuple(DomainEstimate(level=label, **figures)
                        for label, figures in zip(coded.labels, estimates, strict=True))
    return SurveyEstimate(n_rows=n, domains=domains, **whole[0])


def _levels(design: Design, groups: np.ndarray, n_groups: int, w: np.ndarray,
            y: np.ndarray, proportion: bool, degf: np.ndarray) -> list[dict]:
    """The figures of every group (units coded -1 are in none)."""
    domains = DomainVariance(design, groups, n_groups)
    g = np.maximum(groups, 0)
    n = domains.sums(np.ones(len(y)))
    total_w = domains.sums(w)
    total = domains.sums(w * y)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / total_w
        z_mean = w * (y - mean[g]) / total_w[g]
        spread = domains.sums(w * (y - mean[g]) ** 2) / total_w
    var_mean = domains.variance(np.where(np.isfinite(z_mean), z_mean, 0.0))
    var_total = domains.variance(w * y)
    figures = []
    for i in range(n_groups):
        count, weight, df = int(n[i]), float(total_w[i]), int(degf[i])
        s2 = spread[i] * count / (count - 1) if count > 1 else math.nan
        reference = s2 * (weight - count) / (weight * count) if count > 1 else math.nan
        if weight < count:
            reference = math.nan  # R: "are weights correctly scaled?"
        centre = _statistic(mean[i] if count else math.nan, var_mean[i], df, reference,
                            proportion)
        overall = _statistic(total[i], var_total[i], df,
                             s2 * weight**2 * (weight - count) / (weight * count)
                             if count > 1 else math.nan, False)
        figures.append({"n": count, "sum_weights": weight, "degf": df, "total": overall,
                        "proportion" if proportion else "mean": centre})
    return figures


def _statistic(value: float, variance: float, df: int, reference: float,
               proportion: bool) -> Statistic:
    estimate = _finite(value)
    se = _finite(math.sqrt(variance)) if variance >= 0 else None
    if estimate is None or se is None:
        return Statistic(estimate, se, None, None)
    deff = _finite(variance / reference) if reference and math.isfinite(reference) else None
    t = _t975(df) if df > 0 else None
    normal = (estimate - Z975 * se, estimate + Z975 * se)
    student = None if t is None else (estimate - t * se, estimate + t * se)
    if proportion:
        logit = None if t is None else logit_ci(estimate, se, t)
        return Statistic(estimate, se, logit, deff, ci95_wald=normal)
    return Statistic(estimate, se, normal, deff, ci95_t=student)


@lru_cache(maxsize=256)
def _t975(df: int) -> float:
    # Domains often share their degrees of freedom, and a quantile costs a few hundred us.
    return t_quantile(0.975, df)


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _outcome(y: np.ndarray, proportion: bool) -> np.ndarray:
    values = np.asarray(y, dtype=np.float64)
    if values.ndim != 1:
        raise ValidationFailed(f"y must be one value per unit, got shape {values.shape}")
    if len(values) == 0:
        raise RuleBroken(N_("there are no rows to estimate from"))
    if np.isinf(values).any():
        raise RuleBroken(N_("y has an infinite value"))
    if proportion:
        known = values[~np.isnan(values)]
        if not np.isin(known, (0.0, 1.0)).all():
            bad = known[~np.isin(known, (0.0, 1.0))][0]
            raise RuleBroken(N_("a proportion needs y to be 0 or 1; found {value}"),
                             value=f"{bad:g}")
    return values


def _weights(weights: np.ndarray | None, design: Design, n: int) -> np.ndarray:
    if weights is None:
        if design.fraction is None:
            return np.ones(n)
        # R: without weights, the fpc gives them, N_h/n_h
        return 1.0 / design.fraction[design.unit_stratum]
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValidationFailed(f"weights must be one per unit ({n}), got shape {w.shape}")
    if not np.isfinite(w).all() or (w <= 0).any():
        raise RuleBroken(N_("the weights must be positive numbers in every row"))
    return w


def _fpc(fpc: np.ndarray | None, n: int) -> np.ndarray | None:
    if fpc is None:
        return None
    values = np.asarray(fpc, dtype=np.float64)
    if values.shape != (n,):
        raise ValidationFailed(f"fpc must be one per unit ({n}), got shape {values.shape}")
    return values


def _coded(values: np.ndarray | Coded | None, what: str, n: int) -> Coded | None:
    return None if values is None else code_values(values, what, n)

