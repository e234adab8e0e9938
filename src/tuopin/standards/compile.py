"""Compiling a standard's expressions to Ibis: one ``visit_<Node>`` per node, nothing guessed.

Expressions are compiled against named columns (``survey__housing_grade``, ``member__age``,
``income_per_capita``), so the compiler knows no table and the same compiled standard runs on
SQLite, PostgreSQL, DuckDB and Spark. Member aggregates compile in two steps: their inner
expressions against the member frame (see ``MemberAggregates``), and the aggregate itself to
the column that holds its per-household result.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir

from tuopin.domain.errors import UnsupportedRule
from tuopin.standards.expr import ast
from tuopin.standards.expr.visitor import Visitor


def float_literal(value: float) -> ir.FloatingValue:
    """A double on every engine: Ibis writes 0.1 bare, which PostgreSQL reads as NUMERIC."""
    return ibis.literal(repr(float(value))).cast("float64")


def column_name(scope: str, name: str) -> str:
    """The frame column holding ``scope.name``."""
    return f"{scope}__{name}"


class IbisCompiler(Visitor[Any]):
    """Compiles one expression against ``columns``; aggregates resolve through ``aggregates``."""

    def __init__(self, columns: Mapping[str, ir.Value],
                 aggregates: Mapping[ast.Aggregate, ir.Value] | None = None,
                 *, in_member: bool = False) -> None:
        self.columns = columns
        self.aggregates = aggregates or {}
        self.in_member = in_member

    def visit_Literal(self, node: ast.Literal) -> ir.Value:
        value = node.value
        if value is None:
            return ibis.null()
        if isinstance(value, Decimal):
            return float_literal(float(value))
        if isinstance(value, bool):
            return ibis.literal(value, type="boolean")
        if isinstance(value, int):
            return ibis.literal(value, type="int64")
        return ibis.literal(value, type="string")

    def visit_ListLiteral(self, node: ast.ListLiteral) -> list[Any]:
        return [float(i.value) if isinstance(i.value, Decimal) else i.value for i in node.items]

    def visit_Field(self, node: ast.Field) -> ir.Value:
        if node.scope == "member" and not self.in_member:
            raise UnsupportedRule(f"{node.pos}: member.{node.name} outside an aggregate")
        key = column_name(node.scope, node.name)
        if key not in self.columns:
            raise UnsupportedRule(f"{node.pos}: no column for {node.scope}.{node.name}")
        return self.columns[key]

    def visit_Derived(self, node: ast.Derived) -> ir.Value:
        if node.name not in self.columns:
            raise UnsupportedRule(f"{node.pos}: {node.name} is not available here")
        return self.columns[node.name]

    def visit_Not(self, node: ast.Not) -> ir.Value:
        return ~self.visit(node.operand)

    def visit_Neg(self, node: ast.Neg) -> ir.Value:
        return -self.visit(node.operand)

    def visit_BoolOp(self, node: ast.BoolOp) -> ir.Value:
        left, right = self.visit(node.left), self.visit(node.right)
        return (left & right) if node.op == "and" else (left | right)

    def visit_Compare(self, node: ast.Compare) -> ir.Value:
        left, right = self.visit(node.left), self.visit(node.right)
        ops = {"==": left.__eq__, "!=": left.__ne__, "<": left.__lt__, "<=": left.__le__,
               ">": left.__gt__, ">=": left.__ge__}
        return ops[node.op](right)

    def visit_In(self, node: ast.In) -> ir.Value:
        value, options = self.visit(node.value), self.visit(node.options)
        return value.notin(options) if node.negated else value.isin(options)

    def visit_IsNull(self, node: ast.IsNull) -> ir.Value:
        value = self.visit(node.value)
        return value.notnull() if node.negated else value.isnull()

    def visit_Arith(self, node: ast.Arith) -> ir.Value:
        left, right = self.visit(node.left), self.visit(node.right)
        if node.op == "/":
            return left.cast("float64") / right.cast("float64")
        return {"+": left.__add__, "-": left.__sub__, "*": left.__mul__}[node.op](right)

    def visit_IfElse(self, node: ast.IfElse) -> ir.Value:
        return ibis.ifelse(self.visit(node.cond), self.visit(node.then), self.visit(node.other))

    def visit_Call(self, node: ast.Call) -> ir.Value:
        args = [self.visit(a) for a in node.args]
        if node.name == "coalesce":
            return ibis.coalesce(*args)
        if node.name == "abs":
            return args[0].abs()
        if node.name == "round":
            digits = 0
            if len(node.args) > 1:
                literal = node.args[1]
                assert isinstance(literal, ast.Literal) and isinstance(literal.value, int)
                digits = literal.value  # check() allows only an integer literal 0-10
            return args[0].round(digits)
        raise UnsupportedRule(f"{node.pos}: unknown function {node.name}")

    def visit_Aggregate(self, node: ast.Aggregate) -> ir.Value:
        if self.in_member:
            raise UnsupportedRule(f"{node.pos}: an aggregate inside an aggregate")
        if node not in self.aggregates:
            raise UnsupportedRule(f"{node.pos}: aggregate {node.func}() was not prepared")
        return self.aggregates[node]


def member_reduction(node: ast.Aggregate, columns: Mapping[str, ir.Value], *,
                     listed: bool = True) -> dict[str, ir.Value]:
    """The per-household reductions for one aggregate over the member frame.

    Returns the value column and, for any/all/count when ``listed``, the list of the members
    it is about ("name:age;name:age", for explanations). NULL conditions count as false.
    """
    inner = IbisCompiler(columns, in_member=True)
    where = inner.visit(node.where).fill_null(False) if node.where is not None else None
    if node.func in ("any", "all", "count"):
        assert where is not None
        value = {"any": where.any, "all": where.all,
                 # PostgreSQL refuses CAST(boolean AS bigint): count through a CASE instead
                 "count": ibis.ifelse(where, 1, 0).sum}[node.func]()
        if not listed:
            return {"value": value}
        label = columns["member__name"] + ":" + columns["member__age"].cast("string")
        about = ~where if node.func == "all" else where
        return {"value": value, "members": label.group_concat(";", where=about)}
    assert node.value is not None
    value = inner.visit(node.value).cast("float64")
    reducer = {"sum": value.sum, "min": value.min, "max": value.max}[node.func]
    return {"value": reducer(where=where)}


EMPTY_GROUP: dict[str, Any] = {"any": False, "all": True, "count": 0, "sum": 0}
