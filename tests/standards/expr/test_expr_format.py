"""to_text: canonical text with only the parentheses the grammar needs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tuopin.standards.expr import ast as a
from tuopin.standards.expr.format import literal_text, to_text
from tuopin.standards.expr.parser import parse

X, Y, Z = a.Derived("x"), a.Derived("y"), a.Derived("z")


@pytest.mark.parametrize(("text", "canonical"), [
    ("(a or b) or c", "a or b or c"),
    ("a or (b or c)", "a or (b or c)"),
    ("(a and b) or c", "a and b or c"),
    ("a and (b or c)", "a and (b or c)"),
    ("not (a and b)", "not (a and b)"),
    ("(not a) and b", "not a and b"),
    ("not (a == b)", "not a == b"),
    ("(not a) == b", "(not a) == b"),
    ("(a < b) == c", "(a < b) == c"),
    ("a == (b in [1,2])", "a == b in [1, 2]"),
    ("(a == b) in [true]", "(a == b) in [true]"),
    ("(a is null) in [true]", "a is null in [true]"),
    ("(a in [1]) is null", "(a in [1]) is null"),
    ("(a + b) is not null", "a + b is not null"),
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("a * (b + c)", "a * (b + c)"),
    ("a / (b * c)", "a / (b * c)"),
    ("-(a + b)", "-(a + b)"),
    ("-(3)", "-(3)"),
    ("- 3", "-3"),
    ("--3", "-(-3)"),
    ("-(-x)", "--x"),
    ("2 * -3", "2 * -3"),
    ("(-3) * 2", "-3 * 2"),
    ("2 - -3.50", "2 - -3.50"),
    ("x < (if c then 20 else 35)", "x < (if c then 20 else 35)"),
    ("if (if a then b else c) then d else e", "if if a then b else c then d else e"),
    ("coalesce((if a then 1 else 2), 3)", "coalesce(if a then 1 else 2, 3)"),
    ("any(member, (member.age > 3))", "any(member, member.age > 3)"),
    ("sum(member,member.age,member.dibao)", "sum(member, member.age, member.dibao)"),
    ("x not in ['a', \"b\"]", 'x not in ["a", "b"]'),
    ("round( x , 2 )", "round(x, 2)"),
    ("'say \"hi\"' == x", '"say \\"hi\\"" == x'),
])
def test_it_prints_canonical_text(text: str, canonical: str) -> None:
    assert to_text(parse(text)) == canonical
    assert parse(canonical) == parse(text)


@pytest.mark.parametrize(("value", "text"), [
    (None, "null"), (True, "true"), (False, "false"), (0, "0"), (-12, "-12"),
    (Decimal("3.50"), "3.50"), (Decimal("1E+2"), "100.0"), (Decimal("-0.001"), "-0.001"),
    (Decimal("7"), "7.0"), ("it's", '"it\'s"'), ('a\\"b', '"a\\\\\\"b"'), ("甘肃", '"甘肃"'),
])
def test_literals_are_written_so_they_read_back(value: a.Value, text: str) -> None:
    assert literal_text(value) == text
    assert parse(text) == a.Literal(value)


@pytest.mark.parametrize("tree", [
    a.Neg(a.Literal(3)), a.Literal(-3), a.Neg(a.Literal(-3)), a.Neg(a.Neg(X)),
    a.Neg(a.Literal(Decimal("0.5"))), a.Arith("-", X, a.Literal(-1)),
    a.Arith("*", a.Literal(-1), a.Neg(Y)), a.IsNull(a.Literal(-2), negated=True),
    a.Compare("<", a.Compare("<", X, Y), Z), a.Compare("<", X, a.Compare("<", Y, Z)),
    a.Not(a.Not(a.BoolOp("or", X, Y))), a.In(a.In(X, a.ListLiteral((a.Literal(1),))),
                                              a.ListLiteral((a.Literal(True),))),
    a.IfElse(a.IfElse(X, Y, Z), a.IfElse(X, Y, Z), a.IfElse(X, Y, Z)),
])
def test_awkward_trees_survive_a_round_trip(tree: a.Expr) -> None:
    assert parse(to_text(tree)) == tree
