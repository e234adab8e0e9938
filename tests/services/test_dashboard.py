"""The dashboard's figures: the newest run of a standard, its trend, the breakdown one level
down, and the workflow counts, all within the caller's region."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import COUNTY, OPERATOR, OTHER_VILLAGE, VILLAGE, assessment_registry, operator, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound
from tuopin.io.schema import Kind
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.services.plans import household_plans as plans
from tuopin.services.reports import dashboard
from tuopin.services.reports import incidence as reports
from tuopin.standards.loader import load

AS_OF = date(2021, 3, 1)


@pytest.fixture
def runs(engine: Engine, tmp_path: Path) -> dict[int, int]:
    """The assessment registry surveyed in 2019 and 2020, one cn-national run per year
    (2020 twice: the newer run of a year is the one that counts)."""
    files = assessment_registry(tmp_path, years=(2019, 2020))
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        assert import_file(engine, principal=operator("t"), kind=kind,
                           path=files[kind.value], today=AS_OF).ok
    made = {}
    for year in (2019, 2020, 2020):
        made[year] = assessments.record(engine, assessments.compute(
            engine, principal=OPERATOR, standard=load("cn-national"), year=year,
            engine_name="db"), principal=operator("t"))
    return made


def test_the_totals_come_from_the_newest_run_and_match_the_incidence_report(
        engine: Engine, runs: dict[int, int]) -> None:
    with Session(engine) as db:
        board = dashboard.overview(db, principal=operator("t", COUNTY), as_of=AS_OF)
        expected = reports.total(reports.incidence(db, principal=operator("t", COUNTY),
                                                   run_id=runs[2020], level="village"))
    assert board.run == {"id": runs[2020], "year": 2020, "standard": "cn-national"}
    assert board.standards == ["cn-national"]
    t = board.totals
    assert (t.households, t.people, t.poor_households, t.poor_people) == (
        expected["households"], expected["people"], expected["poor_households"],
        expected["poor_people"])
    assert t.poor_households > 0 and t.incidence == pytest.approx(expected["incidence"])


def test_the_newest_run_of_the_latest_year_counts_not_the_newest_run(
        engine: Engine, runs: dict[int, int]) -> None:
    late = assessments.record(engine, assessments.compute(
        engine, principal=OPERATOR, standard=load("cn-national"), year=2019,
        engine_name="db"), principal=operator("t"))
    with Session(engine) as db:
        board = dashboard.overview(db, principal=operator("t", COUNTY), as_of=AS_OF)
        latest = dashboard.latest_run(db, principal=operator("t", COUNTY))
    assert late > runs[2020]
    assert board.run == {"id": runs[2020], "year": 2020, "standard": "cn-national"}
    assert latest == runs[2020]
    assert [(p["year"], p["run"]) for p in board.trend] == [(2019, late), (2020, runs[2020])]


def test_exits_are_counted_in_the_latest_year_with_data_not_in_todays(
        engine: Engine, runs: dict[int, int]) -> None:
    from tuopin.storage.models import HouseholdRecord

    with Session(engine) as db, db.begin():
        homes = db.scalars(select(HouseholdRecord).order_by(HouseholdRecord.id)).all()
        for home, year in zip(homes, (2019, 2020, 2020), strict=False):
            home.status, home.year_identified, home.year_exited = "exited", 2014, year
    with Session(engine) as db:
        board = dashboard.overview(db, principal=OPERATOR, as_of=date(2026, 11, 29))
        elsewhere = dashboard.overview(db, principal=operator("t", OTHER_VILLAGE),
                                       as_of=date(2026, 11, 29))
    assert (board.year, board.exits) == (2020, 2)
    assert (elsewhere.year, elsewhere.exits) == (2026, 0)  # no data there: today's year


def test_without_a_run_the_year_is_the_latest_surveyed(engine: Engine,
                                                        tmp_path: Path) -> None:
    files = assessment_registry(tmp_path, years=(2018, 2019))
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS, Kind.MEMBERS, Kind.SURVEYS):
        assert import_file(engine, principal=operator("t"), kind=kind,
                           path=files[kind.value], today=AS_OF).ok
    with Session(engine) as db:
        board = dashboard.overview(db, principal=OPERATOR, as_of=AS_OF)
        nowhere = dashboard.overview(db, principal=operator("t", OTHER_VILLAGE), as_of=AS_OF)
        with pytest.raises(NotFound, match="tuopin assess"):
            dashboard.latest_run(db, principal=OPERATOR)
    assert board.run is None and board.year == 2019
    assert nowhere.year == AS_OF.year  # no survey there either


def test_the_trend_has_one_point_per_year(engine: Engine, runs: dict[int, int]) -> None:
    with Session(engine) as db:
        board = dashboard.overview(db, principal=OPERATOR, as_of=AS_OF)
    assert [(p["year"], p["run"]) for p in board.trend] == [(2019, runs[2019]),
                                                            (2020, runs[2020])]


@pytest.mark.parametrize(("region", "level", "codes"), [
    (None, "province", ["620000000000"]),
    (COUNTY, "township", ["621121001000"]),
    ("621121001", "village", [VILLAGE]),
    (VILLAGE, None, []),  # a village has nothing below it on the dashboard
])
def test_the_breakdown_is_one_level_below_the_region(
        engine: Engine, runs: dict[int, int], region: str | None, level: str | None,
        codes: list[str]) -> None:
    with Session(engine) as db:
        board = dashboard.overview(db, principal=operator("t", region), as_of=AS_OF)
    assert board.level == level and [r["code"] for r in board.breakdown] == codes
    if codes:
        assert sum(r["poor_people"] for r in board.breakdown) == board.totals.poor_people


def test_a_region_without_results_shows_zeros(engine: Engine, runs: dict[int, int]) -> None:
    with Session(engine) as db:
        board = dashboard.overview(db, principal=operator("t", OTHER_VILLAGE), as_of=AS_OF)
    assert board.run is None and board.totals.people == 0 and board.totals.incidence is None


def test_an_unknown_standard_falls_back_to_the_newest(engine: Engine,
                                                      runs: dict[int, int]) -> None:
    with Session(engine) as db:
        board = dashboard.overview(db, principal=OPERATOR, as_of=AS_OF, standard="nope")
    assert board.standard == "cn-national"


def test_overdue_measures_are_counted_in_the_region(engine: Engine,
                                                    runs: dict[int, int]) -> None:
    with Session(engine) as db, db.begin():
        plans.draft(db, principal=operator("t"), run_id=runs[2020], as_of=date(2020, 1, 1))
        approved = plans.approve_all(db, principal=operator("t"), as_of=date(2020, 1, 1))
    assert approved
    county = operator("t", COUNTY)
    with Session(engine) as db:
        late = dashboard.overview(db, principal=county, as_of=AS_OF).overdue_measures
        early = dashboard.overview(db, principal=county, as_of=date(2020, 1, 2))
        elsewhere = dashboard.overview(db, principal=operator("t", OTHER_VILLAGE), as_of=AS_OF)
    assert late > 0 and early.overdue_measures == 0 and elsewhere.overdue_measures == 0


def test_a_helpers_dashboard_shows_the_figures_of_their_region_not_of_their_few(
        engine: Engine, runs: dict[int, int]) -> None:
    helper = user(Role.HELPER, VILLAGE, username="wang",
                  households=frozenset({f"{VILLAGE}0001"}))
    with Session(engine) as db:
        mine = dashboard.overview(db, principal=helper, as_of=AS_OF)
        village = dashboard.overview(db, principal=operator("t", VILLAGE), as_of=AS_OF)
    assert mine.run == village.run and mine.totals == village.totals
    assert mine.totals.households > 1


@pytest.mark.parametrize("level", ["province", "prefecture", "county", "township", "village"])
def test_the_roll_up_of_every_level_equals_the_incidence_report_of_the_results(
        engine: Engine, runs: dict[int, int], level: str) -> None:
    from tuopin.domain.enums import RegionLevel
    from tuopin.storage.models import AssessmentRollupRecord as U

    with Session(engine) as db:
        expected = reports.incidence(db, principal=OPERATOR, run_id=runs[2019], level=level)
        stored = db.execute(select(U.region_code, U.households, U.people, U.poor_households,
                                   U.poor_people)
                            .where(U.run_id == runs[2019],
                                   U.level == int(RegionLevel[level.upper()]))
                            .order_by(U.region_code)).all()
    assert [tuple(r) for r in stored] == [
        (e["code"], e["households"], e["people"], e["poor_households"], e["poor_people"])
        for e in expected]


def test_the_migration_rolls_up_the_runs_stored_before_it(
        engine: Engine, runs: dict[int, int]) -> None:
    from alembic import command

    from tuopin.storage import migrate
    from tuopin.storage.models import AssessmentRollupRecord as U

    def rolled() -> list[tuple[object, ...]]:
        with Session(engine) as db:
            return [tuple(r) for r in db.execute(
                select(U.run_id, U.level, U.region_code, U.households, U.people,
                       U.poor_households, U.poor_people)
                .order_by(U.run_id, U.level, U.region_code)).all()]

    written = rolled()
    assert written
    command.downgrade(migrate.alembic_config(engine), "0005")
    migrate.upgrade(engine)
    assert rolled() == written
