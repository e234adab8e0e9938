"""Accounts of the web application: `tuopin users add|list|disable|reset-password|demo`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render
from tuopin.domain.enums import Role  # the roles of --role's help: a standard enum

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
UserArg = Annotated[str, typer.Argument(help="The username.")]
StdinOpt = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (default: make one).")]
COLUMNS = ["username", "display_name", "role", "region_code", "helper_id", "active",
           "created_at"]

RoleOpt = Annotated[str, typer.Option("--role", help=", ".join(r.value for r in Role))]
RegionOpt = Annotated[str | None, typer.Option(
    "--region", help="The region the user works in (not for an admin).")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Display name.")]
HelperOpt = Annotated[str | None, typer.Option(
    "--helper", help="For a helper: their helper number in the registry.")]

users_app = typer.Typer(help="Accounts of the web application.", no_args_is_help=True)


@contextmanager
def _writing(ctx: typer.Context) -> Iterator[Session]:
    with context.get(ctx).session() as db, db.begin():
        yield db


def _password(from_stdin: bool) -> str | None:
    if not from_stdin:
        return None
    return sys.stdin.readline().rstrip("\r\n")


def _role(value: str) -> Role:
    from tuopin.domain.errors import ValidationFailed

    try:
        return Role.of(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"unknown role {value!r}; use one of {', '.join(r.value for r in Role)}") from exc


@users_app.command("add")
def add_command(
    ctx: typer.Context, username: UserArg,
    role: RoleOpt, region: RegionOpt = None, name: NameOpt = None, helper: HelperOpt = None,
    password_stdin: StdinOpt = False,
) -> None:
    """Create an account; prints the password once when tuopin made it."""
    from rich.console import Console

    from tuopin.services.access import users

    given = _password(password_stdin)
    password = given or users.new_password()
    with _writing(ctx) as db:
        user = users.add(db, principal=context.get(ctx).principal(), username=username,
                         role=_role(role), region_code=region, password=password,
                         display_name=name, helper_number=helper)
    Console(stderr=True).print(f"added {user.username} ({user.role.value})", highlight=False)
    if given is None:
        print(f"password: {password}")


@users_app.command("list")
def list_command(ctx: typer.Context, region: Annotated[str | None, typer.Option(
        "--region", help="Only accounts inside this region.")] = None,
        fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """Every account (never a password or its hash)."""
    from tuopin.services.access import users

    cli = context.get(ctx)
    with cli.session() as db:
        rows = [u.as_row() for u in users.list_users(db, principal=cli.principal(region))]
    render(rows, fmt, title="users", columns=COLUMNS)


@users_app.command("disable")
def disable_command(ctx: typer.Context, username: UserArg) -> None:
    """Refuse the account's logins from now on (its open sessions end too)."""
    from rich.console import Console

    from tuopin.services.access import users

    with _writing(ctx) as db:
        users.disable(db, principal=context.get(ctx).principal(), username=username)
    Console(stderr=True).print(f"disabled {username}", highlight=False)


@users_app.command("reset-password")
def reset_command(ctx: typer.Context, username: UserArg,
                  password_stdin: StdinOpt = False) -> None:
    """Set a new password (printed once when tuopin made it); open sessions end."""
    from rich.console import Console

    from tuopin.services.access import users

    given = _password(password_stdin)
    with _writing(ctx) as db:
        password = users.reset_password(db, principal=context.get(ctx).principal(),
                                        username=username, password=given)
    Console(stderr=True).print(f"new password set for {username}", highlight=False)
    if given is None:
        print(f"password: {password}")


@users_app.command("change")
def change_command(
    ctx: typer.Context, username: UserArg,
    role: RoleOpt, region: RegionOpt = None, name: NameOpt = None, helper: HelperOpt = None,
) -> None:
    """Give an account another role, region or helper; its open sessions end."""
    from rich.console import Console

    from tuopin.services.access import users

    with _writing(ctx) as db:
        user = users.change(db, principal=context.get(ctx).principal(), username=username,
                            role=_role(role), region_code=region, helper_number=helper,
                            display_name=name)
    Console(stderr=True).print(f"{user.username} is now {user.role.value} of "
                               f"{user.region_code or 'all regions'}", highlight=False)


@users_app.command("demo")
def demo_command(ctx: typer.Context, region: Annotated[str | None, typer.Option(
        "--region", help="The demo county (default: the first county).")] = None) -> None:
    """One demo account per role; prints new passwords once (they are stored as hashes)."""
    from tuopin.services.access import demo_accounts

    with _writing(ctx) as db:
        accounts = demo_accounts.create_demo(db, principal=context.get(ctx).principal(),
                                             county=region)
    created = [a for a in accounts if a.password is not None]
    existing = [a for a in accounts if a.password is None]
    if created:
        print("Demo accounts (the passwords are shown only now):")
        for account in created:
            u = account.user
            print(f"  {u.username:<14} {account.password}  {u.role.value:<16} "
                  f"{u.region_code or 'all regions'}")
    if existing:
        print("Demo accounts that already exist: "
              + ", ".join(a.user.username for a in existing))
        print("  Forgot a password? tuopin users reset-password USERNAME")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
