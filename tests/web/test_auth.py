"""Logging in and out, the login rate limit, sessions that end, the language switch."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from factories import operator
from tuopin.i18n import gettext
from tuopin.services.access import users
from tuopin.storage.models import AuditEventRecord
from web.personas import MINE, PASSWORD, csrf_of, log_in

Clients = Callable[[str | None], TestClient]


def _login(client: TestClient, username: str, password: str, next: str = "/") -> Response:
    return client.post("/login", data={"username": username, "password": password,
                                       "next": next, "csrf_token": csrf_of(client)})


def _events(app: FastAPI, action: str) -> list[AuditEventRecord]:
    with app.state.web.sessions() as db:
        return list(db.scalars(select(AuditEventRecord).where(AuditEventRecord.action == action)))


def test_a_page_sends_a_visitor_to_the_login_and_back_to_it_afterwards(
        client_for: Clients) -> None:
    client = client_for(None)
    first = client.get(f"/households/{MINE[0]}")
    assert first.status_code == 303 and first.headers["location"] == (
        f"/login?next=/households/{MINE[0]}")
    answer = _login(client, "village-cadre", PASSWORD, next=f"/households/{MINE[0]}")
    assert answer.status_code == 303 and answer.headers["location"] == f"/households/{MINE[0]}"
    assert client.get(f"/households/{MINE[0]}").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_after_login_the_browser_never_goes_to_another_site(client_for: Clients,
                                                            target: str) -> None:
    answer = _login(client_for(None), "village-cadre", PASSWORD, next=target)
    assert answer.headers["location"] == "/"


def test_a_wrong_password_is_refused_and_audited(client_for: Clients, app: FastAPI) -> None:
    client = client_for(None)
    answer = _login(client, "village-cadre", "not the password")
    assert answer.status_code == 401
    assert gettext("Wrong username or password, or the account is disabled.", "zh") in answer.text
    assert client.get("/").status_code == 303
    failed = _events(app, "login_failed")
    assert [e.entity_id for e in failed] == ["village-cadre"]
    assert "$argon2" not in (failed[0].after or "")


def test_an_unknown_username_is_refused_like_a_wrong_password(client_for: Clients) -> None:
    answer = _login(client_for(None), "nobody", PASSWORD)
    assert answer.status_code == 401


def test_the_sixth_failure_in_the_window_is_refused_even_with_the_right_password(
        client_for: Clients) -> None:
    client = client_for(None)
    for _ in range(5):
        assert _login(client, "village-cadre", "wrong password!").status_code == 401
    blocked = _login(client, "village-cadre", PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    # another username from the same address is not punished for it
    assert _login(client_for(None), "county-officer", PASSWORD).status_code == 303


@pytest.fixture
def client_at(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """An anonymous browser at a client address of its own."""
    made: list[TestClient] = []

    def make(address: str) -> TestClient:
        client = TestClient(app, follow_redirects=False, client=(address, 50000))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_one_address_trying_a_password_on_many_accounts_is_refused_even_the_right_one(
        client_at: Callable[[str], TestClient], app: FastAPI) -> None:
    per_address = app.state.web.settings.login_max_failures_per_address
    sprayer = client_at("203.0.113.7")
    names = ["county-officer", "village-cadre", "other-cadre", "helper", "auditor", "verifier",
             "admin", "outsider"] + [f"someone-{i}" for i in range(per_address)]
    for name in names[:per_address]:  # one guess per account: no username reaches its limit
        assert _login(sprayer, name, "Password1!").status_code == 401
    blocked = _login(sprayer, "county-officer", PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert sprayer.get("/").status_code == 303  # not logged in
    # the accounts themselves are not locked: from another address the right password works
    assert _login(client_at("198.51.100.4"), "county-officer", PASSWORD).status_code == 303


def test_a_right_guess_does_not_give_an_address_a_fresh_allowance(
        client_at: Callable[[str], TestClient], app: FastAPI) -> None:
    per_address = app.state.web.settings.login_max_failures_per_address
    sprayer = client_at("203.0.113.7")
    for i in range(per_address - 1):
        assert _login(sprayer, f"someone-{i}", "Password1!").status_code == 401
    assert _login(sprayer, "helper", PASSWORD).status_code == 303  # one account guessed right
    assert _login(client_at("203.0.113.7"), "nobody", "Password1!").status_code == 401
    assert _login(client_at("203.0.113.7"), "auditor", PASSWORD).status_code == 429


def test_one_username_tried_from_many_addresses_is_refused_even_the_right_password(
        client_at: Callable[[str], TestClient], app: FastAPI) -> None:
    per_user = app.state.web.settings.login_max_failures
    for i in range(per_user):  # a botnet: each address guesses once
        assert _login(client_at(f"192.0.2.{i + 1}"), "village-cadre",
                      "Password1!").status_code == 401
    blocked = _login(client_at("192.0.2.200"), "village-cadre", PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    # the addresses are not punished for it: each may still log in to another account
    assert _login(client_at("192.0.2.1"), "county-officer", PASSWORD).status_code == 303


def test_a_successful_login_clears_earlier_failures(client_for: Clients) -> None:
    client = client_for(None)
    for _ in range(4):
        _login(client, "village-cadre", "wrong password!")
    assert _login(client, "village-cadre", PASSWORD).status_code == 303
    for _ in range(4):
        assert _login(client_for(None), "village-cadre", "wrong again!!").status_code == 401


def test_logout_ends_the_session(client_for: Clients) -> None:
    client = client_for("village_cadre")
    answer = client.post("/logout", data={"csrf_token": csrf_of(client, "/")})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("change", ["disable", "reset_password"])
def test_disabling_a_user_or_resetting_the_password_ends_open_sessions(
        client_for: Clients, app: FastAPI, change: str) -> None:
    client = client_for("village_cadre")
    assert client.get("/").status_code == 200
    with app.state.web.sessions() as db, db.begin():
        getattr(users, change)(db, principal=operator("test"), username="village-cadre")
    assert client.get("/").status_code == 303


def test_a_disabled_user_cannot_log_in(client_for: Clients, app: FastAPI) -> None:
    with app.state.web.sessions() as db, db.begin():
        users.disable(db, principal=operator("test"), username="village-cadre")
    assert _login(client_for(None), "village-cadre", PASSWORD).status_code == 401


def test_the_language_switch_turns_the_pages_into_english_and_back(
        client_for: Clients) -> None:
    client = client_for("village_cadre")
    page = client.get(f"/households/{MINE[0]}").text
    assert '<html lang="zh-CN">' in page and gettext("Household status", "zh") in page
    answer = client.post("/lang", data={"lang": "en", "next": f"/households/{MINE[0]}",
                                        "csrf_token": csrf_of(client, "/")})
    assert answer.headers["location"] == f"/households/{MINE[0]}"
    page = client.get(f"/households/{MINE[0]}").text
    assert '<html lang="en">' in page and "Household status" in page
    client.post("/lang", data={"lang": "zh", "csrf_token": csrf_of(client, "/")})
    assert '<html lang="zh-CN">' in client.get("/").text


def test_the_language_chosen_before_login_is_kept_after_it(client_for: Clients) -> None:
    client = client_for(None)
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(client)})
    log_in(client, "village_cadre")
    assert '<html lang="en">' in client.get("/").text


def test_a_login_ends_after_the_session_max_age_however_busy_the_user_is(
        client_for: Clients, monkeypatch: pytest.MonkeyPatch, app: FastAPI) -> None:
    client = client_for("village_cadre")
    later = time.time() + app.state.web.settings.session_max_age + 1
    # only the login's age moves on: the cookie itself is still fresh
    monkeypatch.setattr("tuopin.web.deps.time", SimpleNamespace(time=lambda: later))
    assert client.get("/").status_code == 303
