"""A design-based estimate: the whole sample and its domains, as R's survey package gives them.

A figure R gives as NaN, NA or Inf (a design effect without a reference variance, a t
interval with no degrees of freedom) is None here and null in JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

Interval = tuple[float, float]


@dataclass(frozen=True)
class Statistic:
    """A mean, proportion or total with its standard error, intervals and design effect.

    ``ci95`` is normal for a mean or total (R's confint()) and the logit t interval for a
    proportion (svyciprop); ``ci95_t`` (mean, total) uses Student's t on the degrees of
    freedom; ``ci95_wald`` (proportion) is the normal interval around it.
    """

    estimate: float | None
    se: float | None
    ci95: Interval | None
    deff: float | None
    ci95_t: Interval | None = None
    ci95_wald: Interval | None = None

    def to_dict(self, *, proportion: bool = False) -> dict[str, object]:
        """The figures as plain JSON-ready data, with the interval keys of its kind."""
        data: dict[str, object] = {"estimate": self.estimate, "se": self.se,
                                   "ci95": _listed(self.ci95)}
        if proportion:
            data["ci95_wald"] = _listed(self.ci95_wald)
        else:
            data["ci95_t"] = _listed(self.ci95_t)
        data["deff"] = self.deff
        return data


def _listed(interval: Interval | None) -> list[float] | None:
    return None if interval is None else list(interval)


@dataclass(frozen=True)
class DomainEstimate:
    """One domain (a level of the ``by`` column), estimated on the whole design."""

    level: str
    n: int
    sum_weights: float
    degf: int
    total: Statistic
    mean: Statistic | None = None
    proportion: Statistic | None = None

    def to_dict(self) -> dict[str, object]:
        """The domain as plain JSON-ready data."""
        return {"level": self.level, **_figures(self)}


@dataclass(frozen=True)
class SurveyEstimate:
    """The estimate of the whole sample, and of each domain when a ``by`` column was given.

    ``n`` counts the rows used (y present), ``n_rows`` every row; ``degf`` is the design's
    degrees of freedom (PSUs minus strata). ``mean`` is None for a proportion and
    ``proportion`` None otherwise.
    """

    n: int
    n_rows: int
    sum_weights: float
    degf: int
    total: Statistic
    mean: Statistic | None = None
    proportion: Statistic | None = None
    domains: tuple[DomainEstimate, ...] | None = None

    def to_dict(self) -> dict[str, object]:
        """Exactly the JSON of ``tuopin survey estimate`` (``domains`` only with ``by``)."""
        figures = _figures(self)
        data: dict[str, object] = {"n": figures.pop("n"), "n_rows": self.n_rows, **figures}
        if self.domains is not None:
            data["domains"] = [domain.to_dict() for domain in self.domains]
        return data


def _figures(level: SurveyEstimate | DomainEstimate) -> dict[str, object]:
    data: dict[str, object] = {"n": level.n, "sum_weights": level.sum_weights,
                               "degf": level.degf}
    if level.proportion is not None:
        data["proportion"] = level.proportion.to_dict(proportion=True)
    elif level.mean is not None:
        data["mean"] = level.mean.to_dict()
    data["total"] = level.total.to_dict()
    return data
