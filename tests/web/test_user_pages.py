"""Accounts in the browser: who may list, add, disable and reset; the password shown once;
a disabled or reset account's sessions end."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import COUNTY, VILLAGE
from tuopin.i18n import gettext
from tuopin.storage.models import AuditEventRecord, UserRecord
from web.personas import PASSWORD, csrf_of, log_in
from web.test_access import expect

Clients = Callable[[str | None], TestClient]
MANAGERS = {"county_officer": 200, "outsider": 200, "admin": 200}
NEW_CADRE = {"username": "new-cadre", "display_name": "新村干部", "role": "village_cadre",
             "region_code": VILLAGE, "password": ""}

# (method, path, form, expected status per persona). The outsider is a county officer of
# another county: an account there is not found, a region there is refused.
ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    ("GET", "/users", None, expect(403, **MANAGERS)),
    ("GET", "/users/new", None, expect(403, **MANAGERS)),
    ("POST", "/users/new", NEW_CADRE, expect(403, county_officer=200, admin=200)),
    ("POST", "/users/village-cadre/disable", {},
     expect(403, county_officer=303, admin=303, outsider=404)),
    ("POST", "/users/village-cadre/reset-password", {},
     expect(403, county_officer=200, admin=200, outsider=404)),
    # a county officer's own account, and another county officer's: above what they manage
    ("POST", "/users/county-officer/disable", {}, expect(403, admin=303, outsider=404)),
    ("POST", "/users/county-officer/reset-password", {},
     expect(403, admin=200, outsider=404)),
    ("POST", "/users/admin/disable", {}, expect(403, county_officer=404, outsider=404)),
    ("POST", "/users/nobody/reset-password", {},
     expect(403, county_officer=404, outsider=404, admin=404)),
]


def _cases() -> list[object]:
    return [pytest.param(method, path, form, persona, status,
                         id=f"{method} {path} {persona or 'anonymous'}")
            for method, path, form, table in ROUTES for persona, status in table.items()]


@pytest.mark.parametrize(("method", "path", "form", "persona", "status"), _cases())
def test_each_persona_gets_what_its_role_and_region_allow(
    client_for: Clients, method: str, path: str, form: dict[str, str] | None,
    persona: str | None, status: int,
) -> None:
    client = client_for(persona)
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, data={**(form or {}), "csrf_token": csrf_of(client)})
    assert response.status_code == status, response.text[:500]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


def account(app: FastAPI, username: str) -> UserRecord | None:
    with app.state.web.sessions() as db:
        return db.scalars(select(UserRecord).where(UserRecord.username == username)).first()


def shown_password(html: str) -> str:
    found = re.search(r'id="new-password">([^<]+)<', html)
    assert found, "no password on the page"
    return found.group(1)


@pytest.mark.parametrize("path", ["/users/new", "/users/village-cadre/disable",
                                  "/users/village-cadre/reset-password"])
def test_a_post_without_the_csrf_token_is_refused(client_for: Clients, app: FastAPI,
                                                  path: str) -> None:
    answer = client_for("admin").post(path, data=NEW_CADRE)
    assert answer.status_code == 403
    assert account(app, "new-cadre") is None
    assert account(app, "village-cadre").active  # type: ignore[union-attr]


def test_an_account_added_through_the_form_logs_in_with_the_password_shown_once(
        client_for: Clients, app: FastAPI) -> None:
    officer = client_for("county_officer")
    form = officer.get("/users/new").text
    assert 'name="region_code"' in form and f'value="{VILLAGE}"' in form
    assert 'value="admin"' not in form and 'value="county_officer"' not in form
    answer = officer.post("/users/new", data={**NEW_CADRE, "csrf_token": csrf_of(officer)})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert gettext("This password is shown only now and never again.", "zh") in answer.text
    password = shown_password(answer.text)
    log_in(client_for(None), "new-cadre", password)  # asserts the login is accepted
    assert password not in officer.get("/users").text
    with app.state.web.sessions() as db:
        event = db.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == "add", AuditEventRecord.entity_id == "new-cadre")).one()
    assert event.actor == "web:county-officer"


def test_a_password_typed_in_the_form_is_not_shown_back(client_for: Clients) -> None:
    admin = client_for("admin")
    answer = admin.post("/users/new", data={**NEW_CADRE, "password": "chosen by the admin",
                                            "csrf_token": csrf_of(admin)})
    assert answer.status_code == 200 and "chosen by the admin" not in answer.text
    log_in(client_for(None), "new-cadre", "chosen by the admin")


@pytest.mark.parametrize(("changes", "field"), [
    ({"region_code": COUNTY}, "region_code"),  # a village cadre works in a village
    ({"username": "Li Si"}, "username"),
    ({"username": "village-cadre"}, "username"),  # taken
    ({"role": "helper", "region_code": COUNTY, "helper_number": "H999"}, "helper_number"),
    ({"password": "short"}, "password"),
])
def test_a_refused_field_is_shown_next_to_it_and_nothing_is_added(
        client_for: Clients, app: FastAPI, changes: dict[str, str], field: str) -> None:
    admin = client_for("admin")
    answer = admin.post("/users/new", data={**NEW_CADRE, **changes,
                                            "csrf_token": csrf_of(admin)})
    assert answer.status_code == 400
    assert f'id="error-{field}"' in answer.text
    assert 'value="新村干部"' in answer.text  # what was typed is kept
    assert account(app, "new-cadre") is None and account(app, "li si") is None


def test_a_disabled_accounts_session_ends_at_its_next_request(client_for: Clients,
                                                              app: FastAPI) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    assert cadre.get("/").status_code == 200
    answer = officer.post("/users/village-cadre/disable", data={"csrf_token": csrf_of(officer)})
    assert answer.status_code == 303 and answer.headers["location"] == "/users"
    later = cadre.get("/")
    assert later.status_code == 303 and later.headers["location"].startswith("/login")
    assert account(app, "village-cadre").active is False  # type: ignore[union-attr]
    listed = officer.get("/users").text
    row = re.search(r'<tr id="user-village-cadre".*?</tr>', listed, re.S)
    assert row and "/disable" not in row.group(0)


def test_a_reset_refuses_the_old_password_and_accepts_the_new(client_for: Clients) -> None:
    admin = client_for("admin")
    answer = admin.post("/users/village-cadre/reset-password",
                        data={"csrf_token": csrf_of(admin)})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    new = shown_password(answer.text)
    stranger = client_for(None)
    refused = stranger.post("/login", data={"username": "village-cadre", "password": PASSWORD,
                                            "csrf_token": csrf_of(stranger)})
    assert refused.status_code == 401
    log_in(client_for(None), "village_cadre", new)


def test_nobody_disables_their_own_account(client_for: Clients, app: FastAPI) -> None:
    admin = client_for("admin")
    assert admin.post("/users/admin/disable",
                      data={"csrf_token": csrf_of(admin)}).status_code == 403
    assert account(app, "admin").active  # type: ignore[union-attr]
    assert 'action="/users/admin/disable"' not in admin.get("/users").text


def test_the_list_of_a_county_officer_shows_no_user_of_another_county(
        client_for: Clients) -> None:
    html = client_for("county_officer").get("/users").text
    listed = set(re.findall(r'<tr id="user-([^"]+)"', html))
    assert listed == {"county-officer", "village-cadre", "other-cadre", "helper", "auditor",
                      "verifier"}
    everyone = set(re.findall(r'<tr id="user-([^"]+)"', client_for("admin").get("/users").text))
    assert everyone == listed | {"outsider", "admin"}
