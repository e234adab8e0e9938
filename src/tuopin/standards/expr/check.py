"""The type checker: every field exists, every operator gets the types it needs.

Errors name the offending node's position and quote it with a caret. Member fields are
readable only inside a member aggregate, aggregates do not nest, enum values are checked
against the enum, and ``null`` is tested with ``is null`` only.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal as Lit

from tuopin.standards.expr import ast as a
from tuopin.standards.expr.errors import ExpressionError
from tuopin.standards.expr.format import literal_text, to_text
from tuopin.standards.expr.schema import BOOLEAN, INTEGER, NUMBER, STRING, Kind, Schema, Type
from tuopin.standards.expr.visitor import Visitor

MEMBER = "member"
ROUND_DIGITS = range(0, 11)  # negative digits do not round the same way on every engine
Context = Lit["household", "member"]


def check(expr: a.Expr, schema: Schema, *, context: Context = "household") -> Type:
    """The type of ``expr`` in the given context; raises ExpressionError if it has none."""
    if context not in ("household", "member"):
        raise ValueError(f"context must be 'household' or 'member', not {context!r}")
    return _Checker(schema, context).visit(expr)


def check_boolean(expr: a.Expr, schema: Schema) -> None:
    """Accept ``expr`` as an indicator: a boolean in household context."""
    found = check(expr, schema)
    if found != BOOLEAN:
        raise ExpressionError.at(expr.pos, "an indicator must be true or false, but this "
                                 f"expression is {describe(found)}")


def describe(found: Type) -> str:
    """A type with its article, for messages: ``an integer``, ``an enum (a, b)``."""
    text = str(found)
    return f"an {text}" if text[0] in "aeiou" else f"a {text}"


def _suggest(name: str, candidates: Sequence[str]) -> str:
    same = [c for c in candidates if c.lower() == name.lower()]  # difflib minds the case
    close = same or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _literal_type(value: a.Value) -> Type | None:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, Decimal):
        return NUMBER
    return STRING if isinstance(value, str) else None


def _string_literals(node: a.Expr) -> list[a.Literal] | None:
    """The string literals an expression can yield, or None if it can yield other strings."""
    if isinstance(node, a.Literal) and isinstance(node.value, str):
        return [node]
    if isinstance(node, a.IfElse):
        parts = [node.then, node.other]
    elif isinstance(node, a.Call) and node.name == "coalesce":
        parts = list(node.args)
    else:
        return None
    found: list[a.Literal] = []
    for part in parts:
        literals = _string_literals(part)
        if literals is None:
            return None
        found += literals
    return found


def _join(left: Type, right: Type) -> Type | None:
    """The type two branches of ``if`` or ``coalesce`` share, if any."""
    if left == right:
        return left
    if left.numeric and right.numeric:
        return NUMBER
    return None


class _Checker(Visitor[Type]):
    """Returns each node's type; tracks whether it is inside a member aggregate."""

    def __init__(self, schema: Schema, context: Context) -> None:
        self.schema = schema
        self.context: Context = context
        self.aggregate: a.Aggregate | None = None  # the aggregate we are inside, if any

    def _expect(self, node: a.Expr, role: str, *, numeric: bool = False) -> Type:
        found = self.visit(node)
        ok = found.numeric if numeric else found == BOOLEAN
        if not ok:
            wanted = "a number" if numeric else "true or false"
            raise ExpressionError.at(node.pos, f"{role} needs {wanted}, but {to_text(node)} "
                                     f"is {describe(found)}")
        return found

    def _enum_value(self, literal: a.Literal, enum: Type, label: str) -> None:
        if literal.value not in enum.values:
            values = sorted(enum.values)
            hint = _suggest(str(literal.value), values)
            raise ExpressionError.at(literal.pos, f"{literal_text(literal.value)} is not a value "
                                     f"of {label}{hint}; the values are {', '.join(values)}")

    def _as_enum(self, node: a.Expr, found: Type, enum: Type, label: str) -> bool:
        """Whether ``node`` is a string made of literals, each a value of ``enum``."""
        literals = _string_literals(node) if found == STRING else None
        if enum.kind is not Kind.ENUM or literals is None:
            return False
        for literal in literals:
            self._enum_value(literal, enum, label)
        return True

    def visit_Literal(self, node: a.Literal) -> Type:
        found = _literal_type(node.value)
        if found is None:
            raise ExpressionError.at(node.pos, "`null` is not a value: test for it with "
                                     "`x is null` or `x is not null`")
        return found

    def visit_ListLiteral(self, node: a.ListLiteral) -> Type:
        raise ExpressionError.at(node.pos, "a list can only follow `in`")

    def visit_Field(self, node: a.Field) -> Type:
        found = self.schema.field_type(node.scope, node.name)
        if found is None:
            what = "field" if node.scope in self.schema.scopes else "scope"
            scopes = ", ".join(self.schema.scopes) or "none"
            hint = _suggest(str(node), self.schema.names())
            rest = f"; the scopes are {scopes}" if what == "scope" else ""
            raise ExpressionError.at(node.pos, f"unknown {what} {node}{hint}{rest}")
        if node.scope == MEMBER and self.context != MEMBER:
            raise ExpressionError.at(node.pos, f"{node} is a member field: read it inside a "
                                     f"member aggregate, as in any(member, {node} ...)")
        return found

    def visit_Derived(self, node: a.Derived) -> Type:
        found = self.schema.derived.get(node.name)
        if found is not None:
            return found
        if node.name == MEMBER:
            raise ExpressionError.at(node.pos, "`member` alone is not a value: it is the first "
                                     "argument of an aggregate, as in any(member, ...)")
        hint = _suggest(node.name, self.schema.names())
        raise ExpressionError.at(node.pos, f"unknown name {node.name}{hint}")

    def visit_Not(self, node: a.Not) -> Type:
        self._expect(node.operand, "`not`")
        return BOOLEAN

    def visit_BoolOp(self, node: a.BoolOp) -> Type:
        self._expect(node.left, f"`{node.op}`")
        self._expect(node.right, f"`{node.op}`")
        return BOOLEAN

    def visit_Neg(self, node: a.Neg) -> Type:
        return self._expect(node.operand, "`-`", numeric=True)

    def visit_Arith(self, node: a.Arith) -> Type:
        left = self._expect(node.left, f"`{node.op}`", numeric=True)
        right = self._expect(node.right, f"`{node.op}`", numeric=True)
        if node.op == "/" or NUMBER in (left, right):
            return NUMBER  # `/` is true division, also for two integers
        return INTEGER

    def visit_Compare(self, node: a.Compare) -> Type:
        for side, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(side, a.Literal) and side.value is None:
                raise ExpressionError.at(node.pos, _null_hint(node.op, other))
        left, right = self.visit(node.left), self.visit(node.right)
        if node.op in ("==", "!="):
            self._equatable(node, left, right)
        elif not ((left.numeric and right.numeric) or left.kind is right.kind is Kind.DATE):
            raise ExpressionError.at(node.pos, f"`{node.op}` orders numbers or dates, not "
                                     f"{describe(left)} and {describe(right)}; for enum "
                                     "values use `in [...]`")
        return BOOLEAN

    def _equatable(self, node: a.Compare, left: Type, right: Type) -> None:
        pairs = ((node.right, right, node.left, left), (node.left, left, node.right, right))
        for side, side_type, enum_side, enum in pairs:
            # An enum compares with its values, written as string literals.
            if self._as_enum(side, side_type, enum, to_text(enum_side)):
                return
        if _join(left, right) is None:
            raise ExpressionError.at(node.pos, f"cannot compare {describe(left)} with "
                                     f"{describe(right)}")

    def visit_In(self, node: a.In) -> Type:
        found = self.visit(node.value)
        label = to_text(node.value)
        if found.kind is Kind.DATE:
            raise ExpressionError.at(node.pos, "dates have no literals: `in` cannot test them")
        for item in node.options.items:
            if item.value is None:
                raise ExpressionError.at(item.pos, "`null` cannot be in a list: test for it "
                                         f"with `{label} is null`")
            if found.kind is Kind.ENUM and isinstance(item.value, str):
                self._enum_value(item, found, label)
            elif _join(found, self.visit(item)) is None:
                raise ExpressionError.at(item.pos, f"{literal_text(item.value)} is "
                                         f"{describe(self.visit(item))}, but {label} is "
                                         f"{describe(found)}")
        return BOOLEAN

    def visit_IsNull(self, node: a.IsNull) -> Type:
        self.visit(node.value)
        return BOOLEAN

    def visit_IfElse(self, node: a.IfElse) -> Type:
        self._expect(node.cond, "the condition of `if`")
        return self._unify([node.then, node.other], "the branches of `if`")

    def visit_Call(self, node: a.Call) -> Type:
        _check_shape(node)
        if node.name == "coalesce":
            return self._unify(list(node.args), "the arguments of coalesce()")
        found = self._expect(node.args[0], f"{node.name}()", numeric=True)
        if node.name == "abs":
            return found
        digits = node.args[1]
        if not (isinstance(digits, a.Literal) and type(digits.value) is int
                and digits.value in ROUND_DIGITS):
            raise ExpressionError.at(digits.pos, "round(x, n) takes n as a whole number from "
                                     f"{ROUND_DIGITS.start} to {ROUND_DIGITS.stop - 1}")
        return NUMBER

    def _unify(self, nodes: list[a.Expr], role: str) -> Type:
        types = [self.visit(n) for n in nodes]
        enum_at = next((i for i, t in enumerate(types) if t.kind is Kind.ENUM), None)
        first = 0 if enum_at is None else enum_at
        result = types[first]
        for node, found in zip(nodes, types, strict=True):
            if enum_at is not None and self._as_enum(node, found, types[enum_at],
                                                     to_text(nodes[enum_at])):
                continue
            joined = _join(result, found)
            if joined is None:
                raise ExpressionError.at(node.pos, f"{role} must have one type, but "
                                         f"{to_text(node)} is {describe(found)} and "
                                         f"{to_text(nodes[first])} is {describe(types[first])}")
            result = joined
        return result

    def visit_Aggregate(self, node: a.Aggregate) -> Type:
        if self.aggregate is not None:
            raise ExpressionError.at(node.pos, f"aggregates do not nest: {node.func}(..) is "
                                     f"inside {self.aggregate.func}(..)")
        if self.context == MEMBER:
            raise ExpressionError.at(node.pos, f"{node.func}(..) aggregates a household's "
                                     "members, so it cannot be used in a member expression")
        if MEMBER not in self.schema.scopes:
            raise ExpressionError.at(node.pos, "this schema has no members to aggregate")
        _check_shape(node)
        saved: tuple[a.Aggregate | None, Context] = (self.aggregate, self.context)
        self.aggregate, self.context = node, "member"
        try:
            if node.value is not None:
                self._expect(node.value, f"the value of {node.func}()", numeric=True)
            if node.where is not None:
                self._expect(node.where, f"the condition of {node.func}()")
        finally:
            self.aggregate, self.context = saved
        return {"any": BOOLEAN, "all": BOOLEAN, "count": INTEGER}.get(node.func, NUMBER)


def _null_hint(op: str, other: a.Expr) -> str:
    text = to_text(other)
    if op == "==":
        return f"`== null` is never true: write `{text} is null`"
    if op == "!=":
        return f"`!= null` is never true: write `{text} is not null`"
    return f"`{op}` cannot order null: test it with `{text} is null`"


def _check_shape(node: a.Call | a.Aggregate) -> None:
    """Refuse calls the parser would not build (trees can also be built by hand)."""
    if isinstance(node, a.Call):
        arity = {"coalesce": range(2, 1 << 16), "abs": range(1, 2), "round": range(2, 3)}
        ok = node.name in arity and len(node.args) in arity[node.name]
    else:
        counting = node.func in ("any", "all", "count")
        ok = node.func in a.AGGREGATES and (node.where is not None if counting
                                            else node.value is not None)
        ok = ok and not (counting and node.value is not None)
    if not ok:
        raise ExpressionError.at(node.pos, f"malformed call: {to_text(node)}")
