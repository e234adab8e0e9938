"""Explaining a result: an indicator's template filled with the facts the assessment kept.

Facts per deprived indicator are ``{"members": [[name, age], ...], "values": {name: value}}``;
the templates name them as ``{members}`` and ``{income_per_capita}``, ``{survey.housing_grade}``.
"""

from __future__ import annotations

import re
from typing import Any

from tuopin.standards.model import Indicator, Standard

PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")


def members_text(members: list[list[Any]], lang: str) -> str:
    """'张三（12岁）、李四（9岁）' or '张三 (aged 12), 李四 (aged 9)'."""
    if lang.startswith("en"):
        return ", ".join(f"{name} (aged {age})" for name, age in members)
    return "、".join(f"{name}（{age}岁）" for name, age in members)


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    return "" if value is None else str(value)


def explain(indicator: Indicator, facts: dict[str, Any] | None, lang: str = "zh") -> str:
    """Why a household is deprived in ``indicator``, in ``lang`` (zh or en)."""
    facts = facts or {}
    values = facts.get("values", {})
    template = indicator.explain.get(lang)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "members":
            return members_text(facts.get("members", []), lang)
        return _value_text(values.get(name))

    return PLACEHOLDER.sub(fill, template)


def explain_all(standard: Standard, deprived: list[str], facts: dict[str, Any],
                lang: str = "zh") -> list[dict[str, str]]:
    """Every deprived indicator of a household with its title and explanation."""
    return [
        {"indicator": i, "title": standard.indicator(i).title.get(lang),
         "explanation": explain(standard.indicator(i), facts.get(i), lang)}
        for i in deprived
    ]


def parse_members(text: str | None) -> list[list[Any]]:
    """'张三:12;李四:9' (as the engine concatenates them) -> [['张三', 12], ['李四', 9]]."""
    if not text:
        return []
    found = []
    for item in text.split(";"):
        name, _, age = item.rpartition(":")
        found.append([name, int(age) if age.isdigit() else age])
    return sorted(found, key=lambda m: (str(m[0]), str(m[1])))
