"""Housekeeping: remove the files under the data dir that no record refers to.

Three kinds of files live there, each kept as long as a row names it: evidence
(``evidence/ab/<sha256>.<ext>``, named by an evidence row's hash), uploads (``uploads/<id>/``,
by an upload row) and job results (``jobs/<id>/``, by a job row). A file nothing names is
left behind by a transaction that rolled back after writing it, a process killed between
file and row, or a row deleted by hand. Uploads that expired lose their row and files here
as they do on the next upload (uploads.purge).

Only what is older than a grace period (by its newest modification) is touched: a file
written just now - an upload arriving, evidence whose row has not committed yet - is not
referenced yet, and must not be taken for an orphan.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.services import audit
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.imports import uploads
from tuopin.storage.models import EvidenceRecord, ImportUploadRecord, JobRecord

DAY = 86_400
EVIDENCE_NAME = re.compile(r"^([0-9a-f]{64})\.[a-z0-9]{1,5}$")
PARTIAL_PREFIX = ".upload-"  # evidence written to a temporary name, then renamed
FOLDER_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


class Kind(StrEnum):
    """What a removed file was."""

    EVIDENCE = "evidence"
    UPLOAD = "upload"
    EXPIRED_UPLOAD = "expired_upload"
    JOB = "job"


@dataclass(frozen=True)
class Removal:
    """One file or folder removed (or, in a dry run, that would be): where, and its size."""

    kind: Kind
    path: Path  # relative to the data dir
    size: int


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed, or would remove in a dry run."""

    dry_run: bool
    older_than_days: float
    removed: list[Removal] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(r.size for r in self.removed)

    def counts(self) -> dict[str, int]:
        """How many of each kind (every kind named, zero included)."""
        return {k.value: sum(1 for r in self.removed if r.kind is k) for k in Kind}


def _newest(path: Path) -> float:
    """The latest modification of a file, or of anything inside a folder."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for inner in path.rglob("*"):
            newest = max(newest, inner.lstat().st_mtime)
    return newest


def _size(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())
    return path.lstat().st_size


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _evidence_candidates(data_dir: Path, referenced: set[str]) -> Iterator[Path]:
    """Evidence files no row names, and pieces of writes that never finished."""
    root = data_dir / "evidence"
    if not root.is_dir():
        return
    for fan in sorted(root.iterdir()):
        if not fan.is_dir() or fan.is_symlink():
            continue
        for path in sorted(fan.iterdir()):
            if not path.is_file():
                continue
            if path.name.startswith(PARTIAL_PREFIX):
                yield path
                continue
            # a name that is not ours (a note someone left) is not ours to remove
            found = EVIDENCE_NAME.match(path.name)
            if found and found[1][:2] == fan.name and found[1] not in referenced:
                yield path


def _folder_candidates(root: Path, referenced: set[str]) -> Iterator[Path]:
    """Folders under ``root`` named by an id that no row has."""
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if (path.is_dir() and not path.is_symlink() and FOLDER_ID.match(path.name)
                and path.name not in referenced):
            yield path


def _job_ids(db: Session) -> set[str]:
    return {str(i) for i in db.scalars(select(JobRecord.id))}


def _expired(db: Session, data_dir: Path, now: float) -> list[Removal]:
    """The uploads past their retention, whose rows and files uploads.purge removes."""
    ids = db.scalars(select(ImportUploadRecord.id).where(ImportUploadRecord.expires_at < now))
    found = []
    for upload_id in ids:
        folder = data_dir / "uploads" / upload_id
        size = _size(folder) if folder.exists() else 0
        found.append(Removal(Kind.EXPIRED_UPLOAD, folder.relative_to(data_dir), size))
    return found


@changes(Action.MAINTAIN)
def prune(db: Session, *, principal: Principal, data_dir: Path, now: float,
          older_than_days: float = 1.0, dry_run: bool = False) -> PruneReport:
    """Remove the evidence, upload and job files no record refers to and that are older than
    ``older_than_days`` (never a referenced one), and the uploads that expired; a dry run
    only lists them. The audit trail records the counts (never a file's name)."""
    cutoff = now - older_than_days * DAY
    report = PruneReport(dry_run=dry_run, older_than_days=older_than_days)
    report.removed.extend(_expired(db, data_dir, now))
    if not dry_run:
        uploads.purge(db, data_dir=data_dir, now=now)
    expired = {r.path.name for r in report.removed}
    evidence = set(db.scalars(select(EvidenceRecord.sha256).distinct()))
    upload_ids = set(db.scalars(select(ImportUploadRecord.id))) | expired
    candidates = [
        *((Kind.EVIDENCE, p) for p in _evidence_candidates(data_dir, evidence)),
        *((Kind.UPLOAD, p) for p in _folder_candidates(data_dir / "uploads", upload_ids)),
        *((Kind.JOB, p) for p in _folder_candidates(data_dir / "jobs", _job_ids(db))),
    ]
    for kind, path in candidates:
        try:
            if _newest(path) >= cutoff:
                continue
            size = _size(path)
        except FileNotFoundError:  # removed meanwhile (an upload cancelled)
            continue
        if not dry_run:
            _remove(path)
        report.removed.append(Removal(kind, path.relative_to(data_dir), size))
    if not dry_run:
        audit.record(db, actor=principal.actor, action="prune", entity="data_dir",
                     after={**report.counts(), "bytes": report.size,
                            "older_than_days": older_than_days})
    return report
