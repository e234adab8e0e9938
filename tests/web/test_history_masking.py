"""The history masks the personal numbers nested deep in its events - a registration lists
every member with their ID number and phone - for every role whose pages show them masked,
and shows them in full only after a deliberate reveal, which the audit trail records."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from factories import VILLAGE, operator, person_id
from tuopin.domain.enums import Role
from tuopin.services.access.masking import mask_account, mask_id, mask_phone
from tuopin.services.registry import registration
from tuopin.storage.models import (
    AuditEventRecord,
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
)
from web.personas import TODAY_, TOWNSHIP, add_account, csrf_of

Clients = Callable[[str | None], TestClient]
NEW = f"{VILLAGE}0009"  # registered below, and assigned to the helper
HEAD_ID = person_id(date(1980, 5, 6), 51)
WIFE_ID = person_id(date(1982, 7, 8), 62)
HEAD_PHONE = "13512345678"
HOME_PHONE = "13698765432"
HOME_BANK = "6228481234567890"
SECRETS = (HEAD_ID, WIFE_ID, HEAD_PHONE, HOME_PHONE, HOME_BANK)
MASKED = (mask_id(HEAD_ID), mask_id(WIFE_ID), mask_phone(HEAD_PHONE), mask_phone(HOME_PHONE),
          mask_account(HOME_BANK))
# Roles that see the numbers masked everywhere (the auditor too, who may not reveal them),
# and those whose work needs them in full.
MASKED_FOR = ("village_cadre", "township_officer", "helper", "verifier", "auditor")
FULL_FOR = ("county_officer", "admin")
MAY_REVEAL = ("village_cadre", "township_officer", "helper", "verifier")


@pytest.fixture(autouse=True)
def registered(app: FastAPI) -> None:
    """NEW registered with two members (audited with the whole member list), assigned to the
    helper; and a township officer of VILLAGE's township."""
    with app.state.web.sessions() as db, db.begin():
        registration.register_household(
            db, principal=operator("registrar"), today=TODAY_,
            household={"village_code": VILLAGE, "number": NEW, "status": "poor",
                       "address": "五组1号", "phone": HOME_PHONE, "bank_account": HOME_BANK},
            members=[{"name": "新户主", "id_number": HEAD_ID, "relation": "head",
                      "phone": HEAD_PHONE},
                     {"name": "新妻子", "id_number": WIFE_ID, "relation": "spouse"}])
        home = db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == NEW)).one()
        helper = db.scalars(select(HelperRecord).where(HelperRecord.number == "H001")).one()
        db.add(HelperAssignmentRecord(helper_id=helper.id, household_id=home.id))
    add_account(app, "township_officer", Role.TOWNSHIP_OFFICER, TOWNSHIP)


def _history(client: TestClient) -> Response:
    answer = client.get(f"/households/{NEW}/history")
    assert answer.status_code == 200
    assert "新户主" in answer.text  # the registration's member list is there
    return answer


def _reveal(client: TestClient) -> Response:
    return client.post(f"/households/{NEW}/history/reveal",
                       data={"csrf_token": csrf_of(client)})


def _reveals(app: FastAPI) -> list[tuple[str, str, str, dict[str, str]]]:
    with app.state.web.sessions() as db:
        return [(e.actor, e.entity, e.entity_id, json.loads(e.after or "{}"))
                for e in db.scalars(select(AuditEventRecord)
                                    .where(AuditEventRecord.action == "reveal"))]


@pytest.mark.parametrize("persona", MASKED_FOR)
def test_the_numbers_nested_in_a_registration_are_masked_for_roles_that_see_them_masked(
        client_for: Clients, persona: str) -> None:
    page = _history(client_for(persona)).text
    for secret in SECRETS:
        assert secret not in page
    for masked in MASKED:
        assert masked in page


@pytest.mark.parametrize("persona", FULL_FOR)
def test_the_county_and_the_admin_see_the_nested_numbers_in_full(
        client_for: Clients, persona: str) -> None:
    page = _history(client_for(persona)).text
    for secret in SECRETS:
        assert secret in page
    assert 'id="history-reveal"' not in page  # nothing to reveal


@pytest.mark.parametrize("persona", MAY_REVEAL)
def test_a_reveal_shows_the_history_in_full_and_is_recorded(
        client_for: Clients, app: FastAPI, persona: str) -> None:
    client = client_for(persona)
    assert 'id="history-reveal"' in _history(client).text  # the page offers it
    answer = _reveal(client)
    assert answer.status_code == 200
    for secret in SECRETS:
        assert secret in answer.text
    assert 'id="history-reveal"' not in answer.text
    account = persona.replace("_", "-")
    assert _reveals(app) == [(f"web:{account}", "household", NEW,
                              {"field": "history", "household": NEW})]
    # the reveal was for that one answer: the page is masked again afterwards
    assert HEAD_ID not in _history(client).text


def test_the_auditor_may_not_reveal_the_history(client_for: Clients, app: FastAPI) -> None:
    auditor = client_for("auditor")
    assert 'id="history-reveal"' not in _history(auditor).text  # not offered
    answer = _reveal(auditor)  # and refused when posted anyway
    assert answer.status_code == 403
    for secret in SECRETS:
        assert secret not in answer.text
    assert _reveals(app) == []


@pytest.mark.parametrize(("persona", "status"), [("other_cadre", 404), ("outsider", 404),
                                                 (None, 303)])
def test_a_reveal_outside_ones_region_finds_no_household(
        client_for: Clients, app: FastAPI, persona: str | None, status: int) -> None:
    answer = _reveal(client_for(persona))
    assert answer.status_code == status
    for secret in SECRETS:
        assert secret not in answer.text
    assert _reveals(app) == []


def test_a_reveal_without_the_csrf_token_is_refused(client_for: Clients, app: FastAPI) -> None:
    answer = client_for("village_cadre").post(f"/households/{NEW}/history/reveal")
    assert answer.status_code == 403
    assert HEAD_ID not in answer.text and _reveals(app) == []


def test_the_revealed_history_answers_htmx_with_the_panel(client_for: Clients) -> None:
    client = client_for("village_cadre")
    answer = client.post(f"/households/{NEW}/history/reveal",
                         data={"csrf_token": csrf_of(client, "/")},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert 'id="history-panel"' in answer.text and "<html" not in answer.text
    assert HEAD_ID in answer.text
