"""The API's assessment runs, results and reports with every persona: what each one gets,
and that a page, a household's result or a report never reaches outside their region.

The world: the web tests' registry with its cn-national run (1), and a cn-mpi run (2).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.conftest import token_for
from factories import COUNTY, OTHER_VILLAGE, VILLAGE, operator
from tuopin.server import create_server
from tuopin.services.assessment import runs as assessments
from tuopin.standards.loader import load
from tuopin.storage.db import make_engine
from web.conftest import Inline
from web.personas import (
    CHEAP,
    MINE,
    OTHERS,
    OUTSIDE,
    OUTSIDE_COUNTY,
    PERSONAS,
    TODAY_,
    settings_for,
)

Api = Callable[[str | None], TestClient]
ALL: tuple[str | None, ...] = (*PERSONAS, None)
NATIONAL, MPI = 1, 2
COVERED = {("GET", "/v1/runs"), ("GET", "/v1/runs/{run_id}"),
           ("GET", "/v1/runs/{run_id}/results"), ("GET", "/v1/runs/{run_id}/results/{number}"),
           ("GET", "/v1/reports/incidence"), ("GET", "/v1/reports/mpi")}


@pytest.fixture(scope="module")
def reports_template(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "tuopin.db"
    shutil.copy(web_template, path)
    engine = make_engine(f"sqlite:///{path}")
    computed = assessments.compute(engine, principal=operator(), standard=load("cn-mpi"),
                                   year=2019, engine_name="db")
    assert assessments.record(engine, computed, principal=operator()) == MPI
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def api(reports_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A client per persona on one server for the module (these tests only read)."""
    folder = tmp_path_factory.mktemp("reports-server")
    shutil.copy(reports_template, folder / "tuopin.db")
    app = create_server(settings_for(f"sqlite:///{folder / 'tuopin.db'}", data_dir=folder / "data",
                                     api_burst=10_000),
                        hasher=CHEAP, today=lambda: TODAY_, background=Inline())
    with TestClient(app):
        clients = {p: TestClient(app, base_url="http://testserver/api/v1", headers={
            "Authorization": f"Bearer {token_for(app, p)}"} if p else {}) for p in ALL}
        yield clients.__getitem__
        for client in clients.values():
            client.close()


def table(default: int, **special: int) -> dict[str | None, int]:
    found: dict[str | None, int] = dict.fromkeys(PERSONAS, default)
    found.update(special)
    found[None] = 401
    return found


EVERYONE = table(200)
ROUTES: list[tuple[str, dict[str | None, int]]] = [
    ("/runs", EVERYONE),
    (f"/runs/{NATIONAL}", EVERYONE),
    (f"/runs/{NATIONAL}/results", EVERYONE),
    (f"/runs/{NATIONAL}/results/{MINE[0]}", table(200, other_cadre=404, outsider=404)),
    (f"/runs/{NATIONAL}/results/{MINE[2]}",
     table(200, other_cadre=404, outsider=404, helper=404)),
    (f"/runs/{NATIONAL}/results/{OTHERS[0]}",
     table(200, village_cadre=404, outsider=404, helper=404)),
    (f"/reports/incidence?run={NATIONAL}&level=village", EVERYONE),
    ("/reports/incidence", EVERYONE),
    # the outside county has one household: too few for the standard errors (400)
    (f"/reports/mpi?run={MPI}", table(200, outsider=400)),
    ("/reports/mpi?by=sex", table(200, outsider=400)),
    # a region beside one's own is refused; inside it, narrowed
    (f"/runs/{NATIONAL}/results?region={OTHER_VILLAGE}",
     table(200, village_cadre=403, outsider=403)),
    (f"/reports/incidence?region={VILLAGE}", table(200, other_cadre=403, outsider=403)),
    (f"/reports/mpi?region={OUTSIDE_COUNTY}", table(403, outsider=400, admin=400)),
    ("/runs/99", table(404)),
    ("/runs/99/results", table(404)),
]


@pytest.mark.parametrize(("path", "expected"), ROUTES, ids=[p for p, _ in ROUTES])
def test_each_persona_gets_what_the_policy_gives(api: Api, path: str,
                                                 expected: dict[str | None, int]) -> None:
    for persona in ALL:
        response = api(persona).get(path)
        assert response.status_code == expected[persona], (persona, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")


def test_a_results_page_holds_only_the_households_each_persona_sees(api: Api) -> None:
    for persona, p in PERSONAS.items():
        body = api(persona).get(f"/runs/{NATIONAL}/results").json()
        assert {r["household"] for r in body["items"]} == p.sees, persona
        assert body["next"] is None


def test_pages_follow_their_cursors_to_every_result(api: Api) -> None:
    client = api("county_officer")
    seen: list[str] = []
    url = f"/runs/{NATIONAL}/results?limit=2"
    while url:
        body = client.get(url).json()
        seen += [r["household"] for r in body["items"]]
        url = f"/runs/{NATIONAL}/results?limit=2&cursor={body['next']}" if body["next"] else ""
    assert seen == sorted(MINE + OTHERS)


def test_results_filter_by_poverty_and_region(api: Api) -> None:
    client = api("admin")
    poor = client.get(f"/runs/{NATIONAL}/results?poor=true").json()["items"]
    others = client.get(f"/runs/{NATIONAL}/results?poor=false").json()["items"]
    assert {r["household"] for r in poor} | {r["household"] for r in others} == set(
        MINE + OTHERS + OUTSIDE)
    assert all(r["poor"] for r in poor) and not any(r["poor"] for r in others)
    village = client.get(f"/runs/{NATIONAL}/results?region={VILLAGE}").json()["items"]
    assert {r["household"] for r in village} == set(MINE)


def test_a_bad_cursor_is_a_bad_request(api: Api) -> None:
    response = api("admin").get(f"/runs/{NATIONAL}/results?cursor=nonsense")
    assert response.status_code == 400
    assert response.json()["type"] == "urn:tuopin:problem:invalid"


def test_a_result_explains_every_failed_indicator_in_the_language_asked(api: Api) -> None:
    client = api("village_cadre")
    zh = client.get(f"/runs/{NATIONAL}/results/{MINE[0]}").json()
    en = client.get(f"/runs/{NATIONAL}/results/{MINE[0]}",
                    headers={"Accept-Language": "en"}).json()
    assert zh["poor"] and [i["indicator"] for i in zh["indicators"]] == [
        i["indicator"] for i in en["indicators"]]
    assert zh["indicators"][0]["explanation"] != en["indicators"][0]["explanation"]


def test_a_run_gives_its_counts_per_indicator(api: Api) -> None:
    body = api("auditor").get(f"/runs/{NATIONAL}").json()
    assert body["standard"] == "cn-national" and body["year"] == 2019
    assert set(body["deprived"]) >= {"income", "medical"}
    assert "store" in body["timings"]


def test_incidence_rows_stay_inside_the_region(api: Api) -> None:
    for persona, level, codes in (
            ("village_cadre", "village", {VILLAGE}),
            ("other_cadre", "village", {OTHER_VILLAGE}),
            ("county_officer", "village", {VILLAGE, OTHER_VILLAGE}),
            ("outsider", "county", {OUTSIDE_COUNTY.ljust(12, "0")}),
            ("county_officer", "county", {COUNTY.ljust(12, "0")})):
        body = api(persona).get(f"/reports/incidence?run={NATIONAL}&level={level}").json()
        assert {r["code"] for r in body["rows"]} == codes, persona
        assert body["total"]["households"] == sum(r["households"] for r in body["rows"])


def test_incidence_needs_a_known_level(api: Api) -> None:
    response = api("admin").get("/reports/incidence?level=galaxy")
    assert response.status_code == 400


def test_the_mpi_report_defaults_to_the_newest_mpi_run(api: Api) -> None:
    body = api("county_officer").get("/reports/mpi?by=village").json()
    assert body["run"] == MPI
    assert 0 <= body["H"] <= 1 and set(body["groups"]) == {VILLAGE, OTHER_VILLAGE}
