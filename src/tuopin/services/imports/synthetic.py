"""Loading the synthetic registry straight into the store, through the import path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine

from tuopin.io.readers import raw_from_table
from tuopin.io.schema import Kind
from tuopin.services.imports.files import ImportResult, import_raw, raise_for
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate_tables


def load_synthetic(
    engine: Engine, *, config: SynthConfig, actor: str, today: date,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Generate ``config`` chunk by chunk and import each chunk; returns rows per kind."""
    counts: dict[str, int] = {}
    for kind, table in generate_tables(config):
        raw = raw_from_table(table, f"synth-{config.seed}-{kind.value}")
        result: ImportResult = import_raw(engine, kind=kind, raw=raw, actor=actor, today=today)
        raise_for(result)
        counts[kind.value] = counts.get(kind.value, 0) + result.rows
        if progress is not None and kind is Kind.HOUSEHOLDS:
            progress(counts[kind.value], config.households)
    return counts
