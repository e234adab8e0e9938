"""Loading standard files: TOML in, a checked Standard out, or errors that point at the line.

A shipped standard is found by name (``cn-national``), a user's by path. Everything is
checked before anything runs: the structure, every expression (syntax and types against the
registry schema), weights that sum to 1, k in (0, 1], income lines inside the valid years.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from tuopin.domain.errors import ValidationFailed
from tuopin.standards.catalog import shipped
from tuopin.standards.expr.check import check, check_boolean
from tuopin.standards.expr.parser import parse
from tuopin.standards.expr.schema import INTEGER, NUMBER, REGISTRY_SCHEMA, Schema
from tuopin.standards.model import (
    Category,
    IncomeLine,
    Indicator,
    Missing,
    Poverty,
    Rule,
    Standard,
    Text,
)

__all__ = ["load", "loads", "shipped"]

WEIGHT_TOLERANCE = 1e-9
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def load(name_or_path: str | Path, *, schema: Schema = REGISTRY_SCHEMA) -> Standard:
    """A shipped standard by name, or a standard file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise ValidationFailed(f"standard file {path} does not exist")
        return loads(path.read_text(encoding="utf-8"), source=str(path), schema=schema)
    resource = resources.files("tuopin.standards") / "data" / f"{name_or_path}.toml"
    if not resource.is_file():
        raise ValidationFailed(f"no standard named {name_or_path!r}; shipped: "
                               f"{', '.join(shipped())}; or give a path to a .toml file")
    return loads(resource.read_text(encoding="utf-8"), source=f"{name_or_path}.toml",
                 schema=schema)


class _Reader:
    """Reads one file's tables, remembering the source for messages."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source

    def fail(self, message: str, line: int | None = None) -> ValidationFailed:
        where = f"{self.source}:{line}" if line else self.source
        return ValidationFailed(f"{where}: {message}")

    def need(self, table: dict[str, Any], key: str, kind: type, where: str) -> Any:
        if key not in table:
            raise self.fail(f"{where} needs `{key}`", self.line_of(key))
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind):
            raise self.fail(f"{where}.{key} must be a {kind.__name__}, not {value!r}",
                            self.line_of(key))
        return value

    def text_pair(self, table: dict[str, Any], key: str, where: str) -> Text:
        pair = self.need(table, key, dict, where)
        for lang in ("zh", "en"):
            if not isinstance(pair.get(lang), str) or not pair[lang].strip():
                raise self.fail(f"{where}.{key} needs a non-empty `{lang}` text",
                                self.line_of(key))
        return Text(zh=pair["zh"], en=pair["en"])

    def line_of(self, key: str, value: str | None = None, after: int = 0) -> int | None:
        """The line where ``key`` (holding ``value``) is set, searching from line ``after``."""
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number, line in enumerate(self.text.splitlines(), start=1):
            if number > after and pattern.match(line) and (value is None or value in line
                                                            or value.split("\n")[0] in line):
                return number
        return None

    def expression(self, text: str, key: str, after: int) -> tuple[Any, str]:
        """Parse an expression where it stands in the file, so errors point there."""
        line = self.line_of(key, text.strip().split("\n")[0], after) or after or 1
        raw = self.text.splitlines()[line - 1] if line else ""
        first = text.strip().split("\n")[0]
        column = raw.find(first) + 1 if first and first in raw else 1
        return parse(text.strip(), source=self.source, line=line, column=column), text.strip()


def loads(text: str, *, source: str = "<standard>", schema: Schema = REGISTRY_SCHEMA) -> Standard:
    """Parse and check a standard from TOML text."""
    reader = _Reader(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise reader.fail(f"not valid TOML: {exc}") from exc
    head = reader.need(data, "standard", dict, "the file")
    name = reader.need(head, "name", str, "[standard]")
    if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", name):
        raise reader.fail(f"[standard].name {name!r} must be lower-case letters, digits, - _ .",
                          reader.line_of("name"))
    years = reader.need(head, "years", list, "[standard]")
    if len(years) != 2 or not all(isinstance(y, int) for y in years) or years[0] > years[1]:
        raise reader.fail("[standard].years must be [first, last]", reader.line_of("years"))
    income_table = reader.need(data, "income", dict, "the file")
    income, income_text = reader.expression(
        reader.need(income_table, "per_capita", str, "[income]"), "per_capita", 0)
    if check(income, schema) not in (NUMBER, INTEGER):
        raise reader.fail("[income].per_capita must be a number", reader.line_of("per_capita"))
    lines = _income_lines(reader, data, (years[0], years[1]))
    indicators = _indicators(reader, data, schema)
    poverty = _poverty(reader, data, indicators)
    categories = _categories(reader, data, schema)
    return Standard(
        name=name, version=str(reader.need(head, "version", str, "[standard]")),
        title=reader.text_pair(head, "title", "[standard]"), years=(years[0], years[1]),
        sources=tuple(reader.need(head, "sources", list, "[standard]")),
        income=income, income_expression=income_text, income_lines=lines,
        indicators=indicators, poverty=poverty, categories=categories,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(), path=source, text=text,
    )


def _income_lines(reader: _Reader, data: dict[str, Any],
                  years: tuple[int, int]) -> tuple[IncomeLine, ...]:
    rows = reader.need(data, "income_line", list, "the file")
    lines = []
    for row in rows:
        year = reader.need(row, "year", int, "[[income_line]]")
        amount = reader.need(row, "amount", float, "[[income_line]]")
        source = reader.need(row, "source", str, "[[income_line]]")
        if not years[0] <= year <= years[1]:
            raise reader.fail(f"income line year {year} is outside the standard's years "
                              f"{years[0]}-{years[1]}", reader.line_of("year", str(year)))
        if not amount > 0:
            raise reader.fail(f"income line for {year} must be positive",
                              reader.line_of("amount"))
        lines.append(IncomeLine(year, amount, source))
    if len({line.year for line in lines}) != len(lines):
        raise reader.fail("two income lines for the same year")
    if not lines:
        raise reader.fail("at least one [[income_line]] is needed")
    return tuple(sorted(lines, key=lambda line: line.year))


def _indicators(reader: _Reader, data: dict[str, Any], schema: Schema) -> tuple[Indicator, ...]:
    rows = reader.need(data, "indicators", list, "the file")
    if not rows:
        raise reader.fail("a standard needs at least one [[indicators]]")
    found: list[Indicator] = []
    for row in rows:
        ident = reader.need(row, "id", str, "[[indicators]]")
        where = f"indicator {ident}"
        at = reader.line_of("id", f'"{ident}"') or 0
        if not ID_RE.match(ident):
            raise reader.fail(f"{where}: an id is lower-case letters, digits and _", at)
        if ident in {i.id for i in found}:
            raise reader.fail(f"{where}: the id is used twice", at)
        expr, text = reader.expression(reader.need(row, "deprived", str, where), "deprived", at)
        check_boolean(expr, schema)
        weight = reader.need(row, "weight", float, where)
        if not 0 <= weight <= 1:
            raise reader.fail(f"{where}: weight {weight} is outside [0, 1]",
                              reader.line_of("weight", after=at))
        missing = row.get("missing", Missing.NOT_DEPRIVED.value)
        if missing not in {m.value for m in Missing}:
            raise reader.fail(f"{where}: missing must be not_deprived or deprived", at)
        found.append(Indicator(
            id=ident, dimension=reader.need(row, "dimension", str, where),
            title=reader.text_pair(row, "title", where),
            explain=reader.text_pair(row, "explain", where), weight=weight,
            deprived=expr, expression=text, missing=Missing(missing),
        ))
    total = math.fsum(i.weight for i in found)
    if abs(total - 1) > WEIGHT_TOLERANCE:
        raise reader.fail(f"the indicator weights sum to {total:.12g}, not 1")
    return tuple(found)


def _poverty(reader: _Reader, data: dict[str, Any], indicators: tuple[Indicator, ...]) -> Poverty:
    table = reader.need(data, "poverty", dict, "the file")
    rule = reader.need(table, "rule", str, "[poverty]")
    if rule not in {r.value for r in Rule}:
        raise reader.fail(f"[poverty].rule must be one of {', '.join(r.value for r in Rule)}",
                          reader.line_of("rule"))
    k = table.get("k", min(i.weight for i in indicators if i.weight > 0))
    if isinstance(k, bool) or not isinstance(k, int | float) or not 0 < k <= 1:
        raise reader.fail(f"[poverty].k must be in (0, 1], not {k!r}", reader.line_of("k"))
    vulnerable = table.get("vulnerable")
    if vulnerable is not None and (len(vulnerable) != 2 or not 0 <= vulnerable[0] < vulnerable[1]
                                   <= 1):
        raise reader.fail("[poverty].vulnerable must be [low, high] within [0, 1]",
                          reader.line_of("vulnerable"))
    severe = table.get("severe")
    if severe is not None and not 0 < severe <= 1:
        raise reader.fail("[poverty].severe must be in (0, 1]", reader.line_of("severe"))
    return Poverty(rule=Rule(rule), k=float(k),
                   vulnerable=tuple(vulnerable) if vulnerable else None,  # type: ignore[arg-type]
                   severe=severe)


def _categories(reader: _Reader, data: dict[str, Any], schema: Schema) -> tuple[Category, ...]:
    found: list[Category] = []
    for row in data.get("categories", []):
        ident = reader.need(row, "id", str, "[[categories]]")
        at = reader.line_of("id", f'"{ident}"') or 0
        if not ID_RE.match(ident) or ident in {c.id for c in found}:
            raise reader.fail(f"category {ident}: a unique lower-case id is needed", at)
        expr, text = reader.expression(reader.need(row, "rule", str, f"category {ident}"),
                                       "rule", at)
        check_boolean(expr, schema)
        found.append(Category(ident, reader.text_pair(row, "title", f"category {ident}"),
                              expr, text))
    return tuple(found)
