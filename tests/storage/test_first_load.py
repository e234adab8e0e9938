"""A first load into an empty table builds its indexes after the rows, and keeps them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, Table, func, select

from factories import operator, registry_files
from tuopin.io.schema import REGISTRY_KINDS, Kind
from tuopin.services.imports.files import import_file
from tuopin.storage import first_load
from tuopin.storage.models import MemberRecord

TODAY = date(2026, 11, 29)
IMPORTER = operator("test")


def _schema(engine: Engine) -> list[tuple[str, ...]]:
    """Every index and constraint of the store, as its database describes it."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master "
                "WHERE type = 'index' OR type = 'table' ORDER BY name")
        else:
            rows = conn.exec_driver_sql(
                "SELECT 'index', indexname, tablename, indexdef FROM pg_indexes "
                "WHERE schemaname = 'public' UNION ALL "
                "SELECT 'constraint', conname, conrelid::regclass::text, "
                "pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = 'public'::regnamespace ORDER BY 2, 1, 3")
        return [tuple(row) for row in rows]


def _load(engine: Engine, files: dict[str, Path], **options: object) -> dict[Kind, object]:
    results = {}
    for kind in REGISTRY_KINDS:
        results[kind] = import_file(engine, principal=IMPORTER, kind=kind,
                                    path=files[kind.value], today=TODAY, **options)
    return results


@pytest.fixture
def every_load_is_big(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Lowers the threshold to one row; lists the tables loaded bare."""
    monkeypatch.setattr(first_load, "FIRST_LOAD_ROWS", 1)
    loaded: list[str] = []
    bare = first_load.indexes_after

    def spied(conn: Connection, target: Table):  # type: ignore[no-untyped-def]
        loaded.append(target.name)
        return bare(conn, target)

    monkeypatch.setattr(first_load, "indexes_after", spied)
    return loaded


def test_a_first_load_writes_every_row_and_puts_every_index_back(
        engine: Engine, tmp_path: Path, every_load_is_big: list[str]) -> None:
    before = _schema(engine)
    results = _load(engine, registry_files(tmp_path, n=4))
    assert {"region", "household", "member", "survey", "helper"} <= set(every_load_is_big)
    assert all(r.written and r.ok for r in results.values())  # type: ignore[attr-defined]
    assert results[Kind.MEMBERS].inserted == 8  # type: ignore[attr-defined]
    assert _schema(engine) == before
    # and a second import of the same files, over full tables, changes nothing
    again = _load(engine, registry_files(tmp_path, n=4))
    assert [r.inserted + r.updated for r in again.values()] == [0] * len(again)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("every_load_is_big")
def test_a_first_load_rolled_back_leaves_the_indexes_as_they_were(
        engine: Engine, tmp_path: Path) -> None:
    before = _schema(engine)
    files = registry_files(tmp_path, n=2)
    for kind in REGISTRY_KINDS[:2]:
        assert import_file(engine, principal=IMPORTER, kind=kind, path=files[kind.value],
                           today=TODAY).written
    result = import_file(engine, principal=IMPORTER, kind=Kind.MEMBERS,
                         path=files["members"], today=TODAY, dry_run=True)
    assert result.preview is not None and result.preview.inserted == 4
    assert _schema(engine) == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(MemberRecord)).scalar_one() == 0


def test_a_load_of_fewer_rows_than_the_threshold_takes_the_ordinary_merge(engine: Engine) -> None:
    table = MemberRecord.__table__
    with engine.begin() as conn:
        assert not first_load.applies(conn, table, first_load.FIRST_LOAD_ROWS - 1)  # type: ignore[arg-type]
        assert first_load.applies(conn, table, first_load.FIRST_LOAD_ROWS)  # type: ignore[arg-type]
