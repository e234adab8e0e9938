"""The job queue: a table in the store, claimed with a conditional update.

A door starts a job (``start``), the runner claims the oldest queued one - or one whose
lease ran out because its worker died - and holds it by renewing the lease while it works.
PostgreSQL lets several workers claim at once (``FOR UPDATE SKIP LOCKED``); SQLite's writers
are serialised by ``BEGIN IMMEDIATE`` (storage.db), so a claim there is one at a time too.

Who sees a job: its owner; an administrator and a county officer also see the jobs started in
their region (Action.SUPERVISE_JOBS). Any other job is not found.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from tuopin.domain.enums import JobKind, JobState
from tuopin.domain.errors import Message, NotFound, RuleBroken
from tuopin.i18n import N_
from tuopin.services.access import policy
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import JobRecord
from tuopin.storage.scope import in_region

Clock = Callable[[], float]
LEASE_SECONDS = 60.0  # a worker that has not renewed its claim for this long is dead
RETRIES_USED_UP = N_("The job was interrupted {attempts} times; it was given up.")
NOT_CANCELLABLE = N_("This job has ended ({state}); it cannot be cancelled.")
ACTIONS = {JobKind.IMPORT_CHECK: Action.IMPORT, JobKind.IMPORT: Action.IMPORT,
           JobKind.ASSESS: Action.ASSESS, JobKind.EXPORT: Action.EXPORT,
           JobKind.FUNDS_CHECK: Action.CHECK_FUNDS}
ENDED = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobView:
    """A job as its page shows it."""

    id: str
    kind: JobKind
    state: JobState
    actor: str
    region: str | None
    args: dict[str, Any]
    done: int
    total: int
    message: Message | None
    result: dict[str, Any]
    result_file: str | None
    error: Message | None
    attempts: int
    cancel_requested: bool
    created_at: float
    started_at: float | None
    finished_at: float | None

    @property
    def working(self) -> bool:
        return self.state in (JobState.QUEUED, JobState.RUNNING)

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def message_json(message: Message | None) -> str | None:
    """A Message as stored (its msgid and values), to be translated when shown."""
    if message is None:
        return None
    values = {k: ({"msgid": v.msgid} if isinstance(v, Message) else v)
              for k, v in message.values.items()}
    return json.dumps({"msgid": message.msgid, "values": values}, ensure_ascii=False,
                      default=str)


def message_of(text: str | None) -> Message | None:
    if not text:
        return None
    found = json.loads(text)
    values = {k: (Message(v["msgid"]) if isinstance(v, dict) else v)
              for k, v in found.get("values", {}).items()}
    return Message(found["msgid"], **values)


def view_of(record: JobRecord) -> JobView:
    return JobView(record.id, JobKind.of(record.kind), JobState.of(record.state), record.actor,
                   record.region, json.loads(record.args or "{}"), record.done, record.total,
                   message_of(record.message), json.loads(record.result or "{}"),
                   record.result_file, message_of(record.error), record.attempts,
                   record.cancel_requested, record.created_at, record.started_at,
                   record.finished_at)


def _kind_action(**kwargs: Any) -> Action:
    return ACTIONS[kwargs["kind"]]


@changes(_kind_action)
def start(db: Session, *, principal: Principal, kind: JobKind, args: dict[str, Any],
          max_attempts: int = 3, clock: Clock = time.time) -> str:
    """Queue a job of ``kind`` for ``principal``; returns its id. The work runs as them, with
    their account as it is when it runs (the handler asks the policy again)."""
    now = clock()
    job_id = secrets.token_hex(16)
    db.add(JobRecord(
        id=job_id, kind=kind.value, user_id=principal.user_id, actor=principal.actor,
        region=principal.scope.region_code, args=json.dumps(args, ensure_ascii=False,
                                                            default=str),
        state=JobState.QUEUED.value, done=0, total=0, attempts=0, max_attempts=max_attempts,
        cancel_requested=False, created_at=now, updated_at=now))
    db.flush()
    return job_id


def _visible(principal: Principal) -> ColumnElement[bool]:
    if principal.operator:
        return true()
    own = JobRecord.user_id == principal.user_id if principal.user_id is not None else false()
    if not policy.allows(principal, Action.SUPERVISE_JOBS):
        return own
    return or_(own, in_region(principal.scope, JobRecord.region))


def _record(db: Session, principal: Principal, job_id: str) -> JobRecord:
    found = db.scalars(select(JobRecord).where(JobRecord.id == job_id,
                                               _visible(principal))).first()
    if found is None:
        raise NotFound(f"job {job_id} not found")
    return found


@reads()
def show(db: Session, *, principal: Principal, job_id: str,
         data_dir: Path | None = None) -> JobView:
    """A job ``principal`` may see (their own; their region's for those who supervise), with
    its progress when it runs (read from ``data_dir``)."""
    return _with_progress(view_of(_record(db, principal, job_id)), data_dir)


@reads()
def list_jobs(db: Session, *, principal: Principal, limit: int = 100,
              state: JobState | None = None, data_dir: Path | None = None) -> list[JobView]:
    """The newest jobs ``principal`` may see."""
    query = select(JobRecord).where(_visible(principal))
    if state is not None:
        query = query.where(JobRecord.state == state.value)
    rows = db.scalars(query.order_by(JobRecord.created_at.desc()).limit(limit)).all()
    return [_with_progress(view_of(r), data_dir) for r in rows]


@reads()
def result_path(db: Session, *, principal: Principal, job_id: str, data_dir: Path) -> Path:
    """The file a finished job made (NotFound when it made none, or it is gone)."""
    record = _record(db, principal, job_id)
    if record.state != JobState.DONE.value or not record.result_file:
        raise NotFound(f"job {job_id} has no file")
    path = job_dir(data_dir, job_id) / record.result_file
    if not path.is_file():
        raise NotFound(f"job {job_id} has no file")
    return path


@changes(Action.READ)
def cancel(db: Session, *, principal: Principal, job_id: str, clock: Clock = time.time) -> None:
    """Cancel a job: a queued one at once; a running one at its next step (its work rolls
    back: what a job writes, it writes in one transaction)."""
    _record(db, principal, job_id)  # one they may see, or NotFound
    now = clock()
    # conditional, as a claim is: a worker taking the job at this moment is not overwritten
    waiting = db.execute(update(JobRecord).where(
        JobRecord.id == job_id, JobRecord.state == JobState.QUEUED.value).values(
        state=JobState.CANCELLED.value, finished_at=now, updated_at=now,
        cancel_requested=True).returning(JobRecord.id)).first()
    if waiting is not None:
        db.expire_all()
        return
    record = db.scalars(select(JobRecord).where(JobRecord.id == job_id).with_for_update()
                        .execution_options(populate_existing=True)).one()
    if JobState.of(record.state) in ENDED:
        raise RuleBroken(NOT_CANCELLABLE, state=Message(JobState.of(record.state).title))
    record.cancel_requested, record.updated_at = True, now
    db.flush()


def job_dir(data_dir: Path, job_id: str) -> Path:
    """Where a job keeps its files (its result, its progress while it runs)."""
    return data_dir / "jobs" / job_id


PROGRESS_FILE = "progress.json"
# what a job's file is, by its suffix (an export's CSV or Parquet, a funds check's XLSX)
MEDIA_TYPES = {".csv": "text/csv; charset=utf-8", ".parquet": "application/vnd.apache.parquet",
               ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def write_progress(folder: Path, *, done: int, total: int, message: Message | None) -> None:
    """Replace a running job's progress file (atomically: a reader never sees half)."""
    part = folder / f".{PROGRESS_FILE}.{os.getpid()}"
    part.write_text(json.dumps({"done": done, "total": total,
                                "message": message_json(message)}), encoding="utf-8")
    os.replace(part, folder / PROGRESS_FILE)


def read_progress(folder: Path) -> tuple[int, int, Message | None] | None:
    """(done, total, message) as a job's worker last wrote them; None: nothing yet."""
    try:
        found = json.loads((folder / PROGRESS_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return int(found["done"]), int(found["total"]), message_of(found.get("message"))


def _with_progress(view: JobView, data_dir: Path | None) -> JobView:
    """A running job's view with the progress its worker last wrote."""
    if data_dir is None or view.state is not JobState.RUNNING:
        return view
    found = read_progress(job_dir(data_dir, view.id))
    if found is None:
        return view
    done, total, message = found
    return replace(view, done=done, total=total, message=message)


# -- the runner's side (no principal: the worker works for the job's owner) ------------------

def claim(db: Session, *, worker: str, now: float, job_id: str | None = None,
          lease: float = LEASE_SECONDS) -> JobRecord | None:
    """Take the oldest job that is queued or whose lease ran out (``job_id``: that job
    only); None when there is none. A job interrupted too often is failed instead."""
    waiting = or_(JobRecord.state == JobState.QUEUED.value,
                  (JobRecord.state == JobState.RUNNING.value) & (JobRecord.lease_until < now))
    query = select(JobRecord).where(waiting)
    if job_id is not None:
        query = query.where(JobRecord.id == job_id)
    while True:
        record = db.scalars(query.order_by(JobRecord.created_at).limit(1)
                            .with_for_update(skip_locked=True)).first()
        if record is None:
            return None
        if record.attempts >= record.max_attempts:
            _end(record, JobState.FAILED, now,
                 error=Message(RETRIES_USED_UP, attempts=record.attempts))
            db.flush()
            continue
        record.state, record.worker, record.lease_until = JobState.RUNNING.value, worker, \
            now + lease
        record.attempts += 1
        record.started_at = record.started_at or now
        record.updated_at = now
        db.flush()
        return record


def renew(db: Session, *, job_id: str, worker: str, now: float,
          lease: float = LEASE_SECONDS) -> bool:
    """Extend ``worker``'s claim on a job; returns whether the job should stop (cancelled,
    or taken from this worker)."""
    record = db.get(JobRecord, job_id)
    if record is None or record.worker != worker or record.state != JobState.RUNNING.value:
        return True
    record.lease_until, record.updated_at = now + lease, now
    db.flush()
    return record.cancel_requested


def finish(db: Session, *, job_id: str, worker: str, state: JobState, now: float,
           result: dict[str, Any] | None = None, result_file: str | None = None,
           error: Message | None = None,
           progress: tuple[int, int, Message | None] | None = None) -> None:
    """End a job that ``worker`` holds (done, failed or cancelled), with its last
    progress."""
    record = db.get(JobRecord, job_id)
    if record is None or record.worker != worker or record.state != JobState.RUNNING.value:
        return  # taken over by another worker after our lease ran out: theirs now
    _end(record, state, now, error=error)
    if result is not None:
        record.result = json.dumps(result, ensure_ascii=False, default=str)
    record.result_file = result_file
    if progress is not None:
        record.done, record.total = progress[0], progress[1]
        record.message = message_json(progress[2])
    if state is JobState.DONE:  # all of it, whether or not the work knew its total
        record.done = record.total = max(record.done, record.total)
    db.flush()


def _end(record: JobRecord, state: JobState, now: float, *,
         error: Message | None = None) -> None:
    record.state, record.finished_at, record.updated_at = state.value, now, now
    record.lease_until = None
    record.error = message_json(error)


def depth(db: Session, *, now: float) -> dict[str, Any]:
    """How many jobs wait and run, and how long the oldest has waited (for /metrics)."""
    counts = dict(db.execute(
        select(JobRecord.state, func.count()).where(JobRecord.state.in_(
            [JobState.QUEUED.value, JobState.RUNNING.value])).group_by(JobRecord.state)).all())
    oldest = db.scalar(select(func.min(JobRecord.created_at)).where(
        JobRecord.state == JobState.QUEUED.value))
    return {"queued": counts.get(JobState.QUEUED.value, 0),
            "running": counts.get(JobState.RUNNING.value, 0),
            "oldest_queued_age": None if oldest is None else max(0.0, now - oldest)}
