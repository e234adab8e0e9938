"""How soon a command answers: `tuopin --help`, `standards list` and `summary` on a small
store, each beside `python -c pass` in the same run (issue 16: <= 0.3 s, <= 0.6 s).

Each command runs RUNS times in a fresh process after one warm-up run; the median wall time
and the largest peak RSS are reported. Python's bytecode is kept in a temporary folder
(PYTHONPYCACHEPREFIX), as an installed tuopin has it: without it every process compiles
what it imports from source, and this machine's environment says not to write bytecode.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import ROOT, Measurement

RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "7"))
TUOPIN = str(Path(sys.executable).with_name("tuopin"))


# A small parent of its own: a forked child's peak RSS starts at its parent's size (Linux
# counts the pages it had before exec), so the benchmark's own memory would be everyone's.
_WRAPPER = """import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(code, wall, usage.ru_utime, usage.ru_maxrss / 1024)
"""


def _once(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, user CPU seconds and peak RSS (MB) of one run of ``argv``."""
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True)
    code, wall, user, peak = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(argv)} failed ({code})")
    return float(wall), float(user), float(peak)


def _timed(name: str, argv: list[str], env: dict[str, str]) -> tuple[Measurement, float]:
    """The median wall time, the largest peak RSS and the median user CPU of RUNS runs."""
    _once(argv, env)  # warm-up: bytecode written, files in the page cache
    runs = [_once(argv, env) for _ in range(RUNS)]
    wall = statistics.median(r[0] for r in runs)
    return (Measurement(name, wall, max(r[2] for r in runs), 0),
            statistics.median(r[1] for r in runs))


def _line(title: str, ours: tuple[Measurement, float],
          baseline: tuple[Measurement, float]) -> str:
    (mine, cpu), (base, base_cpu) = ours, baseline
    return (f"{title:<42} tuopin {mine.seconds:5.2f} s (user {cpu:4.2f} s) {mine.peak_mb:4.0f} MB"
            f" | python -c pass: {base.seconds:5.2f} s (user {base_cpu:4.2f} s) "
            f"{base.peak_mb:4.0f} MB | ratio {mine.seconds / base.seconds:5.1f}x")


def run() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="tuopin-startup-") as folder:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
        url = f"sqlite:///{Path(folder) / 'small.db'}"
        env["TUOPIN_DATABASE_URL"] = url
        for argv in ([TUOPIN, "init"],
                     [TUOPIN, "synth", "--households", "200", "--into-db", "--no-funds"]):
            subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True)
        baseline = _timed("python -c pass", [sys.executable, "-c", "pass"], env)
        for title, argv in (("start-up: tuopin --help", [TUOPIN, "--help"]),
                            ("start-up: tuopin standards list", [TUOPIN, "standards", "list"]),
                            ("start-up: tuopin summary (200 households)", [TUOPIN, "summary"])):
            yield _line(title, _timed(title, argv, env), baseline)
