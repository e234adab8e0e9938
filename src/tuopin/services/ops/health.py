"""Readiness (/readyz): the database answers, its schema is the newest, a worker is alive.

Liveness (/healthz) needs nothing from here: a process that answers at all is alive.
Readiness is what a load balancer or a monitor asks before it sends users: each check says
what it found, in plain English for the operator (and for a machine: ``ok``). The answer is
public (no login): it names no server, path or user - an error is given by its class only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tuopin.services import store
from tuopin.services.jobs import heartbeat


@dataclass(frozen=True)
class Check:
    """One thing readiness depends on, and what was found."""

    name: str  # database, schema, worker
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """Every check; ready when all pass."""

    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.name for check in self.checks if not check.ok]

    def as_json(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "unavailable", "failed": self.failed,
                "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks}}


def readiness(readers: sessionmaker[Session], *, now: float,
              fresh_seconds: float = heartbeat.FRESH_SECONDS) -> Readiness:
    """Whether the store behind ``readers`` answers, is at the newest schema, and has a
    worker whose heartbeat is at most ``fresh_seconds`` old at ``now`` (epoch seconds)."""
    try:
        with readers() as db:
            db.execute(text("SELECT 1"))
            engine = db.get_bind()
            current = store.is_current(engine)  # type: ignore[arg-type]
            # without the jobs table (an old schema) there is no heartbeat to read
            seen = heartbeat.freshest(db) if current else None
    except (SQLAlchemyError, OSError) as exc:
        reason = f"unreachable ({type(exc).__name__})"
        return Readiness((Check("database", False, reason),
                          Check("schema", False, "not checked: the database is unreachable"),
                          Check("worker", False, "not checked: the database is unreachable")))
    return Readiness((Check("database", True, "reachable"), _schema(current),
                      _worker(current, seen, now, fresh_seconds)))


def _schema(current: bool) -> Check:
    if current:
        return Check("schema", True, "at the newest migration")
    return Check("schema", False, "not at the newest migration: run `tuopin init` to migrate it")


def _worker(current: bool, seen: float | None, now: float, fresh_seconds: float) -> Check:
    if not current:
        return Check("worker", False, "not checked: the schema is not current")
    if seen is None:
        return Check("worker", False, "stale: no worker has ever run (start `tuopin worker`)")
    age = max(0.0, now - seen)
    if age > fresh_seconds:
        return Check("worker", False, f"stale: the last heartbeat was {age:.0f} s ago "
                                      f"(more than {fresh_seconds:.0f} s)")
    return Check("worker", True, f"alive: the last heartbeat was {age:.0f} s ago")
