"""The region hierarchy a synthetic registry lives in: real counties, synthetic villages.

Province, prefectures and counties are the real GB/T 2260 units of the chosen province, in
code order; only as many counties as the households need are used, and when the province
runs out, well-formed synthetic county codes are added under its prefectures. Townships and
villages are synthetic (three digits each, numbered from 001).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tuopin.domain import gb2260
from tuopin.domain.errors import ValidationFailed
from tuopin.synth.config import STREAM_NAMES, STREAM_PLAN, SynthConfig
from tuopin.synth.names import place_names

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
FIRST_SYNTHETIC_COUNTY = 41  # real county numbers crowd 01-40 and 71-99
VILLAGE_SPREAD = 0.4  # villages hold (1 +/- 0.4) x the mean number of households


@dataclass(frozen=True)
class County:
    """One county of the plan: the chunk the generator works on."""

    index: int
    code: int  # six digits
    name: str
    village_codes: np.ndarray  # 12-digit codes as int64
    village_households: np.ndarray  # households in each village

    @property
    def households(self) -> int:
        return int(self.village_households.sum())

    @property
    def code12(self) -> str:
        return f"{self.code:06d}000000"


@dataclass(frozen=True)
class Plan:
    """Every county to generate, and the region rows (every ancestor of every village)."""

    counties: tuple[County, ...]
    regions: pa.Table


def village_sizes(config: SynthConfig) -> np.ndarray:
    """Households per village, summing to ``config.households``."""
    rng = config.rng(STREAM_PLAN)
    mean = config.households_per_village
    low = max(1, round(mean * (1 - VILLAGE_SPREAD)))
    high = max(low, round(mean * (1 + VILLAGE_SPREAD)))
    sizes = rng.integers(low, high + 1, size=config.households // low + 1)
    total = np.cumsum(sizes)
    count = int(np.searchsorted(total, config.households)) + 1
    sizes = sizes[:count].copy()
    sizes[-1] -= int(total[count - 1]) - config.households
    return sizes


def _prefecture_name(province: str, code6: str) -> str:
    found = gb2260.divisions().get(code6)
    if found is not None:
        return found.name
    return "市辖区" if province in MUNICIPALITIES else "省直辖县级行政区划"


def _counties(config: SynthConfig, needed: int) -> list[tuple[str, str]]:
    """``needed`` (six-digit code, name) pairs: the province's real counties, then synthetic."""
    province = config.province
    units = [d for d in gb2260.divisions().values() if d.code.startswith(province)]
    # Rural counties first: GB/T 2260 numbers urban districts (市辖区) 01-20, and a poverty
    # registry is mostly about counties (21-80) and county-level cities (81-99).
    counties = sorted(((d.code, d.name) for d in units if d.level == "county"),
                      key=lambda c: (int(c[0][4:]) <= 20, c[0]))
    if len(counties) >= needed:
        return sorted(counties[:needed])
    prefectures = sorted(
        {d.code[:4] for d in units if d.level == "prefecture"} | {c[:4] for c, _ in counties}
    ) or [province + "01"]
    used = {code for code, _ in counties}
    free = [
        [f"{p}{n:02d}" for n in range(FIRST_SYNTHETIC_COUNTY, 100) if f"{p}{n:02d}" not in used]
        for p in prefectures
    ]
    extra = [code for row in zip(*free, strict=False) for code in row]  # round robin
    missing = needed - len(counties)
    if missing > len(extra):
        raise ValidationFailed(
            f"province {province} cannot hold {needed} counties; "
            "raise households_per_village or townships_per_county"
        )
    names = place_names(config.rng(STREAM_NAMES, 0), missing, ["县"])
    return counties + sorted(zip(extra[:missing], names, strict=True))


def plan(config: SynthConfig) -> Plan:
    """Lay out the counties, townships and villages that ``config.households`` need."""
    province = gb2260.divisions().get(config.province + "0000")
    if province is None or province.level != "province":
        raise ValidationFailed(f"unknown province code {config.province}")
    sizes = village_sizes(config)
    per_county = config.villages_per_township * config.townships_per_county
    county_count = -(-len(sizes) // per_county)
    rows: dict[str, str] = {province.code12: province.name}
    counties = []
    for index, (code6, name) in enumerate(_counties(config, county_count)):
        rows[code6[:4] + "00000000"] = _prefecture_name(config.province, code6[:4] + "00")
        rows[code6 + "000000"] = name
        villages = sizes[index * per_county : (index + 1) * per_county]
        codes = _name_townships_and_villages(config, index, code6, len(villages), rows)
        counties.append(County(index, int(code6), name, codes, villages))
    western = gb2260.is_western(config.province)
    ordered = sorted(rows)  # a parent's code sorts before its children's
    flags = [True if western and code == province.code12 else None for code in ordered]
    table = pa.table(
        {
            "code": pa.array(ordered, pa.string()),
            "name": pa.array([rows[c] for c in ordered], pa.string()),
            "western": pa.array(flags, pa.bool_()),
        }
    )
    return Plan(tuple(counties), table)


def _name_townships_and_villages(
    config: SynthConfig, index: int, code6: str, villages: int, rows: dict[str, str]
) -> np.ndarray:
    """Add the county's townships and villages to ``rows``; return the village codes."""
    rng = config.rng(STREAM_NAMES, 1, index)
    per_township = config.villages_per_township
    townships = -(-villages // per_township)
    codes = np.empty(villages, dtype=np.int64)
    for t, township_name in enumerate(place_names(rng, townships, ["镇", "乡", "乡"])):
        township = f"{code6}{t + 1:03d}"
        rows[township + "000"] = township_name
        count = min(per_township, villages - t * per_township)
        for v, village_name in enumerate(place_names(rng, count, ["村"])):
            rows[f"{township}{v + 1:03d}"] = village_name
        first = t * per_township
        codes[first : first + count] = int(township) * 1000 + np.arange(1, count + 1)
    return codes


def unit_names(config: SynthConfig, county: County) -> tuple[list[str], list[str]]:
    """The names of a county's townships and villages, as ``plan`` gave them."""
    rows: dict[str, str] = {}
    _name_townships_and_villages(config, county.index, f"{county.code:06d}",
                                 len(county.village_codes), rows)
    townships = [rows[f"{code:09d}000"] for code in np.unique(county.village_codes // 1000)]
    return townships, [rows[f"{code:012d}"] for code in county.village_codes.tolist()]
