"""The files of an upload: the bytes as received, then the rows it validated, then nothing.

Each upload has a folder ``data_dir/uploads/<id>/``. The received file is kept only until
it has been read once; what the check found - the typed rows with the cells as the user
typed them, and every problem - is kept as Parquet for the problems page and for confirming,
so a file is never parsed twice. Confirming, cancelling or expiring removes the folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tuopin.io.problems import Problem
from tuopin.io.readers import file_error
from tuopin.io.schema import Kind
from tuopin.io.validate import Validated

ACCEPTED = (".csv", ".xlsx")
XLSX_MAGIC = b"PK\x03\x04"  # an XLSX workbook is a ZIP archive
CHUNK = 1 << 20
RAW_PREFIX = "raw:"
ROW = "_row"


def folder_of(data_dir: Path, upload_id: str) -> Path:
    """Where the files of one upload are kept."""
    return data_dir / "uploads" / upload_id


def suffix_of(filename: str, accepted: tuple[str, ...] = ACCEPTED) -> str:
    """The suffix of an acceptable upload (ValidationFailed for any other kind of file)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in accepted:
        if ".zip" in accepted:
            raise file_error("Only ODK Central's .csv.zip and KoboToolbox's XLSX or CSV "
                             "exports can be imported as a phone survey.")
        raise file_error("Only CSV and XLSX files can be imported.")
    return suffix


@dataclass(frozen=True)
class Received:
    """A file as received: where it is, its name, its hash and its size."""

    path: Path
    name: str
    sha256: str
    size: int


def receive(data_dir: Path, upload_id: str, *, filename: str, stream: BinaryIO,
            max_bytes: int, accepted: tuple[str, ...] = ACCEPTED) -> Received:
    """Keep the bytes of ``stream`` in the upload's folder; refuse empty, oversized or odd
    files (nothing is left behind then)."""
    if not filename:
        raise file_error("Choose a file to import.")
    suffix = suffix_of(filename, accepted)
    folder = folder_of(data_dir, upload_id)
    folder.mkdir(parents=True, exist_ok=False)
    digest, size, head = hashlib.sha256(), 0, b""
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            for block in iter(lambda: stream.read(CHUNK), b""):
                size += len(block)
                if size > max_bytes:
                    raise file_error("The file is larger than {limit} bytes.", limit=max_bytes)
                head = head or block[:4]
                digest.update(block)
                out.write(block)
        if size == 0:
            raise file_error("The file is empty.")
        if suffix == ".xlsx" and head != XLSX_MAGIC:
            raise file_error("The file {name} is not an XLSX workbook.", name=filename)
        if suffix == ".zip" and head != XLSX_MAGIC:
            raise file_error("The file {name} is not a ZIP archive.", name=filename)
        path = folder / f"received{suffix}"
        os.replace(tmp, path)
    except BaseException:
        remove(data_dir, upload_id)
        raise
    return Received(path, Path(filename).name[:255], digest.hexdigest(), size)


def received_path(data_dir: Path, upload_id: str) -> Path | None:
    """The file as received, if it has not been read and dropped yet."""
    found = sorted(folder_of(data_dir, upload_id).glob("received.*"))
    return found[0] if found else None


def save_validated(data_dir: Path, upload_id: str, validated: Validated) -> None:
    """Keep the typed rows, the cells as typed and the field headers of a checked file."""
    table = validated.table.append_column(ROW, pa.array(validated.rows, pa.int64()))
    for name, cells in validated.raw.items():
        table = table.append_column(f"{RAW_PREFIX}{name}", cells)
    meta = {"kind": validated.kind.value, "headers": validated.headers}
    table = table.replace_schema_metadata({"tuopin": json.dumps(meta, ensure_ascii=False)})
    pq.write_table(table, folder_of(data_dir, upload_id) / "validated.parquet")


def load_validated(data_dir: Path, upload_id: str, problems: list[Problem]) -> Validated:
    """The rows kept by ``save_validated``, with the problems the file itself had."""
    table = pq.read_table(folder_of(data_dir, upload_id) / "validated.parquet")
    meta = json.loads((table.schema.metadata or {})[b"tuopin"])
    raw = {name.removeprefix(RAW_PREFIX): table.column(name).combine_chunks()
           for name in table.column_names if name.startswith(RAW_PREFIX)}
    fields = [n for n in table.column_names if n != ROW and not n.startswith(RAW_PREFIX)]
    rows = np.asarray(table.column(ROW).to_numpy(), dtype=np.int64)
    return Validated(Kind(meta["kind"]), table.select(fields).replace_schema_metadata(None),
                     rows, dict(meta["headers"]), raw, list(problems))


PROBLEM_SCHEMA = pa.schema([("row", pa.int64()), ("column", pa.string()),
                            ("value", pa.string()), ("reason", pa.string()),
                            ("params", pa.string()), ("record", pa.string())])


def save_problems(data_dir: Path, upload_id: str, name: str, problems: list[Problem]) -> None:
    """Keep ``problems`` (reasons as msgids, so that they read in either language)."""
    table = pa.table({
        "row": [p.row for p in problems], "column": [p.column for p in problems],
        "value": [p.value for p in problems], "reason": [p.reason for p in problems],
        "params": [json.dumps(p.params, ensure_ascii=False, default=str) for p in problems],
        "record": [p.record for p in problems],
    }, schema=PROBLEM_SCHEMA)
    pq.write_table(table, folder_of(data_dir, upload_id) / f"{name}.parquet")


def load_problems(data_dir: Path, upload_id: str, name: str) -> list[Problem]:
    """The problems kept under ``name`` (none when nothing was kept)."""
    path = folder_of(data_dir, upload_id) / f"{name}.parquet"
    if not path.is_file():
        return []
    return [Problem(r["row"], r["column"], r["value"], r["reason"], json.loads(r["params"]),
                    r.get("record") or "")
            for r in pq.read_table(path).to_pylist()]


def drop_received(data_dir: Path, upload_id: str) -> None:
    """Remove the file as received (it has been read once; its rows are kept)."""
    for path in folder_of(data_dir, upload_id).glob("received.*"):
        path.unlink(missing_ok=True)


def remove(data_dir: Path, upload_id: str) -> None:
    """Remove everything of an upload."""
    shutil.rmtree(folder_of(data_dir, upload_id), ignore_errors=True)
