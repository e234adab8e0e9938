"""Checks of staged import rows against the database, as set-based queries.

Each check adds its problems to the Validated file; the staging table carries ``_row``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyarrow as pa
from sqlalchemy import Connection, Row, Table, and_, select

from tuopin.io.schema import Kind
from tuopin.io.validate import Validated
from tuopin.storage import bulk
from tuopin.storage.models import HouseholdRecord, MemberRecord, RegionRecord, table_of

region = table_of(RegionRecord)
household = table_of(HouseholdRecord)
member = table_of(MemberRecord)

ASSIGNMENT_SCHEMA = pa.schema([("helper_number", pa.string()),
                               ("household_number", pa.string()), ("_row", pa.int64())])


def assignment_staging() -> Table:
    """The staging table of (helper, household) pairs exploded from the helpers file."""
    return bulk.table_for("staging_assignment", ASSIGNMENT_SCHEMA)


def _report(validated: Validated, rows: Iterable[Row], name: str, reason: str,
            **params: str) -> None:
    """Add a problem for each row the query found; params name the row's columns."""
    for row in rows:
        values = {key: str(row._mapping[col]) for key, col in params.items()}
        validated.add_at_row(row._row, name, reason, **values)


def check_regions(conn: Connection, staging: Table, validated: Validated) -> None:
    """Every parent is in the file or already in the registry."""
    in_file = select(staging.c.code).where(staging.c.code.is_not(None))
    rows = conn.execute(
        select(staging.c._row, staging.c.parent_code).where(
            staging.c.parent_code.is_not(None),
            staging.c.parent_code.not_in(in_file),
            staging.c.parent_code.not_in(select(region.c.code)),
        )
    )
    _report(validated, rows, "code",
                       "Its parent {parent} is neither in the file nor in the registry.",
                       parent="parent_code")


def check_households(conn: Connection, staging: Table, validated: Validated) -> None:
    """The village of every household is registered."""
    rows = conn.execute(
        select(staging.c._row, staging.c.village_code).where(
            staging.c.village_code.is_not(None),
            staging.c.village_code.not_in(select(region.c.code)),
        )
    )
    _report(validated, rows, "village_code",
                       "Village {code} is not in the registry: import the regions first.",
                       code="village_code")


def _household_exists(conn: Connection, staging: Table, validated: Validated,
                      column: str = "household_number") -> None:
    rows = conn.execute(
        select(staging.c._row, staging.c[column]).where(
            staging.c[column].is_not(None),
            staging.c[column].not_in(select(household.c.number)),
        )
    )
    _report(validated, rows, column,
                       "Household {number} is not in the registry: import households first.",
                       number=column)


def check_members(conn: Connection, staging: Table, validated: Validated) -> None:
    """Households exist; an ID number may not belong to another household already."""
    _household_exists(conn, staging, validated)
    other = conn.execute(
        select(staging.c._row, household.c.number.label("other"))
        .join(member, member.c.id_number == staging.c.id_number)
        .join(household, household.c.id == member.c.household_id)
        .where(household.c.number != staging.c.household_number)
    )
    _report(validated, other, "id_number",
                       "This ID number is already registered in household {other} "
                       "(database).", other="other")
    heads = conn.execute(
        select(staging.c._row, member.c.name.label("head"))
        .join(household, household.c.number == staging.c.household_number)
        .join(member, and_(member.c.household_id == household.c.id,
                           member.c.relation == "head"))
        .where(staging.c.relation == "head", member.c.id_number != staging.c.id_number)
    )
    _report(validated, heads, "relation",
                       "The household already has a head in the database ({head}).",
                       head="head")


def check_surveys(conn: Connection, staging: Table, validated: Validated) -> None:
    _household_exists(conn, staging, validated)


def check_helpers(conn: Connection, staging: Table, validated: Validated) -> None:
    """Stage one row per (helper, household) and check the households exist."""
    helpers, rows, households = [], [], []
    lists = validated.table.column("households").to_pylist()
    numbers = validated.table.column("number").to_pylist()
    for position, (number, cell) in enumerate(zip(numbers, lists, strict=True)):
        for item in (cell or "").split(";"):
            if item.strip():
                helpers.append(number)
                rows.append(int(validated.rows[position]))
                households.append(item.strip())
    exploded = pa.table([helpers, households, rows], schema=ASSIGNMENT_SCHEMA)
    assignments = bulk.staging_table(conn, "staging_assignment", ASSIGNMENT_SCHEMA)
    bulk.load(conn, assignments, exploded)
    missing = conn.execute(
        select(assignments.c._row, assignments.c.household_number).where(
            assignments.c.household_number.not_in(select(household.c.number))
        )
    )
    _report(validated, missing, "households",
                       "Household {number} is not in the registry: import households first.",
                       number="household_number")


CHECKS: dict[Kind, Callable[[Connection, Table, Validated], None]] = {
    Kind.REGIONS: check_regions,
    Kind.HOUSEHOLDS: check_households,
    Kind.MEMBERS: check_members,
    Kind.SURVEYS: check_surveys,
    Kind.HELPERS: check_helpers,
}
