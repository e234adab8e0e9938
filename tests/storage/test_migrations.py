"""The migrations build exactly the schema the models describe, on both stores."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from tuopin.storage import migrate
from tuopin.storage.models import Base

# PostgreSQL-only prefix-search indexes (migration 0005), not declared in the models
PG_ONLY = {"ix_household_number_pattern", "ix_member_name_pattern"}


def test_the_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    diff = [d for d in diff if not (d[0] == "remove_index" and d[1].name in PG_ONLY)]
    assert diff == []


def test_postgresql_gets_the_prefix_search_indexes(pg_url: str) -> None:
    from tuopin.storage.db import make_engine

    engine = make_engine(pg_url)
    with engine.connect() as conn:
        names = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
    engine.dispose()
    assert PG_ONLY <= names


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
