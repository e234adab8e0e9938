"""Loading the synthetic registry and its books of funds straight into the store, through
the import path: per county, its registry, then its funds, projects, allocations and
disbursements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine

from tuopin.io.readers import raw_from_table
from tuopin.io.schema import Kind
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.imports.files import ImportResult, import_raw, raise_for
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate_tables


@changes(Action.LOAD_SYNTHETIC)
def load_synthetic(
    engine: Engine, *, principal: Principal, config: SynthConfig, today: date,
    progress: Callable[[int, int], None] | None = None,
    planted: list[tuple[str, str]] | None = None,
    truth: list[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Generate ``config`` chunk by chunk and import each chunk; returns rows per kind (the
    planted cases, if any, are added to ``planted`` as (rule, subject), and the planted
    classification errors to ``truth`` as (household number, error))."""
    counts: dict[str, int] = {}
    for kind, table in generate_tables(config, planted=planted, truth=truth):
        raw = raw_from_table(table, f"synth-{config.seed}-{kind.value}")
        result: ImportResult = import_raw(engine, principal=principal, kind=kind, raw=raw,
                                           today=today)
        raise_for(result)
        counts[kind.value] = counts.get(kind.value, 0) + result.rows
        if progress is not None and kind is Kind.HOUSEHOLDS:
            progress(counts[kind.value], config.households)
    return counts
