"""How each kind's staged rows are merged into the registry (see storage.bulk.merge)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Table

from tuopin.domain.enums import RegionLevel
from tuopin.io.schema import Kind
from tuopin.services.imports.checks import assignment_staging
from tuopin.storage.bulk import MergeCounts, merge
from tuopin.storage.models import (
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    SurveyRecord,
    table_of,
)

region = table_of(RegionRecord)
household = table_of(HouseholdRecord)
member = table_of(MemberRecord)
survey = table_of(SurveyRecord)
helper = table_of(HelperRecord)
assignment = table_of(HelperAssignmentRecord)

HOUSEHOLD_COLUMNS = ("number", "village_code", "address", "status", "category", "main_cause",
                     "other_causes", "year_identified", "year_exited", "phone", "bank_account")
MEMBER_COLUMNS = ("id_number", "name", "sex", "birth_date", "relation", "ethnicity",
                  "education", "schooling_status", "health", "disability_grade", "labour",
                  "months_worked_away", "medical_insurance", "critical_illness_insurance",
                  "pension_insurance", "dibao", "phone", "deceased_date")
SURVEY_COLUMNS = tuple(c.name for c in survey.columns if c.name not in ("id", "household_id"))
HELPER_COLUMNS = ("number", "name", "unit", "post", "phone", "id_number")


def merge_regions(conn: Connection, staging: Table) -> MergeCounts:
    """Level by level, so that a parent is always written before its children."""
    total = MergeCounts(0, 0, 0)
    values = {c: staging.c[c] for c in ("code", "name", "level", "parent_code", "western")}
    for level in RegionLevel:
        total += merge(conn, target=region, source=staging, key=("code",), values=values,
                       where=staging.c.level == int(level))
    return total


def merge_households(conn: Connection, staging: Table) -> MergeCounts:
    values = {c: staging.c[c] for c in HOUSEHOLD_COLUMNS}
    return merge(conn, target=household, source=staging, key=("number",), values=values,
                 versioned=True)


def _with_household(staging: Table, columns: tuple[str, ...]) -> dict:
    return {"household_id": household.c.id, **{c: staging.c[c] for c in columns}}


def merge_members(conn: Connection, staging: Table,
                  only: frozenset[str] | None = None) -> MergeCounts:
    """``only``: the columns a partial source has (a phone survey asks only what the standard
    reads); the others of a member already registered are kept as they are."""
    columns = tuple(c for c in MEMBER_COLUMNS if only is None or c in only or c == "id_number")
    return merge(conn, target=member, source=staging, key=("id_number",),
                 values=_with_household(staging, columns),
                 joins=[(household, household.c.number == staging.c.household_number)],
                 versioned=True)


def merge_surveys(conn: Connection, staging: Table) -> MergeCounts:
    return merge(conn, target=survey, source=staging, key=("household_id", "year"),
                 values=_with_household(staging, SURVEY_COLUMNS),
                 joins=[(household, household.c.number == staging.c.household_number)])


def merge_helpers(conn: Connection, staging: Table) -> MergeCounts:
    """Helpers by number, then their (helper, household) assignments."""
    counts = merge(conn, target=helper, source=staging, key=("number",),
                   values={c: staging.c[c] for c in HELPER_COLUMNS})
    pairs = assignment_staging()
    return counts + merge(
        conn, target=assignment, source=pairs, key=("helper_id", "household_id"),
        values={"helper_id": helper.c.id, "household_id": household.c.id,
                "start_date": staging.c.start_date},
        joins=[(helper, helper.c.number == pairs.c.helper_number),
               (household, household.c.number == pairs.c.household_number),
               (staging, staging.c._row == pairs.c._row)],
    )


MERGES: dict[Kind, Callable[[Connection, Table], MergeCounts]] = {
    Kind.REGIONS: merge_regions,
    Kind.HOUSEHOLDS: merge_households,
    Kind.MEMBERS: merge_members,
    Kind.SURVEYS: merge_surveys,
    Kind.HELPERS: merge_helpers,
}
