"""Build the expression tree from Lark's parse tree, with positions in the source file."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, v_args
from lark.tree import Meta

from tuopin.standards.expr import ast as a
from tuopin.standards.expr.errors import ExpressionError

_ESCAPE = re.compile(r"\\(.)")
_AGGREGATE_SHAPES = {
    "any": "any(member, condition)", "all": "all(member, condition)",
    "count": "count(member, condition)", "sum": "sum(member, value [, condition])",
    "min": "min(member, value [, condition])", "max": "max(member, value [, condition])",
}
_FUNCTION_ARITY = {"coalesce": (2, None), "abs": (1, 1), "round": (2, 2)}
_FUNCTION_SHAPES = {"coalesce": "coalesce(a, b, ...)", "abs": "abs(x)", "round": "round(x, n)"}


class Locator:
    """Turns positions in the parsed text into positions in the source file."""

    def __init__(self, origin: a.Origin) -> None:
        self.origin = origin

    def pos(self, line: int, column: int, end_line: int, end_column: int) -> a.Pos:
        """A file position from Lark's 1-based line and columns of the parsed text."""
        first, last = self._at(line, column), self._at(end_line, end_column)
        return a.Pos(first[0], first[1], last[1], last[0] if last[0] != first[0] else None,
                     self.origin)

    def token(self, token: Token) -> a.Pos:
        """The file position of one token."""
        return self.pos(_int(token.line), _int(token.column), _int(token.end_line),
                        _int(token.end_column))

    def end(self) -> a.Pos:
        """The position just past the last character (where an unexpected end is reported)."""
        lines = self.origin.text.split("\n")
        line, column = len(lines), len(lines[-1].rstrip("\r")) + 1
        return self.pos(line, column, line, column + 1)

    def _at(self, line: int, column: int) -> tuple[int, int]:
        # Only the first line of the text is indented by where it starts in the file.
        shift = self.origin.column - 1 if line == 1 else 0
        return self.origin.line + line - 1, column + shift


def _int(value: int | None) -> int:
    return 1 if value is None else value


@v_args(meta=True)
class TreeBuilder(Transformer[Token, a.Expr]):
    """One callback per grammar alias (grammar.lark); each returns an ``ast`` node."""

    def __init__(self, locator: Locator) -> None:
        super().__init__()
        self.at = locator

    def _pos(self, meta: Meta) -> a.Pos:
        return self.at.pos(meta.line, meta.column, meta.end_line, meta.end_column)

    def if_else(self, meta: Meta, kids: list[Any]) -> a.IfElse:
        return a.IfElse(kids[1], kids[3], kids[5], pos=self._pos(meta))

    def bool_op(self, meta: Meta, kids: list[Any]) -> a.BoolOp:
        return a.BoolOp(kids[1].value, kids[0], kids[2], pos=self._pos(meta))

    def not_(self, meta: Meta, kids: list[Any]) -> a.Not:
        return a.Not(kids[1], pos=self._pos(meta))

    def compare(self, meta: Meta, kids: list[Any]) -> a.Compare:
        return a.Compare(kids[1].value, kids[0], kids[2], pos=self._pos(meta))

    def in_(self, meta: Meta, kids: list[Any]) -> a.In:
        return a.In(kids[0], kids[-1], negated=len(kids) == 4, pos=self._pos(meta))

    def is_null(self, meta: Meta, kids: list[Any]) -> a.IsNull:
        return a.IsNull(kids[0], negated=len(kids) == 4, pos=self._pos(meta))

    def arith(self, meta: Meta, kids: list[Any]) -> a.Arith:
        return a.Arith(kids[1].value, kids[0], kids[2], pos=self._pos(meta))

    def neg(self, meta: Meta, kids: list[Any]) -> a.Expr:
        pos, operand = self._pos(meta), kids[1]
        # `-3` is the literal -3, but `-(3)` stays a negation, so that to_text can print
        # either tree and parse it back unchanged.
        if (isinstance(operand, a.Literal) and _is_number(operand.value)
                and operand.value >= 0  # type: ignore[operator]
                and (operand.pos.last_line, operand.pos.end_column)
                == (pos.last_line, pos.end_column)):
            return a.Literal(-operand.value, pos=pos)  # type: ignore[operator]
        return a.Neg(operand, pos=pos)

    def paren(self, meta: Meta, kids: list[Any]) -> a.Expr:
        return kids[1]  # type: ignore[no-any-return]

    def number(self, meta: Meta, kids: list[Any]) -> a.Literal:
        text = str(kids[0])
        value: int | Decimal = Decimal(text) if "." in text else int(text)
        return a.Literal(value, pos=self._pos(meta))

    def string(self, meta: Meta, kids: list[Any]) -> a.Literal:
        return a.Literal(_ESCAPE.sub(r"\1", str(kids[0])[1:-1]), pos=self._pos(meta))

    def constant(self, meta: Meta, kids: list[Any]) -> a.Literal:
        value = {"true": True, "false": False, "null": None}[str(kids[0])]
        return a.Literal(value, pos=self._pos(meta))

    def field(self, meta: Meta, kids: list[Any]) -> a.Field:
        return a.Field(str(kids[0]), str(kids[2]), pos=self._pos(meta))

    def derived(self, meta: Meta, kids: list[Any]) -> a.Derived:
        return a.Derived(str(kids[0]), pos=self._pos(meta))

    def options(self, meta: Meta, kids: list[Any]) -> a.ListLiteral:
        items = [k for k in kids if not isinstance(k, Token)]
        for item in items:
            if not isinstance(item, a.Literal):
                raise ExpressionError.at(item.pos, "a list after `in` holds only literals "
                                         "(numbers, strings, true or false)")
        return a.ListLiteral(tuple(items), pos=self._pos(meta))

    def call(self, meta: Meta, kids: list[Any]) -> a.Call | a.Aggregate:
        name, pos = kids[0], self._pos(meta)
        args = [k for k in kids[2:-1] if k is not None and not isinstance(k, Token)]
        if name in _AGGREGATE_SHAPES:
            return _aggregate(str(name), args, pos, self.at.token(name))
        if name in _FUNCTION_ARITY:
            low, high = _FUNCTION_ARITY[name]
            if len(args) < low or (high is not None and len(args) > high):
                raise ExpressionError.at(pos, f"{name}() is called as {_FUNCTION_SHAPES[name]}")
            return a.Call(str(name), tuple(args), pos=pos)  # type: ignore[arg-type]
        raise ExpressionError.at(self.at.token(name), _unknown_function(str(name)))


def _is_number(value: a.Value) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _aggregate(func: str, args: list[a.Expr], pos: a.Pos, name_pos: a.Pos) -> a.Aggregate:
    shape = _AGGREGATE_SHAPES[func]
    if not args or args[0] != a.Derived("member"):
        raise ExpressionError.at(args[0].pos if args else name_pos,
                                 f"the first argument of {func}() must be `member`, "
                                 f"as in {shape}")
    counting = func in ("any", "all", "count")
    if len(args) != 2 and (counting or len(args) != 3):
        raise ExpressionError.at(pos, f"{func}() is called as {shape}")
    if counting:
        return a.Aggregate(func, None, args[1], pos=pos)  # type: ignore[arg-type]
    where = args[2] if len(args) == 3 else None
    return a.Aggregate(func, args[1], where, pos=pos)  # type: ignore[arg-type]


def _unknown_function(name: str) -> str:
    known = sorted([*_AGGREGATE_SHAPES, *_FUNCTION_ARITY])
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown function {name}(){hint}; the functions are {', '.join(known)}"
