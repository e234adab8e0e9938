"""Small registries written as import files, for tests that need a few known records."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from tuopin.domain import idnumber
from tuopin.domain.enums import Role
from tuopin.domain.scope import Scope
from tuopin.services.access.principal import Principal

COUNTY = "621121"  # 通渭县, 定西市, 甘肃省
VILLAGE = "621121001001"
OTHER_VILLAGE = "621121002001"

REGIONS = [
    {"code": "62", "name": "甘肃省"},
    {"code": "6211", "name": "定西市"},
    {"code": COUNTY, "name": "通渭县"},
    {"code": "621121001", "name": "平襄镇"},
    {"code": VILLAGE, "name": "东关村"},
    {"code": "621121002", "name": "义岗镇"},
    {"code": OTHER_VILLAGE, "name": "新景村"},
]


def operator(actor: str = "t", region: str | None = None) -> Principal:
    """The command line's principal, as the audit trail names it (``actor``), looking at
    ``region`` (everything when None)."""
    return Principal(actor=actor, role=Role.ADMIN, scope=Scope(region), operator=True)


OPERATOR = operator()


def user(role: Role, region: str | None = None, *, username: str = "someone",
         households: frozenset[str] | None = None, user_id: int | None = None,
         helper_id: int | None = None) -> Principal:
    """A principal of a web user with ``role`` in ``region`` (a helper: ``households``)."""
    return Principal(actor=f"web:{username}", role=role,
                     scope=Scope(region, households=households), username=username,
                     user_id=user_id, helper_id=helper_id)


def person_id(born: date, sequence: int, county: str = COUNTY) -> str:
    """A valid ID number: odd sequence for a man, even for a woman."""
    return idnumber.compose(county, born, sequence)


def write_csv(path: Path, rows: Sequence[dict[str, object]], *, encoding: str = "utf-8",
              header: Sequence[str] | None = None) -> Path:
    """Write rows as CSV with the given header (default: every key, in first-seen order)."""
    names = list(header or dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if row.get(n) is None else row.get(n) for n in names])
    return path


def households(n: int = 3, village: str = VILLAGE) -> list[dict[str, object]]:
    return [
        {"number": f"{village}{i:04d}", "village_code": village,
         "status": "poor" if i == 1 else "ordinary", "main_cause": "illness" if i == 1 else None}
        for i in range(1, n + 1)
    ]


def members(household_numbers: Sequence[str]) -> list[dict[str, object]]:
    """A head and a child for every household, with valid ID numbers."""
    rows: list[dict[str, object]] = []
    for i, number in enumerate(household_numbers):
        rows.append({"household_number": number, "id_number": person_id(date(1970, 1, 1 + i), 11),
                     "name": f"户主{i}", "relation": "head"})
        rows.append({"household_number": number,
                     "id_number": person_id(date(2012, 3, 1 + i), 22),
                     "name": f"孩子{i}", "relation": "child", "schooling_status": "in_school"})
    return rows


def surveys(household_numbers: Sequence[str], year: int = 2019) -> list[dict[str, object]]:
    return [
        {"household_number": number, "year": year, "household_size": 2,
         "wage_income": 3000 + 4000 * i, "food_secure": "是", "clothing_secure": "是",
         "housing_grade": "C" if i == 0 else "A"}
        for i, number in enumerate(household_numbers)
    ]


def registry_files(folder: Path, n: int = 3) -> dict[str, Path]:
    """Regions, households, members, surveys and helpers files for ``n`` households."""
    homes = households(n)
    numbers = [str(h["number"]) for h in homes]
    return {
        "regions": write_csv(folder / "regions.csv", REGIONS),
        "households": write_csv(folder / "households.csv", homes),
        "members": write_csv(folder / "members.csv", members(numbers)),
        "surveys": write_csv(folder / "surveys.csv", surveys(numbers)),
        "helpers": write_csv(folder / "helpers.csv", [
            {"number": "H001", "name": "王帮扶", "unit": "县农业农村局",
             "households": ";".join(numbers)}]),
    }


# -- a registry built to hit every indicator of the shipped standards --------------------------

# household -> (survey overrides, extra members); every household has a healthy, insured head
# with a wage that keeps income far above the line unless the case says otherwise.
GOOD_SURVEY: dict[str, object] = {
    "household_size": 2, "wage_income": 20000, "production_income": 1000,
    "property_income": 0, "transfer_income": 500, "production_costs": 500,
    "medical_expenses": 0, "food_secure": "1", "clothing_secure": "1", "housing_grade": "A",
    "water_quantity_lpd": 60, "water_piped": "1", "water_trip_minutes": 0,
    "water_outage_days": 0, "water_quality_ok": "1", "water_scarce_area": "0",
}

CASES: dict[str, tuple[dict[str, object], list[dict[str, object]], set[str]]] = {
    # name: (survey changes, members besides the head, cn-national indicators expected)
    "fine": ({}, [], set()),
    "low_income": ({"wage_income": 2000, "production_income": 0, "transfer_income": 0,
                    "production_costs": 0}, [], {"income"}),
    "no_food": ({"food_secure": "0"}, [], {"food"}),
    "no_clothes": ({"clothing_secure": "0"}, [], {"clothing"}),
    "dropout": ({}, [{"name": "小明", "born": date(2007, 5, 1), "schooling_status": "dropped_out"}],
                {"education"}),
    "home_taught": ({}, [{"name": "小红", "born": date(2008, 6, 1), "schooling_status":
                          "home_taught", "health": "disabled", "disability_grade": 1}], set()),
    "uninsured": ({}, [{"name": "老李", "born": date(1950, 1, 1), "medical_insurance": "0"}],
                  {"medical"}),
    "insurance_unknown": ({}, [{"name": "老王", "born": date(1952, 2, 2),
                                "medical_insurance": None}], {"medical"}),
    "dangerous_house": ({"housing_grade": "D"}, [], {"housing"}),
    "little_water": ({"water_quantity_lpd": 30}, [], {"water_quantity"}),
    "scarce_area_ok": ({"water_quantity_lpd": 25, "water_scarce_area": "1"}, [], set()),
    "water_far": ({"water_piped": "0", "water_trip_minutes": 30}, [], {"water_access"}),
    "water_cut": ({"water_outage_days": 40}, [], {"water_guarantee"}),
    "bad_water": ({"water_quality_ok": "0"}, [], {"water_quality"}),
    "dead_dropout": ({}, [{"name": "小亡", "born": date(2008, 1, 1), "schooling_status":
                           "dropped_out", "deceased_date": "2018-06-01"}], set()),
    "poor_and_dropout": ({"wage_income": 1000, "production_income": 0, "transfer_income": 0,
                          "production_costs": 0},
                         [{"name": "小强", "born": date(2006, 3, 3),
                           "schooling_status": "dropped_out"}], {"income", "education"}),
    "three_living": ({"food_secure": "0", "clothing_secure": "0", "housing_grade": "C"}, [],
                     {"food", "clothing", "housing"}),
}


def assessment_registry(folder: Path, years: Sequence[int] = (2019,)) -> dict[str, Path]:
    """Regions, households, members and surveys for the CASES above, in one village."""
    numbers = {name: f"{VILLAGE}{i:04d}" for i, name in enumerate(CASES, start=1)}
    homes, people, rows = [], [], []
    for index, (name, (survey, extra, _)) in enumerate(CASES.items()):
        number = numbers[name]
        homes.append({"number": number, "village_code": VILLAGE, "status": "ordinary",
                      "address": name})
        people.append({"household_number": number, "name": f"户主{name}", "relation": "head",
                       "id_number": person_id(date(1975, 1, 1 + index % 28), 11 + 2 * index),
                       "medical_insurance": "1", "health": "healthy", "labour": "ordinary"})
        for j, member in enumerate(extra):
            person = {k: v for k, v in member.items() if k != "born"}
            born = member["born"]
            assert isinstance(born, date)
            people.append({"household_number": number, "relation": "child",
                           "id_number": person_id(born, 100 + 2 * index + j * 40),
                           "medical_insurance": person.pop("medical_insurance", "1"),
                           **person})
        for year in years:
            rows.append({"household_number": number, "year": year, **GOOD_SURVEY,
                         "household_size": 1 + len(extra), **survey})
    return {
        "regions": write_csv(folder / "regions.csv", REGIONS),
        "households": write_csv(folder / "households.csv", homes),
        "members": write_csv(folder / "members.csv", people),
        "surveys": write_csv(folder / "surveys.csv", rows),
    }
