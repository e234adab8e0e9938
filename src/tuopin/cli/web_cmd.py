"""The web application: `tuopin serve`."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from tuopin.cli import context


def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Default: TUOPIN_HOST.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: TUOPIN_PORT.")] = None,
) -> None:
    """Serve the web application with uvicorn (one process)."""
    import uvicorn

    cli = context.get(ctx)
    cli.ready_engine()  # a clear message when the store is missing or out of date
    # cli and web are independent layers (import-linter): uvicorn imports the app by name,
    # and the app reads the same settings from the environment, including --database-url.
    os.environ["TUOPIN_DATABASE_URL"] = cli.settings.database_url
    uvicorn.run("tuopin.web.app:app_from_env", factory=True,
                host=host or cli.settings.host, port=port or cli.settings.port,
                proxy_headers=False, server_header=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
