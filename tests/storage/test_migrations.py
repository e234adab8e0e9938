"""The migrations build exactly the schema the models describe, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.dialects import postgresql

from tuopin.storage import migrate
from tuopin.storage.db import make_engine
from tuopin.storage.models import Base, MemberRecord

# PostgreSQL-only prefix-search indexes (migration 0005), not declared in the models
PG_ONLY = {"ix_household_number_pattern", "ix_member_name_pattern"}
# Declared in the models for SQLite; on PostgreSQL the prefix-search index serves (0013)
SQLITE_ONLY = {"ix_member_name"}


def schema_differences(conn: Connection) -> list[tuple[Any, ...]]:
    """What the migrated schema lacks or adds against the models, but for the indexes
    that exist on one store only by design."""
    diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    postgresql = conn.dialect.name == "postgresql"
    return [d for d in diff if not (d[0] == "remove_index" and d[1].name in PG_ONLY)
            and not (postgresql and d[0] == "add_index" and d[1].name in SQLITE_ONLY)]


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        assert schema_differences(conn) == []


def test_postgresql_gets_the_prefix_search_indexes(pg_url: str) -> None:
    from tuopin.storage.db import make_engine

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
    engine.dispose()
    assert PG_ONLY <= names
    assert not SQLITE_ONLY & names


def test_a_member_found_by_name_on_postgresql_uses_the_prefix_index(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # an empty table: force the choice
        plans = {query: "\n".join(conn.execute(text(f"EXPLAIN {query}")).scalars())
                 for query in ("SELECT id FROM member WHERE name = '张三'",
                               "SELECT id FROM member WHERE name LIKE '张%'")}
    engine.dispose()
    for query, plan in plans.items():
        assert "ix_member_name_pattern" in plan, (query, plan)


def test_member_id_numbers_compare_byte_by_byte_on_postgresql(pg_url: str) -> None:
    # 0014: whatever the database's collation, ID numbers skip strcoll (the models say so
    # too, but alembic's comparison above does not look at collations)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        collation = conn.execute(text(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'member' AND column_name = 'id_number'")).scalar_one()
    engine.dispose()
    assert collation == "C"
    assert MemberRecord.__table__.c.id_number.type.dialect_impl(
        postgresql.dialect()).collation == "C"


def test_the_store_is_at_the_newest_revision(engine: Engine) -> None:
    assert migrate.is_current(engine)


def test_upgrading_twice_changes_nothing(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert migrate.is_current(engine)


def test_the_audit_chain_starts_at_genesis(engine: Engine) -> None:
    with engine.connect() as conn:
        head = conn.execute(text("SELECT last_id, last_hash FROM audit_head")).one()
    assert tuple(head) == (0, "0" * 64)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    from tuopin.storage.db import make_engine

    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_sqlite_reader_does_not_wait_for_a_writer(sqlite_url: str) -> None:
    from sqlalchemy import text

    from tuopin.storage.db import make_engine, readonly

    engine = make_engine(sqlite_url)
    with engine.begin() as writer:
        writer.execute(text("UPDATE audit_head SET last_id = last_id"))
        with readonly(engine).connect() as reader:  # would block 30 s under BEGIN IMMEDIATE
            assert reader.execute(text("SELECT last_id FROM audit_head")).scalar_one() == 0
    engine.dispose()


# Tables that migration 0007 adds, and the one it replaces (failed logins: throttle_event).
ADDED_IN_0007 = {"login_session", "throttle_event", "import_upload"}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_the_store_holds_sessions_throttles_and_uploads_but_no_login_failure(
    engine: Engine,
) -> None:
    tables = _tables(engine)
    assert ADDED_IN_0007 <= tables
    assert "login_failure" not in tables


@pytest.fixture
def blank(blank_db_url: str) -> Iterator[Engine]:
    """A store with no schema yet, on each backend."""
    engine = make_engine(blank_db_url)
    yield engine
    engine.dispose()


def test_a_store_at_0006_with_login_failures_upgrades_to_the_newest(blank: Engine) -> None:
    command.upgrade(migrate.alembic_config(blank), "0006")
    assert migrate.current_revision(blank) == "0006"
    with blank.begin() as conn:
        conn.execute(text("INSERT INTO login_failure (username, address, at) "
                          "VALUES ('alice', '10.0.0.1', 1700000000.0), "
                          "('alice', '10.0.0.2', 1700000001.5)"))
        conn.execute(text("INSERT INTO region (code, name, level) VALUES ('62', '甘肃省', 1)"))
    migrate.upgrade(blank)
    assert migrate.is_current(blank)
    tables = _tables(blank)
    assert "login_failure" not in tables  # the failures only held a 15-minute window
    assert ADDED_IN_0007 <= tables
    with blank.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM throttle_event")).scalar_one() == 0
        assert conn.execute(text("SELECT name FROM region")).scalars().all() == ["甘肃省"]
        assert schema_differences(conn) == []


def test_downgrading_0007_restores_login_failure(engine: Engine) -> None:
    command.downgrade(migrate.alembic_config(engine), "0006")
    assert migrate.current_revision(engine) == "0006"
    tables = _tables(engine)
    assert "login_failure" in tables
    assert not ADDED_IN_0007 & tables
    columns = {c["name"] for c in inspect(engine).get_columns("login_failure")}
    assert columns == {"id", "username", "address", "at"}
    indexes = {i["name"] for i in inspect(engine).get_indexes("login_failure")}
    assert "ix_login_failure_key" in indexes
    with engine.begin() as conn:  # usable as 0006 left it
        conn.execute(text("INSERT INTO login_failure (username, address, at) "
                          "VALUES ('bob', '10.0.0.3', 1700000000.0)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM login_failure")).scalars().all() == [
            "bob"]
    migrate.upgrade(engine)  # and up again
    assert migrate.is_current(engine)
    assert "login_failure" not in _tables(engine)


def test_the_head_read_from_the_files_is_alembics(tmp_path: Path) -> None:
    """is_current reads the newest revision without Alembic (its imports cost every command
    ~0.15 s): it must be the head Alembic finds."""
    engine = make_engine(f"sqlite:///{tmp_path / 'head.db'}")
    try:
        assert migrate.shipped_head() == migrate.head_revision(engine)
        assert migrate.current_revision(engine) is None and not migrate.is_current(engine)
    finally:
        engine.dispose()
