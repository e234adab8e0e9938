"""Assessment: `tuopin assess`, `assess diff`, `assess show`, `assess list`, `standards`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.output import (
    OutputFormat,
    render,
    render_mapping,
    to_json,
    working,
    write_rows,
)

if TYPE_CHECKING:
    from tuopin.services.access.principal import Principal

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Also write the rows to CSV/XLSX.")]

app = typer.Typer(help="Assess households against a standard; compare runs.",
                  invoke_without_command=True)
standards_app = typer.Typer(help="The poverty standards tuopin knows.", no_args_is_help=True)


@app.callback()
def assess(
    ctx: typer.Context,
    standard: Annotated[str | None, typer.Option(
        "--standard", help="A shipped standard's name or a .toml file.")] = None,
    year: Annotated[int | None, typer.Option("--year", help="The survey year.")] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="auto, db, duckdb or spark.")] = "auto",
    snapshot: Annotated[Path | None, typer.Option(
        "--snapshot", help="Run on this Parquet snapshot (duckdb/spark).")] = None,
    master: Annotated[str | None, typer.Option("--master", help="Spark master URL.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
    what_if: Annotated[Path | None, typer.Option(
        "--what-if", help="A changed standard file: list who would change, store nothing.")
    ] = None,
    run: Annotated[int | None, typer.Option(
        "--run", help="With --what-if: compare against this stored run.")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    out: OutOpt = None,
) -> None:
    """Assess every surveyed household of a year and record the run."""
    if ctx.invoked_subcommand is not None:
        return
    from tuopin.services.assessment import runs as assessments

    cli = context.get(ctx)
    engine_ = cli.ready_engine()
    principal = cli.principal(region)
    if what_if is not None:
        _what_if(ctx, what_if, run, standard, year, engine, snapshot, master, principal, fmt,
                 out)
        return
    if standard is None or year is None:
        raise typer.BadParameter("give --standard and --year (or a subcommand)")
    with working(f"assessing {year} against {standard}"):
        computed = assessments.compute(engine_, principal=principal,
                                       standard=assessments.standard_of(standard), year=year,
                                       engine_name=engine, snapshot=snapshot, master=master)
    with working("recording the results"):
        run_id = assessments.record(engine_, computed, principal=principal)
    with cli.session() as db:
        row = assessments.run_info(db, principal=principal, run_id=run_id)
    render_mapping(row, fmt, title=f"assessment run {run_id}")


def _what_if(ctx: typer.Context, path: Path, run: int | None, standard: str | None,
             year: int | None, engine: str, snapshot: Path | None, master: str | None,
             principal: Principal, fmt: OutputFormat, out: Path | None) -> None:
    from tuopin.services.assessment import diff as assessment_diff
    from tuopin.services.assessment import runs as assessments

    cli = context.get(ctx)
    engine_ = cli.ready_engine()
    changed = assessments.standard_of(str(path))
    with cli.session() as db:
        if run is not None:
            year = year or int(assessments.run_info(db, principal=principal,
                                                    run_id=run)["year"])
            before = assessment_diff.stored_results(db, principal=principal, run_id=run)
        else:
            if standard is None or year is None:
                raise typer.BadParameter("--what-if needs --run R, or --standard and --year")
            before = assessment_diff.computed_results(assessments.compute(
                engine_, principal=principal, standard=assessments.standard_of(standard),
                year=year, engine_name=engine, snapshot=snapshot, master=master))
    after = assessment_diff.computed_results(assessments.compute(
        engine_, principal=principal, standard=changed, year=year, engine_name=engine,
        snapshot=snapshot, master=master))
    _show_changes(assessment_diff.diff(before, after), fmt, out, f"what if {path.name}")


def _show_changes(changes: list[dict[str, Any]], fmt: OutputFormat, out: Path | None,
                  title: str) -> None:
    from tuopin.services.assessment import diff as assessment_diff

    columns = ["household_number", "village_code", "before", "after", "gained", "lost"]
    if out is not None:
        write_rows(changes, columns, out)
    if fmt is OutputFormat.JSON:
        print(to_json({"summary": assessment_diff.summary(changes), "changes": changes}))
        return
    render(changes, fmt, title=f"{title}: {len(changes)} households change", columns=columns)
    if fmt is OutputFormat.TABLE:
        render_mapping(assessment_diff.summary(changes), fmt, title="summary")


@app.command("diff")
def diff_command(
    ctx: typer.Context, run_a: Annotated[int, typer.Argument()],
    run_b: Annotated[int, typer.Argument()],
    region: Annotated[str | None, typer.Option("--region")] = None,
    fmt: FormatOpt = OutputFormat.TABLE, out: OutOpt = None,
) -> None:
    """Households whose status differs between two runs, and the indicators behind it."""
    from tuopin.services.assessment import diff as assessment_diff

    cli = context.get(ctx)
    principal = cli.principal(region)
    with cli.session() as db:
        changes = assessment_diff.diff(
            assessment_diff.stored_results(db, principal=principal, run_id=run_a),
            assessment_diff.stored_results(db, principal=principal, run_id=run_b))
    _show_changes(changes, fmt, out, f"runs {run_a} -> {run_b}")


@app.command("list")
def list_command(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Every recorded run."""
    from tuopin.services.assessment import runs as assessments

    cli = context.get(ctx)
    with cli.session() as db:
        rows = assessments.list_runs(db, principal=cli.principal())
    render(rows, fmt, title="assessment runs")


@app.command("show")
def show_command(
    ctx: typer.Context, run: Annotated[int, typer.Argument()],
    household: Annotated[str | None, typer.Option("--household", help="Explain one.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="zh or en.")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """A run's record, or one household's result with every failed indicator explained."""
    from tuopin.services.assessment import runs as assessments

    cli = context.get(ctx)
    with cli.session() as db:
        if household is None:
            row = assessments.run_info(db, principal=cli.principal(), run_id=run)
            render_mapping(row, fmt, title=f"run {run}")
            return
        result = assessments.household_result(db, principal=cli.principal(), run_id=run,
                                              number=household,
                                              lang=lang or cli.settings.lang)
    if fmt is OutputFormat.JSON:
        print(to_json(result))
        return
    render_mapping({k: v for k, v in result.items() if k != "indicators"}, fmt,
                   title=f"household {household}, run {run}")
    render(result["indicators"], fmt, columns=["indicator", "title", "explanation"])


@standards_app.command("list")
def standards_list(fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """The shipped standards."""
    # the files' headers alone: neither the loader (lark, every expression parsed) nor the
    # assessment service (the store and the engines)
    from tuopin.standards.catalog import describe, shipped

    rows = [{k: v for k, v in describe(name).items() if k != "title_en"} for name in shipped()]
    render(rows, fmt, title="standards")


@standards_app.command("check")
def standards_check(path: Annotated[str, typer.Argument(help="Name or .toml file.")]) -> None:
    """Parse and type-check a standard file; errors point at the line."""
    from tuopin.standards.loader import load

    std = load(path)
    print(f"{std.name} {std.version}: {len(std.indicators)} indicators, "
          f"{len(std.income_lines)} income lines, hash {std.content_hash[:16]}: OK")
