"""The region tree and a village's page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tuopin.services.registry import lookup
from tuopin.web.deps import PrincipalDep, SessionDep, StateDep, TodayDep

router = APIRouter()


@router.get("/regions")
def region_tree(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
                today: TodayDep, root: str | None = None) -> Response:
    nodes = lookup.tree(db, principal=principal, root=root)
    # the field collection card offers this year's survey form
    return state.templates.TemplateResponse(request, "regions.html", {
        "nodes": nodes, "root": root, "form_year": today.year})


@router.get("/villages/{code}")
def village(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
            code: str) -> Response:
    page = lookup.village(db, principal=principal, code=code)
    return state.templates.TemplateResponse(request, "village.html", page)
