"""The API's plans and measures, exits and monitoring: who may read and step what (every
persona), If-Match on every step (428 without, 412 stale and nothing changes), the ETag of the
new version, evidence uploads, and keyset pages that neither skip nor repeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from factories import operator
from tuopin.api.schemas_casework import PlanSummary, plan_summary
from tuopin.domain.enums import MeasureStatus, MonitoringState, ShockKind
from tuopin.services.exits import household_exits as exits
from tuopin.services.monitoring import cases as monitoring
from tuopin.services.plans import household_plans as plans
from tuopin.services.plans import ledger
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
from tuopin.storage.models import (
    ExitCaseRecord,
    HouseholdRecord,
    MeasureRecord,
    MonitoringCaseRecord,
    PlanRecord,
)
from web.personas import MINE, OTHERS, OUTSIDE, PERSONAS, TODAY_
from web.test_casework_pages import add_run

Clients = Callable[[str | None], TestClient]
H1, H2, H3 = MINE  # H1: poor, the helper's, with a plan; H3: ordinary, not the helper's
EXIT_RUN = 2  # a run where the poor households (H1 ...) are not poor: they may exit
EXITING = [H1, OTHERS[0], OUTSIDE[0]]  # the poor households, in three scopes
ORDINARY = [H3, OTHERS[1], H2]  # the ordinary ones: a shock opens a monitoring case
DRAFTED = date(2025, 6, 1)  # plans drafted and approved then: their measures are overdue now
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
S = MonitoringState
ACT: dict[str, Any] = {"principal": operator("t")}

COVERED = {
    ("GET", "/v1/households/{number}/plan"),
    ("GET", "/v1/measures/overdue"),
    ("GET", "/v1/accountability"),
    ("GET", "/v1/measures/{measure_id}"),
    ("POST", "/v1/measures/{measure_id}/start"),
    ("POST", "/v1/measures/{measure_id}/complete"),
    ("POST", "/v1/measures/{measure_id}/verify"),
    ("POST", "/v1/measures/{measure_id}/cancel"),
    ("POST", "/v1/measures/{measure_id}/delay"),
    ("GET", "/v1/households/{number}/exit"),
    ("POST", "/v1/households/{number}/exit/steps"),
    ("GET", "/v1/monitoring"),
    ("GET", "/v1/monitoring/{case_id}"),
    ("POST", "/v1/monitoring/{case_id}/steps"),
}


def expect(default: int, **special: int) -> dict[str | None, int]:
    """``default`` for every persona but those named; no token: 401."""
    table: dict[str | None, int] = dict.fromkeys(PERSONAS, default)
    table.update(special)
    table[None] = 401
    return table


NO_VIEW = {"other_cadre": 404, "outsider": 404}
READ_ONLY = {"auditor": 403, "verifier": 403}


@dataclass(frozen=True)
class Target:
    """A staged record: its id, its household and its version."""

    id: int
    household: str
    version: int

    @property
    def values(self) -> dict[str, str]:
        return {"m": str(self.id), "c": str(self.id), "h": self.household,
                "version": f'"{self.version}"'}


# -- the stage, set through the services -----------------------------------------------------
# A setup stages several records of the same kind (each in its household), so that every
# persona whose step succeeds acts on a fresh one of its own; the refused act on the first.

def _store(server: FastAPI) -> EvidenceStore:
    settings = server.state.web.settings
    return EvidenceStore(settings.data_dir, settings.evidence_max_bytes)


def with_plans(db: Session, server: FastAPI) -> list[Target]:
    """Every poor household's plan (drafted from run 1) approved, half a year ago and more:
    their measures, H1's first."""
    plans.draft(db, run_id=1, as_of=DRAFTED, **ACT)
    plans.approve_all(db, as_of=DRAFTED, **ACT)
    return [Target(m.id, number, m.version) for number, m in measures(db)]


def done(db: Session, server: FastAPI) -> list[Target]:
    """The first measure of every plan done, with its evidence."""
    with_plans(db, server)
    firsts = {number: m for number, m in reversed(measures(db))}
    for m in firsts.values():
        ledger.complete(db, measure_id=m.id, completed_on=TODAY_, as_of=TODAY_,
                        files=[EvidenceFile("photo.png", PNG, "image/png")],
                        store=_store(server), **ACT)
    return [Target(m.id, number, m.version) for number, m in measures(db) if m in
            firsts.values()]


def exit_run(db: Session, server: FastAPI) -> list[Target]:
    """Run 2 finds H1, the other village's and the other county's poor households not poor."""
    assert add_run(db, "cn-national", 2020, dict.fromkeys(EXITING, (False, "", 6000.0))
                   ) == EXIT_RUN
    return [Target(0, number, 0) for number in EXITING]


def proposed(db: Session, server: FastAPI) -> list[Target]:
    exit_run(db, server)
    for number in EXITING:
        exits.propose(db, number=number, run_id=EXIT_RUN, minutes="村民主评议会议纪要",
                      as_of=TODAY_ - timedelta(days=30), allow_identification_year=False,
                      **ACT)
    return [Target(0, number, 1) for number in EXITING]


def in_notice(db: Session, server: FastAPI) -> list[Target]:
    proposed(db, server)
    start = TODAY_ - timedelta(days=20)
    for number in EXITING:
        exits.start_notice(db, number=number, start=start, as_of=start, notice_days=7, **ACT)
    return [Target(0, number, 2) for number in EXITING]


def shock(db: Session, number: str, on: date = TODAY_ - timedelta(days=10)) -> int:
    row = monitoring.record_shock(db, number=number, kind=ShockKind.ILLNESS, occurred_on=on,
                                  amount="30000", description="住院", as_of=on,
                                  deadline_days=15, **ACT)
    return int(row["case"]["case"])


def _cases_in(db: Session) -> list[Target]:
    return [Target(c.id, number, c.version) for c, number in db.execute(
        select(MonitoringCaseRecord, HouseholdRecord.number)
        .join(HouseholdRecord, HouseholdRecord.id == MonitoringCaseRecord.household_id)
        .order_by(MonitoringCaseRecord.id))]


def shocked(db: Session, server: FastAPI) -> list[Target]:
    """A case opened by a shock in each ordinary household: H3's first."""
    for number in ORDINARY:
        shock(db, number)
    return _cases_in(db)


def to_township(db: Session, case: int, on: date) -> None:
    for to, day in ((S.VISITED, on), (S.REVIEWED, on), (S.IN_NOTICE, on),
                    (S.TOWNSHIP_REVIEWED, on + timedelta(days=5))):
        monitoring.advance(db, case_id=case, to=to, on=day, as_of=day, note=None,
                           notice_days=5, **ACT)


def township_reviewed(db: Session, server: FastAPI) -> list[Target]:
    on = TODAY_ - timedelta(days=10)
    for number in ORDINARY:
        to_township(db, shock(db, number, on), on)
    return _cases_in(db)


def identified(db: Session, server: FastAPI) -> list[Target]:
    on, day = TODAY_ - timedelta(days=10), TODAY_ - timedelta(days=4)
    case = shock(db, H3, on)
    to_township(db, case, on)
    monitoring.advance(db, case_id=case, to=S.IDENTIFIED, on=day, as_of=day, note=None,
                       notice_days=5, **ACT)
    return _cases_in(db)


SETUPS: dict[str, Callable[[Session, FastAPI], list[Target]]] = {
    "plans": with_plans, "done": done, "exit_run": exit_run, "proposed": proposed,
    "in_notice": in_notice, "shocked": shocked, "township_reviewed": township_reviewed,
    "identified": identified,
}


def measures(db: Session) -> list[tuple[str, MeasureRecord]]:
    """Every measure with its household's number, H1's first."""
    rows = db.execute(select(HouseholdRecord.number, MeasureRecord)
                      .join(PlanRecord, PlanRecord.id == MeasureRecord.plan_id)
                      .join(HouseholdRecord, HouseholdRecord.id == PlanRecord.household_id)
                      .order_by(HouseholdRecord.number, MeasureRecord.id)).all()
    return [(number, m) for number, m in rows]


def stage(server: FastAPI, setup: str) -> list[Target]:
    """Run a setup; the records it staged (the first: the one a test speaks of)."""
    with server.state.web.sessions() as db, db.begin():
        return SETUPS[setup](db, server)


def first_target(server: FastAPI, setup: str) -> dict[str, str]:
    """The first staged record as a path's values and the ETag a client read."""
    return stage(server, setup)[0].values


# -- who may do what -------------------------------------------------------------------------

PLAN = f"/households/{H1}/plan"
EXIT = "/households/{h}/exit"
STEP_BY_EDITORS = expect(200, helper=403, **READ_ONLY, **NO_VIEW)
# (method, path ({m}: a measure, {c}: a case, {h}: a household), setup, JSON body or "png",
# statuses)
ROUTES: list[tuple[str, str, str, Any, dict[str | None, int]]] = [
    ("GET", PLAN, "plans", None, expect(200, **NO_VIEW)),
    ("GET", "/measures/overdue", "plans", None, expect(200)),
    ("GET", "/accountability", "plans", None, expect(200, helper=403)),
    ("GET", "/measures/{m}", "plans", None, expect(200, **NO_VIEW)),
    ("POST", "/measures/{m}/start", "plans", None,
     expect(200, **READ_ONLY, **NO_VIEW)),
    ("POST", "/measures/{m}/complete", "plans", "png", expect(200, **READ_ONLY, **NO_VIEW)),
    # the responsible helper may not check their own measure off (the ledger's rule: 400)
    ("POST", "/measures/{m}/verify", "done", None, expect(200, helper=400, auditor=403,
                                                          **NO_VIEW)),
    ("POST", "/measures/{m}/cancel", "plans", {"reason": "已由低保覆盖"},
     expect(200, **READ_ONLY, **NO_VIEW)),
    ("POST", "/measures/{m}/delay", "plans", {"reason": "资金未到位", "follow_up": "约谈"},
     expect(200, **READ_ONLY, **NO_VIEW)),
    ("GET", EXIT, "in_notice", None, expect(200, **NO_VIEW)),
    ("POST", f"{EXIT}/steps", "exit_run", {"to": "pre_exit", "note": "纪要"},
     STEP_BY_EDITORS),
    ("POST", f"{EXIT}/steps", "proposed", {"to": "in_notice"}, STEP_BY_EDITORS),
    ("POST", f"{EXIT}/steps", "in_notice", {"to": "exited"}, STEP_BY_EDITORS),
    ("POST", f"{EXIT}/steps", "in_notice", {"to": "not_exited", "note": "收入不实"},
     STEP_BY_EDITORS),
    ("GET", "/monitoring", "shocked", None, expect(200)),
    ("GET", "/monitoring/{c}", "shocked", None, expect(200, helper=404, **NO_VIEW)),
    ("POST", "/monitoring/{c}/steps", "shocked", {"to": "visited"},
     expect(200, helper=403, **READ_ONLY, **NO_VIEW)),
    # the county decides (县审定): a village cadre may not
    ("POST", "/monitoring/{c}/steps", "township_reviewed", {"to": "identified"},
     expect(200, village_cadre=403, other_cadre=403, helper=403, **READ_ONLY,
            outsider=404)),
    # identified four days ago: those allowed are refused by the clearance rules (400)
    ("POST", "/monitoring/{c}/steps", "identified", {"to": "cleared"},
     expect(400, village_cadre=403, other_cadre=403, helper=403, **READ_ONLY,
            outsider=404)),
]


def call(client: TestClient, method: str, path: str, body: Any,
         if_match: str | None) -> Any:
    headers = {"If-Match": if_match} if if_match else {}
    if method == "GET":
        return client.get(path)
    if body == "png":
        return client.post(path, headers=headers,
                           files={"evidence_file": ("photo.png", PNG, "image/png")})
    return client.post(path, headers=headers, json=body)


def _own(persona: str | None, staged: list[Target], taken: set[int]) -> Target:
    """A staged record the persona sees that nobody acted on yet."""
    sees = PERSONAS[persona].sees if persona else frozenset()
    for i, target in enumerate(staged):
        if i not in taken and target.household in sees:
            taken.add(i)
            return target
    raise AssertionError(f"stage a record for {persona}")


def _refused_first(row: tuple[str | None, int]) -> tuple[bool, int]:
    persona, status = row
    return status < 300, len(PERSONAS[persona].sees) if persona else 0


def _groups() -> list[Any]:
    """One test per writing route (each on a fresh stage); the reads of a stage together
    (they change nothing)."""
    reads: dict[str, list[Any]] = {}
    groups = []
    for row in ROUTES:
        if row[0] == "GET":
            reads.setdefault(row[2], []).append(row)
        else:
            groups.append(pytest.param(row[2], [row], id=f"{row[0]} {row[1]} {row[2]}"))
    return [*(pytest.param(setup, rows, id=f"GET {setup}") for setup, rows in reads.items()),
            *groups]


@pytest.mark.parametrize(("setup", "rows"), _groups())
def test_each_persona_gets_what_its_role_and_region_allow(
        api_for: Clients, server: FastAPI, setup: str, rows: list[Any]) -> None:
    staged = stage(server, setup)
    clients = {persona: api_for(persona) for persona in expect(0)}
    for method, path, _, body, table in rows:
        taken: set[int] = set()
        # the refused first, on the first record (a refusal changes nothing); then each
        # persona allowed to change a record on one of its own, the narrowest scope first
        for persona, status in sorted(table.items(), key=_refused_first):
            target = (_own(persona, staged, taken) if status < 300 and method == "POST"
                      else staged[0])
            answer = call(clients[persona], method, path.format(**target.values), body,
                          target.values["version"])
            assert answer.status_code == status, (path, persona, answer.text[:500])
            if status >= 400:
                assert answer.headers["content-type"] == "application/problem+json"
            elif "{" in path or path.endswith(("/plan", "/exit")) or method == "POST":
                assert answer.headers["etag"].startswith('"'), (path, persona)


def test_a_persona_lists_only_the_cases_and_measures_of_its_households(
        api_for: Clients, server: FastAPI) -> None:
    stage(server, "plans")
    stage(server, "shocked")
    for persona, seen in PERSONAS.items():
        client = api_for(persona)
        overdue = {m["household"] for m in client.get("/measures/overdue").json()["items"]}
        cases = {c["number"] for c in client.get("/monitoring").json()["items"]}
        assert overdue and overdue <= seen.sees or persona == "outsider", persona
        assert cases <= seen.sees, persona
    assert not api_for("outsider").get("/monitoring").json()["items"]


# -- If-Match and ETags ----------------------------------------------------------------------

# (path, JSON body or "png", which staged record: "done", "planned" measures, case)
STEPS = [("/measures/{m}/verify", None, "done"), ("/measures/{m}/start", None, "planned"),
         ("/measures/{m}/complete", "png", "planned"),
         ("/measures/{m}/cancel", {"reason": "重复"}, "done"),
         ("/measures/{m}/delay", {"reason": "资金未到位"}, "done"),
         ("/households/{h}/exit/steps", {"to": "in_notice"}, "proposed"),
         ("/monitoring/{c}/steps", {"to": "visited"}, "shocked")]


def snapshot(server: FastAPI) -> list[tuple[Any, ...]]:
    with server.state.web.sessions() as db:
        return [*db.execute(select(MeasureRecord.id, MeasureRecord.status,
                                   MeasureRecord.version).order_by(MeasureRecord.id)),
                *db.execute(select(ExitCaseRecord.state, ExitCaseRecord.version)),
                *db.execute(select(MonitoringCaseRecord.state, MonitoringCaseRecord.version))]


def test_every_step_needs_if_match_and_a_stale_one_changes_nothing(
        api_for: Clients, server: FastAPI) -> None:
    done_ = stage(server, "done")
    mine = PERSONAS["county_officer"].sees
    staged = {"done": [t for t in done_ if t.household in mine],
              "proposed": stage(server, "proposed"),
              "shocked": stage(server, "shocked"),
              "planned": [t for t in stage_of_measures(server)
                          if t.household in mine and t.id not in {d.id for d in done_}]}
    county = api_for("county_officer")
    for path, body, kind in STEPS:
        target = staged[kind].pop(0)
        url, before, read = path.format(**target.values), snapshot(server), target.version
        missing = call(county, "POST", url, body, None)
        assert missing.status_code == 428, (path, missing.text)
        assert missing.json()["type"] == "urn:tuopin:problem:precondition-required"
        stale = call(county, "POST", url, body, f'"{read + 5}"')
        assert stale.status_code == 412, (path, stale.text)
        assert stale.json()["type"] == "urn:tuopin:problem:stale" and stale.json()["current"]
        assert snapshot(server) == before
        taken = call(county, "POST", url, body, f'"{read}"')
        assert taken.status_code == 200, (path, taken.text)
        assert taken.headers["etag"] == f'"{taken.json()["version"]}"' != f'"{read}"'
        again = call(county, "POST", url, body, f'"{read}"')  # the version it read before
        assert again.status_code == 412, path


def stage_of_measures(server: FastAPI) -> list[Target]:
    with server.state.web.sessions() as db:
        return [Target(m.id, number, m.version) for number, m in measures(db)]


def test_a_measure_goes_from_planned_to_verified_with_its_evidence(
        api_for: Clients, server: FastAPI, tmp_path: Path) -> None:
    staged = first_target(server, "plans")
    helper, cadre = api_for("helper"), api_for("village_cadre")
    read = helper.get(f"/measures/{staged['m']}")
    assert read.json()["status"] == "planned" and read.json()["evidence"] == []
    started = helper.post(f"/measures/{staged['m']}/start",
                          headers={"If-Match": read.headers["etag"]})
    assert started.json()["status"] == "in_progress"
    completed = helper.post(f"/measures/{staged['m']}/complete",
                            headers={"If-Match": started.headers["etag"]},
                            data={"completed_on": TODAY_.isoformat()},
                            files={"evidence_file": ("照片.png", PNG, "image/png")})
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert (body["status"], body["completed_on"]) == ("done", TODAY_.isoformat())
    [file] = body["evidence"]
    assert (file["file"], file["type"], file["size"], file["by"]) == (
        "照片.png", "image/png", len(PNG), "api:helper")
    assert [p.read_bytes() for p in (tmp_path / "data" / "evidence").rglob("*.png")] == [PNG]
    verified = cadre.post(f"/measures/{staged['m']}/verify",
                          headers={"If-Match": completed.headers["etag"]})
    assert (verified.json()["status"], verified.json()["verifier"]) == ("verified",
                                                                        "village-cadre")
    shown = cadre.get(PLAN).json()
    [measure] = [m for m in shown["measures"] if m["id"] == int(staged["m"])]
    assert measure == verified.json()
    assert shown["plan"]["status"] == "approved" and all(
        m["household"] == H1 and m["plan"] == shown["plan"]["plan"] for m in shown["measures"])


def test_a_completion_without_evidence_or_image_or_a_reasonless_cancel_is_refused(
        api_for: Clients, server: FastAPI) -> None:
    staged = first_target(server, "plans")
    cadre, url = api_for("village_cadre"), f"/measures/{staged['m']}/complete"
    bare = cadre.post(url, headers={"If-Match": staged["version"],
                                    "Accept-Language": "en"})
    assert bare.status_code == 400 and "no evidence" in bare.json()["detail"]
    fake = cadre.post(url, headers={"If-Match": staged["version"], "Accept-Language": "zh"},
                      files={"evidence_file": ("x.png", b"MZ not a picture", "image/png")})
    assert fake.status_code == 400 and fake.json()["type"] == "urn:tuopin:problem:invalid"
    assert "x.png" in fake.json()["detail"] and fake.json()["title"] != "The input was not accepted"
    unreasoned = cadre.post(f"/measures/{staged['m']}/cancel", json={},
                            headers={"If-Match": staged["version"]})
    assert unreasoned.status_code == 400
    assert unreasoned.json()["errors"][0]["field"] == "reason"
    with server.state.web.sessions() as db:
        measure = db.get(MeasureRecord, int(staged["m"]))
        assert measure is not None and measure.status == MeasureStatus.PLANNED.value


# -- lists -----------------------------------------------------------------------------------

def test_the_overdue_measures_come_in_pages_that_neither_skip_nor_repeat(
        api_for: Clients, server: FastAPI) -> None:
    stage(server, "plans")
    county = api_for("county_officer")
    whole = county.get("/measures/overdue?limit=1000").json()
    assert whole["next"] is None and len(whole["items"]) > 3
    assert all(m["days_overdue"] > 0 for m in whole["items"])
    seen, cursor = [], None
    while True:
        page = county.get("/measures/overdue", params={"limit": 2, "cursor": cursor}).json()
        seen += page["items"]
        if (cursor := page["next"]) is None:
            break
    assert seen == whole["items"]
    bad = county.get("/measures/overdue?cursor=WyJ4IiwxXQ")  # ["x",1]: no date
    assert bad.status_code == 400 and bad.json()["type"] == "urn:tuopin:problem:invalid"
    groups = county.get("/accountability").json()
    assert sum(g["measures"] for g in groups) == len(whole["items"])


def test_monitoring_cases_are_paged_and_filtered_by_state(api_for: Clients,
                                                          server: FastAPI) -> None:
    with server.state.web.sessions() as db, db.begin():
        first = shock(db, H3)
        to_township(db, first, TODAY_ - timedelta(days=5))
        second = shock(db, OTHERS[1])
    county = api_for("county_officer")
    one = county.get("/monitoring?limit=1").json()
    assert [c["case"] for c in one["items"]] == [first]
    rest = county.get("/monitoring", params={"limit": 1, "cursor": one["next"]}).json()
    assert [c["case"] for c in rest["items"]] == [second]
    assert county.get("/monitoring", params={"limit": 1, "cursor": rest["next"]}).json() == {
        "items": [], "next": None}
    proposed = county.get("/monitoring?state=proposed").json()["items"]
    assert [c["case"] for c in proposed] == [second]
    assert county.get(f"/monitoring?household={H3}").json()["items"][0]["case"] == first
    assert county.get("/monitoring?state=nonsense").status_code == 400


# -- exits and monitoring steps --------------------------------------------------------------

H1_EXIT = EXIT.format(h=H1)


def test_an_exit_is_proposed_noticed_and_objected_to_through_the_api(
        api_for: Clients, server: FastAPI) -> None:
    stage(server, "exit_run")
    cadre = api_for("village_cadre")
    none = cadre.get(H1_EXIT)
    assert none.headers["etag"] == '"0"' and none.json()["state"] == "not_exited"
    proposal = cadre.post(f"{H1_EXIT}/steps", json={"to": "pre_exit", "note": "民主评议同意"},
                          headers={"If-Match": '"0"'})
    assert proposal.status_code == 200, proposal.text
    assert (proposal.json()["state"], proposal.json()["run_id"]) == ("pre_exit", EXIT_RUN)
    evidence = proposal.json()["events"][0]["evidence"]
    assert (evidence["minutes"], evidence["run"], evidence["year"]) == ("民主评议同意", EXIT_RUN,
                                                                       2020)
    again = cadre.post(f"{H1_EXIT}/steps", json={"to": "pre_exit", "note": "再次"},
                       headers={"If-Match": '"0"'})  # someone opened the case meanwhile
    assert again.status_code == 412
    notice = cadre.post(f"{H1_EXIT}/steps", json={"to": "in_notice"},
                        headers={"If-Match": proposal.headers["etag"]})
    assert notice.json()["notice_start"] == TODAY_.isoformat()
    early = cadre.post(f"{H1_EXIT}/steps", json={"to": "exited"},
                       headers={"If-Match": notice.headers["etag"], "Accept-Language": "zh"})
    assert early.status_code == 400 and "公示期至" in early.json()["detail"]
    objected = cadre.post(f"{H1_EXIT}/steps", json={"to": "not_exited", "note": "有隐性收入"},
                          headers={"If-Match": notice.headers["etag"]})
    assert objected.json()["state"] == "not_exited"
    assert [e["to"] for e in objected.json()["events"]] == ["pre_exit", "in_notice",
                                                            "not_exited"]
    assert objected.json()["events"][-1]["note"] == "有隐性收入"


def test_without_a_plan_or_a_run_that_finds_it_not_poor_there_is_nothing_to_step(
        api_for: Clients) -> None:
    no_plan = api_for("village_cadre").get(PLAN)
    assert no_plan.status_code == 404
    assert no_plan.json()["type"] == "urn:tuopin:problem:not-found"
    answer = api_for("village_cadre").post(
        f"{H1_EXIT}/steps", json={"to": "pre_exit", "note": "纪要"},
        headers={"If-Match": '"0"', "Accept-Language": "zh"})
    assert answer.status_code == 400 and "仍为贫困" in answer.json()["detail"]
    assert api_for("village_cadre").post(f"{H1_EXIT}/steps", json={"to": "returned"},
                                         headers={"If-Match": '"0"'}).status_code == 400


def test_a_monitoring_case_is_stepped_and_a_rejection_needs_its_reason(
        api_for: Clients, server: FastAPI) -> None:
    staged = first_target(server, "shocked")
    cadre, url = api_for("village_cadre"), f"/monitoring/{staged['c']}"
    read = cadre.get(url, headers={"Accept-Language": "zh"})
    assert read.json()["shocks"][0]["kind"] == "illness"
    on = (TODAY_ - timedelta(days=10)).isoformat()
    assert read.json()["events"][0]["note"] == f"风险事件：{on}发生因病支出"  # tuopin's, in zh
    visited = cadre.post(f"{url}/steps", json={"to": "visited"},
                         headers={"If-Match": read.headers["etag"]})
    assert visited.status_code == 200 and visited.json()["state"] == "visited"
    assert [e["to"] for e in visited.json()["events"]][-1] == "visited"
    county = api_for("county_officer")
    refused = county.post(f"{url}/steps", json={"to": "rejected"},
                          headers={"If-Match": visited.headers["etag"], "Accept-Language": "en"})
    assert refused.status_code == 400 and "reason" in refused.json()["detail"]
    rejected = county.post(f"{url}/steps", json={"to": "rejected", "note": "收入达标"},
                           headers={"If-Match": visited.headers["etag"]})
    assert rejected.json()["state"] == "rejected" and rejected.json()["version"] > int(
        visited.json()["version"])


def test_a_plan_is_counted_for_the_household_file() -> None:
    found = {"plan": {"plan": 7, "status": "approved", "version": 3},
             "measures": [{"status": s} for s in ("planned", "in_progress", "done",
                                                  "verified", "verified", "cancelled")]}
    assert PlanSummary.model_validate(plan_summary(found)).model_dump() == {
        "plan": 7, "status": "approved", "version": 3, "measures": 6, "open": 2, "done": 1,
        "verified": 2, "cancelled": 1}
