"""The API's verification with every persona: the plans, a plan, its sample, progress and
estimates as the plan's state allows, and the steps of a plan (with If-Match).

The world is the verification pages' (tests/web/test_verification_pages.py: build_world):
OPEN (a third-party evaluation released, the other village's findings recorded), SPOT (a
spot check drawn, not released), CLOSED (an evaluation closed) and OUTSIDE (another county),
and two more accounts: a township officer and a verifier of the other county.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.conftest import token_for
from factories import COUNTY, OTHER_VILLAGE, VILLAGE
from tuopin.server import create_server
from web.conftest import Inline
from web.personas import CHEAP, PERSONAS, TODAY_, settings_for
from web.test_verification_pages import CLOSED, OPEN, OUTSIDE, SPOT, World, build_world

Api = Callable[[str | None], TestClient]
PEOPLE: tuple[str, ...] = (*PERSONAS, "township", "outside_verifier")
ALL: tuple[str | None, ...] = (*PEOPLE, None)
STRANGERS = ("outsider", "outside_verifier")
BELOW = ("village_cadre", "other_cadre", "township")
COVERED = {("GET", "/v1/verification/plans"), ("POST", "/v1/verification/plans"),
           ("GET", "/v1/verification/plans/{plan_id}"),
           ("GET", "/v1/verification/plans/{plan_id}/sample"),
           ("GET", "/v1/verification/plans/{plan_id}/sample/{number}"),
           ("GET", "/v1/verification/plans/{plan_id}/progress"),
           ("GET", "/v1/verification/plans/{plan_id}/estimates"),
           ("POST", "/v1/verification/plans/{plan_id}/draw"),
           ("POST", "/v1/verification/plans/{plan_id}/release"),
           ("POST", "/v1/verification/plans/{plan_id}/close")}


@pytest.fixture(scope="module")
def world_template(web_template: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[Path, World]:
    path = tmp_path_factory.mktemp("api-verification") / "tuopin.db"
    shutil.copy(web_template, path)
    world = build_world(f"sqlite:///{path}")
    assert (world.open, world.spot, world.closed, world.outside) == (OPEN, SPOT, CLOSED,
                                                                      OUTSIDE)
    return path, world


@pytest.fixture
def web_url(world_template: tuple[Path, World], tmp_path: Path) -> str:
    """The world for ``api_for`` (a copy per test: these tests change it)."""
    path = tmp_path / "tuopin.db"
    shutil.copy(world_template[0], path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def api(world_template: tuple[Path, World],
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A client per persona on one server for the module's reading tests."""
    folder = tmp_path_factory.mktemp("verification-server")
    shutil.copy(world_template[0], folder / "tuopin.db")
    app = create_server(settings_for(f"sqlite:///{folder / 'tuopin.db'}", data_dir=folder / "data",
                                     api_burst=10_000),
                        hasher=CHEAP, today=lambda: TODAY_, background=Inline())
    with TestClient(app):
        clients = {p: TestClient(app, base_url="http://testserver/api/v1", headers={
            "Authorization": f"Bearer {token_for(app, p)}"} if p else {}) for p in ALL}
        yield clients.__getitem__
        for client in clients.values():
            client.close()


def table(default: int, *others: str, status: int = 0, **special: int
          ) -> dict[str | None, int]:
    """``default`` for everyone, ``status`` for ``others``, then ``special``; a helper reads
    no verification (403), no token is 401."""
    found: dict[str | None, int] = dict.fromkeys(PEOPLE, default)
    found.update(dict.fromkeys(others, status))
    found.update(special)
    found["helper"] = special.get("helper", 403)
    found[None] = 401
    return found


COUNTY_SEES = table(200, *STRANGERS, status=404)
ONLY_THE_COUNTY_OFFICE = table(404, county_officer=200, admin=200, auditor=200)
LIST_WHILE_OPEN = table(404, county_officer=200, admin=200, auditor=200, verifier=200)
ROUTES: list[tuple[str, dict[str | None, int]]] = [
    ("/verification/plans", table(200)),
    (f"/verification/plans/{OPEN}", COUNTY_SEES),
    (f"/verification/plans/{SPOT}", ONLY_THE_COUNTY_OFFICE),
    (f"/verification/plans/{CLOSED}", COUNTY_SEES),
    (f"/verification/plans/{OUTSIDE}",
     table(404, admin=200, outsider=200, outside_verifier=200)),
    (f"/verification/plans/{OPEN}/sample", LIST_WHILE_OPEN),
    (f"/verification/plans/{SPOT}/sample", ONLY_THE_COUNTY_OFFICE),
    (f"/verification/plans/{CLOSED}/sample", COUNTY_SEES),
    (f"/verification/plans/{CLOSED}/sample?village={VILLAGE}", COUNTY_SEES),
    (f"/verification/plans/{OPEN}/sample/{{home}}", LIST_WHILE_OPEN),
    (f"/verification/plans/{CLOSED}/sample/{{home}}", table(200, *STRANGERS, status=404,
                                                             other_cadre=404)),
    (f"/verification/plans/{CLOSED}/sample/{{other}}", table(200, *STRANGERS, status=404,
                                                              village_cadre=404, township=404)),
    (f"/verification/plans/{OPEN}/progress", LIST_WHILE_OPEN),
    (f"/verification/plans/{CLOSED}/progress", COUNTY_SEES),
    (f"/verification/plans/{OPEN}/estimates", COUNTY_SEES),
    (f"/verification/plans/{CLOSED}/estimates", COUNTY_SEES),
    (f"/verification/plans/{SPOT}/estimates", ONLY_THE_COUNTY_OFFICE),
    ("/verification/plans/99", table(404)),
]


def home_of(api: Api, plan: int, village: str) -> str:
    """The first household of ``village`` that ``plan`` drew."""
    rows = api("admin").get(f"/verification/plans/{plan}/sample?village={village}").json()
    return str(rows[0]["household_number"])


@pytest.mark.parametrize(("path", "expected"), ROUTES, ids=[p for p, _ in ROUTES])
def test_each_persona_gets_what_the_plan_s_state_allows(api: Api, path: str,
                                                        expected: dict[str | None, int]
                                                        ) -> None:
    plan = CLOSED if f"/{CLOSED}/" in path else OPEN
    path = path.format(home=home_of(api, plan, VILLAGE), other=home_of(api, plan,
                                                                         OTHER_VILLAGE))
    for persona in ALL:
        response = api(persona).get(path)
        assert response.status_code == expected[persona], (persona, response.text)


def test_the_plans_listed_are_the_ones_each_may_know_of(api: Api) -> None:
    def listed(persona: str) -> set[int]:
        return {p["plan"] for p in api(persona).get("/verification/plans").json()}

    assert listed("county_officer") == {OPEN, SPOT, CLOSED}
    assert listed("verifier") == listed("village_cadre") == {OPEN, CLOSED}
    assert listed("outside_verifier") == {OUTSIDE}
    assert listed("admin") == {OPEN, SPOT, CLOSED, OUTSIDE}


def test_the_seed_is_only_for_who_may_see_the_list(api: Api) -> None:
    county = api("county_officer").get(f"/verification/plans/{OPEN}").json()
    cadre = api("village_cadre").get(f"/verification/plans/{OPEN}").json()
    assert county["seed"] is not None and county["design"]["villages"]["start"] is not None
    assert cadre["seed"] is None and cadre["design"]["villages"]["start"] is None
    assert cadre["sample_size"] == county["sample_size"] > 0


def test_a_sample_holds_only_the_households_of_one_s_region(api: Api) -> None:
    county = api("county_officer").get(f"/verification/plans/{CLOSED}/sample").json()
    cadre = api("village_cadre").get(f"/verification/plans/{CLOSED}/sample").json()
    assert {r["village_code"] for r in county} == {VILLAGE, OTHER_VILLAGE}
    assert cadre and {r["village_code"] for r in cadre} == {VILLAGE}
    assert all("*" in (r["head_id"] or "*") for r in county)  # masked even for the county
    assert all(r["visited"] is not None for r in county)  # every finding recorded


def test_estimates_carry_intervals_and_verdicts(api: Api) -> None:
    body = api("auditor").get(f"/verification/plans/{CLOSED}/estimates").json()
    assert body["final"] and body["region_code"] == COUNTY.ljust(12, "0")
    assert {m["verdict"] for m in body["measures"]} <= {"pass", "fail", "undecided"}
    measured = [m for m in body["measures"] if m["n"]]
    assert measured and all(m["ci95"] is None or m["ci95"][0] <= m["estimate"] <= m["ci95"][1]
                            for m in measured)
    opened = api("county_officer").get(f"/verification/plans/{OPEN}/estimates").json()
    assert not opened["final"]


def test_a_release_needs_the_plan_s_version_and_the_county_office(api_for: Api) -> None:
    path = f"/verification/plans/{SPOT}/release"
    version = api_for("county_officer").get(f"/verification/plans/{SPOT}").headers["etag"]
    expected = table(403, *STRANGERS, status=404, outside_verifier=403, county_officer=200,
                     admin=200)
    for persona in sorted(ALL, key=lambda p: expected[p] == 200):  # refusals first
        if persona == "admin":
            continue  # one release only: the county officer's
        response = api_for(persona).post(path, headers={"If-Match": version})
        assert response.status_code == expected[persona], (persona, response.text)
    assert response.json()["state"] == "released"
    assert response.headers["etag"] != version


def test_a_stale_or_missing_if_match_changes_nothing(api_for: Api) -> None:
    client = api_for("admin")
    path = f"/verification/plans/{SPOT}"
    version = client.get(path).headers["etag"]
    assert client.post(f"{path}/release").status_code == 428
    stale = client.post(f"{path}/release", headers={"If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    assert stale.json()["type"] == "urn:tuopin:problem:stale"
    assert client.get(path).json()["state"] == "drawn"
    assert client.get(path).headers["etag"] == version


def test_the_verifier_closes_a_released_plan(api_for: Api) -> None:
    path = f"/verification/plans/{OPEN}/close"
    version = api_for("verifier").get(f"/verification/plans/{OPEN}").headers["etag"]
    expected = table(403, *STRANGERS, status=404, outsider=403, verifier=200, admin=200)
    for persona in sorted(ALL, key=lambda p: expected[p] == 200):
        if persona == "admin":
            continue
        response = api_for(persona).post(path, headers={"If-Match": version})
        assert response.status_code == expected[persona], (persona, response.text)
    assert response.json()["state"] == "closed"


def test_a_plan_is_planned_and_drawn_through_the_api(api_for: Api) -> None:
    body = {"region": COUNTY, "year": 2025, "kind": "third_party", "seed": 7,
            "sizes": {"exited": 2, "unregistered": 2, "registered": 1}}
    assert api_for("village_cadre").post("/verification/plans", json=body).status_code == 403
    assert api_for("outsider").post("/verification/plans", json=body).status_code == 404
    client = api_for("county_officer")
    made = client.post("/verification/plans", json=body)
    assert made.status_code == 201, made.text
    plan = made.json()
    assert plan["state"] == "planned" and made.headers["etag"] == f'"{plan["version"]}"'
    drawn = client.post(f"/verification/plans/{plan['plan']}/draw",
                        headers={"If-Match": made.headers["etag"]})
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["state"] == "drawn" and drawn.json()["sample_size"] > 0
    again = client.post(f"/verification/plans/{plan['plan']}/draw",
                        headers={"If-Match": drawn.headers["etag"]})
    assert again.status_code == 400  # drawn once
