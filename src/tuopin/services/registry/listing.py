"""Lists of the registry page by page, for programs (the API): households and members.

Pages are keyset pages - the records after a key, in key order - so that a list read while
others write neither skips nor repeats a record (OFFSET would). Personal numbers are masked
for a principal who does not need them, as on every page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Result, select
from sqlalchemy.orm import Session

from tuopin.services import records
from tuopin.services.access.masking import for_principal
from tuopin.services.access.policy import reads
from tuopin.services.access.principal import Principal
from tuopin.storage.models import HouseholdRecord, MemberRecord, SurveyRecord

HOUSEHOLD_FIELDS = ("number", "village_code", "address", "status", "category", "main_cause",
                    "other_causes", "year_identified", "year_exited", "phone",
                    "bank_account", "version")
MEMBER_FIELDS = ("id", "id_number", "name", "sex", "birth_date", "relation", "ethnicity",
                 "education", "schooling_status", "health", "disability_grade", "labour",
                 "months_worked_away", "medical_insurance", "critical_illness_insurance",
                 "pension_insurance", "dibao", "phone", "deceased_date", "version")


def _dicts(result: Result[Any]) -> list[dict[str, Any]]:
    """Rows as dicts: zipped with the keys once (Row._mapping rebuilds them per row, half
    the CPU of a 1,000-row page)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def _prefixed(code: str | None) -> Any:
    return True if not code else HouseholdRecord.village_code.startswith(code, autoescape=True)


@reads()
def household_page(db: Session, *, principal: Principal, after: str | None = None,
                   limit: int = 100, region: str | None = None, status: str | None = None,
                   identified_year: int | None = None,
                   survey_year: int | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` households after the number ``after``, in number order, filtered by a
    region code prefix, a status, the year identified or a year surveyed."""
    records.region_filter(principal, region)
    columns = [getattr(HouseholdRecord, f) for f in HOUSEHOLD_FIELDS]
    query = (select(*columns).where(records.in_scope(principal.scope), _prefixed(region))
             .order_by(HouseholdRecord.number).limit(limit))
    if after is not None:
        query = query.where(HouseholdRecord.number > after)
    if status is not None:
        query = query.where(HouseholdRecord.status == status)
    if identified_year is not None:
        query = query.where(HouseholdRecord.year_identified == identified_year)
    if survey_year is not None:
        query = query.where(select(SurveyRecord.id).where(
            SurveyRecord.household_id == HouseholdRecord.id,
            SurveyRecord.year == survey_year).exists())
    return for_principal(principal, _dicts(db.execute(query)))


@reads()
def member_page(db: Session, *, principal: Principal, after: int | None = None,
                limit: int = 100, region: str | None = None,
                number: str | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` members after the id ``after``, in id order, with their household's
    number; of one household (``number``) or of a region code prefix."""
    records.region_filter(principal, region)
    if number is not None:
        records.household(db, principal=principal, number=number)  # NotFound outside the scope
    columns = [getattr(MemberRecord, f) for f in MEMBER_FIELDS]
    query = (select(*columns, HouseholdRecord.number.label("household_number"))
             .join(HouseholdRecord, HouseholdRecord.id == MemberRecord.household_id)
             .where(records.in_scope(principal.scope), _prefixed(region))
             .order_by(MemberRecord.id).limit(limit))
    if after is not None:
        query = query.where(MemberRecord.id > after)
    if number is not None:
        query = query.where(HouseholdRecord.number == number)
    return for_principal(principal, _dicts(db.execute(query)))


@reads()
def member(db: Session, *, principal: Principal, member_id: int) -> dict[str, Any]:
    """One member with their household's number (NotFound outside the scope)."""
    record = records.member(db, principal=principal, member_id=member_id)
    row = {f: getattr(record, f) for f in MEMBER_FIELDS}
    row["household_number"] = record.household.number
    return for_principal(principal, row)


@reads()
def household(db: Session, *, principal: Principal, number: str) -> dict[str, Any]:
    """One household's own fields with its version (NotFound outside the scope)."""
    record = records.household(db, principal=principal, number=number)
    return for_principal(principal, {f: getattr(record, f) for f in HOUSEHOLD_FIELDS})
