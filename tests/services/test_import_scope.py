"""Importing within a region: rows outside the importer's scope are problems, never written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import (
    COUNTY,
    OTHER_VILLAGE,
    REGIONS,
    VILLAGE,
    households,
    members,
    person_id,
    surveys,
    write_csv,
)
from tuopin.domain.scope import Scope
from tuopin.io.schema import Kind
from tuopin.services.imports.files import ImportResult, import_file, import_in_session
from tuopin.storage.models import (
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    SurveyRecord,
)

TODAY = date(2026, 11, 29)
CADRE = Scope(VILLAGE)  # a village cadre of VILLAGE
MINE = [f"{VILLAGE}{i:04d}" for i in (1, 2)]
OTHERS = [f"{OTHER_VILLAGE}{i:04d}" for i in (1,)]


def run(engine: Engine, kind: Kind, path: Path, **options: object) -> ImportResult:
    return import_file(engine, kind=kind, path=path, actor="test", today=TODAY,
                       **options)  # type: ignore[arg-type]


def count(engine: Engine, record: type, *where: object) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(record).where(*where)  # type: ignore[arg-type]
        return conn.execute(query).scalar_one()


def problems(result: ImportResult) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message("en")) for p in result.problems]


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Engine:
    """Two households in VILLAGE and one in OTHER_VILLAGE; H001 helps one of each village."""
    homes = households(2, VILLAGE) + households(1, OTHER_VILLAGE)
    numbers = [str(h["number"]) for h in homes]
    files = {
        Kind.REGIONS: write_csv(tmp_path / "regions.csv", REGIONS),
        Kind.HOUSEHOLDS: write_csv(tmp_path / "households.csv", homes),
        Kind.MEMBERS: write_csv(tmp_path / "members.csv", members(numbers)),
        Kind.SURVEYS: write_csv(tmp_path / "surveys.csv", surveys(numbers)),
        Kind.HELPERS: write_csv(tmp_path / "helpers.csv", [
            {"number": "H001", "name": "王帮扶", "unit": "县农业农村局",
             "households": f"{MINE[0]};{OTHERS[0]}"},
            {"number": "H002", "name": "李帮扶", "unit": "县教育局", "households": MINE[1]}]),
    }
    for kind, path in files.items():
        assert run(engine, kind, path).ok
    return engine


def test_a_household_of_another_village_is_a_problem_and_nothing_is_written(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": "ordinary"},
            {"number": f"{OTHER_VILLAGE}0009", "village_code": OTHER_VILLAGE,
             "status": "ordinary"}]
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), scope=CADRE)
    assert problems(result) == [
        (3, "village_code", f"Village {OTHER_VILLAGE} is outside your region.")]
    assert not result.written
    assert count(world, HouseholdRecord) == 3


def test_skipping_invalid_rows_writes_only_the_rows_inside_the_scope(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": "ordinary"},
            {"number": f"{OTHER_VILLAGE}0009", "village_code": OTHER_VILLAGE,
             "status": "ordinary"}]
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), scope=CADRE,
                 skip_invalid=True)
    assert result.written and result.inserted == 1 and result.rejected_rows == [3]
    assert count(world, HouseholdRecord, HouseholdRecord.number == f"{OTHER_VILLAGE}0009") == 0


def test_a_household_of_another_village_cannot_be_moved_into_mine(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": OTHERS[0], "village_code": VILLAGE, "status": "ordinary"}]
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), scope=CADRE)
    assert problems(result) == [
        (2, "number", f"Household number {OTHERS[0]} is already registered.")]
    with Session(world) as db:
        moved = db.scalar(select(HouseholdRecord.village_code)
                          .where(HouseholdRecord.number == OTHERS[0]))
    assert moved == OTHER_VILLAGE


@pytest.mark.parametrize("kind", [Kind.MEMBERS, Kind.SURVEYS])
def test_members_and_surveys_of_a_household_outside_the_scope_are_problems(
    world: Engine, tmp_path: Path, kind: Kind,
) -> None:
    if kind is Kind.MEMBERS:
        rows = [{"household_number": MINE[0], "id_number": person_id(date(1990, 5, 5), 33),
                 "name": "新人", "relation": "spouse"},
                {"household_number": OTHERS[0], "id_number": person_id(date(1991, 6, 6), 44),
                 "name": "外人", "relation": "spouse"}]
    else:
        rows = surveys([MINE[0], OTHERS[0]], year=2020)
    before = count(world, MemberRecord) + count(world, SurveyRecord)
    result = run(world, kind, write_csv(tmp_path / "rows.csv", rows), scope=CADRE)
    assert problems(result) == [
        (3, "household_number",
         f"Household {OTHERS[0]} is not in the registry: import households first.")]
    assert count(world, MemberRecord) + count(world, SurveyRecord) == before


def test_a_helper_may_not_be_assigned_to_a_household_outside_the_scope(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": "H003", "name": "赵帮扶", "unit": "县水务局",
             "households": f"{MINE[1]};{OTHERS[0]}"}]
    result = run(world, Kind.HELPERS, write_csv(tmp_path / "h.csv", rows), scope=CADRE)
    assert problems(result) == [
        (2, "households",
         f"Household {OTHERS[0]} is not in the registry: import households first.")]
    assert count(world, HelperRecord, HelperRecord.number == "H003") == 0


def test_a_helper_who_also_helps_outside_the_scope_may_not_be_changed(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": "H001", "name": "王改名", "unit": "县农业农村局", "households": MINE[0]},
            {"number": "H002", "name": "李帮扶", "unit": "县教育局", "phone": "13700001111",
             "households": MINE[1]}]
    result = run(world, Kind.HELPERS, write_csv(tmp_path / "h.csv", rows), scope=CADRE)
    assert problems(result) == [
        (2, "number", "Helper H001 also helps households outside your region.")]
    result = run(world, Kind.HELPERS, write_csv(tmp_path / "h.csv", rows), scope=Scope(COUNTY))
    assert result.written and result.updated == 2


def test_regions_outside_the_scope_are_problems(world: Engine, tmp_path: Path) -> None:
    rows = [{"code": "621121003", "name": "新镇"}, {"code": "621122", "name": "陇西县"}]
    result = run(world, Kind.REGIONS, write_csv(tmp_path / "r.csv", rows),
                 scope=Scope(COUNTY))
    assert [p.column for p in result.problems] == ["code"]
    assert result.problems[0].row == 3
    assert count(world, RegionRecord) == len(REGIONS)


@pytest.mark.parametrize("scope", [None, Scope()], ids=["no scope", "everything"])
def test_without_a_region_every_row_is_written_as_before(
    world: Engine, tmp_path: Path, scope: Scope | None,
) -> None:
    rows = [{"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": "ordinary"},
            {"number": OTHERS[0], "village_code": OTHER_VILLAGE, "status": "poor"}]
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), scope=scope)
    assert result.ok and result.written
    assert (result.inserted, result.updated) == (1, 1)
    assert count(world, HelperAssignmentRecord) == 3


def test_a_dry_run_in_a_session_previews_the_counts_and_writes_nothing(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": "ordinary"},
            {"number": MINE[0], "village_code": VILLAGE, "status": "ordinary"},
            {"number": f"{OTHER_VILLAGE}0009", "village_code": OTHER_VILLAGE,
             "status": "ordinary"}]
    path = write_csv(tmp_path / "h.csv", rows)
    with Session(world) as db, db.begin():
        result = import_in_session(db, kind=Kind.HOUSEHOLDS, path=path, actor="test",
                                   today=TODAY, dry_run=True, skip_invalid=True, scope=CADRE)
    assert [p.row for p in result.problems] == [4]
    assert result.preview is not None and tuple(result.preview) == (1, 1, 0)
    assert not result.written and result.inserted == 0
    assert count(world, HouseholdRecord) == 3


def test_an_import_in_a_session_is_written_when_the_session_commits(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": "ordinary"}]
    path = write_csv(tmp_path / "h.csv", rows)
    with Session(world) as db:
        result = import_in_session(db, kind=Kind.HOUSEHOLDS, path=path, actor="test",
                                   today=TODAY, scope=CADRE)
        assert result.written and result.inserted == 1
        db.rollback()  # the caller's transaction decides
    assert count(world, HouseholdRecord) == 3
    with Session(world) as db, db.begin():
        import_in_session(db, kind=Kind.HOUSEHOLDS, path=path, actor="test", today=TODAY,
                          scope=CADRE)
    assert count(world, HouseholdRecord) == 4


def test_an_id_number_of_a_household_outside_the_scope_is_refused_without_naming_it(
    world: Engine, tmp_path: Path,
) -> None:
    with Session(world) as db:
        taken = db.scalars(select(MemberRecord.id_number).join(HouseholdRecord).where(
            HouseholdRecord.number == OTHERS[0])).first()
    rows = [{"household_number": MINE[0], "id_number": taken, "name": "重名",
             "relation": "other"}]
    path = write_csv(tmp_path / "rows.csv", rows)
    scoped = run(world, Kind.MEMBERS, path, scope=CADRE, dry_run=True)
    assert [(c, m) for _, c, m in problems(scoped) if c == "id_number"] == [
        ("id_number", "This ID number is already registered in another household.")]
    unscoped = run(world, Kind.MEMBERS, path, dry_run=True)  # the CLI names it
    assert any(OTHERS[0] in m for _, c, m in problems(unscoped) if c == "id_number")
