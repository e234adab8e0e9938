"""统计用区划代码: 12-digit statistical division codes and their hierarchy.

Digits 1-2 province, 3-4 prefecture, 5-6 county, 7-9 township, 10-12 village. A code's level
is given by how many leading digits are significant; the rest are zeros. Scoping a user to a
region is a prefix match on the significant digits.
"""

from __future__ import annotations

from tuopin.domain import gb2260
from tuopin.domain.enums import RegionLevel

CODE_LENGTH = 12
_SPLITS = (2, 4, 6, 9, 12)


class RegionCodeError(ValueError):
    """A region code is malformed; ``code`` names the rule for the report."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code if not detail else f"{code}: {detail}")
        self.code = code
        self.detail = detail


def normalize(raw: str) -> str:
    """Pad a 2/4/6/9-digit code to 12 digits, as GB/T 2260 codes are often written short."""
    value = raw.strip()
    if value.isascii() and value.isdigit() and len(value) in _SPLITS[:-1]:
        value = value.ljust(CODE_LENGTH, "0")
    return value


def level_of(code: str) -> RegionLevel:
    """The level of a 12-digit code, from its significant digits."""
    if len(code) != CODE_LENGTH or not (code.isascii() and code.isdigit()):
        raise RegionCodeError("region_format", code)
    significant = code.rstrip("0")
    level = next(
        lv for lv, end in zip(RegionLevel, _SPLITS, strict=True) if end >= len(significant)
    )
    if level is RegionLevel.PROVINCE and not significant:
        raise RegionCodeError("region_zero_segment", code)
    starts = (0, *_SPLITS[:-1])
    for index, (start, end) in enumerate(zip(starts[:level], _SPLITS[:level], strict=True)):
        # Prefecture-level cities without counties (东莞 4419, 中山 4420, 儋州 4604,
        # 嘉峪关 6202) number their towns directly: 441900003000 has county digits 00.
        county_skipped = (index == RegionLevel.COUNTY - 1 and level > RegionLevel.COUNTY
                          and code[:4] in gb2260.prefectures_without_counties())
        if set(code[start:end]) == {"0"} and not county_skipped:
            raise RegionCodeError("region_zero_segment", code)
    return level


def prefix(code: str) -> str:
    """The significant digits of a code: what its descendants start with."""
    return code[: level_of(code).digits]


def parent_of(code: str) -> str | None:
    """The parent's 12-digit code (None for a province).

    Municipalities and province-administered counties have no prefecture of their own in
    GB/T 2260's sense, but their 4-digit prefix still names a 市辖区 / 省直辖 unit, so the
    parent is always the next level up by digits.
    """
    level = level_of(code)
    if level is RegionLevel.PROVINCE:
        return None
    return code[: _SPLITS[level - 2]].ljust(CODE_LENGTH, "0")


def ancestors(code: str) -> list[str]:
    """Codes of every ancestor, province first."""
    level = level_of(code)
    return [code[:end].ljust(CODE_LENGTH, "0") for end in _SPLITS[: level - 1]]


def is_within(code: str, scope: str) -> bool:
    """True when ``code`` is ``scope`` or lies under it."""
    return code.startswith(prefix(scope))


def province_of(code: str) -> str:
    """The province's 12-digit code."""
    return code[:2].ljust(CODE_LENGTH, "0")
