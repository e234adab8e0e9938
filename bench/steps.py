"""Benchmark steps, each run in its own process by bench.common.measure.

Each step returns the seconds of the part being measured (a baseline's setup, such as
reading the input into pandas, is not counted) and the runner prints them with peak RSS.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import status_mb
from tuopin.io.schema import Kind
from tuopin.services.access.principal import Principal
from tuopin.services.imports.files import import_file
from tuopin.storage.db import make_engine
from tuopin.storage.migrate import upgrade
from tuopin.synth.config import SynthConfig
from tuopin.synth.generate import generate

BENCH = Principal.of_operator("bench")  # the audit trail's cli:bench, as `tuopin` would be


def synth(folder: str, households: str) -> float:
    started = time.perf_counter()
    generate(SynthConfig(households=int(households), seed=1), Path(folder))
    return time.perf_counter() - started


def pandas_to_csv(folder: str) -> float:
    import pandas as pd

    frame = pd.read_csv(Path(folder) / "members.csv", dtype=str)
    started = time.perf_counter()
    frame.to_csv(Path(tempfile.mkdtemp()) / "members.csv", index=False)
    return time.perf_counter() - started


def prepare(url: str, folder: str) -> float:
    """A migrated store holding the regions and households the members belong to."""
    engine = make_engine(url)
    upgrade(engine)
    for kind in (Kind.REGIONS, Kind.HOUSEHOLDS):
        path = Path(folder) / f"{kind.value}.csv"
        result = import_file(engine, principal=BENCH, kind=kind, path=path, today=date.today())
        assert result.written, result.problems[:5]
    return 0.0


def tuopin_import(url: str, folder: str) -> float:
    engine = make_engine(url)
    started = time.perf_counter()
    result = import_file(engine, principal=BENCH, kind=Kind.MEMBERS,
                         path=Path(folder) / "members.csv", today=date.today())
    assert result.written and not result.problems, result.problems[:5]
    return time.perf_counter() - started


def pandas_to_sql(folder: str, database: str) -> float:
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(Path(folder) / "members.csv", dtype=str)
    with sqlite3.connect(database) as con:
        frame.to_sql("member", con, index=False, chunksize=50_000)
    return time.perf_counter() - started


def copy_raw_csv(dsn: str, folder: str) -> float:
    import psycopg

    path = Path(folder) / "members.csv"
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        header = path.open(encoding="utf-8").readline().strip().split(",")
        conn.execute("CREATE TABLE plain_member ({})".format(
            ", ".join(f'"{c}" text' for c in header)))
        sql = "COPY plain_member FROM STDIN WITH (FORMAT csv, HEADER)"
        with conn.cursor().copy(sql) as copy, path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
    return time.perf_counter() - started


def synth_to_snapshot(folder: str, households: str) -> tuple[float, int]:
    from bench.synth_snapshot import write

    started = time.perf_counter()
    counts = write(SynthConfig(households=int(households), seed=1), Path(folder))
    return time.perf_counter() - started, counts["member"]


def assess_tuopin(folder: str, engine: str) -> tuple[float, int]:
    from bench.assess_steps import tuopin_engine

    return tuopin_engine(folder, engine)


def assess_sql(folder: str) -> tuple[float, int]:
    from bench.assess_steps import duckdb_sql

    return duckdb_sql(folder)


def assess_sql_rollup(folder: str) -> tuple[float, int]:
    from bench.assess_steps import duckdb_sql_rollup

    return duckdb_sql_rollup(folder)


def assess_pandas(folder: str) -> tuple[float, int]:
    from bench.assess_steps import pandas_plain

    return pandas_plain(folder)


def funds_snapshot(folder: str, households: str, plant: str) -> tuple[float, int]:
    """A snapshot with the books of funds and ``plant`` cases of every rule; its payments."""
    from bench.synth_snapshot import write

    config = SynthConfig(households=int(households), seed=1, plant_anomalies=int(plant))
    started = time.perf_counter()
    counts = write(config, Path(folder))
    return time.perf_counter() - started, counts["disbursement"]


def funds_tuopin(folder: str, day: str, out: str) -> tuple[float, int]:
    from bench.funds_steps import tuopin_check

    return tuopin_check(folder, day, out)


def funds_sql(folder: str, day: str, out: str) -> tuple[float, int]:
    from bench.funds_steps import duckdb_sql

    return duckdb_sql(folder, day, out)


def web_synth_into_db(url: str, households: str, seed: str) -> tuple[float, int]:
    """`tuopin synth --into-db` into a migrated store; its members count as the extra."""
    from tuopin.services.imports.synthetic import load_synthetic

    config = SynthConfig(households=int(households), seed=int(seed))
    engine = make_engine(url)
    started = time.perf_counter()
    counts = load_synthetic(engine, principal=BENCH, config=config, today=date.today())
    return time.perf_counter() - started, counts["members"]


if __name__ == "__main__":
    outcome = globals()[sys.argv[1]](*json.loads(sys.argv[2]))
    seconds, extra = outcome if isinstance(outcome, tuple) else (outcome, None)
    # VmHWM, not ru_maxrss: ru_maxrss starts at the bench driver's RSS when it forked us
    peak = status_mb(os.getpid(), "VmHWM")
    print("BENCH " + json.dumps({"seconds": seconds, "peak_mb": peak, "extra": extra}))
