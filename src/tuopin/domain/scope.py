"""What part of the registry a caller may reach: a region (a code prefix) and, for a helper,
only the households assigned to them. Pure data; storage turns it into WHERE clauses."""

from __future__ import annotations

from dataclasses import dataclass

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
        """True when the region ``code`` lies inside this scope."""
        return code.startswith(self.prefix)

    def admits(self, number: str) -> bool:
        """True when the household ``number`` is one of this scope's households."""
        return self.households is None or number in self.households

    def reaches(self, *, village_code: str, number: str) -> bool:
        """True when the household ``number`` of ``village_code`` is inside this scope."""
        return self.covers(village_code) and self.admits(number)

    def within(self, region_code: str | None) -> Scope:
        """This scope narrowed to ``region_code`` (which must lie inside it; else unchanged
        is not an option: a region outside gives an empty prefix match, see ``covers``)."""
        if not region_code:
            return self
        code = regions.normalize(region_code)
        if self.region_code and not code.startswith(self.prefix):
            # outside: keep the narrower of the two so that nothing outside becomes visible
            return Scope(self.region_code, households=frozenset())
        return Scope(code, households=self.households)


EVERYTHING = Scope()
