"""Sessions kept on the server: a copy of the cookie is worth nothing once the session ends.

The browser's cookie only names a session the server keeps. Logging out, a password reset,
a disabled account and a change of role or region end it on the server, so a cookie saved
before (a stolen one, a shared computer's) no longer reaches any page. A login always starts
a new session with a new token (no session fixation); a session also ends when it has been
idle too long, or has lasted too long however busy its user.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from factories import OTHER_VILLAGE, VILLAGE, operator
from tuopin.domain.enums import Role
from tuopin.services.access import users
from tuopin.web.app import SESSION_COOKIE, create_app
from web.personas import CHEAP, MINE, OTHERS, PASSWORD, TODAY_, csrf_of, log_in, settings_for

Clients = Callable[[str | None], TestClient]
PAGE = f"/households/{MINE[0]}"  # one a village cadre of VILLAGE may see


@dataclass
class Clock:
    """The time the app reads (its session rules, and the login that starts a session)."""

    now: float

    def move(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(1_800_000_000.0)
    fake = SimpleNamespace(time=lambda: clock.now)
    monkeypatch.setattr("tuopin.web.deps.time", fake)
    monkeypatch.setattr("tuopin.web.routes.auth.time", fake)
    return clock


@pytest.fixture
def app_with(web_url: str) -> Iterator[Callable[..., FastAPI]]:
    """The web app with some settings changed (session limits, the Secure flag)."""
    running: list[TestClient] = []

    def make(**changes: Any) -> FastAPI:
        app = create_app(settings_for(web_url, **changes), hasher=CHEAP, today=lambda: TODAY_)
        running.append(TestClient(app).__enter__())  # its lifespan, until the test ends
        return app

    yield make
    for client in running:
        client.__exit__(None, None, None)


@contextmanager
def browser(app: FastAPI, cookie: str | None = None, **options: Any) -> Iterator[TestClient]:
    """A browser of its own, holding ``cookie`` as its session cookie if given."""
    client = TestClient(app, follow_redirects=False, **options)
    if cookie:  # where the server's own Set-Cookie puts it, so that a new one replaces it
        client.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
    try:
        yield client  # (not entered: the app's lifespan is the fixture's)
    finally:
        client.close()


def saved_cookie(client: TestClient) -> str:
    """A copy of the browser's session cookie, as someone who got hold of it keeps it."""
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    return value


def session_of(cookie: str) -> dict[str, Any]:
    """What the (signed, not encrypted) session cookie carries."""
    payload = cookie.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(data, dict)
    return data


def reaches(app: FastAPI, cookie: str, path: str = PAGE) -> bool:
    """Whether a browser with only this cookie gets the page (else it is sent to the login)."""
    with browser(app, cookie) as thief:
        answer = thief.get(path)
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/login?next=")
        return False
    assert answer.status_code == 200, answer.text[:300]
    return True


# -- a copy of the cookie dies with the session ----------------------------------------------

def test_a_cookie_saved_before_logout_no_longer_reaches_a_page(client_for: Clients,
                                                              app: FastAPI) -> None:
    client = client_for("village_cadre")
    saved = saved_cookie(client)
    assert reaches(app, saved)
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/")}).status_code == 303
    assert not reaches(app, saved)
    assert not reaches(app, saved, "/")


def _reset_on_the_web(app: FastAPI, admin: TestClient) -> None:
    answer = admin.post("/users/village-cadre/reset-password",
                        data={"csrf_token": csrf_of(admin, "/")})
    assert answer.status_code == 200


def _disable_on_the_web(app: FastAPI, admin: TestClient) -> None:
    answer = admin.post("/users/village-cadre/disable", data={"csrf_token": csrf_of(admin, "/")})
    assert answer.status_code == 303


def _change(**account: Any) -> Callable[[FastAPI, TestClient], None]:
    def change(app: FastAPI, admin: TestClient) -> None:
        with app.state.web.sessions() as db, db.begin():
            users.change(db, principal=operator("admin"), username="village-cadre", **account)
    return change


CHANGES: dict[str, Callable[[FastAPI, TestClient], None]] = {
    "the admin resets the password": _reset_on_the_web,
    "the admin disables the account": _disable_on_the_web,
    "the role changes": _change(role=Role.AUDITOR, region_code=VILLAGE),
    "the region changes": _change(role=Role.VILLAGE_CADRE, region_code=OTHER_VILLAGE),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_saved_cookie_dies_when_the_account_changes(client_for: Clients, app: FastAPI,
                                                      change: str) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    saved, others = saved_cookie(cadre), saved_cookie(officer)
    assert reaches(app, saved)
    CHANGES[change](app, client_for("admin"))
    assert not reaches(app, saved, "/")
    assert cadre.get("/").status_code == 303  # the browser that held it too
    assert reaches(app, others)  # another account's session goes on


def test_a_change_of_the_display_name_alone_keeps_the_session(client_for: Clients,
                                                             app: FastAPI) -> None:
    saved = saved_cookie(client_for("village_cadre"))
    _change(role=Role.VILLAGE_CADRE, region_code=VILLAGE, display_name="东关村干部")(
        app, client_for("admin"))
    assert reaches(app, saved)


def test_after_a_region_change_the_new_session_sees_only_the_new_region(
        client_for: Clients, app: FastAPI) -> None:
    _change(role=Role.VILLAGE_CADRE, region_code=OTHER_VILLAGE)(app, client_for("admin"))
    with browser(app) as client:
        log_in(client, "village_cadre")
        assert client.get(PAGE).status_code == 404
        assert client.get(f"/households/{OTHERS[0]}").status_code == 200


# -- a login starts a new session --------------------------------------------------------------

def test_the_session_token_changes_at_login(app: FastAPI) -> None:
    with browser(app) as victim:
        csrf_of(victim)  # the login page: a session without a user
        planted = saved_cookie(victim)  # what an attacker would fix in the victim's browser
        assert "sid" not in session_of(planted)
        log_in(victim, "county_officer")
        first = session_of(saved_cookie(victim))["sid"]
        assert not reaches(app, planted, "/")  # the planted cookie was not logged in
        log_in(victim, "county_officer")  # again, in the same browser
        assert session_of(saved_cookie(victim))["sid"] != first


def test_a_fixed_session_cookie_stays_its_owners_after_the_victim_logs_in(app: FastAPI) -> None:
    with browser(app) as attacker:
        log_in(attacker, "helper")  # an account that may not see the other village
        planted = saved_cookie(attacker)
    with browser(app, planted) as victim:
        log_in(victim, "county_officer")  # the victim logs in over the planted cookie
        assert victim.get(f"/households/{OTHERS[0]}").status_code == 200
        assert session_of(saved_cookie(victim))["sid"] != session_of(planted)["sid"]
    with browser(app, planted) as attacker:  # the attacker's copy is still only the helper's
        assert attacker.get(f"/households/{OTHERS[0]}").status_code == 404


# -- time limits -------------------------------------------------------------------------------

def test_an_idle_session_ends_after_the_idle_limit(app_with: Callable[..., FastAPI],
                                                   clock: Clock) -> None:
    app = app_with(session_idle_seconds=60)
    with browser(app) as client:
        log_in(client, "village_cadre")
        saved = saved_cookie(client)
        clock.move(59)
        assert client.get(PAGE).status_code == 200
    with browser(app) as client:
        log_in(client, "village_cadre")
        clock.move(61)
        assert client.get(PAGE).status_code == 303
        assert client.get(PAGE).status_code == 303  # for good
    clock.move(1)
    assert not reaches(app, saved)  # 62 s after the last request of that one


def test_a_used_session_stays_alive_past_the_idle_limit(app_with: Callable[..., FastAPI],
                                                        clock: Clock) -> None:
    app = app_with(session_idle_seconds=600)
    with browser(app) as client:
        log_in(client, "village_cadre")
        for _ in range(6):  # an hour of work, a page every ten minutes less a second
            clock.move(599)
            assert client.get(PAGE).status_code == 200
        clock.move(601)  # then a break
        assert client.get(PAGE).status_code == 303


def test_a_session_active_more_often_than_a_minute_lives_with_the_shortest_idle_limit(
        app_with: Callable[..., FastAPI], clock: Clock) -> None:
    app = app_with(session_idle_seconds=60)
    with browser(app) as client:
        log_in(client, "village_cadre")
        for _ in range(5):  # a page every 50 seconds: never 60 seconds without a request
            clock.move(50)
            assert client.get(PAGE).status_code == 200


def test_a_busy_session_ends_at_the_absolute_limit(app_with: Callable[..., FastAPI],
                                                   clock: Clock) -> None:
    app = app_with(session_max_age=3600, session_idle_seconds=1800)
    with browser(app) as client:
        log_in(client, "village_cadre")
        saved = saved_cookie(client)
        for _ in range(5):  # busy: a page every 12 minutes
            clock.move(720)
            assert client.get(PAGE).status_code == 200
        clock.move(1)  # 3601 s after the login, 1 s after the last page
        assert client.get(PAGE).status_code == 303
    assert not reaches(app, saved)


# -- the cookie itself -------------------------------------------------------------------------

def test_the_session_cookie_set_at_login_is_secure_when_configured(
        app_with: Callable[..., FastAPI]) -> None:
    app = app_with(cookie_secure=True)
    with browser(app, base_url="https://testserver") as client:
        answer = client.post("/login", data={"username": "village-cadre", "password": PASSWORD,
                                             "csrf_token": csrf_of(client)})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "; secure" in cookie and "; httponly" in cookie and "samesite=lax" in cookie
        assert client.get(PAGE).status_code == 200


def test_without_the_setting_the_cookie_is_not_marked_secure(app: FastAPI) -> None:
    with browser(app) as client:
        answer = client.post("/login", data={"username": "village-cadre", "password": PASSWORD,
                                             "csrf_token": csrf_of(client)})
        assert answer.status_code == 303 and "; secure" not in answer.headers["set-cookie"].lower()
