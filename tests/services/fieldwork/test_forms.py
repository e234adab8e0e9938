"""An area's form and households file, persona by persona: the county officer and the
administrator get any area of theirs, a village cadre only their village, someone of another
county or another village is refused, a helper exports nothing; the file names the household,
its village, head and address and never an ID number or a phone."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from factories import (
    COUNTY,
    OTHER_VILLAGE,
    REGIONS,
    VILLAGE,
    households,
    members,
    operator,
    user,
    write_csv,
)
from tuopin.domain.enums import Role
from tuopin.domain.errors import NotFound, PermissionDenied
from tuopin.io.schema import Kind
from tuopin.io.xlsform_households import Layout, households_csv
from tuopin.services.access.principal import Principal
from tuopin.services.fieldwork import forms
from tuopin.services.imports import files
from tuopin.standards.loader import load
from tuopin.storage import migrate
from tuopin.storage.db import make_engine, session_factory

TODAY = date(2024, 6, 1)
TOWNSHIP = VILLAGE[:9]
OUTSIDE_COUNTY = "621122"
OUTSIDE_VILLAGE = "621122001001"
PERSONAS: dict[str, Principal] = {
    "admin": user(Role.ADMIN, username="admin"),
    "county_officer": user(Role.COUNTY_OFFICER, COUNTY, username="county"),
    "township_officer": user(Role.TOWNSHIP_OFFICER, TOWNSHIP, username="township"),
    "village_cadre": user(Role.VILLAGE_CADRE, VILLAGE, username="cadre"),
    "other_village_cadre": user(Role.VILLAGE_CADRE, OTHER_VILLAGE, username="cadre-two"),
    "helper": user(Role.HELPER, COUNTY, username="helper",
                   households=frozenset({f"{VILLAGE}0001"})),
    "outsider": user(Role.COUNTY_OFFICER, OUTSIDE_COUNTY, username="outsider"),
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder = tmp_path_factory.mktemp("fieldwork")
    engine = make_engine(f"sqlite:///{folder / 'tuopin.db'}")
    migrate.upgrade(engine)
    homes = households(3, VILLAGE) + households(2, OTHER_VILLAGE) + households(1,
                                                                              OUTSIDE_VILLAGE)
    homes[0].update(address='一组12号, "老屋"\n东头', phone="13800000000")
    numbers = [str(h["number"]) for h in homes]
    people = [m for m in members(numbers) if m["household_number"] != numbers[2]
              or m["relation"] != "head"]  # the third household has no head on record
    regions = [*REGIONS, {"code": OUTSIDE_COUNTY, "name": "陇西县"},
               {"code": "621122001", "name": "巩昌镇"},
               {"code": OUTSIDE_VILLAGE, "name": "北关村"}]
    for kind, rows in ((Kind.REGIONS, regions), (Kind.HOUSEHOLDS, homes),
                       (Kind.MEMBERS, people)):
        path = write_csv(folder / f"{kind.value}.csv", rows)
        assert files.import_file(engine, principal=operator(), kind=kind, path=path,
                                 today=TODAY).ok
    yield engine
    engine.dispose()


def _households(engine: Engine, persona: str, region: str) -> list[str]:
    with session_factory(engine)() as db:
        rows = forms.households(db, principal=PERSONAS[persona], region=region)
    return [row.number for row in rows]


@pytest.mark.parametrize(("persona", "region", "count"), [
    ("admin", COUNTY, 5), ("county_officer", COUNTY, 5), ("county_officer", VILLAGE, 3),
    ("township_officer", TOWNSHIP, 3), ("village_cadre", VILLAGE, 3),
    ("other_village_cadre", OTHER_VILLAGE, 2), ("admin", OUTSIDE_VILLAGE, 1),
])
def test_a_persona_gets_the_households_of_an_area_of_theirs(
        engine: Engine, persona: str, region: str, count: int) -> None:
    numbers = _households(engine, persona, region)
    assert len(numbers) == count and numbers == sorted(numbers)
    assert all(n.startswith(region) for n in numbers)


@pytest.mark.parametrize(("persona", "region"), [
    ("village_cadre", OTHER_VILLAGE), ("other_village_cadre", VILLAGE),
    ("village_cadre", COUNTY), ("township_officer", OTHER_VILLAGE),
    ("outsider", VILLAGE), ("outsider", COUNTY),
    # an export: a helper works through the ledger of their households, not lists
    ("helper", VILLAGE),
])
def test_an_area_outside_ones_region_is_refused(engine: Engine, persona: str,
                                                region: str) -> None:
    with pytest.raises(PermissionDenied):
        _households(engine, persona, region)


@pytest.mark.parametrize("region", ["621121009001", "abc", "6211210010019"])
def test_an_unknown_or_malformed_region_is_not_found(engine: Engine, region: str) -> None:
    with pytest.raises(NotFound):
        _households(engine, "county_officer", region)


def test_the_file_names_household_village_head_and_address_and_nothing_else(
        engine: Engine) -> None:
    with session_factory(engine)() as db:
        rows = forms.households(db, principal=operator(), region=VILLAGE)
    text = households_csv(rows, Layout.MEDIA).decode("utf-8")
    found = list(csv.DictReader(io.StringIO(text)))
    assert list(found[0]) == ["name", "label", "number", "village", "village_name", "head",
                              "address"]
    first = found[0]
    assert first["name"] == first["number"] == f"{VILLAGE}0001"
    assert (first["village"], first["village_name"], first["head"]) == (VILLAGE, "东关村",
                                                                         "户主0")
    assert first["address"] == '一组12号, "老屋" 东头'  # one line per household
    assert first["label"] == f'{VILLAGE}0001 户主0 一组12号, "老屋" 东头'
    assert found[2]["head"] == "" and found[2]["label"] == f"{VILLAGE}0003"
    for person in members([f"{VILLAGE}{i:04d}" for i in (1, 2, 3)]):
        assert str(person["id_number"]) not in text
    assert "13800000000" not in text


def test_a_form_for_an_area_is_made_for_those_who_may_see_it(engine: Engine) -> None:
    national = load("cn-national")
    with session_factory(engine)() as db:
        form = forms.area_form(db, principal=PERSONAS["village_cadre"], region=VILLAGE,
                               standard=national, year=2024)
        assert form.form_id == f"tuopin_cn_national_2024_{VILLAGE}"
        assert "东关村" in form.settings["form_title"]
        with pytest.raises(PermissionDenied):
            forms.area_form(db, principal=PERSONAS["outsider"], region=VILLAGE,
                            standard=national, year=2024)
        with pytest.raises(NotFound):
            forms.area(db, principal=PERSONAS["county_officer"], region="621121009")


def test_the_entities_file_reimports_into_central_without_reserved_names(
        engine: Engine, tmp_path: Path) -> None:
    with session_factory(engine)() as db:
        rows = forms.households(db, principal=PERSONAS["township_officer"], region=TOWNSHIP)
    header = next(csv.reader(io.StringIO(households_csv(rows, Layout.ENTITIES).decode())))
    assert header[0] == "label" and "name" not in header
    assert not [h for h in header[1:] if h.startswith("__") or h in ("name", "label")]
