"""`tuopin audit verify|log`."""

from __future__ import annotations

from typing import Annotated

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping

app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]


@app.command("verify")
def verify(ctx: typer.Context, fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Walk the chain; name the first event that was edited, inserted or deleted."""
    from rich.console import Console

    from tuopin.services import audit

    cli = context.get(ctx)
    with cli.session() as db:
        report = audit.verify(db, principal=cli.principal())
    data = {"ok": report.ok, "events": report.events, "broken_at": report.broken_at,
            "problem": report.problem, "detail": report.detail, "head_hash": report.head_hash}
    if fmt is OutputFormat.TABLE:
        if report.ok:
            Console().print(f"audit chain intact: {report.events} events")
        else:
            Console().print(f"[red]audit chain broken at event {report.broken_at}[/red] "
                            f"({report.problem}): {report.detail}")
    else:
        render_mapping(data, fmt)
    if not report.ok:
        raise typer.Exit(1)


@app.command("log")
def log(
    ctx: typer.Context,
    entity: Annotated[str, typer.Option("--entity", help="household, member, regions, ...")],
    entity_id: Annotated[str | None, typer.Option("--id", help="The record's id.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 200,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Show the history of a record (or of every record of a kind)."""
    from tuopin.services import audit

    cli = context.get(ctx)
    with cli.session() as db:
        rows = audit.history(db, principal=cli.principal(), entity=entity, entity_id=entity_id,
                             limit=limit)
    render(rows, fmt, title=f"audit: {entity} {entity_id or ''}",
           columns=["id", "at", "actor", "action", "entity", "entity_id", "before", "after"])
