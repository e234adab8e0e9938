"""The tree: structural equality, walking, and what an expression reads."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from tuopin.standards.expr import ast as a
from tuopin.standards.expr.parser import parse

TEXT = ("survey.food_secure and any(member, member.age >= 6 and member.dibao) "
        "or sum(member, member.months_worked_away) < income_line")


def test_equality_ignores_positions_but_not_values() -> None:
    assert parse("x + 1", line=1) == parse("x  +  1", line=40, column=9)
    assert hash(parse("x + 1")) == hash(parse("x+1", line=3))
    assert a.Literal(True) != a.Literal(1)
    assert a.Literal(1) != a.Literal(Decimal(1))
    assert a.Literal(Decimal("1.0")) == a.Literal(Decimal("1.00"))
    assert a.Pos(1, 2, 3) == a.Pos(1, 2, 3, origin=a.Origin("f.toml", "x"))


def test_nodes_are_immutable() -> None:
    tree = parse("x + 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tree.op = "-"  # type: ignore[misc, union-attr]


def test_walk_visits_every_node_parents_first() -> None:
    kinds = [type(n).__name__ for n in a.walk(parse("not (x + 1 in [1, 2])"))]
    assert kinds == ["Not", "In", "Arith", "Derived", "Literal", "ListLiteral", "Literal",
                     "Literal"]


def test_it_lists_the_fields_names_and_aggregates_an_expression_reads() -> None:
    tree = parse(TEXT)
    assert a.fields_used(tree) == {("survey", "food_secure"), ("member", "age"),
                                   ("member", "dibao"), ("member", "months_worked_away")}
    assert a.derived_used(tree) == {"income_line"}
    assert [g.func for g in a.aggregates(tree)] == ["any", "sum"]


def test_walk_handles_very_long_chains_without_recursion() -> None:
    tree: a.Expr = a.Derived("x")
    for _ in range(5000):
        tree = a.Arith("+", tree, a.Literal(1))
    assert sum(1 for _ in a.walk(tree)) == 10001


def test_every_node_type_has_a_position_field() -> None:
    for kind in a.NODE_TYPES:
        assert "pos" in {f.name for f in dataclasses.fields(kind)}
