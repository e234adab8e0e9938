"""A small time-to-live cache for figures that may be a few seconds old (dashboard counts).

Each worker process has its own; an entry is made at most once per ``seconds`` per key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 4096  # beyond this, the expired entries are dropped (then the oldest)


class TTLCache:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept for ``key`` if still fresh, else ``make()`` (kept from now on)."""
        if self.seconds <= 0:
            return make()
        now = self.clock()
        with self._lock:
            kept = self._entries.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]  # type: ignore[no-any-return]
        value = make()  # outside the lock: two requests may both make it, which is harmless
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._prune(now)
            self._entries[key] = (now + self.seconds, value)
        return value

    def _prune(self, now: float) -> None:
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
        while len(self._entries) >= MAX_ENTRIES:
            del self._entries[next(iter(self._entries))]
