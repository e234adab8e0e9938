"""How a web worker shares itself out: a few threads, connections closed now and then."""

from __future__ import annotations

import asyncio
import random

from anyio import to_thread
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from tuopin.web.app import create_app
from tuopin.web.keepalive import KeepAliveRecycling
from web.personas import settings_for


async def _hello(scope: Scope, receive: Receive, send: Send) -> None:
    await PlainTextResponse("hello")(scope, receive, send)


class Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def _connection_header(every: int, draw: float, *, others_in_flight: int = 0) -> str | None:
    app = KeepAliveRecycling(_hello, every=every, threads=4, chance=Fixed(draw))
    app.in_flight = others_in_flight  # requests of other connections on this worker
    answer = TestClient(app).get("/")  # no `with`: this small app has no lifespan
    assert answer.text == "hello"
    return answer.headers.get("connection")


def test_about_one_response_in_every_closes_its_connection() -> None:
    assert _connection_header(100, 0.009) == "close"  # 0.009 * 100 < 1
    assert _connection_header(100, 0.011) is None


def test_a_worker_with_requests_waiting_for_a_thread_closes_more_connections() -> None:
    # 9 others + this one in flight, 4 threads: 6 wait, so (1 + 6) in 100 responses close
    assert _connection_header(100, 0.05, others_in_flight=9) == "close"
    assert _connection_header(100, 0.05, others_in_flight=3) is None
    assert _connection_header(100, 0.071, others_in_flight=9) is None


def test_connections_are_never_closed_when_recycling_is_off() -> None:
    assert _connection_header(0, 0.0) is None
    assert _connection_header(0, 0.0, others_in_flight=50) is None


def test_the_share_closed_is_near_one_in_every() -> None:
    app = KeepAliveRecycling(_hello, every=20, threads=4, chance=random.Random(3))
    client = TestClient(app)
    closed = sum(client.get("/").headers.get("connection") == "close" for _ in range(2000))
    assert 60 <= closed <= 140  # 100 expected


def test_a_worker_works_on_web_threads_requests_at_once(web_url: str) -> None:
    app = create_app(settings_for(web_url, web_threads=3))

    async def tokens_while_serving(served: FastAPI) -> float:
        async with served.router.lifespan_context(served):
            return to_thread.current_default_thread_limiter().total_tokens

    assert asyncio.run(tokens_while_serving(app)) == 3
