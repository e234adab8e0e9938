"""A store written by every earlier release upgrades to the newest schema without losing a
record, on SQLite and on PostgreSQL.

Each fixture in ``upgrades/`` holds every row of a small county as the code of one revision
wrote it (``upgrades/make_fixture.py`` made it, once, from that revision's commit). The test
migrates an empty store to that revision, loads the rows exactly as they were, upgrades to
the head and compares: the same rows in every table, the same values in every column that
survived, and an audit chain that still verifies.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Engine,
    Float,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.types import TypeEngine

from tuopin.services import audit
from tuopin.services.access.principal import Principal
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory

FIXTURES = Path(__file__).parent / "upgrades"
REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.M)

# Tables a migration drops on purpose, and why (their rows are not expected at the head).
DROPPED = {
    "login_failure": "0007: failed logins only held a 15-minute window (now throttle_event)",
}


def shipped_revisions() -> list[str]:
    folder = resources.files("tuopin.storage") / "migrations" / "versions"
    found = (REVISION.search(entry.read_text(encoding="utf-8"))
             for entry in folder.iterdir() if re.match(r"\d{4}_.*\.py$", entry.name))
    return sorted(match.group(1) for match in found if match)


def fixture_files() -> dict[str, Path]:
    return {path.name.split(".")[0]: path for path in sorted(FIXTURES.glob("*.json*"))}


@cache
def fixture(revision: str) -> dict[str, Any]:
    path = fixture_files()[revision]
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw)


def stored(value: Any) -> Any:
    """A fixture cell as SQLite held it (bytes travel as base64)."""
    return base64.b64decode(value["base64"]) if isinstance(value, dict) else value


def typed(kind: TypeEngine[Any], value: Any) -> Any:
    """A fixture cell (as SQLite held it) as a value of ``kind`` for a server database."""
    value = stored(value)
    if value is None:
        return None
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Date):
        return date.fromisoformat(str(value)[:10])
    if isinstance(kind, Float):
        return float(value)
    if isinstance(kind, Numeric):
        return Decimal(str(value))
    if isinstance(kind, LargeBinary):
        return bytes(value)
    return value


def reflect(conn: Connection) -> MetaData:
    metadata = MetaData()
    metadata.reflect(conn)
    return metadata


def load(engine: Engine, tables: dict[str, Any]) -> None:
    """Every row of ``tables``, parents before children, ids as they were; the rows that
    the migrations themselves wrote (the audit chain's genesis head) make way for them."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        ordered = reflect(conn).sorted_tables
        for table in reversed(ordered):
            if table.name in tables:
                conn.execute(table.delete())
        for table in ordered:
            data = tables.get(table.name)
            if not data or not data["rows"]:
                continue
            names = data["columns"]
            if sqlite:  # the very bytes the old code stored, not a conversion of them
                quoted = ", ".join(f'"{name}"' for name in names)
                marks = ", ".join("?" for _ in names)
                conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})',
                                     [tuple(stored(v) for v in row) for row in data["rows"]])
            else:
                conn.execute(table.insert(), [
                    {name: typed(table.c[name].type, v) for name, v in zip(names, row, strict=True)}
                    for row in data["rows"]])
                _restart_sequence(conn, table)


def _restart_sequence(conn: Connection, table: Table) -> None:
    """Explicit ids leave a serial's sequence at 1: move it past them (as a restore does)."""
    for column in table.primary_key.columns:
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                {"t": f'"{table.name}"', "c": column.name}).scalar()
        if sequence:
            conn.execute(text(f"SELECT setval('{sequence}', (SELECT max(\"{column.name}\") "
                              f'FROM "{table.name}"))'))


def rows_at_head(conn: Connection, table: Table, names: list[str]) -> dict[tuple, tuple]:
    """The table's rows by primary key, ``names`` only (raw on SQLite, typed elsewhere)."""
    keys = [c.name for c in table.primary_key.columns] or names
    columns = [table.c[n] for n in names]
    if conn.dialect.name == "sqlite":
        quoted = ", ".join(f'"{n}"' for n in names)
        found = conn.exec_driver_sql(f'SELECT {quoted} FROM "{table.name}"').all()
    else:
        found = conn.execute(select(*columns)).all()
    return {tuple(row[names.index(k)] for k in keys): tuple(row) for row in found}


def expected_rows(conn: Connection, table: Table, data: dict[str, Any],
                  names: list[str]) -> dict[tuple, tuple]:
    keys = [c.name for c in table.primary_key.columns] or names
    sqlite = conn.dialect.name == "sqlite"
    result = {}
    for row in data["rows"]:
        cells = dict(zip(data["columns"], row, strict=True))
        values = tuple(stored(cells[n]) if sqlite else typed(table.c[n].type, cells[n])
                       for n in names)
        result[tuple(values[names.index(k)] for k in keys)] = values
    return result


def _spot_check(conn: Connection, head: Any, tables: dict[str, Any]) -> None:
    """Spelled out for what a county would miss first: a household's number and income and
    its members' ID numbers (the comparison of every row covers them too)."""
    def cells(name: str, row: list[Any]) -> dict[str, Any]:
        return dict(zip(tables[name]["columns"], row, strict=True))

    household = cells("household", tables["household"]["rows"][-1])
    survey = next(s for s in (cells("survey", r) for r in tables["survey"]["rows"])
                  if s["household_id"] == household["id"])
    members = sorted(m["id_number"] for m in (cells("member", r) for r in tables["member"]["rows"])
                     if m["household_id"] == household["id"])
    number, income = conn.execute(
        text("SELECT h.number, s.wage_income FROM household h JOIN survey s ON "
             "s.household_id = h.id WHERE h.id = :id AND s.year = :year"),
        {"id": household["id"], "year": survey["year"]}).one()
    id_numbers = conn.execute(text("SELECT id_number FROM member WHERE household_id = :id "
                                   "ORDER BY id_number"), {"id": household["id"]}).scalars()
    income_type = head["survey"].c.wage_income.type
    assert (number, income) == (household["number"], typed(income_type, survey["wage_income"]))
    assert members and list(id_numbers) == members


@pytest.fixture
def blank(blank_db_url: str) -> Iterator[Engine]:
    engine = make_engine(blank_db_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("revision", sorted(fixture_files()))
def test_a_store_written_at_an_earlier_revision_upgrades_with_every_record(
    revision: str, blank: Engine,
) -> None:
    data = fixture(revision)
    assert data["revision"] == revision
    command.upgrade(migrate.alembic_config(blank), revision)
    load(blank, data["tables"])

    migrate.upgrade(blank)

    assert migrate.is_current(blank)
    with blank.connect() as conn:
        head = reflect(conn).tables
        for name, table_data in data["tables"].items():
            if name in DROPPED:
                assert name not in head, DROPPED[name]
                continue
            table = head[name]
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == len(
                table_data["rows"]), name
            kept = [n for n in table_data["columns"] if n in table.c]
            assert rows_at_head(conn, table, kept) == expected_rows(conn, table, table_data,
                                                                    kept), name
        _spot_check(conn, head, data["tables"])
    with session_factory(blank)() as db:
        chain = audit.verify(db, principal=Principal.of_operator("test"))
    assert chain.ok, chain.detail
    assert chain.events == len(data["tables"]["audit_event"]["rows"])


def test_every_revision_has_a_fixture() -> None:
    """A new migration comes with the store its code writes (docs/contributing.md):
    ``python tests/storage/upgrades/make_fixture.py NNNN``."""
    missing = sorted(set(shipped_revisions()) - set(fixture_files()))
    assert not missing, f"make_fixture.py {' '.join(missing)}: no upgrade fixture for them"
    assert set(fixture_files()) <= set(shipped_revisions())


@pytest.mark.parametrize("revision", sorted(fixture_files()))
def test_a_fixture_stays_small(revision: str) -> None:
    assert fixture_files()[revision].stat().st_size < 256 * 1024
