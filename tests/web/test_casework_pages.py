"""The exit and monitoring panels' steps: who may take them, the CSRF check, and the exit
workflow and a monitoring case moved through the web, with the domain's refusals shown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from markupsafe import escape
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from factories import operator
from tuopin.domain.enums import MonitoringState, ShockKind
from tuopin.i18n import gettext, translate
from tuopin.services.exits import household_exits as exits
from tuopin.services.monitoring import cases as monitoring
from tuopin.standards.loader import load
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    ExitCaseRecord,
    HouseholdRecord,
    MeasureRecord,
    MemberRecord,
    MonitoringCaseRecord,
    PlanRecord,
    ShockEventRecord,
)
from tuopin.web.app import create_app
from web.personas import CHEAP, MINE, TODAY_, csrf_of, settings_for
from web.test_access import expect

Clients = Callable[[str | None], TestClient]
H1, H2, H3 = MINE  # H1: poor in every run; H2: poor, not poor in run 2 (it may exit); H3: ordinary
EXIT_RUN = 2
S = MonitoringState
NO_VIEW = {"other_cadre": 404, "outsider": 404}
NOT_EDITORS = {"helper": 403, "auditor": 403, "verifier": 403}
# H3 is not one of the helper's households: for them it does not exist (404), whatever the
# step, before their role is asked about; the same for a cadre of another village.
NOT_EDITORS_OF_H3 = {"helper": 404, "auditor": 403, "verifier": 403}


@dataclass
class Clock:
    """The app's today, which a test may move on."""

    today: date = TODAY_


def add_run(db: Session, standard: str, year: int,
            results: dict[str, tuple[bool, str, float]]) -> int:
    """A run of ``standard`` whose results are given (number: (poor, deprived, income))."""
    text = load(standard)
    run = AssessmentRunRecord(
        standard_name=standard, standard_version=text.version, standard_hash=text.content_hash,
        standard_text=text.text, year=year, engine="db", snapshot_at="x", created_at="x",
        created_by="t", households=len(results), members=len(results), poor_households=0,
        poor_members=0, counts="{}", timings="{}")
    db.add(run)
    db.flush()
    for number, (poor, deprived, income) in results.items():
        home = db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == number)).one()
        db.add(AssessmentResultRecord(
            run_id=run.id, household_id=home.id, household_number=number,
            village_code=home.village_code, members=2, income_per_capita=income,
            score=1.0 if poor else 0.0, poor=poor, deprived=deprived, categories=""))
    db.flush()
    return run.id


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(web_url: str, clock: Clock) -> Iterator[FastAPI]:
    """The web app over a registry where H2, a poor household, is not poor in run 2."""
    app = create_app(settings_for(web_url), hasher=CHEAP, today=lambda: clock.today)
    with TestClient(app), app.state.web.sessions() as db, db.begin():
        db.execute(update(HouseholdRecord).where(HouseholdRecord.number == H2)
                   .values(status="poor", year_identified=2016))
        assert add_run(db, "cn-national", 2020, {H1: (True, "housing", 1500.0),
                                                  H2: (False, "", 6000.0)}) == EXIT_RUN
    with TestClient(app):
        yield app


# -- steps taken through the services, to set the stage for a request ---------------------

ACT: dict[str, Any] = {"principal": operator("t")}


def proposed(db: Session) -> None:
    exits.propose(db, number=H2, run_id=EXIT_RUN, minutes="村民主评议会议纪要",
                  as_of=TODAY_ - timedelta(days=30), allow_identification_year=False, **ACT)


def in_notice(db: Session) -> None:
    proposed(db)
    start = TODAY_ - timedelta(days=20)
    exits.start_notice(db, number=H2, start=start, as_of=start, notice_days=7, **ACT)


def shocked(db: Session, number: str = H3, on: date = TODAY_ - timedelta(days=10)) -> int:
    row = monitoring.record_shock(db, number=number, kind=ShockKind.ILLNESS, occurred_on=on,
                                  amount="30000", description="住院", as_of=on,
                                  deadline_days=15, **ACT)
    return int(row["case"]["case"])


def township_reviewed(db: Session, on: date = TODAY_ - timedelta(days=10)) -> int:
    case = shocked(db, on=on)
    for to, day in ((S.VISITED, on), (S.REVIEWED, on), (S.IN_NOTICE, on),
                    (S.TOWNSHIP_REVIEWED, on + timedelta(days=5))):
        monitoring.advance(db, case_id=case, to=to, on=day, as_of=day, note=None,
                           notice_days=5, **ACT)
    return case


def identified(db: Session, on: date = TODAY_ - timedelta(days=10)) -> int:
    case = township_reviewed(db, on=on)
    day = on + timedelta(days=6)
    monitoring.advance(db, case_id=case, to=S.IDENTIFIED, on=day, as_of=day, note=None,
                       notice_days=5, **ACT)
    return case


SETUPS: dict[str, Callable[[Session], Any]] = {
    "none": lambda db: None, "proposed": proposed, "in_notice": in_notice, "shocked": shocked,
    "township_reviewed": township_reviewed, "identified": identified,
}


def stage(app: FastAPI, setup: str) -> dict[str, str]:
    """Run a setup; the case's id and version (what the page would carry)."""
    with app.state.web.sessions() as db, db.begin():
        SETUPS[setup](db)
        monitored = db.scalars(select(MonitoringCaseRecord)).first()
        exiting = db.scalars(select(ExitCaseRecord)).first()
        case = monitored or exiting
        return {"c": str(monitored.id) if monitored else "0",
                "version": str(case.version) if case else "0"}


def exit_state(app: FastAPI, number: str = H2) -> tuple[str | None, str]:
    """The household's exit case state (None: no case) and its status."""
    with app.state.web.sessions() as db:
        home = db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == number)).one()
        case = db.scalars(select(ExitCaseRecord).where(ExitCaseRecord.household_id == home.id)
                          ).first()
        return (case.state if case else None), home.status


def monitoring_cases(app: FastAPI) -> list[tuple[int, str, int]]:
    with app.state.web.sessions() as db:
        return [(c.id, c.state, c.version) for c in db.scalars(
            select(MonitoringCaseRecord).order_by(MonitoringCaseRecord.id))]


def post(client: TestClient, path: str, **form: str) -> Response:
    return client.post(path, data={**form, "csrf_token": csrf_of(client)})


EXIT = f"/households/{H2}/exit"
MONITOR = f"/households/{H3}/monitoring"
TODAY = TODAY_.isoformat()

# -- who may do what -------------------------------------------------------------------------

# (method, path with {c} for the case, setup, form, expected status per persona)
ROUTES: list[tuple[str, str, str, dict[str, str], dict[str | None, int]]] = [
    ("GET", EXIT, "in_notice", {}, expect(200, **NO_VIEW)),
    ("POST", f"{EXIT}/propose", "none", {"minutes": "纪要", "run": str(EXIT_RUN)},
     expect(303, **NO_VIEW, **NOT_EDITORS)),
    ("POST", f"{EXIT}/notice", "proposed", {"start": TODAY}, expect(303, **NO_VIEW, **NOT_EDITORS)),
    ("POST", f"{EXIT}/announce", "in_notice", {}, expect(303, **NO_VIEW, **NOT_EDITORS)),
    ("POST", f"{EXIT}/object", "in_notice", {"reason": "收入不实"},
     expect(303, **NO_VIEW, **NOT_EDITORS)),
    ("GET", MONITOR, "identified", {}, expect(200, helper=404, **NO_VIEW)),
    ("POST", f"{MONITOR}/shock", "none", {"kind": "illness", "occurred_on": TODAY},
     expect(303, **NO_VIEW, **NOT_EDITORS_OF_H3)),
    ("POST", f"{MONITOR}/{{c}}/advance", "shocked", {"to": "visited", "on": TODAY},
     expect(303, **NO_VIEW, **NOT_EDITORS_OF_H3)),
    # the county decides: the village cadre may not identify (403); to a cadre of another
    # village the household does not exist (404: a 403 would confirm it does)
    ("POST", f"{MONITOR}/{{c}}/advance", "township_reviewed", {"to": "identified"},
     expect(303, village_cadre=403, **NO_VIEW, **NOT_EDITORS_OF_H3)),
    # identified ten days ago: those allowed in are refused by the clearance rules (400)
    ("POST", f"{MONITOR}/{{c}}/clear", "identified", {},
     expect(400, village_cadre=403, **NO_VIEW, **NOT_EDITORS_OF_H3)),
    ("GET", f"{MONITOR}/{{c}}/notice", "township_reviewed", {},
     expect(200, helper=404, **NO_VIEW)),
]


def _cases() -> list[object]:
    return [pytest.param(method, path, setup, form, persona, status,
                         id=f"{method} {path} {setup} {persona or 'anonymous'}")
            for method, path, setup, form, table in ROUTES for persona, status in table.items()]


@pytest.mark.parametrize(("method", "path", "setup", "form", "persona", "status"), _cases())
def test_each_persona_gets_what_its_role_and_region_allow(
    client_for: Clients, app: FastAPI, method: str, path: str, setup: str,
    form: dict[str, str], persona: str | None, status: int,
) -> None:
    staged = stage(app, setup)
    path = path.format(c=staged["c"])
    client = client_for(persona)
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, data={"version": staged["version"], **form,
                                           "csrf_token": csrf_of(client)})
    assert response.status_code == status, response.text[:500]
    if persona is None:
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("path", "setup", "form"), [
    (f"{EXIT}/propose", "none", {"minutes": "纪要", "run": str(EXIT_RUN), "version": "0"}),
    (f"{EXIT}/notice", "proposed", {"start": TODAY}),
    (f"{EXIT}/announce", "in_notice", {}),
    (f"{EXIT}/object", "in_notice", {"reason": "收入不实"}),
    (f"{MONITOR}/shock", "none", {"kind": "illness", "occurred_on": TODAY}),
    (f"{MONITOR}/{{c}}/advance", "shocked", {"to": "visited"}),
    (f"{MONITOR}/{{c}}/clear", "identified", {}),
])
def test_every_step_refuses_a_post_without_the_csrf_token(
        client_for: Clients, app: FastAPI, path: str, setup: str, form: dict[str, str]) -> None:
    staged = stage(app, setup)
    before = exit_state(app), monitoring_cases(app)
    answer = client_for("county_officer").post(path.format(c=staged["c"]),
                                               data={"version": staged["version"], **form})
    assert answer.status_code == 403
    assert (exit_state(app), monitoring_cases(app)) == before


# -- the exit workflow -----------------------------------------------------------------------

def test_an_exit_is_proposed_noticed_and_announced_once_the_notice_is_over(
        client_for: Clients, app: FastAPI, clock: Clock) -> None:
    cadre = client_for("village_cadre")
    panel = cadre.get(EXIT, headers={"HX-Request": "true"}).text
    assert f'action="{EXIT}/propose"' in panel and f'name="run" value="{EXIT_RUN}"' in panel
    assert post(cadre, f"{EXIT}/propose", run=str(EXIT_RUN), version="0",
                minutes="2026年11月村民主评议：同意").status_code == 303
    assert exit_state(app) == ("pre_exit", "poor")
    assert post(cadre, f"{EXIT}/notice", start=TODAY, version="1").status_code == 303
    assert exit_state(app) == ("in_notice", "poor")

    early = post(cadre, f"{EXIT}/announce", version="2")  # the notice runs for 7 days
    assert early.status_code == 400 and 'id="exit-error"' in early.text
    assert "公示期至" in early.text  # the rule's own message, in Chinese
    assert (TODAY_ + timedelta(days=7)).isoformat() in early.text
    assert exit_state(app) == ("in_notice", "poor")

    clock.today = TODAY_ + timedelta(days=7)
    answer = post(cadre, f"{EXIT}/announce", version="2")
    assert answer.status_code == 303 and answer.headers["location"] == f"/households/{H2}#exit"
    assert exit_state(app) == ("exited", "exited")
    shown = cadre.get(EXIT).text
    assert gettext("exited", "zh") in shown and "2026年11月村民主评议：同意" in shown
    assert "/exit/" not in shown.split('id="exit-panel"')[1]  # no step left to take


def test_a_household_still_poor_in_its_assessment_is_refused_in_the_panel(
        client_for: Clients, app: FastAPI) -> None:
    answer = post(client_for("village_cadre"), f"/households/{H1}/exit/propose",
                  run=str(EXIT_RUN), version="0", minutes="纪要")
    assert answer.status_code == 400 and 'id="exit-error"' in answer.text
    assert "该户在评估中仍为贫困" in answer.text
    assert exit_state(app, H1) == (None, "poor")


def test_a_proposal_needs_the_minutes(client_for: Clients, app: FastAPI) -> None:
    answer = post(client_for("village_cadre"), f"{EXIT}/propose", run=str(EXIT_RUN),
                  version="0", minutes="  ")
    assert answer.status_code == 400 and "minutes" in answer.text
    assert exit_state(app) == (None, "poor")


def test_an_objection_sends_the_case_back_with_its_reason(client_for: Clients,
                                                           app: FastAPI) -> None:
    staged = stage(app, "in_notice")
    cadre = client_for("village_cadre")
    assert post(cadre, f"{EXIT}/object", version=staged["version"],
                reason="邻居反映有隐性收入").status_code == 303
    assert exit_state(app) == ("not_exited", "poor")
    assert "邻居反映有隐性收入" in cadre.get(EXIT).text


def test_a_stale_exit_step_is_refused_and_says_what_the_case_is_now(
        client_for: Clients, app: FastAPI) -> None:
    staged = stage(app, "proposed")
    assert post(client_for("county_officer"), f"{EXIT}/notice", start=TODAY,
                version=staged["version"]).status_code == 303
    answer = post(client_for("village_cadre"), f"{EXIT}/notice", start=TODAY,
                  version=staged["version"])  # made on the version it saw
    assert answer.status_code == 409 and 'id="exit-error"' in answer.text
    assert gettext("in public notice", "zh") in answer.text


def test_only_a_registered_poor_household_is_offered_an_exit(client_for: Clients) -> None:
    cadre = client_for("village_cadre")
    assert "/exit/propose" not in cadre.get(f"/households/{H3}/exit").text  # ordinary
    assert "/exit/propose" in cadre.get(EXIT).text


def test_a_read_only_role_sees_the_panels_without_their_steps(client_for: Clients,
                                                              app: FastAPI) -> None:
    case = stage(app, "identified")["c"]
    auditor = client_for("auditor")
    assert 'id="exit-panel"' in auditor.get(EXIT).text
    assert "/exit/" not in auditor.get(EXIT).text.split('id="exit-panel"')[1]
    shown = auditor.get(MONITOR).text
    assert f'id="case-{case}"' in shown and 'method="post" action="/households' not in shown


# -- monitoring ------------------------------------------------------------------------------

def test_a_shock_opens_a_case_seen_in_the_panel_and_the_monitoring_list(
        client_for: Clients, app: FastAPI) -> None:
    cadre = client_for("village_cadre")
    answer = post(cadre, f"{MONITOR}/shock", kind="disaster", occurred_on=TODAY, amount="8000",
                  note="冰雹")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/households/{H3}#monitoring"
    [(case, state, _)] = monitoring_cases(app)
    assert state == "proposed"
    panel = cadre.get(MONITOR, headers={"HX-Request": "true"}).text
    assert f'id="case-{case}"' in panel and gettext("proposed", "zh") in panel
    assert f'{MONITOR}/{case}/advance' in panel and 'value="visited"' in panel
    assert gettext("natural disaster", "zh") in panel and "8,000" in panel
    listed = cadre.get("/lists/monitoring").text
    assert H3 in listed


def test_a_shock_on_a_registered_poor_household_opens_no_case(client_for: Clients,
                                                              app: FastAPI) -> None:
    cadre = client_for("village_cadre")
    answer = post(cadre, f"/households/{H1}/monitoring/shock", kind="illness",
                  occurred_on=TODAY, amount="", note="")  # as a browser sends empty fields
    assert answer.status_code == 303 and monitoring_cases(app) == []
    page = cadre.get(f"/households/{H1}").text
    flash = translate("The shock was recorded. A registered poor household's plan answers it: "
                      "no monitoring case was opened.", "zh")
    assert str(escape(flash)) in page


def test_a_shock_cannot_be_dated_after_today(client_for: Clients, app: FastAPI) -> None:
    answer = post(client_for("village_cadre"), f"{MONITOR}/shock", kind="illness",
                  occurred_on=(TODAY_ + timedelta(days=1)).isoformat())
    assert answer.status_code == 400 and 'id="monitoring-error"' in answer.text
    assert monitoring_cases(app) == []


def in_english(client: TestClient) -> TestClient:
    """The client's pages in English (the refusals below are asserted in their own words)."""
    assert post(client, "/lang", lang="en").status_code == 303
    return client


def shocks(app: FastAPI) -> list[tuple[str, float | None]]:
    with app.state.web.sessions() as db:
        return [(s.kind, s.amount) for s in db.scalars(select(ShockEventRecord))]


@pytest.mark.parametrize("amount", ["1e400", "inf", "nan", "-inf", "Infinity", "1e3"])
def test_a_shock_amount_that_is_not_money_is_refused_and_nothing_is_stored(
        client_for: Clients, app: FastAPI, amount: str) -> None:
    cadre = in_english(client_for("village_cadre"))
    answer = post(cadre, f"{MONITOR}/shock", kind="illness", occurred_on=TODAY, amount=amount,
                  note="住院")
    assert answer.status_code == 400 and 'id="monitoring-error"' in answer.text
    assert "amount" in answer.text
    assert shocks(app) == [] and monitoring_cases(app) == []


def test_a_shock_amount_in_yuan_and_fen_is_stored_as_typed(client_for: Clients,
                                                           app: FastAPI) -> None:
    cadre = client_for("village_cadre")
    assert post(cadre, f"{MONITOR}/shock", kind="illness", occurred_on=TODAY,
                amount="12,345.67").status_code == 303
    assert shocks(app) == [("illness", 12345.67)]


@pytest.mark.parametrize("persona", ["village_cadre", "county_officer", "admin"])
def test_a_monitoring_step_dated_after_today_is_refused_and_changes_nothing(
        client_for: Clients, app: FastAPI, persona: str) -> None:
    staged = stage(app, "shocked")
    before = monitoring_cases(app)
    next_year = (TODAY_ + timedelta(days=365)).isoformat()
    answer = post(in_english(client_for(persona)), f"{MONITOR}/{staged['c']}/advance",
                  to="visited", on=next_year, version=staged["version"])
    assert answer.status_code == 400 and 'id="monitoring-error"' in answer.text
    assert f"a step cannot be dated {next_year}, after today ({TODAY})" in answer.text
    assert monitoring_cases(app) == before


@pytest.mark.parametrize("persona", ["village_cadre", "county_officer", "admin"])
def test_an_exit_notice_starting_after_today_is_refused_and_changes_nothing(
        client_for: Clients, app: FastAPI, persona: str) -> None:
    staged = stage(app, "proposed")
    next_year = (TODAY_ + timedelta(days=365)).isoformat()
    answer = post(in_english(client_for(persona)), f"{EXIT}/notice", start=next_year,
                  version=staged["version"])
    assert answer.status_code == 400 and 'id="exit-error"' in answer.text
    assert f"the notice cannot start on {next_year}, after today ({TODAY})" in answer.text
    assert exit_state(app) == ("pre_exit", "poor")
    with app.state.web.sessions() as db:
        case = db.scalars(select(ExitCaseRecord)).one()
        assert (case.version, case.notice_start, case.notice_end) == (
            int(staged["version"]), None, None)


def test_a_case_goes_through_the_procedure_each_refusal_shown_in_the_panel(
        client_for: Clients, app: FastAPI, clock: Clock) -> None:
    case = int(stage(app, "shocked")["c"])
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    base = f"{MONITOR}/{case}"

    def step(client: TestClient, to: str, on: date = TODAY_, **form: str) -> Response:
        version = str(monitoring_cases(app)[0][2])
        return post(client, f"{base}/advance", to=to, on=on.isoformat(), version=version,
                    **form)

    for to in ("visited", "reviewed", "in_notice"):
        assert step(cadre, to).status_code == 303
    early = step(officer, "township_reviewed")  # the notice lasts 5 days
    assert early.status_code == 400 and 'id="monitoring-error"' in early.text
    assert (TODAY_ + timedelta(days=5)).isoformat() in early.text
    clock.today = TODAY_ + timedelta(days=5)  # a step is dated on the day it is taken at most
    assert step(cadre, "township_reviewed", clock.today).status_code == 403
    assert step(officer, "township_reviewed", clock.today).status_code == 303

    offered = cadre.get(MONITOR).text
    assert 'value="identified"' not in offered  # the county decides
    assert 'value="identified"' in officer.get(MONITOR).text
    clock.today = TODAY_ + timedelta(days=6)
    assert step(officer, "identified", clock.today).status_code == 303
    assert monitoring_cases(app)[0][1] == "identified"
    assert exit_state(app, H3) == (None, "monitored")

    refused = post(officer, f"{base}/clear", version=str(monitoring_cases(app)[0][2]))
    assert refused.status_code == 400 and 'id="monitoring-error"' in refused.text
    assert "尚无监测评估得出的收入数据" in refused.text
    assert monitoring_cases(app)[0][1] == "identified"


def test_a_rejection_needs_its_reason(client_for: Clients, app: FastAPI) -> None:
    case = int(stage(app, "shocked")["c"])
    officer = client_for("county_officer")
    refused = post(officer, f"{MONITOR}/{case}/advance", to="rejected", version="1", note="")
    assert refused.status_code == 400 and monitoring_cases(app)[0][1] == "proposed"
    assert post(officer, f"{MONITOR}/{case}/advance", to="rejected", version="1",
                note="收入高于监测范围").status_code == 303
    assert monitoring_cases(app)[0][1] == "rejected"


def test_a_stale_monitoring_step_is_refused(client_for: Clients, app: FastAPI) -> None:
    case = int(stage(app, "shocked")["c"])
    cadre = client_for("village_cadre")
    assert post(cadre, f"{MONITOR}/{case}/advance", to="visited", version="1").status_code == 303
    stale = post(cadre, f"{MONITOR}/{case}/advance", to="reviewed", version="1")
    assert stale.status_code == 409 and 'id="monitoring-error"' in stale.text
    assert gettext("visited, household consents", "zh") in stale.text


def test_a_case_of_another_household_cannot_be_moved_through_this_one(
        client_for: Clients, app: FastAPI) -> None:
    case = int(stage(app, "shocked")["c"])
    answer = post(client_for("village_cadre"), f"/households/{H2}/monitoring/{case}/advance",
                  to="visited", version="1")
    assert answer.status_code == 404 and monitoring_cases(app)[0][1] == "proposed"


def test_an_identified_case_whose_conditions_hold_is_cleared(client_for: Clients,
                                                            app: FastAPI) -> None:
    with app.state.web.sessions() as db, db.begin():
        case = identified(db, on=date(2026, 3, 1))  # identified more than 6 months ago
        home = db.scalars(select(HouseholdRecord).where(HouseholdRecord.number == H3)).one()
        add_run(db, "cn-monitoring", 2026, {H3: (False, "", 12000.0)})
        db.execute(update(MemberRecord).where(MemberRecord.household_id == home.id,
                                              MemberRecord.relation == "head")
                   .values(labour="ordinary"))
        plan = PlanRecord(household_id=home.id, status="approved", drafted_by="t",
                          drafted_on=date(2026, 3, 2))
        db.add(plan)
        db.flush()
        db.add(MeasureRecord(plan_id=plan.id, kind="public_job", content="公益岗位",
                             due_date=date(2026, 6, 1), status="done"))
    version = str(monitoring_cases(app)[0][2])
    answer = post(client_for("county_officer"), f"{MONITOR}/{case}/clear", version=version)
    assert answer.status_code == 303
    assert monitoring_cases(app)[0][1] == "cleared"
    assert exit_state(app, H3) == (None, "ordinary")
    assert gettext("risk cleared", "zh") in client_for("village_cadre").get(MONITOR).text


def test_the_printable_notice_names_the_head_and_no_identifier(client_for: Clients,
                                                               app: FastAPI) -> None:
    case = int(stage(app, "township_reviewed")["c"])
    page = client_for("village_cadre").get(f"{MONITOR}/{case}/notice")
    assert page.status_code == 200 and 'id="notice"' in page.text
    assert "户主2" in page.text and "防止返贫监测对象拟纳入公示" in page.text
    with app.state.web.sessions() as db:
        ids = db.scalars(select(MemberRecord.id_number)).all()
    assert not any(i in page.text for i in ids)
    assert f"{MONITOR}/{case}/notice" in client_for("village_cadre").get(MONITOR).text


def test_a_case_without_a_notice_yet_has_no_notice_page(client_for: Clients,
                                                        app: FastAPI) -> None:
    case = int(stage(app, "shocked")["c"])
    page = client_for("village_cadre").get(f"{MONITOR}/{case}/notice")
    assert page.status_code == 400 and 'id="monitoring-error"' in page.text
