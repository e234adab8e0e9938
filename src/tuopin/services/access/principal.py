"""Who is asking: the principal every service function is handed.

A principal is a user of the web (or, later, of the API) with their role and the part of the
registry they may reach, or a named operator of the command line. It carries what the policy
decides on and what the audit trail records (``actor``); it never carries a password or a
session. The web's dependencies and the CLI build one; the services only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tuopin.domain.enums import Role
from tuopin.domain.scope import Scope

# Roles whose work needs full ID, phone and bank numbers; everyone else sees them masked.
SEES_IDENTIFIERS = frozenset({Role.ADMIN, Role.COUNTY_OFFICER})


@dataclass(frozen=True)
class Principal:
    """A caller of the services: a role, a scope and the name the audit trail gives them."""

    actor: str  # as the audit trail names them: "web:alice", "cli:ops"
    role: Role
    scope: Scope
    username: str | None = None  # the account (None: an operator of the command line)
    user_id: int | None = None
    helper_id: int | None = None  # a helper's registry id (their households are in scope)
    operator: bool = False  # the command line: someone with the server's keys

    @classmethod
    def of_operator(cls, name: str, *, region: str | None = None) -> Principal:
        """The command line's principal, named for the audit trail (``cli:NAME``)."""
        return cls(actor=f"cli:{name}", role=Role.ADMIN, scope=Scope(region), operator=True)

    @property
    def name(self) -> str:
        """The person: the username, or the operator's name."""
        return self.username or self.actor.split(":", 1)[-1]

    @property
    def sees_identifiers(self) -> bool:
        """Whether pages show this caller full ID, phone and bank numbers."""
        return self.operator or self.role in SEES_IDENTIFIERS

    @property
    def households(self) -> frozenset[str] | None:
        """A helper's households; None: every household in the region."""
        return self.scope.households

    def sees(self, number: str) -> bool:
        """Whether the household ``number`` is among this caller's households (the region is
        checked by the query that finds it)."""
        return self.scope.admits(number)

    def within(self, region: str | None) -> Principal:
        """The same caller, looking only at ``region`` (never wider than their own scope)."""
        return replace(self, scope=self.scope.within(region)) if region else self
