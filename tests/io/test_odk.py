"""Reading ODK Central and KoboToolbox exports into survey and member rows."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odk_exports import central_zip, key_of, kobo_csv, kobo_xlsx
from tuopin.domain.errors import ValidationFailed
from tuopin.io import odk_sources
from tuopin.io.odk import OdkExport, load_mapping, read_export
from tuopin.io.schema import Kind
from tuopin.io.validate import validate_file

FORM_ID = "tuopin_2019"
TITLE = "贫困户年度调查 2019"
MESSY = '王五, 又名 "老王"\n二组'
LOWER_X = "62112119800101005x"


def survey(number: str, **values: Any) -> dict[str, Any]:
    row = {"household_number": number, "year": "2019", "household_size": "2",
           "wage_income": "12000", "food_secure": "yes", "clothing_secure": "no",
           "housing_grade": "B", "collected_by": "李四"}
    return {**row, **values}


def member(parent: int, id_number: str, name: str, relation: str = "head") -> dict[str, Any]:
    return {"_parent": parent, "id_number": id_number, "name": name, "relation": relation,
            "sex": "male" if int(id_number[16]) % 2 else "female"}


MAIN = [
    survey("6211210010010001", collected_by=MESSY),
    survey("6211210010010002", household_size="1", _review="rejected"),
    survey("6211210010010003", household_size="1", _instance_id="uuid:second-edit"),
]
MEMBERS = [
    member(0, LOWER_X, "张三"),
    member(0, "621121198502020109", "李梅", "spouse"),
    member(1, "621121198502020117", "王二"),
    member(2, "621121198502020125", "赵六"),
]
GROUPS = {"wage_income": "income", "housing_grade": "home/safety"}


def central(folder: Path, main: list[dict[str, Any]] = MAIN, **options: Any) -> Path:
    repeats = options.pop("repeats", {"members": MEMBERS})
    return central_zip(folder / f"{FORM_ID}.csv.zip", FORM_ID, main, repeats,
                       groups=options.pop("groups", GROUPS), **options)


def kobo(folder: Path, main: list[dict[str, Any]] = MAIN, **options: Any) -> Path:
    repeats = options.pop("repeats", {"members": MEMBERS})
    return kobo_xlsx(folder / "export.xlsx", TITLE, main, repeats,
                     groups=options.pop("groups", GROUPS), **options)


def cells(export: OdkExport) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def named(raw: Any) -> list[dict[str, Any]]:
        return [dict(zip(raw.headers, row.values(), strict=True))
                for row in raw.table.to_pylist()]
    assert export.members is not None
    return named(export.surveys), named(export.members)


def refusal(path: Path, **options: Any) -> str:
    with pytest.raises(ValidationFailed) as caught:
        read_export(path, **options)
    return str(caught.value)


def write_form(path: Path, rows: list[tuple[str, str]], form_id: str = FORM_ID) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "survey"
    sheet.append(["type", "name", "label"])
    for kind, name in rows:
        sheet.append([kind, name, name])
    settings_sheet = book.create_sheet("settings")
    settings_sheet.append(["form_id", "version"])
    settings_sheet.append([form_id, "2019110101"])
    book.save(path)
    return path


@pytest.mark.parametrize("build", [central, kobo], ids=["central", "kobo"])
def test_it_reads_the_surveys_and_members_of_the_submissions_kept(
        tmp_path: Path, build: Any) -> None:
    export = read_export(build(tmp_path))
    surveys, members = cells(export)
    assert [s["household_number"] for s in surveys] == ["6211210010010001", "6211210010010003"]
    assert surveys[0] == {**{k: v for k, v in MAIN[0].items() if not k.startswith("_")}}
    assert surveys[0]["collected_by"] == MESSY
    assert export.surveys.rows.to_pylist() == [2, 4]  # the main table's own rows
    assert [m["name"] for m in members] == ["张三", "李梅", "赵六"]
    assert [m["household_number"] for m in members] == [
        "6211210010010001", "6211210010010001", "6211210010010003"]
    assert members[0]["id_number"] == LOWER_X  # untouched: the importer reads x as X
    assert export.members is not None and export.members.rows.to_pylist() == [2, 3, 5]


@pytest.mark.parametrize("build", [central, kobo], ids=["central", "kobo"])
def test_the_rows_pass_the_importers_checks(tmp_path: Path, build: Any) -> None:
    export = read_export(build(tmp_path))
    assert export.members is not None
    for raw, kind in ((export.surveys, Kind.SURVEYS), (export.members, Kind.MEMBERS)):
        assert validate_file(raw, kind, today=date(2020, 1, 1)).problems == []


def test_a_central_submission_is_known_by_its_key_and_an_edit_by_its_instance_id(
        tmp_path: Path) -> None:
    export = read_export(central(tmp_path))
    first, rejected, edited = export.submissions
    assert export.format == "central" and export.form_id == FORM_ID
    assert edited.instance_id == key_of(2, FORM_ID)
    assert edited.current_id == "uuid:second-edit"
    assert first.current_id == first.instance_id
    assert (rejected.rejected, first.rejected, edited.rejected) == (True, False, False)
    assert (first.submitter, first.form_version, first.row) == ("李四", "2019", 2)
    assert first.submitted_at == "2019-11-01T08:00:00.000Z"
    assert export.survey_of_row == {2: first.instance_id, 4: edited.instance_id}
    assert export.member_of_row == {2: (first.instance_id, 1), 3: (first.instance_id, 2),
                                    5: (edited.instance_id, 1)}


def test_a_kobo_submission_is_known_by_its_root_uuid(tmp_path: Path) -> None:
    export = read_export(kobo(tmp_path))
    first, rejected, edited = export.submissions
    assert export.format == "kobo-xlsx"
    assert edited.instance_id == key_of(2, TITLE).removeprefix("uuid:")
    assert edited.current_id == "second-edit"
    assert rejected.rejected and not first.rejected
    assert export.member_of_row[5] == (edited.instance_id, 1)


def test_a_kobo_export_without_root_uuids_falls_back_on_the_uuid(tmp_path: Path) -> None:
    export = read_export(kobo(tmp_path, root_uuid=False))
    assert export.submissions[2].instance_id == "second-edit"


@pytest.mark.parametrize("group_headers", [True, False])
def test_kobo_headers_with_or_without_groups_read_the_same(
        tmp_path: Path, group_headers: bool) -> None:
    plain = cells(read_export(central(tmp_path)))
    assert cells(read_export(kobo(tmp_path, group_headers=group_headers))) == plain


def test_central_headers_without_group_paths_read_the_same(tmp_path: Path) -> None:
    grouped = cells(read_export(central(tmp_path)))
    (tmp_path / "flat").mkdir()
    assert cells(read_export(central(tmp_path / "flat", group_paths=False))) == grouped


SELECT = {"collected_by": ["li_si", "wang_wu", "zhao_liu"]}
PICKED = [survey("6211210010010001", collected_by="li_si zhao_liu"),
          survey("6211210010010002", collected_by=None)]
PICKED_MEMBERS = [member(0, LOWER_X, "张三"), member(1, "621121198502020109", "李梅")]


def select_form(folder: Path) -> Path:
    return write_form(folder / "form.xlsx", [
        ("text", "household_number"), ("select_multiple enumerators", "collected_by"),
        ("begin_repeat", "members"), ("text", "name"), ("end_repeat", "")])


@pytest.mark.parametrize("split", [False, True])
def test_a_central_select_multiple_reads_the_same_split_or_not(
        tmp_path: Path, split: bool) -> None:
    path = central_zip(tmp_path / "e.csv.zip", FORM_ID, PICKED, {"members": PICKED_MEMBERS},
                       select_multiples=SELECT, split_select_multiples=split)
    if split:  # Central keeps the field's own column: without it, the split ones count
        _drop_column(path, f"{FORM_ID}.csv", "collected_by")
    surveys, _ = cells(read_export(path, form=select_form(tmp_path)))
    assert [s["collected_by"] for s in surveys] == ["li_si zhao_liu", None]


@pytest.mark.parametrize("layout", ["both", "summary", "details"])
def test_a_kobo_select_multiple_reads_the_same_in_every_layout(
        tmp_path: Path, layout: str) -> None:
    path = kobo_xlsx(tmp_path / "e.xlsx", TITLE, PICKED, {"members": PICKED_MEMBERS},
                     select_multiples=SELECT, multiple_select=layout)
    surveys, _ = cells(read_export(path, form=select_form(tmp_path)))
    assert [s["collected_by"] for s in surveys] == ["li_si zhao_liu", None]


def _drop_column(path: Path, entry: str, header: str) -> None:
    import csv
    import io

    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    rows = list(csv.reader(io.StringIO(files[entry].decode(), newline="")))
    at = rows[0].index(header)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:at] + r[at + 1:] for r in rows])
    files[entry] = out.getvalue().encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("bom", [False, True])
def test_central_tables_are_read_with_or_without_a_byte_order_mark(
        tmp_path: Path, bom: bool) -> None:
    surveys, _ = cells(read_export(central(tmp_path, bom=bom)))
    assert surveys[0]["household_number"] == "6211210010010001"
    assert surveys[0]["collected_by"] == MESSY


NO_MEMBERS_FORM = [("text", "household_number"), ("integer", "household_size")]


@pytest.mark.parametrize("bom", [False, True])
def test_a_kobo_csv_is_read_for_a_form_without_repeats(tmp_path: Path, bom: bool) -> None:
    path = kobo_csv(tmp_path / "e.csv", TITLE, MAIN, groups=GROUPS, group_headers=True,
                    bom=bom)
    export = read_export(path, form=write_form(tmp_path / "f.xlsx", NO_MEMBERS_FORM))
    assert export.format == "kobo-csv" and export.members is None
    assert export.surveys.table.column(7).to_pylist() == [MESSY, "李四"]
    assert [s.rejected for s in export.submissions] == [False, True, False]


def test_a_kobo_csv_of_a_form_with_members_is_refused(tmp_path: Path) -> None:
    path = kobo_csv(tmp_path / "e.csv", TITLE, MAIN)
    assert "has no repeat groups" in refusal(path)
    assert "e.csv" in refusal(path)


@pytest.mark.parametrize("kobo_format", [False, True], ids=["central", "kobo"])
def test_a_mapping_reads_another_forms_names_and_choices(
        tmp_path: Path, kobo_format: bool) -> None:
    main = [{"hh_id": "6211210010010001", "year": "2019", "hh_size": "2", "food": "1",
             "clothes": "0", "house": "safe", "collected_by": "李四"}]
    family = [{"_parent": 0, "pid": LOWER_X, "name": "张三", "relation": "head"}]
    path = (kobo_xlsx(tmp_path / "e.xlsx", "省表", main, {"family": family}) if kobo_format
            else central_zip(tmp_path / "e.csv.zip", "province", main, {"family": family}))
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[fields]\nhh_id = "household_number"\nhh_size = "household_size"\n'
        'food = "food_secure"\nclothes = "clothing_secure"\nhouse = "housing_grade"\n'
        'pid = "id_number"\n'
        '[choices.housing_grade]\nsafe = "A"\n[choices.food_secure]\n"1" = "是"\n'
        '[repeats]\nfamily = "members"\n', encoding="utf-8")
    surveys, members = cells(read_export(path, mapping=mapping))
    assert surveys == [{"household_number": "6211210010010001", "year": "2019",
                        "household_size": "2", "food_secure": "是", "clothing_secure": "0",
                        "housing_grade": "A", "collected_by": "李四"}]
    assert members == [{"household_number": "6211210010010001", "id_number": LOWER_X,
                        "name": "张三", "relation": "head"}]


@pytest.mark.parametrize(("text", "says"), [
    ('[fields]\nhh = "household_no"\n', "household_no"),
    ('[columns]\nhh = "household_number"\n', "unknown sections: columns"),
    ('[choices.housing_grade]\nsafe = "Z"\n', "does not accept: Z"),
    ('[choices.nonsense]\nsafe = "A"\n', "nonsense"),
    ('[repeats]\nfamily = "people"\n', "only repeat tuopin reads is members"),
    ('[fields]\nhh = 3\n', "name = \"text\""),
    ("[fields\n", "cannot be read"),
])
def test_a_bad_mapping_is_refused_with_what_is_wrong(
        tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "map.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_mapping(path)
    assert says in str(caught.value) and "map.toml" in str(caught.value)


def test_a_missing_repeat_table_is_refused(tmp_path: Path) -> None:
    message = refusal(central(tmp_path, repeats={}))
    assert "no table of the repeat members" in message and f"{FORM_ID}.csv.zip" in message


def test_a_form_without_members_needs_no_repeat_table(tmp_path: Path) -> None:
    form = write_form(tmp_path / "f.xlsx", NO_MEMBERS_FORM)
    assert read_export(central(tmp_path, repeats={}), form=form).members is None


def test_a_member_of_an_unknown_submission_is_refused(tmp_path: Path) -> None:
    path = central(tmp_path, main=MAIN[:2], repeats={"members": MEMBERS[:3]})
    files = _entries(path)
    files[f"{FORM_ID}-members.csv"] += b"Ghost,X,PARENT,uuid:nobody,uuid:nobody/members[1]\n"
    _rewrite(path, files)
    message = refusal(path)
    assert "belongs to submission uuid:nobody" in message and f"{FORM_ID}.csv.zip" in message


def test_a_kobo_member_whose_parent_does_not_exist_is_refused(tmp_path: Path) -> None:
    path = kobo(tmp_path)
    book = openpyxl.load_workbook(path)
    sheet = book["members"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index("_parent_index") + 1, value=99)
    sheet.cell(row=2, column=header.index("_submission__uuid") + 1, value="ghost")
    book.save(path)
    assert "belongs to submission ghost" in refusal(path)


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(path: Path, files: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("entry", ["../evil.csv", "/etc/passwd", "media/../../x.csv",
                                   "C:/windows/x.csv", "media\\..\\x.csv"])
def test_an_archive_with_a_path_out_of_it_is_refused(tmp_path: Path, entry: str) -> None:
    path = central(tmp_path, extra={entry: b"x"})
    message = refusal(path)
    assert "unsafe name" in message and f"{FORM_ID}.csv.zip" in message


def test_a_table_larger_than_the_limit_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = central(tmp_path)
    monkeypatch.setattr(odk_sources, "MAX_MEMBER_BYTES", 200)
    message = refusal(path)
    assert "more than the 200 bytes" in message and f"{FORM_ID}.csv" in message


def test_tables_larger_than_an_uploads_limit_are_refused(tmp_path: Path) -> None:
    assert "more than the 1,000 bytes" in refusal(central(tmp_path), max_unpacked_bytes=1000)


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = central(tmp_path)
    files = _entries(path)
    files[f"{FORM_ID}-members.csv"] += b"," * (4 << 20)  # 4 MB deflating ~1,000 times
    _rewrite(path, files)
    assert "far more than its packed size" in refusal(path)


def test_more_rows_than_allowed_are_refused(tmp_path: Path) -> None:
    assert "more than 2 rows" in refusal(central(tmp_path), max_rows=2)


def test_a_missing_required_field_is_named(tmp_path: Path) -> None:
    main = [{k: v for k, v in row.items() if k != "housing_grade"} for row in MAIN]
    message = refusal(central(tmp_path, main=main))
    assert "required field housing_grade" in message and f"{FORM_ID}.csv" in message


def test_a_kobo_export_with_label_headers_is_refused(tmp_path: Path) -> None:
    path = kobo(tmp_path, headers={"household_number": "户编号", "year": "Survey year"})
    assert "XML values and headers" in refusal(path)


def test_two_submissions_with_one_key_are_refused(tmp_path: Path) -> None:
    main = [survey("1", _key="uuid:same"), survey("2", _key="uuid:same")]
    assert "uuid:same" in refusal(central(tmp_path, main=main, repeats={"members": []}))


def test_an_encrypted_submission_not_decrypted_is_refused(tmp_path: Path) -> None:
    path = central(tmp_path)
    files = _entries(path)
    files[f"{FORM_ID}.csv"] = files[f"{FORM_ID}.csv"].replace(
        b",0,0,,", b",0,0,not decrypted,", 1)
    _rewrite(path, files)
    assert "not decrypted" in refusal(path)


def test_a_file_that_is_no_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert "neither an ODK Central export" in refusal(path)


def test_a_central_main_table_alone_is_refused_for_a_form_with_members(tmp_path: Path) -> None:
    path = tmp_path / f"{FORM_ID}.csv"
    path.write_bytes(_entries(central(tmp_path))[f"{FORM_ID}.csv"])
    assert "main table of an ODK Central export alone" in refusal(path)


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(
    [",", '"', "\n", "；", "户", "x"]), max_size=12)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(TEXT, min_size=1, max_size=4))
def test_any_text_comes_back_as_it_was_written(tmp_path: Path, names: list[str]) -> None:
    main = [survey(f"62112100100100{i:02d}", collected_by=name) for i, name in enumerate(names)]
    members = [member(i, LOWER_X, name) for i, name in enumerate(names)]
    expected = [name if name.strip() else None for name in names]
    for build in (central, kobo):
        surveys, people = cells(read_export(build(tmp_path, main=main,
                                                  repeats={"members": members})))
        assert [s["collected_by"] for s in surveys] == expected
        assert [p["name"] for p in people] == expected
