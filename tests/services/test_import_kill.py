"""A process killed in the middle of an import leaves the store exactly as it was."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from factories import OPERATOR
from tuopin.services import audit
from tuopin.storage.db import make_engine
from tuopin.storage.models import MemberRecord
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate

HOUSEHOLDS = 20_000
OPERATOR_NAME = "kill-test"  # the command line's operator, as the audit trail names them


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    generate(SynthConfig(households=HOUSEHOLDS, seed=7), folder)
    return folder


def tuopin(url: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TUOPIN_DATABASE_URL": url, "TUOPIN_OPERATOR": OPERATOR_NAME}
    return subprocess.Popen([sys.executable, "-m", "tuopin.cli.main", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def writing_started(engine: Engine, url: str, pid: int) -> bool:
    """True once the importer has begun writing rows inside its transaction."""
    if url.startswith("sqlite"):
        # the store keeps a transaction's pages in memory until it commits (cache_spill off,
        # storage/db.py): the sign is the write lock the import holds, tried without waiting
        path = url.removeprefix("sqlite:///")
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    with engine.connect() as conn:
        # this database only: other tests (and other runs) share the server
        query = text("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                     "AND datname = current_database() AND state = 'active' "
                     "AND (query ILIKE 'COPY%' OR query ILIKE 'INSERT%')")
        return bool(conn.execute(query).scalar_one())


def snapshot(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        members = conn.execute(select(func.count()).select_from(MemberRecord)).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
        head = conn.execute(text("SELECT last_id FROM audit_head")).scalar_one()
    return members, events, head


def test_kill_9_during_an_import_leaves_the_store_unchanged(
    db_url: str, registry: Path
) -> None:
    for kind in ("regions", "households"):
        done = tuopin(db_url, "import", kind, str(registry / f"{kind}.csv"))
        assert done.wait(timeout=120) == 0, done.stderr.read() if done.stderr else ""
    engine = make_engine(db_url)
    before = snapshot(engine)
    victim = tuopin(db_url, "import", "members", str(registry / "members.csv"))
    deadline = time.monotonic() + 120
    while not writing_started(engine, db_url, victim.pid):
        assert victim.poll() is None, "the import finished before it could be killed"
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.02)
    if db_url.startswith("sqlite"):
        time.sleep(0.5)  # into the transaction's rows, not at its BEGIN
        assert victim.poll() is None, "the import finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    engine.dispose()
    engine = make_engine(db_url)  # a new process opens the store after the crash
    assert snapshot(engine) == before
    with Session(engine) as db:
        assert audit.verify(db, principal=OPERATOR).ok
    retry = tuopin(db_url, "import", "members", str(registry / "members.csv"))
    assert retry.wait(timeout=180) == 0
    assert snapshot(engine)[0] > before[0]
    with Session(engine) as db:
        (event,) = audit.history(db, principal=OPERATOR, entity="members")
        assert (event["action"], event["actor"]) == ("import", f"cli:{OPERATOR_NAME}")
        assert audit.verify(db, principal=OPERATOR).ok
    engine.dispose()
