"""Registering a household with its members, adding and correcting a member, entering a
year's survey: who may, the importer's rules shown next to each field, stale saves refused."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from factories import OTHER_VILLAGE, VILLAGE, person_id
from tuopin.i18n import gettext
from tuopin.storage.models import AuditEventRecord, HouseholdRecord, MemberRecord, SurveyRecord
from tuopin.web.app import create_app
from web.personas import CHEAP, MINE, OTHERS, OUTSIDE, TODAY_, csrf_of, log_in, settings_for
from web.test_access import expect

Clients = Callable[[str | None], TestClient]
H1 = MINE[0]
HEAD_ID = "621121197001010119"  # 户主0, the head of H1
NEW_NUMBER = f"{VILLAGE}0004"  # the village has households 0001-0003
NEW_HEAD = person_id(date(1985, 6, 15), 31)
NEW_WIFE = person_id(date(1987, 2, 3), 42)
NOT_EDITORS = {"helper": 403, "auditor": 403, "verifier": 403}
NO_HOUSEHOLD = {"other_cadre": 404, "outsider": 404, **NOT_EDITORS}
REGISTRATION = {"village_code": VILLAGE, "status": "poor", "address": "三组7号", "rows": "2",
                "members.0.name": "新户主", "members.0.id_number": NEW_HEAD,
                "members.0.relation": "head",
                "members.1.name": "新妻子", "members.1.id_number": NEW_WIFE,
                "members.1.relation": "spouse"}
NEW_MEMBER = {"name": "新成员", "id_number": NEW_WIFE, "relation": "spouse"}
MEMBER_EDIT = {"version": "1", "name": "户主零", "id_number": HEAD_ID, "relation": "head"}
SURVEY = {"household_size": "2", "wage_income": "5000", "food_secure": "1",
          "clothing_secure": "1", "housing_grade": "B"}

# (method, path ({m}: the id of H1's head), form, expected status per persona)
ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    ("GET", "/households/new", None, expect(200, **NOT_EDITORS)),
    ("GET", f"/households/new?village={VILLAGE}", None,
     expect(200, other_cadre=403, outsider=403, **NOT_EDITORS)),
    ("POST", "/households/new", REGISTRATION,
     expect(303, other_cadre=403, outsider=403, **NOT_EDITORS)),
    ("POST", "/households/new", {**REGISTRATION, "village_code": OTHER_VILLAGE},
     expect(303, village_cadre=403, outsider=403, **NOT_EDITORS)),
    ("GET", f"/households/{H1}/members/new", None, expect(200, **NO_HOUSEHOLD)),
    ("POST", f"/households/{H1}/members/new", NEW_MEMBER, expect(303, **NO_HOUSEHOLD)),
    ("GET", f"/households/{H1}/members/{{m}}/edit", None, expect(200, **NO_HOUSEHOLD)),
    ("POST", f"/households/{H1}/members/{{m}}/edit", MEMBER_EDIT, expect(303, **NO_HOUSEHOLD)),
    ("GET", f"/households/{H1}/surveys/2019", None, expect(200, **NO_HOUSEHOLD)),
    ("GET", f"/households/{H1}/surveys/new", None, expect(303, **NO_HOUSEHOLD)),
    ("POST", f"/households/{H1}/surveys/2020", SURVEY, expect(303, **NO_HOUSEHOLD)),
]


def _head_id(app: FastAPI, id_number: str = HEAD_ID) -> int:
    with app.state.web.sessions() as db:
        return db.scalars(select(MemberRecord.id).where(
            MemberRecord.id_number == id_number)).one()


def _count(app: FastAPI, what: type[HouseholdRecord | MemberRecord | SurveyRecord]) -> int:
    with app.state.web.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(what)) or 0)


def _cases() -> list[object]:
    return [pytest.param(method, path, form, persona, status,
                         id=f"{method} {path} {persona or 'anonymous'}")
            for method, path, form, table in ROUTES for persona, status in table.items()]


@pytest.mark.parametrize(("method", "path", "form", "persona", "status"), _cases())
def test_each_persona_gets_what_its_role_and_region_allow(
    client_for: Clients, app: FastAPI, method: str, path: str, form: dict[str, str] | None,
    persona: str | None, status: int,
) -> None:
    path = path.format(m=_head_id(app))
    client = client_for(persona)
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, data={**(form or {}), "csrf_token": csrf_of(client)})
    assert response.status_code == status, response.text[:500]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ["/households/new", f"/households/{H1}/members/new",
                                  f"/households/{H1}/surveys/2020"])
def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(
        client_for: Clients, app: FastAPI, path: str) -> None:
    form = {"/households/new": REGISTRATION, f"/households/{H1}/members/new": NEW_MEMBER}
    before = (_count(app, HouseholdRecord), _count(app, MemberRecord), _count(app, SurveyRecord))
    answer = client_for("village_cadre").post(path, data=form.get(path, SURVEY))
    assert answer.status_code == 403
    after = (_count(app, HouseholdRecord), _count(app, MemberRecord), _count(app, SurveyRecord))
    assert after == before


def _register(client: TestClient, **changes: str) -> Response:
    return client.post("/households/new",
                       data={**REGISTRATION, **changes, "csrf_token": csrf_of(client, "/")})


def test_a_registration_gets_the_next_number_and_then_appears_in_search(
        client_for: Clients, app: FastAPI) -> None:
    client = client_for("village_cadre")
    form = client.get("/households/new").text
    assert f'placeholder="{NEW_NUMBER}"' in form and f'value="{VILLAGE}" selected' in form
    answer = _register(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/households/{NEW_NUMBER}"
    page = client.get(f"/households/{NEW_NUMBER}").text
    assert "新户主" in page and "新妻子" in page and gettext("Saved.", "zh") in page
    found = client.get("/households?q=新户主").text
    assert f'href="/households/{NEW_NUMBER}"' in found


def test_a_bad_id_number_is_shown_next_to_that_members_field_and_nothing_is_written(
        client_for: Clients, app: FastAPI) -> None:
    before = (_count(app, HouseholdRecord), _count(app, MemberRecord))
    bad = NEW_WIFE[:-1] + ("0" if NEW_WIFE[-1] != "0" else "1")  # a wrong check digit
    answer = _register(client_for("village_cadre"), **{"members.1.id_number": bad})
    assert answer.status_code == 400
    html = answer.text
    assert 'id="error-members.1.id_number"' in html
    assert 'id="error-members.0.id_number"' not in html
    assert f'value="{bad}"' in html and 'value="新户主"' in html  # what was typed stays
    assert (_count(app, HouseholdRecord), _count(app, MemberRecord)) == before


def test_an_id_number_of_another_household_is_refused_naming_it(client_for: Clients) -> None:
    answer = _register(client_for("village_cadre"), **{"members.1.id_number": HEAD_ID})
    assert answer.status_code == 400
    error = re.search(r'id="error-members\.1\.id_number">([^<]*)<', answer.text)
    assert error and H1 in error.group(1)


# Someone else's ID number: of OTHERS[0]'s head (户主3, another village of the county) and of
# OUTSIDE[0]'s head (户主5, another county). Neither may be confirmed to a village cadre.
ELSEWHERE = {"other village": (person_id(date(1970, 1, 4), 11), OTHERS[0], "户主3"),
             "other county": (person_id(date(1970, 1, 6), 11), OUTSIDE[0], "户主5")}
ASK_THE_COUNTY = "This number is already registered. Ask the county office (县扶贫办) about it."


def in_english(client: TestClient) -> TestClient:
    """The client's pages in English (new messages are asserted in their own words)."""
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(client)})
    return client


def _probes(app: FastAPI) -> list[tuple[str, dict[str, object]]]:
    with app.state.web.sessions() as db:
        return [(e.actor, json.loads(e.after or "{}")) for e in db.scalars(
            select(AuditEventRecord).where(AuditEventRecord.action == "probe"))]


@pytest.mark.parametrize("where", ELSEWHERE)
def test_an_id_number_registered_outside_ones_region_is_refused_naming_nothing(
        client_for: Clients, app: FastAPI, where: str) -> None:
    id_number, number, name = ELSEWHERE[where]
    before = (_count(app, HouseholdRecord), _count(app, MemberRecord))
    answer = _register(in_english(client_for("village_cadre")),
                       **{"members.1.id_number": id_number})
    assert answer.status_code == 400
    error = re.search(r'id="error-members\.1\.id_number">([^<]*)<', answer.text)
    assert error and error.group(1) == ASK_THE_COUNTY
    assert number not in answer.text and name not in answer.text  # no household, no person
    assert (_count(app, HouseholdRecord), _count(app, MemberRecord)) == before
    # the attempt is on record for whoever investigates
    assert _probes(app) == [("web:village-cadre", {"what": "id_number", "values": [id_number],
                                                   "count": 1})]


@pytest.fixture
def probe_limited(web_url: str) -> Iterator[FastAPI]:
    """The web app allowing three entries that collide outside one's region."""
    app = create_app(settings_for(web_url, probe_max=3), hasher=CHEAP, today=lambda: TODAY_)
    with TestClient(app):
        yield app


def test_after_probe_max_collisions_outside_the_region_the_next_entry_is_refused(
        probe_limited: FastAPI) -> None:
    app = probe_limited
    with TestClient(app, follow_redirects=False) as raw:
        cadre = in_english(log_in(raw, "village_cadre"))
        id_number = ELSEWHERE["other village"][0]
        for _ in range(app.state.web.settings.probe_max):
            answer = _register(cadre, **{"members.1.id_number": id_number})
            assert answer.status_code == 400 and ASK_THE_COUNTY in answer.text
        before = (_count(app, HouseholdRecord), _count(app, MemberRecord))
        for entry in ({"members.1.id_number": id_number}, {}):  # even one that is all right
            refused = _register(cadre, **entry)
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
            assert "Too many of your entries matched records outside your region" in (
                refused.text)
            assert (_count(app, HouseholdRecord), _count(app, MemberRecord)) == before
        assert len(_probes(app)) == app.state.web.settings.probe_max
    with TestClient(app, follow_redirects=False) as raw:  # another user is not held back
        assert _register(log_in(raw, "county_officer")).status_code == 303


def test_a_household_without_a_head_is_refused(client_for: Clients) -> None:
    answer = _register(client_for("village_cadre"), **{"members.0.relation": "spouse"})
    assert answer.status_code == 400
    assert 'id="error-members.0.relation"' in answer.text


def test_a_number_already_registered_is_refused_on_the_number_field(client_for: Clients) -> None:
    answer = _register(client_for("county_officer"), number=H1)
    assert answer.status_code == 400
    assert 'id="error-number"' in answer.text


def test_adding_a_member_row_keeps_what_was_typed_and_saves_nothing(
        client_for: Clients, app: FastAPI) -> None:
    client = client_for("village_cadre")
    before = _count(app, HouseholdRecord)
    answer = client.post("/households/new", data={**REGISTRATION, "add_row": "1",
                                                  "csrf_token": csrf_of(client, "/")})
    assert answer.status_code == 200
    assert len(re.findall(r'<fieldset class="card member-row"', answer.text)) == 3
    assert 'value="新妻子"' in answer.text and 'name="rows" value="3"' in answer.text
    assert _count(app, HouseholdRecord) == before


def test_a_county_officer_chooses_the_village_among_those_of_the_county(
        client_for: Clients) -> None:
    html = client_for("county_officer").get("/households/new").text
    assert f'<option value="{VILLAGE}"' in html and f'<option value="{OTHER_VILLAGE}"' in html
    assert '<option value="">' in html  # nothing chosen yet


def test_a_member_is_added_and_a_second_head_is_refused(client_for: Clients,
                                                      app: FastAPI) -> None:
    client = client_for("village_cadre")
    path = f"/households/{H1}/members/new"
    second_head = client.post(path, data={**NEW_MEMBER, "relation": "head",
                                          "csrf_token": csrf_of(client, "/")})
    assert second_head.status_code == 400 and 'id="error-relation"' in second_head.text
    added = client.post(path, data={**NEW_MEMBER, "csrf_token": csrf_of(client, "/")})
    assert added.status_code == 303
    assert "新成员" in client.get(f"/households/{H1}").text


def test_the_member_form_of_a_village_cadre_holds_no_full_id_number(
        client_for: Clients, app: FastAPI) -> None:
    html = client_for("village_cadre").get(
        f"/households/{H1}/members/{_head_id(app)}/edit").text
    assert HEAD_ID not in html and 'placeholder="621121********0119"' in html


def test_a_stale_member_edit_is_refused_showing_what_changed(client_for: Clients,
                                                              app: FastAPI) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    path = f"/households/{H1}/members/{_head_id(app)}/edit"
    form = cadre.get(path).text
    seen = dict(re.findall(r'name="(seen\.[a-z_]+)" value="([^"]*)"', form))
    assert officer.post(path, data={**MEMBER_EDIT, "name": "户主甲",
                                    "csrf_token": csrf_of(officer, "/")}).status_code == 303
    answer = cadre.post(path, data={**seen, "version": "1", "name": "户主乙",
                                    "relation": "head", "csrf_token": csrf_of(cadre, "/")})
    assert answer.status_code == 409
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>",
                      answer.text)
    assert (gettext("Name", "zh"), "户主0", "户主甲", "户主乙") in rows
    with app.state.web.sessions() as db:
        assert db.get(MemberRecord, _head_id(app)).name == "户主甲"  # type: ignore[union-attr]


def _stored_survey(app: FastAPI, year: int) -> SurveyRecord | None:
    with app.state.web.sessions() as db:
        return db.scalars(select(SurveyRecord).join(HouseholdRecord).where(
            HouseholdRecord.number == H1, SurveyRecord.year == year)).first()


def test_a_new_years_survey_is_entered_and_the_page_offers_it(client_for: Clients,
                                                              app: FastAPI) -> None:
    client = client_for("village_cadre")
    page = client.get(f"/households/{H1}").text
    assert f'href="/households/{H1}/surveys/new"' in page
    assert f'href="/households/{H1}/surveys/2019"' in page
    assert client.get(f"/households/{H1}/surveys/new").headers["location"] == (
        f"/households/{H1}/surveys/2026")
    form = client.get(f"/households/{H1}/surveys/2025").text
    assert 'name="household_size" id="f-household_size" value="2"' in form  # living members
    answer = client.post(f"/households/{H1}/surveys/2025",
                         data={**SURVEY, "csrf_token": csrf_of(client, "/")})
    assert answer.status_code == 303
    stored = _stored_survey(app, 2025)
    assert stored is not None and (stored.wage_income, stored.housing_grade) == (5000.0, "B")


def test_a_survey_with_numbers_the_importer_refuses_shows_the_error_next_to_the_field(
        client_for: Clients, app: FastAPI) -> None:
    client = client_for("village_cadre")
    answer = client.post(f"/households/{H1}/surveys/2025",
                         data={**SURVEY, "wage_income": "-5", "household_size": "lots",
                               "csrf_token": csrf_of(client, "/")})
    assert answer.status_code == 400
    assert 'id="error-wage_income"' in answer.text and 'id="error-household_size"' in answer.text
    assert 'value="lots"' in answer.text
    assert _stored_survey(app, 2025) is None


def test_a_stale_survey_edit_is_refused_showing_what_changed(client_for: Clients,
                                                             app: FastAPI) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    path = f"/households/{H1}/surveys/2019"
    form = cadre.get(path).text
    seen = dict(re.findall(r'name="(seen\.[a-z_]+)" value="([^"]*)"', form))
    values = {k.removeprefix("seen."): v for k, v in seen.items()}
    assert seen["seen.wage_income"] == "3000"  # a whole amount as people type it
    assert officer.post(path, data={**values, **seen, "wage_income": "4500", "food_secure": "0",
                                    "csrf_token": csrf_of(officer, "/")}).status_code == 303
    answer = cadre.post(path, data={**values, **seen, "wage_income": "3600",
                                    "csrf_token": csrf_of(cadre, "/")})
    assert answer.status_code == 409
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>",
                      answer.text)
    assert (gettext("Wage income", "zh"), "3000", "4500", "3600") in rows
    assert (gettext("Food secure", "zh"), gettext("yes", "zh"), gettext("no", "zh"),
            gettext("yes", "zh")) in rows  # a choice is shown by its title
    stored = _stored_survey(app, 2019)
    assert stored is not None and stored.wage_income == 4500.0


def test_the_links_to_the_forms_are_shown_only_to_editors(client_for: Clients) -> None:
    for persona, shown in (("village_cadre", True), ("auditor", False), ("helper", False)):
        page = client_for(persona).get(f"/households/{H1}").text
        assert ('id="add-member"' in page) is shown and ('class="edit-member"' in page) is shown
        village = client_for(persona).get(f"/villages/{VILLAGE}").text
        assert (f'href="/households/new?village={VILLAGE}"' in village) is shown
