"""/metrics: the Prometheus text format, by route template, for loopback or a token only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tuopin.server import create_server
from tuopin.services.jobs import heartbeat
from web.conftest import Inline
from web.personas import CHEAP, MINE, TODAY_, csrf_of, log_in, settings_for

LOOPBACK = ("127.0.0.1", 50000)
TOKEN = "scrape-" + "x" * 40


def _server(web_url: str, tmp_path: Path, **changes: object) -> FastAPI:
    return create_server(settings_for(web_url, data_dir=tmp_path / "data", **changes),
                         hasher=CHEAP, today=lambda: TODAY_, background=Inline())


@pytest.fixture
def server(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    app = _server(web_url, tmp_path)
    with TestClient(app):
        yield app


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by name and labels (the parse is the test of the format)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _scrape(app: FastAPI, **client: object) -> str:
    with TestClient(app, client=LOOPBACK, **client) as scraper:  # type: ignore[arg-type]
        answer = scraper.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "set-cookie" not in answer.headers
    return answer.text


def test_metrics_count_requests_by_route_template_and_status(server: FastAPI) -> None:
    with TestClient(server, follow_redirects=False) as browser:
        log_in(browser, "village_cadre")
        for number in MINE:
            assert browser.get(f"/households/{number}?q={number}").status_code == 200
        assert browser.get("/no/such/page/123456").status_code == 404
    with TestClient(server, base_url="http://testserver/api/v1") as api:
        assert api.get(f"/households/{MINE[0]}").status_code == 401
    text = _scrape(server)
    samples = _samples(text)
    page = ("tuopin_http_requests_total",
            (("method", "GET"), ("route", "/households/{number}"), ("status", "200")))
    assert samples[page] == len(MINE)
    assert samples[("tuopin_http_requests_total", (
        ("method", "GET"), ("route", "/api/v1/households/{number}"), ("status", "401")))] == 1
    assert samples[("tuopin_http_requests_total", (
        ("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    assert samples[("tuopin_http_request_duration_seconds_count", (
        ("method", "GET"), ("route", "/households/{number}")))] == len(MINE)
    # never a raw path, a query or a number from one in a label
    for number in MINE:
        assert number not in text
    assert "123456" not in text


def test_metrics_show_the_job_queue_and_the_worker_heartbeat(server: FastAPI) -> None:
    with server.state.web.sessions() as db, db.begin():
        heartbeat.beat(db, name="worker-1", started_at=time.time() - 60, running=0,
                       concurrency=1, now=time.time() - 7)
    samples = _samples(_scrape(server))
    assert samples[("tuopin_jobs_queued", ())] == 0
    assert samples[("tuopin_jobs_running", ())] == 0
    assert samples[("tuopin_jobs_oldest_queued_age_seconds", ())] == 0
    assert 7 <= samples[("tuopin_worker_heartbeat_age_seconds", ())] < 60


def test_metrics_count_failed_logins_of_the_web_and_the_api(server: FastAPI) -> None:
    with TestClient(server, follow_redirects=False) as browser:
        token = csrf_of(browser)
        for _ in range(2):
            answer = browser.post("/login", data={"username": "village-cadre",
                                                  "password": "wrong", "csrf_token": token})
            assert answer.status_code == 401
    with TestClient(server, base_url="http://testserver/api/v1") as api:
        assert api.get("/households", headers={"Authorization": "Bearer tp_nope"}
                       ).status_code == 401
        assert api.get("/households").status_code == 401  # no token: not a login at all
    samples = _samples(_scrape(server))
    assert samples[("tuopin_login_failures_total", (("door", "web"),))] == 2
    assert samples[("tuopin_login_failures_total", (("door", "api"),))] == 1


def test_metrics_are_not_found_by_a_client_elsewhere(server: FastAPI) -> None:
    with TestClient(server) as elsewhere:  # the test client's address is "testclient"
        answer, unknown = elsewhere.get("/metrics"), elsewhere.get("/no-such-page")
    # the same answer as a path that does not exist (but for the request's id and path)
    assert answer.status_code == unknown.status_code == 404
    assert answer.headers["content-type"] == unknown.headers["content-type"]
    assert (answer.text.replace(answer.headers["x-request-id"], "").replace("/metrics", "")
            == unknown.text.replace(unknown.headers["x-request-id"], "")
            .replace("/no-such-page", ""))


def test_a_token_is_required_from_everyone_once_it_is_set(web_url: str,
                                                          tmp_path: Path) -> None:
    app = _server(web_url, tmp_path, metrics_token=TOKEN)
    with TestClient(app, client=LOOPBACK) as loopback, TestClient(app) as elsewhere:
        # behind nginx every client is loopback: with a token set, loopback is not enough
        assert loopback.get("/metrics").status_code == 404
        assert loopback.get("/metrics", headers={"Authorization": "Bearer wrong"}
                            ).status_code == 404
        assert elsewhere.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}
                             ).status_code == 404
        answer = elsewhere.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
        assert "tuopin_http_requests_total" in answer.text


def test_each_app_counts_its_own_requests(web_url: str, tmp_path: Path) -> None:
    first, second = _server(web_url, tmp_path), _server(web_url, tmp_path)
    with TestClient(first) as client:
        client.get("/healthz")
    samples = _samples(_scrape(second))
    assert ("tuopin_http_requests_total",
            (("method", "GET"), ("route", "/healthz"), ("status", "200"))) not in samples


COUNT_ONE = """
import sys
from tuopin.services.ops.metrics import Metrics
Metrics().observe(method="GET", route="/healthz", status=200, seconds=0.01)
"""
SCRAPE = """
import sys
from tuopin.services.ops.metrics import Metrics
sys.stdout.write(Metrics().exposition().decode())
"""


def test_worker_processes_add_up_their_counts_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], env=env, check=True,
                              capture_output=True, text=True, timeout=120).stdout

    run(COUNT_ONE)
    run(COUNT_ONE)  # another process: another file
    samples = _samples(run(SCRAPE))
    assert samples[("tuopin_http_requests_total",
                    (("method", "GET"), ("route", "/healthz"), ("status", "200")))] == 2
