"""Who the API lets in, how often, and what a change needs.

Only a live Bearer token of an active account authenticates; every other request - no
token, a malformed, wrong, revoked or expired one, a disabled account, the web's session
cookie alone - gets the same 401 (nothing says which). A token is rate limited (429 with
Retry-After) and its last use recorded. No CSRF token is ever asked for. A change names the
version it read in If-Match: a stale one is refused (412) and changes nothing, a missing one
is asked for (428). Errors speak the Accept-Language: the same ``type``, zh or en texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import Mount

from api.conftest import principal_of, token_for
from tuopin.api.problems import KINDS, NO_TOKEN, URN
from tuopin.api.state import TokenBuckets
from tuopin.i18n import gettext
from tuopin.server import create_server
from tuopin.services.access import tokens, users
from tuopin.storage.models import ApiTokenRecord, AuditEventRecord
from web.conftest import Inline
from web.personas import CHEAP, MINE, TODAY_, log_in, settings_for

Clients = Callable[[str | None], TestClient]
API = "http://testserver/api/v1"
PROBLEM = "application/problem+json"
SURVEY = f"/households/{MINE[0]}/surveys/2019"

# What the persona tables, not this module, cover: these tests are about every operation.
COVERED: set[tuple[str, str]] = set()


def _client(app: FastAPI, secret: str | None = None, **headers: str) -> TestClient:
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return TestClient(app, base_url=API, headers=headers)


def _made(app: FastAPI, persona: str, **options: Any) -> tuple[str, tokens.Token]:
    with app.state.web.sessions() as db, db.begin():
        return tokens.create(db, principal=principal_of(app, persona), name="test", **options)


def _revoked(app: FastAPI) -> str:
    secret, info = _made(app, "village_cadre")
    with app.state.web.sessions() as db, db.begin():
        tokens.revoke(db, principal=principal_of(app, "village_cadre"), token_id=info.id)
    return secret


def _expired(app: FastAPI) -> str:
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    secret, info = _made(app, "village_cadre", expires_days=1, clock=lambda: two_days_ago)
    assert info.expires_at is not None and info.expires_at < datetime.now(UTC).isoformat()
    return secret


def _of_disabled_account(app: FastAPI) -> str:
    secret = token_for(app, "village_cadre")
    with app.state.web.sessions() as db, db.begin():
        users.disable(db, principal=principal_of(app, "admin"), username="village-cadre")
    return secret


def _wrong(app: FastAPI) -> str:
    secret = token_for(app, "village_cadre")
    return secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")


def _audit_count(app: FastAPI) -> int:
    with app.state.web.sessions() as db:
        return db.scalar(select(func.count()).select_from(AuditEventRecord)) or 0


def _last_used(app: FastAPI, prefix: str) -> str | None:
    with app.state.web.sessions() as db:
        return db.scalars(select(ApiTokenRecord.last_used_at)
                          .where(ApiTokenRecord.prefix == prefix)).one()


# -- 401: one answer for every failure ------------------------------------------------------

# name: headers of a request that must not authenticate (built on the live app)
REFUSED: dict[str, Callable[[FastAPI], dict[str, Any]]] = {
    "missing": lambda app: {},
    "empty bearer": lambda app: {"Authorization": "Bearer "},
    "bare scheme": lambda app: {"Authorization": "Bearer"},
    "no scheme": lambda app: {"Authorization": token_for(app, "village_cadre")},
    "basic": lambda app: {"Authorization": "Basic dmlsbGFnZS1jYWRyZTpjb3JyZWN0"},
    "not a token": lambda app: {"Authorization": "Bearer abc.def.ghi"},
    "too long": lambda app: {"Authorization": "Bearer tp_" + "x" * 300},
    "latin-1": lambda app: {"Authorization": "Bearer tp_\u00e9t\u00e9".encode("latin-1")},
    "wrong": lambda app: {"Authorization": f"Bearer {_wrong(app)}"},
    "revoked": lambda app: {"Authorization": f"Bearer {_revoked(app)}"},
    "expired": lambda app: {"Authorization": f"Bearer {_expired(app)}"},
    "disabled account": lambda app: {"Authorization": f"Bearer {_of_disabled_account(app)}"},
}


def _refusal(app: FastAPI, headers: dict[str, Any], method: str, path: str,
             **kwargs: Any) -> dict[str, Any]:
    with TestClient(app, base_url=API) as client:
        answer = client.request(method, path, headers=headers, **kwargs)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body.pop("instance") == "/api/v1" + path.split("?")[0]
    assert body.pop("request_id") == answer.headers["x-request-id"]
    return body


def test_every_failure_to_authenticate_is_the_same_401(server: FastAPI) -> None:
    expected = {"type": URN + "unauthorized", "status": 401, "errors": [],
                "title": gettext(KINDS["unauthorized"][1], "zh"),
                "detail": gettext(NO_TOKEN, "zh")}
    requests = [("GET", "/households", {}), ("GET", f"/households/{MINE[0]}", {}),
                ("PATCH", f"/households/{MINE[0]}",
                 {"json": {"address": "x"}, "headers": {"If-Match": '"1"'}}),
                ("POST", "/tokens", {"json": {"name": "mine"}}),
                ("GET", "/tokens", {})]
    for name, make in REFUSED.items():
        headers = make(server)
        for method, path, extra in requests:
            more = extra.get("headers", {})
            body = _refusal(server, {**headers, **more}, method, path,
                            **{k: v for k, v in extra.items() if k != "headers"})
            assert body == expected, (name, method, path)
    # nothing was changed by any of them
    with TestClient(server, base_url=API,
                    headers={"Authorization": f"Bearer {token_for(server, 'admin')}"}) as c:
        assert c.get(f"/households/{MINE[0]}").json()["household"]["address"] == "一组12号"


def test_the_same_token_works_until_it_is_revoked(server: FastAPI) -> None:
    secret, info = _made(server, "village_cadre")
    with _client(server, secret) as client:
        assert client.get("/households").status_code == 200
        assert client.delete(f"/tokens/{info.id}").status_code == 200
        _refusal(server, {"Authorization": f"Bearer {secret}"}, "GET", "/households")


def test_a_token_acts_with_the_account_as_it_is_now(server: FastAPI) -> None:
    secret = token_for(server, "village_cadre")
    with _client(server, secret) as client:
        assert client.get("/households").status_code == 200
        with server.state.web.sessions() as db, db.begin():
            users.disable(db, principal=principal_of(server, "admin"),
                          username="village-cadre")
        assert client.get("/households").status_code == 401


# -- the web's session is not the API's ------------------------------------------------------

def test_the_web_session_cookie_never_authenticates_the_api(server: FastAPI) -> None:
    with TestClient(server) as browser:
        log_in(browser, "village_cadre")
        assert browser.get(f"/households/{MINE[0]}").status_code == 200  # the web: logged in
        assert browser.cookies  # ... by its session cookie, which the API ignores:
        for method, path in (("GET", "/api/v1/households"), ("GET", "/api/v1/tokens"),
                             ("POST", "/api/v1/tokens")):
            answer = browser.request(method, path, json={"name": "via cookie"})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"
    with server.state.web.sessions() as db:
        assert db.scalars(select(ApiTokenRecord)).all() == []


def test_the_api_never_asks_for_a_csrf_token(server: FastAPI) -> None:
    secret = token_for(server, "village_cadre")
    with TestClient(server) as browser:
        log_in(browser, "village_cadre")  # a session cookie and a CSRF cookie in the jar
        headers = {"Authorization": f"Bearer {secret}"}
        made = browser.post("/api/v1/tokens", json={"name": "no csrf"}, headers=headers)
        assert made.status_code == 201, made.text
        etag = browser.get(f"/api/v1/households/{MINE[0]}", headers=headers).headers["etag"]
        changed = browser.patch(f"/api/v1/households/{MINE[0]}", json={"address": "二组"},
                                headers={**headers, "If-Match": etag})
        assert changed.status_code == 200, changed.text
        gone = browser.delete(f"/api/v1/tokens/{made.json()['info']['id']}", headers=headers)
        assert gone.status_code == 200, gone.text
    with _client(server, token_for(server, "village_cadre")) as fresh:  # no cookie at all
        assert fresh.post("/tokens", json={"name": "again"}).status_code == 201


# -- rate limit, last use ---------------------------------------------------------------------

@pytest.fixture
def slow_server(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    """The server with a token allowed 3 requests at once and one every 2 seconds."""
    app = create_server(settings_for(web_url, data_dir=tmp_path / "data", api_burst=3,
                                     api_rate=0.5),
                        hasher=CHEAP, today=lambda: TODAY_, background=Inline())
    with TestClient(app):
        yield app


def _buckets(app: FastAPI) -> TokenBuckets:
    api = next(route.app for route in app.routes
               if isinstance(route, Mount) and route.path == "/api")
    assert isinstance(api, FastAPI)
    buckets: TokenBuckets = api.state.api.buckets
    return buckets


def test_a_token_over_its_rate_gets_429_with_retry_after(slow_server: FastAPI) -> None:
    now = [1000.0]
    _buckets(slow_server).clock = lambda: now[0]
    with _client(slow_server, token_for(slow_server, "village_cadre"),
                 **{"Accept-Language": "en"}) as client:
        assert [client.get("/households").status_code for _ in range(3)] == [200] * 3
        refused = client.get("/households")
        assert refused.status_code == 429, refused.text
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"] == URN + "too-many-requests"
        assert client.patch(f"/households/{MINE[0]}", json={"address": "x"},
                            headers={"If-Match": '"1"'}).status_code == 429
        # another token has a bucket of its own
        with _client(slow_server, token_for(slow_server, "village_cadre")) as other:
            assert other.get("/households").status_code == 200
        now[0] += 1.0
        assert client.get("/households").status_code == 429
        now[0] += 1.0
        assert client.get("/households").status_code == 200
        assert client.get("/households").status_code == 429
    with _client(slow_server, token_for(slow_server, "admin")) as admin:
        got = admin.get(f"/households/{MINE[0]}").json()["household"]
        assert got["address"] == "一组12号" and got["version"] == 1


def test_the_last_use_of_a_token_is_recorded(server: FastAPI) -> None:
    secret, info = _made(server, "village_cadre")
    assert info.last_used_at is None and _last_used(server, info.prefix) is None
    before = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    with _client(server, secret) as client:
        assert client.get("/households").status_code == 200
        used = _last_used(server, info.prefix)
        assert used is not None and used >= before
        listed = {t["id"]: t for t in client.get("/tokens").json()}
        assert listed[info.id]["last_used_at"] == used
    # a token first used by a change: recorded in the change's own transaction
    secret, info = _made(server, "village_cadre")
    with _client(server, secret) as client:
        etag = client.get(f"/households/{MINE[1]}").headers["etag"]
    secret, info = _made(server, "village_cadre")
    with _client(server, secret) as client:
        assert client.patch(f"/households/{MINE[1]}", json={"address": "三组"},
                            headers={"If-Match": etag}).status_code == 200
    assert _last_used(server, info.prefix) is not None


def test_an_unused_or_refused_token_records_no_use(server: FastAPI) -> None:
    secret, info = _made(server, "village_cadre")
    with server.state.web.sessions() as db, db.begin():
        users.disable(db, principal=principal_of(server, "admin"), username="village-cadre")
    with _client(server, secret) as client:
        assert client.get("/households").status_code == 401
    assert _last_used(server, info.prefix) is None


# -- If-Match ---------------------------------------------------------------------------------

@pytest.fixture
def cadre(server: FastAPI) -> Iterator[TestClient]:
    with _client(server, token_for(server, "village_cadre"), **{"Accept-Language": "en"}) as c:
        yield c


def test_a_stale_if_match_gets_412_and_changes_nothing(server: FastAPI,
                                                       cadre: TestClient) -> None:
    path = f"/households/{MINE[0]}"
    first = cadre.get(path)
    read = first.headers["etag"]
    assert read == '"1"'
    saved = cadre.patch(path, json={"address": "二组3号"}, headers={"If-Match": read})
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"2"' and saved.json()["version"] == 2
    before, events = cadre.get(path), _audit_count(server)
    for stale in (read, 'W/"1"', '"0"', '"99"', '"abc"', "*, x"):
        refused = cadre.patch(path, json={"address": "改错了"}, headers={"If-Match": stale})
        assert refused.status_code == 412, (stale, refused.text)
        assert refused.headers["content-type"] == PROBLEM
        body = refused.json()
        assert body["type"] == URN + "stale"
    # the 412 of a real older version shows the record as it is now
    assert cadre.patch(path, json={"address": "x"},
                       headers={"If-Match": read}).json()["current"]["address"] == "二组3号"
    after = cadre.get(path)
    assert after.json() == before.json() and after.headers["etag"] == '"2"'
    assert _audit_count(server) == events


def test_a_stale_survey_tag_gets_412_and_changes_nothing(server: FastAPI,
                                                         cadre: TestClient) -> None:
    before, events = cadre.get(SURVEY), _audit_count(server)
    assert before.status_code == 200, before.text
    for stale in ('"0123456789abcdef0123"', '"new"', f'{before.headers["etag"]}x'):
        refused = cadre.put(SURVEY, json={"household_size": "9"}, headers={"If-Match": stale})
        assert refused.status_code == 412, (stale, refused.text)
        assert refused.json()["type"] == URN + "stale"
    after = cadre.get(SURVEY)
    assert after.json() == before.json() and after.headers["etag"] == before.headers["etag"]
    assert _audit_count(server) == events


def test_a_change_without_if_match_gets_428_and_changes_nothing(server: FastAPI,
                                                                cadre: TestClient) -> None:
    household, survey = cadre.get(f"/households/{MINE[0]}"), cadre.get(SURVEY)
    events = _audit_count(server)
    for headers in ({}, {"If-Match": ""}, {"If-Match": "  "}):
        refused = cadre.patch(f"/households/{MINE[0]}", json={"address": "x"}, headers=headers)
        assert refused.status_code == 428, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"] == URN + "precondition-required"
        refused = cadre.put(SURVEY, json={"household_size": "9"}, headers=headers)
        assert refused.status_code == 428, refused.text
    assert cadre.get(f"/households/{MINE[0]}").json() == household.json()
    assert cadre.get(SURVEY).json() == survey.json()
    assert _audit_count(server) == events


# -- languages --------------------------------------------------------------------------------

def _both(server: FastAPI, secret: str | None, method: str, path: str,
          **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    answers = []
    for lang in ("en", "zh-CN,zh;q=0.9,en;q=0.5"):
        with _client(server, secret, **{"Accept-Language": lang}) as client:
            answers.append(client.request(method, path, **kwargs))
    en, zh = answers
    assert en.status_code == zh.status_code and en.status_code >= 400
    assert en.headers["content-type"] == zh.headers["content-type"] == PROBLEM
    return en.json(), zh.json()


def _cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(("kind", "method", "path", "kwargs"), [
    ("unauthorized", "GET", "/households", {}),
    ("not-found", "GET", "/households/621121001001999", {}),
    ("invalid", "GET", "/households?limit=0", {}),
    ("invalid", "GET", "/households?cursor=not-a-cursor", {}),
    ("invalid", "PATCH", f"/households/{MINE[0]}",
     {"json": {"phone": "12"}, "headers": {"If-Match": '"1"'}}),
    ("stale", "PATCH", f"/households/{MINE[0]}",
     {"json": {"address": "x"}, "headers": {"If-Match": '"7"'}}),
    ("precondition-required", "PATCH", f"/households/{MINE[0]}", {"json": {"address": "x"}}),
])
def test_errors_speak_the_accept_language(server: FastAPI, kind: str, method: str, path: str,
                                          kwargs: dict[str, Any]) -> None:
    secret = None if kind == "unauthorized" else token_for(server, "village_cadre")
    en, zh = _both(server, secret, method, path, **kwargs)
    assert en["type"] == zh["type"] == URN + kind
    assert en["status"] == zh["status"] == KINDS[kind][0]
    assert en["title"] == gettext(KINDS[kind][1], "en")
    assert zh["title"] == gettext(KINDS[kind][1], "zh")
    assert not _cjk(en["title"]) and not _cjk(en["detail"]), en
    assert _cjk(zh["title"]) and _cjk(zh["detail"]), zh
    assert [e["field"] for e in en["errors"]] == [e["field"] for e in zh["errors"]]
    for ours, theirs in zip(en["errors"], zh["errors"], strict=True):
        if ours["message"] != theirs["message"]:
            assert _cjk(theirs["message"]) and not _cjk(ours["message"])


def test_without_accept_language_the_server_language_is_spoken(server: FastAPI) -> None:
    with _client(server) as client:
        body = client.get("/households").json()
    assert body["title"] == gettext(KINDS["unauthorized"][1], "zh")  # settings_for: lang="zh"
