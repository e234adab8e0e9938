"""The log scan: every log record of the test run is written as JSON, then searched for
personal data.

A pytest plugin (tests/conftest.py loads it). For the whole run the root logger is at DEBUG
and a handler writes every record - through tuopin's own JSON formatter, as `tuopin serve`
would - to ``var/test-logs/<run>/<xdist worker>.jsonl``. At the end of the session the
controller scans the files for ID numbers (18 characters: 17 digits and a digit or X; the
old 15-digit form) and mainland mobile numbers (1[3-9] and nine digits), standing alone (not
inside a longer run of letters or digits: hashes and request ids), prints every offending
line and fails the run. A clean run's folder is removed (unless KEEP_TEST_LOGS is set); an
offending run's is kept.

What is not written: the records of the tests' own HTTP clients (they log the URLs the
tests ask for, queries and all - not something tuopin logs) and the libraries that
tuopin.logs keeps at WARNING in production too (SQLAlchemy echoes every statement with its
parameters once its logger is enabled).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tuopin.logs import QUIET, JsonFormatter

ROOT = Path(__file__).parents[1]
FOLDER = ROOT / "var" / "test-logs"
KEEP_SECONDS = 86_400  # an offending run's logs are kept this long for a look
WORKER_INPUT = "tuopin_log_dir"
# the tests' own clients (TestClient's httpx, aiohttp, Playwright, Schemathesis)
CLIENT_LOGGERS = ("httpx", "httpx2", "httpcore", "aiohttp", "playwright", "schemathesis",
                  "hpack", "websockets")
PATTERNS = {
    "ID number": re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])"),
    # not after a decimal point: a float's fraction is no ID number
    "old ID number": re.compile(r"(?<![0-9A-Za-z.])\d{15}(?![0-9A-Za-z])"),
    "mobile phone number": re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])"),
}
FOLDER_KEY = pytest.StashKey[Path]()
HANDLER_KEY = pytest.StashKey["Capture"]()
LEVEL_KEY = pytest.StashKey[int]()


def findings(line: str) -> list[str]:
    """What personal data ``line`` holds, by kind ('ID number: 11010119...')."""
    return [f"{kind}: {m.group(0)}" for kind, pattern in PATTERNS.items()
            for m in pattern.finditer(line)]


def scan(files: Iterable[Path]) -> Iterator[str]:
    """Every offending line of ``files``, with where it is and what it holds."""
    for path in files:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                found = findings(line)
                if found:
                    yield f"{path.name}:{number}: {'; '.join(found)}\n    {line.rstrip()}"


class Capture(logging.Handler):
    """Every record, as a line of JSON, into one file (buffered: a flush at the end)."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.DEBUG)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = path.open("a", encoding="utf-8", buffering=1 << 16)
        self.setFormatter(JsonFormatter())
        self.addFilter(lambda record: not record.name.startswith(CLIENT_LOGGERS))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - a record that cannot be written is reported
            self.handleError(record)

    def close(self) -> None:
        """Kept open: a test that configures logging (uvicorn's dictConfig in the browser
        tests) closes every handler there is, and the run's records must still be written.
        ``finish`` closes it, at the end of the run."""

    def finish(self) -> None:
        self.acquire()
        try:
            self.stream.close()
        finally:
            self.release()
        super().close()


def _prune_old_runs() -> None:
    if not FOLDER.is_dir():
        return
    for run in FOLDER.iterdir():
        if run.is_dir() and time.time() - run.stat().st_mtime > KEEP_SECONDS:
            shutil.rmtree(run, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller names the folder
        folder, name = Path(workerinput[WORKER_INPUT]), workerinput["workerid"]
    else:
        _prune_old_runs()
        folder = FOLDER / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        name = "main"
    config.stash[FOLDER_KEY] = folder
    handler = Capture(folder / f"{name}.jsonl")
    config.stash[HANDLER_KEY] = handler
    root = logging.getLogger()
    config.stash[LEVEL_KEY] = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # as in production (tuopin.logs.config); the clients are not written anyway, and at
    # DEBUG they would make a record of every request
    for quiet in (*QUIET, *CLIENT_LOGGERS):
        logger = logging.getLogger(quiet)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist: every worker writes into the controller's folder."""
    config = node.config  # type: ignore[attr-defined]
    node.workerinput[WORKER_INPUT] = str(config.stash[FOLDER_KEY])  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    handler = config.stash.get(HANDLER_KEY, None)
    if handler is None:
        return
    root = logging.getLogger()
    root.removeHandler(handler)
    root.setLevel(config.stash[LEVEL_KEY])
    handler.finish()
    if hasattr(config, "workerinput"):
        return  # the controller scans every worker's file once all have finished
    folder = config.stash[FOLDER_KEY]
    offending = list(scan(sorted(folder.glob("*.jsonl"))))
    if not offending:
        if not os.environ.get("KEEP_TEST_LOGS"):  # set it to read a clean run's logs
            shutil.rmtree(folder, ignore_errors=True)
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    lines = [f"Personal data in the logs of this run: {len(offending)} line(s) (the logs are "
             f"kept in {folder})", *offending[:50]]
    if reporter is not None:
        reporter.write("\n")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
