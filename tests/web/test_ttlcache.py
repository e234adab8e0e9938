"""The dashboard's small cache: a value is reused until it is ``seconds`` old."""

from __future__ import annotations

import pytest

from tuopin.web.ttlcache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_reused_until_it_expires() -> None:
    clock, made = Clock(), []
    cache = TTLCache(30, clock)

    def make() -> int:
        made.append(1)
        return len(made)

    assert cache.get("k", make) == 1
    clock.now += 29
    assert cache.get("k", make) == 1
    clock.now += 2
    assert cache.get("k", make) == 2
    assert cache.get("other", make) == 3


def test_zero_seconds_makes_the_value_every_time() -> None:
    cache = TTLCache(0, Clock())
    values = iter(range(10))
    assert [cache.get("k", lambda: next(values)) for _ in range(3)] == [0, 1, 2]


def test_a_full_cache_drops_the_expired_entries_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tuopin.web.ttlcache.MAX_ENTRIES", 2)
    clock = Clock()
    cache = TTLCache(10, clock)
    cache.get("a", lambda: 1)
    clock.now += 11
    cache.get("b", lambda: 2)
    cache.get("c", lambda: 3)
    assert list(cache._entries) == ["b", "c"]
