"""The API's accounts with every persona: only those who manage accounts list, read, add,
change or disable them, each only the accounts of their county (an admin: all), and a
change needs the account's ETag.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from web.personas import OTHER_VILLAGE, OUTSIDE_VILLAGE, PERSONAS, VILLAGE

Api = Callable[[str | None], TestClient]
ALL: tuple[str | None, ...] = (*PERSONAS, None)
MANAGERS = ("county_officer", "outsider", "admin")
COVERED = {("GET", "/v1/users"), ("GET", "/v1/users/{username}"), ("POST", "/v1/users"),
           ("PATCH", "/v1/users/{username}"), ("POST", "/v1/users/{username}/disable")}
COUNTY_ACCOUNTS = {"auditor", "county-officer", "helper", "other-cadre", "verifier",
                   "village-cadre"}


def table(default: int = 403, **special: int) -> dict[str | None, int]:
    found: dict[str | None, int] = dict.fromkeys(PERSONAS, default)
    found.update(special)
    found[None] = 401
    return found


def refusals_first(expected: dict[str | None, int]) -> list[str | None]:
    return sorted(ALL, key=lambda p: expected[p] < 300)


def test_reading_accounts_is_for_those_who_manage_them(api_for: Api) -> None:
    routes = [("/users", table(county_officer=200, outsider=200,
                               admin=200)),
              ("/users/village-cadre", table(county_officer=200, outsider=404, admin=200)),
              ("/users/admin", table(county_officer=404, outsider=404, admin=200)),
              ("/users/nobody", table(county_officer=404, outsider=404, admin=404))]
    clients = {p: api_for(p) for p in ALL}
    for path, expected in routes:
        for persona in ALL:
            response = clients[persona].get(path)
            assert response.status_code == expected[persona], (path, persona, response.text)
    listed = {a["username"] for a in clients["county_officer"].get("/users").json()["items"]}
    assert listed == COUNTY_ACCOUNTS
    assert [a["username"] for a in clients["outsider"].get("/users").json()["items"]] == [
        "outsider"]


def test_account_pages_follow_their_cursors(api_for: Api) -> None:
    client = api_for("admin")
    seen: list[str] = []
    url = "/users?limit=3"
    while url:
        body = client.get(url).json()
        seen += [a["username"] for a in body["items"]]
        url = f"/users?limit=3&cursor={body['next']}" if body["next"] else ""
    assert seen == sorted(p.replace("_", "-") for p in PERSONAS)
    assert all("password" not in a and "password_hash" not in a for a in body["items"])


def test_adding_an_account_gives_its_password_once(api_for: Api) -> None:
    expected = table(county_officer=201, outsider=403, admin=201)
    for persona in ALL:
        body = {"username": f"new-{persona or 'nobody'}".replace("_", "-"),
                "role": "village_cadre", "region_code": VILLAGE}
        response = api_for(persona).post("/users", json=body)
        assert response.status_code == expected[persona], (persona, response.text)
        if response.status_code == 201:
            made = response.json()
            assert made["password"] and made["account"]["role"] == "village_cadre"
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["etag"] == f'"{made["account"]["tag"]}"'
    given = api_for("admin").post("/users", json={
        "username": "given", "role": "helper", "region_code": VILLAGE,
        "helper_number": "H001", "password": "a long enough password"})
    assert given.status_code == 201 and given.json()["password"] is None
    taken = api_for("admin").post("/users", json={"username": "given", "role": "auditor",
                                                  "region_code": VILLAGE[:6]})
    assert taken.status_code in (400, 409)
    assert taken.json()["errors"][0]["field"] == "username"


def test_a_change_needs_the_account_s_etag_and_a_manager(api_for: Api) -> None:
    county = api_for("county_officer")
    tag = county.get("/users/village-cadre").headers["etag"]
    expected = table(county_officer=200, outsider=404, admin=200)
    change = {"region_code": OTHER_VILLAGE}
    for persona in refusals_first(expected):
        if persona == "admin":
            continue  # the first change makes the tag stale: the county officer's
        response = api_for(persona).patch("/users/village-cadre", json=change,
                                          headers={"If-Match": tag})
        assert response.status_code == expected[persona], (persona, response.text)
    assert response.json()["region_code"] == OTHER_VILLAGE
    assert response.headers["etag"] != tag
    stale = api_for("admin").patch("/users/village-cadre", json={"region_code": VILLAGE},
                                   headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["current"]["region_code"] == OTHER_VILLAGE
    assert api_for("admin").patch("/users/village-cadre", json=change).status_code == 428
    outside = county.patch("/users/village-cadre", json={"region_code": OUTSIDE_VILLAGE},
                           headers={"If-Match": response.headers["etag"]})
    assert outside.status_code == 403  # a region outside the county officer's


def test_a_disabled_account_s_token_stops_working(api_for: Api) -> None:
    cadre = api_for("other_cadre")
    assert cadre.get("/regions").status_code == 200
    tag = api_for("admin").get("/users/other-cadre").headers["etag"]
    expected = table(county_officer=200, outsider=404, admin=200)
    for persona in refusals_first(expected):
        if persona == "admin":
            continue
        response = api_for(persona).post("/users/other-cadre/disable",
                                         headers={"If-Match": tag})
        assert response.status_code == expected[persona], (persona, response.text)
    assert response.json()["active"] is False
    assert cadre.get("/regions").status_code == 401
    me = api_for("admin")
    mine = me.get("/users/admin").headers["etag"]
    assert me.post("/users/admin/disable", headers={"If-Match": mine}).status_code == 403
