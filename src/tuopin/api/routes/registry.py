"""Regions, households, members and surveys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from tuopin.api.deps import (
    LangDep,
    LimitDep,
    PrincipalDep,
    SessionDep,
    StateDep,
    TodayDep,
)
from tuopin.api.paging import (
    decode_cursor,
    encode_cursor,
    etag,
    expected_tag,
    expected_version,
)
from tuopin.api.problems import WRITES
from tuopin.api.schemas import (
    Household,
    HouseholdChange,
    HouseholdFile,
    Member,
    MemberValues,
    NewHousehold,
    Page,
    RegionNode,
    Registered,
    Survey,
    SurveyValues,
)
from tuopin.api.schemas_casework import plan_summary
from tuopin.domain.enums import HouseholdStatus
from tuopin.domain.errors import NotFound
from tuopin.services.access.masking import for_principal
from tuopin.services.exits import household_exits
from tuopin.services.monitoring import cases
from tuopin.services.plans import household_plans
from tuopin.services.registry import households, listing, lookup, registration, surveys

router = APIRouter(tags=["registry"])
Cursor = Annotated[str | None, Query(max_length=200, description="From the last page's next")]
RegionPrefix = Annotated[str | None, Query(pattern=r"^\d{2,12}$",
                                           description="A region code prefix (6211: a prefecture)")]
IfMatch = Annotated[str | None, Header(description="The ETag of the version you read")]


@router.get("/regions", response_model=list[RegionNode])
def regions(db: SessionDep, principal: PrincipalDep,
            root: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None) -> Any:
    """Three levels of the region tree from ``root`` (default: your region), each with its
    households, members, poor, exited and monitored households."""
    return lookup.tree(db, principal=principal, root=root)


@router.get("/households", response_model=Page[Household])
def list_households(db: SessionDep, principal: PrincipalDep, limit: LimitDep,
                    cursor: Cursor = None, region: RegionPrefix = None,
                    status: HouseholdStatus | None = None,
                    identified_year: Annotated[int | None, Query(ge=1949, le=2100)] = None,
                    survey_year: Annotated[int | None, Query(ge=1949, le=2100)] = None) -> Any:
    """Households in number order, a page at a time."""
    after = decode_cursor(cursor, str)
    rows = listing.household_page(db, principal=principal, after=after[0] if after else None,
                                  limit=limit, region=region,
                                  status=status.value if status else None,
                                  identified_year=identified_year, survey_year=survey_year)
    return {"items": rows,
            "next": encode_cursor([rows[-1]["number"]]) if len(rows) == limit else None}


@router.get("/households/{number}", response_model=HouseholdFile)
def get_household(response: Response, db: SessionDep, principal: PrincipalDep,
                  today: TodayDep, lang: LangDep, number: str) -> Any:
    """One household with its members, surveys, helpers and latest assessment (explained).
    The ETag is the household's version: send it in If-Match to change it."""
    detail = lookup.household(db, principal=principal, number=number, today=today, lang=lang)
    response.headers["ETag"] = etag(detail["household"]["version"])
    try:
        detail["plan"] = plan_summary(household_plans.show(db, principal=principal,
                                                           number=number))
    except NotFound:  # no plan (the household itself was found above)
        detail["plan"] = None
    # version 0: no exit case yet (its first step sends If-Match "0")
    detail["exit"] = {"version": 0,
                      **household_exits.show(db, principal=principal, number=number)}
    detail["monitoring"] = cases.list_cases(db, principal=principal, as_of=today,
                                            number=number)
    for row in (*detail["members"], *detail["surveys"]):
        row["household_number"] = number
    # helpers' phones are work numbers, on every contact card: only the household's masked
    return {**detail, "household": for_principal(principal, detail["household"]),
            "members": for_principal(principal, detail["members"])}


@router.patch("/households/{number}", response_model=Household, responses=WRITES)
def patch_household(response: Response, db: SessionDep, principal: PrincipalDep,
                    today: TodayDep, number: str, change: HouseholdChange,
                    if_match: IfMatch = None) -> Any:
    """Change a household's fields (the importer's rules), only if If-Match is its version."""
    version = expected_version(if_match)
    households.edit_household(db, principal=principal, number=number,
                              expected_version=version,
                              changes=change.model_dump(exclude_unset=True), today=today)
    saved = listing.household(db, principal=principal, number=number)
    response.headers["ETag"] = etag(saved["version"])
    return saved


@router.post("/households", response_model=Registered, status_code=201)
def register_household(response: Response, db: SessionDep, state: StateDep,
                       principal: PrincipalDep, today: TodayDep, new: NewHousehold) -> Any:
    """Register a household with its members (建档立卡), by the importer's rules; the status
    is set by registration (ordinary), never here."""
    added = registration.register_household(
        db, principal=principal, household=new.household.model_dump(exclude_unset=True),
        members=[m.model_dump() for m in new.members], today=today,
        probe_limiter=state.probes)
    response.headers["Location"] = f"households/{added['number']}"
    return added


@router.post("/households/{number}/members", response_model=Member, status_code=201)
def add_member(response: Response, db: SessionDep, state: StateDep, principal: PrincipalDep,
               today: TodayDep, number: str, values: MemberValues) -> Any:
    """Add a member to a household, by the importer's rules (one head per household, an ID
    number registered nowhere else)."""
    added = registration.add_member(db, principal=principal, number=number,
                                    values=values.model_dump(), today=today,
                                    probe_limiter=state.probes)
    row = listing.member(db, principal=principal, member_id=added["id"])
    response.headers["ETag"] = etag(row["version"])
    return row


@router.patch("/members/{member_id}", response_model=Member, responses=WRITES)
def patch_member(response: Response, db: SessionDep, state: StateDep,
                 principal: PrincipalDep, today: TodayDep,
                 member_id: Annotated[int, Path(ge=1, le=2**62)], change: MemberValues,
                 if_match: IfMatch = None) -> Any:
    """Correct a member's fields, only if If-Match is the member's version."""
    version = expected_version(if_match)
    current = listing.member(db, principal=principal, member_id=member_id)
    registration.edit_member(db, principal=principal, number=current["household_number"],
                             member_id=member_id,
                             expected_version=current["version"] if version is None else version,
                             changes=change.model_dump(exclude_unset=True), today=today,
                             probe_limiter=state.probes)
    row = listing.member(db, principal=principal, member_id=member_id)
    response.headers["ETag"] = etag(row["version"])
    return row


@router.get("/members", response_model=Page[Member])
def list_members(db: SessionDep, principal: PrincipalDep, limit: LimitDep,
                 cursor: Cursor = None, region: RegionPrefix = None,
                 household: Annotated[str | None, Query(max_length=32)] = None) -> Any:
    """Members in id order, a page at a time; of one household or of a region."""
    after = decode_cursor(cursor, int)
    rows = listing.member_page(db, principal=principal, after=after[0] if after else None,
                               limit=limit, region=region, number=household)
    return {"items": rows,
            "next": encode_cursor([rows[-1]["id"]]) if len(rows) == limit else None}


@router.get("/members/{member_id}", response_model=Member)
def get_member(response: Response, db: SessionDep, principal: PrincipalDep,
               member_id: Annotated[int, Path(ge=1, le=2**62)]) -> Any:
    """One member; the ETag is the member's version."""
    row = listing.member(db, principal=principal, member_id=member_id)
    response.headers["ETag"] = etag(row["version"])
    return row


@router.get("/households/{number}/surveys/{year}", response_model=Survey)
def get_survey(response: Response, db: SessionDep, principal: PrincipalDep, number: str,
               year: Annotated[int, Path(ge=1949, le=2100)]) -> Any:
    """The survey of ``year``; its ETag changes whenever a value does."""
    found = surveys.stored_survey(db, principal=principal, number=number, year=year)
    response.headers["ETag"] = etag(surveys.tag_of(found))
    return {"household_number": number, "year": year, **found}


@router.put("/households/{number}/surveys/{year}", response_model=Survey, responses=WRITES)
def put_survey(response: Response, db: SessionDep, principal: PrincipalDep, today: TodayDep,
               number: str, year: Annotated[int, Path(ge=1949, le=2100)],
               values: SurveyValues, if_match: IfMatch = None) -> Any:
    """Enter or correct the survey of ``year``. If-Match: the ETag read (``"new"`` for a
    survey not entered yet); a survey changed meanwhile is refused (412)."""
    saved = surveys.enter_survey_tagged(db, principal=principal, number=number, year=year,
                                        values=values.model_dump(), tag=expected_tag(if_match),
                                        today=today)
    response.headers["ETag"] = etag(surveys.tag_of(saved))
    return {**saved, "household_number": number, "year": year}

