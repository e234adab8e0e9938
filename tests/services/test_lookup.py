"""Looking households up through a user's access: region scope and a helper's households."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from factories import COUNTY, OPERATOR, OTHER_VILLAGE, VILLAGE, operator, registry_files, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied
from tuopin.io.schema import Kind
from tuopin.services.imports.files import import_file
from tuopin.services.registry import lookup
from tuopin.storage.db import make_engine, session_factory

H1, H2, H3 = (f"{VILLAGE}{i:04d}" for i in (1, 2, 3))


@pytest.fixture
def db(sqlite_url: str, tmp_path: Path, today: date) -> Iterator[Session]:
    engine = make_engine(sqlite_url)
    for kind, path in registry_files(tmp_path).items():
        assert import_file(engine, principal=operator("t"), kind=Kind(kind), path=path,
                           today=today).ok
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def test_a_helpers_search_is_not_cut_short_by_other_households(db: Session) -> None:
    helper = user(Role.HELPER, COUNTY, username="wang", households=frozenset({H3}))
    assert [r["number"] for r in lookup.search(db, principal=helper, text="户主",
                                               limit=1)] == [H3]


def test_an_empty_search_finds_nothing(db: Session) -> None:
    assert lookup.search(db, principal=OPERATOR, text="  ") == []


def test_a_region_outside_the_scope_is_refused_and_a_malformed_one_not_found(
        db: Session) -> None:
    cadre = user(Role.VILLAGE_CADRE, VILLAGE, username="cadre")
    with pytest.raises(PermissionDenied):
        lookup.village(db, principal=cadre, code=OTHER_VILLAGE)
    with pytest.raises(PermissionDenied):
        lookup.tree(db, principal=cadre, root=COUNTY)
    with pytest.raises(NotFound):
        lookup.tree(db, principal=cadre, root="62112100100x")
    with pytest.raises(NotFound):
        lookup.village(db, principal=OPERATOR, code="621121009009")  # no such village


def test_a_household_never_assessed_has_no_assessment(db: Session, today: date) -> None:
    cadre = user(Role.VILLAGE_CADRE, VILLAGE, username="cadre")
    detail = lookup.household(db, principal=cadre, number=H1, today=today, lang="en")
    assert detail["assessment"] is None and len(detail["members"]) == 2


def test_a_helper_cannot_open_a_household_they_do_not_help(db: Session, today: date) -> None:
    with pytest.raises(NotFound):
        lookup.household(db, principal=user(Role.HELPER, COUNTY, username="wang",
                                            households=frozenset({H2})),
                         number=H1, today=today, lang="en")


def test_a_helpers_village_page_lists_only_their_households(db: Session) -> None:
    helper = user(Role.HELPER, COUNTY, username="wang", households=frozenset({H3}))
    shown = lookup.village(db, principal=helper, code=VILLAGE)["households"]
    assert [r["number"] for r in shown] == [H3]
