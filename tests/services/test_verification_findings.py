"""Field lists out and findings back: one file per village with only what a verifier needs,
the importer's rules (every problem at once, nothing written unless clean), one household at
a time with its version, and never outside the released plan or the verifier's region."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import verification_county as county
from factories import operator, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, RuleBroken, StaleVersion, ValidationFailed
from tuopin.domain.verification import VerificationKind
from tuopin.i18n import gettext
from tuopin.services.verification import draws, fieldlists, findings, plans, visits
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import (
    AuditEventRecord,
    MemberRecord,
    VerificationFindingRecord,
)

ON = date(2021, 3, 1)
TODAY = date(2021, 3, 5)
OPERATOR = operator()
VISIT = "2021-03-02"


@pytest.fixture
def world(sqlite_url: str) -> Iterator[tuple[Engine, int, county.Truth]]:
    """A drawn and released plan of about thirty households, heads with ID numbers."""
    engine = make_engine(sqlite_url)
    truth = county.build(engine, townships=2, villages=3, households=(15, 30))
    county.add_heads(engine, sorted(truth.homes))
    with session_factory(engine)() as db, db.begin():
        plan = plans.plan(db, principal=OPERATOR, region=county.COUNTY, year=county.YEAR,
                          kind=VerificationKind.THIRD_PARTY, seed=7, as_of=ON, villages=3,
                          sizes={"exited": 12, "unregistered": 15, "registered": 3})["plan"]
        draws.draw(db, principal=OPERATOR, plan_id=plan, as_of=ON)
        plans.release(db, principal=OPERATOR, plan_id=plan, as_of=ON)
    yield engine, plan, truth
    engine.dispose()


def _drawn(engine: Engine, plan: int) -> list[dict[str, Any]]:
    with session_factory(engine)() as db:
        return findings.sample_rows(db, principal=OPERATOR, plan_id=plan)


def _import(engine: Engine, plan: int, path: Path, principal: Any = OPERATOR
            ) -> findings.FindingsResult:
    with session_factory(engine)() as db, db.begin():
        return findings.import_findings(db, principal=principal, plan_id=plan, path=path,
                                        today=TODAY)


def _count(engine: Engine) -> int:
    with Session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(VerificationFindingRecord)) or 0)


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    names = [spec.name for spec in findings.FIELDS]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows([row.get(n, "") for n in names] for row in rows)
    return path


def test_field_lists_hold_one_village_each_and_only_what_a_verifier_needs(
    world: tuple[Engine, int, county.Truth], tmp_path: Path,
) -> None:
    engine, plan, _ = world
    drawn = _drawn(engine, plan)
    with session_factory(engine)() as db:
        lists = fieldlists.field_lists(db, principal=OPERATOR, plan_id=plan, lang="zh")
        ids = set(db.scalars(select(MemberRecord.id_number)))
    paths = [fieldlists.write_field_list(found, tmp_path) for found in lists]
    assert sorted(p.name for p in paths) == sorted(
        f"plan{plan}_{v}.xlsx" for v in {r["village_code"] for r in drawn})
    for found, path in zip(lists, paths, strict=True):
        sheet = openpyxl.load_workbook(path, read_only=True).active
        assert sheet is not None
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        header, body = rows[0], rows[1:]
        column = {name: header.index(name) for name in header}
        numbers = [r[column[gettext("Household number", "zh")]] for r in body]
        assert numbers == sorted(r["household_number"] for r in drawn
                                 if r["village_code"] == found.village_code)
        assert {r[column[gettext("Village", "zh")]] for r in body} == {found.village}
        masked = [r[column[gettext("Head's ID number (masked)", "zh")]] for r in body]
        assert all("*" in m and m[:6] == county.COUNTY for m in masked)
        text = repr(rows)
        assert not any(number in text for number in ids), "a full ID number in a field list"
        assert gettext("Judgement", "zh") in header and gettext("Visited", "zh") in header


def _filled_workbook(path: Path, truth: county.Truth) -> Path:
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    names = {spec.header("zh"): spec.name for spec in findings.FIELDS}
    number_at = header.index(gettext("Household number", "zh"))
    for row in sheet.iter_rows(min_row=2):
        values = truth.finding(str(row[number_at].value), on=VISIT)
        for cell, title in zip(row, header, strict=True):
            if names.get(str(title)) in values and names[str(title)] != "household_number":
                cell.value = values[names[str(title)]]
    book.save(path)
    return path


def test_a_filled_list_comes_back_as_findings_and_again_changes_nothing(
    world: tuple[Engine, int, county.Truth], tmp_path: Path,
) -> None:
    engine, plan, truth = world
    with session_factory(engine)() as db:
        lists = fieldlists.field_lists(db, principal=OPERATOR, plan_id=plan, lang="zh")
    path = _filled_workbook(fieldlists.write_field_list(lists[0], tmp_path), truth)
    first = _import(engine, plan, path)
    assert (first.inserted, first.updated, first.written) == (lists[0].table.num_rows, 0, True)
    again = _import(engine, plan, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, first.inserted)
    recorded = [r for r in _drawn(engine, plan) if r["visited"] is not None]
    for row in recorded:
        home = truth.homes[row["household_number"]]
        assert row["judgement"] == (home.error or "correct")
        assert (row["household_size"], row["approval"]) == (home.size, home.approves)
        assert (row["recorded_by"], row["visited_on"]) == ("t", date(2021, 3, 2))
    # the list exported again shows what was recorded, and re-imports unchanged
    with session_factory(engine)() as db:
        shown = fieldlists.field_lists(db, principal=OPERATOR, plan_id=plan, lang="zh",
                                       village=lists[0].village_code)
    again_path = fieldlists.write_field_list(shown[0], tmp_path / "again")
    assert _import(engine, plan, again_path).unchanged == first.inserted


def test_a_file_with_bad_rows_writes_nothing_and_names_every_problem(
    world: tuple[Engine, int, county.Truth], tmp_path: Path,
) -> None:
    engine, plan, truth = world
    drawn = _drawn(engine, plan)
    exited = next(r["household_number"] for r in drawn if r["frame"] == "exited")
    ordinary = next(r["household_number"] for r in drawn if r["frame"] == "unregistered")
    others = [r["household_number"] for r in drawn if r["household_number"] not in (
        exited, ordinary)]
    not_drawn = next(n for n in truth.homes if n not in {r["household_number"] for r in drawn})
    good = truth.finding(others[0], on=VISIT)
    rows = [
        good,  # row 2: fine
        {**truth.finding(exited, on=VISIT), "judgement": "missed_poor"},  # 3: wrong frame
        {**truth.finding(ordinary, on=VISIT), "judgement": ""},  # 4: visited, no judgement
        {**truth.finding(others[1], visited=False), "approval": "是"},  # 5: not visited
        {**truth.finding(not_drawn, on=VISIT)},  # 6: not in the sample
        {**good},  # 7: the same household as row 2
        {**truth.finding(others[2], on=VISIT), "visited": "也许"},  # 8: not yes or no
        {**truth.finding(others[3], on="2021-02-01")},  # 9: before the release
        {"household_number": others[4], "visited": "否"},  # 10: no reason
    ]
    with pytest.raises(ValidationFailed) as refused:
        _import(engine, plan, _csv(tmp_path / "bad.csv", rows))
    found = {(p.row, p.column, p.message("en")) for p in refused.value.problems}
    assert found == {
        (3, "judgement", "This judgement is made only of households never registered as "
                         "poor."),
        (4, "judgement", "A visited household needs this."),
        (5, "approval", "A household not visited has no findings: leave this empty."),
        (6, "household_number", "The household is not in this plan's sample."),
        (7, "household_number", "The same household is already on row 2."),
        (8, "visited", "Not yes or no (是/否)."),
        (9, "visited_on", "The visit is dated before the list was released (2021-03-01)."),
        (10, "not_visited_reason", "Give the reason the household was not visited."),
    }
    assert _count(engine) == 0


def test_findings_are_taken_only_while_the_plan_is_released(
    world: tuple[Engine, int, county.Truth], tmp_path: Path,
) -> None:
    engine, plan, truth = world
    number = _drawn(engine, plan)[0]["household_number"]
    path = _csv(tmp_path / "one.csv", [truth.finding(number, on=VISIT)])
    with session_factory(engine)() as db, db.begin():
        unreleased = plans.plan(db, principal=OPERATOR, region=county.COUNTY,
                                year=county.YEAR, kind=VerificationKind.SPOT_CHECK, seed=1,
                                as_of=ON)["plan"]
        draws.draw(db, principal=OPERATOR, plan_id=unreleased, as_of=ON)
    with pytest.raises(RuleBroken, match="while the plan is released"):
        _import(engine, unreleased, path)
    _import(engine, plan, path)
    with session_factory(engine)() as db, db.begin():
        plans.close(db, principal=OPERATOR, plan_id=plan, as_of=TODAY)
    with pytest.raises(RuleBroken, match="it is closed"):
        _import(engine, plan, path)
    with session_factory(engine)() as db, db.begin(), pytest.raises(RuleBroken):
        findings.record_finding(db, principal=OPERATOR, plan_id=plan, number=number,
                                values={"visited": "否", "not_visited_reason": "absent"},
                                today=TODAY)


def _record(engine: Engine, plan: int, number: str, values: dict[str, Any],
            principal: Any = OPERATOR, version: int | None = None) -> dict[str, Any]:
    with session_factory(engine)() as db, db.begin():
        return findings.record_finding(
            db, principal=principal, plan_id=plan, number=number, today=TODAY,
            values={k: str(v) for k, v in values.items()}, expected_version=version)


def test_one_household_is_recorded_then_corrected_on_its_version(
    world: tuple[Engine, int, county.Truth],
) -> None:
    engine, plan, truth = world
    number = _drawn(engine, plan)[0]["household_number"]
    verifier = user(Role.VERIFIER, county.COUNTY, username="pinggu")
    first = _record(engine, plan, number, {"visited": "否", "not_visited_reason": "absent"},
                    verifier)
    assert (first["visited"], first["not_visited_reason"], first["version"]) == (
        False, "absent", 1)
    values = {k: v for k, v in truth.finding(number, on=VISIT).items()
              if k != "household_number"}
    second = _record(engine, plan, number, values, verifier, version=1)
    assert (second["visited"], second["version"]) == (True, 2)
    with pytest.raises(StaleVersion):
        _record(engine, plan, number, values, verifier, version=1)
    with Session(engine) as db:
        events = db.scalars(select(AuditEventRecord).where(
            AuditEventRecord.entity == "verification_finding")).all()
    assert [(e.action, e.actor, e.entity_id) for e in events] == [
        ("add", "web:pinggu", f"{plan}/{number}"), ("edit", "web:pinggu", f"{plan}/{number}")]


def test_a_form_with_problems_is_refused_field_by_field(
    world: tuple[Engine, int, county.Truth],
) -> None:
    engine, plan, _ = world
    number = _drawn(engine, plan)[0]["household_number"]
    with pytest.raises(ValidationFailed) as refused:
        _record(engine, plan, number, {"visited": "是", "household_size": "0",
                                       "judgement": "maybe"})
    assert {p.column for p in refused.value.problems} == {"household_size", "judgement"}
    assert _count(engine) == 0


def test_a_verifier_reaches_only_the_households_drawn_in_their_region(
    world: tuple[Engine, int, county.Truth],
) -> None:
    engine, plan, truth = world
    drawn = _drawn(engine, plan)
    one, other = drawn[0], next(r for r in drawn if r["village_code"] != drawn[0]["village_code"])
    verifier = user(Role.VERIFIER, one["village_code"], username="village-team")
    absent = {"visited": "否", "not_visited_reason": "refused"}
    _record(engine, plan, one["household_number"], absent, verifier)
    with pytest.raises(NotFound):
        _record(engine, plan, other["household_number"], absent, verifier)
    not_drawn = next(n for n in truth.homes if n not in {r["household_number"] for r in drawn})
    with pytest.raises(NotFound):
        _record(engine, plan, not_drawn, absent, verifier)
    with session_factory(engine)() as db:
        seen = findings.sample_rows(db, principal=verifier, plan_id=plan)
    assert {r["village_code"] for r in seen} == {one["village_code"]}


def test_the_visit_list_finds_each_household_and_counts_the_visits(
    world: tuple[Engine, int, county.Truth],
) -> None:
    engine, plan, truth = world
    drawn = _drawn(engine, plan)
    number = drawn[0]["household_number"]
    _record(engine, plan, number, {"visited": "否", "not_visited_reason": "moved"})
    second = drawn[1]["household_number"]
    _record(engine, plan, second, {k: v for k, v in truth.finding(second, on=VISIT).items()
                                   if k != "household_number"})
    with session_factory(engine)() as db:
        listed = visits.visit_list(db, principal=OPERATOR, plan_id=plan)
        one = visits.finding(db, principal=OPERATOR, plan_id=plan, number=number)
        counted = visits.progress(db, principal=OPERATOR, plan_id=plan)
        with pytest.raises(NotFound):
            visits.finding(db, principal=OPERATOR, plan_id=plan, number="621121009009999")
    assert [r["household_number"] for r in listed] == [r["household_number"] for r in drawn]
    assert all(r["head_id"] and "*" in r["head_id"] and r["village"] and r["township"]
               for r in listed)
    assert (one["not_visited_reason"], one["finding_version"], one["head"]) == (
        "moved", 1, listed[0]["head"])
    assert sum(c["drawn"] for c in counted) == len(drawn)
    assert (sum(c["recorded"] for c in counted), sum(c["visited"] for c in counted)) == (2, 1)
    assert {(c["village_code"], c["frame"]) for c in counted} == {
        (r["village_code"], r["frame"]) for r in drawn}
