"""Streaming a whole kind of records as CSV or Parquet, with memory flat in the row count.

The service builds one SELECT of the kind (its WHERE clause the principal's scope and the
region asked for); storage/arrow_stream runs it on a connection of its own (PostgreSQL:
ADBC's COPY straight into Arrow) and hands the rows over as Arrow record batches in key
order, in one read transaction (REPEATABLE READ on PostgreSQL), so that a file is one
consistent state of the store. Each batch is finished column by column (money to exact
yuan, personal numbers masked, formulas neutralised: compute kernels, no Python loop over
rows), written (one CSV chunk or one Parquet row group) and handed out as bytes before the
next is read: however many rows there are, a few batches are in memory at once.

The registry's files have the importer's columns, so that an export re-imports; households
and members carry their keys (``id``) and ``version`` after them, which the importer
ignores and a copy kept from the changes feed needs. Personal numbers are masked for a
role that does not see them (services/exchange/masks: masking.MASKS on whole columns), and
only the records in the principal's scope are written (a village cadre: their village).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import ColumnElement, Engine, Select, select, true
from sqlalchemy.orm import Session, aliased

from tuopin.domain.errors import NotFound
from tuopin.i18n import N_
from tuopin.io.formulas import is_text, quoted, quoted_name
from tuopin.io.schema import FieldType, Kind, fields
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.services.exchange.masks import masked
from tuopin.services.registry.exports import ARROW_TYPES
from tuopin.storage.arrow_stream import read_batches
from tuopin.storage.models import (
    AssessmentResultRecord,
    AssessmentRunRecord,
    DisbursementRecord,
    FundRecord,
    HouseholdRecord,
    MemberRecord,
    ProjectRecord,
    SurveyRecord,
)
from tuopin.storage.scope import in_households, in_region

BATCH_ROWS = 65_536  # rows a batch, a CSV chunk and a Parquet row group
UTF8_BOM = b"\xef\xbb\xbf"  # as io/writers: Excel on Chinese Windows needs it
RUN_NEEDED = N_("Name the assessment run whose results to export (run=ID).")
H, M, S = HouseholdRecord, MemberRecord, SurveyRecord


class ExportKind(StrEnum):
    """What can be exported: the registry, a run's results and the books of funds."""

    HOUSEHOLDS = "households"
    MEMBERS = "members"
    SURVEYS = "surveys"
    RESULTS = "results"
    FUNDS = "funds"
    PROJECTS = "projects"
    DISBURSEMENTS = "disbursements"


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


MEDIA_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8",
               ExportFormat.PARQUET: "application/vnd.apache.parquet"}


@dataclass(frozen=True)
class Column:
    name: str
    expr: Any
    type: pa.DataType
    fen: bool = False  # integer fen in the store, exact yuan in the file


@dataclass(frozen=True)
class Plan:
    """One kind's columns, its key (unique, in file order) and its WHERE clause."""

    columns: tuple[Column, ...]
    key: Any
    joins: tuple[tuple[Any, Any], ...]  # (table, ON clause)
    where: tuple[ColumnElement[bool], ...]
    outer: tuple[tuple[Any, Any], ...] = ()  # left joins: the row stays without a match

    def query(self) -> Select[Any]:
        """Every row of the kind in scope, in key order."""
        query = select(*[c.expr.label(c.name) for c in self.columns])
        for target, on in self.joins:
            query = query.join(target, on)
        for target, on in self.outer:
            query = query.outerjoin(target, on)
        return query.where(*self.where).order_by(self.key)

    @property
    def schema(self) -> pa.Schema:
        """The file's columns."""
        return pa.schema([(c.name, c.type) for c in self.columns])

    @property
    def stored(self) -> pa.Schema:
        """The columns as the store holds them (money in integer fen)."""
        return pa.schema([(c.name, INT if c.fen else c.type) for c in self.columns])


@dataclass(frozen=True)
class Export:
    """A file on its way out: its name, media type and its bytes, batch by batch."""

    kind: ExportKind
    format: ExportFormat
    filename: str
    media_type: str
    chunks: Iterator[bytes]


def _import_columns(kind: Kind, table: Any, **override: Any) -> list[Column]:
    return [Column(f.name, override.get(f.name, table.c.get(f.name)),
                   ARROW_TYPES.get(f.type, pa.string()), fen=f.type is FieldType.FEN)
            for f in fields(kind)]


INT = pa.int64()


def _registry_plan(kind: ExportKind, principal: Principal, region: str | None) -> Plan:
    scope = (records.in_scope(principal.scope), _prefixed(H.village_code, region))
    if kind is ExportKind.HOUSEHOLDS:
        columns = [*_import_columns(Kind.HOUSEHOLDS, H.__table__),
                   Column("version", H.version, INT)]
        return Plan(tuple(columns), H.number, (), scope)
    if kind is ExportKind.MEMBERS:
        columns = [*_import_columns(Kind.MEMBERS, M.__table__, household_number=H.number),
                   Column("id", M.id, INT), Column("version", M.version, INT)]
        return Plan(tuple(columns), M.id, ((H, H.id == M.household_id),), scope)
    columns = _import_columns(Kind.SURVEYS, S.__table__, household_number=H.number)
    return Plan(tuple(columns), S.id, ((H, H.id == S.household_id),), scope)


def _results_plan(db: Session, principal: Principal, region: str | None,
                  run: int | None) -> Plan:
    if run is None:
        raise NotFound(RUN_NEEDED)
    if db.get(AssessmentRunRecord, run) is None:
        raise NotFound(f"assessment run {run} not found")
    R = AssessmentResultRecord
    columns = (Column("run", R.run_id, INT), Column("household_number", R.household_number,
                                                      pa.string()),
               Column("village_code", R.village_code, pa.string()),
               Column("members", R.members, INT),
               Column("income_per_capita", R.income_per_capita, pa.float64()),
               Column("score", R.score, pa.float64()), Column("poor", R.poor, pa.bool_()),
               Column("deprived", R.deprived, pa.string()),
               Column("categories", R.categories, pa.string()))
    where = (R.run_id == run, in_region(principal.scope, R.village_code),
             in_households(principal.scope, R.household_number),
             _prefixed(R.village_code, region))
    return Plan(columns, R.id, (), where)


def _funds_plan(kind: ExportKind, principal: Principal, region: str | None) -> Plan:
    F, P, D = FundRecord, ProjectRecord, DisbursementRecord
    if kind is ExportKind.FUNDS:
        return Plan(tuple(_import_columns(Kind.FUNDS, F.__table__)), F.number, (),
                    (in_region(principal.scope, F.region_code), _prefixed(F.region_code, region)))
    where = (in_region(principal.scope, P.region_code), _prefixed(P.region_code, region))
    if kind is ExportKind.PROJECTS:
        return Plan(tuple(_import_columns(Kind.PROJECTS, P.__table__)), P.number, (), where)
    reversed_ = aliased(DisbursementRecord)
    columns = _import_columns(Kind.DISBURSEMENTS, D.__table__, project=P.number,
                              reverses=reversed_.number)
    return Plan(tuple(columns), D.id, ((P, P.id == D.project_id),), where,
                outer=((reversed_, reversed_.id == D.reverses_id),))


def _prefixed(column: Any, region: str | None) -> ColumnElement[bool]:
    return true() if not region else column.startswith(region, autoescape=True)


@changes(Action.EXPORT)
def open_export(db: Session, *, principal: Principal, kind: ExportKind, fmt: ExportFormat,
                region: str | None = None, run: int | None = None,
                audited: bool = True) -> Export:
    """Check the request (NotFound, PermissionDenied now, before any byte is sent) and
    return the file to stream; its rows are read when ``chunks`` is iterated, from the
    engine behind ``db``, in their own read transaction.

    The export is audited in ``db``'s transaction (who, what, which region, masked or not):
    personal data leaving the store is on the record, as a revealed number is. ``audited``
    False only checks the request: a queued export is audited when its job reads the rows.
    """
    region = records.region_filter(principal, region)
    if kind is ExportKind.RESULTS:
        plan = _results_plan(db, principal, region, run)
        name = f"results-{run}"
    elif kind in (ExportKind.FUNDS, ExportKind.PROJECTS, ExportKind.DISBURSEMENTS):
        plan, name = _funds_plan(kind, principal, region), kind.value
    else:
        plan, name = _registry_plan(kind, principal, region), kind.value
    if region:
        name += f"-{region}"
    writer = _csv_chunks if fmt is ExportFormat.CSV else _parquet_chunks
    # the rows are read on a connection of their own: the request's transaction (and on
    # SQLite any lock it holds) ends before the first byte goes out
    bind = db.get_bind()
    url = (bind if isinstance(bind, Engine) else bind.engine).url
    batches = _batches(url.render_as_string(hide_password=False), plan,
                       mask=not principal.sees_identifiers)
    chunks = writer(plan, batches)
    filename = f"{name}.{fmt.value}"
    if audited:
        audit.record_export(db, actor=principal.actor, filename=filename,
                            masked=not principal.sees_identifiers, kind=kind.value,
                            format=fmt.value, region=region or "",
                            scope=principal.scope.region_code or "", run=run)
    return Export(kind, fmt, filename, MEDIA_TYPES[fmt], chunks)


def _batches(url: str, plan: Plan, *, mask: bool) -> Iterator[pa.RecordBatch]:
    """The plan's rows in batches of BATCH_ROWS, in the file's types, masked if ``mask``."""
    fen = [i for i, c in enumerate(plan.columns) if c.fen]
    for batch in read_batches(url, plan.query(), plan.stored, batch_rows=BATCH_ROWS):
        if fen:
            columns = list(batch.columns)
            for i in fen:
                columns[i] = _yuan(columns[i], plan.columns[i].type)
            batch = pa.RecordBatch.from_arrays(columns, schema=plan.schema)
        yield masked(batch) if mask else batch


def _yuan(fen: pa.Array, kind: pa.DataType) -> pa.Array:
    """Integer fen as exact yuan: a decimal with two places holds the fen as its unscaled
    value, so the 128-bit words are the fen and their sign (no division, no rounding)."""
    values = pc.fill_null(fen, 0).to_numpy().astype(np.int64)
    words = np.empty((len(values), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = values, values >> 63  # low word, then its sign extended
    yuan = pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(words)])
    return pc.if_else(fen.is_valid(), yuan, pa.scalar(None, kind)) if fen.null_count else yuan


class _Drain:
    """A write-only file whose bytes are taken out after each batch; it counts every byte
    written, so that a Parquet footer's offsets are right."""

    closed = False

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _neutralised(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text that a spreadsheet would run as a formula behind an apostrophe (io/writers)."""
    return pa.RecordBatch.from_arrays(
        [quoted(c) if is_text(c.type) else c for c in batch.columns],
        names=[quoted_name(n) for n in batch.schema.names])


def _csv_chunks(plan: Plan, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    drain = _Drain()
    drain.write(UTF8_BOM)
    header = pa.schema([(quoted_name(f.name), f.type) for f in plan.schema])
    with pa.PythonFile(drain, mode="w") as sink, pa_csv.CSVWriter(sink, header) as writer:
        yield drain.take()
        for batch in batches:
            writer.write_batch(_neutralised(batch))
            yield drain.take()
    yield drain.take()


def _parquet_chunks(plan: Plan, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    drain = _Drain()
    with pa.PythonFile(drain, mode="w") as sink:
        with pq.ParquetWriter(sink, plan.schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                yield drain.take()
        yield drain.take()
