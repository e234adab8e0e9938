"""Plans and the ledger: `tuopin plans ...`, `tuopin measures ...`, `tuopin accountability`."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping, to_json, write_rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tuopin.services.plans.evidence import EvidenceFile, EvidenceStore

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Also write the rows to CSV/XLSX.")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="Limit to this region code.")]
AsOfOpt = Annotated[datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="The day the change is made (default: today).")]
VersionOpt = Annotated[int | None, typer.Option(
    "--version", help="The version you saw: refuse the change if someone saved since.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why (needed once approved).")]
MeasureArg = Annotated[int, typer.Argument(help="The measure's id (see `plans show`).")]
NumberArg = Annotated[str, typer.Argument(help="The household's number.")]

plans_app = typer.Typer(help="一户一策: draft, show, approve plans; overdue measures.",
                        no_args_is_help=True)
measures_app = typer.Typer(help="对账销号: carry measures out and check them off.",
                           no_args_is_help=True)

MEASURE_COLUMNS = ["id", "kind", "content", "indicator", "cause", "helper", "unit",
                   "due_date", "budget", "funding_source", "status", "evidence",
                   "completed_on", "verifier", "remeasure", "version"]
TABLE_COLUMNS = ["id", "kind", "indicator", "helper", "due_date", "budget", "status",
                 "evidence", "version"]
MEASURE_OUT = ["id", "plan", "kind", "content", "indicator", "cause", "unit", "due_date",
               "budget", "funding_source", "status", "completed_on", "verifier",
               "verified_on", "cancel_reason", "delay_reason", "follow_up", "remeasure",
               "version"]


def _day(ctx: typer.Context, value: datetime | None) -> date:
    return context.get(ctx).as_of(value.date() if value is not None else None)


@contextmanager
def _writing(ctx: typer.Context) -> Iterator[Session]:
    """One transaction: committed when the command's service calls succeed."""
    with context.get(ctx).session() as db, db.begin():
        yield db


def _show_measure(measure: dict[str, Any], fmt: OutputFormat) -> None:
    render_mapping({k: measure.get(k) for k in MEASURE_OUT}, fmt,
                   title=f"measure {measure['id']}")


def _rows(rows: list[dict[str, Any]], columns: list[str], fmt: OutputFormat, out: Path | None,
          title: str) -> None:
    if out is not None:
        write_rows(rows, columns, out)
    render(rows, fmt, title=title, columns=columns)


@plans_app.command("draft")
def draft_command(
    ctx: typer.Context,
    run: Annotated[int, typer.Option("--run", help="The assessment run to draft from.")],
    household: Annotated[str | None, typer.Option("--household", help="Only this one.")] = None,
    region: RegionOpt = None, as_of: AsOfOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
    out: OutOpt = None,
) -> None:
    """Draft a plan for every poor household of a run (never over an approved plan)."""
    from tuopin.services.plans import household_plans as plans

    cli = context.get(ctx)
    with _writing(ctx) as db:
        report = plans.draft(db, principal=cli.principal(region), run_id=run,
                             as_of=_day(ctx, as_of), household_number=household)
    _rows(report.rows(), ["household", "plan", "measures", "helper", "replaced", "skipped"],
          fmt, out, f"run {run}: {len(report.drafted)} plans drafted, "
          f"{len(report.skipped)} skipped")


@plans_app.command("show")
def show_command(ctx: typer.Context, number: NumberArg, region: RegionOpt = None,
                 fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """A household's plan and its measures."""
    from tuopin.services.plans import household_plans as plans

    cli = context.get(ctx)
    with cli.session() as db:
        data = plans.show(db, number=number, principal=cli.principal(region))
    if fmt is OutputFormat.JSON:
        print(to_json(data))
        return
    render_mapping(data["plan"], fmt, title=f"plan of household {number}")
    # a terminal is narrow: the table shows the ledger's essentials, CSV every column
    render(data["measures"], fmt, title="measures",
           columns=MEASURE_COLUMNS if fmt is OutputFormat.CSV else TABLE_COLUMNS)


@plans_app.command("approve")
def approve_command(
    ctx: typer.Context,
    number: Annotated[str | None, typer.Argument(help="The household's number.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every draft in --region.")] = False,
    region: RegionOpt = None, as_of: AsOfOpt = None, version: VersionOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Approve a household's draft plan, or with --all every draft that has a measure."""
    from tuopin.services.plans import household_plans as plans

    if (number is None) == (not every):
        raise typer.BadParameter("give a household NUMBER or --all")
    principal, day = context.get(ctx).principal(region), _day(ctx, as_of)
    with _writing(ctx) as db:
        if number is None:
            rows = plans.approve_all(db, principal=principal, as_of=day)
        else:
            plan_id = plans.current_plan(db, principal=principal, number=number)
            approved = plans.approve(db, principal=principal, plan_id=plan_id, as_of=day,
                                     expected_version=version)
            rows = [{"household": number, **approved}]
    if number is None:
        render(rows, fmt, title=f"{len(rows)} plans approved",
               columns=["plan", "status", "version"])
    else:
        render_mapping(rows[0], fmt, title=f"plan of household {number}")


@plans_app.command("history")
def history_command(ctx: typer.Context, number: NumberArg, region: RegionOpt = None,
                    fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """动态调整: every revision of a household's approved plan, with before and after."""
    from tuopin.services.plans import revisions as plan_revisions

    cli = context.get(ctx)
    with cli.session() as db:
        rows = plan_revisions.history(db, number=number, principal=cli.principal(region))
    if fmt is OutputFormat.JSON:
        print(to_json(rows))
        return
    flat = [{**r, "before": to_json(r["before"]) if r["before"] else None,
             "after": to_json(r["after"]) if r["after"] else None} for r in rows]
    render(flat, fmt, title=f"revisions of household {number}'s plan",
           columns=["revision", "changed_on", "changed_by", "reason", "before", "after"])


@plans_app.command("overdue")
def overdue_command(ctx: typer.Context, as_of: AsOfOpt = None, region: RegionOpt = None,
                    fmt: FormatOpt = OutputFormat.TABLE, out: OutOpt = None) -> None:
    """Measures still owed after their due date, with days overdue."""
    from tuopin.services.plans import accountability as accountability_service

    cli, day = context.get(ctx), _day(ctx, as_of)
    with cli.session() as db:
        rows = accountability_service.overdue(db, principal=cli.principal(region), as_of=day)
    _rows(rows, accountability_service.OVERDUE_COLUMNS, fmt, out,
          f"{len(rows)} measures overdue on {day}")


@plans_app.command("remeasure")
def remeasure_command(
    ctx: typer.Context,
    run: Annotated[int, typer.Option("--run", help="A later assessment run.")],
    region: RegionOpt = None, fmt: FormatOpt = OutputFormat.TABLE, out: OutOpt = None,
) -> None:
    """Confirm done measures whose indicator is met now; flag verified ones that still fail."""
    from tuopin.services.plans import ledger

    cli = context.get(ctx)
    with _writing(ctx) as db:
        rows = ledger.remeasure(db, principal=cli.principal(region), run_id=run)
    _rows(rows, ["measure", "household", "indicator", "status", "remeasure", "run"], fmt, out,
          f"run {run}: {len(rows)} measures re-measured")


def accountability_command(ctx: typer.Context, as_of: AsOfOpt = None, region: RegionOpt = None,
                           fmt: FormatOpt = OutputFormat.TABLE, out: OutOpt = None) -> None:
    """问责清单: overdue measures by responsible helper and unit, with reasons and follow-up."""
    from tuopin.services.plans import accountability as accountability_service

    cli, day = context.get(ctx), _day(ctx, as_of)
    with cli.session() as db:
        groups = accountability_service.accountability(db, principal=cli.principal(region),
                                                       as_of=day)
    columns = accountability_service.GROUP_COLUMNS
    detail = accountability_service.flat(groups)
    if out is not None:
        write_rows(detail, [*columns, *accountability_service.OVERDUE_COLUMNS], out)
    if fmt is OutputFormat.JSON:
        print(to_json(groups))
    elif fmt is OutputFormat.CSV:
        render(detail, fmt, columns=[*columns, *accountability_service.OVERDUE_COLUMNS])
    else:
        render(groups, fmt, title=f"accountability on {day}", columns=columns)
        render(detail, fmt, title="overdue measures", columns=[
            "helper", "unit", "measure", "household", "kind", "due_date", "days_overdue",
            "delay_reason", "follow_up"])


@measures_app.command("start")
def start_command(ctx: typer.Context, measure: MeasureArg, region: RegionOpt = None,
                  as_of: AsOfOpt = None, version: VersionOpt = None,
                  fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Planned → in progress."""
    from tuopin.services.plans import ledger

    cli = context.get(ctx)
    with _writing(ctx) as db:
        row = ledger.start(db, principal=cli.principal(region), measure_id=measure,
                           as_of=_day(ctx, as_of), expected_version=version)
    _show_measure(row, fmt)


def _files(paths: list[Path]) -> list[EvidenceFile]:
    from tuopin.services.plans.evidence import EvidenceFile

    return [EvidenceFile(path.name, path.read_bytes(), mimetypes.guess_type(path.name)[0])
            for path in paths]


def _store(ctx: typer.Context) -> EvidenceStore:
    from tuopin.services.plans.evidence import EvidenceStore

    settings = context.get(ctx).settings
    return EvidenceStore(settings.data_dir, settings.evidence_max_bytes)


EvidenceOpt = Annotated[list[Path] | None, typer.Option(
    "--evidence", exists=True, dir_okay=False, help="A photo or PDF (repeat for more).")]


@measures_app.command("evidence")
def evidence_command(
    ctx: typer.Context, measure: MeasureArg,
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)],
    region: RegionOpt = None, as_of: AsOfOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Attach photos or PDFs to a measure (stored once by SHA-256)."""
    from tuopin.services.plans import evidence

    cli, day = context.get(ctx), _day(ctx, as_of)
    with _writing(ctx) as db:
        rows = [evidence.store(db, principal=cli.principal(region), measure_id=measure,
                               file=file, as_of=day, store=_store(ctx))
                for file in _files(files)]
    render(rows, fmt, title=f"evidence of measure {measure}")


@measures_app.command("complete")
def complete_command(
    ctx: typer.Context, measure: MeasureArg,
    on: Annotated[datetime | None, typer.Option("--on", formats=["%Y-%m-%d"],
                                                help="The day it was completed.")] = None,
    files: EvidenceOpt = None, region: RegionOpt = None, as_of: AsOfOpt = None,
    version: VersionOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """→ done: attach the evidence given (evidence attached before counts too) and mark the
    measure completed on a date."""
    from tuopin.services.plans import ledger

    cli, day = context.get(ctx), _day(ctx, as_of)
    with _writing(ctx) as db:
        row = ledger.complete(db, principal=cli.principal(region), measure_id=measure,
                              completed_on=on.date() if on else None, as_of=day,
                              files=_files(files or []), store=_store(ctx),
                              expected_version=version)
    _show_measure(row, fmt)


@measures_app.command("verify")
def verify_command(
    ctx: typer.Context, measure: MeasureArg,
    verifier: Annotated[str, typer.Option("--verifier", help="Helper number or username.")],
    region: RegionOpt = None, as_of: AsOfOpt = None, version: VersionOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """对账销号: done → verified, by someone who is not the responsible helper."""
    from tuopin.services.plans import ledger

    cli = context.get(ctx)
    with _writing(ctx) as db:
        row = ledger.verify(db, principal=cli.principal(region), measure_id=measure,
                            verifier=verifier, as_of=_day(ctx, as_of),
                            expected_version=version)
    _show_measure(row, fmt)


@measures_app.command("cancel")
def cancel_command(ctx: typer.Context, measure: MeasureArg, reason: ReasonOpt = None,
                   region: RegionOpt = None, as_of: AsOfOpt = None, version: VersionOpt = None,
                   fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Cancel a measure that is not verified, with a reason."""
    from tuopin.services.plans import ledger

    cli = context.get(ctx)
    with _writing(ctx) as db:
        row = ledger.cancel(db, principal=cli.principal(region), measure_id=measure,
                            reason=reason, as_of=_day(ctx, as_of), expected_version=version)
    _show_measure(row, fmt)


@measures_app.command("delay")
def delay_command(
    ctx: typer.Context, measure: MeasureArg, reason: ReasonOpt = None,
    follow_up: Annotated[str | None, typer.Option("--follow-up", help="问责 action.")] = None,
    region: RegionOpt = None, as_of: AsOfOpt = None, version: VersionOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """查明原因: record why a measure is late and the follow-up action."""
    from tuopin.services.plans import ledger

    cli = context.get(ctx)
    with _writing(ctx) as db:
        row = ledger.record_delay(db, principal=cli.principal(region), measure_id=measure,
                                  reason=reason, follow_up=follow_up, as_of=_day(ctx, as_of),
                                  expected_version=version)
    _show_measure(row, fmt)


def _opt(help_text: str) -> Any:
    return typer.Option(help=help_text)


@measures_app.command("add")
def add_command(
    ctx: typer.Context, number: NumberArg,
    kind: Annotated[str, typer.Option("--kind", help="A measure kind, e.g. industry.")],
    content: Annotated[str | None, _opt("What is done (default: the catalogue's).")] = None,
    due: Annotated[str | None, _opt("Due date YYYY-MM-DD (default: as-of + days).")] = None,
    budget: Annotated[float | None, _opt("Budget in yuan.")] = None,
    funding: Annotated[str | None, _opt("Funding source.")] = None,
    indicator: Annotated[str | None, _opt("Indicator id(s) answered, ';'-joined.")] = None,
    cause: Annotated[str | None, _opt("Cause of poverty answered.")] = None,
    helper: Annotated[str | None, _opt("Responsible helper's number.")] = None,
    reason: ReasonOpt = None, region: RegionOpt = None, as_of: AsOfOpt = None,
    version: VersionOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Add a measure to a household's plan (a revision once the plan is approved)."""
    from tuopin.services.plans import household_plans as plans
    from tuopin.services.plans import revisions as plan_revisions

    typed = {"kind": kind, "content": content, "due_date": due, "budget": budget,
             "funding_source": funding, "indicator": indicator, "cause": cause,
             "helper": helper}
    principal = context.get(ctx).principal(region)
    with _writing(ctx) as db:
        row = plan_revisions.add_measure(
            db, principal=principal,
            plan_id=plans.current_plan(db, principal=principal, number=number),
            fields={k: v for k, v in typed.items() if v is not None}, reason=reason,
            as_of=_day(ctx, as_of), expected_version=version)
    _show_measure(row, fmt)


@measures_app.command("revise")
def revise_command(
    ctx: typer.Context, measure: MeasureArg,
    kind: Annotated[str | None, _opt("A measure kind.")] = None,
    content: Annotated[str | None, _opt("What is done.")] = None,
    due: Annotated[str | None, _opt("Due date YYYY-MM-DD.")] = None,
    budget: Annotated[float | None, _opt("Budget in yuan.")] = None,
    funding: Annotated[str | None, _opt("Funding source.")] = None,
    helper: Annotated[str | None, _opt("Responsible helper's number.")] = None,
    unit: Annotated[str | None, _opt("Responsible unit.")] = None,
    reason: ReasonOpt = None, region: RegionOpt = None, as_of: AsOfOpt = None,
    version: VersionOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """动态调整: change a measure (on an approved plan: a revision with --reason)."""
    from tuopin.services.plans import revisions as plan_revisions

    typed = {"kind": kind, "content": content, "due_date": due, "budget": budget,
             "funding_source": funding, "helper": helper, "unit": unit}
    cli = context.get(ctx)
    with _writing(ctx) as db:
        row = plan_revisions.revise_measure(
            db, principal=cli.principal(region), measure_id=measure,
            changes={k: v for k, v in typed.items() if v is not None}, reason=reason,
            as_of=_day(ctx, as_of), expected_version=version)
    _show_measure(row, fmt)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(plans_app, name="plans")
    app.add_typer(measures_app, name="measures")
    app.command("accountability")(accountability_command)
