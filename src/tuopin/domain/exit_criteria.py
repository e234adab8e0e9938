"""Exit criteria of villages and counties, and risk-clearance conditions (data/exit_criteria.toml).

Every threshold is data with its source; this module only reads the file and judges a figure
against a criterion (pass, fail, or pending when the figure is not known yet).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import TypeVar

from tuopin.domain.enums import Labour, Titled
from tuopin.domain.errors import ConfigurationError

E = TypeVar("E", bound=Titled)


def lookup(kind: type[E], value: str) -> E:
    """The member of a Titled enum stored as ``value`` (ValueError when there is none)."""
    # mypy reads Kind(value) as Titled.__new__(value, title); at run time it is a lookup
    return kind(value)  # type: ignore[call-arg]


class ExitLevel(StrEnum):
    """What exits as a whole: a village (出列) or a county (摘帽)."""

    VILLAGE = "village"
    COUNTY = "county"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"  # the figure is not known yet (e.g. not yet verified)


@dataclass(frozen=True)
class Criterion:
    id: str
    levels: frozenset[ExitLevel]
    title_zh: str
    title_en: str
    comparison: str  # below | above
    threshold: float
    western_threshold: float | None
    veto: bool
    source: str

    def title(self, lang: str) -> str:
        """The criterion's name in ``lang`` (zh or en)."""
        return self.title_en if lang.startswith("en") else self.title_zh

    def threshold_for(self, *, western: bool) -> float:
        """The threshold that applies in a western or a non-western province."""
        if western and self.western_threshold is not None:
            return self.western_threshold
        return self.threshold

    def describe(self, *, western: bool) -> str:
        """The threshold as people write it: '< 2%', '> 90%'."""
        sign = "<" if self.comparison == "below" else ">"
        return f"{sign} {100 * self.threshold_for(western=western):g}%"

    def judge(self, figure: float | None, *, western: bool) -> Outcome:
        """Pass or fail a figure; a missing figure is pending, never a pass."""
        if figure is None:
            return Outcome.PENDING
        limit = self.threshold_for(western=western)
        ok = figure < limit if self.comparison == "below" else figure > limit
        return Outcome.PASS if ok else Outcome.FAIL


@dataclass(frozen=True)
class Clearance:
    """Conditions of 风险消除 (closing a monitoring case)."""

    min_months_stable: int
    min_measures_delivered: int
    able_bodied_labour: frozenset[Labour]
    source: str


def _text() -> dict:
    path = resources.files("tuopin.domain") / "data" / "exit_criteria.toml"
    return tomllib.loads(path.read_text("utf-8"))


def _criterion(row: dict) -> Criterion:
    if row["comparison"] not in ("below", "above"):
        raise ConfigurationError(f"exit criterion {row['id']}: comparison must be below or "
                                 f"above, not {row['comparison']!r}")
    return Criterion(
        id=row["id"], levels=frozenset(ExitLevel(v) for v in row["levels"]),
        title_zh=row["title"]["zh"], title_en=row["title"]["en"],
        comparison=row["comparison"], threshold=float(row["threshold"]),
        western_threshold=(float(row["western_threshold"]) if "western_threshold" in row
                           else None),
        veto=bool(row.get("veto", True)), source=row["source"],
    )


@lru_cache(maxsize=1)
def all_criteria() -> tuple[Criterion, ...]:
    """Every criterion in the file's order."""
    return tuple(_criterion(row) for row in _text()["criterion"])


def criteria(level: ExitLevel) -> tuple[Criterion, ...]:
    """The criteria a region of ``level`` must meet."""
    return tuple(c for c in all_criteria() if level in c.levels)


@lru_cache(maxsize=1)
def clearance() -> Clearance:
    """The risk-clearance conditions."""
    row = _text()["clearance"]
    return Clearance(
        min_months_stable=int(row["min_months_stable"]),
        min_measures_delivered=int(row["min_measures_delivered"]),
        able_bodied_labour=frozenset(lookup(Labour, v) for v in row["able_bodied_labour"]),
        source=row["source"],
    )


def verdict(judged: Iterable[tuple[Criterion, Outcome]]) -> Outcome:
    """Fail when any veto fails; pending when none fails but one is not known; else pass."""
    outcomes = [(c, o) for c, o in judged if c.veto]
    if any(o is Outcome.FAIL for _, o in outcomes):
        return Outcome.FAIL
    if any(o is Outcome.PENDING for _, o in outcomes):
        return Outcome.PENDING
    return Outcome.PASS
