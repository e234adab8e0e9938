"""Which registry fields a standard reads, so that its form asks those and no others.

The assessment (analytics/assess.py, analytics/frame.py) reads survey and member fields
directly and a few derived values, each computed from fields of its own:

- ``income_per_capita`` is the standard's own income expression (its fields, recursively);
- ``household_size`` (derived) counts the members alive at the year's end;
- ``member.age`` is the year minus the year of ``member.birth_date``;
- any member condition counts only the living: ``member.deceased_date`` decides who is;
- ``income_line`` and ``year`` come from the standard and the form's year, not from a question.

Household fields (``household.status``...) are the registry's, not the survey's: the form
never asks them. Explanations name fields too (``{survey.water_trip_minutes}``): a figure
an explanation shows is asked as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuopin.io.schema import FIELDS, Field, Kind
from tuopin.standards.explain import PLACEHOLDER
from tuopin.standards.expr.ast import Expr, derived_used, fields_used
from tuopin.standards.model import Standard

# member fields each member-derived value is computed from
MEMBER_SOURCES = {"age": ("birth_date",)}
# who is a member at the year's end: every member condition and the derived size read it
LIVING = "deceased_date"
# the member a repeat row belongs to is its parent submission; the form never asks it
PARENT_KEY = "household_number"


@dataclass(frozen=True)
class Asked:
    """The fields a form asks: survey fields at the root, member fields in the repeat."""

    survey: tuple[Field, ...]
    members: tuple[Field, ...]


def _expressions(standard: Standard) -> list[Expr]:
    return ([standard.income] + [i.deprived for i in standard.indicators]
            + [c.rule for c in standard.categories])


def _placeholders(standard: Standard) -> tuple[set[tuple[str, str]], set[str]]:
    """The fields and derived names the explanations show."""
    dotted: set[tuple[str, str]] = set()
    bare: set[str] = set()
    for indicator in standard.indicators:
        for text in (indicator.explain.zh, indicator.explain.en):
            for name in PLACEHOLDER.findall(text):
                scope, _, field = name.partition(".")
                if field:
                    dotted.add((scope, field))
                elif name == "members":  # each deprived member's name and age
                    dotted |= {("member", "name"), ("member", "age")}
                else:
                    bare.add(name)
    return dotted, bare


def fields_read(standard: Standard) -> set[tuple[str, str]]:
    """Every ``(scope, field)`` the standard reads, derived values resolved to their sources."""
    read, derived = _placeholders(standard)
    for expr in _expressions(standard):
        read |= fields_used(expr)
        derived |= derived_used(expr)
    if "income_per_capita" in derived:
        read |= fields_used(standard.income)
        derived |= derived_used(standard.income)
    if "household_size" in derived:
        read.add(("member", LIVING))
    resolved = set()
    for scope, name in read:
        sources = MEMBER_SOURCES.get(name, (name,)) if scope == "member" else (name,)
        resolved |= {(scope, source) for source in sources}
    if any(scope == "member" for scope, _ in resolved):
        resolved.add(("member", LIVING))
    return resolved


def asked(standard: Standard) -> Asked:
    """The survey and member fields a form for ``standard`` asks, in the import files' order:
    the ones it reads and the ones the importers require."""
    read = fields_read(standard)

    def keep(kind: Kind, scope: str) -> tuple[Field, ...]:
        return tuple(f for f in FIELDS[kind]
                     if f.required or (scope, f.name) in read)

    members = tuple(f for f in keep(Kind.MEMBERS, "member") if f.name != PARENT_KEY)
    return Asked(survey=keep(Kind.SURVEYS, "survey"), members=members)
