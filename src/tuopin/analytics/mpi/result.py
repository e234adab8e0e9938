"""The Alkire-Foster results: national measures, inference, and subgroup decomposition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Interval = tuple[float, float]


@dataclass(frozen=True)
class GroupResult:
    """One subgroup's measures; its SEs are domain estimates on the full design."""

    n: int
    population_share: float
    H: float
    A: float
    M0: float
    contribution: float
    censored_headcounts: Mapping[str, float]
    se: Mapping[str, float]
    ci95: Mapping[str, Interval]

    def to_dict(self) -> dict[str, object]:
        """The group as plain JSON-ready data."""
        return {
            "n": self.n,
            "population_share": self.population_share,
            "H": self.H,
            "A": self.A,
            "M0": self.M0,
            "contribution": self.contribution,
            "censored_headcounts": dict(self.censored_headcounts),
            "se": dict(self.se),
            "ci95": {key: list(bounds) for key, bounds in self.ci95.items()},
        }


@dataclass(frozen=True)
class MpiResult:
    """Alkire-Foster measures of one population at one poverty cutoff ``k``.

    Shares are fractions (0..1). ``contributions`` are percentage contributions as fractions
    summing to 1 (all 0 when M0 is 0). ``se`` and ``ci95`` have the keys M0, H and A; CIs are
    logit-transformed t intervals with ``df`` degrees of freedom.
    """

    n: int
    dropped: int
    population: float
    k: float
    weights: Mapping[str, float]
    H: float
    A: float
    M0: float
    uncensored_headcounts: Mapping[str, float]
    censored_headcounts: Mapping[str, float]
    contributions: Mapping[str, float]
    dimension_contributions: Mapping[str, float] | None
    vulnerable: float
    severe: float
    se: Mapping[str, float]
    ci95: Mapping[str, Interval]
    df: int
    groups: Mapping[str, GroupResult] | None = None

    def to_dict(self) -> dict[str, object]:
        """The result as plain JSON-ready data (``groups`` only when a ``by`` column was set)."""
        data: dict[str, object] = {
            "n": self.n,
            "dropped": self.dropped,
            "population": self.population,
            "k": self.k,
            "weights": dict(self.weights),
            "H": self.H,
            "A": self.A,
            "M0": self.M0,
            "uncensored_headcounts": dict(self.uncensored_headcounts),
            "censored_headcounts": dict(self.censored_headcounts),
            "contributions": dict(self.contributions),
            "vulnerable": self.vulnerable,
            "severe": self.severe,
            "se": dict(self.se),
            "ci95": {key: list(bounds) for key, bounds in self.ci95.items()},
            "df": self.df,
        }
        if self.dimension_contributions is not None:
            data["dimension_contributions"] = dict(self.dimension_contributions)
        if self.groups is not None:
            data["groups"] = {key: group.to_dict() for key, group in self.groups.items()}
        return data
