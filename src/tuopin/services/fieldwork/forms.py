"""What an area's enumerators take to the field: the survey form made for the area, and the
households file its household question picks from (one file per village or township); and
a verification plan's findings as a form over the households it drew.

Both go through the policy: the area must lie inside the caller's region (a region beside it
is refused, as regions are public knowledge), and the households are those of the caller's
scope. The households file names the household, its village, head and address - never an
ID number or a phone.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tuopin.domain import regions
from tuopin.domain.enums import Relation
from tuopin.domain.errors import Message, NotFound, PermissionDenied
from tuopin.i18n import LANGS, N_, translate
from tuopin.io.xlsform import Area, XLSForm, list_form, survey_form
from tuopin.io.xlsform_households import HouseholdChoice
from tuopin.services import records
from tuopin.services.access.policy import Action, reads
from tuopin.services.access.principal import Principal
from tuopin.services.verification import findings, plans, visits
from tuopin.standards.model import Standard
from tuopin.storage.models import HouseholdRecord, MemberRecord, RegionRecord


def _area(db: Session, principal: Principal, code: str) -> Area:
    """The region ``code`` if it is inside ``principal``'s region and in the registry."""
    try:
        normal = regions.normalize(code)
        regions.level_of(normal)
    except regions.RegionCodeError as exc:
        raise NotFound(f"region {code} not found") from exc
    if not principal.scope.covers(normal):
        raise PermissionDenied(Message(records.REGION_OUTSIDE, code=normal))
    name = db.scalar(select(RegionRecord.name).where(RegionRecord.code == normal))
    if name is None:
        raise NotFound(f"region {normal} not found")
    return Area(normal, name)


@reads(Action.READ)
def area(db: Session, *, principal: Principal, region: str) -> Area:
    """A region a form may be made for: inside the caller's region, in the registry."""
    return _area(db, principal, region)


@reads(Action.READ)
def area_form(db: Session, *, principal: Principal, region: str, standard: Standard,
              year: int, langs: Sequence[str] = LANGS,
              typed_household: bool = False) -> XLSForm:
    """The survey form of ``year`` for ``standard``, made for the region ``region``."""
    return survey_form(standard, year=year, langs=langs, area=_area(db, principal, region),
                       typed_household=typed_household)


@reads(Action.EXPORT)
def households(db: Session, *, principal: Principal, region: str) -> list[HouseholdChoice]:
    """The households of ``region`` in the caller's scope, by number: number, village, head
    (the living head of household) and address."""
    found = _area(db, principal, region)
    scope = principal.within(found.code).scope
    H, R = HouseholdRecord, RegionRecord
    head = aliased(MemberRecord)
    query = (
        select(H.number, H.village_code, R.name, head.name, H.address)
        .join(R, R.code == H.village_code)
        .outerjoin(head, (head.household_id == H.id)
                   & (head.relation == Relation.HEAD.value) & head.deceased_date.is_(None))
        .where(records.in_scope(scope))
        .order_by(H.number, head.id)
    )
    rows: dict[str, HouseholdChoice] = {}
    for number, village, village_name, head_name, address in db.execute(query):
        # two living heads is the registry's own problem to report; the list shows the first
        rows.setdefault(number, HouseholdChoice(number, village, village_name, head_name,
                                                address))
    return list(rows.values())


# -- a verification plan's sample as a form (第三方评估, 暗访督查) ----------------------------

SAMPLE_FILE = "sample.csv"  # not households.csv: Central would link the Entity List to it
PLAN_TITLE = N_("Verification plan {plan}")


def _verification_relevance() -> dict[str, str]:
    """A visited household has findings; one not visited has only the reason."""
    shown = {spec.name: "${visited} = 'yes'" for spec in findings.FIELDS
             if spec.name not in ("household_number", "visited")}
    return {**shown, "not_visited_reason": "${visited} = 'no'"}


@reads(Action.READ_VERIFICATION)
def verification_form(db: Session, *, principal: Principal, plan_id: int,
                      langs: Sequence[str] = LANGS) -> XLSForm:
    """The findings of ``plan_id`` as a form: the household picked from the plan's
    ``sample.csv``, then the findings' fields, for whoever may see the plan's list."""
    plans.find(db, principal=principal, plan_id=plan_id, need_list=True)
    title_lang = "zh" if "zh" in langs else langs[0]
    return list_form(findings.FIELDS, form_id=f"tuopin_verification_plan{plan_id}",
                     title=translate(PLAN_TITLE, title_lang, plan=plan_id),
                     choices_file=SAMPLE_FILE, langs=langs,
                     relevant=_verification_relevance())


@reads(Action.READ_VERIFICATION)
def verification_households(db: Session, *, principal: Principal, plan_id: int,
                            village: str | None = None) -> list[HouseholdChoice]:
    """The households ``plan_id`` drew that the caller may see (only ``village``'s if
    given), in the order of the draw, for the verification form's ``sample.csv``."""
    return [HouseholdChoice(row["household_number"], row["village_code"],
                            row["village"] or "", row["head"], row["address"])
            for row in visits.visit_list(db, principal=principal, plan_id=plan_id,
                                         village=village)]
