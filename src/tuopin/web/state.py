"""What the app's requests share, built once by create_app() and kept on ``app.state``."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date

from argon2 import PasswordHasher
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from tuopin.config import Settings
from tuopin.services.access.probes import IdSearches
from tuopin.services.access.sessions import SessionLimits
from tuopin.services.access.throttle import LoginLimiter, ProbeLimiter, QuotaLimiter
from tuopin.services.imports.uploads import UploadLimits
from tuopin.services.jobs.runner import Runner
from tuopin.web.ttlcache import TTLCache


@dataclass
class WebState:
    settings: Settings
    sessions: sessionmaker[Session]  # for requests that may write
    readers: sessionmaker[Session]  # for GET and HEAD: deferred transactions on SQLite
    templates: Jinja2Templates
    limiter: LoginLimiter
    probes: ProbeLimiter
    reveals: QuotaLimiter
    id_searches: IdSearches
    session_limits: SessionLimits
    upload_limits: UploadLimits
    # Long work is a job in the store, run by `tuopin worker`; ``background`` (tests, or a
    # store without a worker) runs each job as soon as the request that queued it is done.
    background: Executor | None
    jobs: Runner  # runs a job here, on ``background``
    figures: TTLCache  # the dashboard's registry and workflow counts
    hasher: PasswordHasher | None = None  # None: argon2-cffi's defaults
    today: Callable[[], date] = date.today
    cache: dict[str, bytes] = field(default_factory=dict)


def state_of(conn: HTTPConnection) -> WebState:
    state = conn.app.state.web
    assert isinstance(state, WebState)
    return state
