"""The books of funds: `tuopin funds check|balance|show|disclose` (强化扶贫资金监管).

The commands live in funds_check_cmd.py (the anomaly checks) and funds_books_cmd.py
(balances, a project's books, the village disclosure); this module holds their group.
"""

from __future__ import annotations

import typer

funds_app = typer.Typer(help="The books of funds: checks, balances, disclosure.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the funds commands to the root app."""
    from tuopin.cli import funds_books_cmd, funds_check_cmd  # noqa: F401 - they add commands

    app.add_typer(funds_app, name="funds")
