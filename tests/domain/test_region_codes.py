"""统计用区划代码: levels, the hierarchy by digits, padding and malformed codes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuopin.domain import regions
from tuopin.domain.enums import RegionLevel
from tuopin.domain.regions import RegionCodeError

PROPERTY = settings(max_examples=200, deadline=None)

# 江苏省 苏州市 姑苏区 ... village: the standard's own example code and its ancestors.
VILLAGE = "320508019044"
TOWNSHIP = "320508019000"
COUNTY = "320508000000"
PREFECTURE = "320500000000"
PROVINCE = "320000000000"


@pytest.mark.parametrize(
    ("code", "level"),
    [
        (PROVINCE, RegionLevel.PROVINCE),
        (PREFECTURE, RegionLevel.PREFECTURE),
        (COUNTY, RegionLevel.COUNTY),
        (TOWNSHIP, RegionLevel.TOWNSHIP),
        (VILLAGE, RegionLevel.VILLAGE),
        ("620000000000", RegionLevel.PROVINCE),
        ("621100000000", RegionLevel.PREFECTURE),
        ("621121000000", RegionLevel.COUNTY),
        ("620110000000", RegionLevel.COUNTY),  # county segment ending in zero
        ("621121100000", RegionLevel.TOWNSHIP),  # township segment with trailing zeros
        ("621121001000", RegionLevel.TOWNSHIP),
        ("621121001001", RegionLevel.VILLAGE),
        ("621121001100", RegionLevel.VILLAGE),  # village segment with trailing zeros
        ("110101001001", RegionLevel.VILLAGE),  # municipality: 1101 is its 市辖区
        ("429004000000", RegionLevel.COUNTY),  # 仙桃市, province-direct
    ],
)
def test_level_of_reads_the_level_from_the_significant_digits(
    code: str, level: RegionLevel
) -> None:
    assert regions.level_of(code) is level


@pytest.mark.parametrize(
    ("level", "digits"),
    [(RegionLevel.PROVINCE, 2), (RegionLevel.PREFECTURE, 4), (RegionLevel.COUNTY, 6),
     (RegionLevel.TOWNSHIP, 9), (RegionLevel.VILLAGE, 12)],
)
def test_each_level_has_its_number_of_significant_digits(level: RegionLevel, digits: int) -> None:
    assert level.digits == digits


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        (VILLAGE, TOWNSHIP),
        (TOWNSHIP, COUNTY),
        (COUNTY, PREFECTURE),
        (PREFECTURE, PROVINCE),
        (PROVINCE, None),
        ("621121001001", "621121001000"),
        ("110105000000", "110100000000"),  # a municipality district: its 市辖区 by digits
        ("429004000000", "429000000000"),  # a province-direct county: 省直辖 by digits
    ],
)
def test_parent_of_is_the_next_level_up_by_digits(code: str, parent: str | None) -> None:
    assert regions.parent_of(code) == parent


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (VILLAGE, [PROVINCE, PREFECTURE, COUNTY, TOWNSHIP]),
        (TOWNSHIP, [PROVINCE, PREFECTURE, COUNTY]),
        (COUNTY, [PROVINCE, PREFECTURE]),
        (PREFECTURE, [PROVINCE]),
        (PROVINCE, []),
    ],
)
def test_ancestors_lists_every_level_above_province_first(code: str, expected: list[str]) -> None:
    assert regions.ancestors(code) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [(PROVINCE, "32"), (PREFECTURE, "3205"), (COUNTY, "320508"), (TOWNSHIP, "320508019"),
     (VILLAGE, "320508019044"), ("621121100000", "621121100"), ("620110000000", "620110")],
)
def test_prefix_is_the_significant_digits_of_the_level(code: str, expected: str) -> None:
    assert regions.prefix(code) == expected


@pytest.mark.parametrize(
    ("code", "scope", "inside"),
    [
        (VILLAGE, VILLAGE, True),
        (VILLAGE, TOWNSHIP, True),
        (VILLAGE, COUNTY, True),
        (VILLAGE, PREFECTURE, True),
        (VILLAGE, PROVINCE, True),
        (PROVINCE, VILLAGE, False),  # an ancestor is not within its descendant
        (COUNTY, TOWNSHIP, False),
        ("320508019045", TOWNSHIP, True),  # a sibling village
        ("320508019045", VILLAGE, False),
        ("320508020044", TOWNSHIP, False),  # another township of the same county
        ("320509019044", COUNTY, False),
        ("620000000000", PROVINCE, False),
        ("621121001001", "621100000000", True),
        ("621221001001", "621100000000", False),
    ],
)
def test_is_within_is_a_prefix_match_on_the_scope(code: str, scope: str, inside: bool) -> None:
    assert regions.is_within(code, scope) is inside


@pytest.mark.parametrize(
    ("code", "province"),
    [(VILLAGE, PROVINCE), (PROVINCE, PROVINCE), ("621121001001", "620000000000"),
     ("110105000000", "110000000000")],
)
def test_province_of_keeps_the_first_two_digits(code: str, province: str) -> None:
    assert regions.province_of(code) == province


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("62", "620000000000"),
        ("6211", "621100000000"),
        ("621121", "621121000000"),
        ("621121001", "621121001000"),
        ("621121001001", "621121001001"),
        (" 62 ", "620000000000"),
        ("620000000000", "620000000000"),
        # Other lengths and non-digits pass through unchanged, for level_of to refuse.
        ("6", "6"),
        ("62112", "62112"),
        ("6211210010", "6211210010"),
        ("62a", "62a"),
        ("", ""),
    ],
)
def test_normalize_pads_the_short_gb2260_lengths(raw: str, expected: str) -> None:
    assert regions.normalize(raw) == expected


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("", "region_format"),
        ("62", "region_format"),  # not padded: level_of wants 12 digits
        ("62000000000", "region_format"),  # 11 digits
        ("6200000000000", "region_format"),  # 13 digits
        ("62000000000a", "region_format"),
        ("62 000000000", "region_format"),
        ("-62000000000", "region_format"),
        ("000000000000", "region_zero_segment"),
        ("320000019044", "region_zero_segment"),  # no prefecture
        ("320500019044", "region_zero_segment"),  # no county
        ("320508000044", "region_zero_segment"),  # no township
        ("003205000000", "region_zero_segment"),  # no province
        ("000508019044", "region_zero_segment"),
        ("320008000000", "region_zero_segment"),  # 32 00 08: a county without a prefecture
    ],
)
def test_it_refuses_a_malformed_code_with_the_rule_code(code: str, reason: str) -> None:
    with pytest.raises(RegionCodeError) as caught:
        regions.level_of(code)
    assert caught.value.code == reason
    assert caught.value.detail == code


@pytest.mark.parametrize("function", [regions.prefix, regions.parent_of, regions.ancestors])
def test_the_hierarchy_functions_refuse_a_malformed_code(function: Callable[[str], object]) -> None:
    with pytest.raises(RegionCodeError):
        function("320000019044")


def test_a_region_code_error_is_a_value_error() -> None:
    assert issubclass(RegionCodeError, ValueError)


@pytest.mark.parametrize(
    "code",
    [
        "６２００００００００００",  # full-width digits: read as a village
        "６２0000000000",  # what normalize makes of a full-width "６２"
        "²²0000000000",  # superscripts: read as a province
    ],
)
def test_it_refuses_digits_that_are_not_ascii(code: str) -> None:
    with pytest.raises(RegionCodeError) as caught:
        regions.level_of(code)
    assert caught.value.code == "region_format"


@pytest.mark.parametrize(
    "code",
    [
        "441900003000",  # 东莞市 东城街道: 东莞 is a prefecture without counties
        "442000001000",  # 中山市 石岐街道
        "460400100000",  # 儋州市 那大镇
    ],
)
def test_it_accepts_towns_of_a_prefecture_without_counties(code: str) -> None:
    # The statistical codes put these towns straight under the prefecture, county digits 00.
    assert regions.level_of(code) is RegionLevel.TOWNSHIP


# -- properties -----------------------------------------------------------------------------------

_WIDTHS = (2, 2, 2, 3, 3)


@st.composite
def region_codes(draw: st.DrawFn) -> str:
    """A well-formed 12-digit code: every segment down to its level is non-zero."""
    level = draw(st.integers(1, 5))
    parts = [f"{draw(st.integers(1, 10 ** w - 1)):0{w}d}" for w in _WIDTHS[:level]]
    return "".join(parts).ljust(12, "0")


@PROPERTY
@given(code=region_codes())
def test_a_code_lies_within_its_parent_one_level_up(code: str) -> None:
    level = regions.level_of(code)
    parent = regions.parent_of(code)
    if level is RegionLevel.PROVINCE:
        assert parent is None
        return
    assert parent is not None
    assert regions.level_of(parent) == level - 1
    assert regions.is_within(code, parent)
    assert not regions.is_within(parent, code)
    assert regions.ancestors(code)[-1] == parent


@PROPERTY
@given(code=region_codes())
def test_a_code_lies_within_every_ancestor_and_its_province(code: str) -> None:
    level = regions.level_of(code)
    chain = regions.ancestors(code)
    assert [regions.level_of(a) for a in chain] == list(RegionLevel)[: level - 1]
    assert all(regions.is_within(code, a) for a in chain)
    assert regions.is_within(code, regions.province_of(code))
    assert regions.is_within(code, code)
    assert regions.normalize(regions.prefix(code)) == code


@PROPERTY
@given(raw=st.text(max_size=14))
def test_level_of_only_ever_raises_a_region_code_error(raw: str) -> None:
    try:
        regions.level_of(regions.normalize(raw))
    except RegionCodeError as exc:
        assert exc.code in {"region_format", "region_zero_segment"}
