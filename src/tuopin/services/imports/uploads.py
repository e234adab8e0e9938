"""Import files uploaded through the web: kept by SHA-256, checked, imported on confirmation.

An upload is stored once under ``data_dir/uploads/<sha256>.<csv|xlsx>`` (the same bytes
uploaded twice occupy the disk once), checked by a dry run with the user's scope, and only
imported when the user confirms what the check showed. Confirming reads the stored bytes
again, so what is written is exactly the file that was checked.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied
from tuopin.domain.scope import Scope
from tuopin.i18n import N_
from tuopin.io import report, template
from tuopin.io.readers import file_error
from tuopin.io.schema import Kind
from tuopin.services.imports.files import ImportResult, import_in_session

ACCEPTED = (".csv", ".xlsx")
REPORT_FORMATS = ("csv", "xlsx")
XLSX_MAGIC = b"PK\x03\x04"  # an XLSX workbook is a ZIP archive
SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Upload:
    """A stored upload: its hash and suffix name it; ``name`` is what the user called it."""

    sha256: str
    suffix: str  # ".csv" or ".xlsx"
    name: str


@dataclass(frozen=True)
class Checked:
    """What the check of an upload found: the upload and the dry run's result."""

    upload: Upload
    result: ImportResult


def kinds_for(role: Role) -> tuple[Kind, ...]:
    """The kinds ``role`` may import: regions only an administrator."""
    return tuple(k for k in Kind if k is not Kind.REGIONS or role is Role.ADMIN)


def _allow(role: Role, kind: Kind) -> None:
    if kind not in kinds_for(role):
        raise PermissionDenied(N_("Your role may not import this kind of file."))


def path_of(data_dir: Path, sha256: str, suffix: str) -> Path:
    """Where the upload with this hash is kept."""
    return data_dir / "uploads" / f"{sha256}{suffix}"


def suffix_of(filename: str) -> str:
    """The suffix of an acceptable upload (ValidationFailed for any other kind of file)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in ACCEPTED:
        raise file_error("Only CSV and XLSX files can be imported.")
    return suffix


def store(data_dir: Path, *, filename: str, stream: BinaryIO, max_bytes: int) -> Upload:
    """Keep the bytes of ``stream`` under their hash; refuse empty, oversized or odd files."""
    if not filename:
        raise file_error("Choose a file to import.")
    suffix = suffix_of(filename)
    folder = data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    # written to a temporary name while hashing, then renamed: a crash leaves no half file
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            for block in iter(lambda: stream.read(CHUNK), b""):
                size += len(block)
                if size > max_bytes:
                    raise file_error("The file is larger than {limit} bytes.", limit=max_bytes)
                head = head or block[:4]
                digest.update(block)
                out.write(block)
        _check_content(filename, suffix, size, head)
        upload = Upload(digest.hexdigest(), suffix, Path(filename).name)
        os.replace(tmp, path_of(data_dir, upload.sha256, suffix))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return upload


def _check_content(filename: str, suffix: str, size: int, head: bytes) -> None:
    if size == 0:
        raise file_error("The file is empty.")
    if suffix == ".xlsx" and head != XLSX_MAGIC:
        raise file_error("The file {name} is not an XLSX workbook.", name=filename)


def stored(data_dir: Path, *, sha256: str, suffix: str) -> Path:
    """The path of an upload kept earlier (NotFound for any other hash)."""
    path = path_of(data_dir, sha256, suffix) if SHA256.match(sha256) else None
    if path is None or suffix not in ACCEPTED or not path.is_file():
        raise NotFound(f"upload {sha256} not found")
    return path


@dataclass(frozen=True)
class Importer:
    """Who imports, where from and how: everything an import needs but the file itself."""

    data_dir: Path
    role: Role
    scope: Scope
    actor: str
    today: date
    encoding: str | None = None
    sheet: str | None = None

    def run(self, db: Session, *, kind: Kind, path: Path, dry_run: bool,
            skip_invalid: bool) -> ImportResult:
        _allow(self.role, kind)
        return import_in_session(db, kind=kind, path=path, actor=self.actor, today=self.today,
                                 encoding=self.encoding or None,
                                 sheet=(self.sheet or None) if path.suffix == ".xlsx" else None,
                                 dry_run=dry_run, skip_invalid=skip_invalid, scope=self.scope)


def check(db: Session, importer: Importer, *, kind: Kind, filename: str, stream: BinaryIO,
          max_bytes: int) -> Checked:
    """Store an upload and dry-run it with the user's scope: every problem, nothing written.

    The dry run skips the bad rows so that it can also say what importing only the good
    ones would do (``result.preview``).
    """
    _allow(importer.role, kind)
    upload = store(importer.data_dir, filename=filename, stream=stream, max_bytes=max_bytes)
    path = path_of(importer.data_dir, upload.sha256, upload.suffix)
    result = importer.run(db, kind=kind, path=path, dry_run=True, skip_invalid=True)
    return Checked(upload, result)


def problem_report(db: Session, importer: Importer, *, kind: Kind, sha256: str, suffix: str,
                   fmt: str, lang: str) -> bytes:
    """Every problem of an upload kept earlier, checked again, as a CSV or XLSX file."""
    if fmt not in REPORT_FORMATS:
        raise NotFound(f"no {fmt} format")
    path = stored(importer.data_dir, sha256=sha256, suffix=suffix)
    result = importer.run(db, kind=kind, path=path, dry_run=True, skip_invalid=False)
    return _written(lambda out: report.write_problems(result.problems, out, lang=lang),
                    f"problems.{fmt}")


def confirm(db: Session, importer: Importer, *, kind: Kind, sha256: str, suffix: str,
            skip_invalid: bool) -> ImportResult:
    """Import an upload checked earlier; with problems it writes nothing unless skipping."""
    path = stored(importer.data_dir, sha256=sha256, suffix=suffix)
    return importer.run(db, kind=kind, path=path, dry_run=False, skip_invalid=skip_invalid)


def template_for(role: Role, kind: Kind, *, lang: str) -> bytes:
    """The XLSX import template of ``kind`` with headers in ``lang``."""
    _allow(role, kind)
    return _written(lambda path: template.write_template(kind, path, lang=lang),
                    f"{kind.value}.xlsx")


def _written(write: Callable[[Path], None], name: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tuopin-import-") as folder:
        path = Path(folder) / name
        write(path)
        return path.read_bytes()
