"""The API's accounts (for those who manage them: services/access/users.py decides who).

An account has no version column: its ETag is a hash of what it holds (accounts.tag_of),
and a change or a disable needs it in If-Match.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response

from tuopin.api.deps import LimitDep, PrincipalDep, SessionDep
from tuopin.api.paging import decode_cursor, encode_cursor, etag, expected_tag
from tuopin.api.problems import WRITES
from tuopin.api.schemas import Page
from tuopin.api.schemas_users import Account, AccountChange, CreatedAccount, NewAccount
from tuopin.services.access import accounts, users

router = APIRouter(tags=["users"])
Cursor = Annotated[str | None, Query(max_length=200, description="From the last page's next")]
Username = Annotated[str, Path(max_length=64)]
IfMatch = Annotated[str | None, Header(description="The ETag of the account you read")]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # a password is in the answer


@router.get("/users", response_model=Page[Account])
def list_accounts(db: SessionDep, principal: PrincipalDep, limit: LimitDep,
                  cursor: Cursor = None) -> Any:
    """The accounts you manage, in username order, a page at a time."""
    after = decode_cursor(cursor, str)
    rows = users.accounts(db, principal=principal, after=after[0] if after else None,
                          limit=limit)
    return {"items": [{**r, "tag": accounts.tag_of(r)} for r in rows],
            "next": encode_cursor([rows[-1]["username"]]) if len(rows) == limit else None}


@router.get("/users/{username}", response_model=Account)
def get_account(response: Response, db: SessionDep, principal: PrincipalDep,
                username: Username) -> Any:
    """One account you manage; the ETag is its version."""
    found = accounts.account(db, principal=principal, username=username)
    response.headers["ETag"] = etag(found["tag"])
    return found


@router.post("/users", response_model=CreatedAccount, status_code=201, responses=WRITES)
def add_account(response: Response, db: SessionDep, principal: PrincipalDep,
                body: NewAccount) -> Any:
    """Add an account (a role and region you may give); a password tuopin makes is in the
    answer, this once."""
    password = body.password or users.new_password()
    users.add(db, principal=principal, username=body.username, role=body.role,
              region_code=body.region_code, password=password,
              display_name=body.display_name, helper_number=body.helper_number)
    found = accounts.account(db, principal=principal, username=body.username)
    response.headers.update({**NO_STORE, "ETag": etag(found["tag"])})
    return {"account": found, "password": None if body.password else password}


@router.patch("/users/{username}", response_model=Account, responses=WRITES)
def change_account(response: Response, db: SessionDep, principal: PrincipalDep,
                   username: Username, change: AccountChange,
                   if_match: IfMatch = None) -> Any:
    """Change an account's role, region, helper or name, only if If-Match is its version;
    a change of what it may reach ends its sessions."""
    found = accounts.change_tagged(db, principal=principal, username=username,
                                   tag=expected_tag(if_match),
                                   changes=change.model_dump(exclude_unset=True))
    response.headers["ETag"] = etag(found["tag"])
    return found


@router.post("/users/{username}/disable", response_model=Account, responses=WRITES)
def disable_account(response: Response, db: SessionDep, principal: PrincipalDep,
                    username: Username, if_match: IfMatch = None) -> Any:
    """Disable an account (its sessions end, its tokens stop working), only if If-Match is
    its version. Nobody disables their own."""
    found = accounts.disable_tagged(db, principal=principal, username=username,
                                    tag=expected_tag(if_match))
    response.headers["ETag"] = etag(found["tag"])
    return found
