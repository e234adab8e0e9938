"""The expression tree: immutable nodes, each with the position it was parsed from.

Equality is structural: ``pos`` is left out of ``==`` and ``hash``, so a tree parsed from
``to_text(tree)`` equals ``tree``. Literals also compare the Python type of their value, so
``true`` never equals ``1``.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a parsed text came from: its file, its text, and where in the file it starts."""

    source: str
    text: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True, slots=True)
class Pos:
    """A span in the source file: 1-based line and column; ``end_column`` is one past the end.

    ``end_line`` is set only when the span ends on a later line; ``origin`` (when the node was
    parsed) lets error messages quote the text.
    """

    line: int
    column: int
    end_column: int
    end_line: int | None = None
    origin: Origin | None = field(default=None, repr=False, compare=False)

    @property
    def last_line(self) -> int:
        """The line the span ends on."""
        return self.line if self.end_line is None else self.end_line

    def __str__(self) -> str:
        source = self.origin.source if self.origin else "<expr>"
        return f"{source}:{self.line}:{self.column}"


NOWHERE = Pos(1, 1, 1)

Value: t.TypeAlias = bool | int | Decimal | str | None
CompareOp = t.Literal["==", "!=", "<", "<=", ">", ">="]
ArithOp = t.Literal["+", "-", "*", "/"]
BoolOpName = t.Literal["and", "or"]
AggregateFunc = t.Literal["any", "all", "count", "sum", "min", "max"]
FunctionName = t.Literal["coalesce", "abs", "round"]

COMPARE_OPS: tuple[CompareOp, ...] = ("==", "!=", "<", "<=", ">", ">=")
ARITH_OPS: tuple[ArithOp, ...] = ("+", "-", "*", "/")
AGGREGATES: tuple[AggregateFunc, ...] = ("any", "all", "count", "sum", "min", "max")
FUNCTIONS: tuple[FunctionName, ...] = ("coalesce", "abs", "round")


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every node; subclasses add their children before ``pos``."""


def _pos() -> t.Any:
    return field(default=NOWHERE, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True, eq=False)
class Literal(Node):
    """``true``, ``false``, ``null``, an integer, a decimal (``Decimal``) or a string."""

    value: Value
    pos: Pos = _pos()

    def __eq__(self, other: object) -> bool:
        # bool is an int and Decimal(1) == 1: compare the kind of value as well.
        return (isinstance(other, Literal) and type(self.value) is type(other.value)
                and self.value == other.value)

    def __hash__(self) -> int:
        return hash((Literal, type(self.value), self.value))


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    """``[a, b, c]``: literals only, and only as the right side of ``in``."""

    items: tuple[Literal, ...]
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class Field(Node):
    """``scope.name``, such as ``member.age``."""

    scope: str
    name: str
    pos: Pos = _pos()

    def __str__(self) -> str:
        return f"{self.scope}.{self.name}"


@dataclass(frozen=True, slots=True)
class Derived(Node):
    """A bare name the assessment computes, such as ``income_line``."""

    name: str
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Expr
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class Neg(Node):
    operand: Expr
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    op: BoolOpName
    left: Expr
    right: Expr
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class Compare(Node):
    op: CompareOp
    left: Expr
    right: Expr
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class In(Node):
    """``value in [..]``, or ``value not in [..]`` when ``negated``."""

    value: Expr
    options: ListLiteral
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class IsNull(Node):
    """``value is null``, or ``value is not null`` when ``negated``."""

    value: Expr
    negated: bool = False
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class Arith(Node):
    op: ArithOp
    left: Expr
    right: Expr
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class IfElse(Node):
    cond: Expr
    then: Expr
    other: Expr
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``coalesce(..)``, ``abs(x)`` or ``round(x, n)``."""

    name: FunctionName
    args: tuple[Expr, ...]
    pos: Pos = _pos()


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    """``func(member, ..)``: any/all/count have only ``where``; sum/min/max have ``value``."""

    func: AggregateFunc
    value: Expr | None
    where: Expr | None
    pos: Pos = _pos()


Expr: t.TypeAlias = (Literal | ListLiteral | Field | Derived | Not | Neg | BoolOp | Compare | In
                     | IsNull | Arith | IfElse | Call | Aggregate)
NODE_TYPES: tuple[type[Node], ...] = (Literal, ListLiteral, Field, Derived, Not, Neg, BoolOp,
                                      Compare, In, IsNull, Arith, IfElse, Call, Aggregate)


def children(node: Node) -> Iterator[Expr]:
    """The direct child nodes of ``node``, in source order."""
    for f in fields(node):
        if f.name == "pos":
            continue
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield t.cast(Expr, value)
        elif isinstance(value, tuple):
            yield from (t.cast(Expr, v) for v in value if isinstance(v, Node))


def walk(expr: Node) -> Iterator[Expr]:
    """Every node of the tree, parents before children (an explicit stack: no recursion)."""
    stack: list[Node] = [expr]
    while stack:
        node = stack.pop()
        yield t.cast(Expr, node)
        stack.extend(reversed(list(children(node))))


def fields_used(expr: Node) -> set[tuple[str, str]]:
    """The ``(scope, name)`` of every field the expression reads."""
    return {(n.scope, n.name) for n in walk(expr) if isinstance(n, Field)}


def derived_used(expr: Node) -> set[str]:
    """The bare derived names the expression reads."""
    return {n.name for n in walk(expr) if isinstance(n, Derived)}


def aggregates(expr: Node) -> list[Aggregate]:
    """The member aggregates in the expression, outermost first."""
    return [n for n in walk(expr) if isinstance(n, Aggregate)]
