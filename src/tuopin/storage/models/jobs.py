"""Background jobs and the workers that run them: the database is the queue."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base


class JobRecord(Base):
    """One piece of long work: who asked for it, with what, how far it has got, and what
    came of it. A worker claims a queued job (or one whose lease ran out: its worker died)
    with a conditional update and holds it by renewing ``lease_until``."""

    __tablename__ = "job"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, in URLs
    kind: Mapped[str] = mapped_column(String(32))  # JobKind
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True,
                                                default=None)  # None: the command line
    actor: Mapped[str] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(12), index=True, default=None)
    args: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    state: Mapped[str] = mapped_column(String(16), index=True)  # JobState
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, default=None)  # JSON Message
    result: Mapped[str | None] = mapped_column(Text, default=None)  # JSON
    result_file: Mapped[str | None] = mapped_column(String(255), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)  # JSON Message
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch
    started_at: Mapped[float | None] = mapped_column(Float, default=None)
    finished_at: Mapped[float | None] = mapped_column(Float, default=None)
    updated_at: Mapped[float] = mapped_column(Float)


class JobWorkerRecord(Base):
    """A worker process, as its last heartbeat left it (readiness and the doctor read it)."""

    __tablename__ = "job_worker"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # host:pid
    started_at: Mapped[float] = mapped_column(Float)
    seen_at: Mapped[float] = mapped_column(Float, index=True)
    running: Mapped[int] = mapped_column(Integer, default=0)
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
