"""create_api(...): the JSON API's application, mounted by tuopin.server at /api.

Its schema is at /api/v1/openapi.json and its documentation at /api/docs, served from
tuopin's own static files (no CDN: a county's server may have no internet).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.orm import Session, sessionmaker

from tuopin.api import docs, problems
from tuopin.api.problems import COMMON
from tuopin.api.routes import (
    casework,
    exchange,
    funds,
    jobs,
    registry,
    reports,
    tokens,
    users,
    verification,
)
from tuopin.api.state import ApiState, TokenBuckets
from tuopin.config import Settings
from tuopin.services.access.throttle import ProbeLimiter

VERSION = "v1"
PREFIX = f"/{VERSION}"
DESCRIPTION = """The registry, assessments, plans, exits, monitoring, funds and verification of
tuopin, for other systems. Authenticate with an API token (`Authorization: Bearer tp_...`);
a token acts with its account's role and region. Lists are keyset pages (`cursor`);
changes need the record's `ETag` in `If-Match`; errors are RFC 9457 problem details in the
`Accept-Language` (zh, en)."""

# routers in the order the schema lists them
ROUTERS = (registry, casework, reports, funds, verification, exchange, jobs, tokens, users)


def create_api(settings: Settings, *, sessions: sessionmaker[Session],
               readers: sessionmaker[Session],
               today: Callable[[], date] = date.today) -> FastAPI:
    """The API on the store behind ``sessions`` (the server shares the web's engine)."""
    app = FastAPI(title="tuopin API", version=VERSION, description=DESCRIPTION,
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=None, redoc_url=None)
    app.state.api = ApiState(settings=settings, sessions=sessions, readers=readers,
                             today=today,
                             buckets=TokenBuckets(settings.api_rate, settings.api_burst),
                             probes=ProbeLimiter(settings.probe_max,
                                                 settings.probe_window_seconds))
    problems.install(app)
    for module in ROUTERS:
        app.include_router(module.router, prefix=PREFIX, responses=COMMON)
    docs.install(app)
    app.openapi = lambda: _schema(app)  # type: ignore[method-assign]
    return app


def _schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema without its 422 answers: a request it refuses is our 400 problem."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        components = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
