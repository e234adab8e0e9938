"""Background jobs through the API, persona by persona: who may start an assessment run, an
export or a funds check (202 and the job's URL in Location), who sees a job, cancelling, and
a job's file once a worker - here a Runner in the test - has run it.

A caller sees their own jobs; an administrator and a county officer also see the jobs
started in their region (Action.SUPERVISE_JOBS); to anyone else a job is not found (404).
The API only queues: a job stays queued until the test runs it.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from openpyxl import load_workbook
from sqlalchemy import func, select

from api.conftest import ALL, exports_recorded, principal_of
from tuopin.domain.enums import JobState
from tuopin.domain.errors import Message
from tuopin.i18n import gettext
from tuopin.services.access import users
from tuopin.services.access.policy import Action, role_may
from tuopin.services.jobs import queue
from tuopin.services.jobs.context import environment
from tuopin.services.jobs.runner import ACCOUNT_GONE, Runner
from tuopin.storage.models import JobRecord
from web.personas import OTHER_VILLAGE, PERSONAS, TODAY_

Api = Callable[[str | None], TestClient]
COVERED = {("POST", "/v1/runs"), ("POST", "/v1/jobs/exports"), ("POST", "/v1/jobs/funds-checks"),
           ("GET", "/v1/jobs"), ("GET", "/v1/jobs/{job_id}"), ("GET", "/v1/jobs/{job_id}/file"),
           ("POST", "/v1/jobs/{job_id}/cancel")}
PROBLEM = "application/problem+json"
URN = "urn:tuopin:problem:"
LOCATION = re.compile(r"^/api/v1/jobs/([0-9a-f]{32})$")
UNKNOWN = "0" * 32
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# each way to start a job: its path, a request that may be granted, and the action it needs
STARTS: dict[str, tuple[str, dict[str, Any], Action]] = {
    "assess": ("/runs", {"standard": "cn-national", "year": 2019}, Action.ASSESS),
    "export": ("/jobs/exports", {"kind": "households", "format": "csv"}, Action.EXPORT),
    "funds_check": ("/jobs/funds-checks", {"as_of": TODAY_.isoformat()}, Action.CHECK_FUNDS),
}
# who may start what (the policy's table, spelled out: a change to either fails here)
MAY_START: dict[str, set[str]] = {
    "admin": {"assess", "export", "funds_check"},
    "county_officer": {"assess", "export", "funds_check"},
    "outsider": {"assess", "export", "funds_check"},  # a county officer of another county
    "auditor": {"export", "funds_check"},
    "village_cadre": {"export"}, "other_cadre": {"export"}, "verifier": {"export"},
    "helper": set(),
}
# who sees a village cadre's job: the cadre, and those who supervise the county's jobs;
# a county officer's: they, and the administrator
SEES_CADRES_JOB = frozenset({"village_cadre", "county_officer", "admin"})
SEES_COUNTY_JOB = frozenset({"county_officer", "admin"})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- helpers ----------------------------------------------------------------------------------

def start(client: TestClient, what: str, **changes: Any) -> Response:
    path, body, _action = STARTS[what]
    return client.post(path, json={**body, **changes})


def started(response: Response) -> dict[str, Any]:
    """The job a start queued: 202, its URL in Location, the job as it stands."""
    assert response.status_code == 202, response.text
    job = response.json()
    found = LOCATION.match(response.headers["location"])
    assert found is not None and found.group(1) == job["id"], response.headers["location"]
    return job


def problem(response: Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == URN + kind and body["status"] == status
    return body


def job_count(server: FastAPI) -> int:
    with server.state.web.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(JobRecord)) or 0)


def run(server: FastAPI, job_id: str) -> None:
    """Run a queued job here, as `tuopin worker` would."""
    web = server.state.web
    runner = Runner(environment(web.settings, web.jobs.env.engine, today=lambda: TODAY_),
                    name="test-worker")
    assert runner.run_job(job_id)


def claim(server: FastAPI, job_id: str) -> None:
    """Make a queued job running, as a worker that took it up (and reports as it goes)."""
    with server.state.web.sessions() as db, db.begin():
        assert queue.claim(db, worker="test-worker", now=time.time(), job_id=job_id)


def absolute(location: str) -> str:
    return f"http://testserver{location}"


# -- starting ---------------------------------------------------------------------------------

def test_the_table_is_the_policys() -> None:
    for persona, may in MAY_START.items():
        assert may == {what for what, (_path, _body, action) in STARTS.items()
                       if role_may(PERSONAS[persona].role, action)}, persona
    assert set(MAY_START) == set(ALL)


@pytest.mark.parametrize("persona", ALL)
def test_each_persona_starts_only_the_work_its_role_may(server: FastAPI, api_for: Api,
                                                        persona: str) -> None:
    client = api_for(persona)
    for what in STARTS:
        answer = start(client, what)
        if what not in MAY_START[persona]:
            problem(answer, 403, "forbidden")
            continue
        job = started(answer)
        assert (job["kind"], job["state"]) == (what, "queued")
        assert job["actor"] == f"api:{persona.replace('_', '-')}"
        assert (job["done"], job["total"], job["percent"], job["attempts"]) == (0, 0, 0, 0)
        assert (job["message"], job["file"], job["error"], job["result"]) == (None, None,
                                                                              None, {})
        assert ISO_UTC.match(job["created_at"])
        assert job["started_at"] is None and job["finished_at"] is None
        # the Location is the job's URL, as GET gives it
        again = client.get(absolute(answer.headers["location"]))
        assert again.status_code == 200 and again.json() == job
    assert job_count(server) == len(MAY_START[persona])


def test_without_a_token_nothing_is_started_or_shown(server: FastAPI, api_for: Api) -> None:
    job = started(start(api_for("admin"), "export"))
    anonymous = api_for(None)
    for what in STARTS:
        problem(start(anonymous, what), 401, "unauthorized")
    for answer in (anonymous.get("/jobs"), anonymous.get(f"/jobs/{job['id']}"),
                   anonymous.get(f"/jobs/{job['id']}/file"),
                   anonymous.post(f"/jobs/{job['id']}/cancel")):
        problem(answer, 401, "unauthorized")
    assert job_count(server) == 1


@pytest.mark.parametrize(("what", "changes", "status", "detail"), [
    ("assess", {"standard": "no-such-standard"}, 400,
     "There is no standard named no-such-standard."),
    ("assess", {"year": 1901}, 400, "The standard cn-national applies to the years 2014 to 2020."),
    ("assess", {"year": "twenty"}, 400, None),
    ("assess", {"engine": "spark"}, 400, None),  # not a field of the request
    ("export", {"kind": "results"}, 400, "Name the assessment run whose results to export."),
    ("export", {"kind": "helpers"}, 400, None),
    ("export", {"format": "xlsx"}, 400, None),
    ("export", {"region": OTHER_VILLAGE}, 403, None),  # beside the cadre's village
    ("export", {"region": "62112100100x"}, 400, None),
    ("funds_check", {"as_of": "2026-11-30"}, 400, "The day 2026-11-30 is after today."),
    ("funds_check", {"as_of": "yesterday"}, 400, None),
    ("funds_check", {"lang": "fr"}, 400, None),
])
def test_a_wrong_request_is_refused_at_once(server: FastAPI, api_for: Api, what: str,
                                            changes: dict[str, Any], status: int,
                                            detail: str | None) -> None:
    persona = "village_cadre" if changes.get("region") == OTHER_VILLAGE else "admin"
    answer = api_for(persona).post(STARTS[what][0], json={**STARTS[what][1], **changes},
                                   headers={"Accept-Language": "en"})
    body = problem(answer, status, "invalid" if status == 400 else "forbidden")
    if detail is not None:
        assert body["detail"] == detail
    assert job_count(server) == 0


# services/jobs/starts.py raises ValidationFailed(Message(...)): the problem handlers (the
# web's too) translate a RuleBroken's message, and look a ValidationFailed's English text up
# in the catalog, where it is not - so these refusals are English in every language.
def test_a_refusal_is_in_the_accept_language(api_for: Api) -> None:
    client = api_for("admin")
    body = {**STARTS["funds_check"][1], "as_of": "2026-11-30"}
    zh = problem(client.post("/jobs/funds-checks", json=body,
                             headers={"Accept-Language": "zh-CN"}), 400, "invalid")
    assert zh["detail"] == gettext("The day {day} is after today.", "zh").format(
        day="2026-11-30")
    assert zh["detail"] != "The day 2026-11-30 is after today."


# -- who sees a job ---------------------------------------------------------------------------

@pytest.mark.parametrize(("owner", "sees"), [("village_cadre", SEES_CADRES_JOB),
                                             ("county_officer", SEES_COUNTY_JOB)])
def test_a_job_is_seen_by_its_owner_and_those_who_supervise_its_region(
        api_for: Api, owner: str, sees: frozenset[str]) -> None:
    job = started(start(api_for(owner), "export"))
    for persona in ALL:
        client = api_for(persona)
        listed = [j["id"] for j in client.get("/jobs").json()]
        answer = client.get(f"/jobs/{job['id']}")
        if persona in sees:
            assert listed == [job["id"]], persona
            assert answer.status_code == 200 and answer.json() == job, persona
        else:
            assert listed == [], persona
            problem(answer, 404, "not-found")
            problem(client.get(f"/jobs/{job['id']}/file"), 404, "not-found")
            problem(client.post(f"/jobs/{job['id']}/cancel"), 404, "not-found")
    # (nobody cancelled it)
    assert api_for(owner).get(f"/jobs/{job['id']}").json()["state"] == "queued"


def test_a_job_of_no_one_is_not_found_and_a_bad_id_is_refused(api_for: Api) -> None:
    admin = api_for("admin")
    for answer in (admin.get(f"/jobs/{UNKNOWN}"), admin.get(f"/jobs/{UNKNOWN}/file"),
                   admin.post(f"/jobs/{UNKNOWN}/cancel")):
        problem(answer, 404, "not-found")
    for answer in (admin.get("/jobs/NOT-AN-ID"), admin.get("/jobs/abc/file"),
                   admin.post(f"/jobs/{UNKNOWN}0/cancel")):
        problem(answer, 400, "invalid")


def test_the_list_is_newest_first_filtered_by_state_and_limited(api_for: Api) -> None:
    client = api_for("county_officer")
    ids = [started(start(client, "export", kind=kind))["id"]
           for kind in ("households", "members", "surveys")]
    assert client.post(f"/jobs/{ids[1]}/cancel").status_code == 200
    assert [j["id"] for j in client.get("/jobs").json()] == ids[::-1]
    assert [j["id"] for j in client.get("/jobs?limit=2").json()] == ids[:0:-1]
    assert [j["id"] for j in client.get("/jobs?state=cancelled").json()] == [ids[1]]
    assert [j["id"] for j in client.get("/jobs?state=queued").json()] == [ids[2], ids[0]]
    assert client.get("/jobs?state=done").json() == []
    for query in ("limit=101", "limit=0", "state=waiting"):
        problem(client.get(f"/jobs?{query}"), 400, "invalid")


# -- cancelling -------------------------------------------------------------------------------

def test_a_queued_job_is_cancelled_at_once_and_an_ended_one_is_a_conflict(
        api_for: Api) -> None:
    cadre, officer = api_for("village_cadre"), api_for("county_officer")
    job = started(start(cadre, "export"))
    answer = officer.post(f"/jobs/{job['id']}/cancel")  # a supervisor may cancel it too
    assert answer.status_code == 200, answer.text
    cancelled = answer.json()
    assert (cancelled["state"], cancelled["cancel_requested"]) == ("cancelled", True)
    assert ISO_UTC.match(cancelled["finished_at"])
    assert cadre.get(f"/jobs/{job['id']}").json()["state"] == "cancelled"
    for lang in ("en", "zh"):
        again = problem(cadre.post(f"/jobs/{job['id']}/cancel",
                                   headers={"Accept-Language": lang}), 409, "conflict")
        assert again["detail"] == Message(queue.NOT_CANCELLABLE, state=Message(
            JobState.CANCELLED.title)).translated(lang)
    problem(cadre.get(f"/jobs/{job['id']}/file"), 404, "not-found")


def test_a_running_job_is_asked_to_stop(server: FastAPI, api_for: Api) -> None:
    client = api_for("admin")
    job = started(start(client, "assess"))
    claim(server, job["id"])
    answer = client.post(f"/jobs/{job['id']}/cancel")
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["state"], found["cancel_requested"], found["attempts"]) == ("running", True, 1)
    assert ISO_UTC.match(found["started_at"]) and found["finished_at"] is None


# -- progress, results, files -----------------------------------------------------------------

def test_a_running_jobs_progress_is_in_the_accept_language(server: FastAPI,
                                                           api_for: Api) -> None:
    client = api_for("county_officer")
    job = started(start(client, "assess"))
    claim(server, job["id"])
    folder = queue.job_dir(server.state.web.settings.data_dir, job["id"])
    folder.mkdir(parents=True)
    queue.write_progress(folder, done=1, total=4, message=Message("assessing"))
    for lang, text in (("en", "assessing"), ("zh", gettext("assessing", "zh"))):
        found = client.get(f"/jobs/{job['id']}", headers={"Accept-Language": lang}).json()
        assert (found["state"], found["done"], found["total"], found["percent"]) == (
            "running", 1, 4, 25)
        assert found["message"] == text
    assert gettext("assessing", "zh") != "assessing"
    listed = client.get("/jobs", headers={"Accept-Language": "en"}).json()
    assert listed[0]["message"] == "assessing"


def test_an_assessment_job_records_a_run(server: FastAPI, api_for: Api) -> None:
    client = api_for("county_officer")
    before = {r["run"] for r in client.get("/runs").json()}
    job = started(start(client, "assess"))
    run(server, job["id"])
    found = client.get(f"/jobs/{job['id']}", headers={"Accept-Language": "en"}).json()
    assert (found["state"], found["percent"], found["error"], found["file"]) == (
        "done", 100, None, None)
    assert found["message"] == "recording the results"
    assert ISO_UTC.match(found["finished_at"])
    new = found["result"]["run"]
    assert new not in before and new in {r["run"] for r in client.get("/runs").json()}
    recorded = client.get(f"/runs/{new}").json()
    assert (recorded["standard"], recorded["year"]) == ("cn-national", 2019)
    assert found["result"]["households"] == recorded["households"]
    problem(client.get(f"/jobs/{job['id']}/file"), 404, "not-found")  # it made no file
    problem(client.post(f"/jobs/{job['id']}/cancel"), 409, "conflict")


@pytest.mark.parametrize(("persona", "fmt", "media"), [
    ("county_officer", "csv", "text/csv; charset=utf-8"),
    ("village_cadre", "parquet", "application/vnd.apache.parquet"),
])
def test_an_export_job_makes_the_file_the_streamed_export_gives(
        server: FastAPI, api_for: Api, persona: str, fmt: str, media: str) -> None:
    client = api_for(persona)
    job = started(start(client, "export", format=fmt))
    run(server, job["id"])
    found = client.get(f"/jobs/{job['id']}").json()
    assert found["state"] == "done", found
    assert found["file"] == f"/api/v1/jobs/{job['id']}/file"
    download = client.get(absolute(found["file"]))
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == media
    assert f'filename="households.{fmt}"' in download.headers["content-disposition"]
    assert download.headers["cache-control"] == "no-store"
    streamed = client.get(f"/export/households?format={fmt}")
    assert download.content == streamed.content
    assert found["result"] == {"bytes": len(streamed.content), "file": f"households.{fmt}"}
    # a supervisor may fetch it too; another village's cadre finds nothing
    assert api_for("admin").get(absolute(found["file"])).content == download.content
    problem(api_for("other_cadre").get(absolute(found["file"])), 404, "not-found")


def test_an_export_job_is_audited_when_it_reads_the_rows_not_when_it_is_queued(
        server: FastAPI, api_for: Api) -> None:
    job = started(start(api_for("village_cadre"), "export"))
    assert exports_recorded(server) == []  # queued: the request checked, nothing read yet
    run(server, job["id"])
    recorded = exports_recorded(server)
    assert [(actor, name, what["kind"], what["masked"]) for actor, name, what in recorded] == [
        ("api:village-cadre", "households.csv", "households", True)]


def test_a_funds_check_job_makes_an_xlsx_of_the_findings(server: FastAPI,
                                                         api_for: Api) -> None:
    client = api_for("auditor")
    job = started(start(client, "funds_check", lang="en"))
    run(server, job["id"])
    found = client.get(f"/jobs/{job['id']}").json()
    assert found["state"] == "done", found
    anomalies = client.get(f"/funds/anomalies?as_of={TODAY_.isoformat()}",
                           headers={"Accept-Language": "en"}).json()["items"]
    assert found["result"]["findings"] == len(anomalies) > 0
    download = client.get(absolute(found["file"]))
    assert download.headers["content-type"] == XLSX
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("rule", "severity") and len(rows) == 1 + len(anomalies)
    assert sorted(r[5] for r in rows[1:]) == sorted(a["explanation"] for a in anomalies)


def test_a_jobs_error_is_in_the_accept_language(server: FastAPI, api_for: Api) -> None:
    cadre = api_for("village_cadre")
    job = started(start(cadre, "export"))
    admin = principal_of(server, "admin")
    with server.state.web.sessions() as db, db.begin():  # the account is disabled meanwhile
        users.disable(db, principal=admin, username="village-cadre")
    assert not Runner(environment(server.state.web.settings, server.state.web.jobs.env.engine),
                      name="test-worker").run_job(job["id"])  # refused when claimed
    officer = api_for("county_officer")
    for lang in ("en", "zh"):
        found = officer.get(f"/jobs/{job['id']}", headers={"Accept-Language": lang}).json()
        assert found["state"] == "failed"
        assert found["error"] == gettext(ACCOUNT_GONE, lang)
    assert gettext(ACCOUNT_GONE, "zh") != ACCOUNT_GONE
    assert officer.get(f"/jobs/{job['id']}/file").status_code == 404
