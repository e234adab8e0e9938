"""Assessing households against a standard, as one Ibis query on any engine.

The query: surveyed households of the year (frame.build) with derived values (income per
capita, the income line, household size), one grouped pass over the living members for every
member aggregate the standard uses, then each indicator, the weighted score, the poverty rule
and the categories. Facts for explanations (which members, which values) come out alongside
when the plan asks for them, so that explaining a stored result later needs no second look at
the data; a roll-up (``rollup``) never computes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tuopin.analytics.frame import Frames, build
from tuopin.domain.enums import RegionLevel
from tuopin.domain.errors import UnsupportedRule
from tuopin.standards.compile import EMPTY_GROUP, IbisCompiler, float_literal, member_reduction
from tuopin.standards.expr import ast
from tuopin.standards.model import Missing, Rule, Standard

SCORE_TOLERANCE = 1e-9  # a score of exactly k (1/3 written as 0.3333…) is poor
PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")


@dataclass(frozen=True)
class Plan:
    """What one assessment computes: the standard, the year and the line that applies."""

    standard: Standard
    year: int
    income_line: float
    facts: bool = True  # the member lists and values behind each failed indicator


def _expressions(standard: Standard) -> list[ast.Expr]:
    return [i.deprived for i in standard.indicators] + [c.rule for c in standard.categories]


def _aggregates(standard: Standard) -> list[ast.Aggregate]:
    found: dict[ast.Aggregate, None] = {}
    for expr in _expressions(standard):
        for node in ast.aggregates(expr):
            found.setdefault(node, None)
    return list(found)


def placeholders(standard: Standard) -> dict[str, set[str]]:
    """Per indicator, the values its explanation templates name (besides {members})."""
    return {
        i.id: {p for text in (i.explain.zh, i.explain.en) for p in PLACEHOLDER.findall(text)
               if p != "members"}
        for i in standard.indicators
    }


def _member_only(node: ast.Aggregate) -> bool:
    """True when the aggregate reads member fields only (no household, survey or derived)."""
    return (not ast.derived_used(node)
            and all(scope == "member" for scope, _ in ast.fields_used(node)))


def _reductions(nodes: list[ast.Aggregate], columns: dict[str, Any], *,
                listed: bool) -> tuple[dict[str, Any], dict[ast.Aggregate, str]]:
    reductions: dict[str, Any] = {}
    names: dict[ast.Aggregate, str] = {}
    for index, node in enumerate(nodes):
        names[node] = f"agg{index}"
        for part, value in member_reduction(node, columns, listed=listed).items():
            reductions[f"agg{index}_{part}"] = value
    return reductions, names


def fields_read(plan: Plan) -> set[tuple[str, str]]:
    """The ``(scope, field)`` pairs the plan's expressions and explanations read."""
    standard = plan.standard
    found = {f for expr in (*_expressions(standard), standard.income)
             for f in ast.fields_used(expr)}
    if plan.facts:
        found.add(("member", "name"))  # the member lists: "name:age"
        for wanted in placeholders(standard).values():
            found |= {(scope, name) for scope, _, name in (p.partition(".") for p in wanted)
                      if name}
    return found


def _base(frames: Frames, plan: Plan,
          nodes: list[ast.Aggregate]) -> tuple[ir.Table, dict[ast.Aggregate, str]]:
    """Households with household_size (living members), the derived values and, when they
    read member fields only, the member aggregates: all from one grouped pass over members."""
    early = nodes if all(_member_only(n) for n in nodes) else []
    members = frames.members
    reductions, names = _reductions(early, {c: members[c] for c in members.columns},
                                    listed=plan.facts)
    grouped = members.group_by("hid").aggregate(household_size=ibis._.count(), **reductions)
    h = frames.households.left_join(grouped, "hid").select(
        frames.households, *[grouped[c] for c in reductions],
        household_size=ibis.coalesce(grouped.household_size, 0))
    h = h.mutate(income_line=float_literal(plan.income_line),
                 year=ibis.literal(plan.year, type="int64"))
    if ast.aggregates(plan.standard.income):
        raise UnsupportedRule("the income expression cannot use member aggregates")
    income = IbisCompiler({c: h[c] for c in h.columns}).visit(plan.standard.income)
    return h.mutate(income_per_capita=income.cast("float64")), names


def _with_aggregates(frames: Frames, plan: Plan) -> tuple[ir.Table, dict[ast.Aggregate, str]]:
    """Households with every aggregate: in the pass that counts members when they read
    member fields only, else in a second pass over members joined to their households."""
    nodes = _aggregates(plan.standard)
    base, names = _base(frames, plan, nodes)
    if nodes and not names:
        members = frames.members.join(base, "hid")
        reductions, names = _reductions(nodes, {c: members[c] for c in members.columns},
                                        listed=plan.facts)
        grouped = members.group_by("hid").aggregate(**reductions)
        base = base.left_join(grouped, "hid").select(base, *[grouped[c] for c in reductions])
    fills = {f"{names[n]}_value": ibis.coalesce(base[f"{names[n]}_value"],
                                                ibis.literal(EMPTY_GROUP[n.func]))
             for n in nodes if n.func in EMPTY_GROUP}
    return base.mutate(**fills), names


def assessment_query(frames: Frames, plan: Plan) -> ir.Table:
    """Per household: income per capita, each indicator, score, poor, categories, facts."""
    table, out, score, poor = _verdicts(frames, plan)
    facts = _fact_columns(table, plan.standard) if plan.facts else {}
    return table.select(
        "hid", number=table.household__number, village_code=table.household__village_code,
        status=table.household__status, members=table.household_size,
        income_per_capita=table.income_per_capita, score=score, poor=poor, **out, **facts,
    )


def _verdicts(frames: Frames, plan: Plan
              ) -> tuple[ir.Table, dict[str, ir.Value], ir.Value, ir.Value]:
    """The households' table, each indicator and category (with its member list when the
    plan keeps facts), the score and the poverty verdict."""
    standard = plan.standard
    table, names = _with_aggregates(frames, plan)
    values = {n: table[f"{c}_value"] for n, c in names.items()}
    compiler = IbisCompiler({c: table[c] for c in table.columns}, values)
    out: dict[str, Any] = {}
    for indicator in standard.indicators:
        default = indicator.missing is Missing.DEPRIVED
        out[f"d_{indicator.id}"] = ibis.coalesce(compiler.visit(indicator.deprived),
                                                 ibis.literal(default))
        first = next(iter(ast.aggregates(indicator.deprived)), None)
        if first is not None and f"{names[first]}_members" in table.columns:
            out[f"m_{indicator.id}"] = table[f"{names[first]}_members"]
    for category in standard.categories:
        out[f"c_{category.id}"] = ibis.coalesce(compiler.visit(category.rule),
                                                ibis.literal(False))
    score = sum((ibis.ifelse(out[f"d_{i.id}"], float_literal(i.weight), float_literal(0))
                 for i in standard.indicators), float_literal(0))
    flags = [out[f"d_{i.id}"] for i in standard.indicators]
    if standard.poverty.rule is Rule.ANY:
        poor = flags[0]
        for flag in flags[1:]:
            poor = poor | flag
    else:
        poor = score >= standard.poverty.k - SCORE_TOLERANCE
    return table, out, score, poor


def _fact_columns(table: ir.Table, standard: Standard) -> dict[str, ir.Value]:
    names = {p for wanted in placeholders(standard).values() for p in wanted}
    columns: dict[str, ir.Value] = {}
    for name in sorted(names):
        key = name.replace(".", "__")
        if key not in table.columns:
            raise UnsupportedRule(f"an explanation names {{{name}}}, which is not a value")
        columns[f"v_{key}"] = table[key]
    return columns


def to_arrow(registry: Any, expr: ir.Table) -> pa.Table:
    """``expr``'s rows as Arrow; on DuckDB through its own Arrow reader, as Ibis's
    ``to_pyarrow`` imports pandas (~0.6 s) for a type converter our columns never need."""
    if registry.engine != "duckdb":
        return expr.to_pyarrow()
    table = registry.backend.con.sql(registry.backend.compile(expr)).to_arrow_table()
    wanted = expr.schema().to_pyarrow()
    if table.schema.equals(wanted, check_metadata=False):
        return table
    return pa.table([column if column.type == field.type else column.cast(field.type)
                     for column, field in zip(table.columns, wanted, strict=True)],
                    schema=wanted)


def run_query(registry: Any, plan: Plan, *, scope_prefix: str = "") -> pa.Table:
    """Execute the assessment on ``registry``'s engine and return Arrow, sorted by household."""
    frames = build(registry, year=plan.year, scope_prefix=scope_prefix,
                   fields=fields_read(plan))
    # Sorting in Arrow, not in the query: an ORDER BY costs DuckDB ~0.3 s per million
    # households (measured), Arrow's sort a tenth of that.
    return to_arrow(registry, assessment_query(frames, plan)).sort_by("hid")


ROLLUP_COLUMNS = ("households", "people", "poor_households", "poor_people")


def rollup_query(frames: Frames, plan: Plan) -> ir.Table:
    """Households, people and the poor among them per region at every level (level, region
    code padded to 12 digits): villages summed in the pass that assesses them, without
    explanation facts, and each level above summed from the village rows."""
    table, _, _, poor = _verdicts(frames, replace(plan, facts=False))
    r = table.select(village_code=table.household__village_code,
                     members=table.household_size.cast("int64"), poor=poor)
    zero = ibis.literal(0, type="int64")
    members = r.members
    villages = r.group_by(region_code=r.village_code).aggregate(
        households=r.count(), people=members.sum(),
        poor_households=ibis.ifelse(r.poor, 1, zero).sum(),
        poor_people=ibis.ifelse(r.poor, members, zero).sum())
    levels = []
    for level in RegionLevel:
        pad = ibis.literal("0" * (12 - level.digits), type="string")
        code = villages.region_code.substr(0, level.digits) + pad
        levels.append(villages.group_by(region_code=code).aggregate(
            **{c: villages[c].sum().cast("int64") for c in ROLLUP_COLUMNS})
            .select(level=ibis.literal(int(level), type="int32"), region_code="region_code",
                    **{c: c for c in ROLLUP_COLUMNS}))
    return ibis.union(*levels)


def rollup(registry: Any, plan: Plan, *, scope_prefix: str = "") -> pa.Table:
    """The roll-up of ``plan`` on ``registry``'s engine, as Arrow (see ``rollup_query``)."""
    frames = build(registry, year=plan.year, scope_prefix=scope_prefix,
                   fields=fields_read(replace(plan, facts=False)))
    return to_arrow(registry, rollup_query(frames, plan))
