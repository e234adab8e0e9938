"""Design-based estimates from survey microdata: `tuopin survey estimate FILE --y COL ...`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping, to_json

survey_app = typer.Typer(help="Design-based estimates (R's survey package) from microdata.",
                         no_args_is_help=True)


class LonelyPsuChoice(StrEnum):
    """The lonely-PSU rules (tuopin.analytics.survey.LonelyPsu, kept light to import)."""

    FAIL = "fail"
    ADJUST = "adjust"
    REMOVE = "remove"
    CERTAINTY = "certainty"
    AVERAGE = "average"


class EstimateFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


@survey_app.command("estimate")
def estimate_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or Parquet microdata, a row a unit.")],
    y: Annotated[str, typer.Option("--y", metavar="COL", help="The variable to estimate.")],
    strata: Annotated[str | None, typer.Option("--strata", metavar="COL",
                                               help="Strata.")] = None,
    psu: Annotated[str | None, typer.Option(
        "--psu", metavar="COL", help="PSUs (clusters), numbered within strata.")] = None,
    weight: Annotated[str | None, typer.Option(
        "--weight", metavar="COL", help="Sampling weights (default: from --fpc, else 1).")
    ] = None,
    fpc: Annotated[str | None, typer.Option(
        "--fpc", metavar="COL",
        help="Population count of PSUs in the stratum (> 1) or sampling fraction (<= 1).")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", metavar="COL",
                                           help="Estimate each level as a domain.")] = None,
    proportion: Annotated[bool, typer.Option(
        "--proportion", help="y is 0/1: a proportion with a logit interval.")] = False,
    lonely_psu: Annotated[LonelyPsuChoice, typer.Option(
        "--lonely-psu", help="A stratum with one PSU: fail, adjust, remove, certainty or "
                             "average (as R's survey.lonely.psu).")] = LonelyPsuChoice.FAIL,
    fmt: Annotated[EstimateFormat, typer.Option("--format", help="table or json.")
                   ] = EstimateFormat.TABLE,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="Language of messages: zh or en (default: TUOPIN_LANG).")] = None,
) -> None:
    """Mean (or proportion) and total with design-based SEs, CIs and deff, as R's survey."""
    from tuopin.analytics.survey.table import estimate_table, read_table
    from tuopin.domain.errors import RuleBroken, ValidationFailed

    try:
        result = estimate_table(read_table(file), y=y, strata=strata, psu=psu, weight=weight,
                                fpc=fpc, by=by, proportion=proportion,
                                lonely_psu=lonely_psu.value)
    except RuleBroken as exc:
        raise ValidationFailed(exc.translated(lang or context.get(ctx).settings.lang)) from exc
    data = result.to_dict()
    if fmt is EstimateFormat.JSON:
        print(to_json(data))
        return
    show_table(data, title=f"{file.name}: {y}")


def show_table(data: dict[str, Any], *, title: str) -> None:
    """The estimate as tables: the sample's counts, its figures, and each domain's."""
    render_mapping({key: _number(data[key]) for key in ("n", "n_rows", "sum_weights", "degf")},
                   OutputFormat.TABLE, title=title)
    render(_rows(data), OutputFormat.TABLE, columns=_COLUMNS)
    domains = data.get("domains")
    if domains:
        # A terminal's width: the t and Wald intervals of domains are in the JSON.
        render([{"level": d["level"], "n": d["n"], "degf": d["degf"], **row}
                for d in domains for row in _rows(d)], OutputFormat.TABLE, title="domains",
               columns=["level", "n", "degf", "statistic", "estimate", "se", "ci95", "deff"])


_COLUMNS = ["statistic", "estimate", "se", "ci95", "ci95_t / ci95_wald", "deff"]


def _rows(level: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for name in ("mean", "proportion", "total"):
        figures = level.get(name)
        if figures is None:
            continue
        other = figures.get("ci95_t", figures.get("ci95_wald"))
        rows.append({"statistic": name, "estimate": _number(figures["estimate"]),
                     "se": _number(figures["se"]), "ci95": _interval(figures["ci95"]),
                     "ci95_t / ci95_wald": _interval(other), "deff": _number(figures["deff"])})
    return rows


def _number(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.5g}"


def _interval(bounds: list[float] | None) -> str:
    return "-" if bounds is None else f"{bounds[0]:.5g}, {bounds[1]:.5g}"
