"""Small registries written as import files, for tests that need a few known records."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from tuopin.domain import idnumber

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
