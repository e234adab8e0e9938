"""Funds benchmark: `tuopin funds check` on DuckDB over a Parquet snapshot of a synthetic
county's or province's books (BENCH_SCALE=province: 5.6M households, ~20M members and ~11M
payments), beside the same twelve rules written by hand in DuckDB SQL (bench/funds_sql.py).

Anomalies are planted (PLANTED cases of every rule), so each rule has findings; the two are
held to each other finding by finding (subject, amount, related records) and to the cases
planted. The check runs on the day the synthetic books close, when a clean book gives none.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from bench.common import Measurement, measure, report
from bench.synth_snapshot import planted_path
from tuopin.synth.config import SynthConfig

# households: ~1M members and ~0.56M payments; ~20.3M members and ~11M payments
SIZES = {"default": (275_000,), "province": (275_000, 5_600_000)}
# Each side runs this many times, taking turns, and its fastest run counts: on a shared
# machine the fastest is the one least disturbed by others (a run here takes 2-40 s).
REPEATS = 3
PLANTED = 10  # cases of every rule, spread over the counties (a county holds few funds)

Finding = tuple[str, str, str, tuple[str, ...]]  # rule, subject, amount, related


def _findings(path: Path) -> set[Finding]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {(rule, subject, amount, tuple(related))
            for rule, found in rows.items() for subject, amount, related in found}


def _planted(snapshot: Path) -> set[tuple[str, str]]:
    with planted_path(snapshot).open(encoding="utf-8") as handle:
        return {(row["rule"], row["subject"]) for row in csv.DictReader(handle)}


def compare(ours: set[Finding], sql: set[Finding], planted: set[tuple[str, str]]
            ) -> list[str]:
    """Whether tuopin and the SQL agree (and find what was planted); where not, by rule."""
    if ours == sql and {(f[0], f[1]) for f in ours} == planted:
        return []
    problems = []
    rules = sorted({f[0] for f in ours | sql} | {rule for rule, _ in planted})
    for rule in rules:
        mine = {f[1:] for f in ours if f[0] == rule}
        theirs = {f[1:] for f in sql if f[0] == rule}
        seeded = {subject for r, subject in planted if r == rule}
        if mine == theirs and {f[0] for f in mine} == seeded:
            continue
        problems.append(
            f"  {rule}: tuopin {len(mine)}, SQL {len(theirs)}, planted {len(seeded)}; "
            f"only tuopin {sorted(mine - theirs)[:3]}, only SQL {sorted(theirs - mine)[:3]}, "
            f"planted not found by tuopin {sorted(seeded - {f[0] for f in mine})[:3]}")
    return problems


def _timed(snapshot: Path, day: str, work: Path, payments: int
           ) -> tuple[Measurement, Measurement]:
    """tuopin's and the SQL's fastest of REPEATS runs, the two taking turns; each writes
    its findings to ``work`` (tuopin.json, sql.json)."""
    ours, sql = [], []
    for _ in range(REPEATS):
        ours.append(measure("tuopin duckdb", "funds_tuopin", snapshot, day,
                            work / "tuopin.json", rows=payments))
        sql.append(measure("DuckDB SQL", "funds_sql", snapshot, day, work / "sql.json",
                           rows=payments))
    return min(ours, key=lambda m: m.seconds), min(sql, key=lambda m: m.seconds)


def bench_size(households: int) -> list[str]:
    """Build the snapshot of ``households``, time both sides on it, and hold them to each
    other and to the planted cases."""
    work = Path(tempfile.mkdtemp(prefix="tuopin-funds-"))
    try:
        return _bench_in(work, households)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # a province's snapshot is 1.6 GB


def _bench_in(work: Path, households: int) -> list[str]:
    folder = work / "snapshot"
    day = SynthConfig(households=households).books_closed_on.isoformat()
    built = measure("snapshot", "funds_snapshot", folder, households, PLANTED)
    rows = json.loads((folder / "manifest.json").read_text())["rows"]
    payments, members = rows["disbursement"], rows["member"]
    ours, sql = _timed(folder, day, work, payments)
    found, planted = _findings(work / "tuopin.json"), _planted(folder)
    problems = compare(found, _findings(work / "sql.json"), planted)
    per_rule = Counter(f[0] for f in found)
    label = f"funds check {payments:,} payments, {members:,} members"
    return [
        f"{label}: snapshot built in {built.seconds:.1f} s; findings tuopin {ours.extra}, "
        f"SQL {sql.extra}, planted {len(planted)} "
        f"({'agree' if not problems else 'DISAGREE'}; {len(per_rule)} rules, "
        f"{min(per_rule.values(), default=0)}-{max(per_rule.values(), default=0)} each)",
        *problems,
        report(f"{label} vs SQL", ours, sql),
    ]


def run() -> list[str]:
    sizes = SIZES["province" if os.environ.get("BENCH_SCALE") == "province" else "default"]
    return [line for households in sizes for line in bench_size(households)]
