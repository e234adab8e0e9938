"""The one policy: every service function declares what it does, and every function that
changes data refuses a principal without the role, a principal outside the region, and a
helper reaching past their own households - before anything is written.

The table WRITES has a row for every public service function that changes data; a test
fails when a new one appears without its row (a new door must find the rules here).
"""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import tuopin.services
from factories import (
    COUNTY,
    OTHER_VILLAGE,
    REGIONS,
    VILLAGE,
    households,
    members,
    operator,
    surveys,
    user,
    write_csv,
)
from tuopin.domain.enums import (
    JobKind,
    MeasureStatus,
    MonitoringState,
    PlanStatus,
    Role,
    ShockKind,
)
from tuopin.domain.errors import NotFound, PermissionDenied
from tuopin.domain.scope import Scope
from tuopin.domain.verification import VerificationKind
from tuopin.io.odk import read_export
from tuopin.io.readers import read_file
from tuopin.io.schema import Kind
from tuopin.io.validate import validate_file
from tuopin.services import audit
from tuopin.services.access import accounts, demo_accounts, masking, tokens, users
from tuopin.services.access.policy import RULES, Action, policy_of
from tuopin.services.access.principal import Principal
from tuopin.services.assessment import runs
from tuopin.services.exchange import export as bulk_export
from tuopin.services.exits import household_exits as exits
from tuopin.services.funds import pages as fund_pages
from tuopin.services.imports import files, synthetic, uploads
from tuopin.services.imports import odk as odk_import
from tuopin.services.jobs import queue as job_queue
from tuopin.services.jobs import starts as job_starts
from tuopin.services.monitoring import cases as monitoring
from tuopin.services.monitoring import clearance
from tuopin.services.ops import backup, prune, restore
from tuopin.services.plans import evidence, household_plans, ledger, revisions
from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore
from tuopin.services.registry import exports as registry_exports
from tuopin.services.registry import households as household_edits
from tuopin.services.registry import registration
from tuopin.services.registry import surveys as survey_entry
from tuopin.services.verification import draws as verification_draws
from tuopin.services.verification import fieldlists as verification_lists
from tuopin.services.verification import findings as verification_findings
from tuopin.services.verification import plans as verification_plans
from tuopin.standards.loader import load
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory
from tuopin.storage.models import (
    ApiTokenRecord,
    AuditEventRecord,
    ImportUploadRecord,
    MeasureRecord,
    PlanRecord,
    UserRecord,
)
from tuopin.synth.config import SynthConfig

TODAY = date(2026, 11, 29)
OUTSIDE_COUNTY = "621122"
OUTSIDE_VILLAGE = "621122001001"
MINE = [f"{VILLAGE}{i:04d}" for i in (1, 2, 3)]
OTHERS = [f"{OTHER_VILLAGE}{i:04d}" for i in (1, 2)]
TARGET = MINE[0]  # the household every refused call aims at (poor, with a plan)
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def service_functions() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public function defined in a module of tuopin.services, by qualified name."""
    for info in pkgutil.walk_packages(tuopin.services.__path__, "tuopin.services."):
        module = importlib.import_module(info.name)
        for name, function in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if getattr(inspect.unwrap(function), "__module__", None) == module.__name__:
                yield f"{info.name.removeprefix('tuopin.services.')}.{name}", function


def takes_principal(function: Callable[..., Any]) -> bool:
    return "principal" in inspect.signature(inspect.unwrap(function)).parameters


# The policy's own machinery, and questions about the policy that read no data.
MACHINERY = {"access.policy.allows", "access.policy.require", "access.probes.check",
             "access.probes.record", "access.probes.uses_up",
             "access.probes.counts_as_id_search", "records.household", "records.member",
             "access.users.managed_scope", "access.users.may_manage", "access.users.roles_for",
             "imports.uploads.kinds_for", "verification.plans.plan_visible",
             "verification.plans.list_visible", "access.masking.for_principal",
             "records.region_filter"}


def test_every_service_function_given_a_principal_declares_what_it_does() -> None:
    undeclared = [name for name, function in service_functions()
                  if takes_principal(function) and policy_of(function) is None]
    assert sorted(set(undeclared) - MACHINERY) == []


def test_every_action_has_its_roles() -> None:
    assert set(RULES) == set(Action)


# -- the world every refused call aims at ---------------------------------------------------

@dataclass
class World:
    engine: Engine
    folder: Path
    run: int
    plan: int
    measure: int
    case: int
    member: int
    upload: str
    verification: dict[str, int]  # a verification plan in each state: planned, drawn...
    job: str  # a queued export, started by an operator looking at the county

    def session(self) -> Session:
        return session_factory(self.engine)()

    def events(self) -> int:
        """Audit events but the records of probes (which a refused probe must leave)."""
        with self.session() as db:
            return int(db.scalar(select(func.count(AuditEventRecord.id))
                                 .where(AuditEventRecord.action != "probe")) or 0)


def _files(folder: Path) -> dict[Kind, Path]:
    regions = [*REGIONS, {"code": OUTSIDE_COUNTY, "name": "陇西县"},
               {"code": "621122001", "name": "巩昌镇"},
               {"code": OUTSIDE_VILLAGE, "name": "北关村"}]
    homes = households(3, VILLAGE) + households(2, OTHER_VILLAGE) + households(1,
                                                                              OUTSIDE_VILLAGE)
    numbers = [str(h["number"]) for h in homes]
    helpers = [{"number": "H001", "name": "王帮扶", "unit": "县农业农村局",
                "households": ";".join(MINE[1:])}]
    return {
        Kind.REGIONS: write_csv(folder / "regions.csv", regions),
        Kind.HOUSEHOLDS: write_csv(folder / "households.csv", homes),
        Kind.MEMBERS: write_csv(folder / "members.csv", members(numbers)),
        Kind.SURVEYS: write_csv(folder / "surveys.csv", surveys(numbers)),
        Kind.HELPERS: write_csv(folder / "helpers.csv", helpers),
        # a fund and a project of the village, and one payment to TARGET's head
        Kind.FUNDS: write_csv(folder / "funds.csv", [
            {"number": "ZJ-1", "name": "资金", "source": "central", "year": 2019,
             "amount": "1000.00", "region_code": COUNTY, "received_on": "2019-03-01"}]),
        Kind.PROJECTS: write_csv(folder / "projects.csv", [
            {"number": "XM-1", "name": "项目", "region_code": VILLAGE, "kind": "industry",
             "budget": "1000.00", "start_on": "2019-04-01", "end_on": "2019-12-31",
             "status": "completed"}]),
        Kind.ALLOCATIONS: write_csv(folder / "allocations.csv", [
            {"fund": "ZJ-1", "project": "XM-1", "amount": "1000.00",
             "allocated_on": "2019-04-01"}]),
        Kind.DISBURSEMENTS: write_csv(folder / "disbursements.csv", [
            {"number": "D1", "project": "XM-1", "payee_household": TARGET, "amount": "300.00",
             "paid_on": "2019-06-01", "channel": "card", "account": "6217000011112222"}]),
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("policy")
    path = folder / "tuopin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    system = operator("t")
    for kind, file in _files(folder).items():
        assert files.import_file(engine, principal=system, kind=kind, path=file,
                                 today=TODAY).ok
    run = runs.record(engine, runs.compute(engine, principal=system,
                                           standard=load("cn-national"), year=2019,
                                           engine_name="db"), principal=system)
    with session_factory(engine)() as db, db.begin():
        home = registration.household(db, principal=system, number=TARGET)
        plan = PlanRecord(household_id=_household_id(db, TARGET), status=PlanStatus.APPROVED.value,
                          run_id=run, drafted_by="t", drafted_on=TODAY, approved_by="t",
                          approved_on=TODAY)
        plan.measures = [MeasureRecord(kind="housing", content="危房改造", due_date=TODAY,
                                       budget=1000, status=MeasureStatus.PLANNED.value)]
        db.add(plan)
        db.flush()
        shock = monitoring.record_shock(db, principal=system, number=MINE[1],
                                        kind=ShockKind.ILLNESS, occurred_on=TODAY,
                                        amount="100", description=None, as_of=TODAY,
                                        deadline_days=15)
        member = registration.member(db, principal=system, number=TARGET,
                                     member_id=_member_id(db, TARGET))
        users.add(db, principal=system, username="cadre-one", role=Role.VILLAGE_CADRE,
                  region_code=VILLAGE, password="a long enough password")
        tokens.create(db, principal=system, name="civil affairs", username="cadre-one")
        ids = {"run": run, "plan": plan.id, "measure": plan.measures[0].id,
               "case": shock["case"]["case"], "member": member["id"], "home": home,
               "verification": _verification_plans(db, system)}
    engine.dispose()
    return path, ids


def _verification_plans(db: Session, system: Principal) -> dict[str, int]:
    """A third-party verification plan of the county planned, drawn and released."""
    found = {}
    for state in ("planned", "drawn", "released"):
        plan = verification_plans.plan(db, principal=system, region=COUNTY, year=2019,
                                       kind=VerificationKind.THIRD_PARTY, seed=3, as_of=TODAY)
        if state != "planned":
            verification_draws.draw(db, principal=system, plan_id=plan["plan"], as_of=TODAY)
        if state == "released":
            verification_plans.release(db, principal=system, plan_id=plan["plan"],
                                       as_of=TODAY)
        found[state] = plan["plan"]
    return found


def _household_id(db: Session, number: str) -> int:
    from tuopin.storage.models import HouseholdRecord

    return int(db.scalar(select(HouseholdRecord.id).where(HouseholdRecord.number == number)))


def _member_id(db: Session, number: str) -> int:
    from tuopin.storage.models import HouseholdRecord, MemberRecord

    return int(db.scalar(select(MemberRecord.id).join(HouseholdRecord).where(
        HouseholdRecord.number == number).order_by(MemberRecord.id)))


@pytest.fixture
def world(template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[World]:
    path, ids = template
    copy = tmp_path / "tuopin.db"
    copy.write_bytes(path.read_bytes())
    engine = make_engine(f"sqlite:///{copy}")
    with session_factory(engine)() as db, db.begin():  # an upload of the cadre, to confirm
        db.add(ImportUploadRecord(id="u" * 32, user_id=db.scalar(select(UserRecord.id).where(
            UserRecord.username == "cadre-one")), actor="web:cadre-one", kind="households",
            filename="h.csv", sha256="0" * 64, size=1, state="checked", stage="", done=3,
            total=3, result="{}", created_at=0.0, updated_at=0.0, expires_at=9e12))
        job = job_queue.start(db, principal=operator("t", region=COUNTY), kind=JobKind.EXPORT,
                              args={"kind": "households"})
    yield World(engine, tmp_path, ids["run"], ids["plan"], ids["measure"], ids["case"],
                ids["member"], "u" * 32, ids["verification"], job)
    engine.dispose()


# -- one row per service function that changes data ----------------------------------------

Call = Callable[[Session, Principal, World], Any]


def _upload_task(world: World, principal: Principal) -> uploads.Task:
    return uploads.Task(session_factory(world.engine), principal, world.folder, TODAY)


def _validated(world: World) -> Any:
    path = write_csv(world.folder / "h.csv", households(1, VILLAGE))
    return validate_file(read_file(path), Kind.HOUSEHOLDS, today=TODAY)


def _households_file(world: World) -> Path:
    rows = households(3, VILLAGE)
    rows[0]["address"] = "changed"
    return write_csv(world.folder / "households.csv", rows)


def _odk_export(world: World) -> Path:
    """An ODK Central export with one submission: TARGET's 2020 survey and a new member."""
    from odk_exports import central_zip

    survey = {"household_number": TARGET, "year": "2020", "household_size": "3",
              "food_secure": "yes", "clothing_secure": "yes", "housing_grade": "B"}
    member = {"_parent": 0, "id_number": "621121201001010016", "name": "新人",
              "relation": "child"}
    return central_zip(world.folder / "odk.csv.zip", "tuopin_cn_national_2020", [survey],
                       {"members": [member]})


def _store(world: World) -> EvidenceStore:
    return EvidenceStore(world.folder, 1_000_000)


ABSENT = {"visited": "否", "not_visited_reason": "absent"}


def _findings_file(world: World) -> Path:
    return write_csv(world.folder / "findings.csv", [{"household_number": TARGET, **ABSENT}])


WRITES: dict[str, Call] = {
    "access.users.add": lambda db, p, w: users.add(
        db, principal=p, username="newbie", role=Role.HELPER, region_code=VILLAGE,
        password="a long enough password"),
    "access.users.disable": lambda db, p, w: users.disable(db, principal=p,
                                                           username="cadre-one"),
    "access.users.reset_password": lambda db, p, w: users.reset_password(
        db, principal=p, username="cadre-one"),
    "access.users.change": lambda db, p, w: users.change(
        db, principal=p, username="cadre-one", role=Role.VILLAGE_CADRE,
        region_code=OTHER_VILLAGE),
    "access.demo_accounts.create_demo": lambda db, p, w: demo_accounts.create_demo(
        db, principal=p, county=COUNTY),
    "access.masking.reveal": lambda db, p, w: masking.reveal(
        db, principal=p, number=TARGET, field="id_number", member_id=w.member),
    "access.masking.reveal_history": lambda db, p, w: masking.reveal_history(
        db, principal=p, number=TARGET),
    "funds.pages.reveal_payment": lambda db, p, w: fund_pages.reveal_payment(
        db, principal=p, number="D1", field="account"),
    "registry.households.edit_household": lambda db, p, w: household_edits.edit_household(
        db, principal=p, number=TARGET, expected_version=1, changes={"address": "x"},
        today=TODAY),
    "registry.registration.register_household": lambda db, p, w:
        registration.register_household(
            db, principal=p, household={"village_code": VILLAGE},
            members=[{"name": "新人", "id_number": "621121198001010011", "relation": "head"}],
            today=TODAY),
    "registry.registration.add_member": lambda db, p, w: registration.add_member(
        db, principal=p, number=TARGET, values={"name": "新人", "relation": "child",
                                                  "id_number": "621121201001010016"},
        today=TODAY),
    "registry.registration.edit_member": lambda db, p, w: registration.edit_member(
        db, principal=p, number=TARGET, member_id=w.member, expected_version=1,
        changes={"name": "改名"}, today=TODAY),
    "registry.surveys.enter_survey": lambda db, p, w: survey_entry.enter_survey(
        db, principal=p, number=TARGET, year=2020, values={"household_size": "2"},
        seen=None, today=TODAY),
    "registry.surveys.enter_survey_tagged": lambda db, p, w: survey_entry.enter_survey_tagged(
        db, principal=p, number=TARGET, year=2020, values={"household_size": "2"},
        tag=survey_entry.NEW, today=TODAY),
    "access.accounts.change_tagged": lambda db, p, w: accounts.change_tagged(
        db, principal=p, username="cadre-one",
        tag=accounts.account(db, principal=operator("t"), username="cadre-one")["tag"],
        changes={"region_code": OTHER_VILLAGE}),
    "access.accounts.disable_tagged": lambda db, p, w: accounts.disable_tagged(
        db, principal=p, username="cadre-one",
        tag=accounts.account(db, principal=operator("t"), username="cadre-one")["tag"]),
    "access.tokens.create": lambda db, p, w: tokens.create(
        db, principal=p, name="payments", username="cadre-one"),
    "access.tokens.revoke": lambda db, p, w: tokens.revoke(
        db, principal=p, token_id=db.scalar(select(ApiTokenRecord.id))),
    "imports.files.import_file": lambda db, p, w: files.import_file(
        w.engine, principal=p, kind=Kind.HOUSEHOLDS, path=_households_file(w), today=TODAY),
    "imports.files.import_raw": lambda db, p, w: files.import_raw(
        w.engine, principal=p, kind=Kind.HOUSEHOLDS, raw=read_file(_households_file(w)),
        today=TODAY),
    "imports.files.import_validated": lambda db, p, w: files.import_validated(
        db, principal=p, kind=Kind.HOUSEHOLDS, validated=_validated(w),
        source=files.Source("h.csv", "0" * 64, 1)),
    "imports.odk.import_odk": lambda db, p, w: odk_import.import_odk(
        w.engine, principal=p, path=_odk_export(w), today=TODAY),
    "imports.odk.import_export": lambda db, p, w: odk_import.import_export(
        db, principal=p, export=read_export(_odk_export(w)), today=TODAY),
    "imports.synthetic.load_synthetic": lambda db, p, w: synthetic.load_synthetic(
        w.engine, principal=p, config=SynthConfig(households=2, seed=1), today=TODAY),
    "imports.uploads.receive": lambda db, p, w: uploads.receive(
        db, principal=p, kind=Kind.HOUSEHOLDS, filename="h.csv",
        stream=io.BytesIO(b"number\n1\n"), data_dir=w.folder, limits=uploads.UploadLimits()),
    "imports.uploads.confirm": lambda db, p, w: uploads.confirm(
        db, principal=p, upload_id=w.upload, skip_invalid=False),
    "imports.uploads.cancel": lambda db, p, w: uploads.cancel(
        db, principal=p, upload_id=w.upload, data_dir=w.folder),
    "imports.uploads.run_check": lambda db, p, w: uploads.run_check(
        principal=p, task=_upload_task(w, p), upload_id=w.upload),
    "imports.uploads.run_import": lambda db, p, w: uploads.run_import(
        principal=p, task=_upload_task(w, p), upload_id=w.upload),
    "assessment.runs.record": lambda db, p, w: runs.record(
        w.engine, runs.compute(w.engine, principal=operator(), standard=load("cn-national"),
                               year=2019, engine_name="db"), principal=p),
    "plans.household_plans.draft": lambda db, p, w: household_plans.draft(
        db, principal=p, run_id=w.run, as_of=TODAY, household_number=TARGET),
    "plans.household_plans.approve": lambda db, p, w: household_plans.approve(
        db, principal=p, plan_id=w.plan, as_of=TODAY, expected_version=None),
    "plans.household_plans.approve_all": lambda db, p, w: household_plans.approve_all(
        db, principal=p, as_of=TODAY),
    "plans.revisions.revise_measure": lambda db, p, w: revisions.revise_measure(
        db, principal=p, measure_id=w.measure, changes={"content": "改"}, reason="因为",
        as_of=TODAY, expected_version=None),
    "plans.revisions.add_measure": lambda db, p, w: revisions.add_measure(
        db, principal=p, plan_id=w.plan, fields={"kind": "education"}, reason="因为",
        as_of=TODAY, expected_version=None),
    "plans.ledger.start": lambda db, p, w: ledger.start(
        db, principal=p, measure_id=w.measure, as_of=TODAY),
    "plans.ledger.complete": lambda db, p, w: ledger.complete(
        db, principal=p, measure_id=w.measure, completed_on=TODAY, as_of=TODAY,
        files=[EvidenceFile("a.png", PNG, "image/png")], store=_store(w)),
    "plans.ledger.verify": lambda db, p, w: ledger.verify(
        db, principal=p, measure_id=w.measure, as_of=TODAY, verifier="someone"),
    "plans.ledger.cancel": lambda db, p, w: ledger.cancel(
        db, principal=p, measure_id=w.measure, reason="不需要", as_of=TODAY),
    "plans.ledger.record_delay": lambda db, p, w: ledger.record_delay(
        db, principal=p, measure_id=w.measure, reason="雨", follow_up=None, as_of=TODAY,
        expected_version=None),
    "plans.ledger.remeasure": lambda db, p, w: ledger.remeasure(db, principal=p, run_id=w.run),
    "plans.evidence.store": lambda db, p, w: evidence.store(
        db, principal=p, measure_id=w.measure, file=EvidenceFile("a.png", PNG, "image/png"),
        as_of=TODAY, store=_store(w)),
    "exits.household_exits.propose": lambda db, p, w: exits.propose(
        db, principal=p, number=TARGET, run_id=w.run, minutes="会议纪要", as_of=TODAY,
        allow_identification_year=True),
    "exits.household_exits.start_notice": lambda db, p, w: exits.start_notice(
        db, principal=p, number=TARGET, start=TODAY, as_of=TODAY, notice_days=7),
    "exits.household_exits.announce": lambda db, p, w: exits.announce(
        db, principal=p, number=TARGET, as_of=TODAY, allow_identification_year=True),
    "exits.household_exits.record_objection": lambda db, p, w: exits.record_objection(
        db, principal=p, number=TARGET, reason="不同意", as_of=TODAY),
    "exits.household_exits.mark_returns": lambda db, p, w: exits.mark_returns(
        db, principal=p, run_id=w.run, as_of=TODAY),
    "monitoring.cases.scan": lambda db, p, w: monitoring.scan(
        db, principal=p, run_id=w.run, as_of=TODAY, deadline_days=15,
        standard="cn-national"),
    "monitoring.cases.record_shock": lambda db, p, w: monitoring.record_shock(
        db, principal=p, number=TARGET, kind=ShockKind.ILLNESS, occurred_on=TODAY,
        amount=None, description=None, as_of=TODAY, deadline_days=15),
    "monitoring.cases.advance": lambda db, p, w: monitoring.advance(
        db, principal=p, case_id=w.case, to=MonitoringState.VISITED, on=TODAY, as_of=TODAY,
        note=None, notice_days=5),
    "monitoring.clearance.clear": lambda db, p, w: clearance.clear(
        db, principal=p, case_id=w.case, as_of=TODAY),
    # independent verification
    "verification.plans.plan": lambda db, p, w: verification_plans.plan(
        db, principal=p, region=COUNTY, year=2019, kind=VerificationKind.SPOT_CHECK, seed=1,
        as_of=TODAY),
    "verification.draws.draw": lambda db, p, w: verification_draws.draw(
        db, principal=p, plan_id=w.verification["planned"], as_of=TODAY),
    "verification.plans.release": lambda db, p, w: verification_plans.release(
        db, principal=p, plan_id=w.verification["drawn"], as_of=TODAY),
    "verification.plans.close": lambda db, p, w: verification_plans.close(
        db, principal=p, plan_id=w.verification["released"], as_of=TODAY),
    "verification.findings.record_finding": lambda db, p, w:
        verification_findings.record_finding(
            db, principal=p, plan_id=w.verification["released"], number=TARGET,
            values=ABSENT, today=TODAY),
    "verification.findings.import_findings": lambda db, p, w:
        verification_findings.import_findings(
            db, principal=p, plan_id=w.verification["released"], path=_findings_file(w),
            today=TODAY),
    # the field lists name the sampled households: taking them is audited as an export
    "verification.fieldlists.field_lists": lambda db, p, w: verification_lists.field_lists(
        db, principal=p, plan_id=w.verification["released"], lang="zh"),
    "ops.backup.create": lambda db, p, w: backup.create(
        w.engine, principal=p, data_dir=w.folder, out=w.folder / "backup"),
    "ops.restore.restore": lambda db, p, w: restore.restore(
        principal=p, source=w.folder / "backup", url=f"sqlite:///{w.folder / 'restored.db'}",
        data_dir=w.folder / "restored"),
    "ops.prune.prune": lambda db, p, w: prune.prune(
        db, principal=p, data_dir=w.folder, now=1_800_000_000.0),
    "jobs.queue.start": lambda db, p, w: job_queue.start(
        db, principal=p, kind=JobKind.EXPORT, args={"kind": "households"}),
    "jobs.queue.cancel": lambda db, p, w: job_queue.cancel(db, principal=p, job_id=w.job),
    "jobs.starts.start_assessment": lambda db, p, w: job_starts.start_assessment(
        db, principal=p, standard="cn-national", year=2019),
    "jobs.starts.start_export": lambda db, p, w: job_starts.start_export(
        db, principal=p, kind="households"),
    "jobs.starts.start_funds_check": lambda db, p, w: job_starts.start_funds_check(
        db, principal=p, as_of=TODAY, today=TODAY),
    # an export writes its audit event: who took which file
    "exchange.export.open_export": lambda db, p, w: bulk_export.open_export(
        db, principal=p, kind=bulk_export.ExportKind.MEMBERS, fmt=bulk_export.ExportFormat.CSV),
    "registry.exports.export_table": lambda db, p, w: registry_exports.export_table(
        db, principal=p, kind=Kind.MEMBERS),
}
# the action each row's call performs (a monitoring step: the step to VISITED)
ACTIONS = {name: action for name, function in service_functions()
           if (declared := policy_of(function)) and (action := declared[0]) and declared[1]}
STEP = {"monitoring.cases.advance": Action.MONITOR_APPLY,
        "imports.files.import_file": Action.IMPORT, "imports.files.import_raw": Action.IMPORT,
        "imports.files.import_validated": Action.IMPORT, "imports.uploads.receive": Action.IMPORT,
        "jobs.queue.start": Action.EXPORT}
ORDER = (Role.AUDITOR, Role.VERIFIER, Role.HELPER, Role.VILLAGE_CADRE, Role.TOWNSHIP_OFFICER,
         Role.COUNTY_OFFICER, Role.ADMIN)


def action_of(name: str) -> Action:
    found = STEP.get(name, ACTIONS[name])
    assert isinstance(found, Action), f"{name}: give its action in STEP"
    return found


def test_the_table_has_a_row_for_every_service_function_that_changes_data() -> None:
    writes = {name for name, function in service_functions()
              if (declared := policy_of(function)) is not None and declared[1]}
    assert writes == set(WRITES)


def _refused(world: World, name: str, principal: Principal,
             expected: tuple[type[Exception], ...]) -> None:
    before = world.events()
    with world.session() as db:
        db.begin()
        try:
            with pytest.raises(expected):
                WRITES[name](db, principal, world)
        finally:
            db.rollback()
    assert world.events() == before, "a refused call wrote to the audit trail"


def _without(action: Action) -> Role | None:
    return next((r for r in ORDER if r not in RULES[action]), None)


def _with(action: Action) -> Role:
    allowed = [r for r in ORDER if r in RULES[action] and r is not Role.ADMIN]
    return allowed[-1] if allowed else Role.ADMIN


def _region_of(role: Role, inside: bool) -> str | None:
    if role is Role.ADMIN:
        return None
    county = COUNTY if inside else OUTSIDE_COUNTY
    return {Role.TOWNSHIP_OFFICER: f"{county}001", Role.VILLAGE_CADRE: f"{county}001001"}.get(
        role, county)


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_principal_without_the_role_is_refused(world: World, name: str) -> None:
    role = _without(action_of(name))
    if role is None:
        pytest.skip(f"every role may {action_of(name).value}")
    _refused(world, name, user(role, _region_of(role, True)), (PermissionDenied,))


# what a principal of the right role but another county gets: nothing of the county exists
# for them (NotFound), or - where the call names no record of it - refusal by region
OUTSIDE_REFUSED: dict[str, tuple[type[Exception], ...]] = {
    "access.users.add": (PermissionDenied,), "access.users.disable": (NotFound,),
    "access.users.reset_password": (NotFound,), "access.users.change": (NotFound,),
    "access.demo_accounts.create_demo": (PermissionDenied,),
    "registry.registration.register_household": (PermissionDenied,),
    # another's account outside one's county is not found (a token is one's own or a
    # managed account's)
    "access.tokens.create": (NotFound,), "access.tokens.revoke": (NotFound,),
}
# calls that do not name one record: outside the region they find nothing to change, and
# write nothing (or only refused rows, for an import)
FIND_NOTHING = {"plans.household_plans.approve_all", "plans.ledger.remeasure",
                "exits.household_exits.mark_returns", "monitoring.cases.scan",
                "plans.household_plans.draft", "imports.files.import_file",
                "imports.files.import_raw", "imports.files.import_validated",
                "imports.odk.import_odk", "imports.odk.import_export"}
# not about the registry's regions: the operator's, or the uploader's own
NOT_REGIONAL = {"imports.synthetic.load_synthetic", "assessment.runs.record",
                "imports.uploads.receive", "imports.uploads.confirm", "imports.uploads.cancel",
                "imports.uploads.run_check", "imports.uploads.run_import",
                # a job works in its starter's own region (and is theirs)
                "jobs.queue.start", "jobs.starts.start_assessment", "jobs.starts.start_export",
                "jobs.starts.start_funds_check",
                # an export holds the exporter's own region; its event is theirs
                "exchange.export.open_export", "registry.exports.export_table",
                # the server's files and database as a whole: an administrator's
                "ops.prune.prune", "ops.backup.create", "ops.restore.restore"}


@pytest.mark.parametrize("name", sorted(set(WRITES) - NOT_REGIONAL))
def test_a_principal_outside_the_region_changes_nothing_there(world: World, name: str) -> None:
    role = _with(action_of(name))
    if role is Role.ADMIN:
        pytest.skip("only an administrator may: an administrator has no region")
    outsider = user(role, _region_of(role, False), username="outsider")
    if name in FIND_NOTHING:
        _finds_nothing(world, name, outsider)
        return
    _refused(world, name, outsider, OUTSIDE_REFUSED.get(name, (NotFound,)))


def _finds_nothing(world: World, name: str, principal: Principal) -> None:
    before = world.events()
    with world.session() as db:
        db.begin()
        try:
            result = WRITES[name](db, principal, world)
        except NotFound:
            result = None
        finally:
            db.rollback()
    if isinstance(result, files.ImportResult | odk_import.OdkImportResult):
        assert result.problems and not result.written
    assert world.events() == before


def test_an_upload_is_its_uploaders_alone(world: World) -> None:
    """Uploads belong to a user, not a region: anyone else finds none."""
    other = user(Role.VILLAGE_CADRE, VILLAGE, username="cadre-two", user_id=999)
    for name in ("imports.uploads.confirm", "imports.uploads.cancel"):
        _refused(world, name, other, (NotFound,))


# a helper may reveal their households' numbers, but sees no payments at all (READ_FUNDS)
NOT_FOR_HELPERS = {"funds.pages.reveal_payment"}


@pytest.mark.parametrize("name", sorted(NOT_FOR_HELPERS))
def test_a_helper_is_refused_even_for_their_own_households(world: World, name: str) -> None:
    helper = user(Role.HELPER, COUNTY, username="h001", households=frozenset(MINE))
    _refused(world, name, helper, (PermissionDenied,))


@pytest.mark.parametrize("name", sorted(
    n for n in set(WRITES) - NOT_REGIONAL - FIND_NOTHING - NOT_FOR_HELPERS
    if Role.HELPER in RULES[action_of(n)] and n not in OUTSIDE_REFUSED))
def test_a_helper_reaches_only_their_own_households(world: World, name: str) -> None:
    """The helper helps MINE[1:]: the target household is in their region, not theirs."""
    helper = user(Role.HELPER, COUNTY, username="h001", households=frozenset(MINE[1:]))
    _refused(world, name, helper, (NotFound,))


def test_the_operator_of_the_command_line_is_recorded_as_the_actor(world: World) -> None:
    with world.session() as db, db.begin():
        ledger.start(db, principal=operator("cli:wang"), measure_id=world.measure,
                     as_of=TODAY)
    with world.session() as db:
        latest = audit.history(db, principal=operator(), entity="measure",
                               entity_id=str(world.measure))[-1]
    assert (latest["actor"], latest["action"]) == ("cli:wang", "start")


def test_a_scope_narrowed_to_a_region_outside_never_widens() -> None:
    assert Scope(VILLAGE).within(OTHER_VILLAGE).households == frozenset()
    assert Scope(COUNTY).within(VILLAGE) == Scope(VILLAGE)


READS = {Action.READ, Action.READ_LISTS, Action.READ_AUDIT, Action.EXPORT,
         Action.READ_FUNDS, Action.CHECK_FUNDS, Action.READ_VERIFICATION}


@pytest.mark.parametrize(("role", "may_write"), [
    (Role.AUDITOR, set()),
    # the verifier's work: checking measures off, and the findings of a verification
    (Role.VERIFIER, {Action.VERIFY_MEASURE, Action.REVEAL, Action.RECORD_FINDINGS,
                     Action.CLOSE_VERIFICATION}),
    (Role.HELPER, {Action.MOVE_MEASURE, Action.VERIFY_MEASURE, Action.REVEAL}),
])
def test_the_read_only_roles_change_only_what_their_work_is(role: Role,
                                                             may_write: set[Action]) -> None:
    # everyone keeps their own API tokens: credentials, not data of the registry
    own = {Action.OWN_TOKENS}
    assert {a for a, roles in RULES.items() if role in roles} - READS - own == may_write


@pytest.mark.parametrize(("action", "roles"), [
    # 村申请、乡审核、县审定 (中农组发〔2021〕7号)
    (Action.MONITOR_APPLY, {Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER,
                            Role.VILLAGE_CADRE}),
    (Action.MONITOR_REVIEW, {Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER}),
    (Action.MONITOR_DECIDE, {Role.ADMIN, Role.COUNTY_OFFICER}),
    (Action.CLEAR_RISK, {Role.ADMIN, Role.COUNTY_OFFICER}),
    # a plan commits public money: not approved by the village that drafted it
    (Action.APPROVE_PLAN, {Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER}),
    (Action.IMPORT_REGIONS, {Role.ADMIN}),
    (Action.MANAGE_USERS, {Role.ADMIN, Role.COUNTY_OFFICER}),
    (Action.READ_AUDIT, {Role.ADMIN, Role.AUDITOR}),
    (Action.IMPORT_FUNDS, {Role.ADMIN, Role.COUNTY_OFFICER}),
    (Action.CHECK_FUNDS, {Role.ADMIN, Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER,
                          Role.AUDITOR}),
    # the county plans its verification and releases the list; the findings and the end of
    # the fieldwork are the verifiers' (the county is the one they judge)
    (Action.PLAN_VERIFICATION, {Role.ADMIN, Role.COUNTY_OFFICER}),
    (Action.RELEASE_SAMPLE, {Role.ADMIN, Role.COUNTY_OFFICER}),
    (Action.RECORD_FINDINGS, {Role.ADMIN, Role.VERIFIER}),
    (Action.CLOSE_VERIFICATION, {Role.ADMIN, Role.VERIFIER}),
    (Action.READ_VERIFICATION, set(Role) - {Role.HELPER}),
])
def test_each_level_takes_its_own_steps(action: Action, roles: set[Role]) -> None:
    assert RULES[action] == roles


@pytest.mark.parametrize(("to", "action"), [
    (MonitoringState.VISITED, Action.MONITOR_APPLY),
    (MonitoringState.IN_NOTICE, Action.MONITOR_APPLY),
    (MonitoringState.TOWNSHIP_REVIEWED, Action.MONITOR_REVIEW),
    (MonitoringState.IDENTIFIED, Action.MONITOR_DECIDE),
    (MonitoringState.REJECTED, Action.MONITOR_DECIDE),
])
def test_a_monitoring_step_is_the_action_of_its_level(to: MonitoringState,
                                                      action: Action) -> None:
    from tuopin.services.access.policy import monitoring_step

    assert monitoring_step(to) is action


def test_a_village_cadre_cannot_decide_a_monitoring_case(world: World) -> None:
    cadre = user(Role.VILLAGE_CADRE, VILLAGE)
    with world.session() as db, pytest.raises(PermissionDenied):
        monitoring.advance(db, principal=cadre, case_id=world.case,
                           to=MonitoringState.IDENTIFIED, on=TODAY, as_of=TODAY, note=None,
                           notice_days=5)
