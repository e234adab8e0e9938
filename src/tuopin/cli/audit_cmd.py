"""`tuopin audit verify|anchor|log`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping

app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]


AnchorFileOpt = Annotated[Path | None, typer.Option(
    "--anchor", help="Also check every head anchored in this file (`tuopin audit anchor`).")]


@app.command("verify")
def verify(ctx: typer.Context, anchor: AnchorFileOpt = None,
           fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Walk the chain; name the first event that was edited, inserted or deleted, and with
    --anchor, the first anchored head the chain no longer holds."""
    from rich.console import Console

    from tuopin.services import audit
    from tuopin.services.ops import anchor as anchors

    cli = context.get(ctx)
    with cli.session() as db:
        if anchor is None:
            report = audit.verify(db, principal=cli.principal())
            held = None
        else:
            held = anchors.verify(db, principal=cli.principal(), anchors=anchors.read(anchor))
            report = held.chain
    data = {"ok": report.ok and (held is None or held.ok), "events": report.events,
            "broken_at": report.broken_at, "problem": report.problem,
            "detail": report.detail, "head_hash": report.head_hash}
    if held is not None:
        data |= {"anchors": held.anchors, "anchor_problem": held.problem,
                 "anchor_detail": held.detail,
                 "anchor_broken": held.broken.line() if held.broken else None}
    if fmt is OutputFormat.TABLE:
        console = Console(highlight=False, soft_wrap=True)
        if report.ok:
            console.print(f"audit chain intact: {report.events} events")
        else:
            console.print(f"[red]audit chain broken at event {report.broken_at}[/red] "
                          f"({report.problem}): {report.detail}")
        if held is not None and held.broken is None:
            console.print(f"every anchored head holds: {held.anchors} anchors")
        elif held is not None:
            console.print(f"[red]anchor of {held.broken.at if held.broken else ''} "
                          f"broken[/red] ({held.problem}): {held.detail}")
    else:
        render_mapping(data, fmt)
    if not data["ok"]:
        raise typer.Exit(1)


@app.command("anchor")
def anchor_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(
        "--out", help="The anchor file: a line is appended (the file is made if missing). "
        "Keep it outside the database's reach.")],
) -> None:
    """Verify the chain and append its head (events, hash, time) to an anchor file."""
    from tuopin.services.ops import anchor as anchors

    cli = context.get(ctx)
    with cli.session() as db:
        taken = anchors.take(db, principal=cli.principal())
    anchors.append(out, taken)
    print(taken.line())


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
