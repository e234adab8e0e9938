"""`uploads prune`: files no record names go, once old enough; a referenced file never does."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import OPERATOR, registry_files, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied
from tuopin.io.schema import Kind
from tuopin.services.imports.files import import_file
from tuopin.services.ops import prune
from tuopin.storage.db import session_factory
from tuopin.storage.models import (
    AuditEventRecord,
    EvidenceRecord,
    HouseholdRecord,
    ImportUploadRecord,
    JobRecord,
    MeasureRecord,
    PlanRecord,
)

TODAY = date(2026, 11, 29)
NOW = 1_800_000_000.0
DAY = 86_400
OLD = NOW - 3 * DAY


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


KEPT, ORPHAN = sha(b"kept evidence"), sha(b"orphaned evidence")


def put(path: Path, data: bytes = b"x" * 100, mtime: float = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def evidence_path(data_dir: Path, digest: str, ext: str = ".jpg") -> Path:
    return data_dir / "evidence" / digest[:2] / f"{digest}{ext}"


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    """A store with one evidence row (KEPT), one live upload and one job; a data dir with
    their files and with orphans of every kind, all three days old."""
    files = registry_files(tmp_path)
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS):
        assert import_file(engine, principal=OPERATOR, kind=kind, path=files[kind.value],
                           today=TODAY).ok
    with session_factory(engine)() as db, db.begin():
        plan = PlanRecord(household_id=db.scalar(select(func.min(HouseholdRecord.id))),
                          status="draft", drafted_by="t", drafted_on=TODAY)
        db.add(plan)
        db.flush()
        measure = MeasureRecord(plan_id=plan.id, kind="industry", content="养牛",
                                due_date=TODAY, status="done")
        db.add(measure)
        db.flush()
        db.add(EvidenceRecord(measure_id=measure.id, sha256=KEPT, filename="张三家.jpg",
                              content_type="image/jpeg", size=13, uploaded_by="t",
                              uploaded_on=TODAY))
        db.add(ImportUploadRecord(
            id="a" * 32, actor="web:cadre", kind="households", filename="户.csv",
            sha256="0" * 64, size=1, state="checked", created_at=OLD, updated_at=OLD,
            expires_at=NOW + DAY))
        db.add(JobRecord(id="b" * 32, kind="export", actor="web:cadre", state="done",
                         created_at=OLD, updated_at=OLD))
    data_dir = tmp_path / "data"
    put(evidence_path(data_dir, KEPT))
    put(evidence_path(data_dir, ORPHAN))
    put(data_dir / "evidence" / ORPHAN[:2] / ".upload-abc123")  # a write that never finished
    put(data_dir / "evidence" / "zz" / "notes.txt")  # not a name tuopin gives: left alone
    put(data_dir / "uploads" / ("a" * 32) / "validated.parquet")
    put(data_dir / "uploads" / ("c" * 32) / "validated.parquet")  # its row is gone
    put(data_dir / "jobs" / ("b" * 32) / "export.xlsx")
    put(data_dir / "jobs" / ("d" * 32) / "export.xlsx")  # its row is gone
    yield engine, data_dir


def run(engine: Engine, data_dir: Path, **options: object) -> prune.PruneReport:
    with session_factory(engine)() as db, db.begin():
        return prune.prune(db, principal=OPERATOR, data_dir=data_dir, now=NOW,
                           **options)  # type: ignore[arg-type]


def files_under(data_dir: Path) -> set[str]:
    return {str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file()}


def test_it_removes_what_no_record_names_and_keeps_every_referenced_file(
        world: tuple[Engine, Path]) -> None:
    engine, data_dir = world
    report = run(engine, data_dir)
    left = files_under(data_dir)
    assert str(evidence_path(data_dir, KEPT).relative_to(data_dir)) in left
    assert f"uploads/{'a' * 32}/validated.parquet" in left
    assert f"jobs/{'b' * 32}/export.xlsx" in left
    assert "evidence/zz/notes.txt" in left
    assert str(evidence_path(data_dir, ORPHAN).relative_to(data_dir)) not in left
    assert not (data_dir / "uploads" / ("c" * 32)).exists()
    assert not (data_dir / "jobs" / ("d" * 32)).exists()
    assert report.counts() == {"evidence": 2, "upload": 1, "expired_upload": 0, "job": 1}
    assert report.size == 400


def test_a_dry_run_removes_nothing_and_lists_the_same(world: tuple[Engine, Path]) -> None:
    engine, data_dir = world
    before = files_under(data_dir)
    dry = run(engine, data_dir, dry_run=True)
    assert files_under(data_dir) == before
    real = run(engine, data_dir)
    assert sorted(map(str, (r.path for r in dry.removed))) == sorted(
        map(str, (r.path for r in real.removed)))


def test_files_younger_than_the_grace_period_are_kept(world: tuple[Engine, Path]) -> None:
    engine, data_dir = world
    fresh = put(data_dir / "uploads" / ("e" * 32) / ".part-x", mtime=NOW - 60)  # arriving
    old_folder = data_dir / "uploads" / ("f" * 32)
    put(old_folder / "received.csv")
    put(old_folder / "validated.parquet", mtime=NOW - 60)  # a folder written to just now
    report = run(engine, data_dir, older_than_days=1)
    assert fresh.exists() and old_folder.exists()
    assert report.counts()["upload"] == 1  # only "ccc…"
    assert run(engine, data_dir, older_than_days=0).counts()["upload"] == 2


def test_an_expired_upload_loses_its_row_and_files(world: tuple[Engine, Path]) -> None:
    engine, data_dir = world
    with session_factory(engine)() as db, db.begin():
        db.get_one(ImportUploadRecord, "a" * 32).expires_at = NOW - 1
    report = run(engine, data_dir)
    assert report.counts()["expired_upload"] == 1
    assert not (data_dir / "uploads" / ("a" * 32)).exists()
    with Session(engine) as db:
        assert db.get(ImportUploadRecord, "a" * 32) is None


def test_the_audit_trail_records_counts_and_no_file_name(world: tuple[Engine, Path]) -> None:
    engine, data_dir = world
    run(engine, data_dir, dry_run=True)
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(AuditEventRecord)
                         .where(AuditEventRecord.action == "prune")) == 0
    run(engine, data_dir)
    with Session(engine) as db:
        event = db.scalars(select(AuditEventRecord)
                           .where(AuditEventRecord.action == "prune")).one()
    assert event.actor == OPERATOR.actor
    assert '"evidence":2' in (event.after or "")
    assert ORPHAN not in (event.after or "") and "c" * 32 not in (event.after or "")


def test_a_county_officer_may_not_prune(world: tuple[Engine, Path]) -> None:
    engine, data_dir = world
    before = files_under(data_dir)
    with session_factory(engine)() as db, db.begin(), pytest.raises(PermissionDenied):
        prune.prune(db, principal=user(Role.COUNTY_OFFICER, "621121"), data_dir=data_dir,
                    now=time.time())
    assert files_under(data_dir) == before
