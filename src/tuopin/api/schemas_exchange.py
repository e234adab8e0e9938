"""The shapes of the changes feed (the exports are files: see routes/exchange.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tuopin.api.schemas import Household, Member, Survey


class Change(BaseModel):
    """One record changed (or a whole kind to read again). Apply the entries in order:
    ``add`` and ``edit`` put ``data`` under (entity, id), ``remove`` drops it, ``reload``
    drops every record of ``entity`` and reads them again through GET /export/{kind}."""

    seq: int = Field(description="The audit event this entry comes from")
    at: str = Field(description="When the event was recorded (ISO 8601, UTC)")
    entity: Literal["household", "member", "survey", "fund", "project", "disbursement"] = Field(
        description="The books of funds change only by imports: their entries are reloads")
    id: str | None = Field(description="A household's number, a member's id, a survey's "
                           "NUMBER/YEAR; null for a reload")
    change: Literal["add", "edit", "remove", "reload"]
    version: str | None = Field(description="The record's ETag value (its version; a "
                                "survey's tag); null for remove and reload")
    data: Household | Member | Survey | None = Field(
        description="The record as it is now (null: it is gone or outside your scope)")


class ChangeFeed(BaseModel):
    """A page of the feed. Read on from ``next``; ``more``: the page was full, read again
    now (else: poll later with the same ``next``)."""

    items: list[Change]
    next: str = Field(description="Pass as ?since= to read on (never null)")
    more: bool
