"""The job queue: a job is claimed by one worker at a time, taken up again when its worker
dies, given up after too many attempts, seen by its owner (and those who supervise the
region) only, and cancelled at once when it waits or at its next step when it runs."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from factories import COUNTY, OTHER_VILLAGE, REGIONS, VILLAGE, operator, write_csv
from tuopin.domain.enums import JobKind, JobState, Role
from tuopin.domain.errors import Message, NotFound, PermissionDenied, RuleBroken
from tuopin.io.schema import Kind
from tuopin.services.access import users
from tuopin.services.access.principal import Principal
from tuopin.services.imports.files import import_file
from tuopin.services.jobs import handlers, heartbeat, queue
from tuopin.services.jobs.context import Environment, JobCancelled, JobContext
from tuopin.services.jobs.handlers import Outcome
from tuopin.services.jobs.runner import ACCOUNT_GONE, Runner
from tuopin.storage.db import session_factory
from tuopin.storage.models import JobRecord

ADMIN = operator()
TODAY = date(2026, 12, 1)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def env(engine: Engine, sessions: sessionmaker[Session], tmp_path: Path,
        clock: Clock) -> Environment:
    return Environment(engine, sessions, tmp_path / "data", lease=30.0, clock=clock)


@pytest.fixture
def kinds(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[JobContext]]:
    """Replace the export handler by one that records its calls (and does what the test
    asks through the job's args: fail, wait to be cancelled, write a file)."""
    seen: dict[str, list[JobContext]] = {"calls": []}

    def work(ctx: JobContext) -> Outcome:
        seen["calls"].append(ctx)
        if ctx.args.get("fail") == "rule":
            raise PermissionDenied(Message("Your role may not do this."))
        if ctx.args.get("fail") == "bug":
            raise ZeroDivisionError
        if ctx.args.get("cancel_me"):
            with ctx.env.sessions() as db, db.begin():
                queue.cancel(db, principal=ADMIN, job_id=ctx.job_id)
                queue.renew(db, job_id=ctx.job_id, worker=ctx.worker, now=ctx.env.clock())
            ctx.stop.set()  # what the runner does when a renewal says "cancelled"
            ctx.report(1, 2)
        (ctx.folder / "out.csv").write_text("a,b\n")
        ctx.report(2, 2, force=True)
        return Outcome({"rows": 1}, "out.csv")

    monkeypatch.setitem(handlers.HANDLERS, JobKind.EXPORT, work)
    import tuopin.services.jobs.runner as runner_module
    monkeypatch.setattr(runner_module, "HANDLERS", handlers.HANDLERS)
    return seen


def start(sessions: sessionmaker[Session], principal: object = ADMIN, clock: Clock | None = None,
          **args: object) -> str:
    with sessions() as db, db.begin():
        return queue.start(db, principal=principal, kind=JobKind.EXPORT,  # type: ignore[arg-type]
                           args=dict(args), **({"clock": clock} if clock else {}))


def record(sessions: sessionmaker[Session], job_id: str) -> JobRecord:
    with sessions() as db:
        found = db.get(JobRecord, job_id)
        assert found is not None
        return found


def test_a_job_runs_as_its_owner_and_keeps_its_file(env: Environment, kinds: dict,
                                                    sessions: sessionmaker[Session]) -> None:
    job_id = start(env.sessions, region="x")
    assert Runner(env).run_job(job_id)
    done = record(sessions, job_id)
    assert (done.state, done.attempts, done.done, done.total) == ("done", 1, 2, 2)
    assert kinds["calls"][0].principal.actor == ADMIN.actor
    with sessions() as db:
        path = queue.result_path(db, principal=ADMIN, job_id=job_id, data_dir=env.data_dir)
    assert path.read_text() == "a,b\n"


def test_only_one_worker_claims_a_job(env: Environment, sessions: sessionmaker[Session],
                                      clock: Clock) -> None:
    job_id = start(sessions, clock=clock)
    with sessions() as db, db.begin():
        first = queue.claim(db, worker="a", now=clock())
        assert first is not None and first.id == job_id
    with sessions() as db, db.begin():
        assert queue.claim(db, worker="b", now=clock() + 10) is None  # its lease still holds


def test_a_dead_workers_job_is_taken_up_again_and_its_late_end_ignored(
        sessions: sessionmaker[Session], clock: Clock) -> None:
    job_id = start(sessions, clock=clock)
    with sessions() as db, db.begin():
        queue.claim(db, worker="a", now=clock(), lease=5)
    with sessions() as db, db.begin():
        again = queue.claim(db, worker="b", now=clock() + 6, lease=5)
        assert again is not None and (again.worker, again.attempts) == ("b", 2)
    with sessions() as db, db.begin():  # worker a comes back from the dead: nothing changes
        assert queue.renew(db, job_id=job_id, worker="a", now=clock() + 7)
        queue.finish(db, job_id=job_id, worker="a", state=JobState.FAILED, now=clock() + 7)
    assert record(sessions, job_id).state == "running"


def test_a_job_interrupted_too_often_is_given_up(sessions: sessionmaker[Session],
                                                 clock: Clock) -> None:
    job_id = start(sessions, clock=clock)
    for attempt in range(3):
        with sessions() as db, db.begin():
            assert queue.claim(db, worker=f"w{attempt}", now=clock() + 10 * attempt,
                               lease=5) is not None
    with sessions() as db, db.begin():
        assert queue.claim(db, worker="w3", now=clock() + 40, lease=5) is None
    given_up = record(sessions, job_id)
    assert given_up.state == "failed"
    assert queue.message_of(given_up.error).msgid == queue.RETRIES_USED_UP  # type: ignore[union-attr]


def test_the_oldest_job_is_claimed_first(sessions: sessionmaker[Session], clock: Clock) -> None:
    older = start(sessions, clock=clock)
    clock.now += 1
    start(sessions, clock=clock)
    with sessions() as db, db.begin():
        assert queue.claim(db, worker="a", now=clock()).id == older  # type: ignore[union-attr]


@pytest.mark.postgres
def test_concurrent_workers_claim_different_jobs(pg_url: str) -> None:
    from tuopin.storage.db import make_engine

    engine = make_engine(pg_url)
    sessions = session_factory(engine)
    ids = {start(sessions) for _ in range(6)}
    claimed: list[str] = []
    barrier = threading.Barrier(3)

    def work(name: str) -> None:
        barrier.wait()
        for _ in range(2):
            with sessions() as db, db.begin():
                found = queue.claim(db, worker=name, now=2e9)
                assert found is not None
                claimed.append(found.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sorted(claimed) == sorted(ids)  # each job once, none twice


def test_a_failed_job_says_why_and_an_unexpected_failure_is_hidden(
        env: Environment, kinds: dict, sessions: sessionmaker[Session]) -> None:
    refused, broken = start(sessions, fail="rule"), start(sessions, fail="bug")
    runner = Runner(env)
    assert runner.run_job(refused) and runner.run_job(broken)
    assert queue.message_of(record(sessions, refused).error) == "Your role may not do this."
    assert queue.message_of(record(sessions, broken).error).msgid == \
        "The job failed because of an unexpected error; it was recorded for the administrator."


def test_a_running_job_stops_at_its_next_step_when_cancelled(
        env: Environment, kinds: dict, sessions: sessionmaker[Session]) -> None:
    job_id = start(sessions, cancel_me=True)
    Runner(env).run_job(job_id)
    ended = record(sessions, job_id)
    assert (ended.state, ended.cancel_requested, ended.result_file) == ("cancelled", True, None)


def test_a_waiting_job_is_cancelled_at_once_and_an_ended_one_not_at_all(
        env: Environment, kinds: dict, sessions: sessionmaker[Session]) -> None:
    job_id = start(sessions)
    with sessions() as db, db.begin():
        queue.cancel(db, principal=ADMIN, job_id=job_id)
    assert record(sessions, job_id).state == "cancelled"
    assert not Runner(env).run_job(job_id)
    assert kinds["calls"] == []
    with sessions() as db, db.begin(), pytest.raises(RuleBroken):
        queue.cancel(db, principal=ADMIN, job_id=job_id)


OUTSIDE_COUNTY = "621122"
PEOPLE = {  # username: (role, region, sees the cadre's job)
    "cadre": (Role.VILLAGE_CADRE, VILLAGE, True),
    "other": (Role.VILLAGE_CADRE, OTHER_VILLAGE, False),
    "township": (Role.TOWNSHIP_OFFICER, VILLAGE[:9], False),
    "officer": (Role.COUNTY_OFFICER, COUNTY, True),
    "outsider": (Role.COUNTY_OFFICER, OUTSIDE_COUNTY, False),
    "auditor": (Role.AUDITOR, COUNTY, False),
    "admin": (Role.ADMIN, None, True),
}


@pytest.fixture
def people(engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
           ) -> dict[str, Principal]:
    """An account of each kind of person (the region they work in), as the web makes them."""
    regions = [*REGIONS, {"code": OUTSIDE_COUNTY, "name": "陇西县"}]
    assert import_file(engine, principal=ADMIN, kind=Kind.REGIONS,
                       path=write_csv(tmp_path / "regions.csv", regions), today=TODAY).ok
    found = {}
    with sessions() as db, db.begin():
        for name, (role, region, _sees) in PEOPLE.items():
            account = users.add(db, principal=ADMIN, username=name, role=role,
                                region_code=region, password="a long enough password",
                                hasher=CHEAP)
            found[name] = users.principal_of(db, user=account)
    return found


def test_the_job_of_a_disabled_account_is_refused(env: Environment, kinds: dict,
                                                  sessions: sessionmaker[Session],
                                                  people: dict[str, Principal]) -> None:
    job_id = start(sessions, people["cadre"])
    with sessions() as db, db.begin():
        users.disable(db, principal=ADMIN, username="cadre")
    assert not Runner(env).run_job(job_id)
    ended = record(sessions, job_id)
    assert ended.state == "failed"
    assert queue.message_of(ended.error).msgid == ACCOUNT_GONE  # type: ignore[union-attr]
    assert kinds["calls"] == []


def test_a_job_works_for_its_owner_as_the_account_is_now(env: Environment, kinds: dict,
                                                         sessions: sessionmaker[Session],
                                                         people: dict[str, Principal]) -> None:
    job_id = start(sessions, people["officer"].within(VILLAGE))
    assert Runner(env).run_job(job_id)
    ran_as = kinds["calls"][0].principal
    assert (ran_as.actor, ran_as.role, ran_as.scope.region_code) == (
        "web:officer", Role.COUNTY_OFFICER, VILLAGE)  # never wider than when it was asked


@pytest.mark.parametrize("name", list(PEOPLE))
def test_a_job_is_seen_by_its_owner_and_those_who_supervise_its_region(
        sessions: sessionmaker[Session], people: dict[str, Principal], name: str) -> None:
    job_id = start(sessions, people["cadre"])
    who, sees = people[name], PEOPLE[name][2]
    with sessions() as db:
        assert (job_id in {v.id for v in queue.list_jobs(db, principal=who)}) is sees
        if sees:
            assert queue.show(db, principal=who, job_id=job_id).id == job_id
        else:
            with pytest.raises(NotFound):
                queue.show(db, principal=who, job_id=job_id)
    with sessions() as db, db.begin():
        if sees:
            queue.cancel(db, principal=who, job_id=job_id)
        else:
            with pytest.raises(NotFound):
                queue.cancel(db, principal=who, job_id=job_id)


def test_depth_counts_waiting_and_running_jobs_and_the_oldest_wait(
        sessions: sessionmaker[Session], clock: Clock) -> None:
    start(sessions, clock=clock)
    clock.now += 5
    start(sessions, clock=clock)
    with sessions() as db, db.begin():
        queue.claim(db, worker="a", now=clock())
    with sessions() as db:
        assert queue.depth(db, now=clock() + 10) == {"queued": 1, "running": 1,
                                                     "oldest_queued_age": 10.0}


def test_a_heartbeat_says_when_a_worker_was_last_alive(sessions: sessionmaker[Session]) -> None:
    with sessions() as db, db.begin():
        assert heartbeat.freshest(db) is None
        heartbeat.beat(db, name="host:1", started_at=100.0, running=0, concurrency=1, now=100.0)
        heartbeat.beat(db, name="host:1", started_at=100.0, running=1, concurrency=1, now=130.0)
        assert heartbeat.freshest(db) == 130.0
        assert heartbeat.alive(db, now=130.0 + heartbeat.FRESH_SECONDS)
        assert not heartbeat.alive(db, now=131.0 + heartbeat.FRESH_SECONDS)


def test_the_worker_loop_runs_what_waits_and_stops(env: Environment, kinds: dict,
                                                   sessions: sessionmaker[Session]) -> None:
    ids = [start(sessions) for _ in range(3)]
    ran = Runner(env, concurrency=2, poll=0.01).run(threading.Event(), once=True)
    assert ran == 3
    assert {record(sessions, i).state for i in ids} == {"done"}
    with sessions() as db:
        assert heartbeat.freshest(db) is not None


def test_a_cancelled_context_raises() -> None:
    stop = threading.Event()
    ctx = JobContext("x", "w", ADMIN, {}, None, stop)  # type: ignore[arg-type]
    ctx.check()
    stop.set()
    with pytest.raises(JobCancelled):
        ctx.check()


def test_cancelling_a_job_a_worker_has_taken_asks_the_worker_to_stop(
        sessions: sessionmaker[Session], clock: Clock) -> None:
    job_id = start(sessions, clock=clock)
    with sessions() as db, db.begin():
        queue.claim(db, worker="a", now=clock())
    with sessions() as db, db.begin():
        queue.cancel(db, principal=ADMIN, job_id=job_id)
    taken = record(sessions, job_id)
    assert (taken.state, taken.cancel_requested) == ("running", True)  # not overwritten
    with sessions() as db, db.begin():
        assert queue.renew(db, job_id=job_id, worker="a", now=clock())  # "stop"
