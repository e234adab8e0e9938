"""create_app(settings): the FastAPI application. Nothing is built at import time."""

from __future__ import annotations

import gc
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from anyio import to_thread
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from tuopin.config import Settings
from tuopin.services import store
from tuopin.services.access.probes import IdSearches
from tuopin.services.access.sessions import SessionLimits
from tuopin.services.access.throttle import (
    LoginLimiter,
    ProbeLimiter,
    id_search_quota,
    reveal_quota,
)
from tuopin.services.jobs.context import environment
from tuopin.services.jobs.runner import Runner
from tuopin.services.ops.metrics import Metrics
from tuopin.web import csrf, errors
from tuopin.web.bodylimit import BodyLimit
from tuopin.web.keepalive import KeepAliveRecycling
from tuopin.web.routes import (
    admin,
    assets,
    auth,
    casework,
    fieldwork,
    funds,
    health,
    home,
    households,
    imports,
    jobs,
    lists,
    plans,
    regions,
    registration,
    tokens,
    verification,
)
from tuopin.web.security import SecurityHeaders
from tuopin.web.state import WebState
from tuopin.web.telemetry import Telemetry
from tuopin.web.templating import make_templates
from tuopin.web.ttlcache import TTLCache

log = logging.getLogger("tuopin.web")
SESSION_COOKIE = "tuopin_session"


def _secret_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    log.warning("TUOPIN_SECRET_KEY is not set: using a random key for this run; everyone "
                "must log in again after a restart. Set it for a real deployment.")
    return secrets.token_urlsafe(48)


def create_app(settings: Settings, *, hasher: PasswordHasher | None = None,
               today: Callable[[], date] = date.today,
               background: Executor | None = None) -> FastAPI:
    """The web application for ``settings``; its engine is disposed of at shutdown.

    Long work (checking and importing uploads, assessment runs, exports, funds checks) is
    queued as a job for `tuopin worker`; ``background``, when given (tests hand one that runs
    the work at once), runs each job here instead, after the response that queued it.
    """
    # a connection for each of the threadpool's concurrent requests, up to db_pool_size
    engine = store.engine_for(settings.database_url, echo=settings.echo_sql,
                              pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Python runs one thread at a time: a few threads finish each page sooner than 40
        # threads contending for the interpreter (measured: 4.6 against 7.0 ms of CPU per
        # household page under load). FastAPI runs every plain `def` in this pool.
        to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        yield
        if background is not None:
            background.shutdown(wait=True)
        engine.dispose()

    app = FastAPI(title="tuopin", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None, dependencies=[Depends(csrf.protect)])
    sessions = store.sessions(engine)
    probes = ProbeLimiter(settings.probe_max, settings.probe_window_seconds)
    runner = Runner(environment(settings, engine, today=today, probes=probes),
                    name=f"web:{os.getpid()}")
    app.state.web = WebState(
        settings=settings, sessions=sessions, readers=store.readers(engine),
        templates=make_templates(),
        limiter=LoginLimiter(settings.login_max_failures,
                             settings.login_max_failures_per_address,
                             settings.login_window_seconds),
        probes=probes,
        reveals=reveal_quota(settings.reveal_max),
        id_searches=IdSearches(sessions, id_search_quota(settings.id_search_max)),
        session_limits=SessionLimits(settings.session_idle_seconds, settings.session_max_age),
        upload_limits=runner.env.upload_limits, background=background, jobs=runner,
        figures=TTLCache(settings.dashboard_cache_seconds), hasher=hasher, today=today,
    )
    # The signed cookie carries the server-side session's token (and the language, the
    # CSRF token, a flash message); the session itself lives in the store.
    app.add_middleware(SessionMiddleware, secret_key=_secret_key(settings),
                       session_cookie=SESSION_COOKIE, max_age=settings.session_max_age,
                       same_site="lax", https_only=settings.cookie_secure)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, limit=settings.evidence_max_bytes)
    app.add_middleware(KeepAliveRecycling, every=settings.keepalive_requests,
                       threads=settings.web_threads)
    # outermost: it times the whole answer and gives every request (the API's too) its id
    app.state.metrics = Metrics(app.state.web.readers)
    app.add_middleware(Telemetry, metrics=app.state.metrics)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    # registration before households: /households/new is not a household number
    for module in (health, assets, auth, home, regions, registration, plans, casework,
                   households, lists, imports, jobs, funds, verification, admin, tokens,
                   fieldwork):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory tuopin.web.app:app_from_env` (what `tuopin serve` runs)."""
    app = create_app(Settings())
    # What is alive now (modules, metadata, routes) lives as long as the server process:
    # kept out of the cycle collector, a full collection costs a few ms instead of ~60 ms
    # that every request in flight would wait for.
    gc.collect()
    gc.freeze()
    return app
