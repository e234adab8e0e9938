"""Health for machines: /healthz (alive), /readyz (ready for users) and /metrics.

No login, no CSRF (they only read), no session: nothing here touches the session, so no
cookie is set. /metrics answers a loopback client or, when TUOPIN_METRICS_TOKEN is set, only
a request bearing that token (behind nginx every client is loopback); anyone else gets the
same 404 as a path that does not exist.
"""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tuopin.config import SecretStr
from tuopin.services.ops import health
from tuopin.services.ops.metrics import CONTENT_TYPE, Metrics
from tuopin.web.deps import StateDep

router = APIRouter()
LOOPBACK = frozenset({"127.0.0.1", "::1"})


@router.api_route("/healthz", methods=["GET", "HEAD"])
async def healthz() -> Response:
    """Alive: the process answers (the database is not asked)."""
    return PlainTextResponse("ok")


@router.api_route("/readyz", methods=["GET", "HEAD"])
def readyz(state: StateDep) -> Response:
    """Ready: the database answers at the newest schema and a worker is alive; else 503
    with the checks that failed."""
    found = health.readiness(state.readers, now=time.time())
    return JSONResponse(found.as_json(), status_code=200 if found.ready else 503)


def may_scrape(request: Request, token: SecretStr | None) -> bool:
    """The bearer of the token when one is set; else a client on this machine."""
    if token is not None:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            sent.strip().encode(), token.get_secret_value().encode())
    return request.client is not None and request.client.host in LOOPBACK


@router.get("/metrics")
def metrics(request: Request, state: StateDep) -> Response:
    """Every metric in the Prometheus text format."""
    if not may_scrape(request, state.settings.metrics_token):
        raise StarletteHTTPException(404)
    registry = request.app.state.metrics
    assert isinstance(registry, Metrics)
    return Response(registry.exposition(), media_type=CONTENT_TYPE)
