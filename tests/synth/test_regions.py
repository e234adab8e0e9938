from __future__ import annotations

import pandas as pd
import pytest

from tuopin.domain import gb2260
from tuopin.domain.enums import RegionLevel
from tuopin.domain.errors import ValidationFailed
from tuopin.domain.regions import ancestors, level_of, parent_of
from tuopin.io.schema import Kind
from tuopin.synth import SynthConfig
from tuopin.synth.regions import plan, village_sizes

from .conftest import SMALL

# One household per village, village per township and township per county: one county each.
TINY = {"households_per_village": 1, "villages_per_township": 1, "townships_per_county": 1}


def test_every_region_code_is_well_formed_and_its_parent_is_present(
    small: dict[Kind, pd.DataFrame],
) -> None:
    codes = list(small[Kind.REGIONS].code)
    assert len(set(codes)) == len(codes)
    for code in codes:
        level_of(code)
        parent = parent_of(code)
        assert parent is None or parent in codes[: codes.index(code)], code


def test_the_regions_are_every_ancestor_of_every_village_and_nothing_else(
    small: dict[Kind, pd.DataFrame],
) -> None:
    regions = small[Kind.REGIONS]
    villages = {c for c in regions.code if level_of(c) is RegionLevel.VILLAGE}
    above = {a for village in villages for a in ancestors(village)}
    assert set(regions.code) == villages | above
    assert set(small[Kind.HOUSEHOLDS].village_code) == villages


def test_rural_counties_come_before_urban_districts_with_their_names() -> None:
    counties = plan(SMALL).counties
    real = sorted((d for d in gb2260.divisions().values()
                   if d.level == "county" and d.code.startswith("62")),
                  key=lambda d: (int(d.code[4:]) <= 20, d.code))
    expected = sorted((d.code12, d.name) for d in real[: len(counties)])
    assert [(c.code12, c.name) for c in counties] == expected
    assert all(int(c.code12[4:6]) > 20 for c in counties)


def test_synthetic_counties_are_added_under_real_prefectures_when_the_province_runs_out() -> None:
    real = sum(1 for d in gb2260.divisions().values()
               if d.level == "county" and d.code.startswith("12"))
    layout = plan(SynthConfig(households=real + 5, province="12", **TINY))
    codes = [c.code12 for c in layout.counties]
    assert len(codes) == len(set(codes)) == real + 5
    for county in layout.counties[real:]:
        assert gb2260.lookup(county.code12) is None
        assert level_of(county.code12) is RegionLevel.COUNTY
        assert county.name.endswith("县")
    assert set(layout.regions.column("code").to_pylist()) >= {parent_of(c) for c in codes}


def test_a_province_that_cannot_hold_the_households_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="cannot hold"):
        plan(SynthConfig(households=5_000, province="12", **TINY))


def test_an_unknown_province_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="province"):
        plan(SynthConfig(households=10, province="99"))


@pytest.mark.parametrize(("province", "western"), [("62", "1"), ("12", "")])
def test_only_a_western_province_carries_the_western_flag(province: str, western: str) -> None:
    regions = plan(SynthConfig(households=100, province=province)).regions.to_pylist()
    assert regions[0]["code"] == f"{province}0000000000"
    assert regions[0]["western"] == (True if western else None)
    assert all(row["western"] is None for row in regions[1:])


def test_village_sizes_add_up_to_the_households_and_stay_near_the_mean() -> None:
    sizes = village_sizes(SynthConfig(households=10_001, households_per_village=100))
    assert sizes.sum() == 10_001
    assert sizes[:-1].min() >= 60 and sizes.max() <= 140
    assert 1 <= sizes[-1] <= 140


def test_township_and_village_names_are_chinese_place_names(
    small: dict[Kind, pd.DataFrame],
) -> None:
    regions = small[Kind.REGIONS]
    for code, name in zip(regions.code, regions.name, strict=True):
        level = level_of(code)
        if level is RegionLevel.TOWNSHIP:
            assert len(name) == 3 and name[-1] in "镇乡", name
        elif level is RegionLevel.VILLAGE:
            assert len(name) == 3 and name.endswith("村"), name
