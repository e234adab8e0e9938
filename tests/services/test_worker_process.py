"""A `tuopin worker` killed in the middle of an import leaves no partial data; once its lease
runs out, another worker takes the job up again and the import completes, once (issue 15,
acceptance 1: "a runner killed mid-job leaves no partial data; its job is retried and
completes").

The upload is received, checked and confirmed as the web does it (services/imports/uploads
and a job per step). The worker that is killed is the real `tuopin worker` in a process of
its own, with one change made inside that process only: when the import reports the stage
the test names, the report hangs, so that the SIGKILL lands at a known point inside the
import's transaction - every row loaded into its staging table (``load``), or every row
merged into the registry and the import's audit event written, just before the commit
(``merge``) - however fast the machine is. The worker that retries it is the plain
`tuopin worker --once`.
"""

from __future__ import annotations

import csv
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from factories import operator
from jobs_support import (
    TUOPIN,
    Child,
    pausing_worker,
    personal_data,
    progress_of,
    run,
    tuopin_env,
    wait_for,
)
from tuopin.domain.enums import JobKind, JobState, Role, UploadState
from tuopin.io.schema import Kind
from tuopin.services import audit
from tuopin.services.access import users
from tuopin.services.access.principal import Principal
from tuopin.services.imports import uploads
from tuopin.services.imports.files import import_file
from tuopin.services.jobs import queue
from tuopin.services.jobs.context import Environment
from tuopin.services.jobs.runner import Runner
from tuopin.storage.db import make_engine, readonly, session_factory
from tuopin.storage.models import AuditEventRecord, HouseholdRecord, JobRecord, MemberRecord
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate

HOUSEHOLDS = 2_000  # about 7,300 members: the file the worker imports
BIG = 12_000  # about 44,000 members: the check's transaction spills out of the page cache
COUNTY = "620121000000"  # the synthetic registry's first county (all of its households)
TODAY = date(2026, 11, 29)
LEASE = 2  # seconds: how long the killed worker's job stays claimed
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
LIMITS = uploads.UploadLimits()



@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("county")
    generate(SynthConfig(households=HOUSEHOLDS, seed=7, funds=False, years=(2020,)), folder)
    return folder


@pytest.fixture(scope="module")
def big_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A county whose members' check is one transaction bigger than SQLite's page cache."""
    folder = tmp_path_factory.mktemp("big-county")
    generate(SynthConfig(households=BIG, seed=7, funds=False, years=(2020,)), folder)
    return folder


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def rows_of(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def counts(engine: Engine) -> dict[str, int]:
    """What an import could leave behind: the registry's rows and the import's audit."""
    with Session(readonly(engine)) as db:
        return {
            "households": db.scalar(select(func.count()).select_from(HouseholdRecord)) or 0,
            "members": db.scalar(select(func.count()).select_from(MemberRecord)) or 0,
            "events": db.scalar(select(func.count()).select_from(AuditEventRecord)) or 0,
            "member imports": db.scalar(select(func.count()).select_from(AuditEventRecord)
                                        .where(AuditEventRecord.action == "import",
                                               AuditEventRecord.entity == "members")) or 0,
        }


def job_of(engine: Engine, job_id: str) -> JobRecord:
    # read-only: on SQLite a deferred transaction, which never waits for the worker's lock
    with Session(readonly(engine), expire_on_commit=False) as db:
        found = db.get(JobRecord, job_id)
        assert found is not None
        return found


def county_officer(sessions: sessionmaker[Session]) -> Principal:
    with sessions() as db, db.begin():
        user = users.add(db, principal=operator(), username="county-importer",
                         role=Role.COUNTY_OFFICER, region_code=COUNTY,
                         password="correct horse battery", hasher=CHEAP)
        return users.principal_of(db, user=user)


def confirmed_upload(engine: Engine, data_dir: Path, file: Path) -> tuple[str, str]:
    """Upload ``file`` as a county officer does in the web, check it (in this process) and
    confirm it: (the upload, its import job, queued for a worker)."""
    sessions = session_factory(engine)
    officer = county_officer(sessions)
    args = {"today": TODAY.isoformat()}
    with sessions() as db, db.begin(), file.open("rb") as stream:
        upload = uploads.receive(db, principal=officer, kind=Kind.MEMBERS, filename=file.name,
                                 stream=stream, data_dir=data_dir, limits=LIMITS)
        check = queue.start(db, principal=officer, kind=JobKind.IMPORT_CHECK,
                            args={**args, "upload": upload})
    assert Runner(Environment(engine, sessions, data_dir)).run_job(check)
    with sessions() as db, db.begin():
        view = uploads.show(db, principal=officer, upload_id=upload, data_dir=data_dir,
                            limits=LIMITS)
        assert view.state is UploadState.CHECKED, view.result
        assert view.problem_count == 0 and view.rows == rows_of(file)
        uploads.confirm(db, principal=officer, upload_id=upload, skip_invalid=False)
        job = queue.start(db, principal=officer, kind=JobKind.IMPORT,
                          args={**args, "upload": upload})
    return upload, job


def upload_state(engine: Engine, upload: str, data_dir: Path) -> UploadState:
    with Session(readonly(engine)) as db:
        return uploads.show(db, principal=operator(), upload_id=upload, data_dir=data_dir,
                            limits=LIMITS).state


@pytest.mark.parametrize("stage", ["load", "merge"])
def test_a_worker_killed_mid_import_leaves_nothing_and_its_job_completes_on_retry(
    db_url: str, store: Engine, county: Path, tmp_path: Path, stage: str
) -> None:
    started = time.monotonic()
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS):
        assert import_file(store, principal=operator(), kind=kind,
                           path=county / f"{kind.value}.csv", today=TODAY).ok
    data_dir = tmp_path / "data"
    file = county / "members.csv"
    upload, job = confirmed_upload(store, data_dir, file)
    before = counts(store)
    env = tuopin_env(db_url, data_dir, job_lease_seconds=str(LEASE))

    # the job's thread stops at ``stage`` inside the import's transaction until the kill
    victim = Child(pausing_worker(stage, 3600), env, tmp_path / "victim.log")
    try:
        reached = wait_for(f"the import at its {stage} stage",
                           lambda: (p := progress_of(data_dir, job)) and p["stage"] == stage
                           and p, timeout=60, child=victim)
        record = job_of(store, job)
        assert (record.state, record.attempts) == (JobState.RUNNING.value, 1)
        victim.kill()
    finally:
        victim.stop()
    assert reached["done"] > 0

    # nothing of the import is in the store: not a row, not its audit event
    assert counts(store) == before
    assert upload_state(store, upload, data_dir) is UploadState.IMPORTING
    lease_until = job_of(store, job).lease_until
    assert lease_until is not None
    time.sleep(max(0.0, lease_until - time.time()) + 0.2)  # the dead worker's claim runs out

    retry = run(["worker", "--once"], env, timeout=60)

    record = job_of(store, job)
    assert (record.state, record.attempts, record.error) == (JobState.DONE.value, 2, None)
    assert upload_state(store, upload, data_dir) is UploadState.IMPORTED
    members = rows_of(file)
    assert counts(store) == {**before, "members": before["members"] + members,
                             "events": before["events"] + 1, "member imports": 1}
    with Session(store) as db:
        assert audit.verify(db, principal=operator()).ok
    assert not personal_data(victim.output() + retry), "a worker logged personal data"
    print(f"\n[{stage}] killed at {reached['stage']} {reached['done']}/{reached['total']}; "
          f"{members} members imported on attempt 2; {time.monotonic() - started:.1f} s")


# A worker that runs one job and then dies as a killed process does (nothing closed, nothing
# checkpointed): what it committed must be in the store all the same.
RUN_AND_DIE = """
import os, sys
from pathlib import Path
from tuopin.services.jobs.context import Environment
from tuopin.services.jobs.runner import Runner
from tuopin.storage.db import make_engine, session_factory

engine = make_engine(sys.argv[1])
assert Runner(Environment(engine, session_factory(engine), Path(sys.argv[2]))).run_job(sys.argv[3])
os._exit(0)
"""


def test_what_a_check_committed_survives_its_worker_dying(
    sqlite_url: str, big_county: Path, tmp_path: Path
) -> None:
    county = big_county
    engine = make_engine(sqlite_url)
    try:
        for kind in (Kind.REGIONS, Kind.HOUSEHOLDS):
            assert import_file(engine, principal=operator(), kind=kind,
                               path=county / f"{kind.value}.csv", today=TODAY).ok
        sessions = session_factory(engine)
        officer = county_officer(sessions)
        data_dir = tmp_path / "data"
        with sessions() as db, db.begin(), (county / "members.csv").open("rb") as stream:
            upload = uploads.receive(db, principal=officer, kind=Kind.MEMBERS,
                                     filename="members.csv", stream=stream, data_dir=data_dir,
                                     limits=LIMITS)
            check = queue.start(db, principal=officer, kind=JobKind.IMPORT_CHECK,
                                args={"today": TODAY.isoformat(), "upload": upload})
    finally:
        engine.dispose()
    died = subprocess.run([TUOPIN[0], "-c", RUN_AND_DIE, sqlite_url, str(data_dir), check],
                          capture_output=True, text=True, timeout=120)
    assert died.returncode == 0, died.stderr
    engine = make_engine(sqlite_url)  # a new process opens the store after the crash
    try:
        assert job_of(engine, check).state == JobState.DONE.value
        assert upload_state(engine, upload, data_dir) is UploadState.CHECKED
    finally:
        engine.dispose()
