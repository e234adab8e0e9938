"""Anchors: the chain's head kept outside the database catches a rewrite of the whole table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from factories import OPERATOR, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import PermissionDenied, RuleBroken, ValidationFailed
from tuopin.services import audit
from tuopin.services.ops import anchor

MOMENT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def clock() -> datetime:
    return MOMENT


def append_events(engine: Engine, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with engine.begin() as conn:
            audit.record(conn, actor="tester", action="edit", entity="household",
                         entity_id=f"H{i}", after={"i": i}, clock=clock)


def take(engine: Engine, path: Path) -> anchor.Anchor:
    with Session(engine) as db:
        taken = anchor.take(db, principal=OPERATOR, at=MOMENT)
    anchor.append(path, taken)
    return taken


def check(engine: Engine, path: Path) -> anchor.AnchorReport:
    with Session(engine) as db:
        return anchor.verify(db, principal=OPERATOR, anchors=anchor.read(path))


def test_an_anchor_is_appended_as_one_line_per_head(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    append_events(engine, 3)
    first = take(engine, path)
    append_events(engine, 2, start=3)
    second = take(engine, path)
    assert (first.events, second.events) == (3, 5)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == [first.line(), second.line()]
    assert lines[0].startswith("2026-11-29T08:00:00Z 3 ")
    assert anchor.read(path) == [first, second]


def test_an_untouched_chain_holds_every_anchor(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    take(engine, path)  # the empty chain
    append_events(engine, 3)
    take(engine, path)
    append_events(engine, 2, start=3)
    report = check(engine, path)
    assert report.ok and report.anchors == 2 and report.chain.events == 5


def test_an_edited_event_is_caught_by_the_chain(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    append_events(engine, 5)
    take(engine, path)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'forger' WHERE id = 3"))
    report = check(engine, path)
    assert not report.ok
    assert (report.chain.broken_at, report.chain.problem) == (3, "edited")


def _recompute_chain(conn, edit_id: int) -> None:  # type: ignore[no-untyped-def]
    """A careful forger: edit one event, then recompute every hash after it and the head,
    so that the chain verifies on its own."""
    rows = conn.execute(text("SELECT * FROM audit_event ORDER BY id")).mappings().all()
    prev = audit.GENESIS
    for row in rows:
        actor = "someone else" if row["id"] == edit_id else row["actor"]
        new = audit.event_hash(id=row["id"], at=row["at"], actor=actor, action=row["action"],
                               entity=row["entity"], entity_id=row["entity_id"],
                               before=row["before"], after=row["after"], prev_hash=prev)
        conn.execute(text("UPDATE audit_event SET actor = :a, prev_hash = :p, hash = :h "
                          "WHERE id = :i"), {"a": actor, "p": prev, "h": new, "i": row["id"]})
        prev = new
    conn.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})


def test_a_recomputed_chain_verifies_alone_but_not_against_its_anchor(
        engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    append_events(engine, 3)
    take(engine, path)
    append_events(engine, 3, start=3)
    taken = take(engine, path)
    with engine.begin() as conn:
        _recompute_chain(conn, edit_id=2)
    with Session(engine) as db:
        assert audit.verify(db, principal=OPERATOR).ok  # the forgery fools the chain
    report = check(engine, path)
    assert not report.ok and report.chain.ok
    assert report.problem == "rewritten"
    assert report.broken is not None and report.broken.events == 3  # the first anchor
    assert "event 3" in report.detail
    assert taken.events == 6


def test_a_truncated_chain_is_caught_by_its_anchor(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    append_events(engine, 4)
    take(engine, path)
    with engine.begin() as conn:  # everything gone, the head reset: an empty chain verifies
        conn.execute(text("DELETE FROM audit_event"))
        conn.execute(text("UPDATE audit_head SET last_id = 0, last_hash = :g WHERE id = 1"),
                     {"g": audit.GENESIS})
    report = check(engine, path)
    assert report.chain.ok and not report.ok
    assert report.problem == "truncated"


def test_a_broken_chain_is_not_anchored(engine: Engine, tmp_path: Path) -> None:
    append_events(engine, 3)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = 2"))
    with Session(engine) as db, pytest.raises(RuleBroken):
        anchor.take(db, principal=OPERATOR)


def test_a_line_that_is_not_an_anchor_is_refused_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "anchors.txt"
    path.write_text(f"# anchors\n\n2026-11-29T08:00:00Z 3 {'a' * 64}\nnonsense\n",
                    encoding="utf-8")
    with pytest.raises(ValidationFailed, match="line 4"):
        anchor.read(path)


def test_only_who_may_read_the_audit_trail_may_anchor(engine: Engine) -> None:
    with Session(engine) as db, pytest.raises(PermissionDenied):
        anchor.take(db, principal=user(Role.COUNTY_OFFICER, "621121"))
