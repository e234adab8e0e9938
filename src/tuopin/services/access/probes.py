"""Probes: entries that collide with records outside the user's scope, counted and audited.

A registration, a member's ID number or an imported file that matches a household or person
the user may not see must not tell them so: the refusal says only that the number is
already registered and to ask the county office. Asked often enough, even that answer is an
oracle, so every such collision is recorded (an audit event, for whoever investigates) and
counted against the user (services.access.throttle.ProbeLimiter); past the limit, entries
are refused before they are checked at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from tuopin.domain.errors import KeepsRecord, TooManyAttempts, ValidationFailed
from tuopin.i18n import N_
from tuopin.io.problems import Problem
from tuopin.services import audit
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import DEFAULT_PROBES, ProbeLimiter, QuotaLimiter
from tuopin.storage.db import transaction

ASK_THE_COUNTY = N_("This number is already registered. Ask the county office (县扶贫办) "
                    "about it.")


class ProbeRefused(KeepsRecord, ValidationFailed):
    """A refusal that names no record outside the scope; its record of the probe is kept."""


def check(db: Session, *, principal: Principal, limiter: ProbeLimiter | None = None) -> None:
    """Refuse (TooManyAttempts) a principal who has probed too often lately."""
    if principal.operator or (principal.scope.region_code is None
                              and principal.scope.households is None):
        return  # nothing lies outside the reach of an operator or an unscoped principal
    (limiter or DEFAULT_PROBES).check(db, principal.name)


def record(db: Session, *, principal: Principal, what: str, values: list[str],
           limiter: ProbeLimiter | None = None) -> None:
    """Count and audit the collisions of ``values`` (ID or household numbers) with records
    outside ``principal``'s scope."""
    if not values or principal.operator:
        return
    (limiter or DEFAULT_PROBES).hit(db, principal.name, len(values))
    audit.record(db, actor=principal.actor, action="probe", entity="registry", entity_id=what,
                 after={"what": what, "values": values[:100], "count": len(values)})


def uses_up(db: Session, *, principal: Principal, count: int,
            limiter: ProbeLimiter | None = None) -> bool:
    """Whether ``count`` more probes use up the principal's allowance (an entry that does
    is refused whole: its rows are not written, and no report names them)."""
    if not count or principal.operator:
        return False
    return (limiter or DEFAULT_PROBES).would_exceed(db, principal.name, count)


def refuse(problems: list[Problem]) -> ProbeRefused:
    """The refusal of entries among which some collided outside the scope."""
    return ProbeRefused(f"{len(problems)} problems", problems)


class LimitReached(KeepsRecord, TooManyAttempts):
    """The entry that used up the allowance: refused whole, its record of the probe kept."""


ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class IdSearches:
    """Searches by a full ID number made by someone who sees ID numbers masked: each one
    that matches confirms a number the page masks (its region and last four characters are
    shown, the birth date can be guessed), so each is audited and counted against a quota,
    on a transaction of its own (a search is a read-only request)."""

    sessions: sessionmaker[Session]
    quota: QuotaLimiter

    def take(self, principal: Principal, text: str) -> None:
        """Count one search of ``text``; TooManyAttempts once the quota is used up."""
        with transaction(self.sessions) as db:
            self.quota.take(db, principal.name)
            audit.record(db, actor=principal.actor, action="search_id", entity="registry",
                         entity_id="id_number", after={"id_number": text})


def counts_as_id_search(principal: Principal, text: str) -> bool:
    """Whether a search for ``text`` is one ``IdSearches`` counts."""
    return (not principal.operator and not principal.sees_identifiers
            and ID_NUMBER.match(text.strip().upper()) is not None)
