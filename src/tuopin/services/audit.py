"""The hash-chained audit trail.

Every change made through the services appends one event in the same transaction as the
change. Each event's hash covers its own fields and the previous event's hash, and the
``audit_head`` row records the tip, so an UPDATE, DELETE or INSERT on ``audit_event`` made
behind tuopin's back breaks the chain where it happened. Appends lock the head row
(SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers),
so two writers can never both extend the same tip.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session

from tuopin.domain.errors import PermissionDenied
from tuopin.services.access.policy import NOT_ALLOWED, Action, reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import AuditEventRecord, AuditHeadRecord, table_of

GENESIS = "0" * 64
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def canonical_json(value: Any) -> str | None:
    """The one JSON spelling that is hashed: sorted keys, no spaces, UTF-8 text."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def event_hash(
    *, id: int, at: str, actor: str, action: str, entity: str, entity_id: str | None,
    before: str | None, after: str | None, prev_hash: str,
) -> str:
    """SHA-256 over an event's fields and its predecessor's hash."""
    fields = [str(id), at, actor, action, entity, entity_id or "", before or "", after or "",
              prev_hash]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Change:
    """One event to append: who did what to which record, with the record before and after."""

    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    before: Any = None
    after: Any = None


def record(
    db: Session | Connection, *, actor: str, action: str, entity: str,
    entity_id: str | None = None, before: Any = None, after: Any = None,
    clock: Clock = utc_now,
) -> None:
    """Append one event to the chain inside the caller's transaction (ORM or Core)."""
    record_many(db, [Change(actor, action, entity, entity_id, before, after)], clock=clock)


def record_export(db: Session | Connection, *, actor: str, filename: str, masked: bool,
                  **what: Any) -> None:
    """One event for one exported file: who took it, its name, whether personal numbers
    were masked, and ``what`` it held (kind, format, region, rows...). No record changed: the
    changes feed does not read these."""
    record(db, actor=actor, action="export", entity="export", entity_id=filename,
           after={**what, "masked": masked})


def record_many(db: Session | Connection, changes: Iterable[Change], *,
                clock: Clock = utc_now, batch: int = 5_000) -> int:
    """Append events in order inside the caller's transaction: the head is locked and
    moved once, the events inserted in batches (a scan proposing 10,000 cases is not
    10,000 round trips). Returns how many were appended."""
    conn = db.connection() if isinstance(db, Session) else db
    head_table, events_table = table_of(AuditHeadRecord), table_of(AuditEventRecord)
    head = conn.execute(
        select(head_table.c.last_id, head_table.c.last_hash)
        .where(head_table.c.id == 1).with_for_update()
    ).one()
    at = clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    last_id, last_hash = head.last_id, head.last_hash
    rows: list[dict[str, Any]] = []
    for change in changes:
        last_id += 1
        row = {"id": last_id, "at": at, "actor": change.actor, "action": change.action,
               "entity": change.entity, "entity_id": change.entity_id,
               "before": canonical_json(change.before),
               "after": canonical_json(change.after), "prev_hash": last_hash}
        row["hash"] = last_hash = event_hash(**row)
        rows.append(row)
    if not rows:
        return 0
    for start in range(0, len(rows), batch):
        conn.execute(insert(events_table), rows[start:start + batch])
    conn.execute(
        update(head_table).where(head_table.c.id == 1)
        .values(last_id=last_id, last_hash=last_hash)
    )
    return len(rows)


def _hash_of(event: AuditEventRecord) -> str:
    return event_hash(
        id=event.id, at=event.at, actor=event.actor, action=event.action, entity=event.entity,
        entity_id=event.entity_id, before=event.before, after=event.after,
        prev_hash=event.prev_hash,
    )


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain; ``broken_at`` is the first bad event's id."""

    events: int
    ok: bool
    broken_at: int | None = None
    problem: str | None = None  # edited | deleted | inserted
    detail: str = ""
    head_hash: str | None = None  # the tip's hash: keep it outside the database to anchor


def _events(session: Session, batch: int = 10_000) -> Iterator[AuditEventRecord]:
    last = None
    while True:
        query = select(AuditEventRecord).order_by(AuditEventRecord.id).limit(batch)
        if last is not None:
            query = query.where(AuditEventRecord.id > last)
        rows = session.execute(query).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


@reads(Action.READ_AUDIT)
def verify(session: Session, *, principal: Principal) -> ChainReport:
    """Walk the chain from the first event and name the first one that does not fit."""
    expected_id, prev_hash, count = 1, GENESIS, 0
    for event in _events(session):
        if event.id > expected_id:
            return ChainReport(count, False, expected_id, "deleted",
                               f"events {expected_id}..{event.id - 1} are missing")
        if event.id < expected_id:
            return ChainReport(count, False, event.id, "inserted",
                               f"event {event.id} is out of sequence")
        if event.prev_hash != prev_hash:
            return ChainReport(count, False, event.id, "inserted",
                               f"event {event.id} does not link to event {event.id - 1}")
        if _hash_of(event) != event.hash:
            return ChainReport(count, False, event.id, "edited",
                               f"event {event.id} was changed after it was written")
        expected_id, prev_hash, count = event.id + 1, event.hash, count + 1
    head = session.get(AuditHeadRecord, 1)
    if head is None or head.last_id != expected_id - 1 or head.last_hash != prev_hash:
        last_id = head.last_id if head else None
        if last_id is not None and last_id > expected_id - 1:
            return ChainReport(count, False, expected_id, "deleted",
                               f"events {expected_id}..{last_id} are missing at the end")
        return ChainReport(count, False, expected_id - 1 if head else None, "inserted",
                           "the last event is not the recorded head of the chain")
    return ChainReport(count, True, head_hash=prev_hash)


@reads(Action.READ_AUDIT)
def history(session: Session, *, principal: Principal, entity: str,
            entity_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Events about one record (or one kind of record), oldest first, as plain rows; the
    whole trail, so only for a principal without a region (an operator, an admin)."""
    if principal.scope.region_code is not None:
        raise PermissionDenied(NOT_ALLOWED)
    query = select(AuditEventRecord).where(AuditEventRecord.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEventRecord.entity_id == entity_id)
    return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
             "entity": e.entity, "entity_id": e.entity_id, "before": e.before,
             "after": e.after}
            for e in session.execute(query.order_by(AuditEventRecord.id).limit(limit)).scalars()]
