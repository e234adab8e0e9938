"""Close a kept-alive connection now and then, so that connections spread over the workers.

The worker processes of `tuopin serve` share one listening socket, and a browser keeps its
connection (and so its worker) for as long as it keeps sending requests. Twenty busy
browsers may land 14 on one worker and 6 on the other, and stay so: the first worker's
pages then take twice as long while half a core idles. Answering about one request in
``every`` with ``Connection: close`` (nginx's keepalive_requests does the same by count)
makes the browser connect again, and the idler worker, more often waiting in accept, tends
to take the new connection. Closing at random needs no per-connection state.
"""

from __future__ import annotations

import random

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class KeepAliveRecycling:
    """ASGI middleware: ``Connection: close`` on a random 1/``every`` of responses."""

    def __init__(self, app: ASGIApp, *, every: int, chance: random.Random | None = None) -> None:
        self.app = app
        self.every = every
        self.chance = chance or random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.every <= 0:
            await self.app(scope, receive, send)
            return
        close = self.chance.random() * self.every < 1.0

        async def send_closing(message: Message) -> None:
            if close and message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Connection"] = "close"
            await send(message)

        await self.app(scope, receive, send_closing if close else send)
