"""A Scope (tuopin.domain.scope) as WHERE clauses: every scoped query goes through these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true

from tuopin.domain.scope import Scope


def in_region(scope: Scope, column: Any) -> ColumnElement[bool]:
    """A WHERE clause restricting a region-code column to ``scope``'s region."""
    if not scope.prefix:
        return true()
    return column.startswith(scope.prefix, autoescape=True)


def in_households(scope: Scope, column: Any) -> ColumnElement[bool]:
    """A WHERE clause restricting a household-number column to ``scope``'s households (a
    helper's few; everyone else: no restriction). Use it with ``in_region``."""
    if scope.households is None:
        return true()
    return column.in_(sorted(scope.households))
