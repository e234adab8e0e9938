"""对账销号: measures move through the ledger with evidence; refusals change nothing."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from factories import OPERATOR, households, operator, registry_files, surveys, user, write_csv
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied, StaleVersion
from tuopin.domain.ledger import RuleBroken
from tuopin.io.schema import REGISTRY_KINDS
from tuopin.services import audit
from tuopin.services.assessment import runs as assessments
from tuopin.services.imports.files import import_file
from tuopin.services.plans import evidence, ledger
from tuopin.services.plans import household_plans as plans
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
from tuopin.standards.loader import load
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import (
    AuditEventRecord,
    EvidenceRecord,
    HelperRecord,
    MeasureRecord,
    UserRecord,
    table_of,
)

PG_SERVER = os.environ.get("TUOPIN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SKIP_PG = os.environ.get("TUOPIN_TEST_SKIP_PG") == "1"
TODAY = date(2026, 11, 29)
AS_OF = date(2020, 1, 1)
NUMBER = str(households(1)[0]["number"])  # poor: income 1500 per head, a grade C house
OTHER = str(households(3)[1]["number"])  # another household 王 helps
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 64
PDF = b"%PDF-1.7\n" + b"\x02" * 64
# the plan drafted for NUMBER from run 1 (income; medical, as nobody's insurance is known,
# and the recorded cause, illness; housing), and a later run (2020: income met, house still C)
INCOME, HEALTH, HOUSING = 1, 2, 3
LATER_RUN = 2


def build(engine: Engine, folder: Path) -> None:
    files = registry_files(folder)
    files["helpers"] = write_csv(folder / "helpers.csv", [
        {"number": "H001", "name": "王帮扶", "unit": "县农业农村局",
         "households": ";".join(str(h["number"]) for h in households(3))},
        {"number": "H002", "name": "李核查", "unit": "县扶贫办", "households": None}])
    files["surveys"] = write_csv(folder / "surveys.csv", [
        *surveys([str(h["number"]) for h in households(3)], 2019),
        {**surveys([NUMBER], 2020)[0], "wage_income": 9000}])
    for kind in REGISTRY_KINDS:
        assert import_file(engine, principal=operator("t"), kind=kind,
                           path=files[kind.value], today=TODAY).ok
    with engine.begin() as conn:  # 王's login: he may not check his own measures off either
        helper = conn.scalar(select(HelperRecord.id).where(HelperRecord.number == "H001"))
        conn.execute(insert(table_of(UserRecord)).values(
            username="wang", display_name="王帮扶", password_hash="-", role="helper",
            helper_id=helper, created_at="2020-01-01T00:00:00Z"))
    for year in (2019, 2020):
        assessments.record(engine, assessments.compute(
            engine, principal=OPERATOR, standard=load("cn-national"), year=year,
            engine_name="db"), principal=operator("o"))
    with session_factory(engine)() as db, db.begin():
        report = plans.draft(db, principal=operator("drafter"), run_id=1, as_of=AS_OF,
                             household_number=NUMBER)
    assert [r["measures"] for r in report.drafted] == [3]


# The world is built once per backend and module and copied for every test (see test_plans).
@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    folder = tmp_path_factory.mktemp("ledger_world")
    shutil.copy(sqlite_template, folder / "world.db")
    engine = make_engine(f"sqlite:///{folder / 'world.db'}")
    build(engine, folder)
    engine.dispose()
    return folder / "world.db"


@pytest.fixture(scope="module")
def pg_world(pg_admin: Engine, pg_template: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"tuopin_ledger_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    engine = make_engine(f"{PG_SERVER}/{name}")
    build(engine, tmp_path_factory.mktemp("ledger_world_pg"))
    engine.dispose()
    yield name
    with pg_admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _copy_pg(request: pytest.FixtureRequest) -> Iterator[str]:
    if SKIP_PG:
        pytest.skip("TUOPIN_TEST_SKIP_PG=1")
    template, admin = request.getfixturevalue("pg_world"), request.getfixturevalue("pg_admin")
    name = f"tuopin_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_world"), tmp_path / "tuopin.db")
        yield f"sqlite:///{tmp_path / 'tuopin.db'}"
    else:
        yield from _copy_pg(request)


@pytest.fixture
def approved(engine: Engine) -> Engine:
    with session_factory(engine)() as db, db.begin():
        plans.approve(db, principal=operator("officer"),
                      plan_id=plans.current_plan(db, principal=OPERATOR, number=NUMBER),
                      as_of=AS_OF, expected_version=1)
    return engine


def do(engine: Engine, step: Callable[..., Any], measure: int, **options: Any) -> Any:
    options.setdefault("as_of", date(2020, 3, 1))
    with session_factory(engine)() as db, db.begin():
        return step(db, measure_id=measure,
                    principal=options.pop("principal", operator("cadre")), **options)


def attach(engine: Engine, measure: int, data: bytes, data_dir: Path, name: str = "a.png",
           max_bytes: int = 1000, **options: Any) -> dict[str, Any]:
    return do(engine, evidence.store, measure,  # type: ignore[no-any-return]
              file=EvidenceFile(name, data, None), store=EvidenceStore(data_dir, max_bytes),
              **options)


def evidence_of(engine: Engine, measure: int) -> int:
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(EvidenceRecord)
                         .where(EvidenceRecord.measure_id == measure)) or 0


def state(engine: Engine, measure: int) -> tuple[dict[str, Any], int]:
    """The measure's stored row and the number of audit events: a refusal changes neither."""
    with Session(engine) as db:
        row = db.execute(select(table_of(MeasureRecord)).where(
            table_of(MeasureRecord).c.id == measure)).one()
        return dict(row._mapping), db.scalar(select(func.count()).select_from(
            AuditEventRecord)) or 0


def refused(engine: Engine, measure: int, message: str, step: Callable[..., Any],
            **options: Any) -> None:
    before = state(engine, measure)
    with pytest.raises(RuleBroken, match=message):
        do(engine, step, measure, **options)
    assert state(engine, measure) == before


def done(engine: Engine, measure: int, data_dir: Path) -> None:
    attach(engine, measure, PNG, data_dir)
    do(engine, ledger.complete, measure, completed_on=date(2020, 2, 20))


def test_a_measure_goes_from_planned_to_verified_one_audit_event_a_step(
    approved: Engine, tmp_path: Path
) -> None:
    _, count = state(approved, INCOME)
    do(approved, ledger.start, INCOME)
    attach(approved, INCOME, JPEG, tmp_path)
    do(approved, ledger.complete, INCOME, completed_on=date(2020, 2, 20))
    record = do(approved, ledger.verify, INCOME, verifier="H002", as_of=date(2020, 3, 5))
    assert (record["status"], record["verifier"], record["verified_on"],
            record["completed_on"]) == ("verified", "H002", date(2020, 3, 5), date(2020, 2, 20))
    row, after = state(approved, INCOME)
    assert after == count + 4 and row["version"] == 4
    with Session(approved) as db:
        actions = [e["action"] for e in audit.history(db, principal=OPERATOR, entity="measure",
                                                      entity_id="1")]
        assert actions == ["start", "evidence", "complete", "verify"]
        assert audit.verify(db, principal=OPERATOR).ok


def test_completing_without_evidence_is_refused_and_changes_nothing(approved: Engine) -> None:
    refused(approved, INCOME, "has no evidence", ledger.complete,
            completed_on=date(2020, 2, 20))


@pytest.mark.parametrize("verifier", ["H001", "wang"])
def test_verifying_ones_own_measure_is_refused_and_changes_nothing(
    approved: Engine, tmp_path: Path, verifier: str
) -> None:
    done(approved, INCOME, tmp_path)
    refused(approved, INCOME, f"{verifier} is responsible for measure 1", ledger.verify,
            verifier=verifier)


def test_it_refuses_the_responsible_helper_checking_off_their_own_measure_at_the_web(
    approved: Engine, tmp_path: Path
) -> None:
    done(approved, INCOME, tmp_path)
    wang = user(Role.HELPER, username="wang", households=frozenset({NUMBER, OTHER}))
    refused(approved, INCOME, "wang is responsible for measure 1", ledger.verify,
            principal=wang)


def test_it_records_the_web_users_own_name_as_verifier_whatever_verifier_they_pass(
    approved: Engine, tmp_path: Path
) -> None:
    done(approved, INCOME, tmp_path)
    li = user(Role.VERIFIER, username="li")
    record = do(approved, ledger.verify, INCOME, principal=li, verifier="H001",
                as_of=date(2020, 3, 5))
    assert (record["status"], record["verifier"], record["verified_on"]) == (
        "verified", "li", date(2020, 3, 5))
    with Session(approved) as db:
        (*_, event) = audit.history(db, principal=OPERATOR, entity="measure", entity_id="1")
        assert (event["action"], event["actor"]) == ("verify", "web:li")


def test_it_refuses_an_operator_verifying_without_naming_the_verifier(
    approved: Engine, tmp_path: Path
) -> None:
    done(approved, INCOME, tmp_path)
    refused(approved, INCOME, "Name the verifier who checks measure 1 off", ledger.verify)
    refused(approved, INCOME, "Name the verifier who checks measure 1 off", ledger.verify,
            verifier="  ")


def test_verifying_a_measure_not_done_is_refused_and_changes_nothing(approved: Engine) -> None:
    refused(approved, INCOME, "is planned: it cannot be moved to verified", ledger.verify,
            verifier="H002")


def test_cancelling_without_a_reason_is_refused_and_changes_nothing(approved: Engine) -> None:
    refused(approved, INCOME, "Give the reason for cancelling", ledger.cancel, reason="")
    assert do(approved, ledger.cancel, INCOME, reason="moved to town")["status"] == "cancelled"


def test_a_measure_of_a_draft_plan_is_not_carried_out(engine: Engine, tmp_path: Path) -> None:
    refused(engine, INCOME, "not approved yet", ledger.start)
    with pytest.raises(RuleBroken, match="not approved yet"):
        attach(engine, INCOME, PNG, tmp_path)
    assert not (tmp_path / "evidence").exists()


def test_a_delay_reason_and_follow_up_are_recorded(approved: Engine) -> None:
    refused(approved, HEALTH, "Give the reason measure 2 is late", ledger.record_delay,
            reason=" ", follow_up=None, expected_version=1)
    _, count = state(approved, HEALTH)
    record = do(approved, ledger.record_delay, HEALTH, reason="clinic closed",
                follow_up="约谈帮扶责任人", expected_version=1)
    assert (record["delay_reason"], record["follow_up"], record["version"]) == (
        "clinic closed", "约谈帮扶责任人", 2)
    assert state(approved, HEALTH)[1] == count + 1


def test_a_step_on_a_stale_version_is_refused_with_the_current_values(approved: Engine) -> None:
    do(approved, ledger.start, INCOME, expected_version=1)
    with pytest.raises(StaleVersion, match="version 2, you edited version 1") as caught:
        do(approved, ledger.cancel, INCOME, reason="x", expected_version=1)
    assert caught.value.current["status"] == "in_progress"


def test_a_measure_outside_the_scope_is_not_found(approved: Engine) -> None:
    with pytest.raises(NotFound):
        do(approved, ledger.start, INCOME, principal=operator("cadre", "621121002001"))


def test_it_refuses_a_completion_dated_before_the_plans_approval_and_changes_nothing(
    approved: Engine, tmp_path: Path
) -> None:
    attach(approved, INCOME, PNG, tmp_path)
    refused(approved, INCOME, r"2019-12-31 is before the plan was approved \(2020-01-01\)",
            ledger.complete, completed_on=date(2019, 12, 31))
    done_on_approval = do(approved, ledger.complete, INCOME, completed_on=AS_OF)
    assert (done_on_approval["status"], done_on_approval["completed_on"]) == ("done", AS_OF)


def test_it_refuses_a_completion_dated_after_the_as_of_date(approved: Engine,
                                                            tmp_path: Path) -> None:
    attach(approved, INCOME, PNG, tmp_path)
    refused(approved, INCOME, "2020-03-02 is later than 2020-03-01", ledger.complete,
            completed_on=date(2020, 3, 2))


def test_it_completes_a_measure_with_the_files_handed_in_attached_first(
    approved: Engine, tmp_path: Path
) -> None:
    _, count = state(approved, INCOME)
    record = do(approved, ledger.complete, INCOME, completed_on=date(2020, 2, 20),
                files=[EvidenceFile("photo.jpg", JPEG, "image/jpeg"),
                       EvidenceFile("scan.pdf", PDF, None)],
                store=EvidenceStore(tmp_path, 1000))
    assert (record["status"], record["completed_on"], record["version"]) == (
        "done", date(2020, 2, 20), 2)
    assert evidence_of(approved, INCOME) == 2
    assert {p.suffix for p in (tmp_path / "evidence").rglob("*") if p.is_file()} == {
        ".jpg", ".pdf"}
    assert state(approved, INCOME)[1] == count + 3
    with Session(approved) as db:
        actions = [e["action"] for e in audit.history(db, principal=OPERATOR, entity="measure",
                                                      entity_id=str(INCOME))]
        assert actions == ["evidence", "evidence", "complete"]


def test_it_counts_evidence_attached_earlier_towards_a_completion_with_files(
    approved: Engine, tmp_path: Path
) -> None:
    attach(approved, INCOME, PNG, tmp_path)
    record = do(approved, ledger.complete, INCOME, completed_on=date(2020, 2, 20), files=[],
                store=EvidenceStore(tmp_path, 1000))
    assert record["status"] == "done" and evidence_of(approved, INCOME) == 1


def test_it_keeps_no_evidence_row_of_a_refused_completion_with_files(
    approved: Engine, tmp_path: Path
) -> None:
    refused(approved, INCOME, "before the plan was approved", ledger.complete,
            completed_on=date(2019, 6, 1), files=[EvidenceFile("photo.png", PNG)],
            store=EvidenceStore(tmp_path, 1000))
    assert evidence_of(approved, INCOME) == 0


def test_it_hides_a_measure_of_a_household_a_helper_does_not_help(approved: Engine,
                                                                   tmp_path: Path) -> None:
    stranger = user(Role.HELPER, username="zhao", households=frozenset({OTHER}))
    before = state(approved, INCOME)
    with pytest.raises(NotFound):
        do(approved, ledger.start, INCOME, principal=stranger)
    with pytest.raises(NotFound):
        attach(approved, INCOME, PNG, tmp_path, principal=stranger)
    assert state(approved, INCOME) == before and not (tmp_path / "evidence").exists()
    mine = user(Role.HELPER, username="wang", households=frozenset({NUMBER, OTHER}))
    assert do(approved, ledger.start, INCOME, principal=mine)["status"] == "in_progress"


@pytest.mark.parametrize("role", [Role.VERIFIER, Role.AUDITOR])
def test_it_refuses_a_role_that_may_not_move_measures_before_anything_runs(
    approved: Engine, role: Role
) -> None:
    before = state(approved, INCOME)
    with pytest.raises(PermissionDenied):
        do(approved, ledger.start, INCOME, principal=user(role, username="li"))
    assert state(approved, INCOME) == before


# -- evidence --------------------------------------------------------------------------------


def test_evidence_is_stored_once_by_its_hash(approved: Engine, tmp_path: Path) -> None:
    first = attach(approved, INCOME, PNG, tmp_path, name="photo.png")
    _, count = state(approved, INCOME)
    again = attach(approved, INCOME, PNG, tmp_path, name="same.png")
    other = attach(approved, HOUSING, PNG, tmp_path)
    assert again["evidence"] == first["evidence"] and other["evidence"] != first["evidence"]
    assert state(approved, INCOME)[1] == count + 1  # only the other measure's upload
    files = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert files == [evidence.path_of(tmp_path, first["sha256"], "image/png")]
    assert files[0].parent.name == first["sha256"][:2] and files[0].read_bytes() == PNG
    assert (first["by"], first["on"], first["size"]) == ("cadre", date(2020, 3, 1), len(PNG))


@pytest.mark.parametrize(("data", "name", "message"), [
    (PNG * 20, "big.png", "is 1440 bytes; the largest accepted is 1000 bytes"),
    (b"plain text, not a photo", "fake.jpg", "is not a JPEG, PNG, GIF or WebP image or a PDF"),
    (b"", "empty.png", "is empty"),
])
def test_a_file_too_large_or_of_the_wrong_type_is_refused(
    approved: Engine, tmp_path: Path, data: bytes, name: str, message: str
) -> None:
    before = state(approved, INCOME)
    with pytest.raises(RuleBroken, match=message):
        attach(approved, INCOME, data, tmp_path, name=name)
    assert state(approved, INCOME) == before and not (tmp_path / "evidence").exists()


@pytest.mark.parametrize(("data", "kind"), [
    (JPEG, "image/jpeg"), (PNG, "image/png"), (PDF, "application/pdf"),
    (b"GIF89a" + b"\x00" * 8, "image/gif"), (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"MZ\x90\x00", None), (b"<html>", None), (b"RIFF\x10\x00\x00\x00WAVE", None),
])
def test_photos_and_pdfs_are_known_by_their_first_bytes(data: bytes, kind: str | None) -> None:
    assert evidence.sniff(data) == kind


def test_the_stored_type_is_the_one_the_bytes_show_not_the_name(approved: Engine,
                                                                 tmp_path: Path) -> None:
    record = attach(approved, INCOME, PDF, tmp_path, name="scan.jpg")
    assert (record["type"], record["file"]) == ("application/pdf", "scan.jpg")
    assert evidence.path_of(tmp_path, record["sha256"], "application/pdf").suffix == ".pdf"


# -- re-measurement --------------------------------------------------------------------------


def test_a_later_run_confirms_a_met_indicator_and_flags_a_verified_failing_one(
    approved: Engine, tmp_path: Path
) -> None:
    done(approved, INCOME, tmp_path)  # income is met in 2020
    done(approved, HOUSING, tmp_path)  # the house is still grade C in 2020
    do(approved, ledger.verify, HOUSING, verifier="H002")
    _, count = state(approved, INCOME)
    with session_factory(approved)() as db, db.begin():
        changes = ledger.remeasure(db, principal=operator("officer"), run_id=LATER_RUN)
    assert [(c["measure"], c["remeasure"]) for c in changes] == [(INCOME, "confirmed"),
                                                                  (HOUSING, "review")]
    rows = {m: state(approved, m)[0] for m in (INCOME, HOUSING, HEALTH)}
    assert [(r["remeasure"], r["remeasure_run_id"]) for r in rows.values()] == [
        ("confirmed", LATER_RUN), ("review", LATER_RUN), (None, None)]
    assert state(approved, INCOME)[1] == count + 2
    with session_factory(approved)() as db, db.begin():  # once judged, the same run is quiet
        assert ledger.remeasure(db, principal=operator("officer"), run_id=LATER_RUN) == []
        # the run the plan was drafted from never judges its own measures
        assert ledger.remeasure(db, principal=operator("officer"), run_id=1) == []


# -- concurrency -----------------------------------------------------------------------------


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    copies = _copy_pg(request)
    engine = make_engine(next(copies))
    yield engine
    engine.dispose()
    next(copies, None)  # drops the copy


@pytest.mark.postgres
def test_two_connections_saving_the_same_measure_never_lose_an_update(pg_engine: Engine) -> None:
    engine = pg_engine
    first, second = session_factory(engine)(), session_factory(engine)()
    try:
        second.begin()
        seen = second.get(MeasureRecord, HEALTH)  # loaded at version 1
        assert seen is not None and seen.version == 1
        with first.begin():
            ledger.record_delay(first, principal=operator("a"), measure_id=HEALTH,
                                reason="first", follow_up=None, as_of=AS_OF,
                                expected_version=1)
        with pytest.raises(StaleVersion) as caught:
            ledger.record_delay(second, principal=operator("b"), measure_id=HEALTH,
                                reason="second", follow_up=None, as_of=AS_OF,
                                expected_version=1)
        assert caught.value.current["delay_reason"] == "first"
        second.rollback()
    finally:
        first.close()
        second.close()
    row, _ = state(engine, HEALTH)
    assert (row["delay_reason"], row["version"]) == ("first", 2)
