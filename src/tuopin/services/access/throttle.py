"""Throttles: so many events of a kind per key in a sliding window, kept in the database.

The events are rows of ``throttle_event``, so every web worker (and every server behind one
database) counts the same attempts. Two uses: failed logins, limited per username and, apart,
per client address (so one address cannot try a password against every account); and probes
of the registry outside one's scope (a registration or import that collides with a record
the user may not see), limited per user. Times are wall-clock seconds since the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from tuopin.domain.errors import Message, TooManyAttempts
from tuopin.i18n import N_
from tuopin.storage.models import ThrottleEventRecord as E

TOO_MANY_LOGINS = N_("Too many failed logins. Try again in {minutes} minutes.")
TOO_MANY_REVEALS = N_("You have revealed many personal numbers lately. You can reveal more in "
                      "{minutes} minutes; ask the county office if your work needs more.")
TOO_MANY_ID_SEARCHES = N_("You have searched for many ID numbers lately. You can search for "
                          "more in {minutes} minutes.")
TOO_MANY_PROBES = N_("Too many of your entries matched records outside your region. Ask the "
                     "county office about them; you can go on in {minutes} minutes.")
KEY_WIDTH = 128


@dataclass(frozen=True)
class Limit:
    """At most ``max_events`` events of ``kind`` per key within ``window`` seconds."""

    kind: str
    max_events: int
    window: int
    message: str = TOO_MANY_LOGINS


@dataclass(frozen=True)
class Throttle:
    """Counts and refuses by the limits given to it; ``clock`` is injectable for tests."""

    clock: Callable[[], float] = field(default=time.time)

    def check(self, db: Session, limit: Limit, key: str) -> None:
        """Raise TooManyAttempts when ``key`` has used up its events in the window."""
        now = self.clock()
        count, oldest = db.execute(
            select(func.count(E.id), func.min(E.at))
            .where(E.kind == limit.kind, E.key == _key(key), E.at > now - limit.window)).one()
        if count >= limit.max_events:
            retry = max(1, int(oldest + limit.window - now) + 1)
            raise TooManyAttempts(Message(limit.message, minutes=-(-retry // 60)), retry)

    def count(self, db: Session, limit: Limit, key: str) -> int:
        """How many events ``key`` has in the window now."""
        return int(db.scalar(select(func.count(E.id)).where(
            E.kind == limit.kind, E.key == _key(key), E.at > self.clock() - limit.window)) or 0)

    def hit(self, db: Session, limit: Limit, key: str, count: int = 1) -> None:
        """Count ``count`` events of ``key`` now (expired events of the kind go meanwhile)."""
        now = self.clock()
        db.execute(delete(E).where(E.kind == limit.kind, E.at <= now - limit.window))
        if count > 0:
            db.execute(insert(E), [{"kind": limit.kind, "key": _key(key), "at": now}] * count)

    def clear(self, db: Session, limit: Limit, key: str) -> None:
        """Forget ``key``'s events (a successful login)."""
        db.execute(delete(E).where(E.kind == limit.kind, E.key == _key(key)))


def _key(key: str) -> str:
    return key.lower()[:KEY_WIDTH]


@dataclass(frozen=True)
class LoginLimiter:
    """Failed logins: ``per_user`` per username (from any address) and ``per_address`` per
    client address (against any username), each within ``window`` seconds."""

    per_user: int
    per_address: int
    window: int
    throttle: Throttle = field(default_factory=Throttle)

    @property
    def by_user(self) -> Limit:
        return Limit("login_user", self.per_user, self.window)

    @property
    def by_address(self) -> Limit:
        return Limit("login_address", self.per_address, self.window)

    def check(self, db: Session, username: str, address: str) -> None:
        """Raise TooManyAttempts when either the username or the address is used up."""
        self.throttle.check(db, self.by_address, address)
        self.throttle.check(db, self.by_user, username)

    def failed(self, db: Session, username: str, address: str) -> None:
        self.throttle.hit(db, self.by_user, username)
        self.throttle.hit(db, self.by_address, address)

    def succeeded(self, db: Session, username: str, address: str) -> None:
        """The username's failures are forgotten; the address's stay (a sprayer who guesses
        one account right must not get a fresh allowance for the others)."""
        self.throttle.clear(db, self.by_user, username)


@dataclass(frozen=True)
class ProbeLimiter:
    """Entries that collided with records outside the user's scope: ``max_probes`` per user
    within ``window`` seconds, after which such entries are refused outright."""

    max_probes: int = 10
    window: int = 86_400
    throttle: Throttle = field(default_factory=Throttle)

    @property
    def limit(self) -> Limit:
        return Limit("probe", self.max_probes, self.window, TOO_MANY_PROBES)

    def check(self, db: Session, who: str) -> None:
        self.throttle.check(db, self.limit, who)

    def hit(self, db: Session, who: str, count: int = 1) -> None:
        self.throttle.hit(db, self.limit, who, count)

    def would_exceed(self, db: Session, who: str, count: int) -> bool:
        """Whether ``count`` more probes use up ``who``'s allowance."""
        return self.throttle.count(db, self.limit, who) + count >= self.max_probes


DEFAULT_PROBES = ProbeLimiter()


@dataclass(frozen=True)
class QuotaLimiter:
    """A quota of deliberate acts per user in a window: reveals of masked numbers, and
    searches by a full ID number by someone who sees ID numbers masked (each such search
    that matches confirms a number the page masks)."""

    kind: str
    max_events: int
    window: int
    message: str
    throttle: Throttle = field(default_factory=Throttle)

    @property
    def limit(self) -> Limit:
        return Limit(self.kind, self.max_events, self.window, self.message)

    def take(self, db: Session, who: str) -> None:
        """Use one of ``who``'s quota (TooManyAttempts when it is used up)."""
        self.throttle.check(db, self.limit, who)
        self.throttle.hit(db, self.limit, who)


def reveal_quota(max_events: int = 100, window: int = 86_400) -> QuotaLimiter:
    return QuotaLimiter("reveal", max_events, window, TOO_MANY_REVEALS)


def id_search_quota(max_events: int = 30, window: int = 3600) -> QuotaLimiter:
    return QuotaLimiter("id_search", max_events, window, TOO_MANY_ID_SEARCHES)
