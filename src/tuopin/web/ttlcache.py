"""A small time-to-live cache for figures that may be a few seconds old (dashboard counts).

Each worker process has its own. A value is made once per key at a time: while it is being
made for the first time, other requests for the key wait for it; once it exists and has
expired, the one request that noticed makes it again and the others get the old value
meanwhile (no stampede of 20 requests counting the same region at once).
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
        self._making: dict[Hashable, threading.Lock] = {}  # a lock per key being made
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept for ``key`` if still fresh, else ``make()`` (kept from now on)."""
        if self.seconds <= 0:
            return make()
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] > self.clock():
                return kept[1]  # type: ignore[no-any-return]
            making = self._making.setdefault(key, threading.Lock())
        if kept is not None and not making.acquire(blocking=False):
            return kept[1]  # type: ignore[no-any-return]  # being made again: the old one
        if kept is None:
            making.acquire()  # the first value: wait for whoever makes it
        try:
            with self._lock:
                fresh = self._entries.get(key)
            if fresh is not None and fresh[0] > self.clock():
                return fresh[1]  # type: ignore[no-any-return]  # made while we waited
            value = make()
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._prune(self.clock())
                self._entries[key] = (self.clock() + self.seconds, value)
            return value
        finally:
            making.release()

    def _prune(self, now: float) -> None:
        for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
            del self._entries[key]
            self._making.pop(key, None)
        while len(self._entries) >= MAX_ENTRIES:
            key = next(iter(self._entries))
            del self._entries[key]
            self._making.pop(key, None)
