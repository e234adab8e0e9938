"""Background jobs in the browser: the list, a job's page, its file, cancelling, and the
forms that start an export, an assessment run and a funds check - for every persona.

A user sees their own jobs; an administrator and a county officer also see the jobs started
in their region (Action.SUPERVISE_JOBS); to anyone else a job is not found (404). The app
runs its jobs inline (``Inline``), so the page a start redirects to shows the job ended;
a job started through the services stays queued (nobody runs it).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import load_workbook
from sqlalchemy import func, select

from factories import COUNTY, OTHER_VILLAGE, VILLAGE
from tuopin.domain.enums import JobState, Role
from tuopin.domain.errors import Message, RuleBroken
from tuopin.i18n import gettext
from tuopin.services.access import users
from tuopin.services.access.masking import MASKS
from tuopin.services.access.policy import NOT_ALLOWED, Action, role_may
from tuopin.services.access.principal import Principal
from tuopin.services.jobs import queue, starts
from tuopin.storage.models import JobRecord, UserRecord
from web.personas import (
    BANK,
    MINE,
    OTHERS,
    OUTSIDE_COUNTY,
    PERSONAS,
    PHONE,
    TODAY_,
    TOWNSHIP,
    add_account,
    csrf_of,
)
from web.test_access import ALL

Clients = Callable[[str | None], TestClient]
TOWNSHIP_OFFICER = "township_officer"  # not among the shared personas: added here
PEOPLE = (*ALL, TOWNSHIP_OFFICER)
ROLES = {**{p: PERSONAS[p].role for p in ALL}, TOWNSHIP_OFFICER: Role.TOWNSHIP_OFFICER}
JOB_PAGE = re.compile(r"^/jobs/([0-9a-f]{32})$")
LISTED = re.compile(r'<tr id="job-([0-9a-f]{32})">')
UNKNOWN = "0" * 32
# who may see a village cadre's job: the cadre, and those who supervise the county's jobs
SEES_CADRES_JOB = frozenset({"village_cadre", "county_officer", "admin"})
EXPORT_FORM = {"kind": "households", "format": "csv"}


@pytest.fixture(autouse=True)
def township_officer(app: FastAPI) -> None:
    """An officer of VILLAGE's township: may export and check funds, supervises nobody."""
    add_account(app, TOWNSHIP_OFFICER, Role.TOWNSHIP_OFFICER, TOWNSHIP)


# -- helpers ----------------------------------------------------------------------------------

def post(client: TestClient, path: str, form: dict[str, str] | None = None, *,
         token: bool = True) -> Response:
    data = dict(form or {})
    if token:
        data["csrf_token"] = csrf_of(client, "/jobs")
    return client.post(path, data=data)


def started(response: Response) -> str:
    """The id of the job a start form redirected to."""
    assert response.status_code == 303, response.text[:500]
    found = JOB_PAGE.match(response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def principal_of(app: FastAPI, persona: str) -> Principal:
    """The persona's principal, as their session in the browser has it."""
    with app.state.web.sessions() as db:
        record = db.scalars(select(UserRecord).where(
            UserRecord.username == persona.replace("_", "-"))).one()
        return users.principal_of(db, user=users.user_of(record))


def queued_export(app: FastAPI, persona: str) -> str:
    """An export started through the services: nobody runs it, so it stays queued."""
    with app.state.web.sessions() as db, db.begin():
        return starts.start_export(db, principal=principal_of(app, persona), kind="households")


def job_count(app: FastAPI) -> int:
    with app.state.web.sessions() as db:
        return db.scalar(select(func.count()).select_from(JobRecord)) or 0


def result_of(app: FastAPI, job_id: str) -> dict[str, object]:
    """What a job left (its summary), as the store keeps it."""
    with app.state.web.sessions() as db:
        record = db.get(JobRecord, job_id)
        assert record is not None
        return dict(json.loads(record.result or "{}"))


def state_of(html: str) -> str:
    found = re.search(r'id="job-status" data-state="(\w+)"', html)
    assert found, html[:1000]
    return found.group(1)


def rows_of(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def cadres_export(client_for: Clients) -> Iterator[str]:
    """The village cadre's households export, run to its end; its id."""
    yield started(post(client_for("village_cadre"), "/jobs/export", EXPORT_FORM))


# -- the list -----------------------------------------------------------------------------------

def test_anonymous_visitors_are_sent_to_the_login(client_for: Clients) -> None:
    client = client_for(None)
    for path in ("/jobs", f"/jobs/{UNKNOWN}", f"/jobs/{UNKNOWN}/file"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("persona", PEOPLE)
def test_the_list_shows_each_persona_only_the_jobs_it_may_see(
    app: FastAPI, client_for: Clients, persona: str,
) -> None:
    # everyone who may export starts one (the helper may not); none of them runs
    owners = {queued_export(app, p): p for p in PEOPLE if role_may(ROLES[p], Action.EXPORT)}
    in_county = {j for j, p in owners.items()
                 if p not in ("outsider", "admin")}  # the admin's job has no region
    visible = {
        "admin": set(owners),
        "county_officer": in_county,
    }.get(persona, {j for j, p in owners.items() if p == persona})
    response = client_for(persona).get("/jobs")
    assert response.status_code == 200
    assert set(LISTED.findall(response.text)) == visible
    assert (gettext("No jobs yet.", "zh") in response.text) == (not visible)


@pytest.mark.parametrize("persona", PEOPLE)
def test_the_list_offers_only_the_forms_the_role_may_use(client_for: Clients,
                                                          persona: str) -> None:
    html = client_for(persona).get("/jobs").text
    role = ROLES[persona]
    assert ('id="start-assess"' in html) == role_may(role, Action.ASSESS)
    assert ('id="start-export"' in html) == role_may(role, Action.EXPORT)
    assert ('id="start-funds-check"' in html) == role_may(role, Action.CHECK_FUNDS)


# -- an export: its page, its file, who sees it --------------------------------------------------

def test_a_cadres_export_ends_done_with_a_download_link(client_for: Clients,
                                                          cadres_export: str) -> None:
    page = client_for("village_cadre").get(f"/jobs/{cadres_export}")
    assert page.status_code == 200
    assert state_of(page.text) == "done"
    assert f'href="/jobs/{cadres_export}/file"' in page.text
    assert 'id="job-cancel"' not in page.text  # an ended job offers no cancel
    assert "hx-trigger" not in page.text  # and is not polled any more


def test_the_cadres_file_has_only_their_villages_households_masked(
    client_for: Clients, cadres_export: str,
) -> None:
    response = client_for("village_cadre").get(f"/jobs/{cadres_export}/file")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "households.csv" in response.headers["content-disposition"]
    rows = rows_of(response.content)
    assert sorted(r["number"] for r in rows) == MINE
    first = next(r for r in rows if r["number"] == MINE[0])
    assert first["phone"] == MASKS["phone"](PHONE) != PHONE
    assert first["bank_account"] == MASKS["bank_account"](BANK) != BANK
    assert PHONE.encode() not in response.content and BANK.encode() not in response.content


def test_a_county_officers_file_shows_the_numbers_in_full(client_for: Clients) -> None:
    client = client_for("county_officer")
    job = started(post(client, "/jobs/export", {**EXPORT_FORM, "region": VILLAGE}))
    response = client.get(f"/jobs/{job}/file")
    assert response.status_code == 200
    assert f"households-{VILLAGE}.csv" in response.headers["content-disposition"]
    rows = rows_of(response.content)
    assert sorted(r["number"] for r in rows) == MINE  # the region asked for, no more
    first = next(r for r in rows if r["number"] == MINE[0])
    assert (first["phone"], first["bank_account"]) == (PHONE, BANK)


def test_a_county_officers_export_covers_the_county_only(client_for: Clients) -> None:
    client = client_for("county_officer")
    job = started(post(client, "/jobs/export", EXPORT_FORM))
    rows = rows_of(client.get(f"/jobs/{job}/file").content)
    assert sorted(r["number"] for r in rows) == sorted(MINE + OTHERS)


@pytest.mark.parametrize("persona", PEOPLE)
def test_a_cadres_job_and_its_file_are_found_only_by_who_may_see_them(
    client_for: Clients, cadres_export: str, persona: str,
) -> None:
    client = client_for(persona)
    status = 200 if persona in SEES_CADRES_JOB else 404
    page = client.get(f"/jobs/{cadres_export}")
    assert page.status_code == status, page.text[:500]
    assert client.get(f"/jobs/{cadres_export}/file").status_code == status
    if status == 404:  # nothing of the job shows (the path itself is in the language form)
        assert 'id="job-status"' not in page.text


@pytest.mark.parametrize("persona", ["village_cadre", "admin"])
def test_an_unknown_job_is_not_found(client_for: Clients, persona: str) -> None:
    client = client_for(persona)
    assert client.get(f"/jobs/{UNKNOWN}").status_code == 404
    assert client.get(f"/jobs/{UNKNOWN}/file").status_code == 404
    assert post(client, f"/jobs/{UNKNOWN}/cancel").status_code == 404


def test_a_queued_job_has_no_file_yet(app: FastAPI, client_for: Clients) -> None:
    job = queued_export(app, "village_cadre")
    client = client_for("village_cadre")
    page = client.get(f"/jobs/{job}")
    assert state_of(page.text) == "queued" and 'id="job-waiting"' in page.text
    assert 'id="job-file"' not in page.text
    assert client.get(f"/jobs/{job}/file").status_code == 404


# -- the htmx fragment ---------------------------------------------------------------------------

def test_htmx_gets_the_status_fragment_polling_while_the_job_waits(
    app: FastAPI, client_for: Clients,
) -> None:
    job = queued_export(app, "village_cadre")
    response = client_for("village_cadre").get(f"/jobs/{job}", headers={"hx-request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and "<nav" not in response.text
    assert f'hx-get="/jobs/{job}"' in response.text and 'hx-trigger="every 1s"' in response.text
    assert state_of(response.text) == "queued"


def test_htmx_gets_the_fragment_of_an_ended_job_without_polling(
    client_for: Clients, cadres_export: str,
) -> None:
    response = client_for("village_cadre").get(f"/jobs/{cadres_export}",
                                               headers={"hx-request": "true"})
    assert response.status_code == 200 and "<html" not in response.text
    assert state_of(response.text) == "done" and "hx-trigger" not in response.text
    assert f'href="/jobs/{cadres_export}/file"' in response.text


def test_htmx_asking_for_another_villages_job_is_not_found(
    client_for: Clients, cadres_export: str,
) -> None:
    response = client_for("other_cadre").get(f"/jobs/{cadres_export}",
                                             headers={"hx-request": "true"})
    assert response.status_code == 404 and "<html" not in response.text


# -- cancelling --------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", PEOPLE)
def test_a_queued_job_is_cancelled_by_whoever_may_see_it_and_nobody_else(
    app: FastAPI, client_for: Clients, persona: str,
) -> None:
    job = queued_export(app, "village_cadre")
    client = client_for(persona)
    response = post(client, f"/jobs/{job}/cancel")
    owner = client_for("village_cadre")
    if persona in SEES_CADRES_JOB:
        assert response.status_code == 303 and response.headers["location"] == f"/jobs/{job}"
        assert state_of(owner.get(f"/jobs/{job}").text) == "cancelled"
    else:
        assert response.status_code == 404
        assert state_of(owner.get(f"/jobs/{job}").text) == "queued"


def test_cancelling_an_ended_job_is_refused_with_a_page(client_for: Clients,
                                                         cadres_export: str) -> None:
    client = client_for("village_cadre")
    response = post(client, f"/jobs/{cadres_export}/cancel")
    assert response.status_code == 400, response.text[:500]
    refusal = RuleBroken(queue.NOT_CANCELLABLE, state=Message(JobState.DONE.title))
    assert "<html" in response.text and refusal.translated("zh") in response.text
    assert state_of(client.get(f"/jobs/{cadres_export}").text) == "done"


@pytest.mark.parametrize("persona", ["other_cadre", "helper", "outsider"])
def test_cancelling_a_job_one_may_not_see_is_not_found(
    client_for: Clients, cadres_export: str, persona: str,
) -> None:
    assert post(client_for(persona), f"/jobs/{cadres_export}/cancel").status_code == 404


# -- starting: who may, and what is refused at once ----------------------------------------------

def _expected(persona: str, action: Action) -> int:
    return 303 if role_may(ROLES[persona], action) else 403


@pytest.mark.parametrize("persona", PEOPLE)
def test_an_export_is_started_by_every_role_but_the_helper(
    app: FastAPI, client_for: Clients, persona: str,
) -> None:
    client = client_for(persona)
    response = post(client, "/jobs/export", EXPORT_FORM)
    assert response.status_code == _expected(persona, Action.EXPORT), response.text[:500]
    if response.status_code == 303:
        assert state_of(client.get(response.headers["location"]).text) == "done"
    else:
        assert job_count(app) == 0


@pytest.mark.parametrize(("persona", "region", "status"), [
    ("village_cadre", OTHER_VILLAGE, 403),  # the village beside theirs
    ("village_cadre", OUTSIDE_COUNTY, 403),
    ("township_officer", OTHER_VILLAGE, 403),  # another township's village
    ("outsider", COUNTY, 403),
    ("county_officer", OUTSIDE_COUNTY, 403),
    ("village_cadre", "东关村", 404),  # not a region code at all
])
def test_an_export_of_a_region_outside_ones_own_is_refused_at_once(
    app: FastAPI, client_for: Clients, persona: str, region: str, status: int,
) -> None:
    response = post(client_for(persona), "/jobs/export", {**EXPORT_FORM, "region": region})
    assert response.status_code == status, response.text[:500]
    assert job_count(app) == 0


@pytest.mark.parametrize("form", [{"kind": "passwords"}, {"kind": "households", "format": "xls"}])
def test_an_unknown_export_is_not_found(app: FastAPI, client_for: Clients,
                                        form: dict[str, str]) -> None:
    assert post(client_for("village_cadre"), "/jobs/export", form).status_code == 404
    assert job_count(app) == 0


def test_an_export_of_results_needs_a_run(app: FastAPI, client_for: Clients) -> None:
    response = post(client_for("county_officer"), "/jobs/export", {"kind": "results"})
    assert response.status_code == 400
    assert job_count(app) == 0


def test_an_export_of_a_run_that_does_not_exist_is_refused_at_once(
    app: FastAPI, client_for: Clients,
) -> None:
    response = post(client_for("county_officer"), "/jobs/export",
                    {"kind": "results", "run": "999"})
    assert response.status_code == 404, response.headers.get("location")
    assert job_count(app) == 0


def test_an_export_of_a_runs_results_covers_ones_village(client_for: Clients) -> None:
    client = client_for("village_cadre")
    job = started(post(client, "/jobs/export", {"kind": "results", "run": "1"}))
    rows = rows_of(client.get(f"/jobs/{job}/file").content)
    assert rows and {r["village_code"] for r in rows} == {VILLAGE}


# (households assessed: the principal's region's, surveyed in 2019)
ASSESSED = {"admin": 6, "county_officer": 5, "outsider": 1}


@pytest.mark.parametrize("persona", PEOPLE)
def test_an_assessment_run_is_started_by_county_officers_and_admins_only(
    app: FastAPI, client_for: Clients, persona: str,
) -> None:
    client = client_for(persona)
    response = post(client, "/jobs/assess", {"standard": "cn-national", "year": "2019"})
    assert response.status_code == _expected(persona, Action.ASSESS), response.text[:500]
    if response.status_code == 403:
        assert gettext(NOT_ALLOWED, "zh") in response.text and "<html" in response.text
        assert job_count(app) == 0
        return
    job = started(response)
    page = client.get(f"/jobs/{job}").text
    assert state_of(page) == "done" and 'id="job-run"' in page
    assert result_of(app, job)["households"] == ASSESSED[persona]


@pytest.mark.parametrize(("form", "status"), [
    ({"standard": "no-such-standard", "year": "2019"}, 400),
    ({"standard": "cn-national", "year": "1901"}, 400),
    ({"standard": "cn-national", "year": "twenty"}, 400),
])
def test_a_wrong_assessment_is_refused_at_once(app: FastAPI, client_for: Clients,
                                               form: dict[str, str], status: int) -> None:
    response = post(client_for("county_officer"), "/jobs/assess", form)
    assert response.status_code == status, response.text[:500]
    assert job_count(app) == 0


@pytest.mark.parametrize("persona", PEOPLE)
def test_a_funds_check_is_started_by_officers_and_the_auditor_only(
    app: FastAPI, client_for: Clients, persona: str,
) -> None:
    client = client_for(persona)
    response = post(client, "/jobs/funds-check", {"as_of": TODAY_.isoformat()})
    assert response.status_code == _expected(persona, Action.CHECK_FUNDS), response.text[:500]
    if response.status_code == 403:
        assert job_count(app) == 0
        return
    job = JOB_PAGE.match(response.headers["location"])
    assert job is not None
    page = client.get(f"/jobs/{job.group(1)}").text
    assert state_of(page) == "done" and 'id="job-findings"' in page
    file = client.get(f"/jobs/{job.group(1)}/file")
    assert file.status_code == 200
    assert load_workbook(io.BytesIO(file.content)).active is not None


def test_a_funds_check_after_today_is_refused_at_once(app: FastAPI,
                                                      client_for: Clients) -> None:
    response = post(client_for("county_officer"), "/jobs/funds-check",
                    {"as_of": "2026-11-30"})
    assert response.status_code == 400
    assert job_count(app) == 0


@pytest.mark.parametrize(("path", "form"), [
    ("/jobs/export", EXPORT_FORM),
    ("/jobs/assess", {"standard": "cn-national", "year": "2019"}),
    ("/jobs/funds-check", {"as_of": TODAY_.isoformat()}),
])
def test_a_start_without_the_csrf_token_is_refused(app: FastAPI, client_for: Clients,
                                                   path: str, form: dict[str, str]) -> None:
    client = client_for("county_officer")
    assert post(client, path, form, token=False).status_code == 403
    assert post(client, path, {**form, "csrf_token": "forged"}, token=False).status_code == 403
    assert job_count(app) == 0


def test_a_cancel_without_the_csrf_token_is_refused(app: FastAPI,
                                                    client_for: Clients) -> None:
    job = queued_export(app, "village_cadre")
    client = client_for("village_cadre")
    assert post(client, f"/jobs/{job}/cancel", token=False).status_code == 403
    assert state_of(client.get(f"/jobs/{job}").text) == "queued"
