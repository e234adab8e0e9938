"""GB/T 2260 codes shipped in data/gb2260.csv: lookups, western provinces, children."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from tuopin.domain import gb2260, regions
from tuopin.domain.enums import RegionLevel

WESTERN = ("15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")
NON_WESTERN = ("11", "12", "13", "14", "21", "22", "23", "31", "32", "33", "34", "35", "36",
               "37", "41", "42", "43", "44", "46", "71", "81", "82")
LEVEL_BY_PATTERN = {RegionLevel.PROVINCE: "province", RegionLevel.PREFECTURE: "prefecture",
                    RegionLevel.COUNTY: "county"}


def _csv_rows() -> list[dict[str, str]]:
    text = resources.files("tuopin.domain").joinpath("data/gb2260.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize(
    ("code", "name", "level"),
    [
        ("110000", "北京市", "province"),
        ("110105", "朝阳区", "county"),
        ("320508", "姑苏区", "county"),
        ("440500", "汕头市", "prefecture"),
        ("620000", "甘肃省", "province"),
        ("620102", "城关区", "county"),
        ("540102", "城关区", "county"),  # names repeat; codes do not
        ("621100", "定西市", "prefecture"),
        ("621121", "通渭县", "county"),
        ("429004", "仙桃市", "county"),
        ("810000", "香港特别行政区", "province"),
    ],
)
def test_it_knows_the_spot_checked_divisions(code: str, name: str, level: str) -> None:
    division = gb2260.divisions()[code]
    assert (division.code, division.name, division.level) == (code, name, level)
    assert gb2260.lookup(code.ljust(12, "0")) == division
    assert division.code12 == code.ljust(12, "0")


@pytest.mark.parametrize(
    "code12",
    [
        "621121001000",  # a township: not in GB/T 2260
        "621121001001",  # a village
        "999999000000",  # unknown
        "110100000000",  # the 市辖区 placeholder has no row
        "429000000000",  # nor does 省直辖县级行政区划
        "710000000000",  # Taiwan has no published code
    ],
)
def test_lookup_gives_none_below_counties_and_for_unknown_codes(code12: str) -> None:
    assert gb2260.lookup(code12) is None


@pytest.mark.parametrize("province", WESTERN)
def test_the_twelve_western_provinces_are_western(province: str) -> None:
    assert gb2260.is_western(province)
    assert gb2260.is_western(f"{province}0000")
    assert gb2260.is_western(f"{province}0101001001")


@pytest.mark.parametrize("province", NON_WESTERN)
def test_other_provinces_are_not_western(province: str) -> None:
    assert not gb2260.is_western(province)
    assert not gb2260.is_western(f"{province}0000000000")


def test_there_are_exactly_twelve_western_provinces_and_all_are_provinces() -> None:
    western = gb2260.western_provinces()
    assert western == frozenset(WESTERN)
    assert all(gb2260.divisions()[f"{p}0000"].level == "province" for p in western)


@pytest.mark.parametrize(
    ("code", "western"),
    [
        ("422800", False),  # 恩施州: western policies by reference only, not a western province
        ("433100", False),  # 湘西州
        ("222400", False),  # 延边州
        ("621121", True),
    ],
)
def test_western_is_decided_by_the_province_alone(code: str, western: bool) -> None:
    assert gb2260.is_western(code) is western


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("110000", "110105"),  # a municipality district
        ("120000", "120101"),
        ("310000", "310101"),
        ("500000", "500101"),  # 重庆 districts
        ("500000", "500229"),  # 重庆 counties (5002xx)
        ("420000", "429004"),  # 仙桃市, province-direct
        ("420000", "429021"),  # 神农架林区
        ("410000", "419001"),  # 济源市
        ("460000", "469001"),  # Hainan province-direct
        ("650000", "659001"),  # 兵团 cities
        ("620000", "621100"),  # a prefecture
        ("620000", "620200"),  # 嘉峪关市, a prefecture without counties
        ("621100", "621121"),  # a county of a prefecture
        ("440500", "440507"),
    ],
)
def test_children_include_the_units_directly_under_a_division(parent: str, child: str) -> None:
    assert child in [d.code for d in gb2260.children(parent)]


@pytest.mark.parametrize(
    ("parent", "not_child"),
    [
        ("620000", "621121"),  # a county of a prefecture is a grandchild
        ("620000", "620000"),  # not itself
        ("420000", "420102"),  # 武汉 district: under 420100
        ("621100", "621200"),  # a sibling prefecture
        ("621100", "620102"),
        ("110000", "120101"),
    ],
)
def test_children_leave_out_grandchildren_siblings_and_the_division_itself(
    parent: str, not_child: str
) -> None:
    assert not_child not in [d.code for d in gb2260.children(parent)]


@pytest.mark.parametrize(
    ("parent", "expected"),
    [
        ("621100", ["621102", "621121", "621122", "621123", "621124", "621125", "621126"]),
        ("620200", []),  # 嘉峪关市 has no counties
        ("810000", []),
        ("999900", []),
    ],
)
def test_children_of_a_prefecture_are_its_counties_in_code_order(
    parent: str, expected: list[str]
) -> None:
    assert [d.code for d in gb2260.children(parent)] == expected


def test_children_of_a_municipality_are_all_its_districts() -> None:
    children = gb2260.children("110000")
    assert len(children) == 16
    assert {d.level for d in children} == {"county"}
    assert [d.code for d in children] == sorted(d.code for d in children)


def test_every_division_below_a_province_is_the_child_of_exactly_one_division() -> None:
    table = gb2260.divisions()
    seen: dict[str, int] = {}
    for parent in (d for d in table.values() if d.level != "county"):
        for child in gb2260.children(parent.code):
            seen[child.code] = seen.get(child.code, 0) + 1
    below = {c for c, d in table.items() if d.level != "province"}
    assert set(seen) == below
    assert set(seen.values()) == {1}


def test_a_county_has_no_children() -> None:
    assert gb2260.children("621121") == []


# -- the data file -----------------------------------------------------------------------------


def test_the_data_file_has_the_documented_row_counts() -> None:
    rows = _csv_rows()
    levels = [r["level"] for r in rows]
    assert (len(rows), levels.count("province"), levels.count("prefecture"),
            levels.count("county")) == (3211, 33, 333, 2845)
    assert list(rows[0]) == ["code", "name", "level"]


def test_every_code_is_six_ascii_digits_unique_and_sorted() -> None:
    codes = [r["code"] for r in _csv_rows()]
    assert all(len(c) == 6 and c.isascii() and c.isdigit() for c in codes)
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)


def test_every_level_is_consistent_with_its_code() -> None:
    wrong = [
        d for d in gb2260.divisions().values()
        if LEVEL_BY_PATTERN[regions.level_of(d.code12)] != d.level
    ]
    assert wrong == []


def test_every_division_has_a_name_and_a_province_row() -> None:
    table = gb2260.divisions()
    assert all(d.name and d.name == d.name.strip() for d in table.values())
    assert all(f"{c[:2]}0000" in table for c in table)


def test_every_county_has_a_prefecture_row_or_sits_directly_under_its_province() -> None:
    table = gb2260.divisions()
    direct = [c for c, d in table.items() if d.level == "county" and f"{c[:4]}00" not in table]
    assert len(direct) == 117  # documented in data/SOURCES.md
    assert {c[:4] for c in direct} == {"1101", "1201", "3101", "5001", "5002", "4190", "4290",
                                       "4690", "6590"}


def test_the_western_provinces_file_names_match_gb2260() -> None:
    text = resources.files("tuopin.domain").joinpath("data/western_provinces.csv")
    rows = list(csv.DictReader(text.read_text("utf-8").splitlines()))
    table = gb2260.divisions()
    assert len(rows) == 12
    assert all(table[r["code"]].name == r["name"] for r in rows)
