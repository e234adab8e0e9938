"""Data in and out: `tuopin import|export|template|synth`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping, to_json, working
from tuopin.io.schema import Kind  # the choices of KIND: an enum of the standard library

if TYPE_CHECKING:
    from rich.progress import Progress

    from tuopin.services.imports.files import ImportResult
    from tuopin.services.imports.odk import OdkImportResult

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", help="Language of messages: zh or en (default: TUOPIN_LANG).")]


# What `tuopin import` reads: a kind of file, or `odk`: the export of a phone survey (ODK
# Central's .csv.zip, KoboToolbox's XLSX or CSV), whose submissions hold surveys and members.
ODK = "odk"
Source = cast(type[StrEnum], StrEnum("Source", {**{k.name: k.value for k in Kind}, "ODK": ODK}))


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True)


def import_command(
    ctx: typer.Context,
    kind: Annotated[Source, typer.Argument(  # type: ignore[valid-type]
        help="regions, households, members, surveys, helpers, the books of funds (funds, "
             "projects, allocations, disbursements), or odk: a phone survey's export")],
    file: Annotated[Path, typer.Argument(
        help="CSV, XLSX or Parquet file; for odk: ODK Central's .csv.zip or KoboToolbox's "
             "XLSX or CSV export.")],
    lang: LangOpt = None,
    report_file: Annotated[Path | None, typer.Option(
        "--report", help="Write every problem to this CSV or XLSX file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Write the good rows; put bad ones in --rejects.")] = False,
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="Where --skip-invalid puts the bad rows.")] = None,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="CSV encoding (default: UTF-8, else GB18030).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet name.")] = None,
    form: Annotated[Path | None, typer.Option(
        "--form", help="odk: the XLSForm the submissions were collected with.")] = None,
    mapping: Annotated[Path | None, typer.Option(
        "--map", help="odk: a TOML file mapping another form's field names and choice values "
                      "onto tuopin's.")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Validate a file and write it to the registry: all rows or none."""
    if kind == ODK:
        if skip_invalid or rejects or encoding or sheet:
            raise typer.BadParameter("odk imports all submissions or none: --skip-invalid, "
                                     "--rejects, --encoding and --sheet do not apply")
        _import_odk(ctx, file, form=form, mapping=mapping, lang=lang, report_file=report_file,
                    dry_run=dry_run, fmt=fmt)
        return
    if form or mapping:
        raise typer.BadParameter("--form and --map are for `tuopin import odk`")
    if skip_invalid and rejects is None:
        raise typer.BadParameter("--skip-invalid needs --rejects FILE")
    from tuopin.io import report
    from tuopin.services.imports import files as imports

    kind = Kind(kind)
    cli = context.get(ctx)
    lang = lang or cli.settings.lang
    engine = cli.ready_engine()
    with _progress() as bar:
        task = bar.add_task(f"import {kind.value}", total=None)

        def tick(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{kind.value}: {stage}", completed=done, total=total)

        result = imports.import_file(
            engine, principal=cli.principal(), kind=kind, path=file, today=cli.today(),
            encoding=encoding, sheet=sheet, dry_run=dry_run, skip_invalid=skip_invalid,
            progress=tick,
        )
    if report_file and result.problems:
        report.write_problems(result.problems, report_file, lang=lang)
    if skip_invalid and rejects is not None and result.rejected_rows:
        _write_rejects(file, result, rejects, encoding, sheet, lang)
    _show_result(file, result, fmt, lang)
    if result.problems and not skip_invalid:
        raise typer.Exit(1)


def _import_odk(ctx: typer.Context, file: Path, *, form: Path | None, mapping: Path | None,
                lang: str | None, report_file: Path | None, dry_run: bool,
                fmt: OutputFormat) -> None:
    from tuopin.io import report
    from tuopin.services.imports import odk

    cli = context.get(ctx)
    lang = lang or cli.settings.lang
    engine = cli.ready_engine()
    with _progress() as bar:
        task = bar.add_task("import odk", total=None)

        def tick(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"odk: {stage}", completed=done, total=total)

        result = odk.import_odk(engine, principal=cli.principal(), path=file,
                                today=cli.today(), form=form, mapping=mapping,
                                dry_run=dry_run, progress=tick)
    if report_file and result.problems:
        report.write_problems(result.problems, report_file, lang=lang)
    _show_odk(file, result, fmt, lang)
    if result.problems:
        raise typer.Exit(1)


def _show_odk(file: Path, result: OdkImportResult, fmt: OutputFormat, lang: str) -> None:
    """Like _show_result; problems lead with the submission they belong to."""
    from rich.console import Console

    from tuopin.io.problems import RECORD_COLUMNS, as_rows

    summary = result.summary()
    summary["file"] = str(file)
    problems = as_rows(result.problems, lang)
    if fmt is OutputFormat.JSON:
        print(to_json({**summary, "problems": problems}))
        return
    columns = list(RECORD_COLUMNS)
    if fmt is OutputFormat.CSV:
        render(problems, fmt, columns=columns)
        Console(stderr=True).print(summary)
        return
    if problems:
        render(problems, fmt, title=f"{file.name}: {len(problems)} problems", columns=columns)
    render_mapping({**summary, "surveys": "/".join(map(str, summary["surveys"])),
                    "members": "/".join(map(str, summary["members"]))}, fmt,
                   title="import odk (inserted/updated/unchanged)")


def _show_result(file: Path, result: ImportResult, fmt: OutputFormat,
                 lang: str) -> None:
    """JSON: one object; CSV: the problems; table: the problems, then the counts."""
    from rich.console import Console

    from tuopin.io.problems import as_rows

    summary = {"file": str(file), "kind": result.kind.value, "rows": result.rows,
               "inserted": result.inserted, "updated": result.updated,
               "unchanged": result.unchanged, "rejected": len(result.rejected_rows),
               "written": result.written, "dry_run": result.dry_run}
    problems = as_rows(result.problems, lang)
    if fmt is OutputFormat.JSON:
        print(to_json({**summary, "problems": problems}))
        return
    if fmt is OutputFormat.CSV:
        render(problems, fmt, columns=["row", "column", "value", "reason"])
        Console(stderr=True).print(summary)
        return
    if problems:
        render(problems, fmt, title=f"{file.name}: {len(problems)} problems",
               columns=["row", "column", "value", "reason"])
    render_mapping(summary, fmt, title="import")


def _write_rejects(file: Path, result: ImportResult, rejects: Path,
                   encoding: str | None, sheet: str | None, lang: str) -> None:
    from tuopin.io import report
    from tuopin.io.readers import read_file

    raw = read_file(file, encoding=encoding, sheet=sheet)
    wanted = set(result.rejected_rows)
    numbers = raw.rows.to_pylist()
    columns = [c.to_pylist() for c in raw.table.columns]
    rows = [(n, [col[i] for col in columns]) for i, n in enumerate(numbers) if n in wanted]
    reasons: dict[int, list[str]] = {}
    for problem in result.problems:
        reasons.setdefault(problem.row, []).append(f"{problem.column}: {problem.message(lang)}")
    report.write_rejects(raw.headers, rows, reasons, rejects)


def export_command(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="What to export.")],
    out: Annotated[Path, typer.Option("--out", help="Output file.")],
    fmt: Annotated[str | None, typer.Option(
        "--format", help="csv, xlsx or parquet (default: from --out).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
) -> None:
    """Export records in the import format (an export re-imports unchanged)."""
    from rich.console import Console

    from tuopin.io import writers
    from tuopin.services.registry import exports

    cli = context.get(ctx)
    with working(f"exporting {kind.value}"):
        # read and audited in one transaction, committed before the file is written: on
        # SQLite the store's write lock is not held while the file is
        with cli.session() as db, db.begin():
            table = exports.export_table(db, kind=kind, principal=cli.principal(region))
        written = writers.write_table(table, out, fmt=writers.detect_format(out, fmt))
    Console(stderr=True).print(f"{written} {kind.value} rows written to {out}")


def template_command(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Argument(help="Which import template.")],
    out: Annotated[Path, typer.Option("--out", help="The .xlsx file to write.")],
    lang: LangOpt = None,
) -> None:
    """Write an XLSX import template with headers, dropdowns and an example row."""
    from rich.console import Console

    from tuopin.io import template

    template.write_template(kind, out, lang=lang or context.get(ctx).settings.lang)
    Console(stderr=True).print(f"template written to {out}")


def synth_command(
    ctx: typer.Context,
    households: Annotated[int, typer.Option("--households", help="How many households.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Directory for the files.")] = None,
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    province: Annotated[str, typer.Option("--province", help="Two-digit code.")] = "62",
    into_db: Annotated[bool, typer.Option(
        "--into-db", help="Load straight into the configured database.")] = False,
    funds: Annotated[bool, typer.Option(
        "--funds/--no-funds", help="Also the books of funds: funds, projects, allocations, "
        "disbursements.")] = True,
    payments: Annotated[float, typer.Option(
        "--payments-per-household", help="Payments a year per poor, monitored or recently "
        "exited household (at least about 4; up to about 10).")] = 4.0,
    plant: Annotated[int, typer.Option(
        "--plant-anomalies", help="Plant this many cases of every rule of `tuopin funds "
        "check` (listed in planted.csv beside the files).")] = 0,
    years: Annotated[str, typer.Option(
        "--years", help="Survey years: FIRST-LAST (2014-2020) or a list (2019,2020).")
    ] = "2019-2020",
    plant_errors: Annotated[str, typer.Option(
        "--plant", help="Plant classification errors: wrong-exits=RATE (of the exited "
        "households), missed-poor=RATE (of the ordinary ones), listed in truth.csv.")] = "",
    truth_file: Annotated[Path | None, typer.Option(
        "--truth", help="Where to write truth.csv (default: beside the files of --out).")
    ] = None,
    output: Annotated[OutputFormat, typer.Option(
        "--output", help="How to print the counts: table, json or csv.")] = OutputFormat.TABLE,
) -> None:
    """Generate a realistic, deterministic synthetic registry and its books of funds."""
    if out is None and not into_db:
        raise typer.BadParameter("give --out DIR, --into-db or both")
    from tuopin.services.imports import synthetic as synth_load
    from tuopin.synth.config import SynthConfig, parse_plant, parse_years
    from tuopin.synth.generate import generate
    from tuopin.synth.writers import write_truth

    config = SynthConfig(households=households, seed=seed, province=province, funds=funds,
                         payments_per_household=payments, plant_anomalies=plant,
                         years=parse_years(years), **parse_plant(plant_errors))
    cli = context.get(ctx)
    planted: list[tuple[str, str]] = []
    truth: list[tuple[str, str]] = []
    with _progress() as bar:
        task = bar.add_task("synth", total=households)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if out is not None:
            summary = generate(config, out, fmt=file_format, progress=tick)
            counts = {k.value: v for k, v in summary.counts.items()}
            planted, truth = summary.planted, summary.truth
        if into_db:
            bar.update(task, description="load", completed=0)
            planted, truth = [], []
            counts = synth_load.load_synthetic(cli.ready_engine(), principal=cli.principal(),
                                               config=config, today=cli.today(),
                                               progress=tick, planted=planted, truth=truth)
    if plant:
        counts["planted"] = len(planted)
    if config.plants_truth:
        counts["truth"] = len(truth)
        if truth_file is not None:
            write_truth(truth, truth_file)
    render_mapping(counts, output, title="synthetic registry")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("template")(template_command)
    app.command("synth")(synth_command)
