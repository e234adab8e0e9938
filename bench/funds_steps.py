"""Funds benchmark steps: `tuopin funds check` on DuckDB over a snapshot, and the same rules
by hand in DuckDB SQL (bench/funds_sql.py).

Each returns seconds for every rule's findings on the snapshot and their count, and writes
the findings to ``out`` as JSON, {rule: [[subject, amount, [related numbers]], ...]}, after
the clock stops, so the runner can check that the two agree finding by finding.
"""

from __future__ import annotations

import json
import time
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import ROOT

RULES_FILE = ROOT / "src" / "tuopin" / "domain" / "data" / "fund_rules.toml"
Findings = dict[str, list[tuple[str, str, list[str]]]]


def _save(found: Findings, out: str) -> int:
    rows = {rule: sorted([subject, amount, sorted(set(related))]
                         for subject, amount, related in found_rows)
            for rule, found_rows in found.items()}
    Path(out).write_text(json.dumps(rows), encoding="utf-8")
    return sum(len(r) for r in rows.values())


def tuopin_check(snapshot: str, day: str, out: str) -> tuple[float, int]:
    """The service behind `tuopin funds check --engine duckdb --snapshot`, as an operator."""
    import ibis
    from sqlalchemy import create_engine

    from tuopin.analytics import funds  # noqa: F401  (imported before the clock, as SQL's)
    from tuopin.services.access.principal import Principal
    from tuopin.services.funds.checks import check

    # Ibis loads its DuckDB backend, and on the first result its converter (which imports
    # pandas, ~1 s), before the clock, as the SQL baseline imports duckdb before its own.
    warm = ibis.duckdb.connect()
    warm.sql("SELECT 1 AS one").to_pyarrow()
    warm.disconnect()
    # With a snapshot given the store is never opened: an empty one stands in for it.
    store = create_engine("sqlite://")
    started = time.perf_counter()
    found = check(store, principal=Principal.of_operator("bench"),
                  as_of=date.fromisoformat(day), engine_name="duckdb",
                  snapshot=Path(snapshot))
    seconds = time.perf_counter() - started
    by_rule: dict[str, list[Any]] = {}
    for f in found:
        by_rule.setdefault(f.rule, []).append((f.subject, f.amount, f.related))
    return seconds, _save(by_rule, out)


def duckdb_sql(snapshot: str, day: str, out: str) -> tuple[float, int]:
    """The hand-written SQL of every rule, thresholds from the shipped rules file."""
    import duckdb

    from bench.funds_sql import run
    from tuopin.domain.fen import fen_text

    thresholds = tomllib.loads(RULES_FILE.read_text(encoding="utf-8"))["thresholds"]
    started = time.perf_counter()
    con = duckdb.connect()
    found = run(con, snapshot, date.fromisoformat(day), thresholds)
    seconds = time.perf_counter() - started
    con.close()
    return seconds, _save({rule: [(s, fen_text(a), r) for s, a, r in rows]
                           for rule, rows in found.items()}, out)
