"""Login rate limiting: so many failures per username and address in a sliding window.

Counts live in the process (one uvicorn worker, as `tuopin serve` runs it); several workers
would each count on their own and need a shared store instead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 100_000  # beyond this, keys whose failures have all expired are dropped


class TooManyAttempts(Exception):
    """Too many failed logins for this username from this address; wait ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class LoginLimiter:
    """Sliding-window failure counts keyed by (username, client address)."""

    def __init__(self, max_failures: int, window_seconds: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts when this key has used up its failures in the window."""
        key, now = (username.lower(), address), self.clock()
        with self._lock:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                raise TooManyAttempts(max(1, int(times[0] + self.window - now) + 1))

    def failed(self, username: str, address: str) -> None:
        key, now = (username.lower(), address), self.clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._prune(now)
            times = self._recent(key, now)
            times.append(now)
            self._failures[key] = times

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), address), None)

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
