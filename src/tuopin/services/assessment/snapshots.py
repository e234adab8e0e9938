"""Snapshots as use cases: take one of the store, open one for analytics (DuckDB or Spark)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from tuopin.analytics import backends
from tuopin.domain.errors import ConfigurationError, PermissionDenied
from tuopin.services.access.policy import NOT_ALLOWED, Action, reads
from tuopin.services.access.principal import Principal
from tuopin.storage import migrate
from tuopin.storage.snapshot import SnapshotManifest, read_manifest, write_snapshot


@reads(Action.ASSESS)
def take_snapshot(engine: Engine, *, principal: Principal, out_dir: Path,
                  taken_at: datetime) -> SnapshotManifest:
    """Write the whole store behind ``engine`` to ``out_dir`` as a Parquet snapshot (for the
    command line's operator: a snapshot holds every region)."""
    if not principal.operator:
        raise PermissionDenied(NOT_ALLOWED)
    # An older schema would give a snapshot the analytics cannot read; say so up front.
    if not migrate.is_current(engine):
        raise ConfigurationError("the store is not at the newest schema: run `tuopin init`")
    url = engine.url.render_as_string(hide_password=False)
    return write_snapshot(url, out_dir, taken_at=taken_at)


def open_snapshot(
    path: Path, *, engine: str = "duckdb", master: str | None = None,
) -> tuple[SnapshotManifest, backends.Registry]:
    """The snapshot's manifest and its registry on ``engine`` (close it with ``close``)."""
    manifest = read_manifest(path)  # refuses a partial snapshot or a format we cannot read
    return manifest, backends.open_snapshot(path, engine=engine, master=master)


def close(registry: backends.Registry) -> None:
    """Release a registry from ``open_snapshot``."""
    backends.close(registry)
