"""`tuopin worker` runs the background jobs; `tuopin jobs list|show|cancel` looks at them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tuopin.cli import context
from tuopin.cli.output import OutputFormat, render, render_mapping

if TYPE_CHECKING:
    from tuopin.services.jobs.queue import JobView

jobs_app = typer.Typer(help="Background jobs (imports, exports, assessment runs, funds "
                            "checks started in the web).", no_args_is_help=True)
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv.")]
COLUMNS = ["id", "kind", "state", "actor", "region", "done", "total", "attempts", "created",
           "finished", "error"]
TABLE = ["id", "kind", "state", "actor", "done", "total", "created"]  # fits a terminal


def worker_command(
    ctx: typer.Context,
    concurrency: Annotated[int | None, typer.Option(
        "--concurrency", min=1, help="Jobs at once. Default: TUOPIN_WORKER_CONCURRENCY.")
    ] = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Run the jobs that wait, then stop (instead of waiting for more).")
    ] = False,
) -> None:
    """Run the background jobs queued by the web and the API, until stopped (SIGTERM or
    Ctrl-C: the jobs in hand are finished first)."""
    import signal
    import threading

    from rich.console import Console

    from tuopin import logs
    from tuopin.services.jobs.context import environment
    from tuopin.services.jobs.runner import Runner

    logs.configure()  # JSON lines, as `tuopin serve` writes them
    cli = context.get(ctx)
    runner = Runner(environment(cli.settings, cli.ready_engine()),
                    concurrency=concurrency or cli.settings.worker_concurrency)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    err = Console(stderr=True)
    err.print(f"worker {runner.name}: {runner.concurrency} at a time, waiting for jobs",
              highlight=False)
    ran = runner.run(stop, once=once)
    err.print(f"worker {runner.name}: stopped after {ran} jobs", highlight=False)


@jobs_app.command("list")
def list_command(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(
        "--state", help="queued, running, done, failed or cancelled.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 50,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """The newest jobs, with their state and progress."""
    from tuopin.domain.enums import JobState
    from tuopin.services.jobs import queue

    try:
        wanted = JobState.of(state) if state else None
    except ValueError:
        raise typer.BadParameter(f"{state}: give one of "
                                 f"{', '.join(s.value for s in JobState)}",
                                 param_hint="--state") from None
    cli = context.get(ctx)
    with cli.session() as db:
        rows = queue.list_jobs(db, principal=cli.principal(), limit=limit, state=wanted,
                               data_dir=cli.settings.data_dir)
    render([_plain(v) for v in rows], fmt, title="jobs",
           columns=TABLE if fmt is OutputFormat.TABLE else COLUMNS)


@jobs_app.command("show")
def show_command(ctx: typer.Context, job_id: Annotated[str, typer.Argument()],
                 fmt: FormatOpt = OutputFormat.TABLE) -> None:
    """One job: its arguments, progress, result and error."""
    from tuopin.services.jobs import queue

    cli = context.get(ctx)
    with cli.session() as db:
        view = queue.show(db, principal=cli.principal(), job_id=job_id,
                          data_dir=cli.settings.data_dir)
    render_mapping({**_plain(view), "args": view.args, "result": view.result,
                    "file": view.result_file}, fmt, title=f"job {job_id}")


@jobs_app.command("cancel")
def cancel_command(ctx: typer.Context, job_id: Annotated[str, typer.Argument()]) -> None:
    """Cancel a job: a queued one at once, a running one at its next step."""
    from tuopin.services.jobs import queue

    cli = context.get(ctx)
    with cli.session() as db, db.begin():
        queue.cancel(db, principal=cli.principal(), job_id=job_id)
    print(f"job {job_id}: cancelled")


def _plain(v: JobView) -> dict[str, object]:
    from datetime import UTC, datetime

    def when(moment: float | None) -> str:
        return "" if moment is None else datetime.fromtimestamp(moment, UTC).strftime(
            "%Y-%m-%d %H:%M:%S")

    return {"id": v.id, "kind": v.kind.value, "state": v.state.value, "actor": v.actor,
            "region": v.region or "", "done": v.done, "total": v.total,
            "attempts": v.attempts, "created": when(v.created_at),
            "finished": when(v.finished_at), "error": str(v.error or "")}


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
    app.add_typer(jobs_app, name="jobs")
