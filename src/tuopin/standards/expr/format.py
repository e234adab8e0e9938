"""to_text: print a tree in canonical form, with only the parentheses the grammar needs.

``parse(to_text(e)) == e`` for every tree (positions aside), including the two shapes the
parser tells apart: the literal ``-3`` and the negation ``-(3)``.
"""

from __future__ import annotations

from decimal import Decimal

from tuopin.standards.expr import ast as a
from tuopin.standards.expr.visitor import Visitor

# Binding strength of each level of grammar.lark, loosest first.
IF, OR, AND, NOT, COMPARE, IN, IS, SUM, PRODUCT, UNARY, ATOM = range(11)
_ARITH_LEVEL = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT}


def to_text(expr: a.Expr) -> str:
    """The canonical text of ``expr``."""
    return _Printer().visit(expr)[0]


def literal_text(value: a.Value) -> str:
    """How a literal value is written."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value, "f")  # never an exponent, which the grammar does not read
        return text if "." in text else f"{text}.0"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_number(value: a.Value) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


class _Printer(Visitor[tuple[str, int]]):
    """Returns each node's text and the level it binds at."""

    def _at(self, node: a.Expr, level: int) -> str:
        text, own = self.visit(node)
        return f"({text})" if own < level else text

    def visit_Literal(self, node: a.Literal) -> tuple[str, int]:
        negative = _is_number(node.value) and node.value < 0  # type: ignore[operator]
        # Unary minus binds tighter than * and /, so a negative literal is a unary.
        return literal_text(node.value), UNARY if negative else ATOM

    def visit_ListLiteral(self, node: a.ListLiteral) -> tuple[str, int]:
        return "[" + ", ".join(literal_text(i.value) for i in node.items) + "]", ATOM

    def visit_Field(self, node: a.Field) -> tuple[str, int]:
        return f"{node.scope}.{node.name}", ATOM

    def visit_Derived(self, node: a.Derived) -> tuple[str, int]:
        return node.name, ATOM

    def visit_Not(self, node: a.Not) -> tuple[str, int]:
        return f"not {self._at(node.operand, NOT)}", NOT

    def visit_Neg(self, node: a.Neg) -> tuple[str, int]:
        operand = node.operand
        if isinstance(operand, a.Literal) and _is_number(operand.value):
            # `-3` would read back as the literal -3, not as a negation.
            return f"-({self.visit(operand)[0]})", UNARY
        return f"-{self._at(operand, UNARY)}", UNARY

    def visit_BoolOp(self, node: a.BoolOp) -> tuple[str, int]:
        level = OR if node.op == "or" else AND
        # Left-associative: the right operand must bind tighter to keep its grouping.
        left, right = self._at(node.left, level), self._at(node.right, level + 1)
        return f"{left} {node.op} {right}", level

    def visit_Compare(self, node: a.Compare) -> tuple[str, int]:
        left, right = self._at(node.left, IN), self._at(node.right, IN)
        return f"{left} {node.op} {right}", COMPARE

    def visit_In(self, node: a.In) -> tuple[str, int]:
        keyword = "not in" if node.negated else "in"
        return f"{self._at(node.value, IS)} {keyword} {self.visit(node.options)[0]}", IN

    def visit_IsNull(self, node: a.IsNull) -> tuple[str, int]:
        keyword = "is not null" if node.negated else "is null"
        return f"{self._at(node.value, SUM)} {keyword}", IS

    def visit_Arith(self, node: a.Arith) -> tuple[str, int]:
        level = _ARITH_LEVEL[node.op]
        left, right = self._at(node.left, level), self._at(node.right, level + 1)
        return f"{left} {node.op} {right}", level

    def visit_IfElse(self, node: a.IfElse) -> tuple[str, int]:
        parts = (self._at(node.cond, IF), self._at(node.then, IF), self._at(node.other, IF))
        return "if {} then {} else {}".format(*parts), IF

    def visit_Call(self, node: a.Call) -> tuple[str, int]:
        return f"{node.name}({', '.join(self._at(arg, IF) for arg in node.args)})", ATOM

    def visit_Aggregate(self, node: a.Aggregate) -> tuple[str, int]:
        args = [n for n in (node.value, node.where) if n is not None]
        inner = ", ".join(["member", *(self._at(arg, IF) for arg in args)])
        return f"{node.func}({inner})", ATOM
