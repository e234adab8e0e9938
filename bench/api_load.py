"""API load: 20 concurrent token-bearing clients against `tuopin serve` on PostgreSQL.

The database is built as `python -m bench web` builds it (bench/web_load.py): a throwaway
database, `tuopin init`, ``BENCH_API_HOUSEHOLDS`` synthetic households (default 500,000, about
1.8M members; `tuopin synth --seed 5` loaded straight into the store) and one cn-national 2020
assessment (a household's read carries its latest assessment, explained). Two accounts get
API tokens made by the token service (services/access/tokens.create, as `tuopin tokens
create` does): a county officer of the county of the first household, one token for each
client (as many systems, each with its own token and so its own rate limit), and an admin (a
national system pulling the whole register) for the export. `tuopin serve --workers
BENCH_API_WORKERS` (default: BENCH_WEB_WORKERS, else 2) then runs on a free port of 127.0.0.1.

Measured, each beside its baseline from the same run:

- single household read, `GET /api/v1/households/{number}` of random households of the
  county: ``BENCH_API_CLIENTS`` clients (default 20) until ``BENCH_API_REQUESTS`` requests
  (default 3000) or ``BENCH_API_SECONDS`` (default 60), once for each think time of
  ``BENCH_API_THINK_MS`` (default "0,1000", as the web benchmark): 0 is a closed loop (each
  client sends its next request the moment the last is answered: a stress figure), 1000 has
  each client wait 0.5-1.5 s between requests. p50/p95/p99 latency (target p95 <= 50 ms),
  requests/s and the server workers' CPU per request (/proc: the same whatever else the
  machine runs, unlike the latencies). Baseline: the same reads by hand-written SQL through
  psycopg (the household, its members, surveys, helpers, plan, exit and monitoring cases
  and its latest result; eight queries), on 20 async connections, alike.
- a 1,000-row page of households, `GET /api/v1/households?limit=1000&cursor=...` from a
  random household of the county on (target p95 <= 150 ms). Baseline: the keyset query
  (``number > %s ORDER BY number LIMIT 1000`` in the county) through psycopg, alike.
- a full export of members, `GET /api/v1/export/members?format=csv` by the admin's token,
  read as a stream by one client: rows/s (target >= 200,000) and the server's memory (the
  RSS of each worker before the export, sampled every 50 ms during it, and its peak,
  VmHWM: flat memory is a peak close to the RSS before). Baseline: `COPY (SELECT ...) TO
  STDOUT` of the same members through psycopg, in a process of its own (its peak RSS).
  An export endpoint that answers 404 is skipped with a message.

Latency is the client's (request sent to body read), on the machine of the server and
PostgreSQL. ``BENCH_API_SMOKE=1``: a tiny run (2,000 households, 200 requests, 10 s) that only
proves the benchmark works. ``BENCH_API_KEEP_DB=1`` keeps the database (named for its size)
and reuses it on the next run; otherwise the server is stopped and the database dropped at
the end, whatever happens.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench import web_load
from bench.common import ROOT, status_mb
from bench.registry import PG_SERVER
from bench.web_load import HOST, Outcome

READER = "bench_api_county"  # a county officer: the reads and pages
EXPORTER = "bench_api_admin"  # an admin (the whole register): the export
PAGE = 1000
TARGETS_MS = {"household read": 50.0, "1000-row page": 150.0}
EXPORT_TARGET = 200_000  # rows/s
SMOKE = {"households": 2_000, "requests": 200, "seconds": 10}
HOUSEHOLD_COLUMNS = ("number, village_code, address, status, category, main_cause, "
                     "other_causes, year_identified, year_exited, phone, bank_account, version")


def _smoke() -> bool:
    return os.environ.get("BENCH_API_SMOKE", "") not in ("", "0")


def _setting(name: str, default: int) -> int:
    """BENCH_API_<name>, else the smoke size (BENCH_API_SMOKE=1), else ``default``."""
    if (value := os.environ.get(f"BENCH_API_{name.upper()}")) is not None:
        return int(value)
    return SMOKE.get(name, default) if _smoke() else default


def _thinks() -> list[int]:
    return [int(t) for t in os.environ.get("BENCH_API_THINK_MS", "0,1000").split(",")]


def _workers() -> int:
    return int(os.environ.get("BENCH_API_WORKERS", os.environ.get("BENCH_WEB_WORKERS", 2)))


# ---- the database -------------------------------------------------------------------------

def _psql(libpq: str, sql: str) -> str:
    done = subprocess.run(["psql", f"{libpq}/postgres", "-qAtc", sql], check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def _ready(dsn: str) -> bool:
    """Whether a kept database was built to the end (its last step: the accounts)."""
    import psycopg

    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM app_user WHERE username IN (%s, %s)",
                               (READER, EXPORTER)).fetchone()
            return row is not None and row[0] == 2
    except psycopg.Error:
        return False


@dataclass
class Built:
    households: int
    members: int
    load_seconds: float | None  # None: a kept database, reused
    load_mb: float | None
    assess_seconds: float | None


def _build(env: dict[str, str], url: str, dsn: str, households: int) -> Built:
    """`tuopin init`, the synthetic households, one assessment, the two accounts."""
    from bench.common import measure

    web_load._tuopin("init", env=env)
    loaded = measure("synth into db", "web_synth_into_db", url, households, 5)
    assessed = web_load._tuopin("assess", "--standard", "cn-national", "--year", "2020",
                                "--format", "json", env=env)
    county = _first_county(dsn)
    password = secrets.token_urlsafe(16)
    web_load._tuopin("users", "add", READER, "--role", "county_officer", "--region", county,
                     "--password-stdin", env=env, stdin=password + "\n")
    web_load._tuopin("users", "add", EXPORTER, "--role", "admin", "--password-stdin",
                     env=env, stdin=password + "\n")
    return Built(households, loaded.extra or 0, loaded.seconds, loaded.peak_mb, assessed)


def _first_county(dsn: str) -> str:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT village_code FROM household ORDER BY number LIMIT 1")
        found = row.fetchone()
    assert found is not None, "no households were loaded"
    return str(found[0][:6])


@dataclass
class Sample:
    county: str
    county_households: int
    members: int
    numbers: list[str]  # random households of the county: single reads
    starts: list[str | None]  # numbers with a full page after them: where pages begin


def _sample(dsn: str) -> Sample:
    import psycopg

    county, numbers, _names = web_load._sample(dsn)
    with psycopg.connect(dsn) as conn:
        counted = conn.execute("SELECT count(*) FROM household WHERE village_code LIKE %s",
                               (county + "%",)).fetchone()
        members = conn.execute("SELECT count(*) FROM member").fetchone()
        starts = [r[0] for r in conn.execute(
            "SELECT number FROM (SELECT number, row_number() OVER (ORDER BY number DESC) AS "
            "after FROM household WHERE village_code LIKE %s) t WHERE after > %s "
            "ORDER BY random() LIMIT %s", (county + "%", PAGE, web_load.SAMPLE))]
    assert counted is not None and members is not None
    return Sample(county, counted[0], members[0], numbers, starts or [None])


def _make_tokens(url: str, username: str, count: int) -> list[str]:
    """``count`` tokens of ``username``, made by the service as `tuopin tokens create` does."""
    from tuopin.services import store
    from tuopin.services.access import tokens
    from tuopin.services.access.principal import Principal

    engine = store.engine_for(url)
    try:
        with store.transaction(store.sessions(engine)) as db:
            operator = Principal.of_operator("bench")
            return [tokens.create(db, principal=operator, name=f"bench api {i + 1}",
                                  username=username, expires_days=1)[0]
                    for i in range(count)]
    finally:
        engine.dispose()


# ---- the server's memory ------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = _children(todo.pop())
        found += kids
        todo += kids
    return found


def _workers_of(server: subprocess.Popen[bytes]) -> list[int]:
    """The server's worker processes (uvicorn's supervisor is the `tuopin serve` process;
    multiprocessing's resource tracker, a few MB, is left out by size)."""
    pids = _descendants(server.pid) or [server.pid]
    return [p for p in pids if status_mb(p, "VmRSS") > 40] or pids


class RssSampler:
    """The largest RSS of each of ``pids`` seen while it runs (every ``every`` seconds)."""

    def __init__(self, pids: list[int], every: float = 0.05) -> None:
        self.pids = pids
        self.every = every
        self.before = {p: status_mb(p, "VmRSS") for p in pids}
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], status_mb(pid, "VmRSS"))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def busiest(self) -> int:
        """The worker whose RSS grew most (the one that served the export)."""
        return max(self.pids, key=lambda p: self.peak[p] - self.before[p])


# ---- load ---------------------------------------------------------------------------------

class Failed(Exception):
    """One request that did not give what was asked (its description)."""


Call = Callable[[], Awaitable[None]]
Key = tuple[int, str]  # (think time in ms, endpoint)
ENDPOINTS = ("household read", "1000-row page")


@dataclass
class Loaded(Outcome):
    """An endpoint's run at one think time, and the server's CPU it took (API only)."""

    think: int = 0
    cpu_seconds: float | None = None

    @property
    def cpu_ms(self) -> float:
        return 1000 * (self.cpu_seconds or 0.0) / max(self.requests, 1)


async def _loop(name: str, think: int, calls: list[Call], budget: int,
                seconds: float) -> Loaded:
    """Every client once (warm-up, not counted: statements prepared, caches filled), then
    each client sends its next request ``think`` ms (0.5-1.5 x, at random) after the last
    was answered - at once for 0, a closed loop - until ``budget`` requests or ``seconds``
    have gone by (as bench/web_load.py does)."""
    pause = random.Random(7)
    outcome = Loaded(name, think=think)
    for failed in await asyncio.gather(*(call() for call in calls), return_exceptions=True):
        if isinstance(failed, (Failed, aiohttp.ClientError, TimeoutError)):
            outcome.errors += 1  # counted (the verdict fails), not timed
            outcome.first_error = outcome.first_error or f"{type(failed).__name__}: {failed}"
        elif isinstance(failed, BaseException):
            raise failed
    issued = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def client(call: Call) -> None:
        nonlocal issued
        if think:  # the clients do not all start at the same instant
            await asyncio.sleep(pause.uniform(0, think / 1000))
        while issued < budget and time.perf_counter() < deadline:
            issued += 1
            sent = time.perf_counter()
            try:
                await call()
            except (Failed, aiohttp.ClientError, TimeoutError) as exc:
                outcome.errors += 1
                outcome.first_error = outcome.first_error or f"{type(exc).__name__}: {exc}"
            else:
                outcome.latencies_ms.append((time.perf_counter() - sent) * 1000)
            if think:
                await asyncio.sleep(pause.uniform(0.5, 1.5) * think / 1000)

    await asyncio.gather(*(client(call) for call in calls))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes ``pids`` have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / ticks


def _api_client(base: str, token: str) -> aiohttp.ClientSession:
    """One system: its own token and one connection at a time."""
    return aiohttp.ClientSession(
        base_url=base, connector=aiohttp.TCPConnector(limit=1),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=aiohttp.ClientTimeout(total=30.0))


async def _api_get(client: aiohttp.ClientSession, url: str) -> bytes:
    async with client.get(url) as response:
        body = await response.read()
        if response.status != 200:
            raise Failed(f"HTTP {response.status} for {url}: {body[:200]!r}")
        return body


def _cursor(start: str | None) -> str:
    from tuopin.api.paging import encode_cursor

    return "" if start is None else f"&cursor={encode_cursor([start])}"


async def _api_phase(base: str, tokens: list[str], sample: Sample, budget: int,
                     seconds: float, think: int, name: str, pids: list[int]) -> Loaded:
    """``name`` through the API, at ``think``, with the server's CPU it took."""
    choose = random.Random(13)
    clients = [_api_client(base, token) for token in tokens]
    try:
        probe = json.loads(await _api_get(clients[0], f"/api/v1/households?limit={PAGE}"
                                          f"{_cursor(sample.starts[0])}"))
        if sample.starts[0] is not None and len(probe["items"]) != PAGE:
            raise RuntimeError(f"a page gave {len(probe['items'])} households, not {PAGE}")

        def read(client: aiohttp.ClientSession) -> Call:
            async def call() -> None:
                await _api_get(client, f"/api/v1/households/{choose.choice(sample.numbers)}")
            return call

        def page(client: aiohttp.ClientSession) -> Call:
            async def call() -> None:
                await _api_get(client, f"/api/v1/households?limit={PAGE}"
                                       f"{_cursor(choose.choice(sample.starts))}")
            return call

        made = {"household read": read, "1000-row page": page}
        cpu = _cpu_seconds(pids)
        outcome = await _loop(name, think, [made[name](c) for c in clients], budget, seconds)
        outcome.cpu_seconds = _cpu_seconds(pids) - cpu  # the warm-up's too (20 requests)
        return outcome
    finally:
        for client in clients:
            await client.close()


READ_SQL = (
    "SELECT * FROM household WHERE number = %s AND village_code LIKE %s",
    "SELECT * FROM member WHERE household_id = %s ORDER BY id",
    "SELECT * FROM survey WHERE household_id = %s ORDER BY year",
    "SELECT h.number, h.name, h.unit, h.phone, a.start_date FROM helper h "
    "JOIN helper_assignment a ON a.helper_id = h.id WHERE a.household_id = %s",
    "SELECT * FROM plan WHERE household_id = %s",
    "SELECT * FROM exit_case WHERE household_id = %s",
    "SELECT * FROM monitoring_case WHERE household_id = %s ORDER BY id",
    "SELECT r.*, run.standard_name, run.year, run.standard_hash FROM assessment_result r "
    "JOIN assessment_run run ON run.id = r.run_id WHERE r.household_id = %s "
    "AND r.village_code LIKE %s ORDER BY run.year DESC, r.run_id DESC LIMIT 1",
)
PAGE_SQL = (f"SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE village_code LIKE %s "
            f"AND number > %s ORDER BY number LIMIT {PAGE}")
FIRST_PAGE_SQL = (f"SELECT {HOUSEHOLD_COLUMNS} FROM household WHERE village_code LIKE %s "
                  f"ORDER BY number LIMIT {PAGE}")


async def _sql_phase(dsn: str, clients: int, sample: Sample, budget: int,
                     seconds: float, think: int, name: str) -> Loaded:
    """The same reads by hand-written SQL through psycopg: one connection per client."""
    import psycopg

    choose = random.Random(13)
    scope = sample.county + "%"
    conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True)
             for _ in range(clients)]
    try:
        def read(conn: psycopg.AsyncConnection) -> Call:
            async def call() -> None:
                cur = await conn.execute(READ_SQL[0], (choose.choice(sample.numbers), scope))
                home = await cur.fetchone()
                if home is None:
                    raise Failed("household not found")
                for sql in READ_SQL[1:-1]:
                    await (await conn.execute(sql, (home[0],))).fetchall()
                await (await conn.execute(READ_SQL[-1], (home[0], scope))).fetchall()
            return call

        def page(conn: psycopg.AsyncConnection) -> Call:
            async def call() -> None:
                start = choose.choice(sample.starts)
                cur = await (conn.execute(FIRST_PAGE_SQL, (scope,)) if start is None
                             else conn.execute(PAGE_SQL, (scope, start)))
                await cur.fetchall()
            return call

        made = {"household read": read, "1000-row page": page}
        return await _loop(name, think, [made[name](c) for c in conns], budget, seconds)
    finally:
        for conn in conns:
            await conn.close()


# ---- the export ---------------------------------------------------------------------------

@dataclass
class Export:
    status: int
    rows: int = 0
    seconds: float = 0.0
    megabytes: float = 0.0
    header: str = ""
    problem: str = ""
    rss_before: dict[int, float] = field(default_factory=dict)
    rss_peak: dict[int, float] = field(default_factory=dict)
    hwm: dict[int, float] = field(default_factory=dict)
    tenths: list[float] = field(default_factory=list)  # RSS at 10%, 20%, ... of the rows
    busiest: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


async def _export(base: str, token: str, expected: int, pids: list[int]) -> Export:
    """The whole members export as one client reads it: a stream, its lines counted, and
    the largest worker RSS each time another tenth of the ``expected`` rows has come."""
    async with aiohttp.ClientSession(
            base_url=base, headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=3600.0, sock_read=120.0)) as client:
        started = time.perf_counter()
        async with client.get("/api/v1/export/members?format=csv") as response:
            if response.status != 200:
                return Export(response.status, problem=(await response.text())[:300])
            lines = size = 0
            head = b""
            tenths: list[float] = []
            async for chunk in response.content.iter_chunked(1 << 16):
                lines += chunk.count(b"\n")
                size += len(chunk)
                if lines >= expected * (len(tenths) + 1) / 10 and len(tenths) < 10:
                    tenths.append(max(status_mb(p, "VmRSS") for p in pids))
                if len(head) < 4096:
                    head += chunk[:4096]
            seconds = time.perf_counter() - started
    header = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    return Export(200, rows=max(lines - 1, 0), seconds=seconds, megabytes=size / 2**20,
                  header=header, tenths=tenths)


def _run_export(base: str, token: str, server: subprocess.Popen[bytes],
                expected: int) -> Export:
    pids = _workers_of(server)
    with RssSampler(pids) as sampler:
        try:
            outcome = asyncio.run(_export(base, token, expected, pids))
        except (aiohttp.ClientError, TimeoutError) as exc:  # a stream cut short
            outcome = Export(0, problem=f"{type(exc).__name__}: {exc}")
    outcome.rss_before, outcome.rss_peak = sampler.before, sampler.peak
    outcome.hwm = {p: status_mb(p, "VmHWM") for p in pids}
    outcome.busiest = sampler.busiest()
    return outcome


def copy_members(dsn: str) -> tuple[float, int]:
    """Baseline step: COPY of every member, in the export's columns and order (the
    importer's, then id and version), to the client, its lines counted."""
    import psycopg

    from tuopin.io.schema import Kind, fields

    columns = [("h.number" if f.name == "household_number" else f"m.{f.name}")
               for f in fields(Kind.MEMBERS)] + ["m.id", "m.version"]
    sql = (f"COPY (SELECT {', '.join(columns)} FROM member m "
           "JOIN household h ON h.id = m.household_id ORDER BY m.id) "
           "TO STDOUT WITH (FORMAT csv, HEADER)")
    lines = 0
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn, conn.cursor().copy(sql) as copy:
        for data in copy:
            lines += bytes(data).count(b"\n")
    return time.perf_counter() - started, lines - 1


@dataclass(frozen=True)
class Step:
    seconds: float
    peak_mb: float
    rows: int


def _measure(step: str, *args: object) -> Step:
    """``step(*args)`` of this module in a fresh interpreter: its time, rows and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.api_load", step, json.dumps([str(a) for a in args])],
        capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{step} failed:\n{done.stdout}\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    result = json.loads(line.removeprefix("BENCH "))
    return Step(result["seconds"], result["peak_mb"], result["extra"])


# ---- the run ------------------------------------------------------------------------------

@dataclass
class Results:
    api: dict[Key, Loaded]
    sql: dict[Key, Loaded]
    read_hwm_mb: float  # the largest worker's peak RSS after the reads and pages
    export: Export
    copy: Step | None
    load_average: tuple[float, float]  # the machine's 1-minute load before and after


def _serve(env: dict[str, str], url: str, dsn: str, sample: Sample) -> Results:
    clients = _setting("clients", 20)
    budget, seconds = _setting("requests", 3000), float(_setting("seconds", 60))
    readers = _make_tokens(url, READER, clients)
    (exporter,) = _make_tokens(url, EXPORTER, 1)
    port = web_load._free_port()
    base = f"http://{HOST}:{port}"
    log = Path(tempfile.mkdtemp(prefix="tuopin-api-")) / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("tuopin")), "serve", "--host", HOST,
             "--port", str(port), "--workers", str(_workers())],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        web_load._wait_ready(base, server)
        before = os.getloadavg()[0]
        pids = _workers_of(server)
        api, sql = {}, {}
        for key in ((t, n) for t in _thinks() for n in ENDPOINTS):  # each beside its baseline
            api[key] = asyncio.run(_api_phase(base, readers, sample, budget, seconds, *key,
                                              pids))
            sql[key] = asyncio.run(_sql_phase(dsn, clients, sample, budget, seconds, *key))
        read_hwm = max(status_mb(p, "VmHWM") for p in _workers_of(server))
        export = _run_export(base, exporter, server, sample.members)
        copy = _measure("copy_members", dsn) if export.status in (200, 404) else None
        return Results(api, sql, read_hwm, export, copy, (before, os.getloadavg()[0]))
    except Exception:
        print(f"server log: {log}", file=sys.stderr)
        raise
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)  # SystemExit, so the finally blocks stop the server and drop the db


HEADER = (f"  {'endpoint':<15} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'req/s':>7} {'cpu ms':>6} | {'baseline':<20} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'req/s':>7} | ratio p95  target")


def _rate(outcome: Outcome) -> float:
    return outcome.requests / outcome.seconds if outcome.seconds else float("nan")


def _row(ours: Loaded, base: Loaded, what: str) -> list[str]:
    target = TARGETS_MS[ours.name]
    p95 = ours.percentile(95)
    verdict = "PASS" if ours.errors == 0 and p95 <= target else "FAIL"
    ratio = p95 / base.percentile(95)
    lines = [f"  {ours.name:<15} {ours.requests:>8} {ours.errors:>6} {ours.percentile(50):>7.1f} "
             f"{p95:>7.1f} {ours.percentile(99):>7.1f} {_rate(ours):>7.1f} {ours.cpu_ms:>6.1f} "
             f"| {what:<20} "
             f"{base.percentile(50):>7.1f} {base.percentile(95):>7.1f} {_rate(base):>7.1f} | "
             f"{ratio:6.1f}x    p95 <= {target:.0f} ms  {verdict}"]
    for outcome, who in ((ours, "API"), (base, "baseline")):
        if outcome.first_error:
            lines.append(f"    first {who} error ({outcome.errors}): {outcome.first_error}")
    return lines


def _export_lines(export: Export, copy: Step | None, members: int) -> list[str]:
    if export.status == 404:
        lines = ["  export members  SKIPPED: GET /api/v1/export/members?format=csv answered 404 "
                 f"(no export endpoint yet?) {export.problem[:120]}"]
        if copy:
            lines.append(f"    baseline alone: COPY TO STDOUT {copy.rows:,} rows in "
                         f"{copy.seconds:.2f} s, {copy.rows / copy.seconds:,.0f} rows/s, "
                         f"client {copy.peak_mb:.0f} MB")
        return lines
    if export.status != 200:
        return [f"  export members  FAIL: HTTP {export.status or '-'}: {export.problem}"]
    assert copy is not None
    pid = export.busiest
    growth = export.rss_peak[pid] - export.rss_before[pid]
    ratio = export.seconds / copy.seconds if copy.seconds else float("nan")
    fast = export.rows_per_second >= EXPORT_TARGET
    complete = export.rows == members
    verdict = "PASS" if fast and complete else "FAIL"
    lines = [
        f"  export members  {export.rows:,} rows ({export.megabytes:,.0f} MB csv) in "
        f"{export.seconds:.2f} s = {export.rows_per_second:,.0f} rows/s | COPY TO STDOUT: "
        f"{copy.seconds:.2f} s {copy.rows / copy.seconds:,.0f} rows/s, client peak "
        f"{copy.peak_mb:.0f} MB | ratio {ratio:.2f}x   >= {EXPORT_TARGET:,} rows/s  {verdict}",
        f"    server memory: the worker that served it {export.rss_before[pid]:.0f} MB "
        f"before, {export.rss_peak[pid]:.0f} MB at most during the export ({growth:+.0f} MB), "
        f"peak RSS (VmHWM) {export.hwm[pid]:.0f} MB; all workers: "
        + ", ".join(f"{export.rss_before[p]:.0f}->{export.rss_peak[p]:.0f} MB"
                    for p in sorted(export.rss_before)),
        "    largest worker RSS at each tenth of the rows (flat memory: no growth with the "
        "rows): " + " ".join(f"{mb:.0f}" for mb in export.tenths) + " MB",
    ]
    if not complete:
        lines.append(f"    the export gave {export.rows:,} rows, the database has "
                     f"{members:,} members")
    return lines


def run() -> list[str]:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    households = _setting("households", 500_000)
    keep = os.environ.get("BENCH_API_KEEP_DB", "") not in ("", "0")
    name = (f"tuopin_bench_api_{households}" if keep
            else f"tuopin_bench_api_{uuid.uuid4().hex[:8]}")
    libpq = PG_SERVER.replace("postgresql+psycopg://", "postgresql://")
    url, dsn = f"{PG_SERVER}/{name}", f"{libpq}/{name}"
    env = {**os.environ, "TUOPIN_DATABASE_URL": url,
           "TUOPIN_SECRET_KEY": secrets.token_urlsafe(32)}
    exists = bool(_psql(libpq, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))
    try:
        if exists and keep and _ready(dsn):
            web_load._tuopin("init", env=env)  # a kept store gets migrations added since
            built = Built(households, 0, None, None, None)
        else:
            _psql(libpq, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _psql(libpq, f'CREATE DATABASE "{name}"')
            built = _build(env, url, dsn, households)
        sample = _sample(dsn)
        results = _serve(env, url, dsn, sample)
    finally:
        if not keep:
            _psql(libpq, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    clients = _setting("clients", 20)
    made = (f"loaded into PostgreSQL in {built.load_seconds:.0f} s ({built.load_mb:.0f} MB), "
            f"assessed in {built.assess_seconds:.0f} s" if built.load_seconds is not None
            else f"kept from an earlier run ({name})")
    lines = [
        f"api: {households:,} households ({sample.members:,} members) {made}; county officer "
        f"of {sample.county} ({sample.county_households:,} households) for reads and pages, "
        f"{clients} concurrent clients each with its own token; `tuopin serve "
        f"--workers {_workers()}`; {os.cpu_count()} CPUs, load average "
        f"{results.load_average[0]:.1f} before, {results.load_average[1]:.1f} after",
    ]
    baselines = {"household read": f"psycopg, {len(READ_SQL)} queries",
                 "1000-row page": "psycopg keyset"}
    shown = None
    for (think, endpoint), ours in results.api.items():
        if think != shown:
            shown = think
            lines.append(f" think time {think} ms" + (" (closed loop)" if not think else
                                                       " (0.5-1.5 x, per client)"))
            lines.append(HEADER)
        lines += _row(ours, results.sql[think, endpoint], baselines[endpoint])
    lines.append(f"  cpu ms: the server workers' CPU per request; server peak RSS after the "
                 f"reads and pages: {results.read_hwm_mb:.0f} MB (the largest worker)")
    lines += _export_lines(results.export, results.copy, sample.members)
    return lines


if __name__ == "__main__":  # a baseline step in its own process, as bench.steps runs them
    found = globals()[sys.argv[1]](*json.loads(sys.argv[2]))
    seconds, extra = found
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (larger) parent
    peak = status_mb(os.getpid(), "VmHWM")
    print("BENCH " + json.dumps({"seconds": seconds, "peak_mb": peak, "extra": extra}))
