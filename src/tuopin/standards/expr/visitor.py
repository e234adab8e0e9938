"""Visitor: one ``visit_<Node>`` method per node class, and no guessing for the others."""

from __future__ import annotations

from typing import Generic, TypeVar

from tuopin.domain.errors import UnsupportedRule
from tuopin.standards.expr import ast as a

T = TypeVar("T")


class Visitor(Generic[T]):
    """Dispatch on the node's class name: ``visit(Compare(..))`` calls ``visit_Compare``.

    A node whose class has no method raises ``UnsupportedRule`` naming the class and where the
    node came from. There is deliberately no fallback, so a compiler never skips a rule.
    """

    def visit(self, node: a.Node) -> T:
        """Visit ``node`` with the method for its class."""
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            pos = getattr(node, "pos", None)
            where = f" at {pos}" if isinstance(pos, a.Pos) else ""
            raise UnsupportedRule(f"{type(self).__name__} does not support "
                                  f"{type(node).__name__} nodes{where}")
        result: T = method(node)
        return result
