"""Close kept-alive connections now and then, more often when busy: they spread over workers.

The worker processes of `tuopin serve` share one listening socket, and a browser keeps its
connection (and so its worker) for as long as it keeps sending requests. Twenty busy
browsers may land 14 on one worker and 6 on the other, and stay so: the first worker's
pages then take twice as long while the other idles (measured: p50 53 ms, p95 220 ms).
Answering with ``Connection: close`` makes the browser connect again, to whichever worker
accepts first. A response closes its connection with chance (1 + q) / ``every``, where q is
how many requests of this worker wait for a thread: a worker with more connections than its
share has more waiting, so it sheds them faster than it gets them back, and the two even
out. Idle or evenly loaded, about one response in ``every`` closes (as nginx's
keepalive_requests does by count). No state is kept per connection.
"""

from __future__ import annotations

import random

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class KeepAliveRecycling:
    """ASGI middleware: ``Connection: close`` on (1 + waiting) / ``every`` of responses."""

    def __init__(self, app: ASGIApp, *, every: int, threads: int,
                 chance: random.Random | None = None) -> None:
        self.app = app
        self.every = every
        self.threads = threads  # requests worked on at once; more are waiting
        self.chance = chance or random.Random()
        self.in_flight = 0  # this worker's requests (one event loop: no lock needed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.every <= 0:
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, self._closing(send))
        finally:
            self.in_flight -= 1

    def _closing(self, send: Send) -> Send:
        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                waiting = max(0, self.in_flight - self.threads)
                if self.chance.random() * self.every < 1 + waiting:
                    MutableHeaders(scope=message)["Connection"] = "close"
            await send(message)

        return send_closing
