"""The hash-chained audit trail: every kind of tampering is caught, appends never fork."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from factories import COUNTY, OPERATOR, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied
from tuopin.services import audit
from tuopin.storage.db import make_engine


def clock() -> datetime:
    return datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def append_events(engine: Engine, n: int) -> None:
    for i in range(n):
        with engine.begin() as conn:
            audit.record(conn, actor="tester", action="edit", entity="household",
                         entity_id=f"H{i}", before={"status": "poor"},
                         after={"status": "exited", "i": i}, clock=clock)


def verify(engine: Engine) -> audit.ChainReport:
    with Session(engine) as db:
        return audit.verify(db, principal=OPERATOR)


def test_an_untouched_chain_verifies(engine: Engine) -> None:
    append_events(engine, 5)
    report = verify(engine)
    assert report.ok and report.events == 5


def test_an_empty_chain_verifies(engine: Engine) -> None:
    assert verify(engine).ok


def test_many_events_appended_at_once_chain_like_one_at_a_time(engine: Engine) -> None:
    append_events(engine, 2)
    changes = [audit.Change("tester", "monitor:propose", "monitoring_case", str(i), None,
                            {"i": i}) for i in range(12_001)]  # more than one insert batch
    with engine.begin() as conn:
        assert audit.record_many(conn, changes, clock=clock) == 12_001
        assert audit.record_many(conn, [], clock=clock) == 0  # nothing: the head stays
    report = verify(engine)
    assert report.ok and report.events == 12_003
    with Session(engine) as db:
        events = audit.history(db, principal=OPERATOR, entity="monitoring_case",
                               entity_id="12000")
    assert [(e["id"], e["after"]) for e in events] == [(12_003, '{"i":12000}')]


def _update(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text("UPDATE audit_event SET after = '{\"status\":\"poor\"}' WHERE id = 3"))


def _update_with_rehash(conn) -> None:  # type: ignore[no-untyped-def]
    # a careful forger recomputes the edited event's own hash; its successor still points
    # at the old one
    row = conn.execute(text("SELECT * FROM audit_event WHERE id = 3")).mappings().one()
    forged = audit.event_hash(id=3, at=row["at"], actor="someone else", action=row["action"],
                              entity=row["entity"], entity_id=row["entity_id"],
                              before=row["before"], after=row["after"],
                              prev_hash=row["prev_hash"])
    conn.execute(text("UPDATE audit_event SET actor = 'someone else', hash = :h WHERE id = 3"),
                 {"h": forged})


def _delete_middle(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text("DELETE FROM audit_event WHERE id = 3"))


def _delete_last(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text("DELETE FROM audit_event WHERE id = 5"))


def _insert_after(conn) -> None:  # type: ignore[no-untyped-def]
    last = conn.execute(text("SELECT hash FROM audit_event WHERE id = 5")).scalar_one()
    values = {"id": 6, "at": "2026-11-29T09:00:00.000000Z", "actor": "forger",
              "action": "edit", "entity": "household", "entity_id": "H9", "before": None,
              "after": None, "prev_hash": last}
    values["hash"] = audit.event_hash(**values)
    conn.execute(text("INSERT INTO audit_event VALUES (:id, :at, :actor, :action, :entity, "
                      ":entity_id, :before, :after, :prev_hash, :hash)"), values)


def _insert_before(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(text("INSERT INTO audit_event VALUES (0, '2026-01-01T00:00:00.000000Z', "
                      "'forger', 'edit', 'household', 'H0', NULL, NULL, :g, :g)"),
                 {"g": audit.GENESIS})


@pytest.mark.parametrize(
    ("tamper", "problem", "broken_at"),
    [
        (_update, "edited", 3),
        (_update_with_rehash, "inserted", 4),
        (_delete_middle, "deleted", 3),
        (_delete_last, "deleted", 5),
        (_insert_after, "inserted", 6),
        (_insert_before, "inserted", 0),
    ],
)
def test_tampering_with_the_table_is_caught_where_it_happened(
    engine: Engine, tamper: Callable, problem: str, broken_at: int
) -> None:
    append_events(engine, 5)
    with engine.begin() as conn:
        tamper(conn)
    report = verify(engine)
    assert not report.ok
    assert (report.problem, report.broken_at) == (problem, broken_at)


def test_concurrent_writers_never_fork_the_chain(pg_url: str) -> None:
    """Two connections append at once; the head-row lock keeps one chain."""
    engines = [make_engine(pg_url) for _ in range(2)]
    errors: list[BaseException] = []

    def work(engine: Engine) -> None:
        try:
            append_events(engine, 40)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    report = verify(engines[0])
    assert report.ok and report.events == 80
    for engine in engines:
        engine.dispose()


def test_history_lists_one_records_events_in_order(engine: Engine) -> None:
    append_events(engine, 3)
    with Session(engine) as db:
        events = audit.history(db, principal=OPERATOR, entity="household", entity_id="H1")
    assert [e["entity_id"] for e in events] == ["H1"]
    assert events[0]["before"] == '{"status":"poor"}'
    assert (events[0]["actor"], events[0]["action"]) == ("tester", "edit")


def test_an_auditor_reads_and_verifies_the_whole_trail(engine: Engine) -> None:
    append_events(engine, 3)
    auditor = user(Role.AUDITOR, username="shen")
    with Session(engine) as db:
        assert audit.verify(db, principal=auditor).ok
        assert len(audit.history(db, principal=auditor, entity="household")) == 3


@pytest.mark.parametrize("role", [Role.COUNTY_OFFICER, Role.TOWNSHIP_OFFICER,
                                  Role.VILLAGE_CADRE, Role.HELPER, Role.VERIFIER])
def test_it_refuses_the_trail_to_roles_that_do_not_audit(engine: Engine, role: Role) -> None:
    append_events(engine, 1)
    someone = user(role, COUNTY, username="x")
    with Session(engine) as db:
        with pytest.raises(PermissionDenied):
            audit.verify(db, principal=someone)
        with pytest.raises(PermissionDenied):
            audit.history(db, principal=someone, entity="household")


def test_it_refuses_the_whole_trail_to_a_principal_limited_to_a_region(engine: Engine) -> None:
    append_events(engine, 1)
    with Session(engine) as db, pytest.raises(PermissionDenied):
        audit.history(db, principal=user(Role.ADMIN, COUNTY, username="admin"),
                      entity="household")
