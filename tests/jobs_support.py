"""Helpers of the tests that run `tuopin worker` and `tuopin serve` as real processes: their
environment, starting and always stopping them, waiting with a deadline, and reading what a
running job wrote (its progress file)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from logscan import findings
from tuopin.services.jobs.handlers import STAGES

TUOPIN = [sys.executable, "-m", "tuopin.cli.main"]


# `tuopin worker`, but when a job reports the stage argv[1] (an import's "load" or "merge":
# loaded, or merged and audited; not yet committed), the report pauses for argv[2] seconds.
# A test that must catch a job at a known point patches this one process only, never src/.
PAUSING_WORKER = """
import sys, time
from tuopin.services.jobs.context import JobContext
from tuopin.services.jobs.handlers import STAGES

stage, seconds, real = sys.argv[1], float(sys.argv[2]), JobContext.report

def report(self, done, total, message=None, *, force=False):
    named = getattr(message, "values", {}).get("stage")
    here = getattr(named, "msgid", named) in (stage, STAGES.get(stage))
    if here and (stage != "merge" or done >= total):
        real(self, done, total, message, force=True)
        time.sleep(seconds)
    real(self, done, total, message, force=force)

JobContext.report = report
from tuopin.cli.main import main
sys.argv = ["tuopin", "worker", *sys.argv[3:]]
main()
"""


def pausing_worker(stage: str, seconds: float, *args: str) -> list[str]:
    """The command of a `tuopin worker` that pauses ``seconds`` at an import's ``stage``."""
    return [sys.executable, "-c", PAUSING_WORKER, stage, str(seconds), *args]


def tuopin_env(url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment with the store, the data dir and ``settings`` (names
    without their TUOPIN_ prefix) of tuopin's own replaced."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUOPIN_")}
    env.update(TUOPIN_DATABASE_URL=url, TUOPIN_DATA_DIR=str(data_dir))
    env.update({f"TUOPIN_{name.upper()}": value for name, value in settings.items()})
    return env


class Child:
    """A process of the test's own, its output in a file (a pipe nobody reads fills up and
    stops the child)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        # a session of its own: stopping it stops what it started (uvicorn's workers)
        self.proc = subprocess.Popen(args, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no handler runs, nothing is finished."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, then SIGKILL to its whole group after ``grace`` seconds; never raises."""
        try:
            if self.alive:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the group is gone already
        finally:
            self.proc.wait(timeout=30)
            self._out.close()

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text("utf-8", errors="replace")


def run(args: list[str], env: dict[str, str], *, timeout: float = 60,
        stdin: str | None = None) -> str:
    """Run a `tuopin` command to its end (killed after ``timeout``); its output, or a
    failure with it."""
    try:
        done = subprocess.run([*TUOPIN, *args], env=env, capture_output=True, text=True,
                              input=stdin, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"tuopin {' '.join(args)} ran over {timeout} s: "
                             f"{exc.stderr!r}") from exc
    assert done.returncode == 0, f"tuopin {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def wait_for(what: str, ready: Callable[[], Any], *, timeout: float, every: float = 0.02,
             child: Child | None = None) -> Any:
    """Ask ``ready`` until it answers something true (returned) or the deadline passes;
    ``child``: fail at once, with its output, when it dies meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        found = ready()
        if found:
            return found
        if child is not None and not child.alive:
            raise AssertionError(f"the process died before {what}:\n{child.output()[-4000:]}")
        if time.monotonic() > deadline:
            tail = child.output()[-4000:] if child is not None else ""
            raise AssertionError(f"no {what} after {timeout} s\n{tail}")
        time.sleep(every)


def progress_of(data_dir: Path, job_id: str) -> dict[str, Any] | None:
    """What a running job last wrote to its progress file (None: nothing yet), with its
    stage (the import's: read, validate, check, load, merge) pulled out of the message."""
    try:
        found = json.loads((data_dir / "jobs" / job_id / "progress.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    message = json.loads(found["message"]) if found.get("message") else {}
    named = message.get("values", {}).get("stage")  # its key, or its title (a Message)
    if isinstance(named, dict):
        named = named.get("msgid")
    stages = {title: key for key, title in STAGES.items()}
    return {**found, "stage": stages.get(named, named)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def personal_data(text: str) -> list[str]:
    """The ID and phone numbers in a process's log (tests/logscan.py's patterns)."""
    return [f for line in text.splitlines() for f in findings(line)]
