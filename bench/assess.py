"""Assessment benchmark: synth 1M and 5M members (20M with BENCH_SCALE=province), snapshot,
assess with cn-national and roll incidence up every level — tuopin on DuckDB beside the same
standard written by hand in DuckDB SQL (rolled up by Arrow group-bys, as first measured, and
with the roll-up in SQL too) and in plain pandas, and tuopin on Spark at 1M."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bench.common import Measurement, measure, report

SIZES = {"default": (275_000, 1_375_000), "province": (275_000, 1_375_000, 5_500_000)}


def _line(title: str, ours: Measurement, base: Measurement) -> str:
    return report(title, ours, base)


def run() -> list[str]:
    lines = []
    sizes = SIZES["province" if os.environ.get("BENCH_SCALE") == "province" else "default"]
    for households in sizes:
        scratch = Path(tempfile.mkdtemp(prefix="tuopin-assess-"))
        try:
            lines += _size(scratch / "snapshot", households, spark=households == sizes[0])
        finally:
            shutil.rmtree(scratch, ignore_errors=True)  # 1.5 GB at the province's scale
    return lines


def _size(folder: Path, households: int, *, spark: bool) -> list[str]:
    """The lines of one size: the snapshot, tuopin beside each baseline, Spark if asked."""
    lines = []
    built = measure("snapshot", "synth_to_snapshot", folder, households)
    members = built.rows
    ours = measure("tuopin duckdb", "assess_tuopin", folder, "duckdb", rows=members)
    sql = measure("DuckDB SQL", "assess_sql", folder, rows=members)
    in_sql = measure("SQL roll-up", "assess_sql_rollup", folder, rows=members)
    pandas = measure("pandas", "assess_pandas", folder, rows=members)
    label = f"assess {members:,} members"
    found = {ours.extra, sql.extra, in_sql.extra, pandas.extra}
    agree = "agree" if len(found) == 1 else "DISAGREE"
    lines.append(f"{label}: snapshot built in {built.seconds:.1f} s; poor households "
                 f"tuopin {ours.extra}, SQL {sql.extra}, SQL roll-up {in_sql.extra}, "
                 f"pandas {pandas.extra} ({agree})")
    lines.append(_line(f"{label} vs SQL", ours, sql))
    lines.append(_line(f"{label} vs SQL roll-up", ours, in_sql))
    lines.append(_line(f"{label} vs pandas", ours, pandas))
    if spark:
        spark_run = measure("tuopin spark", "assess_tuopin", folder, "spark", rows=members)
        lines.append(_line(f"{label} spark vs SQL", spark_run, sql))
    return lines
