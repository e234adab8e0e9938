"""API tokens: a random secret shown once, kept here only as its SHA-256."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base, BigId


class ApiTokenRecord(Base):
    """A bearer token of one account: it acts with that account's role and region, never
    more. A 256-bit random secret needs no slow hash: SHA-256 cannot be reversed and a
    guess has no chance (argon2 is for what people choose, passwords)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # personal | service
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC
    expires_at: Mapped[str | None] = mapped_column(String(32), default=None)
    revoked_at: Mapped[str | None] = mapped_column(String(32), default=None)
    last_used_at: Mapped[str | None] = mapped_column(String(32), default=None)
