"""One's own API tokens in the browser: every persona lists, makes and revokes its own; the
secret is shown once; nobody sees or revokes another's token, not even its manager."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from factories import operator
from tuopin.i18n import gettext
from tuopin.services.access import tokens
from tuopin.storage.models import ApiTokenRecord, AuditEventRecord
from web.personas import csrf_of
from web.test_access import ALL, expect

Clients = Callable[[str | None], TestClient]


def made(app: FastAPI, persona: str = "village_cadre", name: str = "低保对接",
         clock: tokens.Clock | None = None, days: int | None = None) -> tuple[str, int]:
    """A token of ``persona``'s account, made as the command line makes it: (secret, id)."""
    with app.state.web.sessions() as db, db.begin():
        secret, token = tokens.create(db, principal=operator("ops"),
                                      username=persona.replace("_", "-"), name=name,
                                      expires_days=days, **({"clock": clock} if clock else {}))
    return secret, token.id


def bearer(app: FastAPI, secret: str) -> tokens.Bearer | None:
    with app.state.web.sessions() as db:
        return tokens.authenticate(db, secret=secret)


def rows(app: FastAPI) -> list[ApiTokenRecord]:
    with app.state.web.sessions() as db:
        found = list(db.scalars(select(ApiTokenRecord).order_by(ApiTokenRecord.id)))
        db.expunge_all()
    return found


def shown_secret(html: str) -> str:
    found = re.search(r'id="new-token">([^<]+)<', html)
    assert found, "no token on the page"
    return found.group(1)


# (method, path, form, expected status per persona); {cadre} is the village cadre's token
ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    ("GET", "/tokens", None, expect(200)),
    ("POST", "/tokens", {"name": "对接", "expires_days": "30"}, expect(200)),
    # only its owner revokes it here: its managers (county officer, admin) do not find it
    ("POST", "/tokens/{cadre}/revoke", {}, expect(404, village_cadre=303)),
]


# one browser per persona goes through every route (a fresh app per case would cost more
# than the requests)
@pytest.mark.parametrize("persona", [*ALL, None], ids=lambda p: p or "anonymous")
def test_each_persona_gets_its_own_tokens_only(client_for: Clients, app: FastAPI,
                                               persona: str | None) -> None:
    secret, cadre = made(app, name="村干部的令牌")
    mine, own = made(app, persona or "admin", name="my own token")
    client = client_for(persona)
    for method, path, form, table in ROUTES:
        url, status = path.format(cadre=cadre), table[persona]
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={**(form or {}), "csrf_token": csrf_of(client)})
        assert response.status_code == status, (method, path, response.text[:500])
        if persona is None:
            assert response.headers["location"].startswith("/login?next=")
            continue
        revoked = status == 303 and "revoke" in path
        assert (bearer(app, secret) is None) == revoked and bearer(app, mine) is not None
        if method == "GET":  # one's own token and nobody else's, never a secret
            page = response.text
            assert f'id="token-{own}"' in page and mine[:10] in page
            assert (f'id="token-{cadre}"' in page) == ("村干部的令牌" in page) == (
                persona == "village_cadre")
            assert mine not in page and secret not in page


def test_the_menu_links_to_the_tokens(client_for: Clients) -> None:
    assert 'href="/tokens"' in client_for("helper").get("/").text


def test_a_new_token_is_shown_once_and_works(client_for: Clients, app: FastAPI) -> None:
    helper = client_for("helper")
    answer = helper.post("/tokens", data={"name": "帮扶记录", "expires_days": "",
                                          "csrf_token": csrf_of(helper, "/tokens")})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert gettext("This token is shown only now and never again.", "zh") in answer.text
    secret = shown_secret(answer.text)
    found = bearer(app, secret)
    assert found is not None and found.user.username == "helper"
    [row] = rows(app)
    assert (row.name, row.kind, row.created_by, row.expires_at) == (
        "帮扶记录", "personal", "web:helper", None)
    page = helper.get("/tokens").text
    assert f'id="token-{row.id}"' in page and secret[:10] in page and secret not in page
    with app.state.web.sessions() as db:
        trail = [str(e.after) for e in db.scalars(select(AuditEventRecord))]
    assert not [after for after in trail if secret in after]


def test_a_token_with_days_expires_then(client_for: Clients, app: FastAPI) -> None:
    cadre = client_for("village_cadre")
    answer = cadre.post("/tokens", data={"name": "a", "expires_days": "7",
                                         "csrf_token": csrf_of(cadre, "/tokens")})
    assert answer.status_code == 200
    [row] = rows(app)
    expected = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert row.expires_at is not None and row.expires_at.startswith(expected)


def test_an_expired_token_is_marked_and_offers_no_revoke(client_for: Clients,
                                                         app: FastAPI) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    _, old = made(app, clock=lambda: long_ago, days=1)
    page = client_for("village_cadre").get("/tokens").text
    row = page.split(f'id="token-{old}"')[1].split("</tr>")[0]
    assert f"({gettext('expired', 'zh')})" in row and "/revoke" not in row


def test_revoking_ones_token_refuses_it_from_then_on(client_for: Clients,
                                                     app: FastAPI) -> None:
    secret, own = made(app)
    cadre = client_for("village_cadre")
    answer = cadre.post(f"/tokens/{own}/revoke", data={"csrf_token": csrf_of(cadre, "/tokens")})
    assert answer.status_code == 303 and answer.headers["location"] == "/tokens"
    assert bearer(app, secret) is None
    page = cadre.get("/tokens").text
    row = page.split(f'id="token-{own}"')[1].split("</tr>")[0]
    assert "/revoke" not in row and rows(app)[0].revoked_at is not None
    assert gettext("The token is revoked: the API refuses it from now on.", "zh") in page


@pytest.mark.parametrize(("form", "field"), [
    ({"name": " " * 3}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": "a", "expires_days": "soon"}, "expires_days"),  # the page's own check
    ({"name": "a", "expires_days": "0"}, "expires_days"),  # the service's
])
def test_a_refused_field_is_shown_next_to_it_and_no_token_is_made(
        client_for: Clients, app: FastAPI, form: dict[str, str], field: str) -> None:
    _, own = made(app)
    cadre = client_for("village_cadre")
    answer = cadre.post("/tokens", data={**form, "csrf_token": csrf_of(cadre, "/tokens")})
    assert answer.status_code == 400
    assert f'id="error-{field}"' in answer.text
    assert f'id="token-{own}"' in answer.text  # the list is still there
    assert len(rows(app)) == 1


def test_a_post_without_the_csrf_token_is_refused(client_for: Clients, app: FastAPI) -> None:
    secret, own = made(app)
    cadre = client_for("village_cadre")
    assert cadre.post("/tokens", data={"name": "a"}).status_code == 403
    assert cadre.post(f"/tokens/{own}/revoke", data={}).status_code == 403
    assert cadre.post(f"/tokens/{own}/revoke",
                      data={"csrf_token": "not-the-sessions"}).status_code == 403
    assert len(rows(app)) == 1 and bearer(app, secret) is not None
