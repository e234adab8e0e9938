"""Every plan route, every persona: who may see a household's panels and move its measures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from web.personas import MINE, csrf_of
from web.test_access import expect
from web.test_plans_pages import app, first  # noqa: F401  (app: the fixture with plans)

H1, H3 = MINE[0], MINE[2]  # H1 is the helper's, H3 is not
NO_VIEW = {"other_cadre": 404, "outsider": 404}
READ_ONLY = {"auditor": 403}
NOT_VERIFIER = {"verifier": 403}  # a verifier only verifies

# (method, path with {m} for H1's first measure or {m3} for H3's, form, expected statuses)
ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    *[("GET", f"/households/{H1}/{panel}", None, expect(200, **NO_VIEW))
      for panel in ("plan", "exit", "monitoring")],
    *[("GET", f"/households/{H3}/{panel}", None, expect(200, helper=404, **NO_VIEW))
      for panel in ("plan", "exit", "monitoring")],
    ("POST", f"/households/{H1}/measures/{{m}}/start", {},
     expect(303, **NO_VIEW, **READ_ONLY, **NOT_VERIFIER)),
    ("POST", f"/households/{H1}/measures/{{m}}/delay", {"reason": "雨季"},
     expect(303, **NO_VIEW, **READ_ONLY, **NOT_VERIFIER)),
    ("POST", f"/households/{H1}/measures/{{m}}/cancel", {"reason": "重复"},
     expect(303, **NO_VIEW, **READ_ONLY, **NOT_VERIFIER)),
    # the measure is only planned: those allowed in are refused by the ledger's rule (400)
    ("POST", f"/households/{H1}/measures/{{m}}/verify", {}, expect(400, **NO_VIEW, **READ_ONLY)),
    ("POST", f"/households/{H1}/measures/{{m}}/complete", {},  # no file: 400
     expect(400, **NO_VIEW, **READ_ONLY, **NOT_VERIFIER)),
    ("POST", f"/households/{H3}/measures/{{m3}}/start", {},
     expect(303, helper=404, **NO_VIEW, **READ_ONLY, **NOT_VERIFIER)),
]


def _cases() -> list[object]:
    return [pytest.param(method, path, form, persona, status,
                         id=f"{method} {path} {persona or 'anonymous'}")
            for method, path, form, table in ROUTES for persona, status in table.items()]


@pytest.mark.parametrize(("method", "path", "form", "persona", "status"), _cases())
def test_each_persona_gets_what_its_role_and_region_allow(
    client_for: Callable[[str | None], TestClient], app: FastAPI,  # noqa: F811
    method: str, path: str, form: dict[str, str] | None, persona: str | None, status: int,
) -> None:
    m = first(app, H3 if "{m3}" in path else H1)
    path = path.format(m=m.id, m3=m.id)
    client = client_for(persona)
    if method == "GET":
        response = client.get(path)
    else:
        data = {**(form or {}), "version": str(m.version),
                "csrf_token": csrf_of(client)}
        response = client.post(path, data=data)
    assert response.status_code == status, response.text[:500]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")
