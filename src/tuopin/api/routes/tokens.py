"""The caller's own API tokens: list, make (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from tuopin.api.deps import PrincipalDep, SessionDep
from tuopin.api.schemas import CreatedToken, NewToken, TokenInfo
from tuopin.services.access import tokens

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("", response_model=list[TokenInfo])
def list_tokens(db: SessionDep, principal: PrincipalDep) -> Any:
    """Your tokens, newest first (revoked ones too); never their secrets."""
    return tokens.list_tokens(db, principal=principal)


@router.post("", response_model=CreatedToken, status_code=201)
def create_token(db: SessionDep, principal: PrincipalDep, new: NewToken) -> Any:
    """A new token of your own account, with your role and region; its secret is in this
    answer only."""
    secret, info = tokens.create(db, principal=principal, name=new.name,
                                 expires_days=new.expires_days)
    return {"token": secret, "info": info}


@router.delete("/{token_id}", response_model=TokenInfo)
def revoke_token(db: SessionDep, principal: PrincipalDep,
                 token_id: Annotated[int, Path(ge=1, le=2**62)]) -> Any:
    """Revoke one of your tokens, at once and for good."""
    return tokens.revoke(db, principal=principal, token_id=token_id, own=True)
