"""Login rate limiting: so many failures per username and address in a sliding window.

The failures are rows of ``login_failure``, so every web worker (and every server behind
one database) counts the same attempts. Times are wall-clock seconds since the epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from tuopin.storage.models import LoginFailureRecord as F


class TooManyAttempts(Exception):
    """Too many failed logins for this username from this address; wait ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class LoginLimiter:
    """``max_failures`` per (username, address) within ``window`` seconds."""

    max_failures: int
    window: int
    clock: Callable[[], float] = field(default=time.time)

    def check(self, db: Session, username: str, address: str) -> None:
        """Raise TooManyAttempts when this key has used up its failures in the window."""
        now = self.clock()
        count, oldest = db.execute(
            select(func.count(F.id), func.min(F.at))
            .where(F.username == username.lower()[:64], F.address == address[:64],
                   F.at > now - self.window)).one()
        if count >= self.max_failures:
            raise TooManyAttempts(max(1, int(oldest + self.window - now) + 1))

    def failed(self, db: Session, username: str, address: str) -> None:
        now = self.clock()
        # the expired rows of everyone go with each failure: the table stays small
        db.execute(delete(F).where(F.at <= now - self.window))
        db.execute(insert(F).values(username=username.lower()[:64], address=address[:64],
                                    at=now))

    def succeeded(self, db: Session, username: str, address: str) -> None:
        db.execute(delete(F).where(F.username == username.lower()[:64],
                                   F.address == address[:64]))
