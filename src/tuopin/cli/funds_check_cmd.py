"""`tuopin funds check`: the anomalies of the books of funds (see funds_cmd.py).

Findings print as a table, JSON (a list of objects with exactly the keys rule, severity,
subject, subject_kind, amount, explanation, related; amounts are strings like "1234.50") or
CSV; ``--out`` also writes them to an XLSX or CSV file, amounts as text.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tuopin.cli import context
from tuopin.cli.funds_cmd import funds_app
from tuopin.cli.output import OutputFormat, render, to_json, working, write_rows

__all__ = ["funds_app"]

COLUMNS = ["rule", "severity", "subject", "subject_kind", "amount", "explanation", "related"]
TABLE = ["rule", "severity", "subject", "amount", "explanation", "related"]  # fits a terminal


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


class Engine(StrEnum):
    AUTO = "auto"
    DB = "db"
    DUCKDB = "duckdb"


@funds_app.command("check")
def funds_check(
    ctx: typer.Context,
    as_of: Annotated[datetime, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Check the books as they stood on this day.")],
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
    rules: Annotated[Path | None, typer.Option(
        "--rules", help="A rules file whose keys replace the shipped ones.")] = None,
    engine: Annotated[Engine, typer.Option(
        "--engine", help="auto, db (the store itself) or duckdb (a Parquet snapshot).")
    ] = Engine.AUTO,
    snapshot: Annotated[Path | None, typer.Option(
        "--snapshot", help="Run DuckDB on this Parquet snapshot (`tuopin snapshot`).")] = None,
    lang: Annotated[Lang | None, typer.Option(
        "--lang", help="Language of the explanations: zh or en (default: TUOPIN_LANG).")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")
                   ] = OutputFormat.TABLE,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the findings to an .xlsx or .csv file.")] = None,
) -> None:
    """强化扶贫资金监管: the twelve anomaly rules over payments, projects and funds."""
    from rich.console import Console

    from tuopin.domain import fund_rules
    from tuopin.services.funds import checks

    cli = context.get(ctx)
    with working("checking the books of funds"):
        found = checks.check(cli.ready_engine(), principal=cli.principal(region),
                             as_of=cli.as_of(as_of.date()),
                             rules=fund_rules.load(rules) if rules else None,
                             engine_name=engine.value, snapshot=snapshot)
    language = (lang.value if lang else cli.settings.lang)
    rows = [f.as_row(language) for f in found]
    if out is not None:
        write_rows([{**r, "related": "; ".join(r["related"])} for r in rows], COLUMNS, out)
    if fmt is OutputFormat.JSON:
        print(to_json(rows))
        return
    flat = [{**r, "related": "; ".join(r["related"])} for r in rows]
    render(flat, fmt, title=f"funds check on {as_of.date().isoformat()}: "
                             f"{len(rows)} findings",
           columns=TABLE if fmt is OutputFormat.TABLE else COLUMNS)
    if out is not None and fmt is OutputFormat.TABLE:
        Console(stderr=True).print(f"{len(rows)} findings written to {out}", highlight=False)
