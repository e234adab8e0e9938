"""What a running job is given: its owner, its arguments, the store, and a way to report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from threading import Event
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tuopin.config import Settings
from tuopin.domain.errors import Message
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import ProbeLimiter
from tuopin.services.imports.uploads import UploadLimits
from tuopin.services.jobs import queue

Clock = Callable[[], float]
REPORT_EVERY = 0.5  # seconds between two progress writes (the last one is always written)


class JobCancelled(Exception):
    """Raised inside a job's work when it was cancelled (its transaction rolls back)."""


@dataclass(frozen=True)
class Environment:
    """What every job needs that is not its own: built once by the worker (or the web, for
    the jobs it runs at once in tests) from the settings."""

    engine: Engine
    sessions: sessionmaker[Session]
    data_dir: Path
    today: Callable[[], date] = date.today
    upload_limits: UploadLimits = UploadLimits()
    probes: ProbeLimiter | None = None
    lang: str = "zh"
    lease: float = queue.LEASE_SECONDS
    clock: Clock = time.time


def environment(settings: Settings, engine: Engine, *,
                today: Callable[[], date] = date.today,
                probes: ProbeLimiter | None = None) -> Environment:
    """The jobs' environment for ``settings`` (the worker's, and the web's for its own)."""
    from tuopin.services import store

    limits = UploadLimits(max_bytes=settings.evidence_max_bytes,
                          max_rows=settings.upload_max_rows,
                          max_unpacked_bytes=settings.upload_max_unpacked_bytes,
                          retention=settings.upload_retention_seconds)
    probes = probes or ProbeLimiter(settings.probe_max, settings.probe_window_seconds)
    return Environment(engine, store.sessions(engine), settings.data_dir, today, limits,
                       probes, settings.lang, float(settings.job_lease_seconds))


@dataclass
class JobContext:
    """One job's run: whose it is, with what, where its files go."""

    job_id: str
    worker: str
    principal: Principal
    args: dict[str, Any]
    env: Environment
    stop: Event  # set by the runner when the job is cancelled or its lease was lost
    _reported: float = 0.0

    @property
    def folder(self) -> Path:
        """The job's own folder (its result file), made when first asked for."""
        path = queue.job_dir(self.env.data_dir, self.job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def check(self) -> None:
        """Stop here (JobCancelled) if the job was cancelled."""
        if self.stop.is_set():
            raise JobCancelled(self.job_id)

    def report(self, done: int, total: int, message: Message | None = None, *,
               force: bool = False) -> None:
        """Say how far the job has got (at most every REPORT_EVERY seconds), and stop here
        if it was cancelled.

        Progress goes to a file in the job's folder, not to the store: a job's work may hold
        SQLite's one write lock for minutes (an import is one transaction), and a progress
        write waiting behind it would fail the work it reports on.
        """
        self.check()
        now = self.env.clock()
        if not force and now - self._reported < REPORT_EVERY and (not total or done < total):
            return
        self._reported = now
        queue.write_progress(self.folder, done=done, total=total, message=message)
