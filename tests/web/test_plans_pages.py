"""The household page's plan panel and a measure's steps: start, done with evidence, verify,
cancel, delay; uploads refused by size and type; stale versions; the exit and monitoring
panels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select

from factories import operator
from tuopin.domain.enums import MeasureStatus
from tuopin.i18n import gettext, translate
from tuopin.services.plans import evidence
from tuopin.services.plans import household_plans as plans
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import EvidenceRecord, MeasureRecord
from tuopin.web.app import create_app
from web.personas import CHEAP, MINE, TODAY_, csrf_of, settings_for

Clients = Callable[[str | None], TestClient]
H1, H3 = MINE[0], MINE[2]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MAX_BYTES = 2000


def approve_plans(url: str) -> None:
    """A plan for every poor household of the run, approved (as `tuopin plans` would)."""
    engine = make_engine(url)
    with session_factory(engine)() as db, db.begin():
        plans.draft(db, principal=operator("t"), run_id=1, as_of=TODAY_)
        plans.approve_all(db, principal=operator("t"), as_of=TODAY_)
    engine.dispose()


@pytest.fixture
def app(web_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    """The web app over a registry whose poor households have approved plans."""
    approve_plans(web_url)
    settings = settings_for(web_url, data_dir=tmp_path / "data", evidence_max_bytes=MAX_BYTES)
    app = create_app(settings, hasher=CHEAP, today=lambda: TODAY_)
    with TestClient(app):
        yield app


def measures(app: FastAPI, number: str = H1) -> list[MeasureRecord]:
    with app.state.web.sessions() as db:
        shown = plans.show(db, principal=operator("t"), number=number)
        return [db.get(MeasureRecord, m["id"]) for m in shown["measures"]]  # type: ignore[misc]


def first(app: FastAPI, number: str = H1) -> MeasureRecord:
    return measures(app, number)[0]


def post(client: TestClient, step: str, measure: MeasureRecord, number: str = H1,
         files: dict[str, tuple[str, bytes, str]] | None = None, **form: str) -> Response:
    data = {"version": str(measure.version), "csrf_token": csrf_of(client, "/"), **form}
    return client.post(f"/households/{number}/measures/{measure.id}/{step}", data=data,
                       files=files)


def status_of(app: FastAPI, measure_id: int) -> str:
    with app.state.web.sessions() as db:
        return db.get(MeasureRecord, measure_id).status  # type: ignore[union-attr]


def test_the_plan_panel_lists_the_measures_with_their_helper_and_status(
        client_for: Clients, app: FastAPI) -> None:
    html = client_for("village_cadre").get(f"/households/{H1}/plan",
                                           headers={"HX-Request": "true"}).text
    assert "<html" not in html
    for m in measures(app):
        assert f'id="measure-{m.id}"' in html
    assert "王帮扶" in html and gettext("planned", "zh") in html
    assert f"/households/{H1}/measures/" in html  # a cadre may act


def test_a_read_only_role_sees_the_plan_without_forms(client_for: Clients) -> None:
    html = client_for("auditor").get(f"/households/{H1}/plan").text
    assert 'id="measures"' in html and "/measures/" not in html


def test_the_household_page_loads_its_panels(client_for: Clients) -> None:
    html = client_for("village_cadre").get(f"/households/{H1}").text
    for panel in ("plan", "exit", "monitoring"):
        assert f'hx-get="/households/{H1}/{panel}"' in html


def test_a_measure_is_started_then_done_with_evidence_then_verified(
        client_for: Clients, app: FastAPI, tmp_path: Path) -> None:
    helper, cadre = client_for("helper"), client_for("village_cadre")
    m = first(app)
    assert post(helper, "start", m).status_code == 303
    m = first(app)
    answer = post(helper, "complete", m, files={"evidence_file": ("photo.png", PNG, "image/png")},
                  completed_on=TODAY_.isoformat())
    assert answer.status_code == 303 and answer.headers["location"] == f"/households/{H1}#plan"
    assert status_of(app, m.id) == MeasureStatus.DONE.value
    stored = list((tmp_path / "data" / "evidence").rglob("*.png"))
    assert len(stored) == 1 and stored[0].read_bytes() == PNG
    assert post(cadre, "verify", first(app)).status_code == 303
    done = first(app)
    assert (done.status, done.verifier) == (MeasureStatus.VERIFIED.value, "village-cadre")


def test_the_responsible_helper_cannot_verify_their_own_measure(
        client_for: Clients, app: FastAPI) -> None:
    helper = client_for("helper")
    m = first(app)
    post(helper, "complete", m, files={"evidence_file": ("p.png", PNG, "image/png")})
    answer = post(helper, "verify", first(app))
    assert answer.status_code == 400
    refusal = translate("{verifier} is responsible for measure {measure} and cannot verify "
                        "it: another person must check it off.", "zh", verifier="helper",
                        measure=m.id)
    assert 'id="plan-error"' in answer.text and refusal in answer.text
    assert status_of(app, m.id) == MeasureStatus.DONE.value


@pytest.mark.parametrize(("name", "data", "kind"), [
    ("big.png", PNG + b"\x00" * MAX_BYTES, "image/png"),  # too large
    ("notes.txt", b"just some text", "text/plain"),  # not an image or PDF
    ("fake.png", b"<html>not a png</html>", "image/png"),  # the bytes decide, not the name
    ("empty.pdf", b"", "application/pdf"),
])
def test_an_unacceptable_upload_is_refused_and_nothing_is_stored(
        client_for: Clients, app: FastAPI, tmp_path: Path, name: str, data: bytes,
        kind: str) -> None:
    m = first(app)
    answer = post(client_for("village_cadre"), "complete", m,
                  files={"evidence_file": (name, data, kind)})
    assert answer.status_code == 400 and 'id="plan-error"' in answer.text
    assert status_of(app, m.id) == MeasureStatus.PLANNED.value
    with app.state.web.sessions() as db:
        assert db.scalars(select(EvidenceRecord)).all() == []


def test_done_without_a_file_is_refused(client_for: Clients, app: FastAPI) -> None:
    m = first(app)
    answer = post(client_for("village_cadre"), "complete", m)
    assert answer.status_code == 400 and 'id="plan-error"' in answer.text
    assert translate("Measure {measure} has no evidence: attach at least one photo or PDF "
                     "before marking it done.", "zh", measure=m.id) in answer.text
    assert status_of(app, m.id) == MeasureStatus.PLANNED.value


def test_done_without_a_file_counts_the_evidence_attached_earlier(
        client_for: Clients, app: FastAPI, tmp_path: Path) -> None:
    m = first(app)
    with app.state.web.sessions() as db, db.begin():
        evidence.store(db, principal=operator("t"), measure_id=m.id, as_of=TODAY_,
                       file=EvidenceFile("photo.png", PNG, "image/png"),
                       store=EvidenceStore(tmp_path / "data", MAX_BYTES))
    answer = post(client_for("village_cadre"), "complete", first(app),
                  completed_on=TODAY_.isoformat())
    assert answer.status_code == 303
    assert status_of(app, m.id) == MeasureStatus.DONE.value
    with app.state.web.sessions() as db:
        assert len(db.scalars(select(EvidenceRecord)).all()) == 1  # nothing attached twice


def test_a_failed_step_after_an_upload_keeps_nothing(client_for: Clients,
                                                      app: FastAPI) -> None:
    m = first(app)
    answer = post(client_for("village_cadre"), "complete", m,
                  files={"evidence_file": ("p.png", PNG, "image/png")},
                  completed_on="2030-01-01")  # later than today: refused after the upload
    assert answer.status_code == 400
    with app.state.web.sessions() as db:
        assert db.scalars(select(EvidenceRecord)).all() == []


def test_cancelling_needs_a_reason_and_records_it(client_for: Clients, app: FastAPI) -> None:
    cadre, m = client_for("village_cadre"), first(app)
    assert post(cadre, "cancel", m, reason="  ").status_code == 400
    assert post(cadre, "cancel", m, reason="已由其他项目覆盖").status_code == 303
    cancelled = first(app)
    assert (cancelled.status, cancelled.cancel_reason) == ("cancelled", "已由其他项目覆盖")


def test_a_delay_reason_is_recorded(client_for: Clients, app: FastAPI) -> None:
    cadre, m = client_for("village_cadre"), first(app)
    assert post(cadre, "delay", m, reason="材料未到", follow_up="下月补").status_code == 303
    late = first(app)
    assert (late.delay_reason, late.follow_up) == ("材料未到", "下月补")
    assert "材料未到" in cadre.get(f"/households/{H1}/plan").text


def test_a_stale_version_is_refused_and_says_what_is_saved_now(client_for: Clients,
                                                              app: FastAPI) -> None:
    cadre, officer = client_for("village_cadre"), client_for("county_officer")
    seen = first(app)
    assert post(officer, "start", seen).status_code == 303
    answer = post(cadre, "cancel", seen, reason="重复")  # made on the version it saw
    assert answer.status_code == 409
    assert gettext("in progress", "zh") in answer.text and 'id="plan-error"' in answer.text
    assert status_of(app, seen.id) == MeasureStatus.IN_PROGRESS.value


def test_a_measure_of_another_household_cannot_be_moved_through_this_one(
        client_for: Clients, app: FastAPI) -> None:
    other = first(app, MINE[1])
    answer = post(client_for("village_cadre"), "start", other, number=H1)
    assert answer.status_code == 404
    assert status_of(app, other.id) == MeasureStatus.PLANNED.value


@pytest.mark.parametrize("step", ["start", "complete", "verify", "cancel", "delay"])
def test_every_step_refuses_a_post_without_the_csrf_token(client_for: Clients, app: FastAPI,
                                                          step: str) -> None:
    m = first(app)
    answer = client_for("village_cadre").post(
        f"/households/{H1}/measures/{m.id}/{step}",
        data={"version": str(m.version), "reason": "x"},
        files={"evidence_file": ("p.png", PNG, "image/png")} if step == "complete" else None)
    assert answer.status_code == 403
    assert status_of(app, m.id) == MeasureStatus.PLANNED.value


def test_the_exit_and_monitoring_panels_show_no_case_yet(client_for: Clients) -> None:
    cadre = client_for("village_cadre")
    exit_html = cadre.get(f"/households/{H1}/exit", headers={"HX-Request": "true"}).text
    assert 'id="exit-panel"' in exit_html and gettext("not exited", "zh") in exit_html
    monitoring_html = cadre.get(f"/households/{H1}/monitoring").text
    assert 'id="monitoring-panel"' in monitoring_html and "<html" in monitoring_html


def test_a_body_far_over_the_upload_limit_is_refused_before_it_is_read(
        client_for: Clients, app: FastAPI) -> None:
    m = first(app)
    huge = PNG + b"\x00" * (MAX_BYTES + 200_000)
    answer = post(client_for("village_cadre"), "complete", m,
                  files={"evidence_file": ("huge.png", huge, "image/png")})
    assert answer.status_code == 413
    assert status_of(app, m.id) == MeasureStatus.PLANNED.value
