"""The login limiter: a sliding window of failures per username and address."""

from __future__ import annotations

import pytest

from tuopin.web.ratelimit import LoginLimiter, TooManyAttempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_holds_until_the_oldest_failure_leaves_the_window() -> None:
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock)
    for _ in range(3):
        limiter.check("li", "10.0.0.1")
        limiter.failed("li", "10.0.0.1")
        clock.now += 10
    with pytest.raises(TooManyAttempts) as refused:
        limiter.check("LI", "10.0.0.1")  # usernames are compared in lower case
    assert refused.value.retry_after == 31
    clock.now += 31
    limiter.check("li", "10.0.0.1")


@pytest.mark.parametrize(("username", "address"), [("wang", "10.0.0.1"), ("li", "10.0.0.2")])
def test_other_usernames_and_addresses_are_counted_apart(username: str, address: str) -> None:
    limiter = LoginLimiter(1, 60, Clock())
    limiter.failed("li", "10.0.0.1")
    limiter.check(username, address)


def test_a_success_forgets_the_failures() -> None:
    limiter = LoginLimiter(2, 60, Clock())
    limiter.failed("li", "a")
    limiter.succeeded("li", "a")
    limiter.failed("li", "a")
    limiter.check("li", "a")


def test_expired_keys_are_dropped_when_the_table_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tuopin.web.ratelimit.MAX_KEYS", 2)
    clock = Clock()
    limiter = LoginLimiter(5, 60, clock)
    limiter.failed("a", "x")
    limiter.failed("b", "x")
    clock.now += 61
    limiter.failed("c", "x")
    assert list(limiter._failures) == [("c", "x")]
