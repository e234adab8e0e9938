"""Every route, every persona: the right ones get in, the others get 403, 404 or the login.

A household outside the user's region answers 404 (tuopin does not confirm it exists); a
region outside it answers 403 (regions are public knowledge, households are not).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from factories import COUNTY, OTHER_VILLAGE, VILLAGE
from web.personas import MINE, OTHERS, OUTSIDE, PERSONAS, csrf_of

H1, H3 = MINE[0], MINE[2]  # H1 is the helper's, H3 is not
ALL = ("county_officer", "village_cadre", "other_cadre", "outsider", "helper", "auditor",
       "verifier", "admin")
EDIT_FORM = {"version": "1", "main_cause": "illness", "address": "二组"}


def expect(default: int, **special: int) -> dict[str | None, int]:
    """``default`` for every persona but those named; anonymous visitors go to the login."""
    table: dict[str | None, int] = dict.fromkeys(ALL, default)
    table.update(special)
    table[None] = 303
    return table


# (method, path, form, expected status per persona)
ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    ("GET", "/", None, expect(200)),
    ("GET", "/regions", None, expect(200)),
    ("GET", f"/regions?root={VILLAGE}", None, expect(200, other_cadre=403, outsider=403)),
    ("GET", f"/regions?root={COUNTY}", None,
     expect(403, county_officer=200, helper=200, auditor=200, verifier=200, admin=200)),
    ("GET", f"/villages/{VILLAGE}", None, expect(200, other_cadre=403, outsider=403)),
    ("GET", f"/villages/{OTHER_VILLAGE}", None, expect(200, village_cadre=403, outsider=403)),
    ("GET", "/households?q=户主", None, expect(200)),
    ("GET", f"/households/{H1}", None, expect(200, other_cadre=404, outsider=404)),
    ("GET", f"/households/{H3}", None, expect(200, other_cadre=404, outsider=404, helper=404)),
    ("GET", f"/households/{H1}/edit", None,
     expect(200, other_cadre=404, outsider=404, helper=403, auditor=403, verifier=403)),
    ("POST", f"/households/{H1}/edit", EDIT_FORM,
     expect(303, other_cadre=404, outsider=404, helper=403, auditor=403, verifier=403)),
    ("POST", f"/households/{H1}/reveal", {"field": "phone"},
     expect(200, other_cadre=404, outsider=404, auditor=403)),
    ("GET", f"/households/{H1}/history", None, expect(200, other_cadre=404, outsider=404)),
    ("POST", f"/households/{H1}/history/reveal", {},
     expect(200, other_cadre=404, outsider=404, auditor=403)),
    ("POST", f"/households/{H3}/history/reveal", {},
     expect(200, other_cadre=404, outsider=404, helper=404, auditor=403)),
    ("POST", "/logout", {}, expect(303)),
    ("POST", "/lang", {"lang": "en"}, expect(303)),
]
PUBLIC = ["/login", "/static/app.js", "/static/htmx.min.js", "/static/app.css",
          "/assets/plotly.min.js"]


def _cases() -> list[object]:
    return [pytest.param(method, path, form, persona, status,
                         id=f"{method} {path} {persona or 'anonymous'}")
            for method, path, form, table in ROUTES for persona, status in table.items()]


@pytest.mark.parametrize(("method", "path", "form", "persona", "status"), _cases())
def test_each_persona_gets_what_its_role_and_region_allow(
    client_for: Callable[[str | None], TestClient], method: str, path: str,
    form: dict[str, str] | None, persona: str | None, status: int,
) -> None:
    client = client_for(persona)
    if method == "GET":
        response = client.get(path)
    else:
        # The token of the client's own session: only access decides the outcome here.
        response = client.post(path, data={**(form or {}), "csrf_token": csrf_of(client)})
    assert response.status_code == status, response.text[:500]
    if persona is None and path not in ("/logout", "/lang"):
        assert response.headers["location"].startswith("/login?next=")


# A household a persona may not see, and numbers that are not registered at all (in the
# persona's own village and in another): every route answers the same for the three, so no
# answer confirms that a household exists outside one's reach.
HIDDEN = {"village_cadre": OTHERS[0], "other_cadre": H1, "outsider": H1, "helper": H3,
          "auditor": OUTSIDE[0], "verifier": OUTSIDE[0], "county_officer": OUTSIDE[0]}
MISSING = (f"{VILLAGE}0099", f"{OTHER_VILLAGE}0099")
HOUSEHOLD_ROUTES: list[tuple[str, str, dict[str, str] | None]] = [
    ("GET", "/households/{n}", None),
    ("GET", "/households/{n}/edit", None),
    ("POST", "/households/{n}/edit", EDIT_FORM),
    ("POST", "/households/{n}/reveal", {"field": "phone"}),
    ("GET", "/households/{n}/history", None),
    ("POST", "/households/{n}/history/reveal", {}),
    ("GET", "/households/{n}/plan", None),
    ("GET", "/households/{n}/exit", None),
    ("POST", "/households/{n}/exit/propose", {"run": "1", "version": "0", "minutes": "纪要"}),
    ("GET", "/households/{n}/monitoring", None),
    ("POST", "/households/{n}/monitoring/shock", {"kind": "illness",
                                                  "occurred_on": "2026-11-01"}),
    ("GET", "/households/{n}/members/new", None),
    ("GET", "/households/{n}/surveys/2019", None),
]


def _ask(client: TestClient, method: str, path: str, form: dict[str, str] | None) -> int:
    if method == "GET":
        return client.get(path).status_code
    return client.post(path, data={**(form or {}), "csrf_token": csrf_of(client)}).status_code


@pytest.mark.parametrize("persona", HIDDEN)
@pytest.mark.parametrize(("method", "path", "form"), HOUSEHOLD_ROUTES,
                         ids=[f"{m} {p}" for m, p, _ in HOUSEHOLD_ROUTES])
def test_a_household_out_of_reach_looks_like_one_that_does_not_exist(
    client_for: Callable[[str | None], TestClient], method: str, path: str,
    form: dict[str, str] | None, persona: str,
) -> None:
    client = client_for(persona)
    hidden = _ask(client, method, path.format(n=HIDDEN[persona]), form)
    assert hidden in (403, 404)
    for number in MISSING:
        assert _ask(client, method, path.format(n=number), form) == hidden, number


@pytest.mark.parametrize("path", PUBLIC)
def test_the_login_page_and_static_files_need_no_login(
        client_for: Callable[[str | None], TestClient], path: str) -> None:
    assert client_for(None).get(path).status_code == 200


def _numbers(html: str) -> set[str]:
    return set(re.findall(r'href="/households/(\d{16})"', html))


@pytest.mark.parametrize("persona", ALL)
def test_no_list_shows_a_household_the_user_may_not_see(
        client_for: Callable[[str | None], TestClient], persona: str) -> None:
    client = client_for(persona)
    seen: set[str] = set()
    for path in ["/households?q=户主", "/households?q=孩子", "/households?q=6211",
                 f"/villages/{VILLAGE}", f"/villages/{OTHER_VILLAGE}", "/regions"]:
        seen |= _numbers(client.get(path).text)
    assert seen <= PERSONAS[persona].sees
    assert seen == PERSONAS[persona].sees  # and each sees all of their own


@pytest.mark.parametrize("persona", ["county_officer", "village_cadre", "other_cadre",
                                     "outsider", "admin"])
def test_the_home_page_counts_only_the_users_region(
        client_for: Callable[[str | None], TestClient], persona: str) -> None:
    html = client_for(persona).get("/").text
    households = re.search(r"<b>(\d+)</b><span>[^<]*</span>", html)
    assert households and int(households.group(1)) == len(PERSONAS[persona].sees)


def test_the_region_tree_of_a_village_cadre_holds_only_their_village(
        client_for: Callable[[str | None], TestClient]) -> None:
    html = client_for("village_cadre").get("/regions").text
    codes = set(re.findall(r"(\d{12})", html))
    assert codes == {VILLAGE}
    assert not set(OUTSIDE) & _numbers(html) and not set(OTHERS) & _numbers(html)
