"""Every cell the generator writes passes the import rules of its field (io/schema.py)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tuopin.domain.idnumber import parse
from tuopin.domain.regions import level_of
from tuopin.io.readers import read_file
from tuopin.io.schema import FIELDS, Field, FieldType, Kind, file_name
from tuopin.io.validate import validate_file
from tuopin.synth import generate

from .conftest import SMALL

TODAY = date(2021, 1, 1)
MONEY = re.compile(r"^\d+(\.\d{1,2})?$")
FEN = re.compile(r"^-?\d+\.\d{2}$")  # the books' amounts: exact text, always two decimals
PHONE = re.compile(r"^1[358]\d{9}$")


def _valid(field: Field, value: str) -> bool:
    kind = field.type
    if kind in (FieldType.INTEGER, FieldType.DECIMAL):
        if kind is FieldType.INTEGER and not value.isdigit():
            return False
        if kind is FieldType.DECIMAL and not MONEY.match(value):
            return False
        number = float(value)
        return (field.minimum is None or number >= field.minimum) and (
            field.maximum is None or number <= field.maximum)
    if kind is FieldType.DATE:
        return date.fromisoformat(value).isoformat() == value
    if kind is FieldType.BOOLEAN:
        return value in ("0", "1")
    if kind in (FieldType.ENUM, FieldType.ENUM_LIST):
        assert field.enum is not None
        allowed = {member.value for member in field.enum}
        parts = value.split(";") if kind is FieldType.ENUM_LIST else [value]
        return all(part in allowed for part in parts) and len(set(parts)) == len(parts)
    if kind is FieldType.ID_NUMBER:
        parse(value, today=TODAY)
        return True
    if kind is FieldType.REGION_CODE:
        level_of(value)
        return True
    if kind is FieldType.PHONE:
        return bool(PHONE.match(value))
    if kind is FieldType.FEN:
        assert field.minimum is not None and field.maximum is not None
        return bool(FEN.match(value)) and field.minimum <= float(value) <= field.maximum
    return field.max_length is None or len(value) <= field.max_length


@pytest.mark.parametrize(
    ("kind", "field"),
    [(kind, field) for kind in Kind for field in FIELDS[kind]],
    ids=lambda item: item.value if isinstance(item, Kind) else item.name,
)
def test_every_value_passes_its_fields_import_rule(
    small: dict[Kind, pd.DataFrame], kind: Kind, field: Field
) -> None:
    values = set(small[kind][field.name])
    if field.required:
        assert "" not in values
    bad = sorted(v for v in values - {""} if not _valid(field, v))
    assert not bad, bad[:5]


SOMETIMES_EMPTY = {
    Kind.REGIONS: {"western"},
    Kind.HOUSEHOLDS: {"category", "main_cause", "other_causes", "year_identified",
                      "year_exited", "phone", "bank_account"},
    Kind.MEMBERS: {"schooling_status", "disability_grade", "phone", "deceased_date"},
    Kind.SURVEYS: set(),
    Kind.HELPERS: set(),
    Kind.FUNDS: set(),
    Kind.PROJECTS: {"closed_on"},
    Kind.ALLOCATIONS: set(),
    # by ID or by household; cash has no account; only reversals name what they reverse
    Kind.DISBURSEMENTS: {"payee_id_number", "payee_household", "account", "reverses"},
}


@pytest.mark.parametrize("kind", list(Kind), ids=lambda kind: kind.value)
def test_only_the_columns_that_may_be_missing_have_empty_cells(
    small: dict[Kind, pd.DataFrame], kind: Kind
) -> None:
    empty = (small[kind] == "").mean()
    assert set(empty[empty > 0].index) == SOMETIMES_EMPTY[kind]
    assert (empty[list(SOMETIMES_EMPTY[kind])] < 1).all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_importer_finds_no_problem_in_any_file(
    tmp_path: Path, small_dir: Path, fmt: str
) -> None:
    directory = small_dir if fmt == "csv" else tmp_path
    if fmt != "csv":
        generate(SMALL, directory, fmt=fmt)
    for kind in Kind:
        checked = validate_file(read_file(directory / file_name(kind, fmt)), kind, today=TODAY)
        assert checked.table.num_rows > 0
        assert not checked.problems, (kind, checked.problems[:3])
