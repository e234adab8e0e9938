"""Measures of poverty: `tuopin report incidence|mpi`, `tuopin mpi FILE`, `tuopin snapshot`."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tuopin.cli import context
from tuopin.cli.output import (
    OutputFormat,
    csv_cell,
    render,
    render_mapping,
    to_json,
    working,
    write_rows,
)

if TYPE_CHECKING:
    from tuopin.analytics.mpi import MpiResult

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Also write the rows to CSV/XLSX.")]
RunOpt = Annotated[int | None, typer.Option(
    "--run", help="The assessment run (default: the newest run of the latest year that has "
    "results in the region).")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="Only this region.")]
MPI_STANDARD = "cn-mpi"  # the shipped MPI: `report mpi` without --run takes its newest run

report_app = typer.Typer(help="Poverty measures from an assessment run.", no_args_is_help=True)
INCIDENCE_COLUMNS = ["code", "name", "households", "poor_households", "people", "poor_people",
                     "incidence", "household_incidence"]


@report_app.command("incidence")
def incidence_command(
    ctx: typer.Context, run: RunOpt = None,
    level: Annotated[str, typer.Option(
        "--level", help="province, prefecture, county, township or village.")] = "county",
    region: RegionOpt = None, fmt: FormatOpt = OutputFormat.TABLE, out: OutOpt = None,
) -> None:
    """贫困发生率: poor people ÷ rural people (and households) for every region of a level."""
    from tuopin.services.reports import dashboard
    from tuopin.services.reports import incidence as reports

    cli = context.get(ctx)
    principal = cli.principal(region)
    with cli.session() as db:
        run = run if run is not None else dashboard.latest_run(db, principal=principal)
        rows = reports.incidence(db, run_id=run, level=level, principal=principal)
    rows = rows + [reports.total(rows)]
    if out is not None:
        write_rows(rows, INCIDENCE_COLUMNS, out)
    if fmt is OutputFormat.TABLE:
        rows = [{**r, "incidence": _pct(r["incidence"]),
                 "household_incidence": _pct(r["household_incidence"])} for r in rows]
    render(rows, fmt, title=f"poverty incidence by {level}, run {run}",
           columns=INCIDENCE_COLUMNS)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f}%"


@report_app.command("mpi")
def mpi_report_command(
    ctx: typer.Context, run: Annotated[int | None, typer.Option(
        "--run", help=f"The assessment run (default: the newest {MPI_STANDARD} run of the "
        "latest year that has results in the region).")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="A level, or status, head_sex, sex, age_group.")] = None,
    region: RegionOpt = None, fmt: FormatOpt = OutputFormat.TABLE, out: OutOpt = None,
) -> None:
    """The Alkire-Foster measures (H, A, M0, contributions, bands, SEs) of a run."""
    from tuopin.services.reports import dashboard
    from tuopin.services.reports import incidence as reports

    cli = context.get(ctx)
    principal = cli.principal(region)
    with cli.session() as db:
        run = run if run is not None else dashboard.latest_run(db, principal=principal,
                                                               standard=MPI_STANDARD)
        result = reports.mpi(db, run_id=run, by=by, principal=principal)
    show_mpi(result, fmt, out, title=f"multidimensional poverty, run {run}")


def _parse_pairs(text: str | None, what: str) -> dict[str, float]:
    from tuopin.domain.errors import ValidationFailed

    pairs: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        try:
            pairs[name.strip()] = float(value)
        except ValueError:
            raise ValidationFailed(f"--{what} takes name=number pairs, not {item!r}") from None
        if not sep:
            raise ValidationFailed(f"--{what} takes name=number pairs, not {item!r}")
    return pairs


def mpi_command(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX or Parquet microdata, one row per unit.")],
    indicators: Annotated[str, typer.Option("--indicators", help="a,b,c")],
    k: Annotated[float, typer.Option("--k", help="Poverty cutoff in (0, 1].")],
    weights: Annotated[str | None, typer.Option("--weights", help="a=0.5,b=0.25,...")] = None,
    cutoffs: Annotated[str | None, typer.Option("--cutoffs", help="a=4,b=1: deprived below")
                       ] = None,
    sample_weight: Annotated[str | None, typer.Option("--sample-weight")] = None,
    by: Annotated[str | None, typer.Option("--by", help="A column to decompose by.")] = None,
    strata: Annotated[str | None, typer.Option("--strata")] = None,
    psu: Annotated[str | None, typer.Option("--psu")] = None,
    fmt: FormatOpt = OutputFormat.TABLE, out: OutOpt = None,
) -> None:
    """Alkire-Foster MPI of any table (survey microdata), with design-based standard errors."""
    # The calculator needs no store: the analytics package alone, not the reports service
    # (whose database imports take longer than measuring ten million rows).
    from tuopin.analytics.mpi import mpi_from_file

    result = mpi_from_file(
        file, indicators=[i.strip() for i in indicators.split(",") if i.strip()],
        k=k, weights=_parse_pairs(weights, "weights") or None,
        cutoffs=_parse_pairs(cutoffs, "cutoffs") or None, sample_weight=sample_weight,
        by=by, strata=strata, psu=psu)
    show_mpi(result, fmt, out, title=f"multidimensional poverty: {file.name}")


def _long_rows(result: MpiResult) -> list[dict[str, Any]]:
    """Every figure as (measure, indicator, group, value, se, ci_low, ci_high)."""
    data = result.to_dict()
    rows: list[dict[str, Any]] = []
    for measure in ("H", "A", "M0"):
        low, high = data["ci95"][measure]  # type: ignore[index]
        rows.append({"measure": measure, "indicator": "", "group": "",
                     "value": data[measure], "se": data["se"][measure],  # type: ignore[index]
                     "ci_low": low, "ci_high": high})
    for measure in ("vulnerable", "severe"):
        rows.append({"measure": measure, "indicator": "", "group": "", "value": data[measure]})
    for measure in ("uncensored_headcounts", "censored_headcounts", "contributions"):
        for name, value in data[measure].items():  # type: ignore[attr-defined]
            rows.append({"measure": measure, "indicator": name, "group": "", "value": value})
    for group, g in (data.get("groups") or {}).items():  # type: ignore[attr-defined]
        for measure in ("population_share", "H", "A", "M0", "contribution"):
            rows.append({"measure": measure, "indicator": "", "group": group,
                         "value": g[measure]})
    return rows


def show_mpi(result: MpiResult, fmt: OutputFormat, out: Path | None, *, title: str) -> None:
    """Print an MPI result: one JSON object, a long CSV, or tables."""
    columns = ["measure", "indicator", "group", "value", "se", "ci_low", "ci_high"]
    rows = _long_rows(result)
    if out is not None:
        write_rows(rows, columns, out)
    if fmt is OutputFormat.JSON:
        print(to_json(result.to_dict()))
    elif fmt is OutputFormat.CSV:
        writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    else:
        data = result.to_dict()
        render_mapping({"n": data["n"], "dropped": data.get("dropped"), "k": data.get("k"),
                        **{m: f"{data[m]:.4f}" for m in ("H", "A", "M0")},
                        **{f"se {m}": f"{v:.5f}" for m, v in data["se"].items()},  # type: ignore[attr-defined]
                        **{f"95% CI {m}": f"[{lo:.4f}, {hi:.4f}]"
                           for m, (lo, hi) in data["ci95"].items()},  # type: ignore[attr-defined]
                        "vulnerable": f"{data['vulnerable']:.4f}",
                        "severe": f"{data['severe']:.4f}"}, fmt, title=title)
        render([{"indicator": name, "uncensored": f"{value:.4f}",
                 "censored": f"{data['censored_headcounts'][name]:.4f}",  # type: ignore[index]
                 "contribution": f"{100 * data['contributions'][name]:.1f}%"}  # type: ignore[index]
                for name, value in data["uncensored_headcounts"].items()],  # type: ignore[attr-defined]
               fmt, title="indicators")
        groups = data.get("groups") or {}
        if groups:
            render([{"group": g, **{m: f"{v[m]:.4f}" for m in
                                    ("population_share", "H", "A", "M0", "contribution")}}
                    for g, v in groups.items()], fmt, title="groups")  # type: ignore[attr-defined]


def snapshot_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The directory to write.")],
) -> None:
    """Write the registry as Parquet partitioned by county (for --engine duckdb|spark)."""
    from rich.console import Console

    from tuopin.services.assessment.snapshots import take_snapshot

    cli = context.get(ctx)
    with working("writing the snapshot"):
        manifest = take_snapshot(cli.ready_engine(), principal=cli.principal(), out_dir=out,
                                 taken_at=datetime.now(UTC))
    Console(stderr=True).print(f"snapshot written to {out}")
    print(to_json(manifest.to_json()))


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
    app.command("mpi")(mpi_command)
    app.command("snapshot")(snapshot_command)
