"""Importing registry files: all or nothing, every problem reported, idempotent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from factories import (
    OPERATOR,
    REGIONS,
    VILLAGE,
    households,
    members,
    operator,
    person_id,
    registry_files,
    surveys,
    write_csv,
)
from tuopin.domain.enums import HouseholdStatus
from tuopin.domain.errors import ValidationFailed
from tuopin.io.schema import REGISTRY_KINDS, Kind
from tuopin.services import audit
from tuopin.services.imports import files as imports
from tuopin.services.imports.files import ImportResult, import_file
from tuopin.services.registry.households import BY_PROCEDURE
from tuopin.storage.models import (
    AuditEventRecord,
    HelperAssignmentRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    SurveyRecord,
)

TODAY = date(2026, 11, 29)
IMPORTER = operator("test")


def run(engine: Engine, kind: Kind, path: Path, **options: object) -> ImportResult:
    return import_file(engine, principal=IMPORTER, kind=kind, path=path, today=TODAY,
                       **options)  # type: ignore[arg-type]


def count(engine: Engine, record: type) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(record)).scalar_one()


def load_all(engine: Engine, files: dict[str, Path]) -> dict[str, ImportResult]:
    results = {}
    for kind in REGISTRY_KINDS:
        results[kind.value] = run(engine, kind, files[kind.value])
        assert results[kind.value].ok, results[kind.value].problems
    return results


def test_a_clean_registry_imports_in_order(engine: Engine, tmp_path: Path) -> None:
    results = load_all(engine, registry_files(tmp_path, n=3))
    assert results["regions"].inserted == len(REGIONS)
    assert results["households"].inserted == 3
    assert results["members"].inserted == 6
    assert results["surveys"].inserted == 3
    assert results["helpers"].inserted == 1 + 3  # the helper and three assignments
    assert count(engine, HouseholdRecord) == 3
    assert count(engine, MemberRecord) == 6
    assert count(engine, SurveyRecord) == 3
    assert count(engine, HelperAssignmentRecord) == 3


def test_regions_get_level_parent_and_western_flag(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, registry_files(tmp_path))
    with Session(engine) as db:
        village = db.get(RegionRecord, VILLAGE)
        province = db.get(RegionRecord, "620000000000")
    assert village is not None and province is not None
    assert (village.level, village.parent_code) == (5, "621121001000")
    assert province.western is True and province.parent_code is None


def test_re_importing_the_same_files_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    files = registry_files(tmp_path)
    load_all(engine, files)
    events = count(engine, AuditEventRecord)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT number, version FROM household ORDER BY number")).all()
    again = load_all(engine, files)
    for result in again.values():
        assert (result.inserted, result.updated) == (0, 0)
        assert result.unchanged == result.rows or result.kind is Kind.HELPERS
    with engine.connect() as conn:
        after = conn.execute(text("SELECT number, version FROM household ORDER BY number")).all()
    assert after == before
    assert count(engine, AuditEventRecord) == events  # no change, no event


def test_a_changed_row_is_updated_and_its_version_moves(engine: Engine, tmp_path: Path) -> None:
    files = registry_files(tmp_path)
    load_all(engine, files)
    changed = households(3)
    changed[1]["address"] = "二组7号"
    result = run(engine, Kind.HOUSEHOLDS, write_csv(tmp_path / "h2.csv", changed))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    with Session(engine) as db:
        row = db.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == changed[1]["number"])).one()
    assert (row.address, row.status, row.version) == ("二组7号", "ordinary", 2)


def stored_households(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT number, status, year_identified, year_exited, address, version "
            "FROM household ORDER BY number")).all())


@pytest.mark.parametrize(("changes", "columns"), [
    ({"status": "monitored"}, ["status"]),
    ({"status": "已脱贫户", "year_exited": 2020}, ["status", "year_exited"]),
    ({"year_exited": 2020}, ["year_exited"]),
    ({"year_identified": 2016}, ["year_identified"]),
])
def test_it_refuses_a_re_import_that_changes_a_registered_households_status_or_years(
        engine: Engine, tmp_path: Path, changes: dict[str, object],
        columns: list[str]) -> None:
    load_all(engine, registry_files(tmp_path))
    before, events = stored_households(engine), count(engine, AuditEventRecord)
    changed = households(3)
    changed[1].update(changes, address="二组7号")  # an allowed change in the same row
    changed[2]["address"] = "三组1号"  # and another row that alone would be written
    result = run(engine, Kind.HOUSEHOLDS, write_csv(tmp_path / "h2.csv", changed))
    assert [(p.row, p.column, p.reason) for p in result.problems] == [
        (3, column, BY_PROCEDURE) for column in columns]
    assert not result.written and (result.inserted, result.updated) == (0, 0)
    assert stored_households(engine) == before
    assert count(engine, AuditEventRecord) == events


def test_skipping_invalid_rows_keeps_a_registered_households_status(
        engine: Engine, tmp_path: Path) -> None:
    load_all(engine, registry_files(tmp_path))
    changed = households(3)
    changed[0]["status"] = "ordinary"  # was poor
    changed[2]["address"] = "三组1号"
    result = run(engine, Kind.HOUSEHOLDS, write_csv(tmp_path / "h2.csv", changed),
                 skip_invalid=True)
    assert result.written and result.rejected_rows == [2] and result.updated == 1
    rows = {r[0]: r for r in stored_households(engine)}
    assert rows[str(changed[0]["number"])][1] == "poor"
    assert rows[str(changed[2]["number"])][4] == "三组1号"


@pytest.mark.parametrize("status", list(HouseholdStatus))
def test_it_imports_a_new_household_with_any_status(engine: Engine, tmp_path: Path,
                                                    status: HouseholdStatus) -> None:
    load_all(engine, registry_files(tmp_path))
    new = {"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": status.value,
           "year_identified": 2016, "year_exited": 2020 if status is not
           HouseholdStatus.POOR else None}
    result = run(engine, Kind.HOUSEHOLDS, write_csv(tmp_path / "new.csv", [new]))
    assert result.ok and result.written and result.inserted == 1
    with Session(engine) as db:
        home = db.scalars(select(HouseholdRecord).where(
            HouseholdRecord.number == new["number"])).one()
    assert (home.status, home.year_identified, home.year_exited) == (
        status.value, 2016, new["year_exited"])


def test_every_import_writes_one_audit_event_with_the_file_hash(
    engine: Engine, tmp_path: Path
) -> None:
    files = registry_files(tmp_path)
    results = load_all(engine, files)
    with Session(engine) as db:
        events = audit.history(db, principal=OPERATOR, entity="members")
        assert audit.verify(db, principal=OPERATOR).ok
    assert len(events) == 1
    assert events[0]["entity_id"] == results["members"].sha256
    assert events[0]["actor"] == "test"
    assert '"rows":6' in (events[0]["after"] or "")


def test_a_file_with_one_bad_row_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    files = registry_files(tmp_path)
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS):
        run(engine, kind, files[kind.value])
    rows = members([str(h["number"]) for h in households(3)])
    rows[3]["id_number"] = rows[3]["id_number"][:-1] + "0"  # wrong check character
    result = run(engine, Kind.MEMBERS, write_csv(tmp_path / "bad.csv", rows))
    assert not result.written
    assert [(p.row, p.column) for p in result.problems] == [(5, "id_number")]
    assert count(engine, MemberRecord) == 0


def test_a_dry_run_validates_and_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    files = registry_files(tmp_path)
    result = run(engine, Kind.REGIONS, files["regions"], dry_run=True)
    assert result.ok and not result.written and result.dry_run
    assert count(engine, RegionRecord) == 0
    assert count(engine, AuditEventRecord) == 0


def test_skip_invalid_writes_the_good_rows_only(engine: Engine, tmp_path: Path) -> None:
    files = registry_files(tmp_path)
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS):
        run(engine, kind, files[kind.value])
    rows = members([str(h["number"]) for h in households(3)])
    rows[0]["birth_date"] = "2月30日"
    result = run(engine, Kind.MEMBERS, write_csv(tmp_path / "m.csv", rows), skip_invalid=True)
    assert result.written
    assert result.rejected_rows == [2]
    assert result.inserted == 5
    assert count(engine, MemberRecord) == 5


def test_references_to_unknown_records_are_errors(engine: Engine, tmp_path: Path) -> None:
    result = run(engine, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", households(2)))
    assert {p.column for p in result.problems} == {"village_code"}
    assert "import the regions first" in result.problems[0].message("en")
    result = run(engine, Kind.MEMBERS, write_csv(tmp_path / "m.csv", members(["X1"])))
    assert {p.column for p in result.problems} == {"household_number"}
    result = run(engine, Kind.SURVEYS, write_csv(tmp_path / "s.csv", surveys(["X1"])))
    assert {p.column for p in result.problems} == {"household_number"}
    result = run(engine, Kind.HELPERS, write_csv(
        tmp_path / "p.csv", [{"number": "H1", "name": "王", "unit": "局", "households": "X1;X2"}]))
    assert [p.message("en") for p in result.problems] == [
        "Household X1 is not in the registry: import households first.",
        "Household X2 is not in the registry: import households first.",
    ]


def test_a_region_whose_parent_is_missing_is_refused(engine: Engine, tmp_path: Path) -> None:
    result = run(engine, Kind.REGIONS, write_csv(tmp_path / "r.csv", [
        {"code": "62", "name": "甘肃省"}, {"code": "621121", "name": "通渭县"}]))
    assert [(p.row, p.params["parent"]) for p in result.problems] == [(3, "621100000000")]


def test_an_id_number_of_another_household_names_both_places(
    engine: Engine, tmp_path: Path
) -> None:
    files = registry_files(tmp_path)
    load_all(engine, files)
    homes = [str(h["number"]) for h in households(3)]
    moved = [{"household_number": homes[1], "id_number": person_id(date(1970, 1, 1), 11),
              "name": "户主0", "relation": "spouse"}]
    result = run(engine, Kind.MEMBERS, write_csv(tmp_path / "dup.csv", moved))
    (problem,) = result.problems
    assert problem.row == 2 and problem.column == "id_number"
    assert problem.params["other"] == homes[0]
    assert homes[0] in problem.message("zh")


def test_a_second_head_against_the_database_is_refused(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, registry_files(tmp_path))
    home = str(households(1)[0]["number"])
    extra = [{"household_number": home, "id_number": person_id(date(1980, 5, 5), 31),
              "name": "新户主", "relation": "户主"}]
    result = run(engine, Kind.MEMBERS, write_csv(tmp_path / "head.csv", extra))
    assert [p.column for p in result.problems] == ["relation"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_chinese_headers_in_every_encoding_excel_writes(
    engine: Engine, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path / "r.csv", [{"区划代码": r["code"], "区划名称": r["name"]}
                                          for r in REGIONS], encoding=encoding)
    result = run(engine, Kind.REGIONS, path)
    assert result.ok and result.inserted == len(REGIONS)
    with Session(engine) as db:
        assert db.get(RegionRecord, VILLAGE).name == "东关村"  # type: ignore[union-attr]


@pytest.mark.parametrize("content", [b"", b"   \n", b"\x00\x01\x02", b'a,b\n"unterminated,1\n',
                                     b"\xff\xfe\xfa\xfb,\xc0\n"])
def test_bad_files_give_a_clear_error_and_write_nothing(
    engine: Engine, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationFailed) as caught:
        run(engine, Kind.REGIONS, path)
    assert caught.value.problems and caught.value.problems[0].message("zh")
    assert count(engine, RegionRecord) == 0


def test_a_header_that_matches_nothing_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [{"foo": 1, "bar": 2}])
    with pytest.raises(ValidationFailed, match="matches no column"):
        run(engine, Kind.HOUSEHOLDS, path)


def test_an_xlsx_template_filled_in_imports(engine: Engine, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from tuopin.io.template import write_template

    path = tmp_path / "regions.xlsx"
    write_template(Kind.REGIONS, path)
    book = load_workbook(path)
    sheet = book.worksheets[0]
    for i, region in enumerate(REGIONS, start=2):
        sheet.cell(i, 1, region["code"])
        sheet.cell(i, 2, region["name"])
    book.save(path)
    result = run(engine, Kind.REGIONS, path)
    assert result.ok and result.inserted == len(REGIONS)


def test_a_large_import_refreshes_the_planners_statistics(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    analyzed: list[tuple[str, ...]] = []
    monkeypatch.setattr("tuopin.services.imports.files.ANALYZE_AFTER_ROWS", 2)
    monkeypatch.setattr("tuopin.storage.bulk.analyze",
                        lambda conn, tables: analyzed.append(tables))
    files = registry_files(tmp_path, n=3)
    assert run(engine, Kind.REGIONS, files["regions"]).ok
    assert run(engine, Kind.HOUSEHOLDS, files["households"]).ok
    assert ("household",) in analyzed
    analyzed.clear()
    run(engine, Kind.HOUSEHOLDS, files["households"])  # nothing changes: nothing to refresh
    assert analyzed == []


def planner_rows(engine: Engine, table: str) -> int | None:
    """How many rows the planner's statistics of ``table`` say it holds (None: it has none,
    it was never analysed). SQLite keeps them in main.sqlite_stat1 (temp.sqlite_stat1 holds
    the staging tables'), PostgreSQL in pg_statistic (pg_stats) and pg_class.reltuples; both
    are written by ANALYZE in its transaction, and nothing else fills them for a table of a
    few rows (autovacuum analyses a table after 50 changed rows)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            if not conn.execute(text("SELECT count(*) FROM main.sqlite_master "
                                     "WHERE name = 'sqlite_stat1'")).scalar_one():
                return None
            stats = conn.execute(text("SELECT stat FROM main.sqlite_stat1 WHERE tbl = :t"),
                                 {"t": table}).scalars().all()
            return max(int(s.split()[0]) for s in stats) if stats else None
        if not conn.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = :t "
                                 "AND schemaname = current_schema()"), {"t": table}).scalar_one():
            return None
        return int(conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t "
                                     "AND relnamespace = current_schema()::regnamespace"),
                                {"t": table}).scalar_one())


@pytest.mark.parametrize(("threshold", "expected"), [(2, 3), (10_000, None)],
                         ids=["large", "small"])
def test_the_planner_statistics_of_the_imported_table_are_refreshed_after_a_large_import(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int,
        expected: int | None) -> None:
    monkeypatch.setattr(imports, "ANALYZE_AFTER_ROWS", threshold)
    files = registry_files(tmp_path, n=3)
    assert run(engine, Kind.REGIONS, files["regions"]).ok
    assert planner_rows(engine, "household") is None
    assert run(engine, Kind.HOUSEHOLDS, files["households"]).inserted == 3
    assert planner_rows(engine, "household") == expected  # small: left to autovacuum


def test_refreshing_the_statistics_runs_on_both_databases(engine: Engine,
                                                          tmp_path: Path) -> None:
    from tuopin.storage import bulk

    load_all(engine, registry_files(tmp_path, n=3))  # too few rows to refresh anything
    tables = {"household": 3, "helper": 1, "helper_assignment": 3}
    assert {t: planner_rows(engine, t) for t in tables} == dict.fromkeys(tables)
    with engine.begin() as conn:
        bulk.analyze(conn, tuple(tables))
    assert {t: planner_rows(engine, t) for t in tables} == tables


def test_no_check_asks_not_in_a_subquery(engine: Engine, tmp_path: Path) -> None:
    """NOT IN (SELECT …) is hashed by PostgreSQL only while it fits in work_mem: with a real
    registry's statistics it compares every staged row with every registered one (an import
    of 1.8M members ran for 9 minutes before it was stopped). NOT EXISTS is an anti-join."""
    from sqlalchemy import event

    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(" ".join(statement.upper().split()))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        load_all(engine, registry_files(tmp_path, n=3))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "NOT IN (SELECT" in s]
