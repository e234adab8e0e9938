"""Editing a plan in the browser: revising a measure, adding one, approving a draft plan;
who may, refused fields next to their inputs, and a stale revision showing what changed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from factories import operator
from tuopin.domain.enums import PlanStatus
from tuopin.i18n import gettext
from tuopin.services.plans import household_plans as plans
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import AuditEventRecord, MeasureRecord, PlanRevisionRecord
from tuopin.web.app import create_app
from web.personas import CHEAP, MINE, TODAY_, csrf_of, log_in, settings_for
from web.test_access import expect
from web.test_plans_pages import app, first, measures  # noqa: F401  (app: approved plans)

Clients = Callable[[str | None], TestClient]
H1, H3 = MINE[0], MINE[2]  # H1 is the helper's, H3 is not
NO_VIEW = {"other_cadre": 404, "outsider": 404}
NOT_EDITORS = {"helper": 403, "auditor": 403, "verifier": 403}
# H3 is not one of the helper's households: to them it does not exist, whatever they ask
NOT_EDITORS_OF_H3 = {**NOT_EDITORS, "helper": 404}
REVISION = {"content": "改为种植中药材", "reason": "村里统一调整产业"}


@pytest.fixture
def draft_app(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    """The web app over a registry whose poor households have draft (unapproved) plans."""
    engine = make_engine(web_url)
    with session_factory(engine)() as db, db.begin():
        plans.draft(db, principal=operator("t"), run_id=1, as_of=TODAY_)
    engine.dispose()
    drafting = create_app(settings_for(web_url, data_dir=tmp_path / "data"), hasher=CHEAP,
                          today=lambda: TODAY_)
    with TestClient(drafting):
        yield drafting


@pytest.fixture
def draft_clients(draft_app: FastAPI) -> Iterator[Clients]:
    """A browser of its own for a persona (None: anonymous) on ``draft_app``, logged in."""
    made: list[TestClient] = []

    def make(persona: str | None) -> TestClient:
        client = TestClient(draft_app, follow_redirects=False)
        made.append(client)
        return log_in(client, persona) if persona else client

    yield make
    for client in made:
        client.close()


def form_of(measure: MeasureRecord, helper: str = "H001") -> dict[str, str]:
    """What a measure's edit form holds when it is opened (shown and seen)."""
    shown = {"kind": measure.kind, "content": measure.content,
             "due_date": measure.due_date.isoformat(), "budget": f"{float(measure.budget):.2f}",
             "funding_source": measure.funding_source or "", "helper": helper}
    return {**shown, **{f"seen.{name}": value for name, value in shown.items()},
            "version": str(measure.version)}


def revise(client: TestClient, measure: MeasureRecord, number: str = H1,
           **typed: str) -> Response:
    data = {**form_of(measure), **typed, "csrf_token": csrf_of(client, "/")}
    return client.post(f"/households/{number}/measures/{measure.id}/revise", data=data)


def plan_of(web: FastAPI, number: str = H1) -> dict[str, object]:
    with web.state.web.sessions() as db:
        return plans.show(db, principal=operator("t"), number=number)["plan"]


# (method, path with {m} for the household's first measure and {p} for its plan's version,
# form, expected status per persona)
ROUTES: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]] = [
    ("POST", f"/households/{H1}/measures/{{m}}/revise", REVISION,
     expect(303, **NO_VIEW, **NOT_EDITORS)),
    ("POST", f"/households/{H3}/measures/{{m}}/revise", REVISION,
     expect(303, **NO_VIEW, **NOT_EDITORS_OF_H3)),
    ("POST", f"/households/{H1}/plan/measures", {"kind": "education", "reason": "新增"},
     expect(303, **NO_VIEW, **NOT_EDITORS)),
]
# H1 does not exist for a cadre of another village (404); a cadre of its own may not approve
APPROVE = expect(403, county_officer=303, admin=303, other_cadre=404, outsider=404)


def _cases(routes: list[tuple[str, str, dict[str, str] | None, dict[str | None, int]]],
           ) -> list[object]:
    return [pytest.param(method, path, form, persona, status,
                         id=f"{method} {path} {persona or 'anonymous'}")
            for method, path, form, table in routes for persona, status in table.items()]


def _post(client: TestClient, web: FastAPI, path: str, form: dict[str, str]) -> Response:
    """A POST to ``path`` with the versions its form carries and the session's token."""
    number = path.split("/")[2]
    m = first(web, number)
    data = {**form, "version": str(plan_of(web, number)["version"]), "csrf_token": csrf_of(client)}
    if "{m}" in path:
        data = {**form_of(m), **form, "csrf_token": data["csrf_token"]}
    return client.post(path.format(m=m.id), data=data)


@pytest.mark.parametrize(("method", "path", "form", "persona", "status"), _cases(ROUTES))
def test_each_persona_gets_what_its_role_and_region_allow(
    client_for: Clients, app: FastAPI,  # noqa: F811
    method: str, path: str, form: dict[str, str], persona: str | None, status: int,
) -> None:
    response = _post(client_for(persona), app, path, form)
    assert response.status_code == status, response.text[:500]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("persona", "status"), APPROVE.items())
def test_only_officers_and_admins_approve_a_draft_plan(
        draft_clients: Clients, draft_app: FastAPI, persona: str | None, status: int) -> None:
    client = draft_clients(persona)
    answer = client.post(f"/households/{H1}/plan/approve", data={
        "version": str(plan_of(draft_app)["version"]), "csrf_token": csrf_of(client)})
    assert answer.status_code == status, answer.text[:500]
    approved = plan_of(draft_app)["status"] == PlanStatus.APPROVED.value
    assert approved is (persona is not None and status == 303)
    if persona is None:
        assert answer.headers["location"].startswith("/login?next=")


def test_approving_a_draft_plan_records_who_and_opens_its_measures(
        draft_clients: Clients, draft_app: FastAPI) -> None:
    officer = draft_clients("county_officer")
    panel = officer.get(f"/households/{H1}/plan").text
    assert 'id="approve-plan"' in panel
    assert 'id="approve-plan"' not in draft_clients("village_cadre").get(
        f"/households/{H1}/plan").text  # a cadre drafts and edits but does not approve
    answer = officer.post(f"/households/{H1}/plan/approve", data={
        "version": str(plan_of(draft_app)["version"]), "csrf_token": csrf_of(officer)})
    assert answer.status_code == 303 and answer.headers["location"] == f"/households/{H1}#plan"
    plan = plan_of(draft_app)
    assert (plan["status"], plan["approved_by"]) == ("approved", "web:county-officer")
    assert 'id="approve-plan"' not in officer.get(f"/households/{H1}/plan").text


def test_approving_on_an_older_version_of_the_plan_is_refused(
        draft_clients: Clients, draft_app: FastAPI) -> None:
    cadre, officer = draft_clients("village_cadre"), draft_clients("county_officer")
    seen = plan_of(draft_app)["version"]
    assert _post(cadre, draft_app, f"/households/{H1}/plan/measures",
                 {"kind": "health"}).status_code == 303
    answer = officer.post(f"/households/{H1}/plan/approve",
                          data={"version": str(seen), "csrf_token": csrf_of(officer)})
    assert answer.status_code == 409 and 'id="plan-error"' in answer.text
    assert plan_of(draft_app)["status"] == PlanStatus.DRAFT.value


@pytest.mark.parametrize("path", [f"/households/{H1}/measures/{{m}}/revise",
                                  f"/households/{H1}/plan/measures",
                                  f"/households/{H1}/plan/approve"])
def test_every_plan_edit_refuses_a_post_without_the_csrf_token(
        client_for: Clients, app: FastAPI, path: str) -> None:  # noqa: F811
    m, count = first(app), len(measures(app))
    data = {**form_of(m), "kind": "education", **REVISION}
    answer = client_for("admin").post(path.format(m=m.id), data=data)
    assert answer.status_code == 403
    assert first(app).content == m.content and len(measures(app)) == count
    with app.state.web.sessions() as db:
        assert db.scalars(select(PlanRevisionRecord)).all() == []


def test_a_revision_is_saved_with_its_reason_and_shown_in_the_panel(
        client_for: Clients, app: FastAPI) -> None:  # noqa: F811
    cadre, m = client_for("village_cadre"), first(app)
    answer = revise(cadre, m, content="改为种植中药材", budget="3500", reason="村里统一调整产业")
    assert answer.status_code == 303
    changed = first(app)
    assert (changed.content, float(changed.budget), changed.version) == (
        "改为种植中药材", 3500.0, m.version + 1)
    assert changed.due_date == m.due_date  # an untouched field stays as it was
    with app.state.web.sessions() as db:
        revision = db.scalars(select(PlanRevisionRecord)).one()
        event = db.scalars(select(AuditEventRecord).where(
            AuditEventRecord.action == "revise")).one()
    assert (revision.reason, revision.changed_by) == ("村里统一调整产业", "web:village-cadre")
    assert json.loads(revision.after or "{}")["content"] == "改为种植中药材"
    assert event.actor == "web:village-cadre"
    assert "改为种植中药材" in cadre.get(f"/households/{H1}/plan").text


def test_a_revision_of_an_approved_plan_without_a_reason_is_refused(
        client_for: Clients, app: FastAPI) -> None:  # noqa: F811
    m = first(app)
    answer = revise(client_for("village_cadre"), m, content="新内容", reason=" ")
    assert answer.status_code == 400
    assert gettext("A change to an approved plan needs a reason.", "zh") in answer.text
    assert first(app).content == m.content


@pytest.mark.parametrize(("typed", "field", "message"), [
    ({"due_date": "2027-02-30"}, "due_date", "Not a date (write it as 2019-11-20)."),
    ({"budget": "三千"}, "budget", "Not a number."),
    ({"content": ""}, "content", "A value is required."),
    ({"helper": "H999"}, "helper", "Helper {number} is not in the registry."),
])
def test_a_bad_field_is_refused_next_to_it_keeping_what_was_typed(
        client_for: Clients, app: FastAPI, typed: dict[str, str], field: str,  # noqa: F811
        message: str) -> None:
    m = first(app)
    answer = revise(client_for("village_cadre"), m, reason="调整", **typed)
    assert answer.status_code == 400
    error = f'<small class="error" id="error-{field}">'
    assert error in answer.text
    assert gettext(message, "zh").split("{")[0] in answer.text.split(error)[1][:200]
    kept = f">{typed[field]}</textarea>" if field == "content" else f'value="{typed[field]}"'
    assert kept in answer.text  # the typed value is kept
    assert f'id="m{m.id}-{field}"' in answer.text
    assert '<details class="step edit" open>' in answer.text  # the form opens again
    assert first(app).version == m.version


def test_a_stale_revision_is_refused_showing_what_changed(client_for: Clients,
                                                          app: FastAPI) -> None:  # noqa: F811
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    opened = first(app)
    assert revise(officer, opened, budget="8000", reason="追加预算").status_code == 303
    answer = revise(cadre, opened, budget="500", content="我的修改", reason="削减")
    assert answer.status_code == 409
    table = answer.text.split('id="changes"')[1].split("</table>")[0]
    assert gettext("Budget", "zh") in table
    assert f"{float(opened.budget):.2f}" in table and "8000.00" in table and ">500<" in table
    assert gettext("Content", "zh") not in table  # nobody else changed the content
    saved = first(app)
    assert (float(saved.budget), saved.content) == (8000.0, opened.content)


def test_an_added_measure_takes_the_catalogue_defaults_and_shows_in_the_panel(
        client_for: Clients, app: FastAPI) -> None:  # noqa: F811
    cadre, before = client_for("village_cadre"), len(measures(app))
    answer = _post(cadre, app, f"/households/{H1}/plan/measures",
                   {"kind": "education", "content": "资助孩子上高中", "budget": "",
                    "reason": "孩子升学"})
    assert answer.status_code == 303
    added = measures(app)[-1]
    assert len(measures(app)) == before + 1
    assert (added.kind, added.content, added.status) == ("education", "资助孩子上高中", "planned")
    assert added.budget is not None and added.helper_id is not None  # catalogue, assigned helper
    panel = cadre.get(f"/households/{H1}/plan").text
    assert f'id="measure-{added.id}"' in panel and "资助孩子上高中" in panel


def test_adding_a_measure_without_a_kind_is_refused_next_to_the_field(
        client_for: Clients, app: FastAPI) -> None:  # noqa: F811
    before = len(measures(app))
    answer = _post(client_for("village_cadre"), app, f"/households/{H1}/plan/measures",
                   {"kind": "", "content": "一项措施", "reason": "补充"})
    assert answer.status_code == 400 and 'id="error-kind"' in answer.text
    assert ">一项措施</textarea>" in answer.text and len(measures(app)) == before


def test_read_only_roles_and_helpers_see_no_edit_form(client_for: Clients) -> None:
    for persona in ("helper", "verifier", "auditor"):
        html = client_for(persona).get(f"/households/{H1}/plan").text
        assert "/revise" not in html and "/plan/measures" not in html
        assert "/plan/approve" not in html
