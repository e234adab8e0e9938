"""Evidence that a measure was delivered: photos and PDFs, stored once by SHA-256.

Files live under ``data_dir/evidence/ab/abcdef….ext`` (the first two hex digits fan the
directory out), so the same bytes uploaded twice occupy the disk once. The type is read from
the file's first bytes: neither its name nor the type a browser declares is trusted.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tuopin.domain import ledger
from tuopin.domain.ledger import RuleBroken
from tuopin.i18n import N_
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.plans.store import facts, measure_for_update
from tuopin.storage.models import EvidenceRecord

# content type -> file extension; what a photo from a phone or a scanned document may be
ALLOWED = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "application/pdf": ".pdf",
}


def sniff(data: bytes) -> str | None:
    """The content type the file's magic bytes show, if it is one tuopin accepts."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def path_of(data_dir: Path, sha256: str, content_type: str) -> Path:
    """Where the bytes with this hash are kept."""
    return data_dir / "evidence" / sha256[:2] / f"{sha256}{ALLOWED[content_type]}"


def _write_once(path: Path, data: bytes) -> None:
    if path.exists():
        # same hash, same bytes: already stored. Touched: `uploads prune` removes only files
        # unreferenced for a day, and this one is about to be referenced again
        try:
            os.utime(path)
            return
        except FileNotFoundError:
            pass  # removed in between: written again below
    path.parent.mkdir(parents=True, exist_ok=True)
    # write then rename, so a crash never leaves a half file under the final name
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check(data: bytes, filename: str, content_type: str | None, max_bytes: int) -> str:
    if not data:
        raise RuleBroken(N_("The file {name} is empty."), name=filename)
    if len(data) > max_bytes:
        raise RuleBroken(N_("The file {name} is {size} bytes; the largest accepted is "
                            "{limit} bytes."), name=filename, size=len(data), limit=max_bytes)
    sniffed = sniff(data)
    if sniffed is None:
        raise RuleBroken(N_("The file {name} ({declared}) is not a JPEG, PNG, GIF or WebP "
                            "image or a PDF."), name=filename,
                         declared=content_type or "unknown type")
    return sniffed


@dataclass(frozen=True)
class EvidenceFile:
    """A file handed in as evidence: its name, its bytes and the type its sender declared."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class EvidenceStore:
    """Where evidence is kept and how large a file may be (from the settings)."""

    data_dir: Path
    max_bytes: int


@changes(Action.MOVE_MEASURE)
def store(db: Session, *, principal: Principal, measure_id: int, file: EvidenceFile,
          as_of: date, store: EvidenceStore) -> dict[str, Any]:
    """Attach a file to a measure (once per measure and hash), recording who and when."""
    measure = measure_for_update(db, measure_id=measure_id, scope=principal.scope)
    ledger.attach_evidence(facts(db, measure))
    data = file.data
    name = Path(file.filename).name[:255] or "evidence"
    sniffed = _check(data, name, file.content_type, store.max_bytes)
    sha = hashlib.sha256(data).hexdigest()
    existing = db.scalars(select(EvidenceRecord).where(
        EvidenceRecord.measure_id == measure_id, EvidenceRecord.sha256 == sha)).first()
    if existing is not None:
        return _row(existing)
    # the file is written before the row commits; if the transaction rolls back, the file
    # stays as an unreferenced blob that the next upload of the same bytes reuses
    _write_once(path_of(store.data_dir, sha, sniffed), data)
    record = EvidenceRecord(measure_id=measure_id, sha256=sha, filename=name,
                            content_type=sniffed, size=len(data), uploaded_by=principal.actor,
                            uploaded_on=as_of)
    db.add(record)
    records.flush(db, what=N_("The evidence"))
    audit.record(db, actor=principal.actor, action="evidence", entity="measure",
                 entity_id=str(measure_id),
                 after={"evidence": record.id, "sha256": sha, "filename": name,
                        "content_type": sniffed, "size": len(data), "as_of": as_of})
    return _row(record)


def _row(record: EvidenceRecord) -> dict[str, Any]:
    return {"evidence": record.id, "file": record.filename, "sha256": record.sha256,
            "type": record.content_type, "size": record.size, "by": record.uploaded_by,
            "on": record.uploaded_on}
