"""Web load: 20 concurrent logged-in clients against `tuopin serve` on PostgreSQL.

A throwaway database gets ``BENCH_WEB_HOUSEHOLDS`` synthetic households (default 500,000,
`tuopin synth --seed 5` loaded straight into the store), one cn-national 2020 assessment
and a county officer for the county of the first household. `tuopin serve` then runs on a
free port of 127.0.0.1 with ``BENCH_WEB_WORKERS`` processes (default 2) and each endpoint in
turn — the household page, search, the county dashboard — gets ``BENCH_WEB_CLIENTS``
clients (default 20), each with its own session, until ``BENCH_WEB_REQUESTS`` requests
(default 3000) or ``BENCH_WEB_SECONDS`` (default 60) have gone by. This is done for each
think time of ``BENCH_WEB_THINK_MS`` (default "0,1000"): 0 is a closed loop (each client
sends its next request the moment the last one is answered: a stress figure), 1000 has
each client wait 0.5-1.5 s between requests, as people at a browser do. Latency is measured
by the client (request sent to body read), on the same machine as the server and
PostgreSQL, which share its 2 cores with the load generator: aiohttp, which costs about a
quarter of httpx's CPU per request (0.3 against 1.2 ms), CPU the server's pages would
otherwise lose. The server is stopped and the database dropped at the end, whatever happens.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx2

from bench.common import ROOT, measure
from bench.registry import PG_SERVER

HOST = "127.0.0.1"
USERNAME = "bench_county"
TARGETS_MS = {"household page": 150.0, "search": 150.0, "county dashboard": 300.0}
SAMPLE = 2000  # household numbers and member names read from the database for the requests


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _tuopin(*args: str, env: dict[str, str], stdin: str | None = None) -> float:
    """Run the tuopin CLI (of this interpreter's environment); its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).with_name("tuopin")), *args], env=env,
                          input=stdin, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"tuopin {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def _sample(dsn: str) -> tuple[str, list[str], list[str]]:
    """The county of the first household, and numbers and member names from that county."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        first = conn.execute("SELECT village_code FROM household ORDER BY number LIMIT 1")
        row = first.fetchone()
        assert row is not None, "no households were loaded"
        county = row[0][:6]
        # TABLESAMPLE would be quicker but may miss a small county; random() is a few 100 ms.
        numbers = [r[0] for r in conn.execute(
            "SELECT number FROM household WHERE village_code LIKE %s ORDER BY random() LIMIT %s",
            (county + "%", SAMPLE))]
        names = [r[0] for r in conn.execute(
            "SELECT m.name FROM member m JOIN household h ON h.id = m.household_id "
            "WHERE h.village_code LIKE %s ORDER BY random() LIMIT %s", (county + "%", SAMPLE))]
    return county, numbers, names


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"tuopin serve exited with {server.returncode}")
        try:
            if httpx2.get(f"{base}/login", timeout=2.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"tuopin serve did not answer {base}/login in {timeout:.0f} s")


@dataclass
class Outcome:
    """What one endpoint's run gave: latencies of successful requests, errors, wall time."""

    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    first_error: str | None = None

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    def percentile(self, p: int) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]

    def line(self) -> str:
        target = TARGETS_MS[self.name]
        p95 = self.percentile(95)
        verdict = "PASS" if self.errors == 0 and p95 <= target else "FAIL"
        rate = self.requests / self.seconds if self.seconds else float("nan")
        return (f"  {self.name:<17} {self.requests:>8} {self.errors:>6} "
                f"{self.percentile(50):>8.1f} {p95:>8.1f} {self.percentile(99):>8.1f} "
                f"{rate:>8.1f}   p95 <= {target:.0f} ms  {verdict}")


HEADER = (f"  {'endpoint':<17} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'req/s':>8}   target")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(base: str) -> aiohttp.ClientSession:
    """One browser: its own cookies (the session) and one connection at a time."""
    return aiohttp.ClientSession(
        base_url=base, connector=aiohttp.TCPConnector(limit=1),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # keep cookies of an IP address
        timeout=aiohttp.ClientTimeout(total=30.0))


async def _login(client: aiohttp.ClientSession, password: str) -> None:
    async with client.get("/login") as form:
        found = TOKEN.search(await form.text())
    assert found, "no csrf_token in the login form"
    async with client.post("/login", allow_redirects=False, data={
            "username": USERNAME, "password": password, "csrf_token": found.group(1),
            "next": "/"}) as done:
        if done.status != 303:
            raise RuntimeError(f"login failed: HTTP {done.status}")


async def _get(client: aiohttp.ClientSession, url: str) -> int:
    """GET ``url`` and read the whole body; the status."""
    async with client.get(url) as response:
        await response.read()
        return response.status


async def _load(base: str, password: str, endpoints: dict[str, Callable[[], str]],
                clients: int, budget: int, seconds: float,
                think_ms: list[int]) -> list[tuple[int, Outcome]]:
    """Each endpoint in turn: ``clients`` sessions until ``budget`` requests or ``seconds``."""
    sessions = [_client(base) for _ in range(clients)]
    try:
        for session in sessions:  # one after the other: argon2 is meant to be slow
            await _login(session, password)
        outcomes = []
        pause = random.Random(7)
        for think, (name, path) in ((t, e) for t in think_ms for e in endpoints.items()):
            # warm up, not counted: every client once, so that each worker process has
            # parsed its templates and the standard and prepared its statements
            await asyncio.gather(*(_get(session, path()) for session in sessions))
            outcome = Outcome(name)
            issued = 0
            started = time.perf_counter()
            deadline = started + seconds

            async def worker(session: aiohttp.ClientSession, outcome: Outcome = outcome,
                             path: Callable[[], str] = path, deadline: float = deadline,
                             think: int = think) -> None:
                nonlocal issued
                if think:  # the clients do not all start at the same instant
                    await asyncio.sleep(pause.uniform(0, think / 1000))
                while issued < budget and time.perf_counter() < deadline:
                    issued += 1
                    url = path()
                    sent = time.perf_counter()
                    try:
                        status = await _get(session, url)
                        ok, problem = status == 200, f"HTTP {status} for {url}"
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        ok, problem = False, f"{type(exc).__name__} for {url}"
                    if ok:
                        outcome.latencies_ms.append((time.perf_counter() - sent) * 1000)
                    else:
                        outcome.errors += 1
                        outcome.first_error = outcome.first_error or problem
                    if think:
                        await asyncio.sleep(pause.uniform(0.5, 1.5) * think / 1000)

            await asyncio.gather(*(worker(s) for s in sessions))
            outcome.seconds = time.perf_counter() - started
            outcomes.append((think, outcome))
        return outcomes
    finally:
        for session in sessions:
            await session.close()


def _endpoints(numbers: list[str], names: list[str]) -> dict[str, Callable[[], str]]:
    from urllib.parse import quote

    choose = random.Random(5)

    def search() -> str:
        if choose.random() < 0.5:  # a number prefix: the village part and 0-2 more digits
            number = choose.choice(numbers)
            text = number[: choose.randint(12, 14)]
        else:
            text = choose.choice(names)
        return f"/households?q={quote(text)}"

    return {"household page": lambda: f"/households/{choose.choice(numbers)}",
            "search": search, "county dashboard": lambda: "/"}


def _serve_and_load(env: dict[str, str], numbers: list[str], names: list[str],
                    password: str) -> list[tuple[int, Outcome]]:
    port = _free_port()
    base = f"http://{HOST}:{port}"
    log = Path(tempfile.mkdtemp(prefix="tuopin-web-")) / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("tuopin")), "serve", "--host", HOST,
             "--port", str(port), "--workers", str(_env_int("BENCH_WEB_WORKERS", 2))],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        _wait_ready(base, server)
        return asyncio.run(_load(
            base, password, _endpoints(numbers, names),
            clients=_env_int("BENCH_WEB_CLIENTS", 20),
            budget=_env_int("BENCH_WEB_REQUESTS", 3000),
            seconds=float(_env_int("BENCH_WEB_SECONDS", 60)),
            think_ms=[int(t) for t in os.environ.get("BENCH_WEB_THINK_MS", "0,1000").split(",")]))
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


def run() -> list[str]:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    households = _env_int("BENCH_WEB_HOUSEHOLDS", 500_000)
    name = f"tuopin_bench_web_{uuid.uuid4().hex[:8]}"
    libpq = PG_SERVER.replace("postgresql+psycopg://", "postgresql://")
    url = f"{PG_SERVER}/{name}"
    password = secrets.token_urlsafe(16)
    env = {**os.environ, "TUOPIN_DATABASE_URL": url,
           "TUOPIN_SECRET_KEY": secrets.token_urlsafe(32)}
    subprocess.run(["psql", f"{libpq}/postgres", "-qc", f'CREATE DATABASE "{name}"'],
                   check=True)
    try:
        _tuopin("init", env=env)
        loaded = measure("synth into db", "web_synth_into_db", url, households, 5)
        assessed = _tuopin("assess", "--standard", "cn-national", "--year", "2020",
                           "--format", "json", env=env)
        county, numbers, names = _sample(f"{libpq}/{name}")
        _tuopin("users", "add", USERNAME, "--role", "county_officer", "--region", county,
                "--password-stdin", env=env, stdin=password + "\n")
        outcomes = _serve_and_load(env, numbers, names, password)
    finally:
        subprocess.run(["psql", f"{libpq}/postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=False)
    clients = _env_int("BENCH_WEB_CLIENTS", 20)
    lines = [
        f"web: {households:,} households ({loaded.extra:,} members) loaded into PostgreSQL "
        f"in {loaded.seconds:.0f} s ({loaded.peak_mb:.0f} MB), assessed in {assessed:.0f} s; "
        f"county officer of {county}, {clients} concurrent clients, `tuopin serve --workers "
        f"{_env_int('BENCH_WEB_WORKERS', 2)}`",
    ]
    shown = None
    for think, outcome in outcomes:
        if think != shown:
            shown = think
            lines.append(f" think time {think} ms" + (" (closed loop)" if not think else
                                                       " (0.5-1.5 x, per client)"))
            lines.append(HEADER)
        lines.append(outcome.line())
        if outcome.first_error:
            lines.append(f"    first error: {outcome.first_error}")
    return lines
