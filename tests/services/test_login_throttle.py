"""The login limiter: a sliding window of failures per username and address, kept in the
database so that every web worker counts the same attempts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tuopin.services.access.throttle import LoginLimiter, TooManyAttempts
from tuopin.storage.db import session_factory
from tuopin.storage.models import LoginFailureRecord


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_holds_until_the_oldest_failure_leaves_the_window(session: Session) -> None:
    clock = Clock()
    limiter = LoginLimiter(3, 60, clock)
    for _ in range(3):
        limiter.check(session, "li", "10.0.0.1")
        limiter.failed(session, "li", "10.0.0.1")
        clock.now += 10
    with pytest.raises(TooManyAttempts) as refused:
        limiter.check(session, "LI", "10.0.0.1")  # usernames are compared in lower case
    assert refused.value.retry_after == 31
    clock.now += 31
    limiter.check(session, "li", "10.0.0.1")


@pytest.mark.parametrize(("username", "address"), [("wang", "10.0.0.1"), ("li", "10.0.0.2")])
def test_other_usernames_and_addresses_are_counted_apart(session: Session, username: str,
                                                         address: str) -> None:
    limiter = LoginLimiter(1, 60, Clock())
    limiter.failed(session, "li", "10.0.0.1")
    limiter.check(session, username, address)


def test_a_success_forgets_the_failures(session: Session) -> None:
    limiter = LoginLimiter(2, 60, Clock())
    limiter.failed(session, "li", "a")
    limiter.succeeded(session, "li", "a")
    limiter.failed(session, "li", "a")
    limiter.check(session, "li", "a")


def test_expired_failures_are_deleted_when_the_next_one_is_recorded(session: Session) -> None:
    clock = Clock()
    limiter = LoginLimiter(5, 60, clock)
    limiter.failed(session, "a", "x")
    limiter.failed(session, "b", "x")
    clock.now += 61
    limiter.failed(session, "c", "x")
    kept = session.scalars(select(LoginFailureRecord.username)).all()
    assert kept == ["c"]


def test_two_workers_count_the_same_failures(engine: Engine) -> None:
    """Each worker has its own limiter and sessions; the database is what they share."""
    clock = Clock()
    first, second = LoginLimiter(2, 60, clock), LoginLimiter(2, 60, clock)
    sessions = session_factory(engine)
    with sessions() as db, db.begin():
        first.failed(db, "li", "a")
    with sessions() as db, db.begin():
        second.failed(db, "li", "a")
    with sessions() as db, db.begin():
        assert db.scalar(select(func.count(LoginFailureRecord.id))) == 2
        with pytest.raises(TooManyAttempts):
            first.check(db, "li", "a")
