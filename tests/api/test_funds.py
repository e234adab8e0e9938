"""The API's books of funds with every persona: balances, projects, their payments, a
household's payments and the anomalies; money as text with two decimals, accounts masked.

The world: the web tests' books (tests/web/personas.py: books) - projects XM-V (VILLAGE),
XM-O (OTHER_VILLAGE), XM-C (the county, paying both villages) and XM-X (the outside county).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from api.conftest import token_for
from tuopin.server import create_server
from web.conftest import Inline
from web.personas import (
    CHEAP,
    MINE,
    OTHERS,
    P_COUNTY,
    P_OTHER,
    P_OUTSIDE,
    P_VILLAGE,
    PAY_ACCOUNT,
    PERSONAS,
    TODAY_,
    VILLAGE,
    settings_for,
)

Api = Callable[[str | None], TestClient]
ALL: tuple[str | None, ...] = (*PERSONAS, None)
COVERED = {("GET", "/v1/funds/balances"), ("GET", "/v1/funds/projects"),
           ("GET", "/v1/funds/projects/{number}"),
           ("GET", "/v1/funds/projects/{number}/payments"),
           ("GET", "/v1/households/{number}/payments"), ("GET", "/v1/funds/anomalies")}
MONEY = re.compile(r"^-?\d+\.\d{2}$")


@pytest.fixture(scope="module")
def api(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A client per persona on one server for the module (these tests only read)."""
    folder = tmp_path_factory.mktemp("funds-server")
    shutil.copy(web_template, folder / "tuopin.db")
    app = create_server(settings_for(f"sqlite:///{folder / 'tuopin.db'}", data_dir=folder / "data",
                                     api_burst=10_000),
                        hasher=CHEAP, today=lambda: TODAY_, background=Inline())
    with TestClient(app):
        clients = {p: TestClient(app, base_url="http://testserver/api/v1", headers={
            "Authorization": f"Bearer {token_for(app, p)}"} if p else {}) for p in ALL}
        yield clients.__getitem__
        for client in clients.values():
            client.close()


@pytest.fixture(scope="module")
def fetch(api: Api) -> Callable[[str | None, str], Response]:
    """GET ``path`` as ``persona``, once for the module (the checks take seconds a call)."""
    answers: dict[tuple[str | None, str], Response] = {}

    def get(persona: str | None, path: str) -> Response:
        if (persona, path) not in answers:
            answers[persona, path] = api(persona).get(path)
        return answers[persona, path]

    return get


def table(default: int, **special: int) -> dict[str | None, int]:
    found: dict[str | None, int] = dict.fromkeys(PERSONAS, default)
    found.update(helper=403)  # a helper reads no books (READ_FUNDS)
    found.update(special)
    found[None] = 401
    return found


OF_VILLAGE = table(200, other_cadre=404, outsider=404)
ROUTES: list[tuple[str, dict[str | None, int]]] = [
    ("/funds/balances", table(200)),
    (f"/funds/balances?region={VILLAGE}", table(200, other_cadre=403, outsider=403)),
    ("/funds/projects", table(200)),
    (f"/funds/projects/{P_VILLAGE}", OF_VILLAGE),
    (f"/funds/projects/{P_COUNTY}", table(200, village_cadre=404, other_cadre=404,
                                          outsider=404)),
    (f"/funds/projects/{P_OUTSIDE}", table(404, outsider=200, admin=200)),
    (f"/funds/projects/{P_VILLAGE}/payments", OF_VILLAGE),
    (f"/households/{MINE[0]}/payments", OF_VILLAGE),
    (f"/households/{OTHERS[0]}/payments", table(200, village_cadre=404, outsider=404)),
    ("/funds/anomalies", table(403, county_officer=200, outsider=200, auditor=200,
                               admin=200)),
    ("/funds/projects/NOPE", table(404)),
]


@pytest.mark.parametrize(("path", "expected"), ROUTES, ids=[p for p, _ in ROUTES])
def test_each_persona_gets_what_the_policy_gives(fetch: Callable[[str | None, str], Any],
                                                 path: str,
                                                 expected: dict[str | None, int]) -> None:
    for persona in ALL:
        response = fetch(persona, path)
        assert response.status_code == expected[persona], (persona, response.text)


SEES_PROJECTS = {"county_officer": {P_VILLAGE, P_OTHER, P_COUNTY},
                 "village_cadre": {P_VILLAGE}, "other_cadre": {P_OTHER},
                 "outsider": {P_OUTSIDE}, "auditor": {P_VILLAGE, P_OTHER, P_COUNTY},
                 "verifier": {P_VILLAGE, P_OTHER, P_COUNTY},
                 "admin": {P_VILLAGE, P_OTHER, P_COUNTY, P_OUTSIDE}}


@pytest.mark.parametrize("persona", sorted(SEES_PROJECTS))
def test_balances_and_project_pages_hold_only_the_region_s_projects(api: Api,
                                                                    persona: str) -> None:
    client = api(persona)
    balances = client.get("/funds/balances").json()
    assert {p["project"] for p in balances["projects"]} == SEES_PROJECTS[persona]
    seen: list[str] = []
    url = "/funds/projects?limit=1"
    while url:
        body = client.get(url).json()
        seen += [p["project"] for p in body["items"]]
        url = f"/funds/projects?limit=1&cursor={body['next']}" if body["next"] else ""
    assert seen == sorted(SEES_PROJECTS[persona])


def test_money_is_text_with_two_decimals(api: Api) -> None:
    body = api("county_officer").get("/funds/balances").json()
    for row in [*body["projects"], *body["funds"], body["totals"]]:
        for name in ("budget", "allocated", "disbursed", "reversed", "net", "remaining",
                     "amount", "unallocated"):
            if name in row:
                assert isinstance(row[name], str) and MONEY.match(row[name]), (name, row)
    village = next(p for p in body["projects"] if p["project"] == P_VILLAGE)
    assert (village["allocated"], village["disbursed"], village["reversed"],
            village["net"], village["remaining"]) == (
        "20000.00", "1500.00", "500.00", "1000.00", "19000.00")
    project = api("village_cadre").get(f"/funds/projects/{P_VILLAGE}").json()
    assert project["allocations"][0]["amount"] == "20000.00"


def test_payments_page_by_date_and_number_with_reversals(api: Api) -> None:
    client = api("county_officer")
    seen = []
    url = f"/funds/projects/{P_VILLAGE}/payments?limit=2"
    while url:
        body = client.get(url).json()
        seen += body["items"]
        nxt = body["next"]
        url = f"/funds/projects/{P_VILLAGE}/payments?limit=2&cursor={nxt}" if nxt else ""
    assert [(p["number"], p["amount"]) for p in seen] == [
        ("D001", "1000.00"), ("D002", "500.00"), ("D007", "-500.00")]
    assert seen[1]["reversed_by"] == "D007" and seen[2]["reverses"] == "D002"


def test_accounts_are_masked_for_those_who_do_not_see_them(api: Api) -> None:
    full = api("county_officer").get(f"/funds/projects/{P_VILLAGE}/payments").json()
    masked = api("village_cadre").get(f"/funds/projects/{P_VILLAGE}/payments").json()
    assert full["items"][0]["account"] == PAY_ACCOUNT
    assert masked["items"][0]["account"] == "*" * (len(PAY_ACCOUNT) - 4) + PAY_ACCOUNT[-4:]
    assert "*" in masked["items"][0]["payee"]
    home = api("village_cadre").get(f"/households/{MINE[0]}/payments").json()
    assert [p["number"] for p in home] == ["D001"]
    assert home[0]["account"].endswith(PAY_ACCOUNT[-4:]) and "*" in home[0]["account"]
    assert home[0]["amount"] == "1000.00"


def test_a_tampered_payment_cursor_is_a_bad_request(api: Api) -> None:
    from tuopin.api.paging import encode_cursor

    for cursor in ("xyz", encode_cursor(["not a date", "D001"]), encode_cursor([1, 2])):
        response = api("admin").get(f"/funds/projects/{P_VILLAGE}/payments?cursor={cursor}")
        assert response.status_code == 400, cursor


def test_anomalies_are_explained_and_stay_in_the_region(
        fetch: Callable[[str | None, str], Any]) -> None:
    county = fetch("county_officer", "/funds/anomalies").json()
    outside = fetch("outsider", "/funds/anomalies").json()
    assert county["as_of"] == TODAY_.isoformat()
    assert county["items"], "the books have a payment to a stranger"
    assert all(f["explanation"] and f["rule_title"] for f in county["items"])
    subjects = {f["subject"] for f in county["items"]}
    assert "D006" not in subjects  # the outside county's payment
    assert not {f["subject"] for f in outside["items"]} & {"D001", "D002", "D003", "D004"}
