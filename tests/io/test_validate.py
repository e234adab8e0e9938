"""From a raw file to typed columns: headers, required values, duplicates, cross-field rules."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import person_id, registry_files, write_csv
from fund_factories import book_files
from tuopin.domain.errors import ValidationFailed
from tuopin.io.problems import Problem
from tuopin.io.readers import RawFile, read_file
from tuopin.io.schema import FIELDS, Kind
from tuopin.io.validate import Validated, match_headers, problems_by_row, validate_file

TODAY = date(2026, 11, 29)

REQUIRED = "A value is required."
SAME_ID = "The same ID number is already on row {other}."
SEX_MISMATCH = "The sex does not match the ID number."
BIRTH_MISMATCH = "The birth date does not match the ID number ({expected})."
SECOND_HEAD = "Household {number} already has a head on row {other}."

MAN = person_id(date(1970, 1, 1), 11)  # odd sequence
WOMAN = person_id(date(1972, 5, 6), 22)  # even sequence
CHILD = person_id(date(2012, 3, 1), 33)


def member(id_number: str = MAN, household: str = "H1", relation: str = "head",
           **extra: object) -> dict[str, object]:
    return {"household_number": household, "id_number": id_number, "name": "张三",
            "relation": relation, **extra}


def validate(folder: Path, kind: Kind, rows: Sequence[Mapping[str, object]],
             header: list[str] | None = None) -> Validated:
    path = write_csv(folder / f"{kind.value}.csv", [dict(r) for r in rows], header=header)
    return validate_file(read_file(path), kind, today=TODAY)


def refuse(folder: Path, kind: Kind, rows: Sequence[Mapping[str, object]],
           header: list[str] | None = None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        validate(folder, kind, rows, header)
    return caught.value


def found(result: Validated) -> set[tuple[int, str, str]]:
    return {(p.row, p.column, p.reason) for p in result.problems}


def column(result: Validated, name: str) -> list[object]:
    return result.table.column(name).to_pylist()


# -- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels",
    [
        {"household_number": "household_number", "id_number": "id_number", "name": "name",
         "relation": "relation"},
        {"household_number": "Household number", "id_number": "ID number", "name": "Name",
         "relation": "Relation to head"},
        {"household_number": "户编号", "id_number": "证件号码", "name": "姓名",
         "relation": "与户主关系"},
        {"household_number": " HOUSEHOLD_NUMBER ", "id_number": "id number", "name": "NAME",
         "relation": " 与户主关系 "},
        {"name": "姓名", "relation": "与户主关系", "id_number": "ID number",
         "household_number": "household_number"},
    ],
    ids=["names", "english", "chinese", "case-and-blanks", "mixed-and-reordered"],
)
def test_columns_are_found_by_name_english_title_or_chinese_title(
    tmp_path: Path, labels: dict[str, str]
) -> None:
    row = {labels[k]: v for k, v in member().items()}
    result = validate(tmp_path, Kind.MEMBERS, [row], header=list(labels.values()))
    assert result.problems == []
    assert column(result, "id_number") == [MAN]
    assert column(result, "relation") == ["head"]
    assert result.headers == {k: v.strip() for k, v in labels.items()}


def test_unknown_columns_are_ignored(tmp_path: Path) -> None:
    result = validate(tmp_path, Kind.MEMBERS, [member(备注="note", extra="x")])
    assert result.problems == []
    assert result.table.column_names == [f.name for f in FIELDS[Kind.MEMBERS]]
    assert "备注" not in result.headers.values()


def test_optional_columns_that_are_absent_come_out_empty(tmp_path: Path) -> None:
    result = validate(tmp_path, Kind.MEMBERS, [member()])
    assert column(result, "education") == [None]
    assert column(result, "months_worked_away") == [None]
    assert result.table.schema.field("months_worked_away").type == pa.int64()


@pytest.mark.parametrize("kind", list(Kind))
def test_a_header_that_matches_nothing_is_refused(tmp_path: Path, kind: Kind) -> None:
    error = refuse(tmp_path, kind, [{"foo": "1", "bar": "2"}])
    (problem,) = error.problems
    assert problem.params["kind"] == kind.value
    assert FIELDS[kind][0].header("zh") in problem.message("zh")
    assert problem.message("en") != problem.message("zh")


@pytest.mark.parametrize(
    ("drop", "zh"),
    [("id_number", "证件号码"), ("relation", "与户主关系"), ("household_number", "户编号")],
)
def test_a_missing_required_column_is_refused_by_name(
    tmp_path: Path, drop: str, zh: str
) -> None:
    row = {k: v for k, v in member().items() if k != drop}
    error = refuse(tmp_path, Kind.MEMBERS, [row])
    (problem,) = error.problems
    assert (problem.row, problem.column) == (1, zh)
    assert problem.params["name"] == {"zh": zh, "en": drop}
    assert drop in problem.message("en")
    assert zh in problem.message("zh")


def test_every_missing_required_column_is_named_at_once(tmp_path: Path) -> None:
    error = refuse(tmp_path, Kind.SURVEYS, [{"户编号": "H1", "备注": "x"}])
    names = [p.params["name"] for p in error.problems]
    assert all(isinstance(n, dict) for n in names)
    assert [n["en"] for n in names if isinstance(n, dict)] == [
        "year", "household_size", "food_secure", "clothing_secure", "housing_grade"]


@pytest.mark.parametrize(
    ("header", "second"),
    [
        (["户编号", "household_number", "id_number", "name", "relation"], "household_number"),
        (["household_number", "id_number", "name", "relation", "ID number"], "ID number"),
        (["household_number", "id_number", "name", "relation", "sex", "性别"], "性别"),
    ],
)
def test_a_column_given_twice_is_refused(tmp_path: Path, header: list[str], second: str) -> None:
    error = refuse(tmp_path, Kind.MEMBERS, [{}], header=header)
    (problem,) = error.problems
    assert problem.reason == "Column {name} appears twice."
    assert (problem.row, problem.column, problem.value) == (1, second, second)
    assert problem.message("en") != problem.message("zh")


def test_match_headers_maps_fields_to_positions() -> None:
    assert match_headers(Kind.REGIONS, ["备注", "区划名称", "CODE"]) == {"name": 1, "code": 2}


@pytest.mark.parametrize("kind", list(Kind))
def test_the_factory_registry_is_valid_for_every_kind(tmp_path: Path, kind: Kind) -> None:
    path = (registry_files(tmp_path) | book_files(tmp_path))[kind.value]
    result = validate_file(read_file(path), kind, today=TODAY)
    assert result.problems == []
    assert result.table.num_rows == len(result.rows) > 0


# -- required values, row numbers, duplicates ------------------------------------------------


def test_a_missing_required_value_is_reported_on_its_row(tmp_path: Path) -> None:
    rows = [member(), member(CHILD, relation="child", name=""),
            member(WOMAN, relation="", household="H2")]
    result = validate(tmp_path, Kind.MEMBERS, rows)
    assert found(result) == {(3, "name", REQUIRED), (4, "relation", REQUIRED)}
    assert all(p.value == "" for p in result.problems)


def test_problems_carry_the_file_row_number_with_blank_lines_counted(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        "household_number,id_number,name,relation\n"
        f"H1,{MAN},张三,head\n"
        "\n"
        ",,,\n"
        f"H1,{CHILD},张四,\n",
        encoding="utf-8",
    )
    result = validate_file(read_file(path), Kind.MEMBERS, today=TODAY)
    assert list(result.rows) == [2, 5]
    assert found(result) == {(5, "relation", REQUIRED)}
    assert list(result.bad_positions()) == [1]


@pytest.mark.parametrize(
    ("kind", "rows", "at", "column_name", "other", "reason"),
    [
        (Kind.MEMBERS, [member(), member(CHILD, relation="child"), member()],
         4, "id_number", 2, SAME_ID),
        (Kind.MEMBERS, [member("11010519491231002X"), member("11010519491231002x", "H2")],
         3, "id_number", 2, SAME_ID),
        (Kind.HOUSEHOLDS,
         [{"number": "1", "village_code": "621121001001", "status": "poor"}] * 2,
         3, "number", 2, "The same household number is already on row {other}."),
        (Kind.REGIONS, [{"code": "62", "name": "甘肃"}, {"code": "6211", "name": "定西"},
                        {"code": "620000000000", "name": "甘肃省"}],
         4, "code", 2, "The same code is already on row {other}."),
        (Kind.SURVEYS,
         [{"household_number": "H1", "year": "2019", "household_size": "2",
           "food_secure": "是", "clothing_secure": "是", "housing_grade": "A"},
          {"household_number": "H1", "year": "2019.0", "household_size": "3",
           "food_secure": "否", "clothing_secure": "是", "housing_grade": "B"}],
         3, "year", 2, "The same household and year are already on row {other}."),
        (Kind.HELPERS, [{"number": "H001", "name": "王", "unit": "局"}] * 3,
         3, "number", 2, "The same helper number is already on row {other}."),
    ],
    ids=["member", "member-lower-x", "household", "region-padded", "survey", "helper"],
)
def test_a_duplicate_inside_the_file_names_the_earlier_row(
    tmp_path: Path, kind: Kind, rows: list[Mapping[str, object]], at: int, column_name: str,
    other: int, reason: str,
) -> None:
    result = validate(tmp_path, kind, rows)
    duplicates = [p for p in result.problems if p.reason == reason]
    assert (duplicates[0].row, duplicates[0].column) == (at, column_name)
    assert duplicates[0].params == {"other": other}
    assert f"row {other}" in duplicates[0].message("en")
    assert str(other) in duplicates[0].message("zh")


def test_every_repeat_names_the_first_row(tmp_path: Path) -> None:
    rows = [{"number": "H001", "name": "王", "unit": "局"}] * 3
    result = validate(tmp_path, Kind.HELPERS, rows)
    assert [(p.row, p.params["other"]) for p in result.problems] == [(3, 2), (4, 2)]


def test_a_survey_of_the_same_household_in_another_year_is_no_duplicate(tmp_path: Path) -> None:
    base = {"household_number": "H1", "household_size": "2", "food_secure": "是",
            "clothing_secure": "是", "housing_grade": "A"}
    result = validate(tmp_path, Kind.SURVEYS, [{**base, "year": "2019"}, {**base, "year": "2020"},
                                               {**base, "household_number": "H2",
                                                "year": "2019"}])
    assert result.problems == []


def test_a_survey_year_in_the_future_is_refused(tmp_path: Path) -> None:
    row = {"household_number": "H1", "year": "2027", "household_size": "2", "food_secure": "是",
           "clothing_secure": "是", "housing_grade": "A"}
    result = validate(tmp_path, Kind.SURVEYS, [row, {**row, "year": "2026"}])
    assert found(result) == {(2, "year", "The year is in the future.")}


# -- members: sex and birth date from the ID -------------------------------------------------


def test_sex_and_birth_date_come_from_the_id_when_empty(tmp_path: Path) -> None:
    rows = [member(MAN), member(WOMAN, relation="spouse"), member("11010519491231002x", "H2")]
    result = validate(tmp_path, Kind.MEMBERS, rows)
    assert result.problems == []
    assert column(result, "sex") == ["male", "female", "female"]
    assert column(result, "birth_date") == [date(1970, 1, 1), date(1972, 5, 6),
                                            date(1949, 12, 31)]


@pytest.mark.parametrize(
    ("sex", "birth"),
    [("男", "1970-01-01"), ("male", "1970/1/1"), ("MALE", "1970年1月1日"), ("", "19700101")],
)
def test_sex_and_birth_date_that_agree_with_the_id_are_kept(
    tmp_path: Path, sex: str, birth: str
) -> None:
    result = validate(tmp_path, Kind.MEMBERS, [member(sex=sex, birth_date=birth)],
                      header=["household_number", "id_number", "name", "relation", "sex",
                              "birth_date"])
    assert result.problems == []
    assert column(result, "sex") == ["male"]
    assert column(result, "birth_date") == [date(1970, 1, 1)]


def test_a_sex_that_contradicts_the_id_is_reported_with_the_text_as_typed(tmp_path: Path) -> None:
    rows = [{"户编号": "H1", "证件号码": WOMAN, "姓名": "李四", "与户主关系": "户主", "性别": "男"}]
    result = validate(tmp_path, Kind.MEMBERS, rows)
    (problem,) = result.problems
    assert (problem.row, problem.column, problem.value) == (2, "性别", "男")
    assert problem.reason == SEX_MISMATCH
    assert problem.message("zh") != problem.message("en")


def test_a_birth_date_that_contradicts_the_id_names_the_id_date(tmp_path: Path) -> None:
    result = validate(tmp_path, Kind.MEMBERS, [member(WOMAN, birth_date="1972年5月7日")])
    (problem,) = result.problems
    assert (problem.row, problem.column, problem.value) == (2, "birth_date", "1972年5月7日")
    assert problem.reason == BIRTH_MISMATCH
    assert problem.params == {"expected": "1972-05-06"}
    assert "1972-05-06" in problem.message("zh")


def test_no_mismatch_is_reported_against_an_id_that_is_itself_wrong(tmp_path: Path) -> None:
    wrong = "110105194912310021"  # the check character should be X
    result = validate(tmp_path, Kind.MEMBERS, [member(wrong, sex="男", birth_date="2000-01-01")])
    assert [p.column for p in result.problems] == ["id_number"]
    assert result.problems[0].params == {"expected": "X"}


def test_an_empty_id_is_only_reported_as_missing(tmp_path: Path) -> None:
    rows = [member("", sex="男"), member("", household="H2")]
    result = validate(tmp_path, Kind.MEMBERS, rows,
                      header=["household_number", "id_number", "name", "relation", "sex"])
    assert found(result) == {(2, "id_number", REQUIRED), (3, "id_number", REQUIRED)}
    assert column(result, "sex") == ["male", None]  # nothing to derive a sex from


def test_two_heads_in_one_household_are_refused(tmp_path: Path) -> None:
    rows = [member(MAN), member(WOMAN, relation="户主"), member(CHILD, relation="child"),
            member(person_id(date(1980, 1, 1), 41), household="H2")]
    result = validate(tmp_path, Kind.MEMBERS, rows)
    (problem,) = result.problems
    assert (problem.row, problem.column, problem.value) == (3, "relation", "户主")
    assert problem.reason == SECOND_HEAD
    assert problem.params == {"number": "H1", "other": 2}
    assert "H1" in problem.message("zh") and "2" in problem.message("zh")


@pytest.mark.parametrize(
    ("deceased", "reason"),
    [("1969-12-31", "The date of death is before the birth date."),
     ("2026-11-30", "The date is in the future."),
     ("1970-01-01", None),
     ("2026-11-29", None)],
)
def test_a_date_of_death_must_lie_between_birth_and_today(
    tmp_path: Path, deceased: str, reason: str | None
) -> None:
    result = validate(tmp_path, Kind.MEMBERS, [member(deceased_date=deceased)])
    assert [p.reason for p in result.problems] == ([reason] if reason else [])


def test_bad_cells_of_every_column_are_all_reported_at_once(tmp_path: Path) -> None:
    row = member(sex="M", birth_date="2019-02-30", health="sick", months_worked_away="13",
                 dibao="maybe", phone="12", disability_grade="x")
    result = validate(tmp_path, Kind.MEMBERS, [row])
    assert {p.column for p in result.problems} == {"sex", "birth_date", "health",
                                                   "months_worked_away", "dibao", "phone",
                                                   "disability_grade"}
    assert set(problems_by_row(result.problems)) == {2}


def test_columns_checked_in_threads_give_what_one_thread_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [member(sex="M", birth_date="2019-02-30", health="sick", months_worked_away="13",
                   dibao="maybe", phone="12", household=f"H{i}") for i in range(30)]
    rows += [member(id_number=MAN, household="H1", relation="spouse"),
             member(id_number="12345", household="H2", relation="child"),
             member(id_number=WOMAN, household="H3")]  # a second head
    monkeypatch.setattr("tuopin.io.threads.PARALLEL_ROWS", 10**9)
    alone = validate(tmp_path, Kind.MEMBERS, rows)
    monkeypatch.setattr("tuopin.io.threads.PARALLEL_ROWS", 0)
    threaded = validate(tmp_path, Kind.MEMBERS, rows)
    assert len(alone.problems) > 60
    assert {SAME_ID, SECOND_HEAD} <= {p.reason for p in alone.problems}
    assert threaded.problems == alone.problems  # the same problems, in the same order
    assert threaded.table.equals(alone.table)


def test_a_blank_required_cell_in_parquet_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "members.parquet"
    pq.write_table(pa.table({"household_number": ["H1"], "id_number": [MAN], "name": [""],
                             "relation": ["head"]}), path)
    result = validate_file(read_file(path), Kind.MEMBERS, today=TODAY)
    assert found(result) == {(2, "name", REQUIRED)}


# -- households ------------------------------------------------------------------------------


def household(**cells: object) -> dict[str, object]:
    return {"number": "1", "village_code": "621121001001", "status": "poor", **cells}


@pytest.mark.parametrize(
    ("identified", "exited", "reasons"),
    [
        ("2016", "2015", ["The exit year is before the year of identification ({year})."]),
        ("2016", "2016", []),
        ("2016", "2019", []),
        ("", "2015", []),
        ("2016", "", []),
        ("2016", "2027", ["The year is in the future."]),
    ],
)
def test_the_exit_year_lies_between_identification_and_today(
    tmp_path: Path, identified: str, exited: str, reasons: list[str]
) -> None:
    row = household(year_identified=identified, year_exited=exited)
    result = validate(tmp_path, Kind.HOUSEHOLDS, [row],
                      header=["number", "village_code", "status", "year_identified",
                              "year_exited"])
    assert [p.reason for p in result.problems] == reasons
    assert all(p.column == "year_exited" for p in result.problems)
    if reasons and "{year}" in reasons[0]:
        assert result.problems[0].params == {"year": 2016}


@pytest.mark.parametrize("code", ["62", "6211", "621121", "621121001"])
def test_a_household_must_live_in_a_village(tmp_path: Path, code: str) -> None:
    result = validate(tmp_path, Kind.HOUSEHOLDS, [household(village_code=code)])
    (problem,) = result.problems
    assert (problem.column, problem.value) == ("village_code", code)
    assert problem.reason == "Not a village code (12 significant digits)."


def test_a_malformed_village_code_is_reported_once(tmp_path: Path) -> None:
    result = validate(tmp_path, Kind.HOUSEHOLDS, [household(village_code="621100001001")])
    assert [p.reason for p in result.problems] == [
        "A region code cannot have an all-zero level above its own."]


# -- regions ---------------------------------------------------------------------------------


REGION_HEADER = ["code", "name", "western"]


def test_level_and_parent_code_are_derived_from_the_code(tmp_path: Path) -> None:
    rows = [{"code": c, "name": n} for c, n in
            [("62", "甘肃省"), ("6211", "定西市"), ("621121", "通渭县"),
             ("621121001", "平襄镇"), ("621121001001", "东关村")]]
    result = validate(tmp_path, Kind.REGIONS, rows)
    assert result.problems == []
    assert column(result, "level") == [1, 2, 3, 4, 5]
    assert column(result, "parent_code") == [None, "620000000000", "621100000000",
                                             "621121000000", "621121001000"]
    assert column(result, "code")[-1] == "621121001001"


@pytest.mark.parametrize(
    ("code", "flag", "western"),
    [
        ("62", "", True),  # defaulted from GB/T 2260
        ("65", "", True),
        ("15", "", True),  # 内蒙古 is western by the 2000 policy
        ("11", "", False),
        ("44", "", False),
        ("62", "否", False),  # a given flag is kept
        ("11", "是", True),
    ],
)
def test_the_western_flag_of_a_province_defaults_from_gb2260(
    tmp_path: Path, code: str, flag: str, western: bool
) -> None:
    result = validate(tmp_path, Kind.REGIONS, [{"code": code, "name": "省", "western": flag}],
                      header=REGION_HEADER)
    assert result.problems == []
    assert column(result, "western") == [western]


@pytest.mark.parametrize("code", ["6211", "621121", "621121001", "621121001001"])
def test_the_western_flag_is_refused_below_a_province(tmp_path: Path, code: str) -> None:
    result = validate(tmp_path, Kind.REGIONS, [{"code": code, "name": "x", "western": "是"}],
                      header=REGION_HEADER)
    (problem,) = result.problems
    assert (problem.row, problem.column, problem.value) == (2, "western", "是")
    assert problem.reason == "Only a province carries the western-region flag."


def test_no_western_flag_is_made_up_below_a_province(tmp_path: Path) -> None:
    result = validate(tmp_path, Kind.REGIONS, [{"code": "6211", "name": "定西市"}])
    assert column(result, "western") == [None]


def test_a_bad_region_code_leaves_level_and_parent_empty(tmp_path: Path) -> None:
    result = validate(tmp_path, Kind.REGIONS, [{"code": "62112", "name": "x"},
                                               {"code": "320000019044", "name": "y"}])
    assert column(result, "level") == [None, None]
    assert column(result, "parent_code") == [None, None]
    assert [p.row for p in result.problems] == [2, 3]


# -- robustness: whatever the file, a Validated or a ValidationFailed ------------------------


BOM = b"\xef\xbb\xbf"
INTEGER_COLUMNS = {"disability_grade", "months_worked_away"}
LABELS = sorted({label for f in FIELDS[Kind.MEMBERS]
                 for label in (f.name, f.header("en"), f.header("zh"))})
SAMPLES = ["", " ", "是", "否", "男", "女", "户主", "head", "child", "2019-02-30", "20191120",
           MAN, WOMAN, MAN.lower(), "11010519491231002x", "110105194912310021", "62", "3",
           "13", "-1", "3.0", "1,2", "x", '"', '""', ",", "\n", "\r\n", "\ufeff"]


cell = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=20),
                 st.text(alphabet='0123456789Xx+-.,;"\n\r 年月日', max_size=20))


@st.composite
def csv_like(draw: st.DrawFn) -> bytes:
    """Member labels and junk as a header, rows of cells, quoted properly or not at all."""
    header = draw(st.lists(st.one_of(st.sampled_from(LABELS), st.text(max_size=8)),
                           max_size=6))
    if draw(st.integers(0, 3)):  # mostly a header that passes, so the cells get checked
        header += ["household_number", "id_number", "name", "relation"]
    header = draw(st.permutations(header)) if header else [""]
    width = st.integers(len(header) - 1, len(header) + 1) if draw(st.integers(0, 4)) == 0 \
        else st.just(len(header))
    rows = draw(st.lists(width.flatmap(lambda n: st.lists(cell, min_size=n, max_size=n)),
                         max_size=6))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if draw(st.integers(0, 3)):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=newline).writerows([header, *rows])
        text = buffer.getvalue()
    else:
        text = newline.join(",".join(r) for r in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    return text.encode(encoding)


files = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1").encode("utf-8")),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    csv_like(),
)


@settings(max_examples=200, deadline=None)
@given(data=files)
def test_any_file_gives_a_validated_or_a_validation_failed(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "members.csv"
        path.write_bytes(data)
        try:
            raw = read_file(path)
        except ValidationFailed as exc:
            assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
            return
        try:
            result = validate_file(raw, Kind.MEMBERS, today=TODAY)
        except ValidationFailed as exc:
            assert exc.problems and all(p.row in (0, 1) for p in exc.problems)
            return
    assert result.table.num_rows == len(raw) == len(result.rows)
    assert {p.row for p in result.problems} <= set(raw.rows.to_pylist())
    for problem in result.problems:
        assert problem.message("en") and problem.message("zh")


def _integer_cells(raw: RawFile) -> list[str]:
    positions = match_headers(Kind.MEMBERS, raw.headers)
    return [c for name in INTEGER_COLUMNS if name in positions
            for c in raw.table.column(positions[name]).to_pylist() if c is not None]
