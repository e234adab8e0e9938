"""The parser: precedence, every node kind, positions in the file, and syntax errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tuopin.standards.expr import ast as a
from tuopin.standards.expr.errors import ExpressionError
from tuopin.standards.expr.parser import MAX_DEPTH, parse

X, Y, Z = a.Derived("x"), a.Derived("y"), a.Derived("z")


def lit(value: a.Value) -> a.Literal:
    return a.Literal(value)


@pytest.mark.parametrize(("text", "grouped"), [
    ("a or b and c", "a or (b and c)"),
    ("a and b or c", "(a and b) or c"),
    ("a or b or c", "(a or b) or c"),
    ("a and b and c", "(a and b) and c"),
    ("not a and b", "(not a) and b"),
    ("not a or not b", "(not a) or (not b)"),
    ("not a == b", "not (a == b)"),
    ("not not a", "not (not a)"),
    ("a == b and c != d", "(a == b) and (c != d)"),
    ("a + b == c * d", "(a + b) == (c * d)"),
    ("a == b in [1]", "a == (b in [1])"),
    ("a in [1] == b", "(a in [1]) == b"),
    ("a is null == b", "(a is null) == b"),
    ("a is null in [true]", "(a is null) in [true]"),
    ("a + b is null", "(a + b) is null"),
    ("a - b is not null", "(a - b) is not null"),
    ("a + b in [1, 2]", "(a + b) in [1, 2]"),
    ("a + b * c", "a + (b * c)"),
    ("a * b + c", "(a * b) + c"),
    ("a - b - c", "(a - b) - c"),
    ("a - b + c", "(a - b) + c"),
    ("a / b / c", "(a / b) / c"),
    ("a / b * c", "(a / b) * c"),
    ("-a * b", "(-a) * b"),
    ("a * -b", "a * (-b)"),
    ("- -a", "-(-a)"),
    ("a - -b", "a - (-b)"),
    ("if a then b else c or d", "if a then b else (c or d)"),
    ("if a or b then c else d", "if (a or b) then c else d"),
    ("if a then if b then c else d else e", "if a then (if b then c else d) else e"),
    ("if a then b else if c then d else e", "if a then b else (if c then d else e)"),
    ("not a in [1]", "not (a in [1])"),
    ("a not in [1] and b", "(a not in [1]) and b"),
])
def test_operators_bind_by_precedence_and_associate_left(text: str, grouped: str) -> None:
    assert parse(text) == parse(grouped)


@pytest.mark.parametrize(("text", "tree"), [
    ("12", lit(12)),
    ("3.50", lit(Decimal("3.50"))),
    ("-3", lit(-3)),
    ("-3.5", lit(Decimal("-3.5"))),
    ("-(3)", a.Neg(lit(3))),
    ("- 3", lit(-3)),
    ("--3", a.Neg(lit(-3))),
    ('"zh 甘肃"', lit("zh 甘肃")),
    ("'C'", lit("C")),
    (r"'it\'s'", lit("it's")),
    (r'"a \"b\" \\ c"', lit('a "b" \\ c')),
    ("true", lit(True)),
    ("false", lit(False)),
    ("null", lit(None)),
    ("survey.food_secure", a.Field("survey", "food_secure")),
    ("income_line", a.Derived("income_line")),
    ("income_line_2", a.Derived("income_line_2")),
    ("not x", a.Not(X)),
    ("-x", a.Neg(X)),
    ("x and y", a.BoolOp("and", X, Y)),
    ("x or y", a.BoolOp("or", X, Y)),
    *((f"x {op} y", a.Compare(op, X, Y)) for op in a.COMPARE_OPS),
    *((f"x {op} y", a.Arith(op, X, Y)) for op in a.ARITH_OPS),
    ('x in ["C", -1, 2.5, true]', a.In(X, a.ListLiteral((lit("C"), lit(-1),
                                                          lit(Decimal("2.5")), lit(True))))),
    ("x not in [1]", a.In(X, a.ListLiteral((lit(1),)), negated=True)),
    ("x is null", a.IsNull(X)),
    ("x is not null", a.IsNull(X, negated=True)),
    ("if x then y else z", a.IfElse(X, Y, Z)),
    ("coalesce(x, y, z)", a.Call("coalesce", (X, Y, Z))),
    ("abs(x)", a.Call("abs", (X,))),
    ("round(x, 2)", a.Call("round", (X, lit(2)))),
    ("any(member, x)", a.Aggregate("any", None, X)),
    ("all(member, x)", a.Aggregate("all", None, X)),
    ("count(member, x)", a.Aggregate("count", None, X)),
    *((f"{f}(member, x)", a.Aggregate(f, X, None)) for f in ("sum", "min", "max")),
    *((f"{f}(member, x, y)", a.Aggregate(f, X, Y)) for f in ("sum", "min", "max")),
    ("(((x)))", X),
    ("x\n  and\r\n\ty", a.BoolOp("and", X, Y)),
])
def test_it_builds_every_node_kind(text: str, tree: a.Expr) -> None:
    assert parse(text) == tree


def test_literals_keep_their_python_type() -> None:
    assert parse("1") != parse("true")
    assert parse("1") != parse("1.0")
    assert type(parse("1.0").value) is Decimal  # type: ignore[union-attr]


def test_it_places_nodes_in_the_file() -> None:
    tree = parse("x +\n  survey.wage_income * -2", source="std.toml", line=40, column=13)
    assert isinstance(tree, a.Arith) and isinstance(tree.right, a.Arith)
    assert (tree.pos.line, tree.pos.column, tree.pos.end_line) == (40, 13, 41)
    assert tree.left.pos == a.Pos(40, 13, 14)
    assert tree.right.pos == a.Pos(41, 3, 26)
    assert tree.right.left.pos == a.Pos(41, 3, 21)
    assert tree.right.right.pos == a.Pos(41, 24, 26)
    assert str(tree.right.pos) == "std.toml:41:3"


def test_positions_inside_parentheses_cover_the_inner_expression() -> None:
    tree = parse("(x)", line=1, column=5)
    assert tree.pos == a.Pos(1, 6, 7)


# (text, line, column, headline fragment, the offending text under the caret)
SYNTAX_ERRORS = [
    ("a < b < c", 1, 7, "comparisons do not chain", "<"),
    ("x == 1 != 2", 1, 8, "comparisons do not chain", "!="),
    ("x is null is null", 1, 11, "unexpected `is`", "is"),
    ("x in [1] in [2]", 1, 10, "unexpected `in`", "in"),
    ("a b", 1, 3, "unexpected name `b`", "b"),
    ("a +", 1, 4, "unexpected end of expression; expected a value", ""),
    ("(a", 1, 3, "unexpected end of expression; expected `)`", ""),
    ("x in", 1, 5, "expected `[`", ""),
    ("", 1, 1, "the expression is empty", ""),
    ("   ", 1, 4, "the expression is empty", ""),
    ("a = b", 1, 3, "unexpected character `=`; compare with `==`", "="),
    ("a && b", 1, 3, "write `and`", "&"),
    ("a || b", 1, 3, "write `or`", "|"),
    ("!a", 1, 1, "write `not`", "!"),
    ('x == "abc', 1, 6, "a string ends on the line it starts", '"'),
    (r'x == "\n"', 1, 6, "the only escapes are", '"'),
    ("a ? b", 1, 3, "unexpected character `?`", "?"),
    ("x == [1]", 1, 6, "unexpected `[`", "["),
    ("a.b.c", 1, 4, "unexpected `.`", "."),
    ("survey.in", 1, 8, "unexpected `in`", "in"),
    ("1.", 1, 2, "unexpected `.`", "."),
    ("x + if a then 1 else 2", 1, 5, "unexpected `if`", "if"),
    ("foo(x)", 1, 1, "unknown function foo()", "foo"),
    ("cuont(member, x)", 1, 1, "(did you mean count?)", "cuont"),
    ("any(x, y)", 1, 5, "the first argument of any() must be `member`", "x"),
    ("sum()", 1, 1, "the first argument of sum() must be `member`", "sum"),
    ("count(member)", 1, 1, "count() is called as count(member, condition)", "count(member)"),
    ("any(member, x, y)", 1, 1, "any() is called as any(member, condition)", "any(member, x, y)"),
    ("max(member, x, y, z)", 1, 1, "max(member, value [, condition])", "max(member, x, y, z)"),
    ("abs(1, 2)", 1, 1, "abs() is called as abs(x)", "abs(1, 2)"),
    ("round(x)", 1, 1, "round() is called as round(x, n)", "round(x)"),
    ("coalesce(x)", 1, 1, "coalesce() is called as coalesce(a, b, ...)", "coalesce(x)"),
    ("x in [1, y]", 1, 10, "a list after `in` holds only literals", "y"),
    ("x in [1, -y]", 1, 10, "a list after `in` holds only literals", "-y"),
]


@pytest.mark.parametrize(("text", "line", "column", "headline", "token"), SYNTAX_ERRORS)
def test_syntax_errors_point_at_the_offending_token(text: str, line: int, column: int,
                                                   headline: str, token: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    err = caught.value
    assert (err.source, err.line, err.column) == ("<expr>", line, column)
    assert headline in err.message
    assert_caret(err, token)


def assert_caret(err: ExpressionError, token: str) -> None:
    """The quoted line is shown, and the caret sits exactly under ``token``."""
    lines = str(err).split("\n")
    assert lines[0] == f"{err.source}:{err.line}:{err.column}: {err.message}"
    quoted, carets = lines[1][4:], lines[2][4:]
    start = carets.index("^")
    assert carets == " " * start + "^" * max(len(token), 1)
    assert quoted[start:].startswith(token)


@pytest.mark.parametrize(("text", "line", "column", "token"), [
    ("a and\n  b < c < d", 12, 9, "<"),
    ("any(member,\n    member.age >= 6 and member.age <= 15 and ==)", 12, 46, "=="),
    ("x\n  and", 12, 6, ""),
    ("first\n\tand (y = 2)", 12, 9, "="),
])
def test_errors_on_later_lines_use_that_lines_own_columns(text: str, line: int, column: int,
                                                         token: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text, source="cn-national.toml", line=11, column=20)
    err = caught.value
    assert (err.source, err.line, err.column) == ("cn-national.toml", line, column)
    assert str(err).split("\n")[1][4:] == text.split("\n")[err.line - 11]
    if "\t" not in text:
        assert_caret(err, token)
    else:  # the caret line copies the tab, so it lines up in a terminal
        assert str(err).split("\n")[2] == "    \t       ^"


def test_errors_on_the_first_line_are_shifted_by_the_start_column() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("a < b < c", source="f.toml", line=7, column=11)
    assert (caught.value.line, caught.value.column) == (7, 17)
    assert_caret(caught.value, "<")


def test_syntax_errors_list_what_was_expected_in_words() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("(a")
    assert caught.value.expected == ["`)`"]
    with pytest.raises(ExpressionError) as caught:
        parse("x in [1,")
    assert caught.value.expected == ["a value", "`not`", "`if`"]
    with pytest.raises(ExpressionError) as caught:
        parse("a < b < c")
    assert caught.value.expected == ["`and`", "`or`", "the end of the expression"]
    assert not any("RPAR" in e or "$END" in e for e in caught.value.expected)


def test_a_caret_under_wide_characters_is_twice_as_wide() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse('household.address == "甘肃" &')
    assert str(caught.value).split("\n")[2] == "    " + " " * 28 + "^"


def test_too_deep_nesting_is_an_error_not_a_crash() -> None:
    for deep in ("(" * 5000 + "x" + ")" * 5000, " + ".join(["y"] * 5000), "-" * 5000 + "x",
                 "not " * MAX_DEPTH + "x"):
        with pytest.raises(ExpressionError, match="nests more than"):
            parse(deep)
    assert parse("not " * (MAX_DEPTH - 1) + "x") is not None


def test_expression_errors_are_validation_failures() -> None:
    from tuopin.domain.errors import ValidationFailed
    with pytest.raises(ValidationFailed):
        parse("a <")
