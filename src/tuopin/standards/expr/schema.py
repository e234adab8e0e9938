"""Types and schemas: which fields an expression may read, and what type each has."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from types import MappingProxyType

from tuopin.domain import enums


class Kind(StrEnum):
    BOOLEAN = "boolean"
    INTEGER = "integer"
    NUMBER = "number"
    STRING = "string"
    DATE = "date"
    ENUM = "enum"


@dataclass(frozen=True, slots=True)
class Type:
    """A value type; an ENUM also carries its allowed values."""

    kind: Kind
    values: frozenset[str] = field(default=frozenset())

    @property
    def numeric(self) -> bool:
        """INTEGER and NUMBER mix in arithmetic and comparisons."""
        return self.kind in (Kind.INTEGER, Kind.NUMBER)

    def __str__(self) -> str:
        if self.kind is Kind.ENUM:
            return f"enum ({', '.join(sorted(self.values))})"
        return self.kind.value


BOOLEAN = Type(Kind.BOOLEAN)
INTEGER = Type(Kind.INTEGER)
NUMBER = Type(Kind.NUMBER)
STRING = Type(Kind.STRING)
DATE = Type(Kind.DATE)


def ENUM(values: Iterable[str]) -> Type:
    """An enum type whose values are the given strings (upper case: it reads as a type)."""
    return Type(Kind.ENUM, frozenset(values))


def enum_of(cls: type[Enum]) -> Type:
    """The ENUM type of a domain enumeration (its stored values)."""
    return ENUM(str(member.value) for member in cls)


class Schema:
    """The fields an expression may read: ``scope.name`` fields and bare derived names.

    Immutable. ``any(member, ..)`` and the other aggregates iterate over the ``member``
    scope; a flat schema (only derived names, say the columns of one table) has no scopes.
    """

    __slots__ = ("_scopes", "_derived")

    def __init__(self, *, scopes: Mapping[str, Mapping[str, Type]] | None = None,
                 derived: Mapping[str, Type] | None = None) -> None:
        self._scopes = MappingProxyType(
            {scope: MappingProxyType(dict(names)) for scope, names in (scopes or {}).items()})
        self._derived = MappingProxyType(dict(derived or {}))

    @property
    def scopes(self) -> Mapping[str, Mapping[str, Type]]:
        return self._scopes

    @property
    def derived(self) -> Mapping[str, Type]:
        return self._derived

    def field_type(self, scope: str, name: str) -> Type | None:
        """The type of ``scope.name``, or None when the schema has no such field."""
        names = self._scopes.get(scope)
        return None if names is None else names.get(name)

    def names(self) -> list[str]:
        """Every readable name, as written in an expression (for suggestions)."""
        dotted = [f"{scope}.{name}" for scope, names in self._scopes.items() for name in names]
        return dotted + list(self._derived)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Schema) and self._scopes == other._scopes
                and self._derived == other._derived)

    def __hash__(self) -> int:
        return hash((tuple(self._scopes), tuple(self._derived)))

    def __repr__(self) -> str:
        scopes = {scope: len(names) for scope, names in self._scopes.items()}
        return f"Schema(scopes={scopes}, derived={list(self._derived)})"


_MONEY = ("wage_income", "production_income", "property_income", "transfer_income",
          "production_costs", "medical_expenses")

REGISTRY_SCHEMA = Schema(
    scopes={
        "household": {
            "number": STRING, "village_code": STRING, "address": STRING,
            "status": enum_of(enums.HouseholdStatus),
            "category": enum_of(enums.HouseholdCategory),
            "main_cause": enum_of(enums.PovertyCause),
            "year_identified": INTEGER, "year_exited": INTEGER,
        },
        "member": {
            "name": STRING, "id_number": STRING, "sex": enum_of(enums.Sex),
            "birth_date": DATE,
            # whole years at the end of the assessment year, computed by the assessment
            "age": INTEGER,
            "relation": enum_of(enums.Relation), "ethnicity": STRING,
            "education": enum_of(enums.Education),
            "schooling_status": enum_of(enums.SchoolingStatus),
            "health": enum_of(enums.Health), "disability_grade": INTEGER,
            "labour": enum_of(enums.Labour), "months_worked_away": INTEGER,
            "medical_insurance": BOOLEAN, "critical_illness_insurance": BOOLEAN,
            "pension_insurance": BOOLEAN, "dibao": BOOLEAN, "deceased_date": DATE,
        },
        "survey": {
            "year": INTEGER, "household_size": INTEGER,
            **{name: NUMBER for name in _MONEY},
            "food_secure": BOOLEAN, "clothing_secure": BOOLEAN,
            "housing_grade": enum_of(enums.HousingGrade),
            "water_quantity_lpd": NUMBER, "water_piped": BOOLEAN,
            "water_trip_minutes": NUMBER, "water_outage_days": INTEGER,
            "water_quality_ok": BOOLEAN, "water_scarce_area": BOOLEAN,
        },
    },
    derived={
        "income_per_capita": NUMBER, "income_line": NUMBER,
        "year": INTEGER,  # the assessment year
        "household_size": INTEGER,  # living members
    },
)
