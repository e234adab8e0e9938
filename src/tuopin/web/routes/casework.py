"""The household page's exit and monitoring panels (and, soon, the steps that move them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tuopin.domain.errors import NotFound
from tuopin.services import exits, monitoring
from tuopin.storage.scope import Scope
from tuopin.web.deps import AccessDep, SessionDep, StateDep, TodayDep
from tuopin.web.routes.plans import render, village_of

router = APIRouter(prefix="/households")


@router.get("/{number}/exit")
def exit_panel(request: Request, db: SessionDep, state: StateDep, access: AccessDep,
               number: str) -> Response:
    if not access.sees(number):
        raise NotFound(f"household {number} not found")
    case = exits.show(db, number=number, scope=access.scope)
    return render(request, state, "_exit_panel.html", "exit_page.html", {"case": case})


@router.get("/{number}/monitoring")
def monitoring_panel(request: Request, db: SessionDep, state: StateDep, access: AccessDep,
                     today: TodayDep, number: str) -> Response:
    village = Scope(village_of(db, access, number))  # a village's few cases, not the county's
    cases = [c for c in monitoring.list_cases(db, scope=village, as_of=today)
             if c["number"] == number]
    return render(request, state, "_monitoring_panel.html", "monitoring_page.html",
                   {"cases": cases, "number": number})
