"""Student t quantiles and logit-transformed confidence intervals, without SciPy.

The CI is survey::svyciprop(method = "logit"): a t interval on the logit scale, mapped back.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_NORMAL = NormalDist()
# Above this many degrees of freedom the Cornish-Fisher series alone is exact to ~1e-20.
_SERIES_ONLY_DF = 1e5
_MAX_ITERATIONS = 100


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if not df > 0:
        raise ValueError(f"df must be positive, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2.0 * p - 1.0) / math.sqrt(2.0 * p * (1.0 - p))
    t = _cornish_fisher(_NORMAL.inv_cdf(p), df)
    if df > _SERIES_ONLY_DF:
        return t
    return _newton(1.0 - p, df, t)


def logit_ci(theta: float, se: float, t: float) -> tuple[float, float]:
    """expit(logit(theta) -/+ t*se/(theta(1-theta))); a point interval at 0, 1 or se = 0."""
    if not 0.0 < theta < 1.0 or se == 0.0:
        return (theta, theta)
    centre = math.log(theta / (1.0 - theta))
    half = t * se / (theta * (1.0 - theta))
    return (_expit(centre - half), _expit(centre + half))


def _expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _cornish_fisher(z: float, df: float) -> float:
    # Abramowitz & Stegun 26.7.5: the t quantile as a series in 1/df around the normal one.
    z2 = z * z
    g1 = (z2 + 1.0) * z / 4.0
    g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0
    g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0
    g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _newton(upper: float, df: float, t: float) -> float:
    # The upper tail is convex and decreasing for t > 0, so Newton converges monotonically
    # once it is left of the root; halving keeps a wild first step on the positive side.
    previous = math.inf
    for _ in range(_MAX_ITERATIONS):
        step = (_upper_tail(t, df) - upper) / _density(t, df)
        new = t + step
        if new <= 0.0:
            new = t / 2.0
        change = abs(new - t)
        # A step no smaller than the last is rounding noise in the tail (large df, ~1e-12):
        # Newton's steps shrink quadratically until then.
        if change <= 1e-15 * max(1.0, abs(new)) or change >= previous:
            return new
        previous, t = change, new
    return t


def _upper_tail(t: float, df: float) -> float:
    """P(T > t) for t > 0: half the regularised incomplete beta I_x(df/2, 1/2)."""
    x = df / (df + t * t)
    return 0.5 * _betainc(df / 2.0, 0.5, x, t * t / (df + t * t))


def _density(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1.0) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1.0) / 2.0 * math.log1p(t * t / df))


def _betainc(a: float, b: float, x: float, y: float) -> float:
    """Regularised incomplete beta I_x(a, b); ``y`` is 1 - x, passed to keep its precision."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = (a * math.log(x) + b * math.log(y)
                 - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    # Continued fraction for I_x(a, b), modified Lentz (Numerical Recipes, betacf).
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h
