"""The login limiter: sliding windows of failures per username (from any address) and per
client address (against any username), kept in the database so that every web worker counts
the same attempts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tuopin.domain.errors import TooManyAttempts
from tuopin.services.access.throttle import LoginLimiter, Throttle
from tuopin.storage.db import session_factory
from tuopin.storage.models import ThrottleEventRecord

WINDOW = 60


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def limiter(per_user: int, per_address: int, clock: Clock | None = None) -> LoginLimiter:
    return LoginLimiter(per_user, per_address, WINDOW, Throttle(clock or Clock()))


def refused(db: Session, limits: LoginLimiter, username: str, address: str) -> bool:
    try:
        limits.check(db, username, address)
    except TooManyAttempts:
        return True
    return False


def test_the_limit_holds_until_the_oldest_failure_leaves_the_window(session: Session) -> None:
    clock = Clock()
    limits = limiter(3, 10, clock)
    for _ in range(3):
        limits.check(session, "li", "10.0.0.1")
        limits.failed(session, "li", "10.0.0.1")
        clock.now += 10
    with pytest.raises(TooManyAttempts) as caught:
        limits.check(session, "LI", "10.0.0.1")  # usernames are compared in lower case
    assert caught.value.retry_after == 31
    clock.now += 31
    limits.check(session, "li", "10.0.0.1")


def test_another_username_from_another_address_is_counted_apart(session: Session) -> None:
    limits = limiter(1, 1)
    limits.failed(session, "li", "10.0.0.1")
    assert refused(session, limits, "li", "10.0.0.1")
    assert not refused(session, limits, "wang", "10.0.0.2")


def test_the_per_address_limit_refuses_one_address_trying_many_usernames(
        session: Session) -> None:
    limits = limiter(3, 5)
    for i in range(5):
        assert not refused(session, limits, f"user{i}", "10.0.0.1")
        limits.failed(session, f"user{i}", "10.0.0.1")  # one guess per account: under 3
    assert refused(session, limits, "user9", "10.0.0.1")  # a name it never tried
    assert refused(session, limits, "user0", "10.0.0.1")
    assert not refused(session, limits, "user9", "10.0.0.2")  # the accounts are not locked


def test_the_per_user_limit_holds_across_addresses(session: Session) -> None:
    limits = limiter(3, 100)
    for i in range(3):
        assert not refused(session, limits, "li", f"10.0.0.{i}")
        limits.failed(session, "li", f"10.0.0.{i}")  # a botnet: one guess per address
    assert refused(session, limits, "li", "10.0.0.99")  # from an address never seen
    assert not refused(session, limits, "wang", "10.0.0.0")


@pytest.mark.parametrize(("username", "address", "refused_after"), [
    ("li", "b", False),  # the username's failures are forgotten (else 2 of 2)
    ("zhao", "a", True),  # the address's stay: a sprayer gets no fresh allowance
    ("zhao", "b", False),
])
def test_a_success_forgets_the_usernames_failures_but_not_the_addresses(
        session: Session, username: str, address: str, refused_after: bool) -> None:
    limits = limiter(2, 3)
    limits.failed(session, "li", "a")
    limits.failed(session, "wang", "a")
    limits.succeeded(session, "li", "a")  # li guessed right at last
    limits.failed(session, "li", "a")  # li: 1 since; the address: 3 in all
    assert refused(session, limits, username, address) is refused_after


def test_expired_failures_are_deleted_when_the_next_one_is_recorded(session: Session) -> None:
    clock = Clock()
    limits = limiter(5, 5, clock)
    limits.failed(session, "a", "x")
    limits.failed(session, "b", "x")
    clock.now += WINDOW + 1
    limits.failed(session, "c", "y")
    kept = session.execute(select(ThrottleEventRecord.kind, ThrottleEventRecord.key)
                           .order_by(ThrottleEventRecord.kind)).all()
    assert [tuple(k) for k in kept] == [("login_address", "y"), ("login_user", "c")]


def test_two_workers_count_the_same_failures(engine: Engine) -> None:
    """Each worker has its own limiter and sessions; the database is what they share."""
    clock = Clock()
    first, second = limiter(2, 10, clock), limiter(2, 10, clock)
    sessions = session_factory(engine)
    with sessions() as db, db.begin():
        first.failed(db, "li", "a")
    with sessions() as db, db.begin():
        second.failed(db, "li", "b")
    with sessions() as db, db.begin():
        assert db.scalar(select(func.count(ThrottleEventRecord.id)).where(
            ThrottleEventRecord.kind == "login_user")) == 2
        with pytest.raises(TooManyAttempts):
            first.check(db, "li", "c")
