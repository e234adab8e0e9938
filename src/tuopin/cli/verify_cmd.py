"""Independent verification: `tuopin verify plan|draw|release|export|import|close|estimate|
list|show` (第三方评估, 暗访督查). Parse, call one service, render."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping, to_json
from tuopin.domain.verification import PlanState, VerificationKind

verify_app = typer.Typer(help="Independent verification: plans, reproducible samples, field "
                              "lists, findings, estimates (第三方评估, 暗访督查).",
                         no_args_is_help=True)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
PlanArg = Annotated[int, typer.Argument(help="The verification plan.")]
AsOfOpt = Annotated[datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="The date of the step (YYYY-MM-DD); default today.")]
VersionOpt = Annotated[int | None, typer.Option(
    "--expect-version", help="Refuse if the plan changed since you saw this version.")]
LangOpt = Annotated[str | None, typer.Option("--lang", help="zh or en (default: TUOPIN_LANG).")]
PLAN_TABLE = ["plan", "region_code", "year", "kind", "state", "sample_size", "planned_on",
              "drawn_on", "released_on", "closed_on", "version"]
MEASURE_COLUMNS = ["measure", "title", "unit", "estimate", "se", "ci95", "deff", "n", "degf",
                   "threshold_text", "verdict"]
# what fits a terminal; CSV and JSON keep every column
MEASURE_TABLE = ["title", "estimate", "ci95", "threshold_text", "verdict", "n"]


class Kind(StrEnum):
    THIRD_PARTY = "third-party"
    SPOT_CHECK = "spot-check"


class ListFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


def _date(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _sizes(text: str | None) -> dict[str, int] | None:
    """``exited=300,unregistered=400`` as a mapping."""
    if not text:
        return None
    found = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise typer.BadParameter(f"{part!r}: write FRAME=N, e.g. exited=300")
        found[name.strip()] = int(value)
    return found


def _plan_summary(row: dict[str, Any], fmt: OutputFormat, title: str) -> None:
    if fmt is OutputFormat.JSON:
        print(to_json(row))
        return
    shown = {k: v for k, v in row.items() if k not in ("design", "sizes")}
    render_mapping(shown, fmt, title=title)
    design = row.get("design")
    if design and fmt is OutputFormat.TABLE:
        render([{"frame": name, **figures} for name, figures in design["frames"].items()],
               fmt, title=f"design: {design['villages']['drawn']} villages",
               columns=["frame", "households", "target", "per_village", "drawn"])


@verify_app.command("plan")
def verify_plan(
    ctx: typer.Context,
    region: Annotated[str, typer.Option("--region", help="The county (6 or 12 digits).")],
    year: Annotated[int, typer.Option("--year", help="The year verified.")],
    seed: Annotated[int, typer.Option(
        "--seed", help="The seed of the draw: a number drawn in public (lottery digits), "
                       "so that nobody chooses a favourable sample.")],
    kind: Annotated[Kind, typer.Option("--kind", help="third-party or spot-check.")
                    ] = Kind.THIRD_PARTY,
    margin: Annotated[float | None, typer.Option(
        "--margin", help="Margin of error (default: the kind's, 0.02 for third-party).")
                      ] = None,
    confidence: Annotated[float | None, typer.Option("--confidence")] = None,
    deff: Annotated[float | None, typer.Option("--deff", help="Expected design effect.")
                    ] = None,
    p: Annotated[float | None, typer.Option("--p", help="Expected proportion (0.5).")] = None,
    villages: Annotated[int | None, typer.Option(
        "--villages", help="Villages to draw (default: from the sizes).")] = None,
    size: Annotated[str | None, typer.Option(
        "--size", help="Households per frame, instead of computed: "
                       "exited=N,unregistered=N,registered=N.")] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Plan a verification of a county: its design's parameters and the seed."""
    from tuopin.services.verification import plans

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = plans.plan(db, principal=cli.principal(), region=region, year=year,
                         kind=VerificationKind.of(kind.value.replace("-", "_")), seed=seed,
                         as_of=cli.as_of(_date(as_of)), margin=margin,
                         confidence=confidence, deff=deff, p=p, villages=villages,
                         sizes=_sizes(size))
    _plan_summary(row, fmt, f"verification plan {row['plan']}")


@verify_app.command("draw")
def verify_draw(
    ctx: typer.Context, plan: PlanArg,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the sample file (CSV) here.")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Redraw a drawn plan and prove it identical, byte for byte.")
                     ] = False,
    file: Annotated[Path | None, typer.Option(
        "--file", help="With --check: also compare this sample file.")] = None,
    as_of: AsOfOpt = None,
    expect_version: VersionOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Draw a planned sample (once), or with --check redraw it and compare."""
    from tuopin.services.verification import draws

    cli = context.get(ctx)
    if check:
        with cli.session() as db:
            found = draws.check(db, principal=cli.principal(), plan_id=plan,
                                file=file.read_bytes() if file else None)
            content = draws.sample_content(db, principal=cli.principal(), plan_id=plan) \
                if out else None
        if out and content is not None:
            out.write_bytes(content)
        render_mapping(found.as_dict(), fmt, title=f"redraw of plan {plan}")
        if not found.identical:
            raise typer.Exit(1)
        return
    with cli.session() as db, db.begin():
        drawn = draws.draw(db, principal=cli.principal(), plan_id=plan,
                           as_of=cli.as_of(_date(as_of)), expected_version=expect_version)
    if out:
        out.write_bytes(drawn.content)
    summary = {"plan": plan, "households": len(drawn.rows), "sample_hash": drawn.sample_hash,
               "villages": drawn.design["villages"]["drawn"], "file": str(out) if out else None}
    if fmt is OutputFormat.JSON:
        print(to_json({**summary, "design": drawn.design}))
        return
    render_mapping(summary, fmt, title=f"sample of plan {plan}")


@verify_app.command("release")
def verify_release(ctx: typer.Context, plan: PlanArg, as_of: AsOfOpt = None,
                   expect_version: VersionOpt = None,
                   fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Release the list to the verifiers (a spot check: on the day of the visits)."""
    from tuopin.services.verification import plans

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = plans.release(db, principal=cli.principal(), plan_id=plan,
                            as_of=cli.as_of(_date(as_of)), expected_version=expect_version)
    _plan_summary(row, fmt, f"verification plan {plan}")


@verify_app.command("export")
def verify_export(
    ctx: typer.Context, plan: PlanArg,
    out: Annotated[Path, typer.Option("--out", help="The folder to write the lists into.")],
    village: Annotated[str | None, typer.Option("--village", help="Only this village.")
                       ] = None,
    file_format: Annotated[ListFormat, typer.Option(
        "--format", help="xlsx (default) or csv: the lists' files.")] = ListFormat.XLSX,
    lang: LangOpt = None,
) -> None:
    """Field lists: one file per village, to fill in and bring back (`tuopin verify import`)."""
    from rich.console import Console

    from tuopin.services.verification import fieldlists

    cli = context.get(ctx)
    with cli.session() as db, db.begin():  # the lists' audit event
        lists = fieldlists.field_lists(db, principal=cli.principal(), plan_id=plan,
                                       lang=lang or cli.settings.lang, village=village)
    written = [fieldlists.write_field_list(found, out, file_format.value) for found in lists]
    for found, path in zip(lists, written, strict=True):
        Console(stderr=True).print(f"{found.village} ({found.village_code}): "
                                   f"{found.table.num_rows} households → {path}",
                                   highlight=False)


@verify_app.command("import")
def verify_import(
    ctx: typer.Context, plan: PlanArg,
    file: Annotated[Path, typer.Argument(help="A filled field list (XLSX or CSV).")],
    lang: LangOpt = None,
    report_file: Annotated[Path | None, typer.Option(
        "--report", help="Write every problem to this CSV or XLSX file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV encoding.")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name.")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Import the findings of a filled field list: every row, or none."""
    from tuopin.domain.errors import ValidationFailed
    from tuopin.io import report
    from tuopin.io.problems import as_rows
    from tuopin.services.verification import findings

    cli = context.get(ctx)
    lang = lang or cli.settings.lang
    try:
        with cli.session() as db, db.begin():
            result = findings.import_findings(
                db, principal=cli.principal(), plan_id=plan, path=file, today=cli.today(),
                encoding=encoding, sheet=sheet, dry_run=dry_run)
    except ValidationFailed as exc:
        if not exc.problems:
            raise
        if report_file:
            report.write_problems(exc.problems, report_file, lang=lang)
        render(as_rows(exc.problems, lang), fmt,
               title=f"{file.name}: {len(exc.problems)} problems; nothing was written",
               columns=["row", "column", "value", "reason"])
        raise typer.Exit(1) from None
    summary = {"plan": plan, "file": str(file), "rows": result.rows,
               "inserted": result.inserted, "updated": result.updated,
               "unchanged": result.unchanged, "written": result.written, "dry_run": dry_run}
    render_mapping(summary, fmt, title="findings")


@verify_app.command("close")
def verify_close(ctx: typer.Context, plan: PlanArg, as_of: AsOfOpt = None,
                 expect_version: VersionOpt = None,
                 fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Close the fieldwork: the findings are final and the estimates count for the exit."""
    from tuopin.services.verification import plans

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        row = plans.close(db, principal=cli.principal(), plan_id=plan,
                          as_of=cli.as_of(_date(as_of)), expected_version=expect_version)
    _plan_summary(row, fmt, f"verification plan {plan}")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}%"


@verify_app.command("estimate")
def verify_estimate(ctx: typer.Context, plan: PlanArg, lang: LangOpt = None,
                    fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """错退率, 漏评率, 认可度 and the composite incidence, with 95 % intervals and verdicts."""
    from tuopin.services.verification import estimates

    cli = context.get(ctx)
    with cli.session() as db:
        found = estimates.estimate(db, principal=cli.principal(), plan_id=plan)
    if fmt is OutputFormat.JSON:
        print(to_json(found))
        return
    title = "title_en" if (lang or cli.settings.lang).startswith("en") else "title_zh"
    rows = [{**m, "title": m[title]} for m in found["measures"]]
    if fmt is OutputFormat.TABLE:
        rows = [{**r, "estimate": _percent(r["estimate"]), "se": _percent(r["se"]),
                 "ci95": "" if r["ci95"] is None else
                 f"[{_percent(r['ci95'][0])}, {_percent(r['ci95'][1])}]",
                 "deff": "" if r["deff"] is None else f"{r['deff']:.2f}"} for r in rows]
    else:
        rows = [{**r, "ci95": None if r["ci95"] is None else f"{r['ci95'][0]!r} "
                 f"{r['ci95'][1]!r}"} for r in rows]
    state = "final" if found["final"] else "provisional (the plan is not closed)"
    render(rows, fmt, title=f"plan {plan}, {found['region_code']} {found['year']}: {state}",
           columns=MEASURE_TABLE if fmt is OutputFormat.TABLE else MEASURE_COLUMNS)
    if fmt is OutputFormat.TABLE:
        response = found["response"]
        render([{"frame": name, **figures} for name, figures in response["frames"].items()],
               fmt, title=f"response: {response['visited']} of {response['drawn']} visited",
               columns=["frame", "drawn", "visited", "rate"])


@verify_app.command("list")
def verify_list(
    ctx: typer.Context,
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
    state: Annotated[PlanState | None, typer.Option("--state", help="Only this state.")
                     ] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Every verification plan, newest first (none is ever deleted)."""
    from tuopin.services.verification import plans

    cli = context.get(ctx)
    with cli.session() as db:
        rows = plans.list_plans(db, principal=cli.principal(), region=region, state=state)
    render(rows, fmt, title=f"verification plans: {len(rows)}", columns=PLAN_TABLE)


@verify_app.command("show")
def verify_show(ctx: typer.Context, plan: PlanArg, fmt: FormatOpt = OutputFormat.TABLE
                ) -> None:
    """One plan: parameters, design, hashes, and who took each step when."""
    from tuopin.services.verification import plans

    cli = context.get(ctx)
    with cli.session() as db:
        row = plans.show(db, principal=cli.principal(), plan_id=plan)
    _plan_summary(row, fmt, f"verification plan {plan}")


def register(app: typer.Typer) -> None:
    """Add `tuopin verify ...` to the root app."""
    app.add_typer(verify_app, name="verify")
