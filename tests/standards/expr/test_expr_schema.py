"""Schemas: the registry's fields and types, and schemas callers build themselves."""

from __future__ import annotations

import pytest

from tuopin.domain import enums
from tuopin.standards.expr import ast as a
from tuopin.standards.expr.check import check, check_boolean
from tuopin.standards.expr.errors import ExpressionError
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
    enum_of,
)


@pytest.mark.parametrize(("scope", "name", "enum"), [
    ("household", "status", enums.HouseholdStatus),
    ("household", "category", enums.HouseholdCategory),
    ("household", "main_cause", enums.PovertyCause),
    ("member", "sex", enums.Sex),
    ("member", "relation", enums.Relation),
    ("member", "education", enums.Education),
    ("member", "schooling_status", enums.SchoolingStatus),
    ("member", "health", enums.Health),
    ("member", "labour", enums.Labour),
    ("survey", "housing_grade", enums.HousingGrade),
])
def test_enum_fields_take_their_values_from_the_domain(scope: str, name: str,
                                                        enum: type[enums.Titled]) -> None:
    found = REGISTRY_SCHEMA.field_type(scope, name)
    assert found is not None and found.kind is Kind.ENUM
    assert found.values == {m.value for m in enum}


@pytest.mark.parametrize(("scope", "name", "expected"), [
    ("household", "year_identified", INTEGER), ("member", "birth_date", DATE),
    ("member", "age", INTEGER), ("member", "medical_insurance", BOOLEAN),
    ("member", "ethnicity", STRING), ("survey", "medical_expenses", NUMBER),
    ("survey", "water_outage_days", INTEGER), ("survey", "water_scarce_area", BOOLEAN),
])
def test_registry_fields_have_their_types(scope: str, name: str, expected: object) -> None:
    assert REGISTRY_SCHEMA.field_type(scope, name) == expected


def test_the_registry_schema_has_the_derived_names() -> None:
    assert dict(REGISTRY_SCHEMA.derived) == {"income_per_capita": NUMBER, "income_line": NUMBER,
                                             "year": INTEGER, "household_size": INTEGER}
    assert len(REGISTRY_SCHEMA.scopes["member"]) == 18
    assert REGISTRY_SCHEMA.field_type("nowhere", "x") is None


def test_a_schema_cannot_be_changed_after_it_is_built() -> None:
    fields = {"x": INTEGER}
    schema = Schema(derived=fields)
    fields["y"] = INTEGER
    assert "y" not in schema.derived
    with pytest.raises(TypeError):
        schema.derived["z"] = INTEGER  # type: ignore[index]
    with pytest.raises(AttributeError):
        schema.extra = 1  # type: ignore[attr-defined]


def test_a_flat_schema_checks_table_columns() -> None:
    schema = Schema(derived={"hh_size": INTEGER, "water": ENUM({"piped", "well"}),
                             "deprived_water": BOOLEAN})
    assert schema == Schema(derived={"hh_size": INTEGER, "water": ENUM({"well", "piped"}),
                                     "deprived_water": BOOLEAN})
    check_boolean(parse("hh_size > 6 or water == 'well' or deprived_water"), schema)
    with pytest.raises(ExpressionError, match="did you mean hh_size"):
        check(parse("hhsize > 6"), schema)
    with pytest.raises(ExpressionError, match="no members to aggregate"):
        check(parse("any(member, true)"), schema)
    with pytest.raises(ExpressionError, match="unknown scope survey.x; the scopes are none"):
        check(parse("survey.x"), schema)


def test_types_print_for_people() -> None:
    assert str(enum_of(enums.Sex)) == "enum (female, male)"
    assert str(NUMBER) == "number"
    assert a.Literal(1).pos == a.NOWHERE
