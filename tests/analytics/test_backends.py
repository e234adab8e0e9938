"""Backends: canonical schemas that match the models, and how each engine is opened and closed."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pytest
from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, SmallInteger, String

from tuopin.analytics import backends
from tuopin.analytics.backends import (
    CANONICAL,
    MANIFEST,
    close,
    conform,
    open_snapshot,
    open_store,
    spark_session,
)
from tuopin.domain.errors import ConfigurationError, NotFound, ValidationFailed
from tuopin.storage import snapshot
from tuopin.storage.snapshot import TABLES, arrow_schema, write_snapshot

TAKEN_AT = datetime(2026, 11, 29, tzinfo=UTC)
TYPES = [(BigInteger, "int64"), (Integer, "int32"), (Boolean, "boolean"), (Date, "date"),
         (Float, "float64"), (String, "string")]  # BigInteger before its base Integer


def _ibis_type(column: Any) -> str:
    name = next(name for kind, name in TYPES if isinstance(column.type, kind))
    return name if column.nullable else f"!{name}"


@pytest.mark.parametrize("name", list(TABLES))
def test_the_canonical_schema_matches_the_models(name: str) -> None:
    models = ibis.schema({c.name: _ibis_type(c) for c in TABLES[name].columns})
    assert CANONICAL[name] == models


@pytest.mark.parametrize("name", list(TABLES))
def test_the_canonical_schema_matches_the_snapshot_files(name: str) -> None:
    assert ibis.Schema.from_pyarrow(arrow_schema(name)) == CANONICAL[name]


def test_analytics_and_storage_agree_on_the_snapshot_layout() -> None:
    assert (backends.MANIFEST, backends.PARTITION) == (snapshot.MANIFEST, snapshot.PARTITION)
    assert set(CANONICAL) == set(TABLES)


def test_the_store_shows_the_canonical_schemas(db_url: str) -> None:
    registry = open_store(db_url)
    try:
        assert registry.engine == ("sqlite" if db_url.startswith("sqlite") else "postgres")
        for name, schema in CANONICAL.items():
            assert getattr(registry, name).schema() == schema, name
    finally:
        close(registry)


@pytest.mark.parametrize("name", list(TABLES))
def test_only_real_type_changes_become_casts_so_keys_keep_their_indexes(
    db_url: str, name: str,
) -> None:
    registry = open_store(db_url)
    try:
        sql = ibis.to_sql(getattr(registry, name))
    finally:
        close(registry)
    cast = set(re.findall(r'CAST\("t0"\."(\w+)"', sql))
    if registry.engine == "postgres":  # smallint arithmetic overflows: really widen it
        assert cast == {c.name for c in TABLES[name].columns if isinstance(c.type, SmallInteger)}
    else:  # SQLite keeps every integer in 64 bits, so int32 is only a label there
        assert cast == set()


def test_an_empty_snapshot_opens_on_duckdb_with_the_canonical_schemas(
    sqlite_url: str, tmp_path: Path,
) -> None:
    write_snapshot(sqlite_url, tmp_path / "snap", taken_at=TAKEN_AT)
    registry = open_snapshot(tmp_path / "snap")
    try:
        assert registry.engine == "duckdb"
        for name, schema in CANONICAL.items():
            table = getattr(registry, name)
            assert table.schema() == schema and table.count().execute() == 0, name
    finally:
        close(registry)


def test_a_folder_without_a_manifest_is_not_a_snapshot(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=MANIFEST):
        open_snapshot(tmp_path)


@pytest.mark.parametrize("engine", ["sqlite", "pandas", ""])
def test_a_snapshot_opens_only_on_duckdb_or_spark(tmp_path: Path, engine: str) -> None:
    with pytest.raises(ValidationFailed, match="duckdb or spark"):
        open_snapshot(tmp_path, engine=engine)


def test_a_spark_master_must_look_like_one(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("{}")
    with pytest.raises(ValidationFailed, match="spark://"):
        open_snapshot(tmp_path, engine="spark", master="127.0.0.1:7077")


def test_a_missing_sqlite_store_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        open_store(f"sqlite:///{tmp_path / 'none.db'}")
    assert list(tmp_path.iterdir()) == []


def test_a_store_of_another_kind_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="mysql"):
        open_store("mysql://user@host/db")


def test_a_table_that_lacks_a_column_is_refused_by_name() -> None:
    con = ibis.duckdb.connect()
    table = con.create_table("region", schema=ibis.schema({"code": "string", "name": "string"}))
    with pytest.raises(ConfigurationError, match="level, parent_code, western"):
        conform(table, "region", engine="duckdb")
    con.disconnect()


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_the_spark_session_is_one_per_process_in_utc_with_a_temporary_warehouse(
    spark: Any,
) -> None:
    assert spark_session() is spark
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    warehouse = spark.conf.get("spark.sql.warehouse.dir")
    assert Path(warehouse.removeprefix("file:")).is_relative_to(tempfile.gettempdir())
    with pytest.raises(ConfigurationError, match="one session per process"):
        spark_session("spark://127.0.0.1:7077")


@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_closing_a_spark_registry_drops_its_views_and_keeps_the_session(
    spark: Any, sqlite_url: str, tmp_path: Path,
) -> None:
    write_snapshot(sqlite_url, tmp_path / "snap", taken_at=TAKEN_AT)
    registry = open_snapshot(tmp_path / "snap", engine="spark")
    for name, schema in CANONICAL.items():
        assert getattr(registry, name).schema() == schema, name
    assert registry.member.count().execute() == 0
    assert set(registry.views) <= {t.name for t in spark.catalog.listTables()}
    close(registry)
    assert not set(registry.views) & {t.name for t in spark.catalog.listTables()}
    assert spark_session() is spark
