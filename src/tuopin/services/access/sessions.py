"""Login sessions kept on the server: started at login, ended at once when they must be.

The browser holds a random token; the store holds only its SHA-256 with the user, when the
session began and when it was last used. A session ends when the user logs out, when their
password, role or region changes, when their account is disabled (the row is deleted), and
when it has been idle too long or lived too long (its times are checked at every request).
A token saved before any of these is worth nothing afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tuopin.services.access import users
from tuopin.storage.models import LoginSessionRecord as L
from tuopin.storage.models import UserRecord

TOUCH_EVERY = 60.0  # seconds: the last use is written at most this often (a write per page
# would make every page a write)


@dataclass(frozen=True)
class SessionLimits:
    """How long a session may be idle, and how long it may last at all (seconds)."""

    idle: int = 1800
    absolute: int = 8 * 3600


@dataclass(frozen=True)
class Resumed:
    """A live session's user, and whether its last use should be written now."""

    user: users.User
    key: str
    stale: bool


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(db: Session, *, user: users.User, address: str, now: float) -> str:
    """A new session of ``user`` (a new token at every login); returns the token."""
    token = secrets.token_urlsafe(32)
    db.add(L(id=_key(token), user_id=user.id, created_at=now, last_seen_at=now,
             address=address[:64]))
    db.flush()
    return token


def resume(db: Session, *, token: str, limits: SessionLimits, now: float) -> Resumed | None:
    """The user of a live session (None: unknown, ended, idle or too old, or the account is
    disabled). Reads only; ``touch`` writes the last use when ``stale``."""
    key = _key(token)
    found = db.execute(
        select(L.created_at, L.last_seen_at, UserRecord.__table__)
        .join(UserRecord, UserRecord.id == L.user_id).where(L.id == key)).first()
    if found is None or not found.active:
        return None
    if now - found.last_seen_at > limits.idle or now - found.created_at > limits.absolute:
        return None
    # written at most every TOUCH_EVERY seconds, and often enough for a short idle limit
    stale = now - found.last_seen_at > min(TOUCH_EVERY, limits.idle / 10)
    return Resumed(users.user_of(found), key, stale)


def touch(db: Session, *, key: str, now: float) -> None:
    """Record that the session ``key`` (from ``resume``) was used now."""
    db.execute(update(L).where(L.id == key).values(last_seen_at=now))


def end(db: Session, *, token: str) -> None:
    """End one session (logout)."""
    db.execute(delete(L).where(L.id == _key(token)))


def end_all(db: Session, *, user_id: int) -> None:
    """End every session of a user (a password, role or region change; a disabled account)."""
    db.execute(delete(L).where(L.user_id == user_id))


def purge(db: Session, *, limits: SessionLimits, now: float) -> None:
    """Remove the rows of sessions that can no longer be resumed (run at each login)."""
    db.execute(delete(L).where((L.last_seen_at < now - limits.idle)
                               | (L.created_at < now - limits.absolute)))
