"""Who each payment of a project went to, as the registry knows them.

A payment keeps its payee as typed (an ID number and/or a household number). Here the
payee is found in the registry: a member by ID number (their name and household), else a
household by number (the name of its head, the living one first). A payee the registry does
not know is shown as such, never guessed. A payee registered in a household outside the
reader's region is withheld: the payment (number, amount, date) still counts, so the lists
add up, but whom it went to is for those whose region covers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from tuopin.domain.enums import Relation
from tuopin.domain.scope import Scope
from tuopin.storage.models import DisbursementRecord, HouseholdRecord, MemberRecord

D = DisbursementRecord


@dataclass(frozen=True)
class Payment:
    """One payment of a project with its payee as the registry knows them."""

    number: str
    amount: int  # fen; negative for a reversal
    paid_on: date
    channel: str
    account: str | None
    payee_id_number: str | None  # as typed
    payee_household: str | None  # as typed
    reverses: str | None  # the number of the payment this one reverses
    reversed_by: str | None  # the number of the reversal of this one
    registered: bool  # the payee (the member, or the household paid) is in the registry
    name: str | None  # the member's name, or the household head's
    household: str | None  # the household the payee belongs to (as found, else as typed)
    village_code: str | None  # that household's village (None: not in the registry)

    @property
    def standing(self) -> bool:
        """Neither a reversal nor reversed: money that reached its payee."""
        return self.reverses is None and self.reversed_by is None

    def outside(self, scope: Scope) -> bool:
        """Whether the payee's registered household lies outside ``scope``."""
        return (self.village_code is not None and self.household is not None
                and not scope.reaches(village_code=self.village_code, number=self.household))


def payments(db: Session, *, project_id: int, after: tuple[date, str] | None = None,
             limit: int | None = None) -> list[Payment]:
    """Every payment of project ``project_id``, by date and number, its payee looked up
    (only the ``limit`` after the (date, number) ``after``: a keyset page)."""
    member, member_home, home = (aliased(MemberRecord), aliased(HouseholdRecord),
                                 aliased(HouseholdRecord))
    reversed_, reversal = aliased(D), aliased(D)
    head = (select(MemberRecord.name)
            .where(MemberRecord.household_id == home.id,
                   MemberRecord.relation == Relation.HEAD.value)
            .order_by(MemberRecord.deceased_date.is_not(None), MemberRecord.id)
            .limit(1).correlate(home).scalar_subquery())
    query = (
        select(D.number, D.amount, D.paid_on, D.channel, D.account, D.payee_id_number,
               D.payee_household, reversed_.number, reversal.number,
               member.name, member_home.number, member_home.village_code,
               home.number, home.village_code, head)
        .select_from(D)
        .outerjoin(reversed_, reversed_.id == D.reverses_id)
        .outerjoin(reversal, reversal.reverses_id == D.id)
        .outerjoin(member, member.id_number == D.payee_id_number)
        .outerjoin(member_home, member_home.id == member.household_id)
        .outerjoin(home, home.number == D.payee_household)
        .where(D.project_id == project_id)
        .order_by(D.paid_on, D.number)
        .limit(limit)
    )
    if after is not None:
        query = query.where(or_(D.paid_on > after[0],
                                and_(D.paid_on == after[0], D.number > after[1])))
    found = []
    for (number, amount, paid_on, channel, account, id_number, typed_home, reverses,
         reversed_by, member_name, member_number, member_village, home_number, home_village,
         head_name) in db.execute(query):
        if id_number:  # paid to a person: the registry must know that person
            registered, name = member_number is not None, member_name
            household = member_number or home_number
            village = member_village or home_village
        else:  # paid to a household: the registry must know the household
            registered, name = home_number is not None, head_name
            household, village = home_number, home_village
        found.append(Payment(
            number=number, amount=int(amount), paid_on=paid_on, channel=channel,
            account=account, payee_id_number=id_number, payee_household=typed_home,
            reverses=reverses, reversed_by=reversed_by, registered=registered, name=name,
            household=household or typed_home, village_code=village))
    return found
