"""Exits and monitoring: `tuopin exit ...` and `tuopin monitor ...` (parse, call, render)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping, to_json, write_rows
from tuopin.domain.enums import ExitState, MonitoringState, ShockKind  # standard enums only

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
AsOfOpt = Annotated[datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="The date of the step (YYYY-MM-DD); default today.")]
RunOpt = Annotated[int, typer.Option("--run", help="The assessment run.")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="Only this region.")]
NumberArg = Annotated[str, typer.Argument(help="The household number.")]
# household_exits.DEFAULT_STANDARD, written out so that --help need not import the service
# (tests/cli/test_startup.py checks that they agree)
EXIT_STANDARD = "cn-national"
CaseArg = Annotated[int, typer.Argument(help="The monitoring case id.")]

exit_app = typer.Typer(help="Household exits (退出) and village/county exit checks.",
                       no_args_is_help=True)
monitor_app = typer.Typer(help="Return-to-poverty monitoring (防返贫监测).", no_args_is_help=True)
EXIT_COLUMNS = ["number", "village_code", "state", "household_status", "opened_on",
                "notice_start", "notice_end", "exited_on", "run_id", "version"]
CASE_COLUMNS = ["case", "number", "village_code", "category", "risk_types", "source", "state",
                "opened_on", "deadline", "late", "days_late", "plan_id", "version"]
CHECK_COLUMNS = ["code", "name", "western", "criterion", "title", "figure", "interval",
                 "threshold", "outcome", "interval_verdict", "verdict", "basis"]
# what fits a terminal; CSV and JSON keep every column
CASE_TABLE = ["case", "number", "category", "state", "deadline", "late", "days_late"]
CHECK_TABLE = ["code", "name", "title", "figure", "threshold", "outcome", "interval_verdict",
               "verdict"]


def _date(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _show(row: dict[str, Any], fmt: OutputFormat, title: str) -> None:
    render_mapping(row, fmt, title=title)


def _cases(rows: list[dict[str, Any]], fmt: OutputFormat, title: str) -> None:
    render(rows, fmt, title=title, columns=CASE_TABLE if fmt is OutputFormat.TABLE
           else CASE_COLUMNS)


def _evidence(value: dict[str, Any] | None) -> str:
    return "; ".join(f"{k}: {v}" for k, v in (value or {}).items())


@exit_app.command("propose")
def exit_propose(
    ctx: typer.Context, number: NumberArg, run: RunOpt,
    minutes: Annotated[str, typer.Option("--minutes", help="The democratic review's minutes.")],
    standard: Annotated[str, typer.Option("--standard", help="The run's standard.")
                        ] = EXIT_STANDARD,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """预脱贫: propose a household's exit on a run where it is not poor."""
    from tuopin.services.exits import household_exits as exits

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = exits.propose(db, number=number, run_id=run, minutes=minutes,
                            as_of=cli.as_of(_date(as_of)),
                            principal=cli.principal(), standard=standard,
                            allow_identification_year=cli.settings.exit_in_identification_year)
    _show(row, fmt, f"exit of {number}")


@exit_app.command("notice")
def exit_notice(
    ctx: typer.Context, number: NumberArg,
    start: Annotated[datetime, typer.Option("--start", formats=["%Y-%m-%d"])],
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """公示: start the village notice (its length is TUOPIN_EXIT_NOTICE_DAYS)."""
    from tuopin.services.exits import household_exits as exits

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = exits.start_notice(db, principal=cli.principal(), number=number,
                                 start=start.date(), as_of=cli.as_of(None),
                                 notice_days=cli.settings.exit_notice_days)
    _show(row, fmt, f"exit of {number}")


@exit_app.command("announce")
def exit_announce(
    ctx: typer.Context, number: NumberArg,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """公告: announce the exit once the notice has ended; the household is struck off."""
    from tuopin.services.exits import household_exits as exits

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = exits.announce(db, number=number, as_of=cli.as_of(_date(as_of)),
                             principal=cli.principal(),
                             allow_identification_year=cli.settings.exit_in_identification_year)
    _show(row, fmt, f"exit of {number}")


@exit_app.command("object")
def exit_object(
    ctx: typer.Context, number: NumberArg,
    reason: Annotated[str, typer.Option("--reason", help="What the objection says.")],
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """An objection during the notice: the case goes back to 未脱贫."""
    from tuopin.services.exits import household_exits as exits

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = exits.record_objection(db, number=number, reason=reason,
                                     as_of=cli.as_of(_date(as_of)),
                                     principal=cli.principal())
    _show(row, fmt, f"exit of {number}")


@exit_app.command("returns")
def exit_returns(
    ctx: typer.Context, run: RunOpt, region: RegionOpt = None,
    standard: Annotated[str, typer.Option("--standard", help="The run's standard.")
                        ] = EXIT_STANDARD,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """返贫: mark every exited household that the run finds poor again."""
    from tuopin.services.exits import household_exits as exits

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        rows = exits.mark_returns(db, run_id=run, as_of=cli.as_of(_date(as_of)),
                                  principal=cli.principal(region), standard=standard)
    render(rows, fmt, title=f"returned to poverty in run {run}: {len(rows)}",
           columns=EXIT_COLUMNS)


@exit_app.command("show")
def exit_show(ctx: typer.Context, number: NumberArg, fmt: FormatOpt = OutputFormat.TABLE
              ) -> None:
    """A household's exit case and every step with its evidence."""
    from tuopin.services.exits import household_exits as exits

    cli = context.get(ctx)
    with cli.session() as db:
        case = exits.show(db, number=number, principal=cli.principal())
    if fmt is OutputFormat.JSON:
        print(to_json(case))
        return
    _show({k: v for k, v in case.items() if k != "events"}, fmt, f"exit of {number}")
    render([{**e, "evidence": _evidence(e["evidence"])} for e in case["events"]], fmt,
           title="steps",
           columns=["on", "from", "to", "by", "note", "run_id", "evidence"])


@exit_app.command("list")
def exit_list(
    ctx: typer.Context,
    state: Annotated[ExitState | None, typer.Option("--state", help="Only this state.")] = None,
    region: RegionOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Every exit case, optionally in one state."""
    from tuopin.services.exits import household_exits as exits

    cli = context.get(ctx)
    with cli.session() as db:
        rows = exits.list_cases(db, principal=cli.principal(region), state=state)
    render(rows, fmt, title=f"exit cases: {len(rows)}", columns=EXIT_COLUMNS)


@exit_app.command("check")
def exit_check(
    ctx: typer.Context, run: RunOpt,
    level: Annotated[str, typer.Option("--level", help="village or county.")] = "county",
    region: RegionOpt = None,
    verification: Annotated[Path | None, typer.Option(
        "--verification", help="An outside evaluator's figures, CSV/JSON: code, "
        "wrong_exit_rate, missed_rate, approval_rate (composite_incidence); else each "
        "county's latest closed verification plan.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en.")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the rows (XLSX/CSV).")
                   ] = None,
) -> None:
    """出列 / 摘帽: every criterion of every village or county, with figures and verdicts (a
    county's 三率一度 from its latest closed verification plan, or from --verification)."""
    from rich.console import Console

    from tuopin.services.exits import area_exits as exit_checks

    cli = context.get(ctx)
    figures = exit_checks.read_verification(verification) if verification else None
    with cli.session() as db:
        checked = exit_checks.check(db, level=level, run_id=run, principal=cli.principal(region),
                                    verification=figures)
    rows = exit_checks.flat_rows(checked, lang=lang or cli.settings.lang)
    if out is not None:
        write_rows([{**r, "interval": _interval(r["interval"], digits=None)} for r in rows],
                   CHECK_COLUMNS + ["source"], out)
    if fmt is OutputFormat.JSON:
        print(to_json(checked))
        return
    for county in checked:
        if county.get("verification"):
            plan = county["verification"]
            Console(stderr=True).print(
                f"{county['code']} {county['name']}: verification plan {plan['plan']} "
                f"({plan['kind']}, {plan['year']}, closed {plan['closed_on']})",
                highlight=False)
    if fmt is OutputFormat.TABLE:
        rows = [{**r, "figure": _percent(r["figure"], r["interval"])} for r in rows]
    else:
        rows = [{**r, "interval": _interval(r["interval"], digits=None)} for r in rows]
    render(rows, fmt, title=f"{level} exit check, run {run}",
           columns=CHECK_TABLE if fmt is OutputFormat.TABLE else CHECK_COLUMNS)


def _interval(interval: list[float] | None, *, digits: int | None = 2) -> str | None:
    """An interval as text: "[0.50%, 2.30%]" (``digits`` None: the fractions themselves)."""
    if not interval:
        return None
    if digits is None:
        return f"{interval[0]!r}, {interval[1]!r}"
    return f"[{100 * interval[0]:.{digits}f}%, {100 * interval[1]:.{digits}f}%]"


def _percent(figure: float | None, interval: list[float] | None) -> str:
    if figure is None:
        return ""
    shown = f"{100 * figure:.2f}%"
    return f"{shown} {_interval(interval)}" if interval else shown


@monitor_app.command("scan")
def monitor_scan(
    ctx: typer.Context, run: RunOpt, region: RegionOpt = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Propose monitoring cases for the households a cn-monitoring run flags."""
    from rich.console import Console

    from tuopin.services.monitoring import cases as monitoring

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        found = monitoring.scan(db, run_id=run, as_of=cli.as_of(_date(as_of)),
                                principal=cli.principal(region),
                                deadline_days=cli.settings.monitoring_deadline_days)
    if fmt is OutputFormat.JSON:
        print(to_json(found))
        return
    _cases(found["proposed"], fmt, f"proposed from run {run}")
    Console(stderr=True).print(f"{len(found['proposed'])} proposed; {found['skipped_open']} "
                               "skipped (an open case already)", highlight=False)


@monitor_app.command("list")
def monitor_list(
    ctx: typer.Context, late: Annotated[bool, typer.Option("--late", help="Only late.")] = False,
    state: Annotated[MonitoringState | None, typer.Option("--state")] = None,
    as_of: AsOfOpt = None,
    region: RegionOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Monitoring cases, with their deadlines and whether they are late."""
    from tuopin.services.monitoring import cases as monitoring

    cli = context.get(ctx)
    with cli.session() as db:
        rows = monitoring.list_cases(db, principal=cli.principal(region),
                                     as_of=cli.as_of(_date(as_of)),
                                     late_only=late, state=state)
    _cases(rows, fmt, f"monitoring cases: {len(rows)}")


@monitor_app.command("show")
def monitor_show(ctx: typer.Context, case: CaseArg,
                 as_of: AsOfOpt = None,
                 fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """A monitoring case, its steps and its shocks."""
    from tuopin.services.monitoring import cases as monitoring

    cli = context.get(ctx)
    with cli.session() as db:
        found = monitoring.show(db, case_id=case, principal=cli.principal(),
                                as_of=cli.as_of(_date(as_of)))
    if fmt is OutputFormat.JSON:
        print(to_json(found))
        return
    _show({k: v for k, v in found.items() if k not in ("events", "shocks")}, fmt,
          f"monitoring case {case}")
    render(found["events"], fmt, title="steps", columns=["on", "from", "to", "by", "note"])


@monitor_app.command("advance")
def monitor_advance(
    ctx: typer.Context, case: CaseArg,
    to: Annotated[MonitoringState, typer.Option("--to", help="The next state.")],
    on: Annotated[datetime | None, typer.Option("--on", formats=["%Y-%m-%d"])] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    expect_version: Annotated[int | None, typer.Option(
        "--expect-version", help="Refuse if the case changed since you saw this version.")
    ] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Take the next step of the identification procedure (or reject the case)."""
    from tuopin.services.monitoring import cases as monitoring

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        today = cli.as_of(None)
        row = monitoring.advance(db, principal=cli.principal(), case_id=case, to=to,
                                 on=_date(on) or today, as_of=today, note=note,
                                 notice_days=cli.settings.monitoring_notice_days,
                                 expected_version=expect_version)
    _show(row, fmt, f"monitoring case {case}")


@monitor_app.command("notice")
def monitor_notice(ctx: typer.Context, case: CaseArg,
                   lang: Annotated[str | None, typer.Option("--lang")] = None) -> None:
    """Print the village notice (no ID, phone, bank or health data)."""
    from tuopin.services.monitoring import clearance as monitor_clearance

    cli = context.get(ctx)
    with cli.session() as db:
        print(monitor_clearance.notice(db, case_id=case, principal=cli.principal(),
                                       lang=lang or cli.settings.lang))


@monitor_app.command("clear")
def monitor_clear(
    ctx: typer.Context, case: CaseArg,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """风险消除: close an identified case when every condition holds."""
    from tuopin.services.monitoring import clearance as monitor_clearance

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = monitor_clearance.clear(db, case_id=case, as_of=cli.as_of(_date(as_of)),
                                      principal=cli.principal())
    _show(row, fmt, f"monitoring case {case}")


@monitor_app.command("shock")
def monitor_shock(
    ctx: typer.Context, number: NumberArg,
    kind: Annotated[ShockKind, typer.Option("--kind")],
    on: Annotated[datetime, typer.Option("--on", formats=["%Y-%m-%d"], help="When it happened.")],
    amount: Annotated[float | None, typer.Option("--amount", help="Yuan.")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Record a shock; it opens a re-assessment case with a deadline."""
    from tuopin.services.monitoring import cases as monitoring

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = monitoring.record_shock(
            db, number=number, kind=kind, occurred_on=on.date(), amount=amount,
            description=description, as_of=cli.as_of(_date(as_of)), principal=cli.principal(),
            deadline_days=cli.settings.monitoring_deadline_days)
    if fmt is OutputFormat.JSON:
        print(to_json(row))
        return
    _show({k: v for k, v in row.items() if k != "case"}, fmt, f"shock for {number}")


def register(app: typer.Typer) -> None:
    """Add `tuopin exit ...` and `tuopin monitor ...` to the root app."""
    app.add_typer(exit_app, name="exit")
    app.add_typer(monitor_app, name="monitor")
