"""Anchors of the audit chain: its head written down outside the database.

The chain catches an edit, an insertion or a deletion made behind tuopin's back, but not a
rewrite of the whole table: whoever can recompute every hash and the ``audit_head`` row
forges a chain that verifies. An anchor - the head's event id and hash, with the time it
was taken - kept where that person cannot reach (another machine, a ticket, paper) catches
it: the anchored event must still be in the chain with the same hash. Every change after
the latest anchor is covered only by the chain itself, so anchor often (daily from cron).

An anchor file has one line per anchor: ``<ISO time> <events> <head hash>``; lines that
start with ``#`` and blank lines are skipped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tuopin.domain.errors import RuleBroken, ValidationFailed
from tuopin.i18n import N_
from tuopin.services import audit
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import AuditEventRecord, AuditHeadRecord

LINE = re.compile(r"^(\S+)\s+(\d+)\s+([0-9a-f]{64})$")
BROKEN = N_("The audit chain is broken at event {event} ({detail}): it is not anchored. "
            "Find out what happened first (`tuopin audit verify`).")


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one time: the id of its last event and that event's hash."""

    at: str  # ISO 8601, UTC
    events: int
    head_hash: str

    def line(self) -> str:
        return f"{self.at} {self.events} {self.head_hash}"


@dataclass(frozen=True)
class AnchorReport:
    """The chain's own verification, and the first anchor it no longer holds (if any)."""

    chain: audit.ChainReport
    anchors: int
    broken: Anchor | None = None
    problem: str | None = None  # rewritten | truncated
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.broken is None


def _now() -> datetime:
    return datetime.now(UTC)


@reads(Action.READ_AUDIT)
def take(db: Session, *, principal: Principal, at: datetime | None = None) -> Anchor:
    """The head of a chain that verifies (a broken chain is refused: anchoring it would
    vouch for whatever broke it)."""
    report = audit.verify(db, principal=principal)
    if not report.ok:
        raise RuleBroken(BROKEN, event=report.broken_at, detail=report.detail)
    head = db.get(AuditHeadRecord, 1)
    events, head_hash = (head.last_id, head.last_hash) if head else (0, audit.GENESIS)
    moment = (at or _now()).astimezone(UTC).isoformat(timespec="seconds")
    return Anchor(moment.replace("+00:00", "Z"), events, head_hash)


def append(path: Path, anchor: Anchor) -> None:
    """Add ``anchor`` as the last line of the file at ``path`` (made if missing), on disk
    before this returns."""
    with path.open("a", encoding="utf-8") as out:
        out.write(anchor.line() + "\n")
        out.flush()
        os.fsync(out.fileno())


def read(path: Path) -> list[Anchor]:
    """Every anchor in a file; a line that is not one is refused with its number."""
    anchors = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        found = LINE.match(stripped)
        if found is None:
            raise ValidationFailed(f"{path}, line {number}: not an anchor (expected "
                                   "'<time> <events> <hash>')")
        anchors.append(Anchor(found[1], int(found[2]), found[3]))
    return anchors


@reads(Action.READ_AUDIT)
def verify(db: Session, *, principal: Principal, anchors: list[Anchor]) -> AnchorReport:
    """Verify the chain, then check that every anchored head is still in it, unchanged: a
    chain recomputed from an edited table verifies on its own but fails here."""
    chain = audit.verify(db, principal=principal)
    for anchor in anchors:
        if anchor.events == 0:
            if anchor.head_hash != audit.GENESIS:
                return AnchorReport(chain, len(anchors), anchor, "rewritten",
                                    f"the anchor of {anchor.at} names no event but a hash")
            continue
        event = db.get(AuditEventRecord, anchor.events)
        if event is None:
            return AnchorReport(chain, len(anchors), anchor, "truncated",
                                f"event {anchor.events}, anchored at {anchor.at}, is gone")
        if event.hash != anchor.head_hash:
            return AnchorReport(chain, len(anchors), anchor, "rewritten",
                                f"event {anchor.events} no longer has the hash anchored at "
                                f"{anchor.at}: the chain up to it was rewritten")
    return AnchorReport(chain, len(anchors))
