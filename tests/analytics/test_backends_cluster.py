"""A real standalone Spark cluster on loopback (a master, two workers) gives the same numbers.

The JVMs come from the scripts inside the installed pyspark package (STACK.md). The driver runs
in a child process: Spark allows one session per process, and this test process may already
hold the local[2] session of the other Spark tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tuopin.analytics.backends import close, open_snapshot

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.xdist_group("spark")]

CONFTEST = Path(__file__).with_name("conftest.py")
# The driver: the probe expression of conftest.py over the snapshot, on the cluster.
DRIVER = """
import json, runpy, sys
from pathlib import Path
from tuopin.analytics.backends import close, open_snapshot
probe = runpy.run_path(sys.argv[1])
registry = open_snapshot(Path(sys.argv[2]), engine="spark", master=sys.argv[3])
try:
    rows = probe["rows_of"](probe["village_summary"](registry))
finally:
    close(registry)
print(json.dumps(rows, default=str))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _json(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/", timeout=2) as answer:
        return dict(json.load(answer))


def _stop(process: subprocess.Popen[bytes]) -> None:
    # Each JVM leads its own process group, so its executors go with it.
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def _cluster(folder: Path) -> Iterator[tuple[str, list[int]]]:
    """A master and two one-core workers on 127.0.0.1; yields the master URL and worker UIs."""
    import pyspark

    home = Path(pyspark.__file__).parent
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1",
               PYSPARK_PYTHON=sys.executable)
    port, master_ui, worker_uis = _free_port(), _free_port(), [_free_port(), _free_port()]
    url = f"spark://127.0.0.1:{port}"
    commands = [["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", str(master_ui)]] + [
        ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
         "--memory", "2g", "--webui-port", str(ui), "--work-dir", str(folder / f"work{i}")]
        for i, ui in enumerate(worker_uis)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for i, command in enumerate(commands):
            with (folder / f"jvm{i}.log").open("wb") as log:
                processes.append(subprocess.Popen(
                    [str(home / "bin" / "spark-class"), *command], env=env, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True))
            if i == 0:  # a worker that finds no master waits seconds before it retries
                _wait_for(master_ui, processes, folder, workers=0)
        _wait_for(master_ui, processes, folder, workers=2)
        yield url, worker_uis
    finally:
        for process in processes:
            _stop(process)


def _wait_for(master_ui: int, processes: list[subprocess.Popen[bytes]], folder: Path, *,
              workers: int) -> None:
    """Until the master answers with at least ``workers`` alive workers."""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and all(p.poll() is None for p in processes):
        try:
            if sum(w["state"] == "ALIVE" for w in _json(master_ui)["workers"]) >= workers:
                return
        except OSError:
            pass  # the master is not listening yet
        time.sleep(0.2)
    logs = "\n".join(p.read_text()[-2000:] for p in sorted(folder.glob("jvm*.log")))
    pytest.fail(f"the cluster did not come up with {workers} workers:\n{logs}")


def test_a_standalone_cluster_gives_the_same_numbers_as_duckdb(
    sqlite_snapshot: Path, tmp_path: Path, probe: Any,
) -> None:
    pytest.importorskip("pyspark", reason="the spark extra is not installed (make setup-spark)")
    snapshot = sqlite_snapshot
    registry = open_snapshot(snapshot, engine="duckdb")
    try:
        want = json.loads(json.dumps(probe.rows(probe.expression(registry)), default=str))
    finally:
        close(registry)
    started = time.perf_counter()
    with _cluster(tmp_path) as (master, worker_uis):
        done = subprocess.run([sys.executable, "-c", DRIVER, str(CONFTEST), str(snapshot),
                               master], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        workers = [_json(ui) for ui in worker_uis]
    print(f"\ncluster up, query run and down in {time.perf_counter() - started:.1f} s")
    probe.assert_same(json.loads(done.stdout.splitlines()[-1]), want, "spark cluster")
    # Both workers ran an executor for the driver's application: the work crossed processes.
    for worker in workers:
        assert worker["executors"] or worker["finishedexecutors"], worker
