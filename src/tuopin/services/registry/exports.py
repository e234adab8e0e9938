"""Exporting the registry in the import format, so an export re-imports unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from tuopin.domain import regions
from tuopin.domain.fen import fen_text
from tuopin.domain.scope import Scope
from tuopin.io.schema import FUND_KINDS, FieldType, Kind, fields
from tuopin.services import audit, records
from tuopin.services.access.policy import Action, changes
from tuopin.services.access.principal import Principal
from tuopin.storage.models import (
    AllocationRecord,
    DisbursementRecord,
    FundRecord,
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    ProjectRecord,
    RegionRecord,
    SurveyRecord,
)
from tuopin.storage.scope import in_region

H, M, R, S = HouseholdRecord, MemberRecord, RegionRecord, SurveyRecord

ARROW_TYPES = {
    FieldType.INTEGER: pa.int64(),
    FieldType.DECIMAL: pa.float64(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.DATE: pa.date32(),
    FieldType.FEN: pa.decimal128(20, 2),
}


def _fund_query(kind: Kind, scope: Scope) -> Select:
    """The books of funds, by the region of the fund or of the project."""
    F, P = FundRecord, ProjectRecord
    if kind is Kind.FUNDS:
        return (select(*[F.__table__.c[f.name] for f in fields(kind)])
                .where(in_region(scope, F.region_code)).order_by(F.number))
    if kind is Kind.PROJECTS:
        return (select(*[P.__table__.c[f.name] for f in fields(kind)])
                .where(in_region(scope, P.region_code)).order_by(P.number))
    if kind is Kind.ALLOCATIONS:
        A = AllocationRecord
        return (select(F.number, P.number, A.amount, A.allocated_on)
                .join(F, F.id == A.fund_id).join(P, P.id == A.project_id)
                .where(in_region(scope, P.region_code)).order_by(F.number, P.number))
    D, R = DisbursementRecord, aliased(DisbursementRecord)
    return (select(D.number, P.number, D.payee_id_number, D.payee_household, D.amount,
                   D.paid_on, D.channel, D.account, R.number)
            .join(P, P.id == D.project_id).outerjoin(R, R.id == D.reverses_id)
            .where(in_region(scope, P.region_code)).order_by(D.id))


def _query(kind: Kind, scope: Scope) -> Select:
    if kind in FUND_KINDS:
        return _fund_query(kind, scope)
    names = [f.name for f in fields(kind)]
    in_scope = records.in_scope(scope)
    if kind is Kind.REGIONS:
        # the scope's ancestors too, so that the file re-imports into an empty store
        above = regions.ancestors(scope.region_code) if scope.region_code else []
        where = or_(in_region(scope, R.code), R.code.in_(above))
        return select(R.code, R.name, R.western).where(where).order_by(R.level, R.code)
    if kind is Kind.HOUSEHOLDS:
        return select(*[H.__table__.c[n] for n in names]).where(in_scope).order_by(H.number)
    if kind is Kind.MEMBERS:
        columns = [H.number.label("household_number")] + [M.__table__.c[n] for n in names[1:]]
        return (select(*columns).join(H, H.id == M.household_id).where(in_scope)
                .order_by(H.number, M.id))
    if kind is Kind.SURVEYS:
        columns = [H.number.label("household_number")] + [S.__table__.c[n] for n in names[1:]]
        return (select(*columns).join(H, H.id == S.household_id).where(in_scope)
                .order_by(H.number, S.year))
    A = HelperAssignmentRecord
    return (
        select(HelperRecord.number, HelperRecord.name, HelperRecord.unit, HelperRecord.post,
               HelperRecord.phone, func.aggregate_strings(H.number, ";").label("households"),
               func.min(A.start_date).label("start_date"), HelperRecord.id_number)
        .join(A, A.helper_id == HelperRecord.id).join(H, H.id == A.household_id)
        .where(in_scope)
        .group_by(HelperRecord.id, HelperRecord.number, HelperRecord.name, HelperRecord.unit,
                  HelperRecord.post, HelperRecord.phone, HelperRecord.id_number)
        .order_by(HelperRecord.number)
    )


@changes(Action.EXPORT)
def export_table(db: Session, *, principal: Principal, kind: Kind) -> pa.Table:
    """The records of ``kind`` in ``principal``'s scope as an Arrow table with the import
    columns (a helper's scope: their households only), audited in ``db``'s transaction."""
    table = _export_table(db, principal, kind)
    audit.record_export(db, actor=principal.actor, filename=kind.value,
                        masked=not principal.sees_identifiers, kind=kind.value,
                        scope=principal.scope.region_code or "", rows=table.num_rows)
    return table


def _export_table(db: Session, principal: Principal, kind: Kind) -> pa.Table:
    rows = db.execute(_query(kind, principal.scope)).all()
    columns: dict[str, list[Any]] = {f.name: [] for f in fields(kind)}
    for row in rows:
        for name, value in zip(columns, row, strict=True):
            columns[name].append(value)
    if kind is Kind.HELPERS:  # a stable order inside the list cell
        columns["households"] = [";".join(sorted(v.split(";"))) if v else v
                                 for v in columns["households"]]
    for spec in fields(kind):  # amounts of the books: exact yuan and fen, never a float
        if spec.type is FieldType.FEN:
            columns[spec.name] = [None if v is None else Decimal(fen_text(v))
                                  for v in columns[spec.name]]
    arrays = {f.name: pa.array(columns[f.name], type=ARROW_TYPES.get(f.type, pa.string()))
              for f in fields(kind)}
    return pa.table(arrays)
