"""Files uploaded through the web: received at once, checked and imported in the background.

Receiving only stores the bytes (a request never parses a file). A background task then
reads the file once - streamed, with limits on its rows and its unpacked size - validates
it, checks it against the registry in a dry run with the uploader's scope, and keeps what it
found: the typed rows and every problem (upload_files). The user reads the report, downloads
the problems, and confirms; the import then runs in the background too, from the kept rows.
An upload is its uploader's alone; it is removed once imported or cancelled, or when it
expires. A progress page follows the stages (received → checking → checked → importing →
imported). Each task is a background job (services/jobs), run by `tuopin worker`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tuopin.domain.enums import UploadState
from tuopin.domain.errors import Message, NotFound, RuleBroken, TooManyAttempts, ValidationFailed
from tuopin.i18n import N_
from tuopin.io import report, template
from tuopin.io.problems import Problem
from tuopin.io.readers import read_file
from tuopin.io.schema import Kind
from tuopin.io.validate import validate_file
from tuopin.services.access import policy
from tuopin.services.access.policy import Action, changes, reads
from tuopin.services.access.principal import Principal
from tuopin.services.access.throttle import ProbeLimiter
from tuopin.services.imports import upload_files
from tuopin.services.imports.files import (
    ImportResult,
    Progress,
    Source,
    action_of,
    import_validated,
)
from tuopin.storage.models import ImportUploadRecord

log = logging.getLogger("tuopin.uploads")
S = UploadState
REPORT_FORMATS = ("csv", "xlsx")
SHOWN = 200  # problems shown on the page; the download has them all
STAGES = ("read", "validate", "check")  # the check's steps, for the progress bar
WORKING = (S.RECEIVED, S.CHECKING, S.IMPORTING)
INTERRUPTED = N_("The work on this file was interrupted. Upload it again.")
UNEXPECTED = N_("The file could not be checked because of an unexpected error; it was "
                "recorded for the administrator.")
UNREADABLE = N_("The file could not be read: see the problems below.")
CHANGED = N_("The file has problems now, so nothing was imported. Read the report again.")
NOT_READY = N_("This file is not ready to be imported (it is {state}).")
HAS_PROBLEMS = N_("The file has problems: correct it and upload it again, or import only the "
                  "rows without problems.")
Clock = Callable[[], float]
# An upload that is a phone survey's export (ODK Central, KoboToolbox): its submissions hold
# surveys and members, imported together by services/imports/odk (all or nothing, so there
# is no importing of only the good rows); its file is kept until it is imported.
ODK = "odk"
ODK_SUFFIXES = (".zip", ".xlsx", ".csv")


@dataclass(frozen=True)
class UploadLimits:
    """What an upload may be: its bytes, its rows, its unpacked size; how long it is kept."""

    max_bytes: int = 10_000_000
    max_rows: int | None = 100_000
    max_unpacked_bytes: int | None = 100_000_000
    retention: int = 86_400  # seconds an upload is kept unless imported or cancelled
    stale_after: int = 900  # seconds without progress after which a task is deemed dead


@dataclass(frozen=True)
class UploadView:
    """An upload as its page shows it."""

    id: str
    kind: Kind | str  # a Kind, or ODK
    name: str
    state: UploadState
    stage: str
    done: int
    total: int
    result: dict[str, Any]
    encoding: str | None
    sheet: str | None
    problems: list[Problem] = field(default_factory=list)  # the first SHOWN

    @property
    def working(self) -> bool:
        return self.state in WORKING

    @property
    def error(self) -> Message | None:
        found = self.result.get("error")
        return Message(found["msgid"], **found.get("values", {})) if found else None

    @property
    def problem_count(self) -> int:
        return int(self.result.get("problems", 0))

    @property
    def rows(self) -> int:
        return int(self.result.get("rows", 0))

    @property
    def rejected(self) -> int:
        return int(self.result.get("rejected", 0))

    @property
    def valid(self) -> int:
        return self.rows - self.rejected

    @property
    def counts(self) -> tuple[int, int, int]:
        """(inserted, updated, unchanged): what the import did, or what the check foresaw."""
        return tuple(self.result.get("counts", (0, 0, 0)))  # type: ignore[return-value]


def kind_of(value: str) -> Kind | str:
    """An upload's kind as stored: a Kind, or ODK."""
    return value if value == ODK else Kind(value)


def kinds_for(principal: Principal) -> tuple[Kind, ...]:
    """The kinds ``principal`` may import (regions: an administrator only)."""
    return tuple(k for k in Kind if policy.allows(principal, action_of(kind=k)))


@reads(action_of)
def template_for(*, principal: Principal, kind: Kind, lang: str) -> bytes:
    """The XLSX import template of ``kind`` with headers in ``lang``."""
    with tempfile.TemporaryDirectory(prefix="tuopin-template-") as folder:
        path = Path(folder) / f"{kind.value}.xlsx"
        template.write_template(kind, path, lang=lang)
        return path.read_bytes()


@changes(action_of)
def receive(db: Session, *, principal: Principal, kind: Kind | str, filename: str,
            stream: BinaryIO, data_dir: Path, limits: UploadLimits,
            encoding: str | None = None, sheet: str | None = None,
            clock: Clock = time.time) -> str:
    """Keep an uploaded file for a check in the background; returns the upload's id.

    Only the bytes are stored here (refused when empty, oversized or not what their name
    says); uploads that expired meanwhile, anyone's, are removed on the way.
    """
    now = clock()
    purge(db, data_dir=data_dir, now=now)
    upload_id = secrets.token_hex(16)
    received = upload_files.receive(
        data_dir, upload_id, filename=filename, stream=stream, max_bytes=limits.max_bytes,
        accepted=ODK_SUFFIXES if kind == ODK else upload_files.ACCEPTED)
    db.add(ImportUploadRecord(
        id=upload_id, user_id=principal.user_id, actor=principal.actor, kind=str(kind),
        filename=received.name, sha256=received.sha256, size=received.size,
        encoding=encoding or None, sheet=sheet or None, state=S.RECEIVED.value, stage="",
        done=0, total=len(STAGES), result=None, created_at=now, updated_at=now,
        expires_at=now + limits.retention))
    db.flush()
    return upload_id


def _record(db: Session, principal: Principal, upload_id: str) -> ImportUploadRecord:
    """An upload of ``principal``'s (an operator's: anyone's); NotFound for any other."""
    found = db.get(ImportUploadRecord, upload_id)
    if found is None or not (principal.operator or found.user_id == principal.user_id):
        raise NotFound(f"upload {upload_id} not found")
    return found


def _state(record: ImportUploadRecord, stale_after: int, now: float) -> UploadState:
    state = UploadState.of(record.state)
    return S.FAILED if state in WORKING and now - record.updated_at > stale_after else state


@reads(Action.IMPORT)
def show(db: Session, *, principal: Principal, upload_id: str, data_dir: Path,
         limits: UploadLimits, clock: Clock = time.time) -> UploadView:
    """An upload of ``principal``'s, with the first problems its check found."""
    record = _record(db, principal, upload_id)
    state = _state(record, limits.stale_after, clock())
    result = json.loads(record.result) if record.result else {}
    if state is S.FAILED and not result.get("error"):
        result["error"] = {"msgid": INTERRUPTED}
    shown = (upload_files.load_problems(data_dir, upload_id, "problems")[:SHOWN]
             if state in (S.CHECKED, S.FAILED) else [])
    return UploadView(record.id, kind_of(record.kind), record.filename, state, record.stage,
                      record.done, record.total, result, record.encoding, record.sheet, shown)


@reads(Action.IMPORT)
def problem_report(db: Session, *, principal: Principal, upload_id: str, data_dir: Path,
                   fmt: str, lang: str) -> bytes:
    """Every problem the check of an upload found, as a CSV or XLSX file in ``lang``."""
    if fmt not in REPORT_FORMATS:
        raise NotFound(f"no {fmt} format")
    if _record(db, principal, upload_id).state not in (S.CHECKED.value, S.FAILED.value):
        raise NotFound(f"upload {upload_id} has no report")
    problems = upload_files.load_problems(data_dir, upload_id, "problems")
    with tempfile.TemporaryDirectory(prefix="tuopin-problems-") as folder:
        path = Path(folder) / f"problems.{fmt}"
        report.write_problems(problems, path, lang=lang)
        return path.read_bytes()


@changes(Action.IMPORT)
def confirm(db: Session, *, principal: Principal, upload_id: str, skip_invalid: bool,
            clock: Clock = time.time) -> None:
    """Ask for a checked upload to be imported (in the background: see ``run_import``)."""
    record = _record(db, principal, upload_id)
    policy.require(principal, action_of(kind=kind_of(record.kind)))
    if record.state != S.CHECKED.value:
        raise RuleBroken(NOT_READY, state=Message(UploadState.of(record.state).title))
    result = json.loads(record.result) if record.result else {}
    if result.get("problems") and (not skip_invalid or record.kind == ODK):
        raise RuleBroken(HAS_PROBLEMS)
    result.update(skip_invalid=skip_invalid, error=None)
    _move(record, S.IMPORTING, "import", 0, clock(), result)
    db.flush()


@changes(Action.IMPORT)
def cancel(db: Session, *, principal: Principal, upload_id: str, data_dir: Path,
           clock: Clock = time.time, stale_after: int = UploadLimits.stale_after) -> None:
    """Give up an upload that is not being worked on (or whose work died); its files are
    removed."""
    record = _record(db, principal, upload_id)
    if _state(record, stale_after, clock()) in (S.CHECKING, S.IMPORTING):
        raise RuleBroken(NOT_READY, state=Message(UploadState.of(record.state).title))
    _move(record, S.CANCELLED, "", 0, clock())
    db.flush()
    upload_files.remove(data_dir, upload_id)


def purge(db: Session, *, data_dir: Path, now: float) -> int:
    """Remove the uploads that expired (and their files); returns how many."""
    expired = db.scalars(select(ImportUploadRecord).where(
        ImportUploadRecord.expires_at < now)).all()
    for record in expired:
        upload_files.remove(data_dir, record.id)
        db.delete(record)
    db.flush()
    return len(expired)


def _move(record: ImportUploadRecord, state: UploadState, stage: str, done: int, now: float,
          result: dict[str, Any] | None = None) -> None:
    record.state, record.stage, record.done, record.updated_at = state.value, stage, done, now
    if result is not None:
        record.result = json.dumps(result, ensure_ascii=False, default=str)


# -- the background tasks -----------------------------------------------------------------

@contextmanager
def _transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction that commits on success, and also on a refusal that keeps its record
    (a probe counted and audited: services.access.probes)."""
    with sessions() as db:
        db.begin()
        try:
            yield db
        except BaseException as exc:
            if getattr(exc, "keep_transaction", False):
                db.commit()
            else:
                db.rollback()
            raise
        db.commit()


def _step(task: Task, upload_id: str, state: UploadState, stage: str, done: int,
          result: dict[str, Any] | None = None) -> None:
    if task.progress is not None and stage:
        task.progress(stage, done, len(STAGES))
    with _transaction(task.sessions) as db:
        record = db.get(ImportUploadRecord, upload_id)
        if record is not None:
            _move(record, state, stage, done, task.clock(), result)


def _summary(result: ImportResult) -> dict[str, Any]:
    counts = result.preview if result.dry_run else (result.inserted, result.updated,
                                                    result.unchanged)
    return {"rows": result.rows, "problems": len(result.problems),
            "rejected": len(result.rejected_rows), "written": result.written,
            "counts": tuple(counts or (0, 0, 0))}


def _failed(error: Exception) -> dict[str, Any]:
    message = error.args[0] if error.args else str(error)
    if isinstance(message, Message):
        return {"error": {"msgid": message.msgid, "values": {
            k: str(v) for k, v in message.values.items()}}}
    return {"error": {"msgid": UNEXPECTED}}


@dataclass(frozen=True)
class Task:
    """What a background task needs besides the upload's id: where, when, who and limits."""

    sessions: sessionmaker[Session]
    principal: Principal
    data_dir: Path
    today: date
    limits: UploadLimits = UploadLimits()
    probe_limiter: ProbeLimiter | None = None
    clock: Clock = time.time
    progress: Progress | None = None  # the job's progress bar: (stage, done, total)


@changes(Action.IMPORT)
def run_check(*, principal: Principal, task: Task, upload_id: str) -> None:
    """Read, validate and dry-run an upload (in the background); never raises."""
    clock, data_dir = task.clock, task.data_dir
    try:
        with _transaction(task.sessions) as db:
            record = _record(db, principal, upload_id)
            # CHECKING: a worker died while checking it, and its job is run again
            if record.state not in (S.RECEIVED.value, S.CHECKING.value):
                return  # cancelled (or checked) while it waited
            kind, name = kind_of(record.kind), record.filename
            encoding, sheet, sha256 = record.encoding, record.sheet, record.sha256
            _move(record, S.CHECKING, "read", 1, clock())
        path = upload_files.received_path(data_dir, upload_id)
        if path is None:
            raise NotFound(f"upload {upload_id} has no file")
        if kind == ODK:
            _check_odk(principal, task, upload_id, path, name)
            return
        assert isinstance(kind, Kind)
        raw = read_file(path, encoding=encoding, sheet=sheet if path.suffix == ".xlsx" else
                        None, name=name, max_rows=task.limits.max_rows,
                        max_unpacked_bytes=task.limits.max_unpacked_bytes)
        _step(task, upload_id, S.CHECKING, "validate", 2)
        validated = validate_file(raw, kind, today=task.today)
        upload_files.save_problems(data_dir, upload_id, "validation", validated.problems)
        upload_files.save_validated(data_dir, upload_id, validated)
        _step(task, upload_id, S.CHECKING, "check", 3)
        with _transaction(task.sessions) as db:
            result = import_validated(
                db, principal=principal, kind=kind, validated=validated,
                source=Source(name, sha256, len(raw), raw.encoding), dry_run=True,
                skip_invalid=True, probe_limiter=task.probe_limiter)
        upload_files.save_problems(data_dir, upload_id, "problems", result.problems)
        # kept until now: a check cut short (its worker killed) starts again from the file
        upload_files.drop_received(data_dir, upload_id)
        _step(task, upload_id, S.CHECKED, "", len(STAGES), _summary(result))
    except ValidationFailed as exc:  # the file as a whole: unreadable, too large, ...
        upload_files.save_problems(data_dir, upload_id, "problems", list(exc.problems))
        upload_files.drop_received(data_dir, upload_id)
        _step(task, upload_id, S.FAILED, "", 0,
              {"problems": len(exc.problems), "error": {"msgid": UNREADABLE}})
    except TooManyAttempts as exc:
        upload_files.remove(data_dir, upload_id)
        _step(task, upload_id, S.FAILED, "", 0, _failed(exc))
    except Exception as exc:  # noqa: BLE001 - a task must end in a state, never vanish
        log.exception("checking upload %s failed", upload_id)
        _step(task, upload_id, S.FAILED, "", 0, _failed(exc))


@changes(Action.IMPORT)
def run_import(*, principal: Principal, task: Task, upload_id: str) -> None:
    """Import a confirmed upload from its kept rows (in the background); never raises."""
    data_dir = task.data_dir
    try:
        with _transaction(task.sessions) as db:
            record = _record(db, principal, upload_id)
            if record.state != S.IMPORTING.value:
                return  # not (or no longer) confirmed
            kind, name, sha256 = kind_of(record.kind), record.filename, record.sha256
            summary = json.loads(record.result or "{}")
        if kind == ODK:
            _import_odk(principal, task, upload_id, name)
            return
        assert isinstance(kind, Kind)
        problems = upload_files.load_problems(data_dir, upload_id, "validation")
        validated = upload_files.load_validated(data_dir, upload_id, problems)
        with _transaction(task.sessions) as db:
            result = import_validated(
                db, principal=principal, kind=kind, validated=validated,
                source=Source(name, sha256, int(summary.get("rows", 0))), dry_run=False,
                skip_invalid=bool(summary.get("skip_invalid")),
                probe_limiter=task.probe_limiter, progress=task.progress)
        if not result.written:  # the registry changed since the check
            upload_files.save_problems(data_dir, upload_id, "problems", result.problems)
            _step(task, upload_id, S.CHECKED, "", len(STAGES),
                  {**_summary(result), "error": {"msgid": CHANGED}})
            return
        upload_files.remove(data_dir, upload_id)
        _step(task, upload_id, S.IMPORTED, "", len(STAGES), _summary(result))
    except TooManyAttempts as exc:
        upload_files.remove(data_dir, upload_id)
        _step(task, upload_id, S.FAILED, "", 0, _failed(exc))
    except Exception as exc:  # noqa: BLE001 - a task must end in a state, never vanish
        log.exception("importing upload %s failed", upload_id)
        _step(task, upload_id, S.FAILED, "", 0, _failed(exc))


# -- a phone survey's export ----------------------------------------------------------------

def _read_odk(task: Task, path: Path, name: str) -> Any:
    from tuopin.io.odk import read_export

    export = read_export(path, max_rows=task.limits.max_rows,
                         max_unpacked_bytes=task.limits.max_unpacked_bytes)
    # problems name the file as the user uploaded it, not as it is kept
    return dataclasses.replace(export, path=Path(name))


def _odk_summary(result: Any) -> dict[str, Any]:
    summary = result.summary()
    surveys = summary["surveys"]
    return {**summary, "rows": summary["submissions"], "counts": surveys, "rejected": 0,
            "rejected_review": summary["rejected"], "problems": len(result.problems)}


def _check_odk(principal: Principal, task: Task, upload_id: str, path: Path,
               name: str) -> None:
    """Read the export and import it in a dry run; the file is kept for the import."""
    from tuopin.services.imports.odk import import_export

    export = _read_odk(task, path, name)
    _step(task, upload_id, S.CHECKING, "check", 3)
    with _transaction(task.sessions) as db:
        result = import_export(db, principal=principal, export=export, today=task.today,
                               dry_run=True, probe_limiter=task.probe_limiter)
    upload_files.save_problems(task.data_dir, upload_id, "problems", result.problems)
    _step(task, upload_id, S.CHECKED, "", len(STAGES), _odk_summary(result))


def _import_odk(principal: Principal, task: Task, upload_id: str, name: str) -> None:
    """Import a confirmed export from its kept file: all submissions or none."""
    from tuopin.services.imports.odk import import_export

    path = upload_files.received_path(task.data_dir, upload_id)
    if path is None:
        raise NotFound(f"upload {upload_id} has no file")
    export = _read_odk(task, path, name)
    with _transaction(task.sessions) as db:
        result = import_export(db, principal=principal, export=export, today=task.today,
                               progress=task.progress, probe_limiter=task.probe_limiter)
    if not result.written:
        upload_files.save_problems(task.data_dir, upload_id, "problems", result.problems)
        _step(task, upload_id, S.CHECKED, "", len(STAGES),
              {**_odk_summary(result), "error": {"msgid": CHANGED}})
        return
    upload_files.remove(task.data_dir, upload_id)
    _step(task, upload_id, S.IMPORTED, "", len(STAGES), _odk_summary(result))
