"""`tuopin funds balance|show|disclose`: the books to the fen, and the village disclosure.

Amounts are integer fen in the services; here they are printed as yuan with two decimals,
and JSON carries them as strings ("1234.50"), never as numbers a reader could take for
floats. CSV output of several tables prints them one after the other, each with its header
row, separated by an empty line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.funds_cmd import funds_app
from tuopin.cli.output import OutputFormat, render, render_mapping, to_json

__all__ = ["funds_app"]

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="Only this region.")]
AMOUNTS = frozenset({"budget", "amount", "allocated", "unallocated", "disbursed",
                     "reversed", "net", "remaining"})
PROJECT_COLUMNS = ["project", "name", "region_code", "budget", "allocated", "disbursed",
                   "reversed", "net", "remaining"]
FUND_COLUMNS = ["fund", "name", "region_code", "amount", "allocated", "unallocated",
                "disbursed"]
ALLOCATION_COLUMNS = ["fund", "fund_name", "source", "amount", "allocated_on"]
PAYMENT_COLUMNS = ["number", "payee", "payee_name", "household", "village_code", "registered",
                   "amount", "paid_on", "channel", "account", "reverses", "reversed_by",
                   "withheld"]
# what fits a terminal; CSV and JSON keep every column
PAYMENT_TABLE = ["number", "payee", "payee_name", "household", "amount", "paid_on",
                 "channel", "reverses", "reversed_by"]


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


def _money(row: Mapping[str, Any], fmt: OutputFormat) -> dict[str, Any]:
    """A row with its amounts (int fen) as yuan with two decimals: text, or in CSV an exact
    decimal (a negative amount is a number there, not text to neutralise, as in exports)."""
    from tuopin.domain.fen import fen_text

    shown = Decimal if fmt is OutputFormat.CSV else str
    return {k: shown(fen_text(v)) if k in AMOUNTS and type(v) is int else v
            for k, v in row.items()}


def _tables(blocks: Sequence[tuple[str, Sequence[Mapping[str, Any]], Sequence[str]]],
            fmt: OutputFormat) -> None:
    """Several tables (title, rows, columns) as tables, or as CSV blocks."""
    for index, (title, rows, columns) in enumerate(blocks):
        if fmt is OutputFormat.CSV and index:
            print()
        render(rows, fmt, title=title, columns=columns)


@funds_app.command("balance")
def funds_balance(
    ctx: typer.Context,
    fund: Annotated[str | None, typer.Option("--fund", help="One fund and its projects.")
                    ] = None,
    project: Annotated[str | None, typer.Option(
        "--project", help="One project and its funds.")] = None,
    region: RegionOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Balances to the fen of the projects and funds (of one fund or one project)."""
    if fund is not None and project is not None:
        raise typer.BadParameter("give --fund or --project, not both")
    from tuopin.services.funds import books

    cli = context.get(ctx)
    with cli.session() as db:
        found = books.balances(db, principal=cli.principal(region), fund=fund,
                               project=project)
    projects = [_money(asdict(p), fmt) for p in found.projects]
    funds = [_money(asdict(f), fmt) for f in found.funds]
    if fmt is OutputFormat.JSON:
        print(to_json({"projects": projects, "funds": funds}))
        return
    _tables([(f"projects: {len(projects)}", projects, PROJECT_COLUMNS),
             (f"funds: {len(funds)}", funds, FUND_COLUMNS)], fmt)


@funds_app.command("show")
def funds_show(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="The project number.")],
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """A project's books: its balance, its allocations and every payment and reversal."""
    from tuopin.services.funds import books

    cli = context.get(ctx)
    with cli.session() as db:
        found = books.show(db, principal=cli.principal(), project=project)
    head = _money(found["project"], fmt)
    allocations = [_money(a, fmt) for a in found["allocations"]]
    payments = [_money(p, fmt) for p in found["payments"]]
    if fmt is OutputFormat.JSON:
        print(to_json({"project": head, "allocations": allocations, "payments": payments,
                       "masked": found["masked"]}))
        return
    if fmt is OutputFormat.TABLE:
        render_mapping(head, fmt, title=f"project {project}")
    else:
        render([{"field": k, "value": v} for k, v in head.items()], fmt,
               columns=["field", "value"])
        print()
    _tables([(f"allocations: {len(allocations)}", allocations, ALLOCATION_COLUMNS),
             (f"payments: {len(payments)}", payments,
              PAYMENT_TABLE if fmt is OutputFormat.TABLE else PAYMENT_COLUMNS)], fmt)


@funds_app.command("disclose")
def funds_disclose(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", help="The project number.")],
    out: Annotated[Path, typer.Option("--out", help="The .xlsx or .csv file to write.")],
    lang: Annotated[Lang | None, typer.Option(
        "--lang", help="zh or en (default: TUOPIN_LANG).")] = None,
) -> None:
    """公示: a project's payments for the village notice, without any ID or account."""
    from rich.console import Console

    from tuopin.domain.fen import fen_text
    from tuopin.services.funds import books

    cli = context.get(ctx)
    with cli.session() as db:
        found = books.disclosure(db, principal=cli.principal(), project=project,
                                 lang=(lang or cli.settings.lang),
                                 notice_days=cli.settings.funds_notice_days)
    written = books.write_disclosure(found, out)
    Console(stderr=True).print(f"{written} payments of project {project} "
                               f"({fen_text(found.total)} yuan) written to {out}",
                               highlight=False)
