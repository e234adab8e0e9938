"""The funds pages with every persona: who gets in, what each sees, and what never leaks.

The books (web/personas.books): fund ZJ-1 of the county pays a project of VILLAGE (XM-V),
one of OTHER_VILLAGE (XM-O) and one of the county (XM-C, paying a household of each
village); the outside county has its own fund and project (XM-X).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from factories import COUNTY, VILLAGE
from web.personas import (
    HEADS,
    MINE,
    OTHERS,
    P_COUNTY,
    P_OTHER,
    P_OUTSIDE,
    P_VILLAGE,
    PAY_ACCOUNT,
    STRANGER,
    csrf_of,
)

ALL = ("county_officer", "village_cadre", "other_cadre", "outsider", "helper", "auditor",
       "verifier", "admin")


def expect(default: int, **special: int) -> dict[str | None, int]:
    table: dict[str | None, int] = dict.fromkeys(ALL, default)
    table.update(special)
    table[None] = 303  # anonymous: to the login page
    return table


ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    ("GET", "/funds", None, expect(200, helper=403)),
    ("GET", f"/funds?region={VILLAGE}", None,
     expect(200, helper=403, other_cadre=403, outsider=403)),
    ("GET", f"/funds?region={COUNTY}", None,
     expect(200, helper=403, village_cadre=403, other_cadre=403, outsider=403)),
    ("GET", f"/funds/projects/{P_VILLAGE}", None,
     expect(200, helper=403, other_cadre=404, outsider=404)),
    ("GET", f"/funds/projects/{P_OTHER}", None,
     expect(200, helper=403, village_cadre=404, outsider=404)),
    ("GET", f"/funds/projects/{P_COUNTY}", None,
     expect(200, helper=403, village_cadre=404, other_cadre=404, outsider=404)),
    ("GET", f"/funds/projects/{P_OUTSIDE}", None, expect(404, helper=403, outsider=200,
                                                          admin=200)),
    ("GET", f"/funds/projects/{P_VILLAGE}/disclosure?format=xlsx", None,
     expect(200, helper=403, auditor=403, verifier=403, other_cadre=404, outsider=404)),
    ("GET", f"/funds/projects/{P_VILLAGE}/disclosure?format=csv&lang=en", None,
     expect(200, helper=403, auditor=403, verifier=403, other_cadre=404, outsider=404)),
    ("GET", "/funds/anomalies", None,
     expect(200, helper=403, village_cadre=403, other_cadre=403, verifier=403)),
    ("GET", "/funds/anomalies?format=xlsx", None,
     expect(200, helper=403, village_cadre=403, other_cadre=403, verifier=403)),
    ("POST", "/funds/payments/D001/reveal", {"field": "account"},
     expect(200, other_cadre=404, outsider=404, auditor=403, helper=403)),
    ("POST", "/funds/payments/D005/reveal", {"field": "payee_id_number"},
     expect(200, village_cadre=404, outsider=404, auditor=403, helper=403)),
]


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
        response = client.post(path, data={**(form or {}), "csrf_token": csrf_of(client)})
    assert response.status_code == status, response.text[:500]


# What of the other village's payees could leak: their heads' names and ID numbers.
OTHER_PAYEES = ("户主3", "户主4", HEADS[3], HEADS[4], HEADS[3][-4:] + "<", "D003", "D005")


def test_a_village_cadre_never_sees_another_villages_payees(
        client_for: Callable[[str | None], TestClient]) -> None:
    cadre = client_for("village_cadre")
    pages = ["/", "/funds", f"/funds/projects/{P_VILLAGE}",
             *(f"/households/{n}" for n in MINE)]
    for path in pages:
        html = cadre.get(path).text
        for secret in OTHER_PAYEES:
            assert secret not in html, (path, secret)
    funds = cadre.get("/funds").text
    assert P_VILLAGE in funds and P_OTHER not in funds and P_COUNTY not in funds
    # the county's project paid one of the cadre's households: it shows on that household
    home = cadre.get(f"/households/{MINE[1]}").text
    assert "D004" in home and "县务工补助" in home
    assert f'href="/funds/projects/{P_COUNTY}"' not in home  # the project page is not theirs
    # the other cadre sees the county project's payment to their own household only
    other = client_for("other_cadre").get(f"/households/{OTHERS[1]}").text
    assert "D005" in other and "D004" not in other


def test_the_county_sees_every_payee_of_its_projects_with_full_numbers(
        client_for: Callable[[str | None], TestClient]) -> None:
    html = client_for("county_officer").get(f"/funds/projects/{P_COUNTY}").text
    assert "户主1" in html and "户主4" in html and HEADS[4] in html  # head of MINE[1]
    village = client_for("county_officer").get(f"/funds/projects/{P_VILLAGE}").text
    assert PAY_ACCOUNT in village  # their role needs the numbers
    assert 'data-payment="D002"' in village and 'data-payment="D007"' in village


def test_accounts_show_only_their_last_four_digits_until_a_recorded_reveal(
        client_for: Callable[[str | None], TestClient]) -> None:
    cadre = client_for("village_cadre")
    html = cadre.get(f"/funds/projects/{P_VILLAGE}").text
    assert PAY_ACCOUNT not in html and PAY_ACCOUNT[-4:] in html
    assert "*" * (len(PAY_ACCOUNT) - 4) + PAY_ACCOUNT[-4:] in html
    assert HEADS[0] not in html and HEADS[0][-4:] in html
    home = cadre.get(f"/households/{MINE[0]}").text
    assert PAY_ACCOUNT not in home and PAY_ACCOUNT[-4:] in home
    shown = cadre.post("/funds/payments/D001/reveal",
                       data={"field": "account", "csrf_token": csrf_of(cadre)},
                       headers={"hx-request": "true"})
    assert shown.status_code == 200 and PAY_ACCOUNT in shown.text


def test_a_reveal_is_recorded_in_the_audit_trail(
        client_for: Callable[[str | None], TestClient], app: object) -> None:
    from sqlalchemy import select

    from tuopin.storage.models import AuditEventRecord

    cadre = client_for("village_cadre")
    cadre.post("/funds/payments/D001/reveal",
               data={"field": "payee_id_number", "csrf_token": csrf_of(cadre)})
    with app.state.web.sessions() as db:  # type: ignore[attr-defined]
        events = db.scalars(select(AuditEventRecord).where(
            AuditEventRecord.entity == "disbursement")).all()
    assert [(e.action, e.entity_id, e.actor) for e in events] == [
        ("reveal", "D001", "web:village-cadre")]
    assert HEADS[0] not in (events[0].after or "")  # the field is recorded, never the value


def test_an_unregistered_payee_is_revealed_only_inside_the_projects_region(
        client_for: Callable[[str | None], TestClient]) -> None:
    for persona, status in (("village_cadre", 200), ("other_cadre", 404), ("outsider", 404)):
        client = client_for(persona)
        response = client.post("/funds/payments/D002/reveal",
                               data={"field": "payee_id_number", "csrf_token": csrf_of(client)})
        assert response.status_code == status, persona
        assert (STRANGER in response.text) is (status == 200)


def test_the_dashboard_has_a_funds_card_for_the_users_region(
        client_for: Callable[[str | None], TestClient]) -> None:
    county = client_for("county_officer").get("/").text
    assert 'id="funds-card"' in county
    assert "60,000.00" in county  # three projects allocated 20,000.00 each
    assert "4,200.00" in county and "55,800.00" in county  # 1000 + 500 - 500 + 800 + 2400
    cadre = client_for("village_cadre").get("/").text
    assert "20,000.00" in cadre and "1,000.00" in cadre and "19,000.00" in cadre
    helper = client_for("helper").get("/").text
    assert 'id="funds-card"' not in helper and 'href="/funds"' not in helper
    outsider = client_for("outsider").get("/").text
    assert "60,000.00" not in outsider and "300.00" in outsider


def test_the_funds_page_shows_fund_and_project_balances(
        client_for: Callable[[str | None], TestClient]) -> None:
    html = client_for("county_officer").get("/funds").text
    assert "ZJ-1" in html and "ZJ-X" not in html
    assert "100,000.00" in html and "40,000.00" in html  # the fund's amount, unallocated
    for number in (P_VILLAGE, P_OTHER, P_COUNTY):
        assert f'href="/funds/projects/{number}"' in html
    assert P_OUTSIDE not in html
    village = client_for("county_officer").get(f"/funds?region={VILLAGE}").text
    assert P_VILLAGE in village and P_OTHER not in village


def _cells(body: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_disclosure_has_names_villages_amounts_and_dates_but_no_numbers(
        client_for: Callable[[str | None], TestClient]) -> None:
    response = client_for("village_cadre").get(
        f"/funds/projects/{P_VILLAGE}/disclosure?format=xlsx")
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument")
    rows = _cells(response.content)
    text = "\n".join(str(c) for row in rows for c in row if c is not None)
    assert "10" in text and "公示" in text  # the notice period and what it is
    assert "户主0" in text and "1000.00" in text and "2025-06-15" in text
    for secret in (HEADS[0], PAY_ACCOUNT, STRANGER, PAY_ACCOUNT[-4:]):
        assert secret not in text
    assert "D002" not in text and "500.00" not in text.replace("1500.00", "")  # reversed
    english = client_for("village_cadre").get(
        f"/funds/projects/{P_VILLAGE}/disclosure?format=csv&lang=en").content.decode("utf-8-sig")
    assert "Notice period: 10 days" in english and "户主0" in english


def test_the_anomaly_list_and_its_download(
        client_for: Callable[[str | None], TestClient]) -> None:
    county = client_for("county_officer")
    html = county.get("/funds/anomalies").text
    # the county project paid a household of each of its villages: fine; the stranger was
    # paid and then reversed: no finding; idle funds: ZJ-1 keeps 40,000.00 unallocated
    assert 'data-rule="idle_funds" data-subject="ZJ-1"' in html
    assert 'data-subject="D002"' not in html and 'data-subject="D007"' not in html
    assert "ZJ-X" not in html  # the outside county's fund
    rows = _cells(county.get("/funds/anomalies?format=xlsx").content)
    assert len(rows[0]) == 7 and rows[0][0] == "规则"
    for row in rows[1:]:
        assert all(isinstance(c, str) or c is None for c in row), row  # never a float
    assert any(row[2] == "ZJ-1" and row[4] == "40000.00" for row in rows[1:])
    outsider = client_for("outsider").get("/funds/anomalies").text
    assert "ZJ-1" not in outsider
