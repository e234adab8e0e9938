"""The import page: upload a file, follow its check, read the report, confirm - within the
user's region.

Uploading only stores the file and answers 303 to the upload's page; the check and the
import run in the background. Here the background runs inline (``Inline``), so the page
the 303 leads to already shows the finished check. Tests of the background itself (a
request never parses a file, limits, files removed, hostile files) are in
test_import_uploads.py.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from factories import OTHER_VILLAGE, VILLAGE, write_csv
from tuopin.storage.db import make_engine
from tuopin.storage.models import HouseholdRecord
from tuopin.web.app import create_app
from web.personas import CHEAP, PERSONAS, TODAY_, csrf_of, settings_for
from web.test_access import expect

Client = Callable[[str | None], TestClient]
NEW = f"{VILLAGE}0009"  # a household the registry does not have yet
UNKNOWN = "0" * 32  # an upload id nobody has
EDITORS_ONLY = {"helper": 403, "auditor": 403, "verifier": 403}
UPLOAD_PAGE = re.compile(r"^/import/([0-9a-f]{32})$")
PROBLEM_ROW = re.compile(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>"
                         r"<td class=\"wrap\">([^<]+)</td></tr>")


class Inline(Executor):
    """Background work done at once: the next request sees its result."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        future: Future[object] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


class Recording(Executor):
    """Background work kept, not done: a test runs it by hand with ``run``."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], object]] = []

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.queued.append(functools.partial(fn, *args, **kwargs))
        return Future()

    def run(self) -> int:
        """Do the work submitted so far (and any it submits); returns how many tasks ran."""
        done = 0
        while self.queued:
            self.queued.pop(0)()
            done += 1
        return done


@contextmanager
def running(web_url: str, data_dir: Path, background: Executor,
            **settings: Any) -> Iterator[FastAPI]:
    """The app on ``web_url`` keeping its files in ``data_dir``, its lifespan running."""
    app = create_app(settings_for(web_url, data_dir=data_dir, **settings), hasher=CHEAP,
                     today=lambda: TODAY_, background=background)
    with TestClient(app):
        yield app


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(web_url: str, data_dir: Path) -> Iterator[FastAPI]:
    """The app with a data folder of the test's own and the background run inline."""
    with running(web_url, data_dir, Inline()) as app:
        yield app


# -- helpers ------------------------------------------------------------------------------------

def csv_of(tmp_path: Path, rows: Sequence[Mapping[str, object]]) -> bytes:
    return write_csv(tmp_path / "upload.csv", rows).read_bytes()


def xlsx_of(rows: Sequence[Mapping[str, object]]) -> bytes:
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


def new_household(village: str = VILLAGE, number: str = NEW,
                  status: str = "ordinary") -> dict[str, object]:
    return {"number": number, "village_code": village, "status": status}


def upload(client: TestClient, content: bytes, *, kind: str = "households",
           name: str = "households.csv", **fields: str) -> Response:
    data = {"kind": kind, "csrf_token": csrf_of(client), **fields}
    return client.post("/import", data=data, files={"file": (name, content)})


def id_of(response: Response) -> str:
    """The id of the upload a POST /import stored (it redirects to the upload's page)."""
    assert response.status_code == 303, response.text[:500]
    found = UPLOAD_PAGE.match(response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def page_of(client: TestClient, upload_id: str) -> str:
    response = client.get(f"/import/{upload_id}")
    assert response.status_code == 200, response.text[:500]
    return response.text


def checked(client: TestClient, content: bytes, **options: str) -> tuple[str, str]:
    """Upload ``content``: the upload's id and its page (the check has run)."""
    upload_id = id_of(upload(client, content, **options))
    return upload_id, page_of(client, upload_id)


def state_of(page: str) -> str:
    found = re.search(r'id="upload-status" data-state="(\w+)"', page)
    assert found, "not an upload's page"
    return found.group(1)


def problems_on(page: str) -> list[tuple[str, str, str, str]]:
    """(row, column, value, reason) of every problem the page shows."""
    return PROBLEM_ROW.findall(page)


def confirm(client: TestClient, upload_id: str, **fields: str) -> Response:
    return client.post(f"/import/{upload_id}/confirm",
                       data={"csrf_token": csrf_of(client), **fields})


def cancel(client: TestClient, upload_id: str) -> Response:
    return client.post(f"/import/{upload_id}/cancel", data={"csrf_token": csrf_of(client)})


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


def uploads_in(data_dir: Path) -> list[str]:
    """The upload folders kept in ``data_dir``."""
    folder = data_dir / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- who may ----------------------------------------------------------------------------------

GETS = [
    ("/import", expect(200, **EDITORS_ONLY)),
    ("/import/template/households.xlsx", expect(200, **EDITORS_ONLY)),
    ("/import/template/regions.xlsx", expect(403, admin=200)),
]
UPLOAD_PATHS = [  # (method, path of an upload with this id)
    ("GET", "/import/{id}"),
    ("GET", "/import/{id}/problems.xlsx"),
    ("GET", "/import/{id}/problems.csv"),
    ("POST", "/import/{id}/confirm"),
    ("POST", "/import/{id}/cancel"),
]


def _cases(table: list[tuple[str, dict[str | None, int]]]) -> list[object]:
    return [pytest.param(path, persona, status, id=f"{path} {persona or 'anonymous'}")
            for path, expected in table for persona, status in expected.items()]


def ask(client: TestClient, method: str, path: str) -> Response:
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": csrf_of(client)})


@pytest.mark.parametrize(("path", "persona", "status"), _cases(GETS))
def test_each_persona_sees_the_import_page_and_templates_its_role_allows(
    client_for: Client, path: str, persona: str | None, status: int,
) -> None:
    response = client_for(persona).get(path)
    assert response.status_code == status, response.text[:300]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("persona", "status"),
                         list(expect(404, **EDITORS_ONLY).items()))
def test_an_upload_nobody_made_cannot_be_shown_reported_confirmed_or_cancelled(
    client_for: Client, persona: str | None, status: int,
) -> None:
    client = client_for(persona)
    for method, path in UPLOAD_PATHS:
        response = ask(client, method, path.format(id=UNKNOWN))
        assert response.status_code == status, (method, path, response.text[:300])


@pytest.mark.parametrize(("persona", "status"),
                         list(expect(303, **EDITORS_ONLY).items()))
def test_each_persona_may_upload_a_file_only_if_its_role_allows(
    client_for: Client, tmp_path: Path, data_dir: Path, persona: str | None, status: int,
) -> None:
    client = client_for(persona)
    response = upload(client, csv_of(tmp_path, [new_household()]))
    assert response.status_code == status, response.text[:300]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")
    if status != 303 or persona is None:
        assert uploads_in(data_dir) == []
        return
    assert state_of(page_of(client, id_of(response))) == "checked"


@pytest.mark.parametrize(("persona", "status"), list(expect(403, admin=303).items()))
def test_only_an_administrator_may_import_regions(
    client_for: Client, tmp_path: Path, persona: str | None, status: int,
) -> None:
    client = client_for(persona)
    rows = [{"code": "621121003", "name": "新镇"}]
    response = upload(client, csv_of(tmp_path, rows), kind="regions")
    assert response.status_code == status, response.text[:300]
    if persona == "admin":
        page = page_of(client, id_of(response))
        assert state_of(page) == "checked" and 'id="confirm"' in page


def test_the_page_offers_regions_to_an_administrator_only(client_for: Client) -> None:
    assert 'value="regions"' in client_for("admin").get("/import").text
    page = client_for("county_officer").get("/import").text
    assert 'value="regions"' not in page and 'value="households"' in page
    assert 'href="/import/template/members.xlsx"' in page


# -- CSRF ---------------------------------------------------------------------------------------

def test_an_upload_without_the_csrf_token_is_refused(
    client_for: Client, tmp_path: Path, data_dir: Path,
) -> None:
    client = client_for("village_cadre")
    response = client.post("/import", data={"kind": "households"},
                           files={"file": ("h.csv", csv_of(tmp_path, [new_household()]))})
    assert response.status_code == 403
    assert uploads_in(data_dir) == []


def test_a_confirmation_without_the_csrf_token_is_refused(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = client_for("village_cadre")
    upload_id, _ = checked(client, csv_of(tmp_path, [new_household()]))
    response = client.post(f"/import/{upload_id}/confirm", data={})
    assert response.status_code == 403
    assert households_in(web_url, NEW) == 0
    assert state_of(page_of(client, upload_id)) == "checked"


def test_a_cancellation_without_the_csrf_token_is_refused(
    client_for: Client, tmp_path: Path, data_dir: Path,
) -> None:
    client = client_for("village_cadre")
    upload_id, _ = checked(client, csv_of(tmp_path, [new_household()]))
    response = client.post(f"/import/{upload_id}/cancel", data={})
    assert response.status_code == 403
    assert uploads_in(data_dir) == [upload_id]
    assert state_of(page_of(client, upload_id)) == "checked"


# -- the report and the confirmation ----------------------------------------------------------

def test_a_bad_row_is_reported_with_its_row_column_and_reason_and_nothing_is_written(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = in_english(client_for("village_cadre"))
    rows = [new_household(), new_household(number=f"{VILLAGE}0010", status="rich")]
    _, page = checked(client, csv_of(tmp_path, rows))
    assert state_of(page) == "checked"
    found = problems_on(page)
    assert [(row, column, value) for row, column, value, _ in found] == [
        ("3", "status", "rich")]
    assert found[0][3].strip()  # a reason
    assert 'id="count-rejected">1<' in page
    assert 'id="count-inserted">1<' in page  # what skipping the bad row would do
    assert 'id="confirm"' not in page and 'id="confirm-skip"' in page
    assert households_in(web_url, NEW, f"{VILLAGE}0010") == 0


def test_a_clean_file_is_imported_on_confirmation_and_the_household_can_be_found(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = client_for("village_cadre")
    upload_id, report = checked(client, csv_of(tmp_path, [new_household()]))
    assert 'id="confirm"' in report and 'id="problems"' not in report
    assert 'id="count-inserted">1<' in report  # what the confirmation would do
    assert households_in(web_url, NEW) == 0
    done = confirm(client, upload_id)
    assert done.status_code == 303 and done.headers["location"] == f"/import/{upload_id}"
    page = page_of(client, upload_id)
    assert state_of(page) == "imported"
    assert 'id="count-inserted">1<' in page and 'id="confirm"' not in page
    assert households_in(web_url, NEW) == 1
    assert NEW in client.get("/households", params={"q": NEW}).text


def test_a_file_is_confirmed_once_and_only_by_who_uploaded_it(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    upload_id, _ = checked(cadre, csv_of(tmp_path, [new_household()]))
    for method, path in UPLOAD_PATHS:
        response = ask(officer, method, path.format(id=upload_id))
        assert response.status_code == 404, (method, path)
    assert households_in(web_url, NEW) == 0
    assert state_of(page_of(cadre, upload_id)) == "checked"  # the officer cancelled nothing
    assert confirm(cadre, upload_id).status_code == 303
    assert households_in(web_url, NEW) == 1
    again = confirm(cadre, upload_id)
    assert again.status_code == 400
    assert state_of(page_of(cadre, upload_id)) == "imported"
    assert households_in(web_url, NEW) == 1


@pytest.mark.parametrize("persona", [p for p in (*PERSONAS, None) if p != "village_cadre"])
def test_an_upload_is_its_uploaders_alone(
    client_for: Client, tmp_path: Path, persona: str | None,
) -> None:
    upload_id, _ = checked(client_for("village_cadre"), csv_of(tmp_path, [new_household()]))
    expected = expect(404, **EDITORS_ONLY)[persona]
    client = client_for(persona)
    for method, path in UPLOAD_PATHS:
        response = ask(client, method, path.format(id=upload_id))
        assert response.status_code == expected, (method, path, response.text[:300])


def test_a_village_cadre_importing_a_household_of_another_village_gets_a_problem(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = in_english(client_for("village_cadre"))
    other = f"{OTHER_VILLAGE}0009"
    _, page = checked(client, csv_of(tmp_path, [new_household(OTHER_VILLAGE, other)]))
    assert f"Village {OTHER_VILLAGE} is outside your region." in page
    assert 'id="confirm"' not in page and 'id="confirm-skip"' not in page
    assert households_in(web_url, other) == 0
    # the county officer's region holds both villages
    _, page = checked(client_for("county_officer"),
                      csv_of(tmp_path, [new_household(OTHER_VILLAGE, other)]))
    assert 'id="confirm"' in page


def test_skipping_the_invalid_rows_imports_the_others_only(
    client_for: Client, web_url: str, tmp_path: Path,
) -> None:
    client = client_for("village_cadre")
    other = f"{OTHER_VILLAGE}0009"
    rows = [new_household(), new_household(OTHER_VILLAGE, other)]
    upload_id, page = checked(client, csv_of(tmp_path, rows))
    assert 'id="confirm-skip"' in page
    # a confirmation that does not skip them writes nothing; the upload stays checked
    confirm(client, upload_id)
    assert households_in(web_url, NEW, other) == 0
    assert state_of(page_of(client, upload_id)) == "checked"
    assert confirm(client, upload_id, skip_invalid="true").status_code == 303
    done = page_of(client, upload_id)
    assert state_of(done) == "imported"
    assert 'id="count-rejected">1<' in done and 'id="count-inserted">1<' in done
    assert households_in(web_url, NEW) == 1 and households_in(web_url, other) == 0


def test_an_xlsx_file_is_checked_and_imported(client_for: Client, web_url: str) -> None:
    client = client_for("county_officer")
    upload_id, page = checked(client, xlsx_of([new_household()]), name="农户.xlsx")
    assert state_of(page) == "checked" and 'id="confirm"' in page and "农户.xlsx" in page
    confirm(client, upload_id)
    assert state_of(page_of(client, upload_id)) == "imported"
    assert households_in(web_url, NEW) == 1


def test_the_problems_download_lists_every_problem(
    client_for: Client, tmp_path: Path,
) -> None:
    client = in_english(client_for("village_cadre"))
    rows = [new_household(number=f"{VILLAGE}{i:04d}", status="rich") for i in range(10, 260)]
    upload_id, page = checked(client, csv_of(tmp_path, rows))
    assert page.count('<td class="wrap">') == 200
    assert 'id="problems-shown"' in page and "(250)" in page
    assert f'href="/import/{upload_id}/problems.xlsx"' in page
    response = client.get(f"/import/{upload_id}/problems.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None and sheet.max_row == 1 + 250
    assert [c.value for c in sheet[1]] == ["row", "column", "value", "reason"]
    csv_report = client.get(f"/import/{upload_id}/problems.csv")
    assert csv_report.status_code == 200
    assert csv_report.headers["content-type"].startswith("text/csv")
    assert csv_report.text.count("\n") == 1 + 250
    assert client.get(f"/import/{upload_id}/problems.pdf").status_code == 404


# -- files refused as a whole -------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content"), [
    ("households.txt", b"number\n1\n"),
    ("households.xlsx", b"number,village_code\n"),  # a CSV file named .xlsx
    ("households.csv", b""),
])
def test_a_file_that_is_not_a_csv_or_xlsx_file_is_refused_on_the_form_with_the_reason(
    client_for: Client, data_dir: Path, name: str, content: bytes,
) -> None:
    response = upload(client_for("village_cadre"), content, name=name, kind="members")
    assert response.status_code == 400
    assert 'id="file-problems"' in response.text
    assert '<option value="members" selected>' in response.text
    assert uploads_in(data_dir) == []


def test_a_file_whose_columns_match_nothing_fails_with_the_problem_shown(
    client_for: Client, tmp_path: Path,
) -> None:
    client = in_english(client_for("village_cadre"))
    upload_id, page = checked(client, csv_of(tmp_path, [{"foo": 1}]), kind="members")
    assert state_of(page) == "failed"
    assert 'id="refused"' in page and "matches no column of members" in page
    assert 'id="confirm"' not in page and 'id="confirm-skip"' not in page
    assert 'id="again"' in page
    report = client.get(f"/import/{upload_id}/problems.csv")
    assert "matches no column of members" in report.text
