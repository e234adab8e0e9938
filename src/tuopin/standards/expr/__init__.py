"""The indicator expression language: a boolean rule over household, member and survey fields.

LANGUAGE.md (next to this file) is the full reference; in short:

- Literals: ``12``, ``3.5``, ``"text"`` or ``'text'`` (escapes ``\\\\ \\" \\'`` only),
  ``true``, ``false``, ``null`` (only to write a helpful error: test with ``is null``), and
  ``[a, b]`` lists of literals, only after ``in``.
- Names: ``household.x``, ``member.x``, ``survey.x`` fields, and the derived names
  ``income_per_capita``, ``income_line``, ``year`` and ``household_size``.
- Operators, loosest first: ``if c then a else b``; ``or``; ``and``; ``not``; ``== != < <=
  > >=`` (they do not chain); ``in [..]`` / ``not in [..]``; ``is null`` / ``is not null``;
  ``+ -``; ``* /`` (``/`` is true division); unary ``-``; parentheses.
- Functions: ``coalesce(a, b, ..)``, ``abs(x)``, ``round(x, n)`` with ``n`` a literal 0-10.
- Member aggregates, in household context only and never nested: ``any(member, cond)``,
  ``all(member, cond)``, ``count(member, cond)``, ``sum|min|max(member, value [, cond])``.
  ``member.*`` fields are readable inside an aggregate and only there.

``parse`` builds an immutable ``ast`` tree, ``check`` types it against a ``Schema``,
``to_text`` prints it back, and ``Visitor`` is the base of every compiler.
"""

from tuopin.standards.expr.ast import Expr, Origin, Pos
from tuopin.standards.expr.check import check, check_boolean
from tuopin.standards.expr.errors import ExpressionError
from tuopin.standards.expr.format import to_text
from tuopin.standards.expr.parser import parse
from tuopin.standards.expr.schema import (
    BOOLEAN,
    DATE,
    ENUM,
    INTEGER,
    NUMBER,
    REGISTRY_SCHEMA,
    STRING,
    Kind,
    Schema,
    Type,
)
from tuopin.standards.expr.visitor import Visitor

__all__ = [
    "BOOLEAN", "DATE", "ENUM", "INTEGER", "NUMBER", "REGISTRY_SCHEMA", "STRING", "Expr",
    "ExpressionError", "Kind", "Origin", "Pos", "Schema", "Type", "Visitor", "check",
    "check_boolean", "parse", "to_text",
]
