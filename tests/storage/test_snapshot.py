"""Parquet snapshots: same rows and canonical types from SQLite and PostgreSQL, all or nothing."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select, text, update

from factories import operator
from tuopin.domain.errors import NotFound, ValidationFailed
from tuopin.services.imports.synthetic import load_synthetic
from tuopin.storage import arrow_stream, snapshot
from tuopin.storage.models import MemberRecord
from tuopin.storage.snapshot import (
    MANIFEST,
    PARTITION,
    PARTITIONED,
    TABLES,
    arrow_schema,
    read_manifest,
    write_snapshot,
)
from tuopin.synth.config import SynthConfig

# Small villages and counties, so 300 households span three counties.
SYNTH = SynthConfig(households=300, seed=5, households_per_village=20,
                    villages_per_township=3, townships_per_county=2)
TAKEN_AT = datetime(2026, 11, 29, 16, 30, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def store(engine: Engine, today: date) -> Engine:
    load_synthetic(engine, principal=operator("test"), config=SYNTH, today=today)
    return engine


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for snapshots (the SQLite store sits in ``tmp_path`` itself)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _store_rows(engine: Engine, name: str) -> list[dict[str, Any]]:
    table = TABLES[name]
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(table))]


def _snapshot_rows(path: Path, name: str) -> list[dict[str, Any]]:
    return pq.read_table(path / name, partitioning=None).to_pylist()


def _key(row: dict[str, Any]) -> Any:
    return row.get("id", row.get("code"))


def test_a_snapshot_holds_every_row_with_the_store_values(store: Engine, out: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    manifest = write_snapshot(url, out / "snap", taken_at=TAKEN_AT)
    for name in TABLES:
        want = sorted(_store_rows(store, name), key=_key)
        got = sorted(_snapshot_rows(out / "snap", name), key=_key)
        assert manifest.rows[name] == len(want) > 0
        assert len(got) == len(want)
        for mine, theirs in zip(got, want, strict=True):
            assert mine.keys() == theirs.keys()
            for column, value in theirs.items():
                if isinstance(value, float):
                    assert math.isclose(mine[column], value, rel_tol=1e-12), column
                else:
                    assert mine[column] == value and type(mine[column]) is type(value), column


def test_every_file_has_the_canonical_types_whatever_the_store(
    store: Engine, out: Path,
) -> None:
    write_snapshot(store.url.render_as_string(hide_password=False), out / "snap",
                   taken_at=TAKEN_AT)
    files = sorted((out / "snap").rglob("*.parquet"))
    assert files
    for file in files:
        name = file.relative_to(out / "snap").parts[0]
        assert pq.read_schema(file).remove_metadata() == arrow_schema(name), file
    member = arrow_schema("member")
    assert member.field("birth_date").type == pa.date32()
    assert member.field("dibao").type == pa.bool_()
    assert member.field("id").type == member.field("household_id").type == pa.int64()
    assert member.field("version").type == pa.int32()
    assert arrow_schema("survey").field("wage_income").type == pa.float64()
    assert not member.field("birth_date").nullable and member.field("deceased_date").nullable


def test_households_members_and_surveys_are_partitioned_by_county(
    store: Engine, out: Path,
) -> None:
    write_snapshot(store.url.render_as_string(hide_password=False), out / "snap",
                   taken_at=TAKEN_AT)
    with store.connect() as conn:
        villages = conn.execute(text("SELECT DISTINCT village_code FROM household")).scalars()
        counties = {v[:6] + "000000" for v in villages}
    assert len(counties) >= 2
    assert [p.name for p in (out / "snap" / "region").iterdir()] == ["part-0.parquet"]
    for name in PARTITIONED:
        folders = {p.name for p in (out / "snap" / name).iterdir()}
        assert folders == {f"{PARTITION}={c}" for c in counties}, name
    # each member sits in the folder of its household's county
    hive = ds.partitioning(pa.schema([(PARTITION, pa.string())]), flavor="hive")
    homes = ds.dataset(out / "snap" / "household", partitioning=hive).to_table()
    members = ds.dataset(out / "snap" / "member", partitioning=hive).to_table()
    county_of = {h["id"]: h[PARTITION] for h in homes.to_pylist()}
    assert all(h[PARTITION] == h["village_code"][:6] + "000000" for h in homes.to_pylist())
    assert all(county_of[m["household_id"]] == m[PARTITION] for m in members.to_pylist())


def test_the_manifest_tells_when_what_and_from_which_schema_without_the_url(
    store: Engine, out: Path,
) -> None:
    url = store.url.render_as_string(hide_password=False)
    manifest = write_snapshot(url, out / "snap", taken_at=TAKEN_AT)
    data = json.loads((out / "snap" / MANIFEST).read_text())
    assert data["taken_at"] == "2026-11-29T08:30:00+00:00"
    assert data["backend"] == store.url.get_backend_name()
    with store.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert data["alembic_revision"] == revision
    assert data["rows"] == manifest.rows and data["tuopin_version"]
    assert url not in json.dumps(data) and str(store.url.host) not in json.dumps(data)
    assert read_manifest(out / "snap") == manifest


def test_a_crash_midway_leaves_nothing_that_looks_like_a_snapshot(
    store: Engine, out: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = snapshot._write_table

    def crash_on_members(source: Any, name: str, folder: Path) -> int:
        if name == "member":
            raise RuntimeError("disk full")
        return real(source, name, folder)

    monkeypatch.setattr(snapshot, "_write_table", crash_on_members)
    with pytest.raises(RuntimeError, match="disk full"):
        write_snapshot(store.url.render_as_string(hide_password=False), out / "snap",
                       taken_at=TAKEN_AT)
    assert list(out.iterdir()) == []  # neither the target nor the work folder


def test_a_snapshot_killed_before_its_cleanup_leaves_only_a_hidden_partial_folder(
    store: Engine, out: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A kill skips every except clause: pretend so by making the write fail and the
    # cleanup do nothing.
    monkeypatch.setattr(snapshot.shutil, "rmtree", lambda *a, **k: None)
    monkeypatch.setattr(snapshot, "_move_into_place", _fail)
    with pytest.raises(RuntimeError):
        write_snapshot(store.url.render_as_string(hide_password=False), out / "snap",
                       taken_at=TAKEN_AT)
    (left,) = out.iterdir()
    assert left.name.startswith(".snap.partial-")
    assert not (out / "snap").exists()


def _fail(*args: Any) -> None:
    raise RuntimeError("killed")


def test_a_crashed_snapshot_keeps_the_earlier_one_whole(
    store: Engine, out: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = store.url.render_as_string(hide_password=False)
    first = write_snapshot(url, out / "snap", taken_at=TAKEN_AT)
    monkeypatch.setattr(snapshot, "_write_table", lambda *a: _fail())
    with pytest.raises(RuntimeError):
        write_snapshot(url, out / "snap", taken_at=TAKEN_AT + timedelta(days=1))
    assert read_manifest(out / "snap") == first
    assert [p.name for p in out.iterdir()] == ["snap"]


def test_a_new_snapshot_replaces_an_earlier_one(store: Engine, out: Path) -> None:
    url = store.url.render_as_string(hide_password=False)
    write_snapshot(url, out / "snap", taken_at=TAKEN_AT)
    later = TAKEN_AT + timedelta(days=1)
    assert write_snapshot(url, out / "snap", taken_at=later).taken_at == later
    assert read_manifest(out / "snap").taken_at == later
    assert [p.name for p in out.iterdir()] == ["snap"]


def test_it_refuses_to_overwrite_a_folder_that_is_not_a_snapshot(
    sqlite_url: str, out: Path,
) -> None:
    (out / "mine").mkdir()
    (out / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValidationFailed, match="not a snapshot"):
        write_snapshot(sqlite_url, out / "mine", taken_at=TAKEN_AT)
    assert (out / "mine" / "notes.txt").read_text() == "keep me"


def test_it_refuses_a_time_without_a_zone(sqlite_url: str, out: Path) -> None:
    with pytest.raises(ValidationFailed, match="time zone"):
        write_snapshot(sqlite_url, out / "snap", taken_at=datetime(2026, 11, 29))


def test_a_missing_sqlite_file_is_not_created(out: Path) -> None:
    with pytest.raises(NotFound):
        write_snapshot(f"sqlite:///{out / 'none.db'}", out / "snap",
                       taken_at=TAKEN_AT)
    assert list(out.iterdir()) == []


def test_a_partial_folder_has_no_manifest_to_read(out: Path) -> None:
    with pytest.raises(NotFound, match="no complete snapshot"):
        read_manifest(out)


def test_an_empty_store_gives_empty_tables_with_their_columns(
    db_url: str, out: Path,
) -> None:
    manifest = write_snapshot(db_url, out / "snap", taken_at=TAKEN_AT)
    assert manifest.rows == dict.fromkeys(TABLES, 0)
    for name in TABLES:
        table = pq.read_table(out / "snap" / name)
        assert table.num_rows == 0 and table.schema.remove_metadata() == arrow_schema(name)


def test_sqlite_columns_that_start_null_keep_their_type(
    store: Engine, out: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A column NULL in the first batch and a date later once failed the snapshot (ADBC's
    # SQLite driver guessed types from the first batch): types come from the schema.
    monkeypatch.setattr(arrow_stream, "SQLITE_ROWS", 3)
    with store.begin() as conn:
        conn.execute(update(MemberRecord).values(deceased_date=None, ethnicity=None))
        last = conn.execute(select(MemberRecord.id).order_by(MemberRecord.id.desc())).scalar()
        conn.execute(update(MemberRecord).where(MemberRecord.id == last)
                     .values(deceased_date=date(2020, 5, 1), ethnicity="hui"))
    write_snapshot(store.url.render_as_string(hide_password=False), out / "snap",
                   taken_at=TAKEN_AT)
    members = {m["id"]: m for m in _snapshot_rows(out / "snap", "member")}
    assert members[last]["deceased_date"] == date(2020, 5, 1)
    assert members[last]["ethnicity"] == "hui"
    assert sum(m["deceased_date"] is not None for m in members.values()) == 1


def test_taken_at_is_kept_in_utc(sqlite_url: str, out: Path) -> None:
    manifest = write_snapshot(sqlite_url, out / "snap", taken_at=TAKEN_AT)
    assert manifest.taken_at == TAKEN_AT and manifest.taken_at.tzinfo == UTC
