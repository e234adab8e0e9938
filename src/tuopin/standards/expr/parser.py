"""Parse indicator expressions (grammar.lark, LALR) into ``ast`` trees.

Every failure is an ``ExpressionError`` located in the source file: Lark's exceptions are
translated, with the tokens the parser expected written as a person would write them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from tuopin.standards.expr import ast as a
from tuopin.standards.expr.build import Locator, TreeBuilder
from tuopin.standards.expr.errors import ExpressionError

MAX_DEPTH = 100  # deeper trees are surely mistakes, and would exhaust Python's stack later

# Lark terminal names, as a person writes them; the order is the order of the message.
_HUMAN = {
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "TRUE": "`true`",
    "FALSE": "`false`", "NULL": "`null`", "LPAR": "`(`", "MINUS": "`-`", "NOT": "`not`",
    "IF": "`if`", "PLUS": "`+`", "STAR": "`*`", "SLASH": "`/`",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)", "IN": "`in`", "IS": "`is`",
    "AND": "`and`", "OR": "`or`", "THEN": "`then`", "ELSE": "`else`", "DOT": "`.`",
    "LSQB": "`[`", "RSQB": "`]`", "COMMA": "`,`", "RPAR": "`)`",
    "$END": "the end of the expression",
}
# Everything that can start an operand: listed as one item when all are possible.
_VALUE_START = frozenset({"NAME", "NUMBER", "STRING", "TRUE", "FALSE", "NULL", "LPAR", "MINUS"})
_CHARACTER_HINTS = {
    "=": "; compare with `==`", "&": "; write `and`", "|": "; write `or`",
    "!": "; write `not`, or `!=` to compare", '"': "; a string ends on the line it starts",
    "'": "; a string ends on the line it starts",
}
_STRING_RULES = " (the only escapes are \\\\, \\\" and \\')"


@functools.cache
def _lark() -> Lark:
    """The LALR parser, built once on first use."""
    grammar = resources.files("tuopin.standards.expr").joinpath("grammar.lark")
    # The basic lexer, not the contextual one: the contextual lexer would read `if` as a name
    # where only a name can follow (`x + if`), and keywords must be reserved everywhere.
    return Lark(grammar.read_text(encoding="utf-8"), parser="lalr", lexer="basic",
                propagate_positions=True, maybe_placeholders=True)


def parse(text: str, *, source: str = "<expr>", line: int = 1, column: int = 1) -> a.Expr:
    """Parse one expression; ``source``, ``line`` and ``column`` place it in its file."""
    locator = Locator(a.Origin(source, text, line, column))
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        if not text.strip():
            raise ExpressionError.at(locator.end(), "the expression is empty") from None
        raise _syntax_error(exc, locator) from None
    except LarkError as exc:  # any other Lark failure is still a bad expression
        raise ExpressionError.at(locator.end(), f"cannot parse this expression: {exc}") from None
    _check_depth(tree, locator)
    try:
        return TreeBuilder(locator).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, ExpressionError):
            raise exc.orig_exc from None
        raise


def _check_depth(tree: Tree[Token], locator: Locator) -> None:
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            where = locator.pos(meta.line, meta.column, meta.end_line, meta.end_column)
            raise ExpressionError.at(where, f"the expression nests more than {MAX_DEPTH} "
                                     "levels deep; split it into simpler indicators")
        stack.extend((kid, depth + 1) for kid in node.children if isinstance(kid, Tree))


def _syntax_error(exc: UnexpectedInput, locator: Locator) -> ExpressionError:
    if isinstance(exc, UnexpectedToken):
        return _unexpected_token(exc, locator)
    if isinstance(exc, UnexpectedCharacters):
        pos = locator.pos(exc.line, exc.column, exc.line, exc.column + 1)
        char = exc.char
        hint = _CHARACTER_HINTS.get(char, "")
        if char in "\"'":
            hint += _STRING_RULES
        shown = repr(char)[1:-1] if not char.isprintable() else char
        expected = human(_accepts_before(locator.origin.text[:exc.pos_in_stream])
                         or exc.allowed or ())
        return ExpressionError.at(pos, f"unexpected character `{shown}`{hint}", expected=expected)
    assert isinstance(exc, UnexpectedEOF)  # the only other kind Lark raises
    expected = human(exc.expected)
    return ExpressionError.at(locator.end(), _expecting("unexpected end of expression", expected),
                              expected=expected)


def _accepts_before(prefix: str) -> set[str]:
    """What the parser accepts after ``prefix`` (the lexer's own list is per LALR state)."""
    try:
        interactive = _lark().parse_interactive(prefix)
        interactive.exhaust_lexer()
        return set(interactive.accepts())
    except LarkError:
        return set()


def _unexpected_token(exc: UnexpectedToken, locator: Locator) -> ExpressionError:
    token = exc.token
    accepts = exc.accepts or exc.expected
    expected = human(accepts)
    if token.type == "$END":
        return ExpressionError.at(locator.end(),
                                  _expecting("unexpected end of expression", expected),
                                  expected=expected)
    pos = locator.token(token)
    # A comparison right after a complete comparison (one that `and` could follow).
    if token.type == "COMP_OP" and "AND" in accepts:
        return ExpressionError.at(pos, "comparisons do not chain: write `a < b and b < c` "
                                  "instead of `a < b < c`", expected=expected)
    return ExpressionError.at(pos, _expecting(f"unexpected {_describe(token)}", expected),
                              expected=expected)


def _describe(token: Token) -> str:
    if token.type in ("NAME", "NUMBER", "STRING"):
        return f"{token.type.lower()} `{token}`"
    return f"`{token}`"


def human(terminals: Iterable[str]) -> list[str]:
    """Lark terminal names as a person writes them, in a stable order."""
    names = set(terminals)
    out = ["a value"] if _VALUE_START <= names else []
    if out:
        names -= _VALUE_START
    out += [text for name, text in _HUMAN.items() if name in names]
    out += sorted(name for name in names if name not in _HUMAN)
    return out


def _expecting(headline: str, expected: list[str]) -> str:
    if not expected:
        return headline
    if len(expected) == 1:
        return f"{headline}; expected {expected[0]}"
    return f"{headline}; expected {', '.join(expected[:-1])} or {expected[-1]}"
