"""The `tuopin` command: parse, call one service, render. No business rule lives here.

Every command module imports only typer, typing and the standard library at its top, and its
services inside the command's body: `tuopin --help` and the commands that never open the store
start at once (tests/cli/test_startup.py names the libraries that must wait).
"""

from __future__ import annotations

import copy
import sys
from typing import Annotated

import typer
from typer.main import get_command_name

from tuopin.cli import (
    assess_cmd,
    audit_cmd,
    backup_cmd,
    data_cmd,
    exits_cmd,
    form_cmd,
    funds_cmd,
    jobs_cmd,
    ops_cmd,
    plans_cmd,
    registry_cmd,
    report_cmd,
    survey_cmd,
    tokens_cmd,
    users_cmd,
    verify_cmd,
    web_cmd,
)
from tuopin.cli.context import CliContext

app = typer.Typer(
    name="tuopin",
    help="tuopin: targeted poverty alleviation registry, standards, plans and exits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # click's plain help: typer's rich help imports rich's markdown and pygments (~130
    # modules), a fifth of `tuopin --help` warm and most of it from a cold disk
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
)


@app.callback()
def root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Override TUOPIN_DATABASE_URL.")
    ] = None,
    operator: Annotated[
        str | None, typer.Option(
            "--operator", envvar="TUOPIN_OPERATOR",
            help="Who runs the command, as the audit trail records it (cli:NAME); default: "
                 "your login name.")
    ] = None,
) -> None:
    """Settings are built once here and passed down to every command."""
    # the context builds them when a command first reads them: --help and the commands that
    # need no setting never read the environment
    ctx.obj = CliContext(debug=debug, operator=operator, database_url=database_url)


data_cmd.register(app)
registry_cmd.register(app)
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(assess_cmd.app, name="assess")
app.add_typer(assess_cmd.standards_app, name="standards")
report_cmd.register(app)
app.add_typer(survey_cmd.survey_app, name="survey")
plans_cmd.register(app)
exits_cmd.register(app)
funds_cmd.register(app)
users_cmd.register(app)
tokens_cmd.register(app)
verify_cmd.register(app)
form_cmd.register(app)
web_cmd.register(app)
jobs_cmd.register(app)
backup_cmd.register(app)
ops_cmd.register(app)


# The root's options that take a value: the word after them is not a command's name.
ROOT_VALUE_OPTIONS = frozenset({"--database-url", "--operator"})


def command_named(argv: list[str]) -> str | None:
    """The command (or group) ``argv`` runs: its first word that is not a root option."""
    words = iter(argv)
    for word in words:
        if word in ROOT_VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def narrowed(argv: list[str]) -> typer.Typer:
    """The app holding only the command ``argv`` runs, else the whole app.

    Typer turns every command's signature into click parameters before it parses anything
    (~70 ms for tuopin's 170 commands, paid by each run); a run needs only its own. The
    root's help and a misspelt name (click suggests the near ones) get the whole app.
    """
    name = command_named(argv)
    commands = [c for c in app.registered_commands
                if (c.name or get_command_name(getattr(c.callback, "__name__", ""))) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    only = copy.copy(app)
    only.registered_commands, only.registered_groups = commands, groups
    return only


def main() -> None:
    """Entry point: one-line errors unless --debug."""
    debug = "--debug" in sys.argv
    try:
        narrowed(sys.argv[1:])()
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if debug:
            raise
        # imported only now: a command that fails has loaded them already, or soon will
        from rich.console import Console

        from tuopin.domain.errors import TuopinError

        err = Console(stderr=True)
        if isinstance(exc, TuopinError):
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            sys.exit(1)
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc} (run with --debug for "
                  "details)", highlight=False)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
