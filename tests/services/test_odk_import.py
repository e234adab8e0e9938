"""Surveys collected on phones come back exactly once: an ODK Central .csv.zip and a Kobo
XLSX, written from the field list of the form tuopin generates, are imported through the
survey and member checks, identified by their stable instance ids, and assessed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from factories import (
    OPERATOR,
    OTHER_VILLAGE,
    REGIONS,
    VILLAGE,
    households,
    operator,
    person_id,
    user,
    write_csv,
)
from odk_exports import central_zip, key_of, kobo_xlsx
from tuopin.domain import idnumber
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied
from tuopin.io.schema import Kind
from tuopin.io.xlsform import survey_form
from tuopin.services.assessment import runs
from tuopin.services.imports.files import import_file
from tuopin.services.imports.odk import OdkImportResult, import_odk
from tuopin.standards.loader import load
from tuopin.storage.models import (
    AuditEventRecord,
    MemberRecord,
    SurveyRecord,
    SurveySubmissionRecord,
)

TODAY = date(2026, 12, 7)
YEAR = 2020
MESSY = '王五, 又名 "老王"\n二组'  # a comma, doubled quotes and a newline in one answer
NUMBERS = [f"{VILLAGE}{i:04d}" for i in range(1, 6)]
ELSEWHERE = f"{OTHER_VILLAGE}0001"


def id_ending_in_x(born: date) -> str:
    """A valid ID number whose check character is X, written with a lowercase x."""
    for sequence in range(1, 999):
        found = idnumber.compose("621121", born, sequence)
        if found.endswith("X"):
            return found[:-1] + "x"
    raise AssertionError("no sequence gives X")


def form_fields() -> tuple[dict[str, str], dict[str, str]]:
    """The generated form's questions: (root field -> group path, member field -> group path).

    The export is built from what the form asks, as ODK Central and Kobo would write it."""
    form = survey_form(load("cn-national"), year=YEAR)
    root: dict[str, str] = {}
    members: dict[str, str] = {}
    path: list[str] = []
    for row in form.survey:
        kind, name = row.get("type", ""), row.get("name", "")
        if kind in ("begin_group", "begin group", "begin_repeat", "begin repeat"):
            path.append(name)
        elif kind in ("end_group", "end group", "end_repeat", "end repeat"):
            path.pop()
        elif name and kind not in ("note",):
            if "members" in path:
                inner = path[path.index("members") + 1:]
                members[name] = "/".join(inner)
            else:
                root[name] = "/".join(path)
    return root, members


ROOT, MEMBER_FIELDS = form_fields()
FORM_ID = survey_form(load("cn-national"), year=YEAR).form_id


def survey_row(number: str, **values: Any) -> dict[str, Any]:
    row = {"household_number": number, "year": str(YEAR), "household_size": "2",
           "wage_income": "9000", "production_income": "1000", "property_income": "0",
           "transfer_income": "600", "production_costs": "400", "medical_expenses": "0",
           "food_secure": "yes", "clothing_secure": "yes", "housing_grade": "B",
           "water_quantity_lpd": "80", "water_piped": "yes", "water_trip_minutes": "0",
           "water_outage_days": "0", "water_quality_ok": "yes", "water_scarce_area": "no",
           "collected_by": "李四", "collected_on": f"{YEAR}-11-20"}
    return {k: v for k, v in {**row, **values}.items() if k in ROOT or k.startswith("_")}


def member_row(parent: int, id_number: str, name: str, relation: str,
               **values: Any) -> dict[str, Any]:
    row = {"_parent": parent, "id_number": id_number, "name": name, "relation": relation,
           "birth_date": idnumber.parse(id_number, today=TODAY).birth_date.isoformat(),
           "medical_insurance": "yes", "health": "healthy"}
    return {k: v for k, v in {**row, **values}.items()
            if k in MEMBER_FIELDS or k.startswith("_")}


def groups(fields: dict[str, str]) -> dict[str, str]:
    return {name: group for name, group in fields.items() if group}


HEAD_X = id_ending_in_x(date(1968, 4, 12))


def central_rows(*, edited_income: str = "9000") -> tuple[list[dict], list[dict]]:
    """Three submissions: a plain one (a messy answer, a lowercase x, a Chinese label), an
    edited one (its meta-instanceID is not its KEY) and a rejected one."""
    main = [
        survey_row(NUMBERS[0], collected_by=MESSY),
        survey_row(NUMBERS[1], wage_income=edited_income, _instance_id="uuid:edit-2-of-form"),
        survey_row(NUMBERS[2], _review="rejected"),
    ]
    people = [
        member_row(0, HEAD_X, "张大", "head", sex="男"),  # the select's Chinese label
        member_row(0, person_id(date(2010, 5, 1), 22), "张小", "child",
                   schooling_status="in_school"),
        member_row(1, person_id(date(1970, 2, 2), 31), "王二", "head"),
        member_row(2, person_id(date(1972, 3, 3), 41), "李三", "head"),
    ]
    return main, people


def write_central(folder: Path, name: str = "central.csv.zip", **options: Any) -> Path:
    main, people = central_rows(**options)
    return central_zip(folder / name, FORM_ID, main, {"members": people},
                       groups=groups(ROOT))


def write_kobo(folder: Path) -> Path:
    main = [survey_row(NUMBERS[3], _key="uuid:kobo-4"), survey_row(NUMBERS[4], _key="uuid:kobo-5")]
    people = [member_row(0, person_id(date(1980, 6, 6), 51), "赵四", "head"),
              member_row(1, person_id(date(1981, 7, 7), 61), "钱五", "head", sex="female")]
    return kobo_xlsx(folder / "kobo.xlsx", "年度调查", main, {"members": people},
                     groups=groups(ROOT), group_headers=True)


@pytest.fixture
def county(engine: Engine, tmp_path: Path) -> Engine:
    homes = households(5) + households(1, OTHER_VILLAGE)
    for kind, rows in ((Kind.REGIONS, REGIONS), (Kind.HOUSEHOLDS, homes)):
        result = import_file(engine, principal=OPERATOR, kind=kind, today=TODAY,
                             path=write_csv(tmp_path / f"{kind.value}.csv", rows))
        assert result.written, result.problems
    return engine


def run(engine: Engine, path: Path, principal: Any = OPERATOR, **options: Any
        ) -> OdkImportResult:
    return import_odk(engine, principal=principal, path=path, today=TODAY, **options)


def count(engine: Engine, record: type, *where: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(record).where(*where)).scalar_one()


def state(engine: Engine) -> tuple[int, ...]:
    return (count(engine, SurveyRecord), count(engine, MemberRecord),
            count(engine, SurveySubmissionRecord), count(engine, AuditEventRecord))


def test_the_generated_form_asks_what_the_export_carries() -> None:
    assert {"household_number", "year", "household_size", "wage_income", "housing_grade"} \
        <= set(ROOT)
    assert {"id_number", "name", "relation", "birth_date"} <= set(MEMBER_FIELDS)
    assert any(ROOT.values()), "the form puts some questions in groups (pages)"


def test_central_and_kobo_exports_import_once_and_are_assessed(county: Engine,
                                                               tmp_path: Path) -> None:
    central, kobo = write_central(tmp_path), write_kobo(tmp_path)

    first = run(county, central)
    assert first.written and not first.problems, first.problems
    assert (first.submissions, first.rejected) == (3, 1)
    assert first.surveys is not None and first.surveys.inserted == 2
    assert first.members is not None and first.members.inserted == 3
    second = run(county, kobo)
    assert second.written and not second.problems, second.problems
    assert second.surveys is not None and second.surveys.inserted == 2

    with county.connect() as conn:
        surveys = {r.household_id: r for r in conn.execute(select(SurveyRecord))}
        subs = {r.instance_id: r for r in conn.execute(select(SurveySubmissionRecord))}
        head = conn.execute(select(MemberRecord).where(
            MemberRecord.name == "张大")).one()
    assert len(surveys) == 4  # the rejected submission is left out
    assert HEAD_X.upper() == head.id_number  # stored in the registry's spelling
    assert head.sex == "male"
    assert any(s.collected_by == MESSY for s in surveys.values())
    edited = subs[key_of(1, FORM_ID)]  # identified by KEY, not by its meta-instanceID
    assert edited.current_id == "uuid:edit-2-of-form"
    assert edited.source == "central" and edited.form_id == FORM_ID
    assert edited.submitter and edited.submitted_at and edited.form_version
    assert {s.source for s in subs.values()} == {"central", "kobo-xlsx"}

    before = state(county)
    again = [run(county, central), run(county, kobo)]
    assert all(r.written and not r.problems for r in again)
    assert all(r.surveys is not None and r.surveys.inserted == r.surveys.updated == 0
               for r in again)
    assert state(county) == before, "importing the same exports again changes nothing"

    computed = runs.compute(county, principal=OPERATOR, standard=load("cn-national"),
                            year=YEAR)
    assessed = set(computed.results.column("number").to_pylist())
    assert assessed == {NUMBERS[0], NUMBERS[1], NUMBERS[3], NUMBERS[4]}


def test_an_edited_submission_replaces_its_survey_and_keeps_the_old_one_in_the_audit_trail(
        county: Engine, tmp_path: Path) -> None:
    assert run(county, write_central(tmp_path)).written
    surveys = count(county, SurveyRecord)
    later = write_central(tmp_path, "later.csv.zip", edited_income="15000")
    result = run(county, later)
    assert result.written and result.replaced == 1
    assert result.surveys is not None and result.surveys.updated == 1
    assert count(county, SurveyRecord) == surveys, "an edit makes no second survey"
    with county.connect() as conn:
        wage = conn.execute(select(SurveyRecord.wage_income).where(
            SurveyRecord.year == YEAR, SurveyRecord.wage_income == 15000)).scalar_one()
        event = conn.execute(select(AuditEventRecord).where(
            AuditEventRecord.action == "replace",
            AuditEventRecord.entity == "survey")).one()
    assert wage == 15000
    assert event.entity_id == f"{NUMBERS[1]}/{YEAR}"
    assert '"wage_income":9000' in event.before.replace(" ", "")
    assert key_of(1, FORM_ID) in event.after


@pytest.mark.parametrize(("where", "value", "field"), [
    ("member", "621121196804120019", "id_number"),  # a bad check digit
    ("member", f"{YEAR}-02-30", "birth_date"),  # 2月30日
    ("survey", "-5", "wage_income"),
])
def test_a_bad_answer_is_reported_with_its_submission_and_nothing_is_written(
        county: Engine, tmp_path: Path, where: str, value: str, field: str) -> None:
    main, people = central_rows()
    if where == "member":
        people[1][field] = value
    else:
        main[0][field] = value
    path = central_zip(tmp_path / "bad.csv.zip", FORM_ID, main, {"members": people},
                       groups=groups(ROOT))
    before = state(county)
    result = run(county, path)
    assert not result.written
    assert state(county) == before
    found = [(p.record, p.column) for p in result.problems]
    column = f"members[2]/{field}" if where == "member" else field
    assert (key_of(0, FORM_ID), column) in found, found
    assert all(p.record for p in result.problems)


def test_a_dry_run_counts_and_writes_nothing(county: Engine, tmp_path: Path) -> None:
    before = state(county)
    result = run(county, write_central(tmp_path), dry_run=True)
    assert result.ok and not result.written
    assert result.summary()["surveys"] == (2, 0, 0)
    assert state(county) == before


def test_another_submission_for_the_same_household_and_year_is_refused(
        county: Engine, tmp_path: Path) -> None:
    assert run(county, write_central(tmp_path)).written
    duplicate = central_zip(tmp_path / "dup.csv.zip", FORM_ID,
                            [survey_row(NUMBERS[0], _key="uuid:someone-else")],
                            {"members": [member_row(0, HEAD_X, "张大", "head")]},
                            groups=groups(ROOT))
    result = run(county, duplicate)
    assert not result.written
    assert [(p.record, p.column) for p in result.problems] == [
        ("uuid:someone-else", "household_number")]


def test_households_outside_the_importers_region_are_refused(county: Engine,
                                                            tmp_path: Path) -> None:
    cadre = user(Role.VILLAGE_CADRE, OTHER_VILLAGE, username="wang")
    before = state(county)
    result = run(county, write_central(tmp_path), principal=cadre)
    assert not result.written and result.problems
    assert state(county) == before
    # and one of the other village may import its own household
    mine = central_zip(tmp_path / "mine.csv.zip", FORM_ID, [survey_row(ELSEWHERE)],
                       {"members": [member_row(0, person_id(date(1966, 1, 9), 71), "周六",
                                               "head")]}, groups=groups(ROOT))
    assert run(county, mine, principal=cadre).written


def test_a_reader_may_not_import(county: Engine, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        run(county, write_central(tmp_path), principal=user(Role.AUDITOR, None))


def test_the_command_line_operator_is_named_in_the_audit_trail(county: Engine,
                                                              tmp_path: Path) -> None:
    run(county, write_central(tmp_path), principal=operator("odk-clerk"))
    with county.connect() as conn:
        actors = set(conn.execute(select(AuditEventRecord.actor).where(
            AuditEventRecord.action == "import")).scalars())
    assert "odk-clerk" in actors


def test_an_edit_that_moves_a_submission_to_another_household_moves_its_survey(
        county: Engine, tmp_path: Path) -> None:
    first = central_zip(tmp_path / "a.csv.zip", FORM_ID,
                        [survey_row(NUMBERS[3], _key="uuid:moved")],
                        {"members": [member_row(0, person_id(date(1980, 6, 6), 51), "赵四",
                                                "head")]}, groups=groups(ROOT))
    assert run(county, first).written
    moved = central_zip(tmp_path / "b.csv.zip", FORM_ID,
                        [survey_row(NUMBERS[4], _key="uuid:moved",
                                    _instance_id="uuid:moved-edit")],
                        {"members": [member_row(0, person_id(date(1981, 7, 7), 61), "钱五",
                                                "head")]}, groups=groups(ROOT))
    result = run(county, moved)
    assert result.written, result.problems
    with county.connect() as conn:
        sub = conn.execute(select(SurveySubmissionRecord)).one()
        kept = conn.execute(select(SurveyRecord.household_id)).scalars().all()
        removed = conn.execute(select(AuditEventRecord.entity_id).where(
            AuditEventRecord.action == "remove")).scalars().all()
    assert len(kept) == 1 and kept[0] == sub.household_id
    assert sub.current_id == "uuid:moved-edit"
    assert removed == [f"{NUMBERS[3]}/{YEAR}"]


def test_a_members_fields_the_form_did_not_ask_keep_their_registered_values(
        county: Engine, tmp_path: Path) -> None:
    head = person_id(date(1980, 6, 6), 51)
    registered = write_csv(tmp_path / "members.csv", [
        {"household_number": NUMBERS[3], "id_number": head, "name": "赵四", "relation": "head",
         "ethnicity": "回族", "phone": "13800000000"}])
    assert import_file(county, principal=OPERATOR, kind=Kind.MEMBERS, path=registered,
                       today=TODAY).written
    assert "ethnicity" not in MEMBER_FIELDS and "phone" not in MEMBER_FIELDS
    assert run(county, write_kobo(tmp_path)).written
    with county.connect() as conn:
        found = conn.execute(select(MemberRecord).where(MemberRecord.id_number == head)).one()
    assert (found.ethnicity, found.phone) == ("回族", "13800000000")
    assert found.medical_insurance is True  # what the form asked is updated
