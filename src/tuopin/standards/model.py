"""A poverty standard, loaded: what it measures, with which weights, and what makes a household
poor. Every field comes from a TOML file (see data/*.toml and docs); nothing here is a fact
about poverty itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tuopin.standards.expr.ast import Expr


class Missing(StrEnum):
    """What an indicator means when its data are missing (NULL) for a household."""

    NOT_DEPRIVED = "not_deprived"
    DEPRIVED = "deprived"


class Rule(StrEnum):
    """How indicators combine into 'poor'."""

    ANY = "any"  # union: deprived in any indicator (China's pass/fail exit standard)
    SCORE = "score"  # Alkire-Foster: weighted score >= k


@dataclass(frozen=True)
class Text:
    """A user-facing text in both languages."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang.lower().startswith("en") else self.zh


@dataclass(frozen=True)
class IncomeLine:
    year: int
    amount: float
    source: str


@dataclass(frozen=True)
class Indicator:
    id: str
    dimension: str
    title: Text
    explain: Text
    weight: float
    deprived: Expr
    expression: str  # the source text, for display and hashing
    missing: Missing = Missing.NOT_DEPRIVED


@dataclass(frozen=True)
class Category:
    """A named class of households (e.g. the three monitoring categories), by a rule."""

    id: str
    title: Text
    rule: Expr
    expression: str


@dataclass(frozen=True)
class Poverty:
    rule: Rule
    k: float
    vulnerable: tuple[float, float] | None = None  # [low, high) of the score
    severe: float | None = None


@dataclass(frozen=True)
class Standard:
    name: str
    version: str
    title: Text
    years: tuple[int, int]
    sources: tuple[str, ...]
    income: Expr
    income_expression: str
    income_lines: tuple[IncomeLine, ...]
    indicators: tuple[Indicator, ...]
    poverty: Poverty
    categories: tuple[Category, ...] = ()
    content_hash: str = ""
    path: str = ""
    text: str = field(default="", repr=False)

    def income_line(self, year: int) -> IncomeLine:
        """The line for ``year``; the newest earlier line when a year has none of its own."""
        earlier = [line for line in self.income_lines if line.year <= year]
        if not earlier:
            from tuopin.domain.errors import ValidationFailed

            raise ValidationFailed(f"standard {self.name} has no income line for {year} "
                                   f"(its first is {self.income_lines[0].year})")
        return max(earlier, key=lambda line: line.year)

    def indicator(self, indicator_id: str) -> Indicator:
        for indicator in self.indicators:
            if indicator.id == indicator_id:
                return indicator
        raise KeyError(indicator_id)

    @property
    def dimensions(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for indicator in self.indicators:
            grouped.setdefault(indicator.dimension, []).append(indicator.id)
        return grouped
