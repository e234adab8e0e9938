"""Jinja2 templates: autoescaped, with the catalog as ``_`` and the session's language."""

from __future__ import annotations

from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request

from tuopin.domain import enums
from tuopin.domain.enums import Titled
from tuopin.domain.fen import fen_grouped
from tuopin.i18n import LANGS, translate
from tuopin.services.access.policy import Action, role_may
from tuopin.web import csrf
from tuopin.web.deps import lang_of

ENUMS = {name: value for name, value in vars(enums).items()
         if isinstance(value, type) and issubclass(value, Titled) and value is not Titled}


def _context(request: Request) -> dict[str, Any]:
    lang = lang_of(request)

    def _(message: str, **values: object) -> str:
        return translate(message, lang, **values)

    def title(enum: str, value: object) -> str:
        """A stored enum id as its title in this language (the id itself if unknown)."""
        if value is None or value == "":
            return ""
        try:
            return translate(ENUMS[enum].of(str(value)).title, lang)
        except ValueError:
            return str(value)

    user = getattr(request.state, "user", None)

    def may(action: str) -> bool:
        """Whether the user's role may ``action`` (which links to offer; the services
        decide what is done)."""
        return user is not None and role_may(user.role, Action(action))

    flash = request.session.pop("flash", None) if "session" in request.scope else None
    return {"_": _, "title": title, "lang": lang, "langs": LANGS,
            "csrf_token": csrf.token(request), "user": user, "may": may,
            "flash": translate(flash, lang) if isinstance(flash, str) else None}


def make_templates() -> Jinja2Templates:
    """Templates from the package (works from a checkout and from an installed wheel)."""
    env = Environment(loader=PackageLoader("tuopin.web", "templates"),
                      autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True,
                      # templates ship with the package: no stat() of every file per render
                      auto_reload=False)
    env.filters["yuan"] = fen_grouped  # integer fen as "1,234.50": money is never a float
    return Jinja2Templates(env=env, context_processors=[_context])
