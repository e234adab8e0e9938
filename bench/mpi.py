"""`tuopin mpi` on survey microdata beside PyPI mpitb 0.2 (issue 16: >= 5x faster).

One seeded file of BENCH_MPI_ROWS rows (default 10M; e.g. 1_000_000 for a quick try): 10
binary indicators with the global MPI's weights, a sample weight, 20 strata, 4,000 PSUs, an
8-level region to decompose by, and three columns neither tool uses. It is written once as
Parquet, and both tools read it in a fresh process, timed whole (start-up, reading, output):

- tuopin: `tuopin mpi FILE ... --strata --psu --sample-weight --by region --format json`,
  with design-based (stratified, clustered) standard errors;
- mpitb: `MPIToolbox.est(df, klist=[33], weights=..., svy=True, over=["region"])` after
  `pd.read_parquet(FILE, columns=<the ones it uses>)`; its SEs ignore strata and PSUs.

mpitb runs in its own virtual environment (BENCH_MPITB_PYTHON, by default the one `make
bench` builds in .venv/bench-mpitb), never in the app's. Both print their point estimates,
and the line says whether H, A and M0 agree, nationally and in every region. Each tool runs
BENCH_MPI_RUNS times (default 3), in turn with the other; medians are reported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import ROOT

ROWS = int(os.environ.get("BENCH_MPI_ROWS", "10000000"))
# Each tool runs this many times, the two in turn (so that a busy machine slows both
# alike); the median wall time and the largest peak RSS are reported.
RUNS = int(os.environ.get("BENCH_MPI_RUNS", "3"))
MPITB_PYTHON = os.environ.get("BENCH_MPITB_PYTHON",
                              str(ROOT / ".venv" / "bench-mpitb" / "bin" / "python"))
TUOPIN = str(Path(sys.executable).with_name("tuopin"))
SEED = 16
STRATA, PSUS, REGIONS = 20, 4_000, 8
# The global MPI's structure: two indicators of 1/6 in each of two dimensions, six of 1/18.
DIMENSIONS = {"health": ["nutrition", "child_mortality"],
              "education": ["schooling", "attendance"],
              "living": ["cooking_fuel", "sanitation", "water", "electricity", "housing",
                         "assets"]}
INDICATORS = [name for names in DIMENSIONS.values() for name in names]
WEIGHTS = {name: 1 / 3 / len(names) for names in DIMENSIONS.values() for name in names}
# mpitb tests score >= k/100, so it takes k = 33; every score is a multiple of 1/18, so
# 0.33 and 1/3 find the same poor (MPI.md section 3).
K, MPITB_K = 1 / 3, 33
USED = [*INDICATORS, "weight", "stratum", "psu", "region"]

_WRAPPER = """import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
sys.stderr.write(done.stderr)
print(done.returncode, wall, peak)
print(done.stdout)
"""

_MPITB = """import json, sys
import pandas as pd
from mpitb.core import MPIToolbox
path, spec = sys.argv[1], json.loads(sys.argv[2])
df = pd.read_parquet(path, columns=spec["used"])
mpi = MPIToolbox()
mpi.set(name="bench", dimensions=[(inds, dim) for dim, inds in spec["dimensions"].items()])
mpi.svyset(psu="psu", weight="weight", strata="stratum")
rows = mpi.est(df, "bench", klist=[spec["k"]], weights=spec["weights"], svy=True,
               over=["region"])
print(json.dumps(rows, default=float))
"""


def generate(path: Path, rows: int) -> None:
    """Seeded survey microdata: rows sorted by PSU (as survey files are), PSUs in strata."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(SEED)
    # PSU sizes vary around rows/PSUS; 200 PSUs in each stratum, regions drawn per PSU.
    sizes = rng.multinomial(rows, rng.dirichlet(np.full(PSUS, 20.0)))
    psu = np.repeat(np.arange(1, PSUS + 1, dtype=np.int32), sizes)
    stratum = ((psu - 1) // (PSUS // STRATA) + 1).astype(np.int16)
    region_of_psu = rng.integers(0, REGIONS, PSUS)
    level = rng.normal(0.0, 0.8, PSUS)[psu - 1] + rng.normal(0.0, 0.6, rows).astype(np.float32)
    columns: dict[str, pa.Array] = {"hhid": pa.array(np.arange(rows, dtype=np.int64) // 4)}
    for j, name in enumerate(INDICATORS):
        cut = 0.4 + 0.12 * j  # some indicators common, some rare
        noise = rng.standard_normal(rows, dtype=np.float32)
        columns[name] = pa.array((level + noise > cut).astype(np.int8))
    weight = rng.uniform(200.0, 1800.0, PSUS)[psu - 1] * rng.uniform(0.9, 1.1, rows)
    labels = np.array([f"region_{r + 1}" for r in range(REGIONS)], dtype=object)
    columns |= {
        "weight": pa.array(weight), "stratum": pa.array(stratum), "psu": pa.array(psu),
        "region": pa.array(labels[region_of_psu[psu - 1]], pa.string()),
        "age": pa.array(rng.integers(0, 90, rows, dtype=np.int8)),
        "income": pa.array(rng.lognormal(8.0, 1.0, rows).astype(np.float32)),
    }
    pq.write_table(pa.table(columns), path, row_group_size=1 << 20)


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one run of ``argv`` in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], capture_output=True,
                          text=True, cwd=ROOT, env=env, check=True)
    head, _, out = done.stdout.partition("\n")
    code, wall, peak = head.split()
    if code != "0":
        raise RuntimeError(f"{argv[0]} failed ({code}):\n{done.stderr[-2000:]}")
    return float(wall), float(peak), out


def tuopin_argv(path: Path) -> list[str]:
    """The `tuopin mpi` command line the benchmark times."""
    return [TUOPIN, "mpi", str(path), "--indicators", ",".join(INDICATORS), "--k", repr(K),
            "--weights", ",".join(f"{n}={w!r}" for n, w in WEIGHTS.items()),
            "--sample-weight", "weight", "--strata", "stratum", "--psu", "psu",
            "--by", "region", "--format", "json"]


def _mpitb_argv(path: Path) -> list[str]:
    spec = {"used": USED, "dimensions": DIMENSIONS, "weights": WEIGHTS, "k": MPITB_K}
    return [MPITB_PYTHON, "-c", _MPITB, str(path), json.dumps(spec)]


def _agree(ours: dict[str, object], theirs: list[dict[str, object]]) -> bool:
    """Whether H, A and M0 agree to 1e-9, nationally and in every region."""
    mine = {("nat", None): ours} | {("region", g): v for g, v in ours["groups"].items()}  # type: ignore[attr-defined]
    for row in theirs:
        if row.get("measure") in ("H", "A", "M0") and "indicator" not in row:
            key = (row["loa"], row.get("subg"))
            if key not in mine or abs(mine[key][row["measure"]] - row["b"]) > 1e-9:  # type: ignore[index,operator]
                return False
    return True


def run() -> Iterator[str]:
    if not Path(MPITB_PYTHON).exists():
        raise RuntimeError(f"no mpitb environment at {MPITB_PYTHON} (`make bench` builds it)")
    with tempfile.TemporaryDirectory(prefix="tuopin-mpi-") as folder:
        # Bytecode is kept, as an installed package has it (see bench/startup.py).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
        small, path = Path(folder) / "small.parquet", Path(folder) / "survey.parquet"
        generate(small, 10_000)
        _timed(tuopin_argv(small), env)  # warm-up: both write their bytecode
        _timed(_mpitb_argv(small), env)
        generate(path, ROWS)  # just written, so in the page cache for both
        ours, theirs = [], []
        for _ in range(RUNS):
            ours.append(_timed(tuopin_argv(path), env))
            theirs.append(_timed(_mpitb_argv(path), env))
        ours_s, base_s = (statistics.median(r[0] for r in runs) for runs in (ours, theirs))
        ours_mb, base_mb = (max(r[1] for r in runs) for runs in (ours, theirs))
        agree = _agree(json.loads(ours[0][2]), json.loads(theirs[0][2]))
        same = "agree" if agree else "DISAGREE"
        yield (f"mpi {ROWS:,} rows, 10 indicators, {STRATA} strata, {PSUS:,} PSUs, by "
               f"{REGIONS} regions: H, A, M0 of tuopin and mpitb {same}")
        yield (f"{'mpi ' + format(ROWS, ',') + ' rows --format json':<42} tuopin {ours_s:6.2f} s "
               f"{ours_mb:6.0f} MB | mpitb 0.2: {base_s:6.2f} s {base_mb:6.0f} MB | "
               f"mpitb / tuopin {base_s / ours_s:5.1f}x (target >= 5x; median of {RUNS})")
