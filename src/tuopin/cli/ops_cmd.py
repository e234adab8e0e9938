"""Running a deployment: `tuopin doctor` and `tuopin uploads prune`."""

from __future__ import annotations

from typing import Annotated

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", help="Language of the findings: zh or en (default: TUOPIN_LANG).")]

uploads_app = typer.Typer(help="Files kept under the data dir.", no_args_is_help=True)


def doctor_command(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE,
                   lang: LangOpt = None) -> None:
    """Check the deployment: secret key, cookies, database, data dir, worker, pg_dump; exit 1
    when anything is an error."""
    import time

    from rich.console import Console

    from tuopin.services.ops import doctor

    cli = context.get(ctx)
    found = doctor.diagnose(principal=cli.principal(), settings=cli.settings,
                            engine=cli.engine, now=time.time())
    rows = [f.as_row(lang or cli.settings.lang) for f in found.findings]
    if fmt is OutputFormat.TABLE:
        console = Console(soft_wrap=True, highlight=False)
        style = {"ok": "green", "warning": "yellow", "error": "red"}
        for row in rows:
            level = row["level"]
            console.print(f"[{style[level]}]{level:>7}[/{style[level]}]  {row['check']}: "
                          f"{row['message']}")
            if row["fix"]:
                console.print(f"         → {row['fix']}")
        console.print(f"{found.errors} errors, {found.warnings} warnings")
    else:
        render(rows, fmt, columns=["check", "level", "message", "fix"])
    if found.errors:
        raise typer.Exit(1)


@uploads_app.command("prune")
def prune_command(
    ctx: typer.Context,
    older_than: Annotated[float, typer.Option(
        "--older-than", min=0, help="Only files untouched for this many days (default 1): "
        "a file being written now is not referenced yet.")] = 1.0,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be removed; remove nothing.")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Remove evidence, upload and job files that no record refers to, and expired
    uploads; never a referenced file."""
    import time

    from rich.console import Console

    from tuopin.services.ops import prune

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        report = prune.prune(db, principal=cli.principal(), data_dir=cli.settings.data_dir,
                             now=time.time(), older_than_days=older_than, dry_run=dry_run)
    rows = [{"kind": r.kind.value, "path": str(r.path), "size": r.size}
            for r in report.removed]
    render(rows, fmt, columns=["kind", "path", "size"],
           title="would remove" if dry_run else "removed")
    if fmt is OutputFormat.TABLE:
        verb = "would remove" if dry_run else "removed"
        Console(stderr=True).print(f"{verb} {len(rows)} files and folders, {report.size} bytes "
                                   f"(under {cli.settings.data_dir})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
    app.add_typer(uploads_app, name="uploads")
