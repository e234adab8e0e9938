"""`tuopin doctor`, `tuopin uploads prune`, `tuopin audit anchor` and `audit verify --anchor`
(on a CLI assembled as cli/main.py assembles it)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from tuopin.cli import audit_cmd, main, ops_cmd
from tuopin.services import audit
from tuopin.services.jobs import heartbeat
from tuopin.storage.db import make_engine, session_factory

runner = CliRunner()
app = typer.Typer()
app.callback()(main.root)
ops_cmd.register(app)
app.add_typer(audit_cmd.app, name="audit")
KEY = "k3Y-9f_QzT7wLp2Xc8VbN4mRa6HsJd1E"


def tuopin(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, "--operator", "ops", *args],
                           catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def deployment(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A sound deployment on SQLite: key, HTTPS, data dir and a live worker."""
    for name in [n for n in os.environ if n.startswith("TUOPIN_")]:
        monkeypatch.delenv(name)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("TUOPIN_SECRET_KEY", KEY)
    monkeypatch.setenv("TUOPIN_PUBLIC_URL", "https://tuopin.example.gov.cn")
    monkeypatch.setenv("TUOPIN_COOKIE_SECURE", "true")
    monkeypatch.setenv("TUOPIN_DATA_DIR", str(tmp_path / "data"))
    engine = make_engine(sqlite_url)
    with session_factory(engine)() as db, db.begin():
        heartbeat.beat(db, name="host:1", started_at=time.time(), running=0, concurrency=1,
                       now=time.time())
    engine.dispose()
    return sqlite_url


def test_doctor_passes_a_sound_deployment(deployment: str) -> None:
    code, out, _ = tuopin(deployment, "doctor", "--lang", "en")
    assert code == 0, out
    assert "0 errors, 0 warnings" in out


def test_doctor_exits_1_and_says_what_to_do(deployment: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUOPIN_SECRET_KEY")
    monkeypatch.setenv("TUOPIN_COOKIE_SECURE", "false")
    code, out, _ = tuopin(deployment, "doctor", "--format", "json", "--lang", "en")
    assert code == 1
    rows = {r["check"]: r for r in json.loads(out)}
    assert rows["secret_key"]["level"] == rows["cookie_secure"]["level"] == "error"
    assert "TUOPIN_COOKIE_SECURE=true" in rows["cookie_secure"]["fix"]
    assert rows["database"]["level"] == "ok"


def test_doctor_speaks_chinese_by_default(deployment: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUOPIN_SECRET_KEY")
    code, out, _ = tuopin(deployment, "doctor")
    assert code == 1 and "未设置 TUOPIN_SECRET_KEY" in out


def test_prune_dry_run_lists_and_keeps_then_prune_removes(deployment: str,
                                                          tmp_path: Path) -> None:
    orphan = tmp_path / "data" / "uploads" / ("c" * 32) / "validated.parquet"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"x" * 10)
    old = time.time() - 3 * 86_400
    os.utime(orphan, (old, old))
    os.utime(orphan.parent, (old, old))  # a folder counts as new as its newest entry
    code, out, _ = tuopin(deployment, "uploads", "prune", "--dry-run", "--format", "json")
    assert code == 0
    assert json.loads(out) == [{"kind": "upload", "path": f"uploads/{'c' * 32}", "size": 10}]
    assert orphan.exists()
    code, out, err = tuopin(deployment, "uploads", "prune", "--older-than", "2")
    assert code == 0 and "removed 1 files and folders, 10 bytes" in err
    assert not orphan.parent.exists()


def test_anchor_then_verify_catches_a_recomputed_chain(deployment: str,
                                                       tmp_path: Path) -> None:
    engine = make_engine(deployment)
    for i in range(3):
        with engine.begin() as conn:
            audit.record(conn, actor="tester", action="edit", entity="household",
                         entity_id=f"H{i}")
    anchors = tmp_path / "anchors.txt"
    code, out, _ = tuopin(deployment, "audit", "anchor", "--out", str(anchors))
    assert code == 0 and out.split()[1] == "3"
    assert anchors.read_text().strip() == out.strip()
    code, out, _ = tuopin(deployment, "audit", "verify", "--anchor", str(anchors))
    assert code == 0 and "every anchored head holds: 1 anchors" in out
    with engine.begin() as conn:  # rewrite event 1 and recompute the whole chain
        prev = audit.GENESIS
        for row in conn.execute(text("SELECT * FROM audit_event ORDER BY id")).mappings().all():
            actor = "forger" if row["id"] == 1 else row["actor"]
            new = audit.event_hash(id=row["id"], at=row["at"], actor=actor,
                                   action=row["action"], entity=row["entity"],
                                   entity_id=row["entity_id"], before=row["before"],
                                   after=row["after"], prev_hash=prev)
            conn.execute(text("UPDATE audit_event SET actor = :a, prev_hash = :p, hash = :h "
                              "WHERE id = :i"), {"a": actor, "p": prev, "h": new, "i": row["id"]})
            prev = new
        conn.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})
    engine.dispose()
    assert tuopin(deployment, "audit", "verify")[0] == 0  # the chain alone is fooled
    code, out, _ = tuopin(deployment, "audit", "verify", "--anchor", str(anchors),
                          "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["anchor_problem"] == "rewritten" and data["anchors"] == 1
