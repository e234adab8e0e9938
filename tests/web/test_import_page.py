"""The import page: upload, read the validation report, confirm - within the user's region."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from factories import OTHER_VILLAGE, VILLAGE, households, write_csv
from tuopin.storage.db import make_engine
from tuopin.storage.models import HouseholdRecord
from tuopin.web.app import create_app
from web.personas import CHEAP, TODAY_, csrf_of, settings_for
from web.test_access import expect

Client = Callable[[str | None], TestClient]
NEW = f"{VILLAGE}0009"  # a household the registry does not have yet
UNKNOWN = "0" * 64
EDITORS_ONLY = {"helper": 403, "auditor": 403, "verifier": 403}


@pytest.fixture
def app(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    settings = settings_for(web_url, data_dir=tmp_path / "data")
    app = create_app(settings, hasher=CHEAP, today=lambda: TODAY_)
    with TestClient(app):
        yield app


def csv_of(tmp_path: Path, rows: Sequence[Mapping[str, object]]) -> bytes:
    return write_csv(tmp_path / "upload.csv", rows).read_bytes()


def new_household(village: str = VILLAGE, number: str = NEW,
                  status: str = "ordinary") -> dict[str, object]:
    return {"number": number, "village_code": village, "status": status}


def upload(client: TestClient, content: bytes, *, kind: str = "households",
           name: str = "households.csv", **fields: str) -> Response:
    data = {"kind": kind, "csrf_token": csrf_of(client), **fields}
    return client.post("/import", data=data, files={"file": (name, content)})


def sha_of(page: str) -> str:
    found = re.search(r'action="/import/([0-9a-f]{64})/', page)
    assert found, "the report offers no action on the file"
    return found.group(1)


def confirm(client: TestClient, sha: str, kind: str = "households",
            **fields: str) -> Response:
    return client.post(f"/import/{sha}/confirm",
                       data={"kind": kind, "csrf_token": csrf_of(client), **fields})


def in_english(client: TestClient) -> TestClient:
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(client)})
    return client


def households_in(url: str, *numbers: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(HouseholdRecord)
                                .where(HouseholdRecord.number.in_(numbers))).scalar_one()
    finally:
        engine.dispose()


def xlsx_of(rows: list[dict[str, object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    header = list(rows[0])
    sheet.append(header)
    for row in rows:
        sheet.append([row[name] for name in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- who may ----------------------------------------------------------------------------------

GETS = [
    ("/import", expect(200, **EDITORS_ONLY)),
    ("/import/template/households.xlsx", expect(200, **EDITORS_ONLY)),
    ("/import/template/regions.xlsx", expect(403, admin=200)),
]
POSTS = [  # (path, form, expected) for a file nobody checked
    (f"/import/{UNKNOWN}/confirm", {"kind": "households"}, expect(404, **EDITORS_ONLY)),
    (f"/import/{UNKNOWN}/problems", {"kind": "households", "fmt": "xlsx"},
     expect(404, **EDITORS_ONLY)),
]


def _cases(table: list[tuple[str, dict[str | None, int]]]) -> list[object]:
    return [pytest.param(path, persona, status, id=f"{path} {persona or 'anonymous'}")
            for path, expected in table for persona, status in expected.items()]


@pytest.mark.parametrize(("path", "persona", "status"), _cases(GETS))
def test_each_persona_sees_the_import_page_and_templates_its_role_allows(
    client_for: Client, path: str, persona: str | None, status: int,
) -> None:
    response = client_for(persona).get(path)
    assert response.status_code == status, response.text[:300]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("path", "persona", "status"),
                         _cases([(p, t) for p, _, t in POSTS]))
def test_a_file_nobody_checked_cannot_be_confirmed_or_reported(
    client_for: Client, path: str, persona: str | None, status: int,
) -> None:
    form = next(f for p, f, _ in POSTS if p == path)
    client = client_for(persona)
    response = client.post(path, data={**form, "csrf_token": csrf_of(client)})
    assert response.status_code == status, response.text[:300]


@pytest.mark.parametrize(("persona", "status"), list(expect(200, **EDITORS_ONLY).items()))
def test_each_persona_may_upload_a_file_only_if_its_role_allows(
    client_for: Client, tmp_path: Path, persona: str | None, status: int,
) -> None:
    response = upload(client_for(persona), csv_of(tmp_path, [new_household()]))
    assert response.status_code == status, response.text[:300]


@pytest.mark.parametrize(("persona", "status"),
                         list(expect(403, admin=200).items()))
def test_only_an_administrator_may_import_regions(
    client_for: Client, tmp_path: Path, persona: str | None, status: int,
) -> None:
    rows = [{"code": "621121003", "name": "新镇"}]
    response = upload(client_for(persona), csv_of(tmp_path, rows), kind="regions")
    assert response.status_code == status, response.text[:300]


def test_the_page_offers_regions_to_an_administrator_only(client_for: Client) -> None:
    assert 'value="regions"' in client_for("admin").get("/import").text
    page = client_for("county_officer").get("/import").text
    assert 'value="regions"' not in page and 'value="households"' in page
    assert 'href="/import/template/members.xlsx"' in page


def test_an_upload_without_the_csrf_token_is_refused(
    client_for: Client, app: FastAPI, tmp_path: Path,
) -> None:
    client = client_for("village_cadre")
    response = client.post("/import", data={"kind": "households"},
                           files={"file": ("h.csv", csv_of(tmp_path, [new_household()]))})
    assert response.status_code == 403
    assert not (tmp_path / "data" / "uploads").exists()


def test_a_confirmation_without_the_csrf_token_is_refused(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = client_for("village_cadre")
    sha = sha_of(upload(client, csv_of(tmp_path, [new_household()])).text)
    response = client.post(f"/import/{sha}/confirm", data={"kind": "households"})
    assert response.status_code == 403
    assert households_in(web_url, NEW) == 0


# -- the report and the confirmation ----------------------------------------------------------

def test_a_bad_row_is_reported_with_its_row_column_and_reason_and_nothing_is_written(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = in_english(client_for("village_cadre"))
    rows = [new_household(), new_household(number=f"{VILLAGE}0010", status="rich")]
    response = upload(client, csv_of(tmp_path, rows))
    assert response.status_code == 200
    problems = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>"
                          r"<td class=\"wrap\">([^<]+)</td></tr>", response.text)
    assert [(row, column, value) for row, column, value, _ in problems] == [
        ("3", "status", "rich")]
    assert 'id="count-rejected">1<' in response.text
    assert 'id="count-inserted">1<' in response.text  # what skipping the bad row would do
    assert 'id="confirm"' not in response.text and 'id="confirm-skip"' in response.text
    assert households_in(web_url, NEW, f"{VILLAGE}0010") == 0


def test_a_clean_file_is_imported_on_confirmation_and_the_household_can_be_found(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = client_for("village_cadre")
    report = upload(client, csv_of(tmp_path, [new_household()]))
    assert 'id="confirm"' in report.text and households_in(web_url, NEW) == 0
    done = confirm(client, sha_of(report.text))
    assert done.status_code == 200
    assert 'id="count-inserted">1<' in done.text
    assert 'class="flash"' in done.text
    assert households_in(web_url, NEW) == 1
    assert NEW in client.get("/households", params={"q": NEW}).text


def test_a_file_is_confirmed_once_and_only_by_who_checked_it(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    sha = sha_of(upload(cadre, csv_of(tmp_path, [new_household()])).text)
    assert confirm(officer, sha).status_code == 404
    assert confirm(cadre, sha, kind="members").status_code == 404
    assert households_in(web_url, NEW) == 0
    assert confirm(cadre, sha).status_code == 200
    assert confirm(cadre, sha).status_code == 404


def test_a_village_cadre_importing_a_household_of_another_village_gets_a_problem(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = in_english(client_for("village_cadre"))
    other = f"{OTHER_VILLAGE}0009"
    response = upload(client, csv_of(tmp_path, [new_household(OTHER_VILLAGE, other)]))
    assert f"Village {OTHER_VILLAGE} is outside your region." in response.text
    assert 'id="confirm"' not in response.text
    assert households_in(web_url, other) == 0
    # the county officer's region holds both villages
    assert 'id="confirm"' in upload(client_for("county_officer"),
                                    csv_of(tmp_path, [new_household(OTHER_VILLAGE, other)])).text


def test_skipping_the_invalid_rows_imports_the_others_only(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = client_for("village_cadre")
    rows = [new_household(), new_household(OTHER_VILLAGE, f"{OTHER_VILLAGE}0009")]
    sha = sha_of(upload(client, csv_of(tmp_path, rows)).text)
    assert confirm(client, sha).status_code == 400
    assert households_in(web_url, NEW) == 0
    done = confirm(client, sha, skip_invalid="true")
    assert 'id="count-rejected">1<' in done.text
    assert households_in(web_url, NEW, f"{OTHER_VILLAGE}0009") == 1


def test_an_xlsx_file_is_checked_and_imported(
    client_for: Client, web_url: str,
) -> None:
    client = client_for("county_officer")
    report = upload(client, xlsx_of([new_household()]), name="农户.xlsx")
    assert report.status_code == 200 and 'id="confirm"' in report.text
    confirm(client, sha_of(report.text))
    assert households_in(web_url, NEW) == 1


def test_the_problems_download_lists_every_problem(
    client_for: Client, tmp_path: Path,
) -> None:
    client = in_english(client_for("village_cadre"))
    rows = [new_household(number=f"{VILLAGE}{i:04d}", status="rich") for i in range(10, 260)]
    report = upload(client, csv_of(tmp_path, rows))
    assert report.text.count('<td class="wrap">') == 200
    assert 'id="problems-shown"' in report.text and "(250)" in report.text
    response = client.post(f"/import/{sha_of(report.text)}/problems",
                           data={"kind": "households", "fmt": "xlsx",
                                 "csrf_token": csrf_of(client)})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None and sheet.max_row == 1 + 250
    csv_report = client.post(f"/import/{sha_of(report.text)}/problems",
                             data={"kind": "households", "fmt": "csv",
                                   "csrf_token": csrf_of(client)})
    assert csv_report.text.count("\n") == 1 + 250


@pytest.mark.parametrize(("name", "content"), [
    ("households.txt", b"number\n1\n"),
    ("households.xlsx", b"number,village_code\n"),  # a CSV file named .xlsx
    ("households.csv", b""),
])
def test_a_file_that_is_not_a_csv_or_xlsx_file_is_refused_with_the_reason(
    client_for: Client, name: str, content: bytes,
) -> None:
    response = upload(client_for("village_cadre"), content, name=name)
    assert response.status_code == 400
    assert 'id="file-problems"' in response.text


def test_a_file_whose_columns_match_nothing_is_shown_again_on_the_form(
    client_for: Client, tmp_path: Path,
) -> None:
    response = upload(in_english(client_for("village_cadre")),
                      csv_of(tmp_path, [{"foo": 1}]), kind="members")
    assert response.status_code == 400
    assert "matches no column of members" in response.text
    assert '<option value="members" selected>' in response.text


def test_a_second_upload_of_the_same_bytes_is_stored_once(
    client_for: Client, tmp_path: Path,
) -> None:
    content = csv_of(tmp_path, households(1))
    for persona in ("village_cadre", "county_officer"):
        upload(client_for(persona), content)
    assert len(list((tmp_path / "data" / "uploads").iterdir())) == 1
