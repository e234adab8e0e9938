"""Refuse request bodies larger than the largest upload before anything reads them.

CSRF checking parses every form, so without this a huge upload would be spooled to disk in
full before the evidence size check could refuse it. A body without Content-Length (chunked)
is counted as it streams and cut off at the limit.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SLACK = 64 * 1024  # form fields and multipart framing around the file itself


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit + SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await PlainTextResponse("Request body too large", status_code=413)(
                scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:
            await PlainTextResponse("Request body too large", status_code=413)(
                scope, receive, send)


class TooLarge(Exception):
    """The streamed body went past the limit."""
