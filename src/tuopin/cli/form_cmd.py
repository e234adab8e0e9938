"""Field collection: `tuopin form xlsform|households` - the survey as an XLSForm for ODK
Collect and KoboToolbox, and the households file each area's phones pick from.
Parse, call one service, render."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tuopin.cli import context

form_app = typer.Typer(help="Field collection with ODK Collect and KoboToolbox: the survey "
                            "form and each area's households file.",
                       no_args_is_help=True)


class Layout(StrEnum):
    MEDIA = "media"
    ENTITIES = "entities"


def _done(path: Path, what: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(f"{what} → {path}", highlight=False)


@form_app.command("xlsform")
def form_xlsform(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The XLSForm to write (.xlsx).")],
    standard: Annotated[str | None, typer.Option(
        "--standard", help="A shipped standard's name or a .toml file.")] = None,
    year: Annotated[int | None, typer.Option("--year", help="The survey year.")] = None,
    lang: Annotated[str, typer.Option(
        "--lang", help="The label languages, comma-separated: zh, en or zh,en.")] = "zh,en",
    region: Annotated[str | None, typer.Option(
        "--region", help="Make the form for this area (its id and title name it); "
                         "opens the store to check the region.")] = None,
    typed_household: Annotated[bool, typer.Option(
        "--typed-household", help="Ask the household number as typed text instead of "
                                  "picking it from households.csv.")] = False,
    verification: Annotated[int | None, typer.Option(
        "--verification", help="Instead of the survey: the findings of this verification "
                               "plan, the household picked from its sample.csv.")] = None,
) -> None:
    """The annual household survey as an XLSForm: what the standard reads, what the importer
    requires, its constraints and the Chinese and English labels."""
    from tuopin.io.xlsform import parse_langs, survey_form
    from tuopin.standards.loader import load

    try:
        langs = parse_langs(lang)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from exc
    if verification is not None:
        _verification_form(ctx, verification, langs, out)
        return
    if standard is None or year is None:
        raise typer.BadParameter("give --standard and --year (or --verification PLAN)")
    loaded = load(standard)
    if region is None:
        form = survey_form(loaded, year=year, langs=langs, typed_household=typed_household)
    else:
        from tuopin.services.fieldwork import forms

        cli = context.get(ctx)
        with cli.session() as db:
            form = forms.area_form(db, principal=cli.principal(), region=region,
                                   standard=loaded, year=year, langs=langs,
                                   typed_household=typed_household)
    form.write(out)
    _done(out, f"{form.form_id} version {form.version}")


def _verification_form(ctx: typer.Context, plan: int, langs: tuple[str, ...],
                       out: Path) -> None:
    from tuopin.services.fieldwork import forms

    cli = context.get(ctx)
    with cli.session() as db:
        form = forms.verification_form(db, principal=cli.principal(), plan_id=plan,
                                       langs=langs)
    form.write(out)
    _done(out, f"{form.form_id} version {form.version}")


@form_app.command("households")
def form_households(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    region: Annotated[str | None, typer.Option(
        "--region", help="The village or township whose households the file holds (with "
                         "--verification: only this village's).")] = None,
    layout: Annotated[Layout, typer.Option(
        "--layout", help="media: a form attachment households.csv; entities: a file to "
                         "upload to an ODK Central Entity List named households.")
                      ] = Layout.MEDIA,
    verification: Annotated[int | None, typer.Option(
        "--verification", help="The households a verification plan drew (its form's "
                               "sample.csv) instead of an area's.")] = None,
) -> None:
    """An area's households (number, village, head, address; no ID numbers) for the form's
    household question."""
    from tuopin.io import xlsform_households
    from tuopin.services.fieldwork import forms

    if region is None and verification is None:
        raise typer.BadParameter("give --region (or --verification PLAN)")
    cli = context.get(ctx)
    with cli.session() as db:
        if verification is not None:
            rows = forms.verification_households(db, principal=cli.principal(),
                                                 plan_id=verification, village=region)
        else:
            assert region is not None
            rows = forms.households(db, principal=cli.principal(), region=region)
    xlsform_households.write_households(rows, out, xlsform_households.Layout(layout.value))
    _done(out, f"{len(rows)} households")


def register(app: typer.Typer) -> None:
    """Add `tuopin form ...` to the root app."""
    app.add_typer(form_app, name="form")
