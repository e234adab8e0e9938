"""Timing a step in its own process, so wall time and peak memory are its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).parents[1]


@dataclass(frozen=True)
class Measurement:
    name: str
    seconds: float
    peak_mb: float
    rows: int
    extra: int | None = None  # what the step reported (rows made, poor households found)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")

    def with_rows(self, rows: int) -> Measurement:
        return replace(self, rows=rows)


def status_mb(pid: int, key: str) -> float:
    """A /proc/PID/status figure in MB (VmHWM: the process's peak RSS since its exec; not
    ru_maxrss, which Linux carries over exec from the parent that forked it)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure(name: str, step: str, *args: object, rows: int = 0) -> Measurement:
    """Run ``bench.steps.<step>(*args)`` in a fresh interpreter; its time and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.steps", step, json.dumps([str(a) for a in args])],
        capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stdout}\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    result = json.loads(line.removeprefix("BENCH "))
    extra = result.get("extra")
    return Measurement(name, result["seconds"], result["peak_mb"], rows or extra or 0, extra)


def report(title: str, ours: Measurement, baseline: Measurement) -> str:
    """One line: ours beside the baseline measured in the same run, as a ratio."""
    ratio = ours.seconds / baseline.seconds if baseline.seconds else float("nan")
    return (
        f"{title:<36} tuopin {ours.seconds:7.2f} s {ours.rows_per_second:>10,.0f} rows/s "
        f"{ours.peak_mb:6.0f} MB | {baseline.name}: {baseline.seconds:7.2f} s "
        f"{baseline.rows_per_second:>10,.0f} rows/s {baseline.peak_mb:6.0f} MB | "
        f"ratio {ratio:5.2f}x"
    )
