"""Importing within a region: rows outside the importer's scope are problems, never written;
entries that collide with records outside it name nothing and are probes (audited, counted,
refused past the limit)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import (
    COUNTY,
    OPERATOR,
    OTHER_VILLAGE,
    REGIONS,
    VILLAGE,
    households,
    members,
    operator,
    person_id,
    surveys,
    user,
    write_csv,
)
from tuopin.domain.enums import Role
from tuopin.domain.errors import TooManyAttempts
from tuopin.io.readers import read_file
from tuopin.io.schema import Kind
from tuopin.io.validate import validate_file
from tuopin.services.access import probes
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import ProbeLimiter
from tuopin.services.imports.files import ImportResult, Source, import_file, import_validated
from tuopin.storage.models import (
    AuditEventRecord,
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    SurveyRecord,
    ThrottleEventRecord,
)

TODAY = date(2026, 11, 29)
CADRE = operator("test", VILLAGE)  # the command line, looking at VILLAGE only
VILLAGE_CADRE = user(Role.VILLAGE_CADRE, VILLAGE, username="lisi")  # a web user of VILLAGE
MINE = [f"{VILLAGE}{i:04d}" for i in (1, 2)]
OTHERS = [f"{OTHER_VILLAGE}{i:04d}" for i in (1,)]
OTHER_HEAD = "户主2"
ASK = probes.ASK_THE_COUNTY  # the head of OTHERS[0] (members() names heads by position)


def run(engine: Engine, kind: Kind, path: Path, principal: Principal = OPERATOR,
        **options: object) -> ImportResult:
    return import_file(engine, principal=principal, kind=kind, path=path, today=TODAY,
                       **options)  # type: ignore[arg-type]


def run_in(db: Session, kind: Kind, path: Path, principal: Principal,
           **options: object) -> ImportResult:
    """The web's way: rows read and validated first, then imported in the request's session."""
    raw = read_file(path)
    return import_validated(db, principal=principal, kind=kind,
                            validated=validate_file(raw, kind, today=TODAY),
                            source=Source.of(raw), **options)  # type: ignore[arg-type]


def count(engine: Engine, record: type, *where: object) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(record).where(*where)  # type: ignore[arg-type]
        return conn.execute(query).scalar_one()


def problems(result: ImportResult) -> list[tuple[int, str, str]]:
    return [(p.row, p.column, p.message("en")) for p in result.problems]


def probes_of(engine: Engine, username: str) -> tuple[int, list[dict[str, object]]]:
    """How many probes count against ``username``, and the audit events of probes."""
    counted = count(engine, ThrottleEventRecord, ThrottleEventRecord.kind == "probe",
                    ThrottleEventRecord.key == username)
    with Session(engine) as db:
        events = db.scalars(select(AuditEventRecord).where(AuditEventRecord.action == "probe")
                            .order_by(AuditEventRecord.id)).all()
        return counted, [{"actor": e.actor, "entity_id": e.entity_id,
                          **json.loads(e.after or "{}")} for e in events]


def taken_in(engine: Engine, number: str) -> list[str]:
    """The ID numbers registered in household ``number``."""
    with Session(engine) as db:
        return list(db.scalars(select(MemberRecord.id_number).join(HouseholdRecord).where(
            HouseholdRecord.number == number).order_by(MemberRecord.id)))


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
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), CADRE)
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
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), CADRE,
                 skip_invalid=True)
    assert result.written and result.inserted == 1 and result.rejected_rows == [3]
    assert count(world, HouseholdRecord, HouseholdRecord.number == f"{OTHER_VILLAGE}0009") == 0


def test_a_household_of_another_village_cannot_be_moved_into_mine(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": OTHERS[0], "village_code": VILLAGE, "status": "poor"}]
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), CADRE)
    assert problems(result) == [(2, "number", ASK)]
    with Session(world) as db:
        moved = db.scalar(select(HouseholdRecord.village_code)
                          .where(HouseholdRecord.number == OTHERS[0]))
    assert moved == OTHER_VILLAGE


@pytest.mark.parametrize("principal", [CADRE, VILLAGE_CADRE], ids=["operator", "web user"])
def test_it_answers_the_same_whatever_status_is_typed_for_a_household_outside_the_scope(
    world: Engine, tmp_path: Path, principal: Principal,
) -> None:
    """Were the stored status compared, the answer would change when the typed status is
    the stored one: an oracle of a household the importer may not see."""
    answers = set()
    for status in ("poor", "ordinary", "exited", "monitored"):
        rows = [{"number": OTHERS[0], "village_code": VILLAGE, "status": status}]
        result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), principal)
        answers.add(tuple(problems(result)))
    assert answers == {((2, "number", ASK),)}


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
    result = run(world, kind, write_csv(tmp_path / "rows.csv", rows), CADRE)
    assert problems(result) == [
        (3, "household_number",
         f"Household {OTHERS[0]} is not in the registry: import households first.")]
    assert count(world, MemberRecord) + count(world, SurveyRecord) == before


def test_a_helper_may_not_be_assigned_to_a_household_outside_the_scope(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": "H003", "name": "赵帮扶", "unit": "县水务局",
             "households": f"{MINE[1]};{OTHERS[0]}"}]
    result = run(world, Kind.HELPERS, write_csv(tmp_path / "h.csv", rows), CADRE)
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
    result = run(world, Kind.HELPERS, write_csv(tmp_path / "h.csv", rows), CADRE)
    assert problems(result) == [
        (2, "number", "Helper H001 also helps households outside your region.")]
    result = run(world, Kind.HELPERS, write_csv(tmp_path / "h.csv", rows), operator("test", COUNTY))
    assert result.written and result.updated == 2


def test_regions_outside_the_scope_are_problems(world: Engine, tmp_path: Path) -> None:
    rows = [{"code": "621121003", "name": "新镇"}, {"code": "621122", "name": "陇西县"}]
    result = run(world, Kind.REGIONS, write_csv(tmp_path / "r.csv", rows),
                 operator("test", COUNTY))
    assert [p.column for p in result.problems] == ["code"]
    assert result.problems[0].row == 3
    assert count(world, RegionRecord) == len(REGIONS)


@pytest.mark.parametrize("principal", [OPERATOR, user(Role.ADMIN, username="root")],
                         ids=["the command line", "an admin"])
def test_without_a_region_every_row_is_written_as_before(
    world: Engine, tmp_path: Path, principal: Principal,
) -> None:
    rows = [{"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": "ordinary"},
            {"number": OTHERS[0], "village_code": OTHER_VILLAGE, "status": "poor"}]
    result = run(world, Kind.HOUSEHOLDS, write_csv(tmp_path / "h.csv", rows), principal)
    assert result.ok and result.written
    assert (result.inserted, result.updated) == (1, 1)
    assert count(world, HelperAssignmentRecord) == 3


def test_a_dry_run_in_a_session_previews_the_counts_and_writes_nothing(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"number": f"{VILLAGE}0009", "village_code": VILLAGE, "status": "ordinary"},
            {"number": MINE[0], "village_code": VILLAGE, "status": "poor"},
            {"number": f"{OTHER_VILLAGE}0009", "village_code": OTHER_VILLAGE,
             "status": "ordinary"}]
    path = write_csv(tmp_path / "h.csv", rows)
    with Session(world) as db, db.begin():
        result = run_in(db, Kind.HOUSEHOLDS, path, CADRE, dry_run=True, skip_invalid=True)
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
        result = run_in(db, Kind.HOUSEHOLDS, path, CADRE)
        assert result.written and result.inserted == 1
        db.rollback()  # the caller's transaction decides
    assert count(world, HouseholdRecord) == 3
    with Session(world) as db, db.begin():
        run_in(db, Kind.HOUSEHOLDS, path, CADRE)
    assert count(world, HouseholdRecord) == 4


def test_an_id_number_of_a_household_outside_the_scope_is_refused_without_naming_it(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"household_number": MINE[0], "id_number": taken_in(world, OTHERS[0])[0],
             "name": "重名", "relation": "other"}]
    path = write_csv(tmp_path / "rows.csv", rows)
    scoped = run(world, Kind.MEMBERS, path, CADRE, dry_run=True)
    assert [(c, m) for _, c, m in problems(scoped) if c == "id_number"] == [("id_number", ASK)]
    assert not any(OTHERS[0] in m for _, _, m in problems(scoped))
    unscoped = run(world, Kind.MEMBERS, path, dry_run=True)  # the CLI names it
    assert any(OTHERS[0] in m for _, c, m in problems(unscoped) if c == "id_number")


def elsewhere(world: Engine, tmp_path: Path, name: str = "rows.csv") -> Path:
    """A member file for MINE[0] holding both ID numbers registered in OTHERS[0]."""
    rows = [{"household_number": MINE[0], "id_number": id_number, "name": f"重名{i}",
             "relation": "other"} for i, id_number in enumerate(taken_in(world, OTHERS[0]))]
    return write_csv(tmp_path / name, rows)


def test_it_audits_and_counts_a_web_users_import_of_id_numbers_registered_elsewhere(
    world: Engine, tmp_path: Path,
) -> None:
    before = count(world, MemberRecord)
    result = run(world, Kind.MEMBERS, elsewhere(world, tmp_path), VILLAGE_CADRE)
    assert problems(result) == [(2, "id_number", ASK), (3, "id_number", ASK)]
    assert not any(number in m for number in OTHERS for _, _, m in problems(result))
    assert not result.written and count(world, MemberRecord) == before
    counted, events = probes_of(world, "lisi")
    assert counted == 2
    assert [(e["actor"], e["entity_id"], e["count"], e["values"]) for e in events] == [
        ("web:lisi", "id_number", 2, taken_in(world, OTHERS[0]))]


def test_it_audits_and_counts_a_probe_in_the_web_session_even_when_it_rolls_back(
    world: Engine, tmp_path: Path,
) -> None:
    with Session(world) as db, db.begin():
        result = run_in(db, Kind.MEMBERS, elsewhere(world, tmp_path), VILLAGE_CADRE,
                        probe_limiter=ProbeLimiter(max_probes=5))
    assert [c for _, c, _ in problems(result)] == ["id_number", "id_number"]
    assert {m for _, _, m in problems(result)} == {ASK}
    counted, events = probes_of(world, "lisi")
    assert counted == 2 and [e["count"] for e in events] == [2]


def test_the_command_line_is_not_counted_as_a_probe(world: Engine, tmp_path: Path) -> None:
    result = run(world, Kind.MEMBERS, elsewhere(world, tmp_path), CADRE)
    assert {m for _, _, m in problems(result)} == {ASK}
    assert probes_of(world, "test") == (0, [])


def test_past_the_probe_limit_an_import_is_refused_whole_then_before_any_check(
    world: Engine, tmp_path: Path,
) -> None:
    limiter = ProbeLimiter(max_probes=2)
    (first, second) = taken_in(world, OTHERS[0])
    one = write_csv(tmp_path / "one.csv", [{"household_number": MINE[0], "id_number": first,
                                            "name": "重名", "relation": "other"}])
    another = write_csv(tmp_path / "two.csv", [{"household_number": MINE[0],
                                                "id_number": second, "name": "重名",
                                                "relation": "other"}])
    with Session(world) as db, db.begin():
        result = run_in(db, Kind.MEMBERS, one, VILLAGE_CADRE, probe_limiter=limiter)
    assert problems(result) == [(2, "id_number", ASK)]
    with Session(world) as db:
        with pytest.raises(probes.LimitReached) as used_up:  # the entry that used it up
            run_in(db, Kind.MEMBERS, another, VILLAGE_CADRE, probe_limiter=limiter)
        assert used_up.value.keep_transaction and used_up.value.retry_after > 0
        db.commit()  # as the web does for a refusal that keeps its record
    assert probes_of(world, "lisi")[0] == 2
    clean = write_csv(tmp_path / "clean.csv", [{"household_number": MINE[0],
                                                "id_number": person_id(date(1995, 1, 1), 55),
                                                "name": "新人", "relation": "other"}])
    with Session(world) as db, db.begin(), pytest.raises(TooManyAttempts):
        run_in(db, Kind.MEMBERS, clean, VILLAGE_CADRE, probe_limiter=limiter)
    counted, events = probes_of(world, "lisi")
    assert counted == 2 and len(events) == 2
    assert count(world, MemberRecord, MemberRecord.name == "新人") == 0


def test_a_head_added_to_a_household_outside_the_scope_does_not_name_its_head(
    world: Engine, tmp_path: Path,
) -> None:
    rows = [{"household_number": OTHERS[0], "id_number": person_id(date(1988, 8, 8), 77),
             "name": "新户主", "relation": "head"}]
    for principal in (CADRE, VILLAGE_CADRE):
        result = run(world, Kind.MEMBERS, write_csv(tmp_path / "head.csv", rows), principal)
        assert problems(result) == [
            (2, "household_number",
             f"Household {OTHERS[0]} is not in the registry: import households first.")]
        assert not any(OTHER_HEAD in p.message(lang) for p in result.problems
                       for lang in ("en", "zh"))
    unscoped = run(world, Kind.MEMBERS, write_csv(tmp_path / "head.csv", rows))
    assert [p.column for p in unscoped.problems] == ["relation"]  # the CLI names it
    assert OTHER_HEAD in unscoped.problems[0].message("en")


def test_a_file_that_uses_up_the_allowance_is_refused_whole_even_when_skipping_bad_rows(
    world: Engine, tmp_path: Path,
) -> None:
    (first, _) = taken_in(world, OTHERS[0])
    rows = [{"household_number": MINE[0], "id_number": first, "name": "重名",
             "relation": "other"},
            {"household_number": MINE[0], "id_number": person_id(date(1995, 1, 1), 55),
             "name": "新人", "relation": "other"}]
    path = write_csv(tmp_path / "rows.csv", rows)
    before = count(world, MemberRecord)
    with Session(world) as db:
        with pytest.raises(probes.LimitReached):
            run_in(db, Kind.MEMBERS, path, VILLAGE_CADRE, skip_invalid=True,
                   probe_limiter=ProbeLimiter(max_probes=1))
        db.commit()  # as the web does for a refusal that keeps its record
    assert probes_of(world, "lisi")[0] == 1
    assert count(world, MemberRecord) == before
