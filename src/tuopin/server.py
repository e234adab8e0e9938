"""The server tuopin runs: the web application with the JSON API mounted at /api.

The web and the API are two doors on the same services (independent layers: neither
imports the other); this module, above both, joins them over one engine.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import date

from argon2 import PasswordHasher
from fastapi import FastAPI
from starlette.routing import Mount

from tuopin.api.app import create_api
from tuopin.config import Settings
from tuopin.web.app import create_app


def create_server(settings: Settings, *, hasher: PasswordHasher | None = None,
                  today: Callable[[], date] = date.today,
                  background: Executor | None = None) -> FastAPI:
    """The web application for ``settings`` with the API at /api (sharing its engine)."""
    app = create_app(settings, hasher=hasher, today=today, background=background)
    web = app.state.web
    mount = Mount("/api", app=create_api(settings, sessions=web.sessions,
                                         readers=web.readers, today=today))
    # a path segment may hold an encoded newline: without DOTALL it would fall out of the
    # mount to the web's HTML 404 instead of the API's problem+json
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    # first: an API request is not matched against every page's route on its way (FastAPI
    # builds a route's dependencies at its first match: ~0.5 s for all the web's)
    app.router.routes.insert(0, mount)
    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory tuopin.server:app_from_env` (what `tuopin serve` runs)."""
    settings = Settings()
    app = create_server(settings)
    # what an export loads, loaded now: the first export of a worker would wait seconds
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    if settings.database_url.startswith("postgresql"):
        import adbc_driver_postgresql.dbapi  # noqa: F401
    # What is alive now lives as long as the process: kept out of the cycle collector (see
    # tuopin.web.app.app_from_env).
    gc.collect()
    gc.freeze()
    return app
