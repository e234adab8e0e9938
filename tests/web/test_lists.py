"""The working lists: overdue measures, accountability, exit and monitoring cases — each
scoped to the user's region (a helper: their households), each downloadable as XLSX."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select

from tuopin.domain.enums import ExitState, MonitoringCategory, MonitoringState
from tuopin.i18n import gettext
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import ExitCaseRecord, HouseholdRecord, MonitoringCaseRecord
from tuopin.web.app import create_app
from web.personas import CHEAP, PERSONAS, TODAY_, settings_for
from web.test_access import ALL, expect
from web.test_plans_pages import approve_plans

Clients = Callable[[str | None], TestClient]
LATER = TODAY_ + timedelta(days=400)  # every measure of the approved plans is overdue by then
LISTS = [f"/lists/overdue?as_of={LATER}", f"/lists/accountability?as_of={LATER}",
         "/lists/exits", "/lists/monitoring"]


def open_cases(url: str) -> None:
    """An exit case and a monitoring case for every household, in every region."""
    engine = make_engine(url)
    with session_factory(engine)() as db, db.begin():
        for home in db.scalars(select(HouseholdRecord)):
            db.add(ExitCaseRecord(household_id=home.id, state=ExitState.PRE_EXIT.value,
                                  opened_on=date(2026, 10, 1)))
            db.add(MonitoringCaseRecord(
                household_id=home.id, category=MonitoringCategory.EDGE.value,
                risk_types="illness", source="report", state=MonitoringState.PROPOSED.value,
                opened_on=date(2026, 10, 1), deadline=date(2026, 11, 1)))
    engine.dispose()


@pytest.fixture
def app(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    approve_plans(web_url)
    open_cases(web_url)
    app = create_app(settings_for(web_url, data_dir=tmp_path), hasher=CHEAP,
                     today=lambda: TODAY_)
    with TestClient(app):
        yield app


ROUTES = [
    *[(path, expect(200)) for path in LISTS if "accountability" not in path],
    (LISTS[1], expect(200, helper=403)),
    *[(f"{path}{'&' if '?' in path else '?'}format=xlsx", expect(200)) for path in LISTS
      if "accountability" not in path],
    (f"{LISTS[1]}&format=xlsx", expect(200, helper=403)),
]


@pytest.mark.parametrize(("path", "persona", "status"), [
    pytest.param(path, persona, status, id=f"{path} {persona or 'anonymous'}")
    for path, table in ROUTES for persona, status in table.items()])
def test_each_persona_gets_the_lists_its_role_allows(client_for: Clients, path: str,
                                                     persona: str | None, status: int) -> None:
    response = client_for(persona).get(path)
    assert response.status_code == status
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


def _numbers(html: str) -> set[str]:
    return set(re.findall(r'href="/households/(\d{16})"', html))


@pytest.mark.parametrize("persona", ALL)
def test_no_list_shows_a_household_outside_the_users_region(client_for: Clients,
                                                             persona: str) -> None:
    client = client_for(persona)
    sees = PERSONAS[persona].sees
    for path in LISTS:
        answer = client.get(path)
        if answer.status_code == 403:
            continue
        assert _numbers(answer.text) == sees, path  # all of their own and nothing else


def _sheet(answer: object) -> list[tuple[object, ...]]:
    workbook = load_workbook(io.BytesIO(answer.content))  # type: ignore[attr-defined]
    return list(workbook.active.iter_rows(values_only=True))


@pytest.mark.parametrize("persona", ["village_cadre", "helper", "county_officer"])
def test_the_overdue_download_opens_in_excel_with_the_users_rows(client_for: Clients,
                                                                 persona: str) -> None:
    answer = client_for(persona).get(f"/lists/overdue?as_of={LATER}&format=xlsx")
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in answer.headers["content-disposition"]
    header, *rows = _sheet(answer)
    assert header[1] == gettext("Household number", "zh")
    assert {r[1] for r in rows} == PERSONAS[persona].sees
    assert all(isinstance(r[9], int) and r[9] > 0 for r in rows)  # days overdue


def test_the_exit_list_filters_by_state_and_its_download_matches(client_for: Clients) -> None:
    client = client_for("county_officer")
    assert _numbers(client.get("/lists/exits?state=exited").text) == set()
    assert len(_numbers(client.get("/lists/exits?state=pre_exit").text)) == 5
    header, *rows = _sheet(client.get("/lists/exits?state=pre_exit&format=xlsx"))
    assert len(rows) == 5 and {r[2] for r in rows} == {gettext("proposed for exit", "zh")}
    assert client.get("/lists/exits?state=nonsense").status_code == 400


def test_the_accountability_download_has_a_row_per_overdue_measure(client_for: Clients) -> None:
    client = client_for("village_cadre")
    html = client.get(f"/lists/accountability?as_of={LATER}").text
    header, *rows = _sheet(client.get(f"/lists/accountability?as_of={LATER}&format=xlsx"))
    assert len(rows) == html.count("<tr>") - 1 > 0  # the header row is one <tr>


def test_nothing_is_overdue_today(client_for: Clients) -> None:
    html = client_for("county_officer").get("/lists/overdue").text
    assert _numbers(html) == set()


def test_an_unknown_format_is_not_found(client_for: Clients) -> None:
    assert client_for("county_officer").get("/lists/exits?format=pdf").status_code == 404
