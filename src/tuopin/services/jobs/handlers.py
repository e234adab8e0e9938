"""The work of each kind of job, done as the job's owner through the usual services (each
asks the policy again: an account that lost its role since it queued the job is refused)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tuopin.domain.enums import JobKind, UploadState
from tuopin.domain.errors import Message
from tuopin.i18n import N_
from tuopin.services.imports import uploads
from tuopin.services.jobs.context import JobContext

STEP = N_("{stage}: {done} of {total}")
STAGES = {"read": N_("Reading the file"), "validate": N_("Checking every cell"),
          "check": N_("Checking against the registry"), "load": N_("Loading the rows"),
          "merge": N_("Merging them into the registry")}


@dataclass(frozen=True)
class Outcome:
    """What a job leaves: a summary for its page, and maybe a file in its folder."""

    result: dict[str, Any] = field(default_factory=dict)
    file: str | None = None


def _upload_task(ctx: JobContext) -> uploads.Task:
    def progress(stage: str, done: int, total: int) -> None:
        # an upload's work is not cut short (its own states say where it stands): report only
        title = Message(STAGES.get(stage, stage))
        ctx.report(done, total, Message(STEP, stage=title, done=done, total=total))

    env = ctx.env
    return uploads.Task(env.sessions, ctx.principal, env.data_dir,
                        date.fromisoformat(ctx.args["today"]), env.upload_limits, env.probes,
                        env.clock, progress=progress)


def _upload_outcome(ctx: JobContext) -> Outcome:
    with ctx.env.sessions() as db:
        view = uploads.show(db, principal=ctx.principal, upload_id=ctx.args["upload"],
                            data_dir=ctx.env.data_dir, limits=ctx.env.upload_limits,
                            clock=ctx.env.clock)
    return Outcome({"upload": view.id, "state": view.state.value, "rows": view.rows,
                    "problems": view.problem_count, "counts": list(view.counts)})


def import_check(ctx: JobContext) -> Outcome:
    """Read, validate and dry-run an uploaded file (services/imports/uploads.run_check)."""
    uploads.run_check(principal=ctx.principal, task=_upload_task(ctx),
                      upload_id=ctx.args["upload"])
    return _upload_outcome(ctx)


def import_upload(ctx: JobContext) -> Outcome:
    """Import a confirmed upload from its kept rows (one transaction: all or nothing)."""
    uploads.run_import(principal=ctx.principal, task=_upload_task(ctx),
                       upload_id=ctx.args["upload"])
    outcome = _upload_outcome(ctx)
    if outcome.result["state"] == UploadState.IMPORTING.value:  # it never got to work
        raise RuntimeError(f"upload {ctx.args['upload']} is still waiting to be imported")
    return outcome


def assess(ctx: JobContext) -> Outcome:
    """Assess every surveyed household of a year against a standard and record the run."""
    from tuopin.services.assessment import runs

    ctx.report(0, 2, Message(N_("assessing")), force=True)
    computed = runs.compute(ctx.env.engine, principal=ctx.principal,
                            standard=runs.standard_of(ctx.args["standard"]),
                            year=int(ctx.args["year"]),
                            engine_name=ctx.args.get("engine", "auto"))
    ctx.report(1, 2, Message(N_("recording the results")), force=True)
    run_id = runs.record(ctx.env.engine, computed, principal=ctx.principal)
    with ctx.env.sessions() as db:
        info = runs.run_info(db, principal=ctx.principal, run_id=run_id)
    return Outcome({"run": run_id, "households": info["households"],
                    "poor_households": info["poor_households"]})


def export(ctx: JobContext) -> Outcome:
    """Write a whole kind of records as a CSV or Parquet file (the API's export)."""
    from tuopin.services.exchange.export import ExportFormat, ExportKind, open_export

    args = ctx.args
    with ctx.env.sessions() as db, db.begin():  # the export's audit event
        found = open_export(db, principal=ctx.principal, kind=ExportKind(args["kind"]),
                            fmt=ExportFormat(args.get("format", "csv")),
                            region=args.get("region") or None, run=args.get("run"))
    path = ctx.folder / found.filename
    written = 0
    with path.open("wb") as out:
        for part, chunk in enumerate(found.chunks, start=1):
            out.write(chunk)
            written += len(chunk)
            ctx.report(part, 0, Message(N_("{size} bytes written"), size=written))
    return Outcome({"bytes": written, "file": found.filename}, found.filename)


def funds_check(ctx: JobContext) -> Outcome:
    """The anomaly rules over the books of funds, as an XLSX file of findings."""
    import pyarrow as pa

    from tuopin.io.writers import write_table
    from tuopin.services.funds import checks

    found = checks.check(ctx.env.engine, principal=ctx.principal,
                         as_of=date.fromisoformat(ctx.args["as_of"]))
    lang = ctx.args.get("lang", ctx.env.lang)
    rows = [f.as_row(lang) for f in found]
    columns = ["rule", "severity", "subject", "subject_kind", "amount", "explanation",
               "related"]
    table = pa.table({c: pa.array([_cell(r.get(c)) for r in rows], pa.string())
                      for c in columns})
    name = f"funds-check-{ctx.args['as_of']}.xlsx"
    write_table(table, ctx.folder / name, fmt="xlsx")
    by_rule: dict[str, int] = {}
    for r in rows:
        by_rule[str(r["rule"])] = by_rule.get(str(r["rule"]), 0) + 1
    return Outcome({"findings": len(rows), "by_rule": by_rule}, name)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


HANDLERS: dict[JobKind, Callable[[JobContext], Outcome]] = {
    JobKind.IMPORT_CHECK: import_check, JobKind.IMPORT: import_upload, JobKind.ASSESS: assess,
    JobKind.EXPORT: export, JobKind.FUNDS_CHECK: funds_check,
}
