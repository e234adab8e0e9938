"""The registry: `tuopin init|summary|regions|households`."""

from __future__ import annotations

from typing import Annotated

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="Limit to this region code.")]

households_app = typer.Typer(help="Look up households.", no_args_is_help=True)


def init_command(ctx: typer.Context) -> None:
    """Create the database or bring it up to the newest schema."""
    from rich.console import Console

    from tuopin.services import store

    cli = context.get(ctx)
    store.upgrade(cli.engine)
    Console(stderr=True).print(f"database ready at revision {store.revision(cli.engine)}")


def summary_command(ctx: typer.Context, region: RegionOpt = None,
                    fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Counts of the registry: regions, households, members (living; the deceased apart),
    surveys, helpers."""
    from tuopin.services.registry import queries as registry

    cli = context.get(ctx)
    with cli.session() as db:
        data = registry.summary(db, principal=cli.principal(region))
    render_mapping(data, fmt, title="registry")


def regions_command(
    ctx: typer.Context, region: RegionOpt = None,
    depth: Annotated[int, typer.Option("--depth", help="Levels to show.")] = 3,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """The region tree with households, members and poor households at every level."""
    from rich.console import Console
    from rich.tree import Tree

    from tuopin.services.registry import queries as registry

    cli = context.get(ctx)
    with cli.session() as db:
        nodes = registry.region_tree(db, principal=cli.principal(), root=region, depth=depth)
    if fmt is not OutputFormat.TABLE:
        render([n.as_row() for n in nodes], fmt)
        return
    tree = Tree("regions")
    branches: dict[int, Tree] = {}
    for node in nodes:
        label = (f"{node.name} [dim]{node.code}[/dim]  households {node.counts['households']}"
                 f"  members {node.counts['members']}  poor {node.counts['poor']}")
        parent = branches.get(node.level - 1, tree)
        branches[node.level] = parent.add(label)
    Console().print(tree)


def show_command(ctx: typer.Context, number: Annotated[str, typer.Argument()],
                 fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """One household: members, surveys and helpers."""
    from tuopin.services.registry import queries as registry

    cli = context.get(ctx)
    with cli.session() as db:
        detail = registry.household_detail(db, principal=cli.principal(), number=number,
                                           today=cli.today())
    if fmt is OutputFormat.JSON:
        from tuopin.cli.output import to_json

        print(to_json(detail))
        return
    render_mapping(detail["household"], fmt, title=f"household {number}")
    render(detail["members"], fmt, title="members")
    render(detail["surveys"], fmt, title="surveys")
    render(detail["helpers"], fmt, title="helpers")


def search_command(ctx: typer.Context, text: Annotated[str, typer.Argument()],
                   region: RegionOpt = None,
                   limit: Annotated[int, typer.Option("--limit")] = 50,
                   fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Find households by number, a member's name or an ID number."""
    from tuopin.services.registry import queries as registry

    cli = context.get(ctx)
    with cli.session() as db:
        rows = registry.search(db, principal=cli.principal(region), text=text, limit=limit)
    render(rows, fmt, title=f"search: {text}",
           columns=["number", "village_code", "village_name", "status", "head_name"])


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.command("summary")(summary_command)
    app.command("regions")(regions_command)
    households_app.command("show")(show_command)
    households_app.command("search")(search_command)
    app.add_typer(households_app, name="households")
