"""The snapshot use cases: take one of a current store, open one after checking its manifest."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from factories import OPERATOR
from tuopin.domain.errors import ConfigurationError, NotFound
from tuopin.services.assessment import snapshots
from tuopin.services.imports.synthetic import load_synthetic
from tuopin.storage.db import make_engine
from tuopin.storage.snapshot import MANIFEST
from tuopin.synth.config import SynthConfig

TAKEN_AT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def test_a_snapshot_taken_opens_on_duckdb_with_the_same_counts(
    engine: Engine, tmp_path: Path, today: date,
) -> None:
    counts = load_synthetic(engine, principal=OPERATOR,
                            config=SynthConfig(households=40, seed=3), today=today)
    taken = snapshots.take_snapshot(engine, principal=OPERATOR, out_dir=tmp_path / "snap",
                                    taken_at=TAKEN_AT)
    manifest, registry = snapshots.open_snapshot(tmp_path / "snap")
    try:
        assert manifest == taken
        assert registry.household.count().execute() == counts["households"] == 40
        assert registry.member.count().execute() == counts["members"]
        assert registry.survey.count().execute() == counts["surveys"]
    finally:
        snapshots.close(registry)


def test_a_store_behind_the_newest_schema_is_not_snapshotted(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        with pytest.raises(ConfigurationError, match="tuopin init"):
            snapshots.take_snapshot(engine, principal=OPERATOR, out_dir=tmp_path / "snap",
                                    taken_at=TAKEN_AT)
    finally:
        engine.dispose()
    assert not (tmp_path / "snap").exists()


def test_a_snapshot_of_another_format_is_refused(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps({
        "format": 99, "taken_at": TAKEN_AT.isoformat(), "backend": "sqlite",
        "alembic_revision": "0001", "rows": {}, "tuopin_version": "9.0"}))
    with pytest.raises(ConfigurationError, match="format 99"):
        snapshots.open_snapshot(tmp_path)


def test_a_partial_snapshot_is_refused(tmp_path: Path) -> None:
    (tmp_path / "member").mkdir()
    with pytest.raises(NotFound, match="no complete snapshot"):
        snapshots.open_snapshot(tmp_path)
