"""GB/T 2260 province, prefecture and county codes shipped with tuopin (see data/SOURCES.md).

Townships and villages are not in GB/T 2260: they come from the user's own region file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Division:
    code: str  # six digits, as GB/T 2260 writes it
    name: str
    level: str  # province | prefecture | county

    @property
    def code12(self) -> str:
        """The same unit as a 12-digit 统计用区划代码."""
        return self.code.ljust(12, "0")


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("tuopin.domain").joinpath(f"data/{name}")
    text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def divisions() -> dict[str, Division]:
    """Every division by its six-digit code."""
    return {r["code"]: Division(r["code"], r["name"], r["level"]) for r in _rows("gb2260.csv")}


@lru_cache(maxsize=1)
def western_provinces() -> frozenset[str]:
    """Two-digit codes of the western-region provinces (exit thresholds differ there)."""
    return frozenset(r["code"][:2] for r in _rows("western_provinces.csv"))


@lru_cache(maxsize=1)
def prefectures_without_counties() -> frozenset[str]:
    """Four-digit codes of prefecture-level cities that govern towns directly (东莞, 中山)."""
    table = divisions()
    with_counties = {d.code[:4] for d in table.values() if d.level == "county"}
    return frozenset(d.code[:4] for d in table.values()
                     if d.level == "prefecture" and d.code[:4] not in with_counties)


def is_western(code: str) -> bool:
    """True when a region code (any length) lies in a western-region province."""
    return code[:2] in western_provinces()


def lookup(code12: str) -> Division | None:
    """The GB/T 2260 division for a 12-digit province/prefecture/county code, if known."""
    if code12[6:].strip("0"):
        return None
    return divisions().get(code12[:6])


def children(code6: str) -> list[Division]:
    """Divisions directly under a province or prefecture, by code order.

    Municipality districts and province-administered counties have no prefecture row in
    GB/T 2260 (no 市辖区 / 省直辖 placeholders), so they count as the province's children.
    """
    table = divisions()
    if code6.endswith("0000"):
        return [
            d for d in table.values()
            if d.code[:2] == code6[:2] and d.code != code6
            and (d.level == "prefecture"
                 or (d.level == "county" and d.code[:4] + "00" not in table))
        ]
    if not code6.endswith("00"):
        return []  # a county has no GB/T 2260 children (townships are the user's data)
    return [d for d in table.values() if d.level == "county" and d.code[:4] == code6[:4]]
