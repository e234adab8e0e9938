"""The API's bulk exchange: exports of whole kinds and the changes feed.

An export streams a file as its rows are read (flat memory, however many rows); the feed
is read from the audit trail (services/exchange/changes.py says how to keep a copy by it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from tuopin.api.deps import PrincipalDep, SessionDep, WritingSessionDep
from tuopin.api.paging import decode_cursor, encode_cursor
from tuopin.api.schemas_exchange import ChangeFeed
from tuopin.services.exchange import changes, export
from tuopin.services.exchange.export import ExportFormat, ExportKind

router = APIRouter(tags=["exchange"])
RegionPrefix = Annotated[str | None, Query(pattern=r"^\d{2,12}$",
                                           description="A region code prefix (6211: a prefecture)")]
FILES: dict[int | str, dict[str, Any]] = {200: {
    "description": "The file, streamed (CSV: UTF-8 with a BOM, the importer's columns; "
                   "Parquet: one row group per 65,536 rows)",
    "content": {"text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string",
                                                              "format": "binary"}}}}}


@router.get("/export/{kind}", response_class=StreamingResponse, response_model=None,
            responses=FILES)
def export_kind(db: WritingSessionDep, principal: PrincipalDep,
                kind: Annotated[ExportKind, Path(description="What to export")],
                format: Annotated[ExportFormat, Query(description="csv or parquet")] =
                ExportFormat.CSV,
                region: RegionPrefix = None,
                run: Annotated[int | None, Query(ge=1, le=2**62, description=(
                    "The assessment run (results only)"))] = None) -> StreamingResponse:
    """Every record of a kind in your scope as one file: households, members, surveys,
    results (of ``run``), funds, projects, disbursements (payments). The registry's files
    have the importer's columns (households and members then their ``id`` and ``version``),
    so that an export re-imports; personal numbers are masked for roles that do not see
    them. Every export is in the audit trail (who, which file, masked or not)."""
    found = export.open_export(db, principal=principal, kind=kind, fmt=format, region=region,
                               run=run)
    return StreamingResponse(found.chunks, media_type=found.media_type, headers={
        "Content-Disposition": f'attachment; filename="{found.filename}"'})


@router.get("/changes", response_model=ChangeFeed)
def change_feed(db: SessionDep, principal: PrincipalDep,
                since: Annotated[str | None, Query(max_length=200, description=(
                    "The last answer's next (none: from the beginning)"))] = None,
                limit: Annotated[int, Query(ge=1, le=1000, description=(
                    "Audit events to read (each gives zero or more entries)"))] = 100) -> Any:
    """Households, members and surveys changed since ``since``, as they are now, so that
    another system can keep an exact copy of what you see: apply the entries in order,
    read on from ``next``. An import is one ``reload`` entry of its kind: read that kind
    again through GET /export/{kind}."""
    after = decode_cursor(since, int)
    found = changes.feed(db, principal=principal, after=after[0] if after else 0, limit=limit)
    return {"items": found["items"], "next": encode_cursor([found["last"]]),
            "more": found["more"]}
