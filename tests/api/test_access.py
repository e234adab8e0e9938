"""The persona tables of the registry and token endpoints: every persona and no token.

Reads: a persona finds what its scope holds (``web.personas``: a village cadre MINE, never
OTHERS), in lists as in single reads; a record beside one's scope is not found (404) and a
region filter beside one's region is refused (403). Changes: only the roles that edit the
registry (not a helper, an auditor or a verifier: 403), only in their scope (404), and a
refused change changes nothing. Tokens: one's own, never another's
(whoever manages an account revokes its tokens elsewhere: the command line, the web).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from api.conftest import ALL, token_for
from factories import person_id
from tuopin.server import create_server
from tuopin.services.access.principal import SEES_IDENTIFIERS
from web.conftest import Inline
from web.personas import (
    CHEAP,
    COUNTY,
    MINE,
    OTHER_VILLAGE,
    OTHERS,
    OUTSIDE,
    OUTSIDE_COUNTY,
    OUTSIDE_VILLAGE,
    PERSONAS,
    PHONE,
    TODAY_,
    VILLAGE,
    settings_for,
)

Api = Callable[[str | None], TestClient]
Persona = str | None
EVERYBODY: tuple[Persona, ...] = (*ALL, None)
HOMES = [*MINE, *OTHERS, *OUTSIDE]
EDITORS = {"county_officer", "village_cadre", "other_cadre", "outsider", "admin"}
# the roles that see ID, phone and bank numbers whole (the others get them masked)
SEES_NUMBERS = {p for p, persona in PERSONAS.items() if persona.role in SEES_IDENTIFIERS}
REGION = {"county_officer": COUNTY, "village_cadre": VILLAGE, "other_cadre": OTHER_VILLAGE,
          "outsider": OUTSIDE_COUNTY, "helper": COUNTY, "auditor": COUNTY, "verifier": COUNTY}

COVERED = {
    ("GET", "/v1/regions"),
    ("GET", "/v1/households"),
    ("GET", "/v1/households/{number}"),
    ("PATCH", "/v1/households/{number}"),
    ("POST", "/v1/households"),
    ("POST", "/v1/households/{number}/members"),
    ("PATCH", "/v1/members/{member_id}"),
    ("GET", "/v1/members"),
    ("GET", "/v1/members/{member_id}"),
    ("GET", "/v1/households/{number}/surveys/{year}"),
    ("PUT", "/v1/households/{number}/surveys/{year}"),
    ("GET", "/v1/tokens"),
    ("POST", "/v1/tokens"),
    ("DELETE", "/v1/tokens/{token_id}"),
}


def sees(persona: Persona) -> set[str]:
    return set(PERSONAS[persona].sees) if persona else set()


def may_read(persona: Persona, number: str) -> int:
    """The status of a read of household ``number``'s records by ``persona``."""
    return 401 if persona is None else 200 if number in sees(persona) else 404


def may_change(persona: Persona, number: str) -> int:
    """The status of a change of household ``number``'s records by ``persona``."""
    if persona is None:
        return 401
    if persona not in EDITORS:
        return 403
    return 200 if number in sees(persona) else 404


def statuses(answers: dict[Persona, Response]) -> dict[Persona, int]:
    return {persona: answer.status_code for persona, answer in answers.items()}


def _clients(app: FastAPI) -> dict[Persona, TestClient]:
    return {p: TestClient(app, base_url="http://testserver/api/v1", headers={
        "Authorization": f"Bearer {token_for(app, p)}"} if p else {}) for p in EVERYBODY}


@pytest.fixture(scope="module")
def api(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A client per persona on one server for the module's reads (nothing here writes)."""
    folder = tmp_path_factory.mktemp("access-server")
    shutil.copy(web_template, folder / "tuopin.db")
    app = create_server(settings_for(f"sqlite:///{folder / 'tuopin.db'}",
                                     data_dir=folder / "data", api_burst=10_000),
                        hasher=CHEAP, today=lambda: TODAY_, background=Inline())
    with TestClient(app):
        clients = _clients(app)
        yield clients.__getitem__
        for client in clients.values():
            client.close()


@pytest.fixture
def fresh(server: FastAPI) -> Iterator[Api]:
    """A client per persona on the test's own copy of the world (for changes)."""
    clients = _clients(server)
    yield clients.__getitem__
    for client in clients.values():
        client.close()


def ask(api: Api, path: str, **params: Any) -> dict[Persona, Response]:
    return {p: api(p).get(path, params=params) for p in EVERYBODY}


# -- regions ----------------------------------------------------------------------------------

def test_regions(api: Api) -> None:
    answers = ask(api, "/regions")
    assert statuses(answers) == {p: 401 if p is None else 200 for p in EVERYBODY}
    for persona, answer in answers.items():
        if persona is None:
            continue
        tree = answer.json()
        codes = {node["code"] for node in tree}
        assert tree[0]["depth"] == 0
        if persona == "admin":
            assert {COUNTY, OUTSIDE_COUNTY} <= {code.rstrip("0") for code in codes}
            continue
        assert tree[0]["code"].startswith(REGION[persona]), persona
        assert all(code.startswith(REGION[persona]) for code in codes), (persona, codes)
    assert [n["code"] for n in answers["village_cadre"].json()] == [VILLAGE]
    assert answers["village_cadre"].json()[0]["households"] == len(MINE)
    assert [n["code"] for n in answers["other_cadre"].json()] == [OTHER_VILLAGE]


@pytest.mark.parametrize("root", [VILLAGE, OTHER_VILLAGE, COUNTY, OUTSIDE_COUNTY])
def test_regions_from_a_root(api: Api, root: str) -> None:
    """A root in one's region, or holding it, is answered (the part one may see); a root
    beside it is refused."""
    def expected(persona: Persona) -> int:
        if persona is None:
            return 401
        if persona == "admin":
            return 200
        mine = REGION[persona]
        return 200 if root.startswith(mine) else 403

    answers = ask(api, "/regions", root=root)
    assert statuses(answers) == {p: expected(p) for p in EVERYBODY}
    for persona, answer in answers.items():
        if answer.status_code == 200 and persona not in (None, "admin"):
            assert all(n["code"].startswith(REGION[persona]) or
                       REGION[persona].startswith(n["code"].rstrip("0"))
                       for n in answer.json()), persona


# -- households -------------------------------------------------------------------------------

def _numbers(answer: Response) -> list[str]:
    return [h["number"] for h in answer.json()["items"]]


def test_households_list(api: Api) -> None:
    answers = ask(api, "/households")
    assert statuses(answers) == {p: 401 if p is None else 200 for p in EVERYBODY}
    for persona in ALL:
        assert set(_numbers(answers[persona])) == sees(persona), persona
        assert answers[persona].json()["next"] is None
    assert not set(_numbers(answers["village_cadre"])) & set(OTHERS)
    assert not set(_numbers(answers["other_cadre"])) & set(MINE)


def test_households_list_pages_through_ones_own_only(api: Api) -> None:
    for persona in ("village_cadre", "county_officer", "admin", "helper"):
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page = api(persona).get("/households", params={"limit": 1, "cursor": cursor}
                                    if cursor else {"limit": 1})
            assert page.status_code == 200, page.text
            seen += _numbers(page)
            cursor = page.json()["next"]
            if cursor is None:
                break
        assert seen == sorted(sees(persona)), persona


@pytest.mark.parametrize("region", [VILLAGE, OTHER_VILLAGE, COUNTY, OUTSIDE_COUNTY, "62"])
def test_households_list_by_region(api: Api, region: str) -> None:
    """A region filter narrows one's list; a region beside one's own is refused (403), so a
    village cadre cannot even learn whether the other village has households."""
    def expected(persona: Persona) -> int:
        if persona is None:
            return 401
        if persona == "admin":
            return 200
        mine = REGION[persona]
        return 200 if region.startswith(mine) or mine.startswith(region) else 403

    answers = ask(api, "/households", region=region)
    assert statuses(answers) == {p: expected(p) for p in EVERYBODY}
    for persona, answer in answers.items():
        if answer.status_code == 200:
            assert set(_numbers(answer)) == {n for n in sees(persona)
                                             if n.startswith(region)}, persona


@pytest.mark.parametrize("number", HOMES)
def test_one_household(api: Api, number: str) -> None:
    answers = ask(api, f"/households/{number}")
    assert statuses(answers) == {p: may_read(p, number) for p in EVERYBODY}
    for persona, answer in answers.items():
        if answer.status_code != 200:
            assert answer.headers["content-type"] == "application/problem+json"
            assert number not in answer.text.replace(answer.json().get("instance", ""), "")
            continue
        body = answer.json()
        assert body["household"]["number"] == number
        assert answer.headers["etag"] == f'"{body["household"]["version"]}"'
        assert {m["household_number"] for m in body["members"]} == {number}
        assert {s["household_number"] for s in body["surveys"]} <= {number}
        if number == MINE[0]:
            shown = body["household"]["phone"]
            assert (shown == PHONE) == (persona in SEES_NUMBERS), (persona, shown)


def test_a_refused_household_is_the_same_as_one_that_does_not_exist(api: Api) -> None:
    """A number of another village is answered as a number nobody has."""
    other = api("village_cadre").get(f"/households/{OTHERS[0]}")
    nobody = api("village_cadre").get(f"/households/{VILLAGE}9999")
    assert other.status_code == nobody.status_code == 404
    strip = ("instance", "request_id")  # each answer has its own request id
    assert ({k: v for k, v in other.json().items() if k not in strip}
            == {k: v for k, v in nobody.json().items() if k not in strip})


@pytest.mark.parametrize("number", [MINE[0], OTHERS[0], OUTSIDE[0]])
def test_patch_household(fresh: Api, number: str) -> None:
    """Every persona tries the same change with the version as it is: editors in scope
    change it (each a version further), the rest are refused and change nothing."""
    admin = fresh("admin")
    for persona in EVERYBODY:
        before = admin.get(f"/households/{number}")
        version = before.json()["household"]["version"]
        answer = fresh(persona).patch(f"/households/{number}",
                                      json={"address": f"{persona}改"},
                                      headers={"If-Match": f'"{version}"'})
        expected = may_change(persona, number)
        assert answer.status_code == expected, (persona, answer.text)
        after = admin.get(f"/households/{number}")
        if expected == 200:
            assert answer.json()["version"] == version + 1
            assert answer.headers["etag"] == f'"{version + 1}"'
            assert after.json()["household"]["address"] == f"{persona}改"
        else:
            assert after.json() == before.json(), persona


BORN = date(1980, 5, 5)


def newcomer(sequence: int, relation: str) -> dict[str, str]:
    """A member nobody has registered yet (the ID number says when and where born)."""
    return {"id_number": person_id(BORN, sequence), "name": f"新成员{sequence}",
            "relation": relation, "birth_date": BORN.isoformat()}


def may_register(persona: Persona, village: str) -> int:
    """A new household in ``village``: a village beside one's region is refused (403), as
    a region filter beside it is."""
    if persona is None:
        return 401
    if persona not in EDITORS:
        return 403
    return 201 if persona == "admin" or village.startswith(REGION[persona]) else 403


@pytest.mark.parametrize("village", [VILLAGE, OTHER_VILLAGE, OUTSIDE_VILLAGE])
def test_register_household(fresh: Api, village: str) -> None:
    admin = fresh("admin")
    before = {h["number"] for h in admin.get("/households").json()["items"]}
    for index, persona in enumerate(EVERYBODY):
        head = newcomer(101 + 2 * index, "head")
        body = {"household": {"village_code": village, "address": "新址", "status": "poor",
                              "main_cause": "illness", "year_identified": "2025"},
                "members": [head]}
        answer = fresh(persona).post("/households", json=body)
        expected = may_register(persona, village)
        assert answer.status_code == expected, (persona, answer.text)
        after = {h["number"] for h in admin.get("/households").json()["items"]}
        if expected == 201:
            number = answer.json()["number"]
            assert answer.json()["village_code"] == village and number.startswith(village)
            assert after == before | {number}
            assert answer.headers["location"].endswith(f"households/{number}")
            assert fresh(persona).get(f"/households/{number}").status_code == 200
            members = admin.get("/members", params={"household": number}).json()["items"]
            assert [m["id_number"] for m in members] == [head["id_number"]]
            before = after
        else:
            assert after == before, persona


@pytest.mark.parametrize("number", [MINE[0], OTHERS[0], OUTSIDE[0]])
def test_add_member(fresh: Api, number: str) -> None:
    admin = fresh("admin")
    for index, persona in enumerate(EVERYBODY):
        before = admin.get("/members", params={"household": number}).json()["items"]
        answer = fresh(persona).post(f"/households/{number}/members",
                                     json=newcomer(201 + 2 * index, "child"))
        expected = 201 if may_change(persona, number) == 200 else may_change(persona, number)
        assert answer.status_code == expected, (persona, answer.text)
        after = admin.get("/members", params={"household": number}).json()["items"]
        if expected == 201:
            added = answer.json()
            assert added["household_number"] == number
            assert answer.headers["etag"] == f'"{added["version"]}"'
            assert [m["id"] for m in after] == [m["id"] for m in before] + [added["id"]]
        else:
            assert after == before, persona


@pytest.mark.parametrize("number", [MINE[0], OTHERS[0], OUTSIDE[0]])
def test_patch_member(fresh: Api, number: str) -> None:
    admin = fresh("admin")
    member_id = admin.get("/members", params={"household": number}).json()["items"][1]["id"]
    for persona in EVERYBODY:
        before = admin.get(f"/members/{member_id}")
        version = before.json()["version"]
        answer = fresh(persona).patch(f"/members/{member_id}", json={"name": f"{persona}改"},
                                      headers={"If-Match": f'"{version}"'})
        expected = may_change(persona, number)
        if expected == 403 and number not in sees(persona):
            expected = 404  # a member one cannot see is not found, whatever one's role
        assert answer.status_code == expected, (persona, answer.text)
        after = admin.get(f"/members/{member_id}")
        if expected == 200:
            assert answer.json()["version"] == version + 1
            assert answer.headers["etag"] == f'"{version + 1}"'
            assert after.json()["name"] == f"{persona}改"
        else:
            assert after.json() == before.json(), persona


# -- members ----------------------------------------------------------------------------------

def _households_of(answer: Response) -> list[str]:
    return [m["household_number"] for m in answer.json()["items"]]


def test_members_list(api: Api) -> None:
    answers = ask(api, "/members", limit=1000)
    assert statuses(answers) == {p: 401 if p is None else 200 for p in EVERYBODY}
    for persona in ALL:
        homes = _households_of(answers[persona])
        assert set(homes) == sees(persona), persona
        assert len(homes) == 2 * len(sees(persona))  # factories.members: two a household
        for member in answers[persona].json()["items"]:
            assert ("*" not in member["id_number"]) == (persona in SEES_NUMBERS), persona


@pytest.mark.parametrize("number", HOMES)
def test_members_of_one_household(api: Api, number: str) -> None:
    answers = ask(api, "/members", household=number)
    assert statuses(answers) == {p: may_read(p, number) for p in EVERYBODY}
    for answer in answers.values():
        if answer.status_code == 200:
            assert _households_of(answer) == [number, number]


@pytest.mark.parametrize("region", [VILLAGE, OTHER_VILLAGE, OUTSIDE_COUNTY])
def test_members_by_region(api: Api, region: str) -> None:
    def expected(persona: Persona) -> int:
        if persona is None:
            return 401
        if persona == "admin":
            return 200
        mine = REGION[persona]
        return 200 if region.startswith(mine) or mine.startswith(region) else 403

    answers = ask(api, "/members", region=region)
    assert statuses(answers) == {p: expected(p) for p in EVERYBODY}
    for persona, answer in answers.items():
        if answer.status_code == 200:
            assert set(_households_of(answer)) == {n for n in sees(persona)
                                                   if n.startswith(region)}, persona


def test_one_member(api: Api) -> None:
    everyone = api("admin").get("/members", params={"limit": 1000}).json()["items"]
    assert {m["household_number"] for m in everyone} == set(HOMES)
    for member in everyone:
        answers = ask(api, f"/members/{member['id']}")
        number = member["household_number"]
        assert statuses(answers) == {p: may_read(p, number) for p in EVERYBODY}, number
        for answer in answers.values():
            if answer.status_code == 200:
                assert answer.json()["id"] == member["id"]
                assert answer.headers["etag"] == f'"{answer.json()["version"]}"'
    missing = ask(api, "/members/999999")
    assert statuses(missing) == {p: 401 if p is None else 404 for p in EVERYBODY}


# -- surveys ----------------------------------------------------------------------------------

@pytest.mark.parametrize("number", HOMES)
def test_get_survey(api: Api, number: str) -> None:
    """A survey is read by whoever reads its household (where it is shown too)."""
    answers = ask(api, f"/households/{number}/surveys/2019")
    assert statuses(answers) == {p: may_read(p, number) for p in EVERYBODY}
    for persona, answer in answers.items():
        if answer.status_code == 200:
            body = answer.json()
            assert (body["household_number"], body["year"]) == (number, 2019)
            shown = api(persona).get(f"/households/{number}").json()["surveys"]
            assert [s for s in shown if s["year"] == 2019] == [body]


SURVEY = {"household_size": "2", "wage_income": "5000", "food_secure": "是",
          "clothing_secure": "是", "housing_grade": "A"}


@pytest.mark.parametrize("number", [MINE[0], OTHERS[0], OUTSIDE[0]])
def test_put_survey(fresh: Api, number: str) -> None:
    """Every persona enters a new year's survey (each its own year): editors in scope
    only; a refused entry leaves no survey."""
    admin = fresh("admin")
    for index, persona in enumerate(EVERYBODY):
        year = 2010 + index  # before TODAY_, and none entered yet
        answer = fresh(persona).put(f"/households/{number}/surveys/{year}", json=SURVEY,
                                    headers={"If-Match": '"new"'})
        expected = may_change(persona, number)
        assert answer.status_code == expected, (persona, answer.text)
        stored = admin.get(f"/households/{number}/surveys/{year}")
        if expected == 200:
            assert stored.status_code == 200
            assert answer.json() == stored.json()
            assert answer.headers["etag"] == stored.headers["etag"]
            assert stored.json()["wage_income"] == 5000
        else:
            assert stored.status_code == 404, persona


# -- tokens -----------------------------------------------------------------------------------

def test_tokens_list_holds_ones_own_only(fresh: Api) -> None:
    answers = {p: fresh(p).get("/tokens") for p in EVERYBODY}
    assert statuses(answers) == {p: 401 if p is None else 200 for p in EVERYBODY}
    for persona in ALL:
        listed = answers[persona].json()
        assert [t["username"] for t in listed] == [persona.replace("_", "-")], persona
        assert all("secret" not in t and "token" not in t for t in listed)


def test_tokens_are_made_for_ones_own_account(fresh: Api) -> None:
    answers = {p: fresh(p).post("/tokens", json={"name": "another", "expires_days": 30})
               for p in EVERYBODY}
    assert statuses(answers) == {p: 401 if p is None else 201 for p in EVERYBODY}
    for persona in ALL:
        made = answers[persona].json()
        info = made["info"]
        assert info["username"] == persona.replace("_", "-") and info["kind"] == "personal"
        assert made["token"].startswith(info["prefix"]) and info["expires_at"]
        listed = fresh(persona).get("/tokens").json()
        assert [t["id"] for t in listed][0] == info["id"]
        assert all("token" not in t for t in listed)
        # the new token works, with the same account
        with TestClient(fresh(persona).app, base_url="http://testserver/api/v1",
                        headers={"Authorization": f"Bearer {made['token']}"}) as client:
            mine = client.get("/tokens").json()
            assert {t["username"] for t in mine} == {persona.replace("_", "-")}


@pytest.mark.parametrize("owner", ["village_cadre", "county_officer", "admin"])
def test_revoke_a_token(server: FastAPI, fresh: Api, owner: str) -> None:
    for persona in EVERYBODY:
        secret = token_for(server, owner)
        with TestClient(server, base_url="http://testserver/api/v1",
                        headers={"Authorization": f"Bearer {secret}"}) as holder:
            token_id = holder.get("/tokens").json()[0]["id"]
            answer = fresh(persona).delete(f"/tokens/{token_id}")
            expected = 401 if persona is None else 200 if persona == owner else 404
            assert answer.status_code == expected, (persona, answer.text)
            works = holder.get("/tokens").status_code
            assert works == (401 if expected == 200 else 200), persona
            if expected == 200:
                assert answer.json()["id"] == token_id and answer.json()["revoked_at"]
