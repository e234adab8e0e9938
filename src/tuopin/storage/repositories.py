"""Queries of the registry, always through a Scope; services build on these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, and_, case, func, or_, select, union
from sqlalchemy.orm import Session, selectinload

from tuopin.domain.scope import Scope
from tuopin.storage.models import (
    HelperAssignmentRecord,
    HelperRecord,
    HouseholdRecord,
    MemberRecord,
    RegionRecord,
    SurveyRecord,
)
from tuopin.storage.scope import in_households, in_region

H, M, R, S = HouseholdRecord, MemberRecord, RegionRecord, SurveyRecord


class RegistryRepository:
    """Read access to regions, households and members inside one scope."""

    def __init__(self, db: Session, scope: Scope) -> None:
        self.db = db
        self.scope = scope

    @property
    def conn(self) -> Connection:
        return self.db.connection()

    def households_in_scope(self) -> Select:
        return select(H).where(in_region(self.scope, H.village_code))

    def household(self, number: str) -> HouseholdRecord | None:
        """One household with members and surveys loaded, or None outside the scope."""
        query = (
            self.households_in_scope().where(H.number == number)
            .options(selectinload(H.members), selectinload(H.surveys))
        )
        return self.db.execute(query).scalar_one_or_none()

    def search(self, text: str, limit: int = 50) -> Sequence[Any]:
        """Households matching a number, a member's name or an ID number."""
        term = text.strip()
        # An empty text lists the scope's households (a village page) by number. Otherwise
        # two limited index lookups (number prefix; member name prefix or ID number), then
        # the page of households with each head's name: no scan of either table and no join
        # against every head (measured: 14 s at 100k households on PostgreSQL before). All
        # in one statement: the lookups are subqueries whose LIMIT keeps them index lookups,
        # and the statement's text is the same for every search (a list of ids in IN (...)
        # made a new statement, compiled and planned again, for each count of matches).
        by_number = (select(H.id).where(H.number.startswith(term, autoescape=True))
                     .where(in_region(self.scope, H.village_code),
                            in_households(self.scope, H.number))
                     .order_by(H.number).limit(limit).subquery())
        ids: Any = select(by_number.c.id)
        if term:
            # the household's village as a per-row subquery: a primary-key lookup for each
            # matching member, where a join had PostgreSQL hash the whole county's households
            village = select(H.village_code).where(H.id == M.household_id).scalar_subquery()
            number = select(H.number).where(H.id == M.household_id).scalar_subquery()
            by_member = (select(M.household_id).where(
                or_(M.id_number == term.upper(), M.name.startswith(term, autoescape=True)),
                in_region(self.scope, village), in_households(self.scope, number))
                .limit(limit).subquery())
            ids = union(ids, select(by_member.c.household_id))
        head = (select(M.name).where(M.household_id == H.id, M.relation == "head")
                .limit(1).scalar_subquery())
        query = (
            select(H.number, H.village_code, H.status, head.label("head_name"),
                   R.name.label("village_name"))
            .outerjoin(R, R.code == H.village_code)
            .where(H.id.in_(ids), in_region(self.scope, H.village_code),
                   in_households(self.scope, H.number))
            .order_by(H.number).limit(limit)
        )
        return self.conn.execute(query).all()

    def regions(self, root: str | None, depth: int) -> Sequence[Any]:
        """Regions under ``root`` (or the scope) down to ``depth`` levels."""
        clause = in_region(self.scope, R.code)
        if root:
            clause = and_(clause, in_region(Scope(root), R.code))
        return self.conn.execute(select(R).where(clause).order_by(R.code)).all()

    def village_counts(self) -> Sequence[Any]:
        """Households, members and poor households per village, in scope."""
        living = func.sum(case((M.deceased_date.is_(None), 1), else_=0))
        members = (
            select(M.household_id, living.label("members")).group_by(M.household_id)
            .subquery("m")
        )
        query = (
            select(
                H.village_code,
                func.count(H.id).label("households"),
                func.coalesce(func.sum(members.c.members), 0).label("members"),
                func.sum(case((H.status == "poor", 1), else_=0)).label("poor"),
                func.sum(case((H.status == "exited", 1), else_=0)).label("exited"),
                func.sum(case((H.status == "monitored", 1), else_=0)).label("monitored"),
            )
            .outerjoin(members, members.c.household_id == H.id)
            .where(in_region(self.scope, H.village_code))
            .group_by(H.village_code)
        )
        return self.conn.execute(query).all()

    def status_counts(self) -> dict[str, int]:
        """Households per status in the scope (one grouped pass over households only)."""
        query = (select(H.status, func.count(H.id)).where(in_region(self.scope, H.village_code))
                 .group_by(H.status))
        return {status: int(count) for status, count in self.conn.execute(query).all()}

    def household_rows(self, number: str) -> tuple[Any, Sequence[Any], Sequence[Any]] | None:
        """One household, its members and its surveys as plain rows (no ORM objects: the
        household page reads them on every request), or None outside the scope."""
        home = self.conn.execute(select(H.__table__).where(
            H.number == number, in_region(self.scope, H.village_code),
            in_households(self.scope, H.number))).first()
        if home is None:
            return None
        members = self.conn.execute(select(M.__table__).where(M.household_id == home.id)
                                    .order_by(M.id)).all()
        surveys = self.conn.execute(select(S.__table__).where(S.household_id == home.id)
                                    .order_by(S.year)).all()
        return home, members, surveys

    def helpers_of(self, household_id: int) -> Sequence[Any]:
        query = (
            select(HelperRecord.number, HelperRecord.name, HelperRecord.unit,
                   HelperRecord.phone, HelperAssignmentRecord.start_date)
            .join(HelperAssignmentRecord, HelperAssignmentRecord.helper_id == HelperRecord.id)
            .where(HelperAssignmentRecord.household_id == household_id)
        )
        return self.conn.execute(query).all()

    def helper_count(self) -> int:
        """Helpers with at least one household in the scope."""
        query = select(func.count(func.distinct(HelperAssignmentRecord.helper_id))).join(
            H, H.id == HelperAssignmentRecord.household_id).where(
            in_region(self.scope, H.village_code))
        return int(self.conn.execute(query).scalar_one())

    def counts(self) -> dict[str, int]:
        """Totals of the registry inside the scope."""
        in_scope = in_region(self.scope, H.village_code)
        households = select(func.count(H.id)).where(in_scope)
        # the living, as the region tree counts them; those who died, apart
        members = (select(func.count(M.id), func.count(M.deceased_date))
                   .join(H, H.id == M.household_id).where(in_scope))
        surveys = select(func.count(S.id)).join(H, H.id == S.household_id).where(in_scope)
        regions = select(func.count()).select_from(R).where(in_region(self.scope, R.code))
        everyone, deceased = self.conn.execute(members).one()
        return {
            "regions": self.conn.execute(regions).scalar_one(),
            "households": self.conn.execute(households).scalar_one(),
            "members": everyone - deceased,
            "deceased_members": deceased,
            "surveys": self.conn.execute(surveys).scalar_one(),
            "helpers": self.helper_count(),
        }
