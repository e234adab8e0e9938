"""API tokens of an account: `tuopin tokens create|list|revoke`.

The command line makes service tokens, for the accounts of other systems: the secret is
printed once, alone on standard output (the rest goes to standard error), and only its hash
is stored. The services are imported inside each command, so that `tuopin --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render

UserArg = Annotated[str, typer.Argument(help="The username of the account.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
COLUMNS = ["id", "name", "kind", "prefix", "created_by", "created_at", "expires_at",
           "last_used_at", "revoked_at"]
NOT_AGAIN = "This token is shown only now and never again: store it where the other system " \
            "keeps its secrets."

tokens_app = typer.Typer(help="API tokens (Authorization: Bearer) of an account.",
                         no_args_is_help=True)


@tokens_app.command("create")
def create_command(
    ctx: typer.Context, username: UserArg,
    name: Annotated[str, typer.Option("--name", help="What the token is for (1-64 characters).")],
    expires: Annotated[int | None, typer.Option(
        "--expires", help="Days until the token expires (1-3650; default: never).")] = None,
) -> None:
    """Make a token for USERNAME; prints its secret once (only a hash is stored)."""
    from rich.console import Console

    from tuopin.services.access import tokens

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        secret, token = tokens.create(db, principal=cli.principal(), username=username,
                                      name=name, expires_days=expires)
    until = f"expires {token.expires_at}" if token.expires_at else "does not expire"
    err = Console(stderr=True)
    err.print(f"token {token.id} ({token.prefix}...) for {token.username}, {until}",
              highlight=False)
    # the secret alone on standard output: TOKEN=$(tuopin tokens create ...) keeps just it
    print(secret)
    err.print(NOT_AGAIN, highlight=False)


@tokens_app.command("list")
def list_command(ctx: typer.Context, username: UserArg,
                 fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """The account's tokens, newest first, revoked ones too (never a secret)."""
    from tuopin.services.access import tokens

    cli = context.get(ctx)
    with cli.session() as db:
        rows = [{c: getattr(t, c) for c in COLUMNS}
                for t in tokens.list_tokens(db, principal=cli.principal(), username=username)]
    render(rows, fmt, title=f"tokens of {username}", columns=COLUMNS)


@tokens_app.command("revoke")
def revoke_command(ctx: typer.Context, token_id: Annotated[int, typer.Argument(
        help="The token's id (`tuopin tokens list`).", min=1)]) -> None:
    """Revoke a token: it is refused from the next request on, for good."""
    from rich.console import Console

    from tuopin.services.access import tokens

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        token = tokens.revoke(db, principal=cli.principal(), token_id=token_id)
    Console(stderr=True).print(f"revoked token {token.id} ({token.prefix}...) of "
                               f"{token.username}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
