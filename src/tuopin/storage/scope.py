"""Region scoping: every read and write of a user goes through a prefix match on codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, true

from tuopin.domain import regions


@dataclass(frozen=True)
class Scope:
    """The part of the hierarchy a caller may see; ``None`` means everything (admin, CLI)."""

    region_code: str | None = None
    # A helper sees only the households assigned to them: their numbers (None: every one).
    households: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.region_code:
            code = regions.normalize(self.region_code)
            regions.level_of(code)  # raises for a malformed code
            object.__setattr__(self, "region_code", code)

    @property
    def prefix(self) -> str:
        return regions.prefix(self.region_code) if self.region_code else ""

    def covers(self, code: str) -> bool:
        """True when ``code`` lies inside this scope."""
        return code.startswith(self.prefix)

    def clause(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause restricting a region-code column to this scope."""
        if not self.prefix:
            return true()
        return column.startswith(self.prefix, autoescape=True)

    def admits(self, number: str) -> bool:
        """True when the household ``number`` is one of this scope's households."""
        return self.households is None or number in self.households

    def households_clause(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause restricting a household-number column to this scope's households
        (a helper's few; everyone else: no restriction). Use it with ``clause``."""
        if self.households is None:
            return true()
        return column.in_(sorted(self.households))


EVERYTHING = Scope()
