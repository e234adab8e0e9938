"""A verification plan's findings as a form: the household picked from the plan's sample,
the findings' fields shown by whether the household was visited, for whoever may see the
plan's list - and nobody else."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from pyxform.xls2xform import convert
from sqlalchemy import Engine

import verification_county as county
from factories import operator, user
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied
from tuopin.domain.verification import VerificationKind
from tuopin.io.xlsform_households import Layout, households_csv
from tuopin.services.access.principal import Principal
from tuopin.services.fieldwork import forms
from tuopin.services.verification import draws, plans
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory

ON = date(2021, 3, 1)
VILLAGE = f"{county.COUNTY}001001"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, int]]:
    path = tmp_path_factory.mktemp("verification-form") / "tuopin.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    county.build(engine, townships=2, villages=2, households=(10, 20))
    with session_factory(engine)() as db, db.begin():
        plan = plans.plan(db, principal=operator(), region=county.COUNTY, year=2020,
                          kind=VerificationKind.THIRD_PARTY, seed=7, as_of=ON,
                          villages=4)["plan"]
        draws.draw(db, principal=operator(), plan_id=plan, as_of=ON)
    yield engine, plan
    engine.dispose()


def test_the_form_asks_the_findings_of_a_picked_household(world: tuple[Engine, int],
                                                          tmp_path: Path) -> None:
    engine, plan = world
    officer = user(Role.COUNTY_OFFICER, county.COUNTY, username="county")
    with session_factory(engine)() as db:
        form = forms.verification_form(db, principal=officer, plan_id=plan)
    rows = {row["name"]: row for row in form.survey}
    assert rows["household_number"]["type"] == "select_one_from_file sample.csv"
    assert rows["visited"]["required"] == "yes" and "relevant" not in rows["visited"]
    assert rows["not_visited_reason"]["relevant"] == "${visited} = 'no'"
    assert rows["judgement"]["relevant"] == "${visited} = 'yes'"
    assert form.form_id == f"tuopin_verification_plan{plan}"
    assert {"not_visited", "judgement", "yes_no"} <= {c["list_name"] for c in form.choices}
    warnings: list[str] = []
    convert(xlsform=str(form.write(tmp_path / "findings.xlsx")), warnings=warnings)
    assert warnings == []


def test_the_sample_file_lists_the_drawn_households_without_id_numbers(
        world: tuple[Engine, int]) -> None:
    engine, plan = world
    with session_factory(engine)() as db:
        rows = forms.verification_households(db, principal=operator(), plan_id=plan)
        village = forms.verification_households(db, principal=operator(), plan_id=plan,
                                                 village=VILLAGE)
    assert rows and set(village) <= set(rows)
    assert all(row.number.startswith(VILLAGE) for row in village)
    text = households_csv(rows, Layout.MEDIA).decode("utf-8")
    assert text.splitlines()[0] == "name,label,number,village,village_name,head,address"


@pytest.mark.parametrize(("persona", "error"), [
    # a third-party plan's list reaches below the county only once the plan is closed
    (user(Role.VILLAGE_CADRE, VILLAGE, username="cadre"), NotFound),
    (user(Role.COUNTY_OFFICER, county.OTHER_COUNTY, username="outsider"), NotFound),
    (user(Role.HELPER, county.COUNTY, username="helper"), PermissionDenied),
])
def test_who_may_not_see_the_list_gets_no_form(world: tuple[Engine, int], persona: Principal,
                                               error: type[Exception]) -> None:
    engine, plan = world
    with session_factory(engine)() as db:
        with pytest.raises(error):
            forms.verification_form(db, principal=persona, plan_id=plan)
        with pytest.raises(error):
            forms.verification_households(db, principal=persona, plan_id=plan)
