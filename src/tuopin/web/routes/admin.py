"""Accounts in the browser: the list, a new account, disabling one, resetting a password.

An admin manages every account, a county officer the accounts below them in their county
(services/users.py: ``may_manage``). A password tuopin makes is shown once, on the page that
answers the form, and never again: only its argon2id hash is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tuopin.domain.enums import Role
from tuopin.domain.errors import ValidationFailed
from tuopin.i18n import N_
from tuopin.io.problems import Problem
from tuopin.services.access import users
from tuopin.services.access.principal import Principal
from tuopin.web.deps import PrincipalDep, SessionDep, StateDep
from tuopin.web.routes.households import PostedForm

router = APIRouter(prefix="/users")

FIELDS = ("username", "display_name", "role", "region_code", "helper_number", "password")
# A page showing a password must not be kept by the browser or a proxy.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class UserForm:
    """The new-account form: its choices, what was typed, and each refused field's reason."""

    roles: list[str]
    regions: list[dict[str, str]] | None  # None: too many to list, the code is typed
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    template: str = "user_new.html"

    @classmethod
    def empty(cls, db: Session, principal: Principal) -> UserForm:
        return cls([r.value for r in users.roles_for(principal)],
                   users.region_choices(db, principal=principal))

    def filled(self, form: FormData) -> UserForm:
        """The same form with what was posted (the password is never sent back)."""
        values = {name: str(form.get(name, "")).strip() for name in FIELDS}
        return replace(self, values=values)

    def role(self) -> Role:
        try:
            return Role.of(self.values.get("role", ""))
        except ValueError:
            problem = Problem(0, "role", self.values.get("role", ""), N_("Choose a role."))
            raise ValidationFailed(problem.reason, [problem]) from None

    def with_problems(self, problems: list[Problem], message: str, lang: str) -> UserForm:
        """The form again, each problem next to its field (others at the top)."""
        errors = {p.column: p.message(lang) for p in problems if p.column in FIELDS}
        general = [p.message(lang) for p in problems if p.column not in FIELDS]
        return replace(self, values={**self.values, "password": ""}, errors=errors,
                       general=general or ([] if errors else [message]))


def _password_page(request: Request, state: StateDep, account: str, password: str,
                   created: bool) -> Response:
    return state.templates.TemplateResponse(
        request, "user_password.html",
        {"account": account, "password": password, "created": created}, headers=NO_STORE)


@router.get("")
def account_list(request: Request, db: SessionDep, state: StateDep,
                 principal: PrincipalDep) -> Response:
    rows = users.accounts(db, principal=principal)
    return state.templates.TemplateResponse(request, "users.html", {"rows": rows})


@router.get("/new")
def new_form(request: Request, db: SessionDep, state: StateDep,
             principal: PrincipalDep) -> Response:
    form = UserForm.empty(db, principal)
    return state.templates.TemplateResponse(request, form.template, {"form": form})


@router.post("/new")
def add(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
        posted: PostedForm) -> Response:
    form = UserForm.empty(db, principal).filled(posted)
    request.state.form = form  # errors.py shows it again with each problem by its field
    values = form.values
    password = values["password"] or users.new_password()
    account = users.add(db, principal=principal, username=values["username"],
                        role=form.role(), region_code=values["region_code"] or None,
                        password=password, display_name=values["display_name"] or None,
                        helper_number=values["helper_number"] or None, hasher=state.hasher)
    return _password_page(request, state, account.username,
                          "" if values["password"] else password, created=True)


@router.post("/{username}/disable")
def disable(request: Request, db: SessionDep, principal: PrincipalDep,
            username: str) -> Response:
    users.disable(db, principal=principal, username=username)
    request.session["flash"] = N_("The account is disabled: its sessions end now.")
    return RedirectResponse("/users", status_code=303)


@router.post("/{username}/reset-password")
def reset_password(request: Request, db: SessionDep, state: StateDep,
                   principal: PrincipalDep, username: str) -> Response:
    password = users.reset_password(db, principal=principal, username=username,
                                    hasher=state.hasher)
    return _password_page(request, state, username, password, created=False)
