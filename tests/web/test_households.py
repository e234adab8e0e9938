"""Search, the household page (masked numbers, audited reveals), the edit form, conflicts."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from tuopin.domain.enums import HouseholdStatus
from tuopin.i18n import gettext
from tuopin.storage.models import AuditEventRecord, HouseholdRecord
from web.personas import BANK, MINE, PHONE, csrf_of

Clients = Callable[[str | None], TestClient]
H1 = MINE[0]
HEAD_ID = "621121197001010119"  # 户主0, the head of H1
FORM = {"version": "1", "main_cause": "illness", "address": "一组12号"}


def _found(client: TestClient, text: str) -> list[str]:
    return re.findall(r'href="/households/(\d{16})"', client.get(f"/households?q={text}").text)


@pytest.mark.parametrize(("text", "expected"), [
    (H1, [H1]),  # the household number
    ("6211210010010", MINE),  # the start of a number
    ("户主0", [H1]),  # the head's name
    ("孩子0", [H1]),  # another member's name
    (HEAD_ID, [H1]),  # an ID number
    (HEAD_ID.lower(), [H1]),
    ("nobody", []),
])
def test_search_finds_a_household_by_number_name_or_id(
        client_for: Clients, text: str, expected: list[str]) -> None:
    assert _found(client_for("village_cadre"), text) == expected


def test_search_answers_htmx_with_the_results_only(client_for: Clients) -> None:
    answer = client_for("village_cadre").get("/households?q=户主0", headers={"HX-Request": "true"})
    assert "<html" not in answer.text and f"/households/{H1}" in answer.text


def _page(client: TestClient, number: str = H1) -> str:
    answer = client.get(f"/households/{number}")
    assert answer.status_code == 200
    return answer.text


def test_a_village_cadre_sees_id_phone_and_bank_numbers_masked(client_for: Clients) -> None:
    html = _page(client_for("village_cadre"))
    assert "621121********0119" in html and "138****5678" in html and "6228********5678" in html
    for secret in (HEAD_ID, PHONE, BANK, "13900001111"):
        assert secret not in html


def test_a_county_officer_sees_the_full_numbers(client_for: Clients) -> None:
    html = _page(client_for("county_officer"))
    assert HEAD_ID in html and PHONE in html and BANK in html
    assert "reveal" not in html


def test_the_helpers_work_phone_is_shown_to_everyone(client_for: Clients) -> None:
    assert "13700002222" in _page(client_for("village_cadre"))


def _reveal(client: TestClient, **form: str) -> Response:
    return client.post(f"/households/{H1}/reveal",
                       data={**form, "csrf_token": csrf_of(client, "/")},
                       headers={"HX-Request": "true"})


@pytest.mark.parametrize(("form", "value", "entity", "entity_id"), [
    ({"field": "phone"}, PHONE, "household", H1),
    ({"field": "bank_account"}, BANK, "household", H1),
    ({"field": "id_number", "member_id": "1"}, HEAD_ID, "member", "1"),
    ({"field": "phone", "member_id": "1"}, "13900001111", "member", "1"),
])
def test_revealing_a_number_shows_it_and_is_audited_without_the_value(
        client_for: Clients, app: FastAPI, form: dict[str, str], value: str, entity: str,
        entity_id: str) -> None:
    answer = _reveal(client_for("village_cadre"), **form)
    assert answer.status_code == 200 and value in answer.text
    with app.state.web.sessions() as db:
        event = db.scalars(select(AuditEventRecord)
                           .where(AuditEventRecord.action == "reveal")).one()
    assert (event.actor, event.entity, event.entity_id) == ("web:village-cadre", entity,
                                                            entity_id)
    assert form["field"] in (event.after or "") and value not in (event.after or "")


@pytest.mark.parametrize("form", [{"field": "name"}, {"field": "id_number"},
                                  {"field": "bank_account", "member_id": "1"}])
def test_only_numbers_that_are_masked_can_be_revealed(client_for: Clients,
                                                      form: dict[str, str]) -> None:
    assert _reveal(client_for("village_cadre"), **form).status_code == 400


def test_a_member_of_another_household_cannot_be_revealed_through_this_one(
        client_for: Clients) -> None:
    answer = _reveal(client_for("village_cadre"), field="id_number", member_id="3")
    assert answer.status_code == 404


def test_without_htmx_a_reveal_answers_with_a_whole_page(client_for: Clients) -> None:
    client = client_for("village_cadre")
    answer = client.post(f"/households/{H1}/reveal",
                         data={"field": "phone", "csrf_token": csrf_of(client, "/")})
    assert answer.status_code == 200 and "<html" in answer.text and PHONE in answer.text


def test_the_page_shows_the_latest_assessment_and_explains_it(client_for: Clients) -> None:
    html = _page(client_for("village_cadre"))
    section = html.split('id="assessment"')[1].split("</section>")[0]
    assert "cn-national" in section and "2019" in section
    assert section.count("<li>") == 3  # income, medical, housing failed
    for panel in ("plan", "exit", "monitoring", "history"):
        assert f'id="{panel}"' in html


def _save(client: TestClient, **changes: str) -> Response:
    return client.post(f"/households/{H1}/edit",
                       data={**FORM, **changes, "csrf_token": csrf_of(client, "/")})


def _stored(app: FastAPI) -> HouseholdRecord:
    with app.state.web.sessions() as db:
        return db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == H1)).one()


def test_saving_the_form_changes_the_household_and_says_so(client_for: Clients,
                                                          app: FastAPI) -> None:
    client = client_for("village_cadre")
    answer = _save(client, address="二组3号", other_causes="skills")
    assert answer.status_code == 303
    stored = _stored(app)
    assert (stored.address, stored.other_causes, stored.status, stored.version) == (
        "二组3号", "skills", HouseholdStatus.POOR.value, 2)
    # a village cadre saw the numbers masked and left them empty: they are kept
    assert (stored.phone, stored.bank_account) == (PHONE, BANK)
    page = client.get(f"/households/{H1}").text
    assert "二组3号" in page and gettext("Saved.", "zh") in page


def test_several_causes_are_saved_as_a_list(client_for: Clients, app: FastAPI) -> None:
    client = client_for("village_cadre")
    data = {**FORM, "other_causes": ["skills", "capital"], "csrf_token": csrf_of(client, "/")}
    assert client.post(f"/households/{H1}/edit", data=data).status_code == 303
    assert _stored(app).other_causes == "skills;capital"


def test_a_bad_value_is_refused_with_the_reason_next_to_its_field(client_for: Clients,
                                                                  app: FastAPI) -> None:
    answer = _save(client_for("village_cadre"), main_cause="twenty", phone="12",
                   address="二组8号")
    assert answer.status_code == 400
    html = answer.text
    assert 'id="error-main_cause"' in html and 'id="error-phone"' in html
    assert gettext("Not a phone number.", "zh") in html
    assert 'value="12"' in html and 'value="二组8号"' in html  # what was typed stays
    assert _stored(app).version == 1


def test_the_edit_form_has_no_status_nor_its_years(client_for: Clients) -> None:
    html = client_for("county_officer").get(f"/households/{H1}/edit").text
    for name in ("status", "year_identified", "year_exited"):
        assert f'name="{name}"' not in html and f'name="seen.{name}"' not in html


# The status and its years change only through the procedures (exit, return to poverty,
# monitoring): a form posted by hand with them is refused whole, whoever posts it.
@pytest.mark.parametrize(("persona", "forged"), [
    pytest.param(persona, forged, id=f"{persona} {' '.join(forged)}")
    for persona, forged in [("village_cadre", {"status": "exited"}),
                            ("village_cadre", {"year_exited": "2020"}),
                            ("village_cadre", {"year_identified": "2014"}),
                            ("county_officer", {"status": "exited", "year_exited": "2020"}),
                            ("admin", {"status": "exited", "year_exited": "2020"})]])
def test_a_status_or_its_years_posted_to_the_edit_form_is_refused_and_changes_nothing(
        client_for: Clients, app: FastAPI, persona: str, forged: dict[str, str]) -> None:
    client = client_for(persona)
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(client, "/")})
    before = _stored(app)
    answer = _save(client, address="二组3号", **forged)
    assert answer.status_code == 400
    assert "change only through the exit, return-to-poverty and monitoring procedures" in (
        answer.text)
    stored = _stored(app)
    assert (stored.address, stored.status, stored.year_identified, stored.year_exited,
            stored.version) == (before.address, before.status, before.year_identified,
                                before.year_exited, 1)


def test_a_stale_form_is_refused_and_shows_what_changed(client_for: Clients,
                                                        app: FastAPI) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    form = cadre.get(f"/households/{H1}/edit").text  # opened at version 1
    seen = dict(re.findall(r'name="(seen\.[a-z_]+)" value="([^"]*)"', form))
    assert _save(officer, address="officer's address", phone="13800001234",
                 bank_account=BANK).status_code == 303
    answer = cadre.post(f"/households/{H1}/edit",
                        data={**FORM, **seen, "address": "cadre's address",
                              "csrf_token": csrf_of(cadre, "/")})
    assert answer.status_code == 409
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>",
                      answer.text)
    assert (gettext("Address", "zh"), "一组12号", "officer&#39;s address",
            "cadre&#39;s address") in rows
    assert (gettext("Contact phone", "zh"), "138****5678", "138****1234", "–") in rows
    assert _stored(app).address == "officer's address"  # nothing overwritten


def test_the_edit_form_of_a_county_officer_holds_the_full_numbers(client_for: Clients) -> None:
    html = client_for("county_officer").get(f"/households/{H1}/edit").text
    assert f'value="{PHONE}"' in html and f'value="{BANK}"' in html


def test_the_edit_form_of_a_village_cadre_holds_no_full_number(client_for: Clients) -> None:
    html = client_for("village_cadre").get(f"/households/{H1}/edit").text
    assert PHONE not in html and BANK not in html and 'placeholder="138****5678"' in html
