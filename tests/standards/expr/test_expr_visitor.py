"""Visitor: dispatch by class name, and UnsupportedRule for anything it does not know."""

from __future__ import annotations

import pytest

from tuopin.domain.errors import UnsupportedRule
from tuopin.standards.expr import ast as a
from tuopin.standards.expr.parser import parse
from tuopin.standards.expr.visitor import Visitor


class Names(Visitor[set[str]]):
    def visit_Derived(self, node: a.Derived) -> set[str]:
        return {node.name}

    def visit_BoolOp(self, node: a.BoolOp) -> set[str]:
        return self.visit(node.left) | self.visit(node.right)


def test_it_dispatches_to_the_method_named_after_the_node_class() -> None:
    assert Names().visit(parse("a and b or c")) == {"a", "b", "c"}


@pytest.mark.parametrize(("text", "node"), [
    ("a and not b", "Not"),
    ("a or b == 1", "Compare"),
    ("a and\n   any(member, x)", "Aggregate"),
])
def test_it_refuses_a_node_it_has_no_method_for(text: str, node: str) -> None:
    with pytest.raises(UnsupportedRule) as caught:
        Names().visit(parse(text, source="std.toml", line=5, column=3))
    tree = parse(text, source="std.toml", line=5, column=3)
    found = next(n for n in a.walk(tree) if type(n).__name__ == node)
    assert str(caught.value) == f"Names does not support {node} nodes at {found.pos}"
    assert str(found.pos).startswith("std.toml:")


def test_a_foreign_node_class_is_refused_too() -> None:
    class Median(a.Node):
        pass

    with pytest.raises(UnsupportedRule, match="does not support Median nodes$"):
        Names().visit(Median())


def test_the_base_visitor_supports_nothing() -> None:
    with pytest.raises(UnsupportedRule, match="Visitor does not support Derived nodes at "
                                              "<expr>:1:1"):
        Visitor[int]().visit(parse("x"))
