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


EVERYTHING = Scope()
