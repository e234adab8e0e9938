"""The API's shapes of background jobs: what starts one, and a job as it stands."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from tuopin.domain.enums import JobKind, JobState
from tuopin.services.exchange.export import ExportFormat, ExportKind


class NewRun(BaseModel):
    """An assessment run to queue: every surveyed household of a year in your region,
    against a shipped standard."""

    model_config = {"extra": "forbid"}

    standard: str = Field(min_length=1, max_length=64, examples=["cn-national"],
                          description="A shipped standard (`tuopin standards list`)")
    year: int = Field(ge=1900, le=2999, description="The survey year, within the standard's")


class NewExport(BaseModel):
    """An export to write as a file (GET /export/{kind} streams the same file at once)."""

    model_config = {"extra": "forbid"}

    kind: ExportKind
    format: ExportFormat = ExportFormat.CSV
    region: str | None = Field(default=None, pattern=r"^\d{2,12}$",
                               description="A region code prefix (default: your region)")
    run: int | None = Field(default=None, ge=1, le=2**62,
                            description="The assessment run (results only, and needed there)")


class NewFundsCheck(BaseModel):
    """The anomaly rules over the books of funds as they stood on a day, as an XLSX file."""

    model_config = {"extra": "forbid"}

    as_of: date = Field(description="The day (today at the latest)")
    lang: Literal["zh", "en"] | None = Field(
        default=None, description="The file's language (default: the Accept-Language)")


class JobOut(BaseModel):
    """A job as it stands. Poll it until ``state`` is done, failed or cancelled; a done job's
    ``file`` (if it made one) is then ready to download."""

    id: str
    kind: JobKind
    state: JobState
    actor: str = Field(description="Who started it (door:username)")
    done: int = Field(description="Steps done (of ``total``, as the worker last said)")
    total: int = Field(description="Steps in all (0: not known yet)")
    percent: int = Field(ge=0, le=100, description="done ÷ total (0 while the total is "
                                                   "not known; 100 once done)")
    message: str | None = Field(description="What it is doing, in the Accept-Language")
    result: dict[str, Any] = Field(description="What came of it, once done (e.g. an "
                                   "assessment's run, an export's bytes, the findings)")
    file: str | None = Field(description="The URL of the file it made (null: none, or "
                             "not done)")
    error: str | None = Field(description="Why it failed, in the Accept-Language")
    attempts: int = Field(description="Times a worker took it up (a worker that dies "
                          "leaves it to another)")
    cancel_requested: bool = Field(description="Cancelled: a running job stops at its next "
                                   "step")
    created_at: str = Field(description="When it was queued (ISO 8601, UTC)")
    started_at: str | None = Field(description="When a worker first took it (ISO 8601, UTC)")
    finished_at: str | None = Field(description="When it ended (ISO 8601, UTC)")
