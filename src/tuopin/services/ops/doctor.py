"""`tuopin doctor`: what is wrong with a deployment, in plain words, and what to do about it.

Each check looks at one thing - the secret key, the cookie's Secure flag, the database and
its schema, the data dir, the worker, pg_dump - and gives a finding: ok, a warning (works,
but should be looked at) or an error (something will fail or is unsafe). The checks only
read: the one write is a temporary file that proves the data dir is writable.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, text

from tuopin.config import Settings
from tuopin.domain.errors import Message
from tuopin.i18n import N_
from tuopin.services import store
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.services.jobs import heartbeat
from tuopin.storage import migrate

MIN_KEY_LENGTH = 32
MIN_KEY_VARIETY = 10  # distinct characters: "aaaa…" or "0101…" is long but guessable
LOOPBACK = ("localhost", "127.0.0.1", "::1")
Which = Callable[[str], str | None]


class Level(StrEnum):
    """How bad a finding is."""

    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    """One check's outcome: its name, its level, what was found and what to do."""

    check: str
    level: Level
    message: Message
    fix: Message | None = None

    def as_row(self, lang: str) -> dict[str, Any]:
        return {"check": self.check, "level": self.level.value,
                "message": self.message.translated(lang),
                "fix": self.fix.translated(lang) if self.fix else ""}


def _ok(check: str, msgid: str, **values: object) -> Finding:
    return Finding(check, Level.OK, Message(msgid, **values))


def _bad(check: str, level: Level, msgid: str, fix: str, **values: object) -> Finding:
    return Finding(check, level, Message(msgid, **values), Message(fix, **values))


GENERATE_KEY = N_("Set TUOPIN_SECRET_KEY to a long random value, the same for every web "
                  "worker, e.g. the output of: python3 -c \"import secrets; "
                  "print(secrets.token_urlsafe(48))\"")


def check_secret_key(settings: Settings) -> Finding:
    """The key that signs session cookies: set, long and varied."""
    if settings.secret_key is None:
        return _bad("secret_key", Level.ERROR,
                    N_("TUOPIN_SECRET_KEY is not set: every start makes a new key, so a "
                       "restart logs everyone out."), GENERATE_KEY)
    key = settings.secret_key.get_secret_value()
    if len(key) < MIN_KEY_LENGTH or len(set(key)) < MIN_KEY_VARIETY:
        return _bad("secret_key", Level.ERROR,
                    N_("TUOPIN_SECRET_KEY is weak ({length} characters, {distinct} different "
                       "ones): a key that can be guessed lets anyone forge session "
                       "cookies."), GENERATE_KEY, length=len(key), distinct=len(set(key)))
    return _ok("secret_key", N_("TUOPIN_SECRET_KEY is set and long enough."))


def check_cookie_secure(settings: Settings) -> Finding:
    """The cookie's Secure flag against the address users open (TUOPIN_PUBLIC_URL)."""
    url = settings.public_url
    scheme = urlsplit(url).scheme.lower() if url else ""
    host = urlsplit(url).hostname or "" if url else ""
    if scheme == "https" and not settings.cookie_secure:
        return _bad("cookie_secure", Level.ERROR,
                    N_("tuopin is served over HTTPS ({url}) but TUOPIN_COOKIE_SECURE is off: "
                       "the browser would also send the session cookie over plain HTTP."),
                    N_("Set TUOPIN_COOKIE_SECURE=true."), url=url)
    if scheme == "http" and settings.cookie_secure:
        return _bad("cookie_secure", Level.ERROR,
                    N_("TUOPIN_COOKIE_SECURE is on but tuopin is served over plain HTTP "
                       "({url}): the browser never sends the cookie back, so nobody can log "
                       "in."), N_("Serve tuopin over HTTPS (deploy/nginx/tuopin.conf) and set "
                                  "TUOPIN_PUBLIC_URL to its https:// address."), url=url)
    if scheme == "http" and host not in LOOPBACK:
        return _bad("cookie_secure", Level.WARNING,
                    N_("tuopin is served over plain HTTP ({url}): passwords and session "
                       "cookies cross the network unencrypted."),
                    N_("Serve tuopin over HTTPS (deploy/nginx/tuopin.conf), then set "
                       "TUOPIN_PUBLIC_URL to its https:// address and "
                       "TUOPIN_COOKIE_SECURE=true."), url=url)
    if not url and not settings.cookie_secure:
        return _bad("cookie_secure", Level.WARNING,
                    N_("TUOPIN_COOKIE_SECURE is off and TUOPIN_PUBLIC_URL is not set, so it "
                       "cannot be told whether tuopin is served over HTTPS."),
                    N_("Set TUOPIN_PUBLIC_URL to the address users open; when it is https://, "
                       "also set TUOPIN_COOKIE_SECURE=true."))
    return _ok("cookie_secure", N_("The session cookie's Secure flag fits how tuopin is "
                                   "served."))


def check_database(engine: Engine) -> Finding:
    """The database answers, and its schema is the newest this tuopin knows."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = store.revision(engine)
    except Exception as exc:  # noqa: BLE001 - whatever the driver raises, say it plainly
        return _bad("database", Level.ERROR,
                    N_("The database cannot be reached: {error}"),
                    N_("Check TUOPIN_DATABASE_URL, that the database server is running, and "
                       "that this user may connect."), error=_first_line(exc))
    head = migrate.shipped_head()
    if current is None:
        return _bad("database", Level.ERROR, N_("The database has no tuopin schema yet."),
                    N_("Run `tuopin init`."))
    if not store.is_current(engine):
        return _bad("database", Level.ERROR,
                    N_("The database's schema is at revision {current}; this tuopin needs "
                       "{head}."),
                    N_("Back it up (`tuopin backup`), then run `tuopin init` to migrate it; "
                       "if the database is newer than this tuopin, upgrade tuopin instead."),
                    current=current, head=head or "?")
    return _ok("database", N_("The database answers and its schema is the newest "
                              "({current})."), current=current)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def check_data_dir(settings: Settings) -> Finding:
    """The data dir (evidence, uploads, job results) exists and this user may write it."""
    folder = settings.data_dir.resolve()
    if not folder.exists():
        parent = next(p for p in folder.parents if p.exists())
        if parent.is_dir() and os.access(parent, os.W_OK):
            return _bad("data_dir", Level.WARNING,
                        N_("The data dir {path} does not exist yet; tuopin will create it."),
                        N_("Create it now so that its owner and permissions are yours to "
                           "choose: mkdir -p {path}"), path=str(folder))
        return _bad("data_dir", Level.ERROR,
                    N_("The data dir {path} does not exist and cannot be created."),
                    N_("Create it and give it to the user tuopin runs as: "
                       "mkdir -p {path} && chown tuopin: {path}"), path=str(folder))
    unwritable = [p for p in (folder, *(folder / n for n in ("evidence", "uploads", "jobs")))
                  if p.exists() and not _writable(p)]
    if unwritable:
        return _bad("data_dir", Level.ERROR,
                    N_("tuopin cannot write in {path}: evidence and uploads would fail."),
                    N_("Give the folder to the user tuopin runs as (chown -R tuopin: {path}); "
                       "under systemd, list it in ReadWritePaths."), path=str(unwritable[0]))
    return _ok("data_dir", N_("The data dir {path} is writable."), path=str(folder))


def _writable(folder: Path) -> bool:
    """Whether a file can be made in ``folder`` (a read-only mount fails this too)."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".doctor-"):
            return True
    except OSError:
        return False


def check_worker(engine: Engine, now: float) -> Finding:
    """A worker (`tuopin worker`) has beaten within heartbeat.FRESH_SECONDS."""
    try:
        with store.readers(engine)() as db:
            seen = heartbeat.freshest(db)
    except Exception as exc:  # noqa: BLE001 - the database finding says why
        return _bad("worker", Level.ERROR,
                    N_("Whether a worker runs cannot be told: {error}"),
                    N_("Fix the database first."), error=_first_line(exc))
    if seen is None:
        return _bad("worker", Level.ERROR,
                    N_("No worker has ever run: imports, exports and assessments started from "
                       "the web would wait for ever."),
                    N_("Start `tuopin worker` (deploy/systemd/tuopin-worker.service)."))
    age = int(now - seen)
    if age > heartbeat.FRESH_SECONDS:
        return _bad("worker", Level.ERROR,
                    N_("No worker has been seen for {seconds} seconds: background work is "
                       "not being done."),
                    N_("Check the worker: systemctl status tuopin-worker; journalctl -u "
                       "tuopin-worker."), seconds=age)
    return _ok("worker", N_("A worker was seen {seconds} seconds ago."), seconds=max(age, 0))


def check_pg_dump(settings: Settings, which: Which = shutil.which) -> Finding:
    """`tuopin backup` and `tuopin restore` of a PostgreSQL store need pg_dump and
    pg_restore on the PATH."""
    if not settings.database_url.startswith("postgresql"):
        return _ok("pg_dump", N_("The database is SQLite: backups need no other program."))
    missing = [tool for tool in ("pg_dump", "pg_restore") if which(tool) is None]
    if missing:
        return _bad("pg_dump", Level.ERROR,
                    N_("{tools} not on the PATH: `tuopin backup` and `tuopin restore` cannot "
                       "back up or restore a PostgreSQL database."),
                    N_("Install PostgreSQL's client programs, of the server's major version "
                       "or newer (Debian: apt-get install postgresql-client)."),
                    tools=" ".join(missing))
    return _ok("pg_dump", N_("pg_dump is at {path}."), path=which("pg_dump"))


@dataclass(frozen=True)
class Diagnosis:
    """Every finding, in the order of the checks."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.level is Level.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.level is Level.WARNING)


@reads(Action.MAINTAIN)
def diagnose(*, principal: Principal, settings: Settings, engine: Engine, now: float,
             which: Which = shutil.which) -> Diagnosis:
    """Run every check on a deployment's ``settings`` and its store."""
    database = check_database(engine)
    findings = [check_secret_key(settings), check_cookie_secure(settings), database,
                check_data_dir(settings)]
    if database.level is Level.OK:
        findings.append(check_worker(engine, now))
    else:
        findings.append(_bad("worker", Level.WARNING,
                             N_("Whether a worker runs cannot be told without the database."),
                             N_("Fix the database first.")))
    findings.append(check_pg_dump(settings, which))
    return Diagnosis(findings)
