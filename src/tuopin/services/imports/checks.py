"""Checks of staged import rows against the database, as set-based queries.

Each check adds its problems to the Validated file; the staging table carries ``_row``.
The scope checks (SCOPE_CHECKS) run only for a caller confined to a region: a row that would
write a region, village or household outside it - or change a household or helper that lives
or works outside it - is a problem on that row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
from sqlalchemy import ColumnElement, Connection, Row, Table, and_, exists, not_, select

from tuopin.domain.scope import Scope
from tuopin.io.schema import Kind
from tuopin.io.validate import Validated
from tuopin.services.access.probes import ASK_THE_COUNTY
from tuopin.services.registry.households import BY_PROCEDURE, PROCEDURE_FIELDS
from tuopin.storage import bulk
from tuopin.storage.models import (
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    table_of,
)
from tuopin.storage.scope import in_region

region = table_of(RegionRecord)
household = table_of(HouseholdRecord)
member = table_of(MemberRecord)
helper = table_of(HelperRecord)
assignment = table_of(HelperAssignmentRecord)

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


def _absent(column: Any, value: Any) -> ColumnElement[bool]:
    """No row of ``column``'s table has ``value``: NOT EXISTS, which PostgreSQL runs as an
    anti-join. ``NOT IN (subquery)`` is hashed only while the subquery fits in work_mem;
    past that (a registry's 500,000 household numbers) it compares every staged row with
    every registered one and an import of a province's members never ends."""
    return ~exists().where(column == value)


def check_regions(conn: Connection, staging: Table, validated: Validated,
                  scope: Scope | None = None) -> None:
    """Every parent is in the file or already in the registry."""
    in_file = staging.alias("in_file")
    rows = conn.execute(
        select(staging.c._row, staging.c.parent_code).where(
            staging.c.parent_code.is_not(None),
            _absent(in_file.c.code, staging.c.parent_code),
            _absent(region.c.code, staging.c.parent_code),
        )
    )
    _report(validated, rows, "code",
                       "Its parent {parent} is neither in the file nor in the registry.",
                       parent="parent_code")


def check_households(conn: Connection, staging: Table, validated: Validated,
                     scope: Scope | None = None) -> list[str]:
    """The village of every household is registered; a registered household keeps its
    status (and the years that go with it): only the procedures change them."""
    rows = conn.execute(
        select(staging.c._row, staging.c.village_code).where(
            staging.c.village_code.is_not(None),
            _absent(region.c.code, staging.c.village_code),
        )
    )
    _report(validated, rows, "village_code",
                       "Village {code} is not in the registry: import the regions first.",
                       code="village_code")
    for column in PROCEDURE_FIELDS:
        changed = conn.execute(
            select(staging.c._row, household.c[column].label("stored"))
            .join(household, household.c.number == staging.c.number)
            # a household outside the scope is refused as such (a probe): comparing its
            # status would tell the status to whoever guesses it
            .where(staging.c[column].is_distinct_from(household.c[column]),
                   in_region(scope or Scope(), household.c.village_code)))
        _report(validated, changed, column, BY_PROCEDURE)
    return []


def _household_exists(conn: Connection, staging: Table, validated: Validated,
                      column: str = "household_number") -> None:
    rows = conn.execute(
        select(staging.c._row, staging.c[column]).where(
            staging.c[column].is_not(None),
            _absent(household.c.number, staging.c[column]),
        )
    )
    _report(validated, rows, column,
                       "Household {number} is not in the registry: import households first.",
                       number=column)


def check_members(conn: Connection, staging: Table, validated: Validated,
                  scope: Scope | None = None) -> list[str]:
    """Households exist; an ID number may not belong to another household already."""
    _household_exists(conn, staging, validated)
    other = conn.execute(
        select(staging.c._row, staging.c.id_number, household.c.number.label("other"),
               household.c.village_code)
        .join(member, member.c.id_number == staging.c.id_number)
        .join(household, household.c.id == member.c.household_id)
        .where(household.c.number != staging.c.household_number)
    ).all()
    # a household outside the caller's region is not named: tuopin never confirms it exists
    seen = [r for r in other if scope is None or scope.covers(r.village_code)]
    _report(validated, seen, "id_number",
                       "This ID number is already registered in household {other} "
                       "(database).", other="other")
    hidden = [r for r in other if r not in seen]
    _report(validated, hidden, "id_number", ASK_THE_COUNTY)
    heads = conn.execute(
        select(staging.c._row, member.c.name.label("head"))
        .join(household, household.c.number == staging.c.household_number)
        .join(member, and_(member.c.household_id == household.c.id,
                           member.c.relation == "head"))
        .where(staging.c.relation == "head", member.c.id_number != staging.c.id_number,
               in_region(scope or Scope(), household.c.village_code))
    )
    _report(validated, heads, "relation",
                       "The household already has a head in the database ({head}).",
                       head="head")
    return [r.id_number for r in hidden]


def check_surveys(conn: Connection, staging: Table, validated: Validated,
                  scope: Scope | None = None) -> None:
    _household_exists(conn, staging, validated)


def check_helpers(conn: Connection, staging: Table, validated: Validated,
                  scope: Scope | None = None) -> None:
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
            _absent(household.c.number, assignments.c.household_number)
        )
    )
    _report(validated, missing, "households",
                       "Household {number} is not in the registry: import households first.",
                       number="household_number")


def scope_regions(conn: Connection, staging: Table, validated: Validated, scope: Scope) -> None:
    """Only regions inside the scope."""
    rows = conn.execute(select(staging.c._row, staging.c.code).where(
        staging.c.code.is_not(None), not_(in_region(scope, staging.c.code))))
    _report(validated, rows, "code", "Region {code} is outside your region.", code="code")


def scope_households(conn: Connection, staging: Table, validated: Validated,
                     scope: Scope) -> list[str]:
    """Households of villages inside the scope, and no household moved in from outside."""
    rows = conn.execute(select(staging.c._row, staging.c.village_code).where(
        staging.c.village_code.is_not(None), not_(in_region(scope, staging.c.village_code))))
    _report(validated, rows, "village_code", "Village {code} is outside your region.",
            code="village_code")
    # The merge is by number: a row could otherwise move another region's household here.
    moved = conn.execute(
        select(staging.c._row, staging.c.number)
        .join(household, household.c.number == staging.c.number)
        .where(not_(in_region(scope, household.c.village_code)))
    )
    moved_rows = moved.all()
    _report(validated, moved_rows, "number", ASK_THE_COUNTY)
    return [r.number for r in moved_rows]


def _households_in_scope(conn: Connection, staging: Table, validated: Validated,
                         scope: Scope, column: str, name: str) -> None:
    rows = conn.execute(
        select(staging.c._row, staging.c[column])
        .join(household, household.c.number == staging.c[column])
        .where(not_(in_region(scope, household.c.village_code)))
    )
    # worded as for a household that does not exist: tuopin never confirms that a household
    # outside the caller's region exists
    _report(validated, rows, name,
            "Household {number} is not in the registry: import households first.",
            number=column)


def scope_members(conn: Connection, staging: Table, validated: Validated, scope: Scope) -> None:
    """Members and surveys only of households inside the scope."""
    _households_in_scope(conn, staging, validated, scope, "household_number",
                         "household_number")


def scope_helpers(conn: Connection, staging: Table, validated: Validated, scope: Scope) -> None:
    """Assignments to households inside the scope; no helper who also works outside it.

    Helpers have no region of their own: one who helps households elsewhere is shared with
    people who may not see those households, so only an unscoped user may change them.
    """
    pairs = assignment_staging()
    _households_in_scope(conn, pairs, validated, scope, "household_number", "households")
    shared = conn.execute(
        select(staging.c._row, staging.c.number)
        .join(helper, helper.c.number == staging.c.number)
        .join(assignment, assignment.c.helper_id == helper.c.id)
        .join(household, household.c.id == assignment.c.household_id)
        .where(not_(in_region(scope, household.c.village_code)))
        .distinct()
    )
    _report(validated, shared, "number",
            "Helper {number} also helps households outside your region.", number="number")


# Each takes the caller's scope (None: everything) for the wording of what it reports, and
# returns the values that collided with records outside it (probes), if it looks for any.
Check = Callable[[Connection, Table, Validated, Scope | None], list[str] | None]
ScopeCheck = Callable[[Connection, Table, Validated, Scope], list[str] | None]
CHECKS: dict[Kind, Check] = {
    Kind.REGIONS: check_regions,
    Kind.HOUSEHOLDS: check_households,
    Kind.MEMBERS: check_members,
    Kind.SURVEYS: check_surveys,
    Kind.HELPERS: check_helpers,
}

SCOPE_CHECKS: dict[Kind, ScopeCheck] = {
    Kind.REGIONS: scope_regions,
    Kind.HOUSEHOLDS: scope_households,
    Kind.MEMBERS: scope_members,
    Kind.SURVEYS: scope_members,
    Kind.HELPERS: scope_helpers,
}
