"""Every request has an id: in the answer's X-Request-ID, the logs, error pages and problems."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tuopin.logs import JsonFormatter
from tuopin.server import create_server
from tuopin.web.telemetry import incoming_id
from web.conftest import Inline
from web.personas import CHEAP, TODAY_, settings_for

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def server(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    app = create_server(settings_for(web_url, data_dir=tmp_path / "data"), hasher=CHEAP,
                        today=lambda: TODAY_, background=Inline())

    def boom() -> None:
        logging.getLogger("tuopin.test").warning("about to fail")
        raise RuntimeError("an unforeseen error")

    app.add_api_route("/boom", boom)
    api = next(route.app for route in app.routes if getattr(route, "path", "") == "/api")
    api.add_api_route("/v1/boom", boom)
    with TestClient(app):
        yield app


@pytest.fixture
def client(server: FastAPI) -> Iterator[TestClient]:
    with TestClient(server, follow_redirects=False, raise_server_exceptions=False) as client:
        yield client


def test_every_answer_carries_a_request_id_of_its_own(client: TestClient) -> None:
    ids = [client.get(path).headers["x-request-id"]
           for path in ("/login", "/login", "/healthz", "/static/app.js", "/nowhere")]
    assert all(GENERATED.fullmatch(rid) for rid in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(("sent", "kept"), [
    ("0f1e2d3c4b5a69788796a5b4c3d2e1f0", True),  # nginx's $request_id
    ("6f1b7c3e-6d2a-4b1e-9c3d-2f0a1b2c3d4e", True),  # a UUID
    ("req_2026.11.29-abc", True),
    ("short", False),
    ("has space in it", False),
    ("<script>alert(1)</script>", False),
    ("x" * 65, False),
    ("id-13812345678", False),  # a phone number could hide in it
    ("11010119900307777X", False),
])
def test_a_well_formed_incoming_id_is_kept(client: TestClient, sent: str, kept: bool) -> None:
    assert (incoming_id(sent) == sent) is kept
    rid = client.get("/healthz", headers={"X-Request-ID": sent}).headers["x-request-id"]
    assert (rid == sent) is kept
    if not kept:
        assert GENERATED.fullmatch(rid)


def test_the_error_pages_show_the_request_id(client: TestClient) -> None:
    answer = client.get("/no/such/page")
    assert answer.status_code == 404
    rid = answer.headers["x-request-id"]
    assert f"请求编号: <code>{rid}</code>" in answer.text
    fragment = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.headers["x-request-id"] in fragment.text


def test_an_unforeseen_error_shows_a_page_with_the_request_id(client: TestClient) -> None:
    answer = client.get("/boom", headers={"X-Request-ID": "report-this-id-42"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "report-this-id-42"
    assert "请求编号: <code>report-this-id-42</code>" in answer.text
    assert "an unforeseen error" not in answer.text


def test_an_api_problem_carries_the_request_id(client: TestClient) -> None:
    answer = client.get("/api/v1/households", headers={"X-Request-ID": "api-call-0001"})
    assert answer.status_code == 401
    assert answer.headers["x-request-id"] == "api-call-0001"
    assert answer.json()["request_id"] == "api-call-0001"


def test_the_log_lines_of_a_request_carry_its_id(client: TestClient) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        client.get("/boom", headers={"X-Request-ID": "trace-me-0001"})
        client.get("/healthz", headers={"X-Request-ID": "trace-me-0002"})
    finally:
        root.removeHandler(handler)
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    mine = {(r["logger"], r["message"]): r.get("request_id") for r in records}
    assert mine[("tuopin.test", "about to fail")] == "trace-me-0001"
    assert mine[("tuopin.access", "GET /boom 500")] == "trace-me-0001"
    assert mine[("tuopin.access", "GET /healthz 200")] == "trace-me-0002"
    access = next(r for r in records if r["message"] == "GET /boom 500")
    assert access["route"] == "/boom" and access["status"] == 500
    assert isinstance(access["duration_ms"], float)
    assert set(access) >= {"time", "level", "logger", "message"}


def test_an_unforeseen_api_error_is_a_problem_with_the_request_id(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    answer = client.get("/api/v1/boom", headers={"X-Request-ID": "api-boom-0001"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-request-id"] == "api-boom-0001"
    body = answer.json()
    assert (body["type"], body["request_id"]) == ("urn:tuopin:problem:error", "api-boom-0001")
    assert "an unforeseen error" not in answer.text
    assert "rendering the error page failed" not in caplog.text
