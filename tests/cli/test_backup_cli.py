"""`tuopin backup` and `tuopin restore`: a round trip through the command line on both
stores, a full target refused without --force, a mismatch that exits non-zero."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from factories import registry_files
from tuopin.cli.main import app
from tuopin.domain.errors import ValidationFailed

runner = CliRunner()


def tuopin(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--database-url", url, *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def loaded(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store with a small registry, and a data dir with an evidence file."""
    for kind, path in registry_files(tmp_path).items():
        code, out, err = tuopin(db_url, "import", kind, str(path))
        assert code == 0, out + err
    evidence = tmp_path / "data" / "evidence" / "ab" / "ab12.png"
    evidence.parent.mkdir(parents=True)
    evidence.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    monkeypatch.setenv("TUOPIN_DATA_DIR", str(tmp_path / "data"))
    return db_url


@pytest.fixture
def target(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """A blank store of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    name = f"tuopin_r_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{db_url.rsplit('/', 1)[0]}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_backup_then_restore_round_trips_and_reports_each_check(
        loaded: str, target: str, tmp_path: Path) -> None:
    code, out, err = tuopin(loaded, "backup", "--out", str(tmp_path / "bk"), "--format", "json")
    assert code == 0, err
    written = json.loads(out)
    assert (written["files"], written["database"]) == (2, loaded.split(":")[0].split("+")[0])
    restored = tmp_path / "restored-data"
    code, out, err = tuopin(loaded, "restore", str(tmp_path / "bk"), "--into", target,
                            "--data-dir", str(restored), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and [c["check"] for c in report["checks"]] == [
        "checksums", "files", "revision", "counts", "audit chain"]
    assert (restored / "evidence" / "ab" / "ab12.png").exists()
    code, out, _ = tuopin(target, "summary", "--format", "json")
    assert code == 0 and json.loads(out)["households"] == 3
    code, out, _ = tuopin(target, "audit", "verify", "--format", "json")
    assert code == 0 and json.loads(out)["head_hash"] == written["audit head"]


def test_a_target_with_records_needs_force(loaded: str, target: str, tmp_path: Path) -> None:
    tuopin(loaded, "backup", "--out", str(tmp_path / "bk"))
    args = ["restore", str(tmp_path / "bk"), "--into", target]
    assert tuopin(loaded, *args)[0] == 0
    with pytest.raises(ValidationFailed, match="not empty"):
        tuopin(loaded, *args)
    code, out, _ = tuopin(loaded, *args, "--force")
    assert code == 0 and "audit chain" in out


def test_a_count_that_differs_from_the_manifest_exits_non_zero(
        loaded: str, target: str, tmp_path: Path) -> None:
    tuopin(loaded, "backup", "--out", str(tmp_path / "bk"))
    manifest_path = tmp_path / "bk" / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["counts"]["household"] = 4
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    code, out, _ = tuopin(loaded, "restore", str(tmp_path / "bk"), "--into", target,
                          "--format", "json")
    failed = [c for c in json.loads(out)["checks"] if not c["ok"]]
    assert code == 1 and [(c["check"], c["detail"]) for c in failed] == [
        ("counts", "household: 3 (backup: 4)")]


def test_a_corrupted_backup_is_refused_naming_the_file(loaded: str, target: str,
                                                       tmp_path: Path) -> None:
    tuopin(loaded, "backup", "--out", str(tmp_path / "bk"))
    evidence = tmp_path / "bk" / "files" / "evidence" / "ab" / "ab12.png"
    evidence.write_bytes(evidence.read_bytes()[:-1] + b"1")
    with pytest.raises(ValidationFailed, match="files/evidence/ab/ab12.png is corrupted"):
        tuopin(loaded, "restore", str(tmp_path / "bk"), "--into", target)
