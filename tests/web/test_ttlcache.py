"""The dashboard's small cache: a value is reused until it is ``seconds`` old."""

from __future__ import annotations

import threading
import time

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


def test_while_an_expired_value_is_made_again_the_others_get_the_old_one() -> None:
    clock = Clock()
    cache = TTLCache(10, clock)
    cache.get("k", lambda: "old")
    clock.now += 11
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        return "new"

    maker = threading.Thread(target=lambda: cache.get("k", slow))
    maker.start()
    assert started.wait(5)
    assert cache.get("k", lambda: "never") == "old"  # no second count meanwhile
    release.set()
    maker.join(5)
    assert cache.get("k", lambda: "never") == "new"


def test_the_first_value_is_made_once_for_requests_that_come_together() -> None:
    cache = TTLCache(10, Clock())
    made: list[int] = []
    gate = threading.Barrier(8)

    def make() -> int:
        made.append(1)
        time.sleep(0.05)
        return len(made)

    def ask() -> None:
        gate.wait(5)
        assert cache.get("k", make) == 1

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert made == [1]


def test_a_failure_to_make_a_value_lets_the_next_request_try_again() -> None:
    cache = TTLCache(10, Clock())

    def broken() -> int:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.get("k", lambda: 2) == 2
