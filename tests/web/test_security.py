"""CSRF tokens, security headers, the session cookie, and no inline script anywhere."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tuopin.web.app import create_app
from web.personas import CHEAP, MINE, csrf_of, settings_for

Clients = Callable[[str | None], TestClient]
FORM = {"version": "1", "main_cause": "illness", "address": "被改了"}


def _address(client: TestClient) -> str:
    found = re.search(r'name="address" id="f-address" value="([^"]*)"',
                      client.get(f"/households/{MINE[0]}/edit").text)
    assert found
    return found.group(1)


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_form_without_this_sessions_token_is_refused_and_changes_nothing(
        client_for: Clients, token: str | None) -> None:
    client = client_for("county_officer")
    data = dict(FORM) if token is None else {**FORM, "csrf_token": token}
    answer = client.post(f"/households/{MINE[0]}/edit", data=data)
    assert answer.status_code == 403
    assert _address(client) == "一组12号"


def test_a_token_from_another_session_is_refused(client_for: Clients) -> None:
    mine, theirs = client_for("county_officer"), client_for("village_cadre")
    answer = mine.post(f"/households/{MINE[0]}/edit",
                       data={**FORM, "csrf_token": csrf_of(theirs, "/")})
    assert answer.status_code == 403


def test_the_login_form_itself_needs_the_token(client_for: Clients) -> None:
    answer = client_for(None).post("/login", data={"username": "county-officer",
                                                   "password": "correct horse battery"})
    assert answer.status_code == 403


def test_htmx_requests_carry_the_token_in_a_header(client_for: Clients) -> None:
    client = client_for("village_cadre")
    answer = client.post(f"/households/{MINE[0]}/reveal", data={"field": "phone"},
                         headers={"X-CSRF-Token": csrf_of(client, "/"), "HX-Request": "true"})
    assert answer.status_code == 200 and "revealed" in answer.text


def test_logging_in_gives_the_session_a_new_token(client_for: Clients) -> None:
    client = client_for(None)
    before = csrf_of(client)
    client.post("/login", data={"username": "county-officer",
                                "password": "correct horse battery", "csrf_token": before})
    assert csrf_of(client, "/") != before


@pytest.mark.parametrize("path", ["/", "/login", f"/households/{MINE[0]}", "/households/none",
                                  "/static/app.js"])
def test_every_response_carries_the_security_headers(client_for: Clients, path: str) -> None:
    headers = client_for("county_officer").get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1][:30]
    assert "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_pages_are_not_cached_but_plotly_is(client_for: Clients) -> None:
    client = client_for("county_officer")
    assert client.get(f"/households/{MINE[0]}").headers["cache-control"] == "no-store"
    plotly = client.get("/assets/plotly.min.js")
    assert "max-age" in plotly.headers["cache-control"] and len(plotly.content) > 1_000_000
    again = client.get("/assets/plotly.min.js", headers={"If-None-Match": plotly.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/", "/regions", "/households?q=户主",
                                  f"/households/{MINE[0]}", f"/households/{MINE[0]}/edit"])
def test_no_page_has_an_inline_script_or_handler(client_for: Clients, path: str) -> None:
    html = client_for("county_officer").get(path).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", html)


def test_the_session_cookie_is_httponly_and_samesite_lax(client_for: Clients) -> None:
    cookie = client_for(None).get("/login").headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_the_session_cookie_is_secure_when_configured(web_url: str) -> None:
    app = create_app(settings_for(web_url, cookie_secure=True), hasher=CHEAP)
    with TestClient(app, base_url="https://testserver") as client:
        assert "; secure" in client.get("/login").headers["set-cookie"].lower()


def test_without_a_secret_key_a_random_one_is_used_with_a_warning(
        web_url: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(web_url).model_copy(update={"secret_key": None})
    with caplog.at_level(logging.WARNING, logger="tuopin.web"):
        create_app(settings)
    assert "TUOPIN_SECRET_KEY" in caplog.text
