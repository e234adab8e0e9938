"""Live: a web import of a county's members runs as a job of `tuopin worker` with a progress
bar, while the household pages keep answering at their normal speed (issue 15, acceptance 1:
"a test shows a household page answering during a running import").

The real thing, in processes of their own: `tuopin serve` (uvicorn, one process, as a small
office runs it) and `tuopin worker`, on a SQLite store holding a synthetic county. The test
is a browser made of HTTP requests: it logs in, uploads the members file on /import, waits
for the check, confirms, and then - until the job ends - asks for the job's page (as htmx
does every second, but without pausing) and for household pages, timing each.
Find it with `pytest -m slow` or by its name: tests/web/test_jobs_live.py.

A second test holds the import's transaction open for a few seconds (a worker paused at the
end of its merge, as a long county import holds SQLite's write lock) and asks for a
household page with a session due to have its last use written: that page must not wait for
the lock (the last use is written at a later request).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx2
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from factories import operator
from jobs_support import (
    TUOPIN,
    Child,
    free_port,
    pausing_worker,
    personal_data,
    progress_of,
    tuopin_env,
    wait_for,
)
from tuopin.domain.enums import Role
from tuopin.io.schema import Kind
from tuopin.services.access import users
from tuopin.services.imports.files import import_file
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, readonly, session_factory
from tuopin.storage.models import LoginSessionRecord, MemberRecord, UserRecord
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate

pytestmark = pytest.mark.slow

# a county's worth: about 44,000 members, 5.4 MB (the upload limit: 10). The whole demo
# county (30,000 households, 110,000 members, 13.5 MB) is over the web's default limits:
# TUOPIN_LIVE_HOUSEHOLDS=30000 runs this test on it with the limits raised to fit.
HOUSEHOLDS = int(os.environ.get("TUOPIN_LIVE_HOUSEHOLDS", "12000"))
LIMITS = {} if HOUSEHOLDS <= 12_000 else {"evidence_max_bytes": "50000000",
                                          "upload_max_rows": "1000000"}
COUNTY = "620121000000"  # the synthetic registry's first county (all of its households)
TODAY = date(2026, 11, 29)
USERNAME, READER, PASSWORD = "county-officer", "county-reader", "correct horse battery"
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SECRET = "live-test-secret-key-" + "0" * 32
PAGE_BOUND = 1.5  # seconds a household page may take while the import runs
PAGES = 25  # household pages asked for in turn
HOLD = 6  # seconds the paused worker keeps the import's transaction (SQLite's write lock)
CSRF = re.compile(r'data-csrf="([^"]+)"')
STATE = re.compile(r'id="(?:job|upload)-status" data-state="([a-z_]+)"')
JOB_ROW = re.compile(r'<tr id="job-([0-9a-f]{32})">')
INSERTED = re.compile(r'id="count-inserted">(\d+)<')


@dataclass
class Timings:
    """How long the household pages took, by what the background work was doing."""

    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, phase: str, elapsed: float) -> None:
        self.seconds.setdefault(phase, []).append(elapsed)

    def line(self, phase: str) -> str:
        found = self.seconds.get(phase, [])
        if not found:
            return f"{phase}: none"
        return (f"{phase}: {len(found)} pages, p50 {statistics.median(found) * 1000:.0f} ms, "
                f"max {max(found) * 1000:.0f} ms")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store (regions and households) and the members file to upload."""
    folder = tmp_path_factory.mktemp("live")
    generate(SynthConfig(households=HOUSEHOLDS, seed=7, funds=False, years=(2020,)), folder)
    engine = make_engine(f"sqlite:///{folder / 'tuopin.db'}")
    migrate.upgrade(engine)
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS):
        assert import_file(engine, principal=operator(), kind=kind,
                           path=folder / f"{kind.value}.csv", today=TODAY).ok
    with session_factory(engine)() as db, db.begin():
        for name in (USERNAME, READER):
            users.add(db, principal=operator(), username=name, role=Role.COUNTY_OFFICER,
                      region_code=COUNTY, password=PASSWORD, hasher=CHEAP)
    engine.dispose()  # the last connection checkpoints the WAL: one file to copy
    return folder


@pytest.fixture
def store(county: Path, tmp_path: Path) -> Path:
    """The test's own copy of the county's store."""
    path = tmp_path / "tuopin.db"
    shutil.copy(county / "tuopin.db", path)
    return path


@contextmanager
def running(store: Path, data_dir: Path, worker: list[str]) -> Iterator[tuple[str, Child,
                                                                              Child]]:
    """`tuopin serve` and ``worker`` on ``store``: (the address, server, worker); both are
    stopped on the way out, whatever happened."""
    port = free_port()
    env = tuopin_env(f"sqlite:///{store}", data_dir, secret_key=SECRET, workers="1", **LIMITS)
    logs = store.parent
    server = Child([*TUOPIN, "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                   logs / "serve.log")
    jobs = Child(worker, env, logs / "worker.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for("the server's answer", lambda: _answers(url), timeout=60, every=0.2,
                 child=server)
        yield url, server, jobs
    finally:
        jobs.stop()
        server.stop()


def _answers(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx2.TransportError:
        return False


def csrf(client: httpx2.Client, path: str) -> str:
    found = CSRF.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: httpx2.Client, username: str = USERNAME) -> httpx2.Client:
    token = csrf(client, "/login")
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return client


@contextmanager
def logged_in(url: str, username: str = USERNAME) -> Iterator[httpx2.Client]:
    """A browser of its own, logged in as ``username``."""
    with httpx2.Client(base_url=url, timeout=60, follow_redirects=False) as client:
        yield log_in(client, username)


def upload_checked(client: httpx2.Client, file: Path, between: Callable[[], None]) -> str:
    """Upload ``file`` on /import and wait for its check (calling ``between`` while it
    runs); the upload's page."""
    token = csrf(client, "/import")
    answer = client.post("/import", data={"kind": Kind.MEMBERS.value, "csrf_token": token},
                         files={"file": (file.name, file.read_bytes(), "text/csv")})
    assert answer.status_code == 303, answer.text
    upload = str(answer.headers["location"])

    def checked() -> bool:
        state, _ = state_of(client, upload)
        assert state in ("received", "checking", "checked"), state
        between()
        return state == "checked"

    wait_for("the file's check", checked, timeout=90, every=0)
    return upload


def confirm(client: httpx2.Client, upload: str) -> str:
    """Confirm a checked upload; the page of its import's job (the newest on /jobs)."""
    answer = client.post(f"{upload}/confirm", headers={"X-CSRF-Token": csrf(client, upload)})
    assert answer.status_code == 303, answer.text
    job = JOB_ROW.search(client.get("/jobs").text)
    assert job, "no job on /jobs"
    return f"/jobs/{job.group(1)}"


def state_of(client: httpx2.Client, path: str) -> tuple[str, str]:
    """A job's or an upload's state and status fragment, as htmx asks for them."""
    answer = client.get(path, headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.text
    found = STATE.search(answer.text)
    assert found, answer.text
    return found.group(1), answer.text


def household(client: httpx2.Client, number: str) -> float:
    """Ask for a household's page; how long it took (it must answer 200)."""
    began = time.perf_counter()
    answer = client.get(f"/households/{number}")
    elapsed = time.perf_counter() - began
    assert answer.status_code == 200, (number, answer.status_code)
    assert number in answer.text
    return elapsed


def household_numbers(folder: Path) -> list[str]:
    with (folder / "households.csv").open(encoding="utf-8", newline="") as handle:
        numbers = [row["number"] for row in csv.DictReader(handle)]
    step = len(numbers) // PAGES
    return numbers[::step][:PAGES]


def rows_of(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def members_in(store: Path) -> int:
    engine = make_engine(f"sqlite:///{store}")
    try:
        with Session(readonly(engine)) as db:
            return db.scalar(select(func.count()).select_from(MemberRecord)) or 0
    finally:
        engine.dispose()


def test_a_household_page_answers_quickly_while_a_county_import_runs_as_a_job(
    county: Path, store: Path, tmp_path: Path
) -> None:
    numbers = household_numbers(county)
    file = county / "members.csv"
    timings = Timings()
    turn = 0

    def next_page(phase: str) -> None:
        nonlocal turn
        timings.add(phase, household(client, numbers[turn % len(numbers)]))
        turn += 1

    with (running(store, tmp_path / "data", [*TUOPIN, "worker"]) as (url, server, worker),
          logged_in(url) as client):
        for _ in range(PAGES):
            next_page("idle")
        upload = upload_checked(client, file, lambda: next_page("check"))
        job = confirm(client, upload)
        seen: list[str] = []
        bars = 0

        def ended() -> bool:
            nonlocal bars
            state, text = state_of(client, job)
            if not seen or seen[-1] != state:
                seen.append(state)
            bars += state == "running" and "<progress" in text
            if state in ("done", "failed", "cancelled"):
                return True
            next_page(state)
            return False

        wait_for("the import's end", ended, timeout=90, every=0, child=worker)
        final, report = state_of(client, upload)
        inserted = INSERTED.search(report)
        # read while the server and the worker still hold the store (after they stop, a
        # WAL left with unchecksummed frames may not recover: see test_worker_process.py)
        stored = members_in(store)
        logs = server.output() + worker.output()

    print("\n" + "\n".join(timings.line(p) for p in ("idle", "check", "queued", "running")))
    print(f"job states seen: {' > '.join(seen)}; the progress bar shown {bars} times")
    assert seen[-1] == "done" and final == "imported", (seen, final)
    assert bars >= 1, "the job's page never showed a progress bar while the job ran"
    during = timings.seconds.get("running", [])
    assert during, "no household page was asked for while the import ran"
    assert max(during) < PAGE_BOUND, timings.line("running")
    assert max(timings.seconds["check"]) < PAGE_BOUND, timings.line("check")
    rows = rows_of(file)
    assert inserted and int(inserted.group(1)) == rows, report
    assert stored == rows
    assert not personal_data(logs), "the server or the worker logged personal data"


def test_a_household_page_of_a_session_due_for_its_touch_does_not_wait_for_an_import(
    county: Path, store: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    number = household_numbers(county)[0]
    worker_command = pausing_worker("merge", HOLD)
    with (running(store, data_dir, worker_command) as (url, _server, _worker),
          logged_in(url) as client, logged_in(url, READER) as reader):
        upload = upload_checked(client, county / "members.csv", lambda: None)
        # the reader's last use, as the store has it, is a minute and more ago
        aged = make_engine(f"sqlite:///{store}")
        with aged.begin() as conn:
            conn.execute(update(LoginSessionRecord).where(
                LoginSessionRecord.user_id == select(UserRecord.id).where(
                    UserRecord.username == READER).scalar_subquery()).values(
                last_seen_at=LoginSessionRecord.last_seen_at - 120))
        aged.dispose()
        job = confirm(client, upload)
        job_id = job.rsplit("/", 1)[1]
        wait_for("the import holding its transaction", lambda: (
            p := progress_of(data_dir, job_id)) and p["stage"] == "merge", timeout=60)
        took = household(reader, number)
        wait_for("the import's end", lambda: state_of(client, job)[0] == "done", timeout=60,
                 every=0.2)
    print(f"\na household page of a session due for its touch: {took * 1000:.0f} ms while "
          f"the import held the write lock for {HOLD} s")
    assert took < PAGE_BOUND
