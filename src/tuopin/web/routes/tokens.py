"""One's own API tokens in the browser: the list, a new token (its secret shown once), revoking.

A token acts in the API with its owner's role and region (services/access/tokens.py). This
page is about the logged-in user's own tokens only: a token of anyone else - even of an
account the user manages, whose tokens the command line handles - is not found here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tuopin.domain.errors import ValidationFailed
from tuopin.i18n import N_
from tuopin.io.problems import Problem
from tuopin.services.access import tokens
from tuopin.services.access.principal import Principal
from tuopin.web.deps import PrincipalDep, SessionDep, StateDep
from tuopin.web.routes.households import PostedForm

router = APIRouter(prefix="/tokens")

FIELDS = ("name", "expires_days")
# A page showing a secret must not be kept by the browser or a proxy.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BAD_DAYS = N_("Type a whole number of days, or leave it empty.")


@dataclass(frozen=True)
class TokenForm:
    """The page: one's tokens, and the new-token form with what was typed and its errors."""

    rows: list[tokens.Token]
    now: str  # ISO 8601 UTC, to tell live tokens from expired ones
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    template: str = "tokens.html"

    @classmethod
    def of(cls, db: Session, principal: Principal) -> TokenForm:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # as the service writes it
        return cls(tokens.list_tokens(db, principal=principal), now)

    def filled(self, form: FormData) -> TokenForm:
        return replace(self, values={name: str(form.get(name, "")).strip() for name in FIELDS})

    def days(self) -> int | None:
        """The days typed (None: the token never expires)."""
        typed = self.values.get("expires_days", "")
        if not typed:
            return None
        if not typed.isdigit() or len(typed) > 6:
            problem = Problem(0, "expires_days", typed, BAD_DAYS)
            raise ValidationFailed(problem.reason, [problem])
        return int(typed)

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> TokenForm:
        """The page again, each problem next to its field (others at the top)."""
        errors = {p.column: p.message(lang) for p in problems if p.column in FIELDS}
        general = [p.message(lang) for p in problems if p.column not in FIELDS]
        return replace(self, errors=errors, general=general or ([] if errors else [message]))


@router.get("")
def token_list(request: Request, db: SessionDep, state: StateDep,
               principal: PrincipalDep) -> Response:
    form = TokenForm.of(db, principal)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("")
def create(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
           posted: PostedForm) -> Response:
    form = TokenForm.of(db, principal).filled(posted)
    request.state.form = form  # errors.py shows the page again with each problem by its field
    secret, token = tokens.create(db, principal=principal, name=form.values["name"],
                                  expires_days=form.days())
    return state.templates.TemplateResponse(
        request, "token_created.html", {"token": token, "secret": secret}, headers=NO_STORE)


@router.post("/{token_id}/revoke")
def revoke(request: Request, db: SessionDep, principal: PrincipalDep,
           token_id: int) -> Response:
    # this page holds one's own tokens: another account's is not found here, even when the
    # service would let its manager revoke it (the command line does that)
    tokens.revoke(db, principal=principal, token_id=token_id, own=True)
    request.session["flash"] = N_("The token is revoked: the API refuses it from now on.")
    return RedirectResponse("/tokens", status_code=303)
