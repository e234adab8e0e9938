"""`tuopin doctor` names each misconfiguration of a deployment, and passes a sound one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from factories import OPERATOR, user
from tuopin.config import Settings
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied
from tuopin.services.jobs import heartbeat
from tuopin.services.ops import doctor
from tuopin.services.ops.doctor import Level
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory

NOW = 1_800_000_000.0
GOOD_KEY = "k3Y-9f_QzT7wLp2Xc8VbN4mRa6HsJd1E"  # 32 characters, all different


def settings(url: str, data_dir: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url, "data_dir": data_dir, "secret_key": GOOD_KEY,
        "public_url": "https://tuopin.example.gov.cn", "cookie_secure": True, **changes}
    return Settings(**values)


def beat(engine: Engine, seen: float) -> None:
    with session_factory(engine)() as db, db.begin():
        heartbeat.beat(db, name="host:1", started_at=seen, running=0, concurrency=2, now=seen)


def found(given: Settings, engine: Engine, *, which: doctor.Which = lambda _: "/usr/bin/x"
          ) -> dict[str, doctor.Finding]:
    diagnosis = doctor.diagnose(principal=OPERATOR, settings=given, engine=engine, now=NOW,
                                which=which)
    return {f.check: f for f in diagnosis.findings}


@pytest.fixture
def sound(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """A deployment with nothing wrong: a strong key, HTTPS with Secure cookies, the newest
    schema, a writable data dir and a worker seen 5 seconds ago."""
    engine = make_engine(sqlite_url)
    beat(engine, NOW - 5)
    (tmp_path / "data").mkdir()
    yield settings(sqlite_url, tmp_path / "data"), engine
    engine.dispose()


def test_a_sound_deployment_is_all_ok(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    diagnosis = doctor.diagnose(principal=OPERATOR, settings=given, engine=engine, now=NOW)
    assert [(f.check, f.level) for f in diagnosis.findings] == [
        (name, Level.OK) for name in ("secret_key", "cookie_secure", "database", "data_dir",
                                      "worker", "pg_dump")]
    assert diagnosis.errors == diagnosis.warnings == 0


def test_an_unset_secret_key_is_an_error(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    finding = found(given.model_copy(update={"secret_key": None}), engine)["secret_key"]
    assert finding.level is Level.ERROR
    assert "TUOPIN_SECRET_KEY" in finding.message and finding.fix is not None


@pytest.mark.parametrize("key", ["short-but-random-K3y", "ab" * 24],
                         ids=["too short", "too little variety"])
def test_a_weak_secret_key_is_an_error(sound: tuple[Settings, Engine], key: str) -> None:
    given, engine = sound
    changed = Settings(**{**given.model_dump(), "secret_key": key})
    finding = found(changed, engine)["secret_key"]
    assert finding.level is Level.ERROR and "weak" in finding.message
    assert key not in finding.message  # the key itself is never printed


def test_cookies_not_secure_behind_https_are_an_error(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    finding = found(given.model_copy(update={"cookie_secure": False}), engine)["cookie_secure"]
    assert finding.level is Level.ERROR and "TUOPIN_COOKIE_SECURE" in str(finding.fix)


def test_cookies_not_secure_with_no_public_url_are_a_warning(
        sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    changed = given.model_copy(update={"cookie_secure": False, "public_url": None})
    assert found(changed, engine)["cookie_secure"].level is Level.WARNING


def test_secure_cookies_over_plain_http_are_an_error(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    changed = given.model_copy(update={"public_url": "http://10.1.2.3"})
    assert found(changed, engine)["cookie_secure"].level is Level.ERROR


def test_an_unreachable_database_is_an_error(tmp_path: Path) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    try:
        result = found(settings("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", tmp_path),
                       engine)
    finally:
        engine.dispose()
    assert result["database"].level is Level.ERROR
    assert "cannot be reached" in result["database"].message
    assert result["worker"].level is Level.WARNING  # cannot be told: not a second error


def test_a_database_without_the_schema_is_an_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'blank.db'}"
    engine = make_engine(url)
    try:
        finding = found(settings(url, tmp_path), engine)["database"]
    finally:
        engine.dispose()
    assert finding.level is Level.ERROR and "tuopin init" in str(finding.fix)


def test_a_database_behind_the_newest_schema_is_an_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0001")
        finding = found(settings(url, tmp_path), engine)["database"]
    finally:
        engine.dispose()
    assert finding.level is Level.ERROR
    assert finding.message.values["current"] == "0001"
    assert "tuopin init" in str(finding.fix)


def test_a_data_dir_that_cannot_be_written_is_an_error(sound: tuple[Settings, Engine],
                                                       tmp_path: Path) -> None:
    given, engine = sound
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")  # fails even for root
    finding = found(given.model_copy(update={"data_dir": blocked}), engine)["data_dir"]
    assert finding.level is Level.ERROR and str(blocked) in finding.message


def test_a_missing_data_dir_that_can_be_made_is_a_warning(sound: tuple[Settings, Engine],
                                                          tmp_path: Path) -> None:
    given, engine = sound
    changed = given.model_copy(update={"data_dir": tmp_path / "not" / "yet"})
    assert found(changed, engine)["data_dir"].level is Level.WARNING


def test_no_worker_ever_is_an_error(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    try:
        finding = found(settings(sqlite_url, tmp_path), engine)["worker"]
    finally:
        engine.dispose()
    assert finding.level is Level.ERROR and "tuopin worker" in str(finding.fix)


def test_a_worker_not_seen_for_long_is_an_error(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    beat(engine, NOW - heartbeat.FRESH_SECONDS - 30)
    finding = found(given, engine)["worker"]
    assert finding.level is Level.ERROR
    assert finding.message.values["seconds"] == heartbeat.FRESH_SECONDS + 30


@pytest.mark.postgres
def test_pg_dump_missing_for_postgresql_is_an_error(pg_url: str, tmp_path: Path) -> None:
    engine = make_engine(pg_url)
    try:
        beat(engine, NOW)
        result = found(settings(pg_url, tmp_path), engine, which=lambda _: None)
    finally:
        engine.dispose()
    assert result["database"].level is Level.OK
    assert result["pg_dump"].level is Level.ERROR
    assert "pg_dump pg_restore" in result["pg_dump"].message


def test_pg_dump_is_not_needed_for_sqlite(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    assert found(given, engine, which=lambda _: None)["pg_dump"].level is Level.OK


def test_findings_read_in_chinese_and_english(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    finding = found(given.model_copy(update={"secret_key": None}), engine)["secret_key"]
    zh, en = finding.as_row("zh"), finding.as_row("en")
    assert en["message"].startswith("TUOPIN_SECRET_KEY is not set")
    assert zh["message"] != en["message"] and zh["fix"] != en["fix"]


def test_only_an_administrator_may_run_the_doctor(sound: tuple[Settings, Engine]) -> None:
    given, engine = sound
    with pytest.raises(PermissionDenied):
        doctor.diagnose(principal=user(Role.COUNTY_OFFICER, "621121"), settings=given,
                        engine=engine, now=NOW)
