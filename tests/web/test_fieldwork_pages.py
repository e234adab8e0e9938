"""Field collection in the web: a region's page offers its survey form and households file;
the import page takes ODK Central and KoboToolbox exports (checked, then confirmed); the
household page says which submission a survey came from. Each persona, including one
outside the region, gets only what its role and region allow."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from factories import OTHER_VILLAGE, VILLAGE, person_id
from odk_exports import central_zip, key_of
from web.personas import HEADS, MINE, OUTSIDE_VILLAGE, TOWNSHIP
from web.test_access import expect
from web.test_import_page import (
    confirm,
    households_in,
    id_of,
    page_of,
    state_of,
    upload,
    uploads_in,
)

Client = Callable[[str | None], TestClient]
FORM_ID = "tuopin_cn_national_2026"
YEAR = "2026"
NEWBORN = person_id(date(2026, 3, 1), 62)


def survey(number: str, **values: Any) -> dict[str, Any]:
    return {"household_number": number, "year": YEAR, "household_size": "3",
            "wage_income": "8000", "food_secure": "yes", "clothing_secure": "yes",
            "housing_grade": "B", **values}


def export(tmp_path: Path, numbers: list[str], *, child_id: str = NEWBORN,
           **values: Any) -> bytes:
    main = [survey(n, **values) for n in numbers]
    people = [{"_parent": 0, "id_number": child_id, "name": "小宝", "relation": "child"}]
    path = central_zip(tmp_path / "export.csv.zip", FORM_ID, main, {"members": people})
    return path.read_bytes()


def send(client: TestClient, content: bytes) -> Any:
    return upload(client, content, kind="odk", name=f"{FORM_ID}.csv.zip")


# -- the region page's downloads ----------------------------------------------------------------

DOWNLOADS = [
    (f"/fieldwork/{VILLAGE}/form.xlsx?year=2026",
     expect(200, other_cadre=403, outsider=403)),
    (f"/fieldwork/{TOWNSHIP}/form.xlsx?year=2026",
     expect(200, village_cadre=403, other_cadre=403, outsider=403)),
    (f"/fieldwork/{VILLAGE}/households.csv",
     expect(200, other_cadre=403, outsider=403, helper=403)),
    (f"/fieldwork/{VILLAGE}/households.csv?layout=entities",
     expect(200, other_cadre=403, outsider=403, helper=403)),
    (f"/fieldwork/{OUTSIDE_VILLAGE}/households.csv",
     expect(403, outsider=200, helper=403, admin=200)),
]


def _cases(table: list[tuple[str, dict[str | None, int]]]) -> list[Any]:
    return [pytest.param(path, persona, status, id=f"{path} {persona or 'anonymous'}")
            for path, expected in table for persona, status in expected.items()]


@pytest.mark.parametrize(("path", "persona", "status"), _cases(DOWNLOADS))
def test_each_persona_downloads_the_field_files_of_its_own_region_only(
        client_for: Client, path: str, persona: str | None, status: int) -> None:
    if persona is None:
        status = 303
    response = client_for(persona).get(path)
    assert response.status_code == status, response.text[:300]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


def test_the_households_file_names_households_and_heads_but_no_id_number(
        client_for: Client) -> None:
    text = client_for("county_officer").get(f"/fieldwork/{VILLAGE}/households.csv").text
    lines = text.splitlines()
    assert lines[0].startswith("name,label,number")
    assert {line.split(",")[0] for line in lines[1:]} == set(MINE)
    assert "户主0" in text
    assert not any(head in text for head in HEADS)
    assert not re.search(r"\d{17}[\dXx]", text)


def test_the_form_is_made_for_the_area(client_for: Client) -> None:
    response = client_for("village_cadre").get(f"/fieldwork/{VILLAGE}/form.xlsx?year=2026")
    book = load_workbook(io.BytesIO(response.content))
    settings = dict(zip(*[[c.value for c in row] for row in book["settings"].iter_rows()],
                        strict=False))
    assert settings["form_id"] == f"{FORM_ID}_{VILLAGE}"
    assert 'filename="' in response.headers["content-disposition"]


def test_a_standard_is_named_never_a_path(client_for: Client) -> None:
    client = client_for("admin")
    for name in ("../../pyproject.toml", "pyproject.toml", "nope"):
        response = client.get(f"/fieldwork/{VILLAGE}/form.xlsx",
                              params={"year": 2026, "standard": name})
        assert response.status_code == 404, name


def test_the_region_page_offers_the_field_files_to_those_who_may_export(
        client_for: Client) -> None:
    page = client_for("village_cadre").get(f"/regions?root={VILLAGE}").text
    assert f'action="/fieldwork/{VILLAGE}/form.xlsx"' in page
    assert f"/fieldwork/{VILLAGE}/households.csv" in page
    assert 'id="fieldwork"' not in client_for("helper").get(f"/regions?root={VILLAGE}").text


# -- the import page takes exports ------------------------------------------------------------

@pytest.mark.parametrize(("persona", "status"),
                         list(expect(303, helper=403, auditor=403, verifier=403).items()))
def test_each_persona_may_upload_an_export_only_if_its_role_allows(
        client_for: Client, tmp_path: Path, data_dir: Path, persona: str | None,
        status: int) -> None:
    client = client_for(persona)
    response = send(client, export(tmp_path, [MINE[0]]))
    assert response.status_code == status, response.text[:300]
    if status != 303 or persona is None:
        assert uploads_in(data_dir) == []


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_an_export_is_checked_then_imported_and_the_household_page_names_its_submission(
        client_for: Client, tmp_path: Path) -> None:
    client = client_for("village_cadre")
    upload_id = id_of(send(client, export(tmp_path, [MINE[0]])))
    page = page_of(client, upload_id)
    assert state_of(page) == "checked", page[:2000]
    assert 'id="count-surveys">1 / 0 / 0' in page
    assert 'id="confirm"' in page and 'id="confirm-skip"' not in page
    assert confirm(client, upload_id).status_code == 303
    assert state_of(page_of(client, upload_id)) == "imported"
    household = client.get(f"/households/{MINE[0]}").text
    assert key_of(0, FORM_ID) in household and 'id="survey-sources"' in household


def test_an_export_with_a_bad_answer_shows_the_submission_and_field(
        client_for: Client, tmp_path: Path) -> None:
    client = client_for("village_cadre")
    bad = NEWBORN[:-1] + ("0" if NEWBORN[-1] != "0" else "1")
    upload_id = id_of(send(client, export(tmp_path, [MINE[0]], child_id=bad)))
    page = page_of(client, upload_id)
    assert state_of(page) == "checked"
    assert key_of(0, FORM_ID) in page and "members[1]/id_number" in page
    assert 'id="confirm"' not in page and 'id="confirm-skip"' not in page
    assert confirm(client, upload_id, skip_invalid="true").status_code == 400
    assert state_of(page_of(client, upload_id)) == "checked"


def test_an_export_for_another_villages_households_is_refused(
        client_for: Client, tmp_path: Path, web_url: str) -> None:
    client = client_for("other_cadre")
    upload_id = id_of(send(client, export(tmp_path, [MINE[0]], wage_income="1")))
    page = page_of(client, upload_id)
    assert state_of(page) == "checked" and 'id="confirm"' not in page
    assert households_in(web_url, MINE[0]) == 1  # the household itself is untouched
    outsider = client_for("outsider")
    assert state_of(page_of(outsider, id_of(send(outsider, export(
        tmp_path, [OTHER_VILLAGE + "0001"]))))) == "checked"


def test_a_file_that_is_not_an_export_is_refused_with_its_name(
        client_for: Client, tmp_path: Path) -> None:
    client = client_for("village_cadre")
    response = upload(client, b"not a zip at all", kind="odk", name="export.csv.zip")
    assert response.status_code == 400
    assert "export.csv.zip" in response.text
