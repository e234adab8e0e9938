"""A request id, the request's metrics and one access log line, for every request.

A pure ASGI middleware, outermost but for Starlette's error handler, so it times the whole
answer and sees the API mounted at /api as well as the pages. The request id comes from the
client's ``X-Request-ID`` when well formed (nginx can pass its ``$request_id``), else it is
made here; the answer carries it back, the logs carry it (``tuopin.logs.REQUEST_ID``), and
the error pages and the API's problems show it, so a user's report leads to the log lines.

The access line and the metrics name the route *template*: the raw path and its query may
hold household numbers, ID numbers or names.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tuopin.logs import REQUEST_ID
from tuopin.services.ops.metrics import Metrics

access = logging.getLogger("tuopin.access")
HEADER = "X-Request-ID"
SCOPE_KEY = "tuopin.request_id"
UNMATCHED = "unmatched"  # a path no route answers (a 404): one label for all of them
# what a client may send as an id: letters, digits and . _ - (nginx's $request_id is 32 hex
# digits, a UUID fits) - and no run of 11 digits, where a phone or ID number could hide
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
LONG_NUMBER = re.compile(r"\d{11}")
# probes a monitor sends every few seconds: counted, but logged at DEBUG only
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# a label for each method HTTP defines; anything else a client makes up is "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def incoming_id(value: str | None) -> str | None:
    """The client's request id, if it is one we may repeat in logs and pages."""
    if value and WELL_FORMED.fullmatch(value) and not LONG_NUMBER.search(value):
        return value
    return None


def request_id(conn: HTTPConnection) -> str | None:
    """The id of this request (None outside the middleware)."""
    value = conn.scope.get(SCOPE_KEY)
    return value if isinstance(value, str) else REQUEST_ID.get()


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route that answered (``/api/v1/households/{number}``); a path
    inside a mount that no route of it answers is the mount's ``/api/{path}``."""
    # the mounts' paths (/api, /static), added to the root path as the request went in
    prefix = str(scope.get("root_path", ""))[len(root_path):]
    # FastAPI keeps an included router's routes as declared (no prefix) and the route's
    # full path in its own part of the scope; Starlette (and older FastAPI) in the route
    effective = scope.get("fastapi", {}).get("effective_route_context")
    for found in (effective, scope.get("route")):
        template = getattr(found, "path_format", None)
        if isinstance(template, str) and template:
            return prefix + template
    return prefix + "/{path}" if prefix else UNMATCHED


class Telemetry:
    """ASGI middleware: request id, metrics and the access line of every HTTP request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                sent = value.decode("latin-1")
        rid = incoming_id(sent) or uuid.uuid4().hex
        scope[SCOPE_KEY] = rid  # for the error page, rendered outside this middleware
        scope.setdefault("state", {})["metrics"] = self.metrics  # request.state.metrics
        # Not reset when the request fails: uvicorn logs the traceback in this request's
        # task, and the line should carry the id (each request has a task, and a context,
        # of its own).
        token = REQUEST_ID.set(rid)
        root_path = scope.get("root_path", "")
        status = 500  # unless an answer starts
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, root_path, status, time.perf_counter() - started)
        REQUEST_ID.reset(token)

    def _record(self, scope: Scope, root_path: str, status: int, seconds: float) -> None:
        route = route_template(scope, root_path)
        method = scope["method"] if scope["method"] in METHODS else "other"
        self.metrics.observe(method=method, route=route, status=status, seconds=seconds)
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        access.log(level, "%s %s %d", method, route, status,
                   extra={"route": route, "status": status,
                          "duration_ms": round(seconds * 1000, 1)})
