"""The web application: `tuopin serve`."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Annotated, Any

import typer

from tuopin.cli import context


def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Default: TUOPIN_HOST.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: TUOPIN_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Worker processes. Default: TUOPIN_WORKERS.")] = None,
    with_worker: Annotated[bool, typer.Option(
        "--with-worker", help="Also run `tuopin worker` (the background jobs) beside the "
        "server, stopped with it: one command for a demo or a small office.")] = False,
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
    jobs = _start_worker() if with_worker else None
    try:
        _serve(uvicorn, host or cli.settings.host, port or cli.settings.port, count,
               cli.settings.forwarded_allow_ips)
    finally:
        if jobs is not None:
            jobs.terminate()  # SIGTERM: the worker finishes the jobs in hand, then stops
            jobs.wait()


def _start_worker() -> subprocess.Popen[bytes]:
    """`tuopin worker` as a child process with this process's settings (environment)."""
    return subprocess.Popen([sys.executable, "-m", "tuopin.cli.main", "worker"])


def _serve(uvicorn: Any, host: str, port: int, count: int, proxies: str) -> None:
    import shutil
    import tempfile

    from tuopin import logs

    # Each worker process counts the requests it answers, in files here: a scrape of
    # /metrics, whichever worker answers it, adds up all of them (prometheus_client's
    # multiprocess mode; services/ops/metrics.py).
    counts = None
    if count > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counts = tempfile.mkdtemp(prefix="tuopin-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = counts
    try:
        uvicorn.run("tuopin.server:app_from_env", factory=True,
                    host=host, port=port,
                    workers=count, server_header=False,
                    # the client's address and scheme as the proxy in front saw them
                    # (X-Forwarded-For/-Proto), believed from these proxies only
                    proxy_headers=True, forwarded_allow_ips=proxies,
                    # JSON lines; the app writes the access lines itself, with the route
                    # template (uvicorn's hold the raw path and query: personal data)
                    log_config=logs.config(), access_log=False,
                    # a worker importing the app on a busy 2-core machine may take longer
                    # than uvicorn's 5 s default to answer, and would be killed and
                    # restarted in a loop
                    timeout_worker_healthcheck=60)
    finally:
        if counts is not None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(counts, ignore_errors=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
