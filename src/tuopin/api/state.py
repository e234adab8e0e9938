"""What the API's requests share: the settings, the store's sessions, the rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from tuopin.config import Settings
from tuopin.services.access.throttle import ProbeLimiter


@dataclass
class TokenBuckets:
    """A token bucket per API token: ``rate`` requests a second, ``burst`` at once.

    Kept in the worker's memory (a write per request would cost more than most reads): each
    worker process limits on its own, so a token's ceiling is ``workers`` times the rate.
    """

    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _levels: dict[int, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: int) -> float:
        """0 if a request may go now, else the seconds to wait for the next one."""
        now = self.clock()
        with self._lock:
            level, then = self._levels.get(key, (float(self.burst), now))
            level = min(float(self.burst), level + (now - then) * self.rate)
            if level < 1:
                self._levels[key] = (level, now)
                return (1 - level) / self.rate
            self._levels[key] = (level - 1, now)
            return 0.0


@dataclass(frozen=True)
class ApiState:
    settings: Settings
    sessions: sessionmaker[Session]
    readers: sessionmaker[Session]
    today: Callable[[], date]
    buckets: TokenBuckets
    probes: ProbeLimiter  # entries colliding with records outside one's region


def api_state(conn: HTTPConnection) -> ApiState:
    state: ApiState = conn.app.state.api
    return state
