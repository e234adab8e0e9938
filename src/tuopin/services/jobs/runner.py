"""`tuopin worker`: claims jobs from the store and runs them, a few at a time.

The main thread beats (heartbeat), renews the leases of the jobs it runs and claims new ones;
each job runs in a thread of a pool as its owner. A worker that dies leaves its jobs with a
lease that runs out: another worker (or this one, restarted) takes them up again, and since
each kind of work is one transaction or idempotent, a retry never doubles a row.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from threading import Event

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tuopin.domain.enums import JobKind, JobState, Role
from tuopin.domain.errors import Message, PermissionDenied, TuopinError
from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.services.access import users
from tuopin.services.access.principal import Principal
from tuopin.services.jobs import heartbeat, queue
from tuopin.services.jobs.context import Environment, JobCancelled, JobContext
from tuopin.services.jobs.handlers import HANDLERS
from tuopin.storage.models import JobRecord

log = logging.getLogger("tuopin.worker")
UNEXPECTED = N_("The job failed because of an unexpected error; it was recorded for the "
                "administrator.")
ACCOUNT_GONE = N_("The account that started this job is disabled.")


@dataclass(frozen=True)
class Claimed:
    """A job just claimed, as plain data (its record belongs to a closed session)."""

    id: str
    kind: JobKind
    args: dict[str, object]
    principal: Principal


def principal_for(db: Session, record: JobRecord) -> Principal:
    """Whom a job works for: its owner's account as it is now (never wider than when the job
    was started: the same region), or the command line's operator."""
    if record.user_id is None:
        return Principal(actor=record.actor, role=Role.ADMIN, scope=Scope(record.region),
                         operator=True)
    user = users.get_active(db, user_id=record.user_id)
    if user is None:
        raise PermissionDenied(Message(ACCOUNT_GONE))
    door = record.actor.partition(":")[0]
    return users.principal_of(db, user=user, via=door).within(record.region)


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


class Runner:
    """Runs jobs from the store with ``concurrency`` threads."""

    def __init__(self, env: Environment, *, concurrency: int = 1, name: str | None = None,
                 poll: float = 1.0) -> None:
        self.env, self.concurrency, self.poll = env, concurrency, poll
        self.name = name or default_name()
        self.started_at = env.clock()
        self._running: dict[str, tuple[Future[None], Event]] = {}

    # -- one job -------------------------------------------------------------------------

    def _claim(self, job_id: str | None = None) -> Claimed | None:
        with self.env.sessions() as db, db.begin():
            record = queue.claim(db, worker=self.name, now=self.env.clock(), job_id=job_id,
                                 lease=self.env.lease)
            if record is None:
                return None
            try:
                principal = principal_for(db, record)
            except TuopinError as exc:
                queue.finish(db, job_id=record.id, worker=self.name, state=JobState.FAILED,
                             now=self.env.clock(), error=_message(exc))
                return None
            return Claimed(record.id, JobKind.of(record.kind), json.loads(record.args),
                           principal)

    def _execute(self, job: Claimed, stop: Event) -> None:
        ctx = JobContext(job.id, self.name, job.principal, dict(job.args), self.env, stop)
        state, error, outcome = JobState.DONE, None, None
        try:
            outcome = HANDLERS[job.kind](ctx)
        except JobCancelled:
            state = JobState.CANCELLED
        except TuopinError as exc:
            state, error = JobState.FAILED, _message(exc)
        except Exception:  # noqa: BLE001 - a job must end in a state, never vanish
            log.exception("job %s (%s) failed", job.id, job.kind.value)
            state, error = JobState.FAILED, Message(UNEXPECTED)
        progress = queue.read_progress(queue.job_dir(self.env.data_dir, job.id))
        with self.env.sessions() as db, db.begin():
            queue.finish(db, job_id=job.id, worker=self.name, state=state,
                         now=self.env.clock(), error=error, progress=progress,
                         result=outcome.result if outcome else None,
                         result_file=outcome.file if outcome else None)
        log.info("job %s (%s) %s", job.id, job.kind.value, state.value)

    def run_job(self, job_id: str) -> bool:
        """Claim the job ``job_id`` if it waits and run it here, now; whether it ran (the web
        runs its jobs so in tests and in a store without a worker)."""
        job = self._claim(job_id)
        if job is None:
            return False
        self._execute(job, Event())
        return True

    # -- the loop ------------------------------------------------------------------------

    def _beat(self) -> None:
        with self.env.sessions() as db, db.begin():
            heartbeat.beat(db, name=self.name, started_at=self.started_at,
                           running=len(self._running), concurrency=self.concurrency,
                           now=self.env.clock())

    def _renew(self) -> None:
        for job_id, (_future, stop) in list(self._running.items()):
            with self.env.sessions() as db, db.begin():
                if queue.renew(db, job_id=job_id, worker=self.name, now=self.env.clock(),
                               lease=self.env.lease):
                    stop.set()

    def _try_claim(self) -> Claimed | None:
        """Claim the next job, or none while the store is busy (see ``_tend``)."""
        try:
            return self._claim()
        except OperationalError as exc:
            log.warning("worker %s: the store did not answer (%s); trying again",
                        self.name, type(exc).__name__)
            return None

    def _tend(self, what: Callable[[], None]) -> None:
        """Beat or renew; a store that is busy (SQLite's write lock held by a long job) or
        briefly away is tried again at the next turn, not the end of the worker."""
        try:
            what()
        except OperationalError as exc:
            log.warning("worker %s: the store did not answer (%s); trying again",
                        self.name, type(exc).__name__)

    def _reap(self) -> None:
        for job_id, (future, _stop) in list(self._running.items()):
            if future.done():
                del self._running[job_id]

    def run(self, stop: Event, *, once: bool = False) -> int:
        """Work until ``stop`` is set (then finish the jobs in hand); ``once``: until no job
        waits. Returns how many jobs it ran."""
        ran, last_beat, last_renew = 0, float("-inf"), self.env.clock()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="tuopin-job") as pool:
            while True:
                now = self.env.clock()
                if now - last_beat >= heartbeat.EVERY_SECONDS:
                    self._tend(self._beat)
                    last_beat = now
                if now - last_renew >= self.env.lease / 3:
                    self._tend(self._renew)
                    last_renew = now
                self._reap()
                claimed = False
                while not stop.is_set() and len(self._running) < self.concurrency:
                    job = self._try_claim()
                    if job is None:
                        break
                    claimed, ran = True, ran + 1
                    event = Event()
                    self._running[job.id] = (pool.submit(self._execute, job, event), event)
                if (stop.is_set() or (once and not claimed)) and not self._running:
                    break
                if stop.is_set():  # finishing the jobs in hand: wait without spinning
                    time.sleep(min(self.poll, 0.2))
                else:
                    stop.wait(self.poll if not claimed else 0.05)
        return ran


def _message(exc: Exception) -> Message:
    """What a job's page says of a refusal (the service's own words)."""
    found = exc.args[0] if exc.args else None
    if isinstance(found, Message):
        return found
    return Message(found) if isinstance(found, str) and found else Message(UNEXPECTED)
