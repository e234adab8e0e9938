"""The web application: `tuopin serve`."""

from __future__ import annotations

import os
import secrets
from typing import Annotated

import typer

from tuopin.cli import context


def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Default: TUOPIN_HOST.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: TUOPIN_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Worker processes. Default: TUOPIN_WORKERS.")] = None,
) -> None:
    """Serve the web application with uvicorn (TUOPIN_WORKERS processes on one port)."""
    import uvicorn
    from rich.console import Console

    cli = context.get(ctx)
    cli.ready_engine()  # a clear message when the store is missing or out of date
    # cli and web are independent layers (import-linter): uvicorn imports the app by name,
    # and the app reads the same settings from the environment, including --database-url.
    os.environ["TUOPIN_DATABASE_URL"] = cli.settings.database_url
    count = workers or cli.settings.workers
    if cli.settings.secret_key is None and count > 1:
        # every worker must sign cookies with the same key, or a login works on one only
        os.environ["TUOPIN_SECRET_KEY"] = secrets.token_urlsafe(48)
        Console(stderr=True).print("[yellow]TUOPIN_SECRET_KEY is not set: a random key is used for "
                          "this run; everyone must log in again after a restart.[/yellow]")
    uvicorn.run("tuopin.server:app_from_env", factory=True,
                host=host or cli.settings.host, port=port or cli.settings.port,
                workers=count, proxy_headers=False, server_header=False,
                # a worker importing the app on a busy 2-core machine may take longer than
                # uvicorn's 5 s default to answer, and would be killed and restarted in a loop
                timeout_worker_healthcheck=60)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
