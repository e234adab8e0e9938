"""The household page's history: the audit events of the household and of what hangs off
it, newest first, with ID, phone and bank numbers masked for roles that do not see them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from web.personas import MINE, PHONE, csrf_of
from web.test_access import expect

Clients = Callable[[str | None], TestClient]
H1, H3 = MINE[0], MINE[2]  # H1 is the helper's, H3 is not
NEW_PHONE = "13600001234"


@pytest.mark.parametrize(("number", "persona", "status"), [
    (number, persona, status)
    for number, table in ((H1, expect(200, other_cadre=404, outsider=404)),
                          (H3, expect(200, other_cadre=404, outsider=404, helper=404)))
    for persona, status in table.items()])
def test_the_history_is_shown_to_those_who_see_the_household(
        client_for: Clients, number: str, persona: str | None, status: int) -> None:
    assert client_for(persona).get(f"/households/{number}/history").status_code == status


def _edit_phone(client: TestClient) -> None:
    form = {"version": "1", "main_cause": "illness", "address": "三组",
            "phone": NEW_PHONE, "csrf_token": csrf_of(client)}
    assert client.post(f"/households/{H1}/edit", data=form).status_code == 303


def test_an_edit_shows_in_the_history_with_who_and_what_changed(client_for: Clients) -> None:
    officer = client_for("county_officer")
    _edit_phone(officer)
    page = officer.get(f"/households/{H1}/history").text
    assert "web:county-officer" in page and "三组" in page
    assert f"{PHONE} → {NEW_PHONE}" in page  # a county officer sees full numbers


def test_a_village_cadre_sees_the_numbers_in_the_history_masked(client_for: Clients) -> None:
    _edit_phone(client_for("county_officer"))
    page = client_for("village_cadre").get(f"/households/{H1}/history").text
    assert NEW_PHONE not in page and PHONE not in page
    assert "136****1234" in page


def test_the_panel_answers_htmx_without_the_page_around_it(client_for: Clients) -> None:
    panel = client_for("county_officer").get(f"/households/{H1}/history",
                                             headers={"HX-Request": "true"}).text
    assert 'id="history-panel"' in panel and "<html" not in panel


def test_another_households_events_are_not_in_this_history(client_for: Clients) -> None:
    officer = client_for("county_officer")
    _edit_phone(officer)
    assert NEW_PHONE not in officer.get(f"/households/{H3}/history").text
