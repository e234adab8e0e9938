"""Drawing a plan's sample, and proving it byte for byte: the same on SQLite and PostgreSQL,
after edits elsewhere, after the county's own registry has moved on; a changed row found."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

import verification_county as county
from factories import operator
from tuopin.domain import sampling
from tuopin.domain.errors import RuleBroken
from tuopin.domain.verification import Frame, PlanState, VerificationKind
from tuopin.services.verification import draws, plans
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import (
    AuditEventRecord,
    HouseholdRecord,
    VerificationPlanRecord,
    VerificationSampleRecord,
    table_of,
)

ON = date(2021, 3, 1)
OPERATOR = operator()


@pytest.fixture
def store(engine: Engine) -> Engine:
    """The county on SQLite and on PostgreSQL."""
    county.build(engine, townships=3, villages=4, households=(20, 50))
    return engine


@pytest.fixture
def lite(sqlite_url: str) -> Iterator[Engine]:
    """The county on SQLite only (for what does not depend on the store)."""
    engine = make_engine(sqlite_url)
    county.build(engine, townships=3, villages=4, households=(20, 50))
    yield engine
    engine.dispose()


def _plan(engine: Engine, **given: object) -> int:
    with session_factory(engine)() as db, db.begin():
        row = plans.plan(db, principal=OPERATOR, region=county.COUNTY, year=county.YEAR,
                         kind=VerificationKind.THIRD_PARTY, as_of=ON,
                         **{"seed": 2020, "margin": 0.08, "villages": 6,
                            **given})  # type: ignore[arg-type]
        return int(row["plan"])


def _draw(engine: Engine, plan: int) -> draws.Drawn:
    with session_factory(engine)() as db, db.begin():
        return draws.draw(db, principal=OPERATOR, plan_id=plan, as_of=ON)


def _check(engine: Engine, plan: int, file: bytes | None = None) -> draws.DrawCheck:
    with session_factory(engine)() as db:
        return draws.check(db, principal=OPERATOR, plan_id=plan, file=file)


def test_the_draw_stores_every_household_with_its_probabilities_and_both_hashes(
    store: Engine,
) -> None:
    plan = _plan(store)
    drawn = _draw(store, plan)
    with Session(store) as db:
        record = db.get(VerificationPlanRecord, plan)
        assert record is not None
        rows = db.scalars(select(VerificationSampleRecord).where(
            VerificationSampleRecord.plan_id == plan).order_by(
            VerificationSampleRecord.position)).all()
        frame = draws.read_frame(db, county.COUNTY, county.YEAR)
    assert (record.state, record.drawn_by, record.drawn_on) == ("drawn", "t", ON)
    assert record.sample_size == len(rows) == len(drawn.rows) > 0
    assert record.sample_hash == draws.sha256(drawn.content)
    assert record.frame_hash == draws.sha256(draws.frame_text(frame))
    assert gzip.decompress(record.frame or b"") == draws.frame_text(frame)
    for row in rows:
        assert row.probability == pytest.approx(row.pi_village * row.pi_household)
        assert row.weight == pytest.approx(1 / row.probability)
        assert row.stratum == f"{row.township_code}:{row.frame}"
        assert row.psu in (row.village_code, row.household_number)
    # the sizes of the design follow from its parameters and the frame
    design = json.loads(record.design or "{}")
    for frame_name in (Frame.EXITED, Frame.UNREGISTERED):
        figures = design["frames"][frame_name.value]
        assert figures["target"] == sampling.sample_size(
            figures["households"], margin=0.08, confidence=0.95, deff=1.5)
        assert figures["drawn"] == sum(r.frame == frame_name.value for r in rows)


def test_a_plan_is_drawn_once(lite: Engine) -> None:
    plan = _plan(lite)
    _draw(lite, plan)
    with pytest.raises(RuleBroken, match="drawing its sample is not"):
        _draw(lite, plan)


def test_the_draw_and_its_hashes_are_audited_but_not_the_list(lite: Engine) -> None:
    plan = _plan(lite)
    drawn = _draw(lite, plan)
    with Session(lite) as db:
        event = db.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == "draw")).one()
    after = json.loads(event.after or "{}")
    assert after["sample_hash"] == drawn.sample_hash and after["households"] == len(drawn.rows)
    assert not any(r["household_number"] in (event.after or "") for r in drawn.rows)


# the draw of seed 2020 on county.fixed(): the same bytes on every store and machine
PINNED_HASH = "51cfde9528d16a23c7772698e9b28f726bf4975487adc27483b45eb43ba47696"


def test_the_same_seed_draws_the_same_bytes_on_every_store(engine: Engine) -> None:
    """SQLite and PostgreSQL give the same file, and its hash is pinned: a change of the
    frame's order, of a float's spelling or of the random streams would change it."""
    county.fixed(engine)
    drawn = _draw(engine, _plan(engine))
    again = _draw(engine, _plan(engine))
    other = _draw(engine, _plan(engine, seed=2021))
    assert drawn.content == again.content
    assert other.content != drawn.content
    assert drawn.content.startswith(b"position,household_number,village_code,")
    assert drawn.sample_hash == PINNED_HASH


def test_given_sizes_and_villages_are_what_is_drawn(lite: Engine) -> None:
    plan = _plan(lite, villages=3, sizes={"exited": 9, "unregistered": 12, "registered": 0})
    drawn = _draw(lite, plan)
    assert len({r["village_code"] for r in drawn.rows}) == 3
    assert {f: drawn.design["frames"][f]["per_village"] for f in drawn.design["frames"]} == {
        "exited": 3, "unregistered": 4, "registered": 0}
    assert not any(r["frame"] == "registered" for r in drawn.rows)


def test_the_redraw_is_identical_byte_for_byte_after_edits_in_other_regions(
    store: Engine,
) -> None:
    """Acceptance: households of another county registered, exited and moved; the frame of
    this county, and so its sample, does not change."""
    plan = _plan(store)
    drawn = _draw(store, plan)
    other = f"{county.OTHER_COUNTY}001001"
    with store.begin() as conn:
        conn.execute(insert(table_of(HouseholdRecord)), [
            {"number": f"{other}{9000 + i}", "village_code": other, "status": "ordinary",
             "version": 1} for i in range(5)])
        conn.execute(update(table_of(HouseholdRecord)).where(
            table_of(HouseholdRecord).c.village_code.startswith(county.OTHER_COUNTY))
            .values(status="exited", year_exited=2019))
    found = _check(store, plan, file=drawn.content)
    assert found.identical and found.registry_unchanged and found.snapshot_intact
    assert found.redrawn_hash == found.stored_rows_hash == found.file_hash == drawn.sample_hash
    assert found.frame_changes == {"added": 0, "removed": 0, "changed": 0}


def test_an_edit_in_the_county_that_leaves_the_frame_alone_changes_nothing(
    lite: Engine,
) -> None:
    plan = _plan(lite)
    _draw(lite, plan)
    with lite.begin() as conn:
        conn.execute(update(table_of(HouseholdRecord)).where(
            table_of(HouseholdRecord).c.village_code.startswith(county.COUNTY))
            .values(address="改了地址", category="general"))
    found = _check(lite, plan)
    assert found.identical and found.registry_unchanged


def test_after_the_county_moved_on_the_redraw_uses_the_frame_kept_with_the_plan(
    store: Engine,
) -> None:
    plan = _plan(store)
    drawn = _draw(store, plan)
    first = drawn.rows[0]["household_number"]
    county.set_status(store, first, "poor", None)  # a household of the frame changes frame
    village = drawn.rows[0]["village_code"]
    with store.begin() as conn:
        conn.execute(insert(table_of(HouseholdRecord)), [
            {"number": f"{village}8888", "village_code": village, "status": "ordinary",
             "version": 1}])
    found = _check(store, plan)
    assert not found.registry_unchanged
    assert found.frame_changes == {"added": 1, "removed": 0,
                                   "changed": int(drawn.rows[0]["frame"] != "registered")}
    assert found.identical  # from the frame kept: the same bytes


def test_a_sample_row_changed_in_the_store_is_found(lite: Engine) -> None:
    plan = _plan(lite)
    _draw(lite, plan)
    with lite.begin() as conn:
        sample = table_of(VerificationSampleRecord)
        conn.execute(update(sample).where(sample.c.position == 1).values(weight=1.0))
    found = _check(lite, plan)
    assert not found.identical and found.redrawn_hash == found.sample_hash
    assert found.stored_rows_hash != found.sample_hash


def test_a_sample_file_changed_by_hand_is_found(lite: Engine) -> None:
    plan = _plan(lite)
    drawn = _draw(lite, plan)
    found = _check(lite, plan, file=drawn.content.replace(b",V,", b",C1,", 1))
    assert not found.identical and found.file_hash != found.sample_hash


def test_a_frame_kept_with_the_plan_and_changed_is_found(lite: Engine) -> None:
    plan = _plan(lite)
    _draw(lite, plan)
    with Session(lite) as db, db.begin():
        record = db.get(VerificationPlanRecord, plan)
        assert record is not None and record.frame is not None
        record.frame = draws.packed(gzip.decompress(record.frame) + b"x,621121001001,exited\n")
    found = _check(lite, plan)
    assert not found.snapshot_intact and not found.identical


def test_a_plan_not_drawn_cannot_be_checked(lite: Engine) -> None:
    plan = _plan(lite)
    with pytest.raises(RuleBroken, match="checking its draw"):
        _check(lite, plan)


def test_a_county_without_households_has_nothing_to_draw(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    county.build(engine, townships=1, villages=1, households=(1, 2), counties=(
        county.OTHER_COUNTY,))
    from tuopin.storage.models import RegionRecord

    with engine.begin() as conn:
        conn.execute(insert(table_of(RegionRecord)), [
            {"code": county.COUNTY.ljust(12, "0"), "name": "空县", "level": 3,
             "parent_code": "621100000000"}])
    plan = _plan(engine)
    with pytest.raises(RuleBroken, match="no households"):
        _draw(engine, plan)
    with Session(engine) as db:
        assert db.scalar(select(func.count()).select_from(VerificationSampleRecord)) == 0
        record = db.get(VerificationPlanRecord, plan)
        assert record is not None and record.state == PlanState.PLANNED.value
    engine.dispose()
