"""Backup and restore: `tuopin backup`, `tuopin restore`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping

if TYPE_CHECKING:
    from rich.progress import Progress

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
STEPS = {"database": "database", "checksums": "checking checksums", "files": "files"}


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True))


def _ticker(bar: Progress) -> Callable[[str, int, int], None]:
    """A progress callback that gives each step of the service its own bar."""
    tasks: dict[str, Any] = {}

    def tick(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(STEPS.get(step, step), total=total)
        bar.update(tasks[step], completed=done, total=total)

    return tick


def backup_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="A new (or empty) folder to write into.")],
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Back up the database (SQLite's backup API, or pg_dump) and the evidence, upload and
    job files, with a manifest of counts, audit head and checksums."""
    from tuopin.services.ops import backup

    cli = context.get(ctx)
    with _progress() as bar:
        manifest = backup.create(cli.engine, principal=cli.principal(),
                                 data_dir=cli.settings.data_dir, out=out, progress=_ticker(bar))
    files = manifest["files"]
    render_mapping({
        "folder": str(out),
        "database": manifest["database"]["kind"],
        "revision": manifest["database"]["revision"],
        "tables": len(manifest["counts"]),
        "rows": sum(manifest["counts"].values()),
        "audit events": manifest["audit"]["events"],
        "audit head": manifest["audit"]["head_hash"],
        "files": len(files),
        "bytes": sum(entry["size"] for entry in files.values()),
    }, fmt, title="backup written")


def restore_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="The backup's folder (with manifest.json).")],
    into: Annotated[str, typer.Option(
        "--into", help="The database to restore into: sqlite:///FILE or "
                       "postgresql+psycopg://user@host/db.")],
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Where the files go back. Default: TUOPIN_DATA_DIR.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace a target database that holds records.")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Check every checksum, restore the database and the files, then verify the audit chain
    and the counts against the manifest (exit 1 when anything differs)."""
    from tuopin.services.ops import restore

    cli = context.get(ctx)
    with _progress() as bar:
        report = restore.restore(principal=cli.principal(), source=source, url=into,
                                 data_dir=data_dir or cli.settings.data_dir, force=force,
                                 progress=_ticker(bar))
    rows = [{"check": c.name, "ok": "ok" if c.ok else "FAILED", "detail": c.detail}
            for c in report.checks]
    if fmt is OutputFormat.JSON:
        render_mapping({"ok": report.ok, "checks": [{**r, "ok": r["ok"] == "ok"} for r in rows]},
                       fmt)
    else:
        render(rows, fmt, title="restore", columns=["check", "ok", "detail"])
    if report.upgrade_needed:
        from rich.console import Console

        Console(stderr=True).print("The restored database is not at this version's schema: "
                                   "run `tuopin init` on it before use.")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
