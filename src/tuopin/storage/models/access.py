"""Records of access: login sessions kept on the server, and throttled events."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base, BigId


class LoginSessionRecord(Base):
    """A logged-in browser: the cookie carries a random token, the table its SHA-256 only.

    Deleting the row ends the session at once (logout, a password, role or region change,
    a disabled account); the idle and absolute limits are checked against its times.
    """

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch
    last_seen_at: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(64))


class ThrottleEventRecord(Base):
    """A counted event (a failed login, a probe) kept for its throttle's window; shared by
    every web worker."""

    __tablename__ = "throttle_event"
    __table_args__ = (Index("ix_throttle_event_key", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    at: Mapped[float] = mapped_column(Float)  # seconds since the epoch
