"""Backup and restore on both stores: a backup taken while others write restores to the very
state it counted (rows, audit chain, files); a damaged backup, a full target and a missing
pg_dump are refused in words that name the problem, before anything is touched."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from factories import OPERATOR, VILLAGE, person_id, registry_files, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import ConfigurationError, PermissionDenied, ValidationFailed
from tuopin.io.schema import REGISTRY_KINDS
from tuopin.services import audit
from tuopin.services.imports.files import import_file
from tuopin.services.ops import backup, restore
from tuopin.services.registry import registration
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory

TODAY = date(2026, 11, 29)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
HOUSEHOLD = {"village_code": VILLAGE, "status": "ordinary"}
COMPARED = ("household", "member", "audit_event")  # row for row, ordered by id


class Writer(threading.Thread):
    """Registers a household after another on a connection of its own, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.written, self.error = url, 0, None
        self.stopping = threading.Event()
        self.progressed = threading.Condition()

    def run(self) -> None:
        engine = make_engine(self.url)
        try:
            while not self.stopping.is_set():
                born = date(1980, 1, 1) + timedelta(days=self.written)
                with session_factory(engine)() as db, db.begin():
                    registration.register_household(
                        db, principal=OPERATOR, household=HOUSEHOLD,
                        members=[{"name": "新户", "relation": "head",
                                  "id_number": person_id(born, 31)}], today=TODAY)
                with self.progressed:
                    self.written += 1
                    self.progressed.notify_all()
        except Exception as exc:  # noqa: BLE001 - handed to the test, which raises it
            with self.progressed:
                self.error = exc
                self.progressed.notify_all()
        finally:
            engine.dispose()

    def wait_for(self, count: int) -> None:
        with self.progressed:
            assert self.progressed.wait_for(lambda: self.written >= count or self.error,
                                            timeout=60)
        if self.error:
            raise self.error

    def finish(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
        if self.error:
            raise self.error


@pytest.fixture
def populated(engine: Engine, tmp_path: Path) -> Engine:
    files = registry_files(tmp_path, n=20)
    for kind in REGISTRY_KINDS:
        assert import_file(engine, principal=OPERATOR, kind=kind, path=files[kind.value],
                           today=TODAY).ok
    return engine


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Evidence, an upload and a job's result, where the services keep them."""
    folder = tmp_path / "data"
    sha = hashlib.sha256(PNG).hexdigest()
    for relative, data in {f"evidence/{sha[:2]}/{sha}.png": PNG,
                           "uploads/u1/households.csv": b"number\n1\n",
                           "jobs/7/result.csv": "户号\n1\n".encode()}.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def _new_target(request: pytest.FixtureRequest, tmp_path: Path, source: str,
                template: bool) -> Iterator[str]:
    """A new store of the same kind as ``source``: blank, or migrated (``template``)."""
    if source.startswith("sqlite"):
        path = tmp_path / "restored" / "tuopin.db"
        if template:
            path.parent.mkdir()
            path.write_bytes(request.getfixturevalue("sqlite_template").read_bytes())
        yield f"sqlite:///{path}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    name = f"tuopin_r_{uuid.uuid4().hex[:12]}"
    like = f' TEMPLATE "{request.getfixturevalue("pg_template")}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{like}'))
    yield f"{source.rsplit('/', 1)[0]}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def blank_target(request: pytest.FixtureRequest, tmp_path: Path, db_url: str) -> Iterator[str]:
    yield from _new_target(request, tmp_path, db_url, template=False)


@pytest.fixture
def migrated_target(request: pytest.FixtureRequest, tmp_path: Path,
                    db_url: str) -> Iterator[str]:
    yield from _new_target(request, tmp_path, db_url, template=True)


def _rows(engine: Engine, name: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY id"))]


def _tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _backup(engine: Engine, data_dir: Path, out: Path) -> dict[str, Any]:
    return backup.create(engine, principal=OPERATOR, data_dir=data_dir, out=out)


def test_a_backup_taken_while_others_write_restores_to_the_state_it_counted(
        populated: Engine, data_dir: Path, blank_target: str, tmp_path: Path) -> None:
    writer = Writer(populated.url.render_as_string(hide_password=False))
    writer.start()
    try:
        writer.wait_for(5)
        manifest = _backup(populated, data_dir, tmp_path / "backup")
        writer.wait_for(writer.written + 5)  # and writes go on after the snapshot
    finally:
        writer.finish()
    counts = manifest["counts"]
    assert 20 + 5 <= counts["household"] < 20 + writer.written
    assert manifest["audit"]["events"] == counts["audit_event"]

    restored_data = tmp_path / "restored-data"
    report = restore.restore(principal=OPERATOR, source=tmp_path / "backup", url=blank_target,
                             data_dir=restored_data)
    assert report.ok and not report.upgrade_needed, report.checks
    assert [c.name for c in report.checks] == ["checksums", "files", "revision", "counts",
                                               "audit chain"]
    target = make_engine(blank_target)
    try:
        with target.connect() as conn:
            assert backup.read_state(conn).counts == counts
        with session_factory(target)() as db:
            chain = audit.verify(db, principal=OPERATOR)
        assert (chain.ok, chain.events, chain.head_hash) == (
            True, counts["audit_event"], manifest["audit"]["head_hash"])
        for name in COMPARED:  # the source only grew since: the backup is its beginning
            copied = _rows(target, name)
            assert len(copied) == counts[name]
            assert copied == _rows(populated, name)[:len(copied)]
    finally:
        target.dispose()
    for relative in ("uploads/u1/households.csv", "jobs/7/result.csv"):
        assert (restored_data / relative).read_bytes() == (data_dir / relative).read_bytes()
    assert len(list((restored_data / "evidence").rglob("*.png"))) == 1


def test_the_manifest_names_the_store_and_hashes_every_file(
        populated: Engine, data_dir: Path, tmp_path: Path) -> None:
    manifest = _backup(populated, data_dir, tmp_path / "backup")
    assert manifest == json.loads((tmp_path / "backup" / "manifest.json").read_text("utf-8"))
    kind = populated.url.get_backend_name()
    assert manifest["database"]["kind"] == kind
    assert manifest["database"]["revision"] == _rows_revision(populated)
    assert manifest["counts"]["household"] == 20 and "alembic_version" in manifest["counts"]
    written = {p.relative_to(tmp_path / "backup").as_posix()
               for p in (tmp_path / "backup").rglob("*") if p.is_file()}
    assert written == {*manifest["files"], "manifest.json"}  # no -wal or -journal beside
    for name, entry in manifest["files"].items():
        data = (tmp_path / "backup" / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert sorted(n.split("/")[1] for n in manifest["files"] if n.startswith("files/")) == [
        "evidence", "jobs", "uploads"]


def _rows_revision(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(text("SELECT version_num FROM alembic_version")))


@pytest.mark.parametrize("damaged", ["database", "evidence"])
def test_a_damaged_file_is_refused_by_name_before_anything_is_touched(
        populated: Engine, data_dir: Path, blank_target: str, tmp_path: Path,
        damaged: str) -> None:
    manifest = _backup(populated, data_dir, tmp_path / "backup")
    name = next(n for n in manifest["files"] if n.startswith(
        "database." if damaged == "database" else "files/evidence/"))
    path = tmp_path / "backup" / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ValidationFailed, match=f"{name} is corrupted"):
        restore.restore(principal=OPERATOR, source=tmp_path / "backup", url=blank_target,
                        data_dir=tmp_path / "restored-data")
    assert not (tmp_path / "restored-data").exists()
    if blank_target.startswith("postgresql"):
        assert _tables(blank_target) == []
    else:
        assert not Path(blank_target.removeprefix("sqlite:///")).exists()


def test_a_missing_file_is_refused_by_name(populated: Engine, data_dir: Path,
                                           blank_target: str, tmp_path: Path) -> None:
    _backup(populated, data_dir, tmp_path / "backup")
    (tmp_path / "backup" / "files" / "jobs" / "7" / "result.csv").unlink()
    with pytest.raises(ValidationFailed, match="files/jobs/7/result.csv is missing"):
        restore.restore(principal=OPERATOR, source=tmp_path / "backup", url=blank_target,
                        data_dir=tmp_path / "restored-data")


def test_a_target_holding_records_is_replaced_only_with_force(
        populated: Engine, data_dir: Path, migrated_target: str, tmp_path: Path) -> None:
    _backup(populated, data_dir, tmp_path / "backup")

    def restore_into(force: bool) -> restore.Report:
        return restore.restore(principal=OPERATOR, source=tmp_path / "backup",
                               url=migrated_target, data_dir=tmp_path / "restored-data",
                               force=force)

    assert restore_into(force=False).ok  # a migrated store without records is empty
    with pytest.raises(ValidationFailed, match="not empty: .*household"):
        restore_into(force=False)
    assert restore_into(force=True).ok


def test_a_counted_table_that_differs_fails_the_check(
        populated: Engine, data_dir: Path, blank_target: str, tmp_path: Path) -> None:
    _backup(populated, data_dir, tmp_path / "backup")
    path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest["counts"]["member"] += 1
    path.write_text(json.dumps(manifest), "utf-8")
    report = restore.restore(principal=OPERATOR, source=tmp_path / "backup", url=blank_target,
                             data_dir=tmp_path / "restored-data")
    assert not report.ok
    assert [c.name for c in report.checks if not c.ok] == ["counts"]
    assert "member: 40 (backup: 41)" in next(c.detail for c in report.checks if not c.ok)


def test_a_folder_that_holds_files_is_not_backed_up_into(populated: Engine, data_dir: Path,
                                                         tmp_path: Path) -> None:
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "notes.txt").write_text("mine")
    with pytest.raises(ValidationFailed, match="not an empty folder"):
        _backup(populated, data_dir, tmp_path / "backup")
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["notes.txt"]


def test_only_an_administrator_backs_up(populated: Engine, data_dir: Path,
                                        tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        backup.create(populated, principal=user(Role.COUNTY_OFFICER, "621121"),
                      data_dir=data_dir, out=tmp_path / "backup")
    assert not (tmp_path / "backup").exists()


def test_without_pg_dump_the_message_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data_dir: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")  # never connected
    with pytest.raises(ConfigurationError, match="pg_dump was not found on PATH.*"
                                                 "postgresql-client"):
        _backup(engine, data_dir, tmp_path / "backup")
    assert not (tmp_path / "backup").exists()
    (tmp_path / "pg").mkdir()
    (tmp_path / "pg" / "manifest.json").write_text(json.dumps(
        {"format": backup.FORMAT, "database": {"kind": "postgresql", "file": "database.dump"},
         "files": {}}))
    with pytest.raises(ConfigurationError, match="pg_restore was not found on PATH"):
        restore.restore(principal=OPERATOR, source=tmp_path / "pg",
                        url="postgresql+psycopg://nobody@127.0.0.1:9/none", data_dir=data_dir)


def test_a_backup_goes_back_into_a_store_of_its_own_kind_only(
        populated: Engine, data_dir: Path, tmp_path: Path) -> None:
    manifest = _backup(populated, data_dir, tmp_path / "backup")
    other = ("postgresql+psycopg://nobody@127.0.0.1:9/none"
             if manifest["database"]["kind"] == "sqlite" else f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValidationFailed, match="cannot be restored into"):
        restore.restore(principal=OPERATOR, source=tmp_path / "backup", url=other,
                        data_dir=tmp_path / "restored-data")


def test_a_manifest_pointing_outside_the_backup_is_refused(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(
        {"format": backup.FORMAT, "database": {"kind": "sqlite", "file": "database.sqlite"},
         "files": {"database.sqlite": {"sha256": "0", "size": 0},
                   "files/../../etc/passwd": {"sha256": "0", "size": 0}}}))
    with pytest.raises(ValidationFailed, match="outside the backup"):
        restore.restore(principal=OPERATOR, source=tmp_path / "b",
                        url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path / "d")


def test_a_backup_of_an_older_schema_restores_and_says_to_upgrade(
        data_dir: Path, tmp_path: Path) -> None:
    old = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(old, "0009")
    manifest = _backup(old, data_dir, tmp_path / "backup")
    old.dispose()
    report = restore.restore(principal=OPERATOR, source=tmp_path / "backup",
                             url=f"sqlite:///{tmp_path / 'new.db'}", data_dir=tmp_path / "d")
    assert manifest["database"]["revision"] == "0009"
    assert report.ok and report.upgrade_needed
