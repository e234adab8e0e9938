"""Workers say they are alive: a row per worker, its ``seen_at`` renewed every few seconds.

Readiness (/readyz) and `tuopin doctor` call a deployment unwell when no worker has beaten
for FRESH_SECONDS: queued work would wait for ever.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tuopin.storage.models import JobWorkerRecord

EVERY_SECONDS = 10  # how often a worker beats
FRESH_SECONDS = 60  # a heartbeat older than this: the worker is gone (or hung)


def beat(db: Session, *, name: str, started_at: float, running: int, concurrency: int,
         now: float) -> None:
    """Record that the worker ``name`` is alive and how busy it is."""
    record = db.get(JobWorkerRecord, name)
    if record is None:
        db.add(JobWorkerRecord(name=name, started_at=started_at, seen_at=now,
                               running=running, concurrency=concurrency))
    else:
        record.seen_at, record.running, record.concurrency = now, running, concurrency
    db.flush()


def freshest(db: Session) -> float | None:
    """When the most recent heartbeat of any worker was (seconds since the epoch); None when
    no worker has ever run."""
    return db.scalar(select(func.max(JobWorkerRecord.seen_at)))


def alive(db: Session, *, now: float) -> bool:
    """Whether some worker has beaten within FRESH_SECONDS."""
    seen = freshest(db)
    return seen is not None and now - seen <= FRESH_SECONDS
