"""The dashboard on ``/``: the user's region from the newest assessment run, with charts."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tuopin.i18n import translate
from tuopin.services.access import policy
from tuopin.services.access.policy import Action
from tuopin.services.funds import pages as funds
from tuopin.services.registry import queries as registry
from tuopin.services.reports import dashboard
from tuopin.services.reports.dashboard import Dashboard
from tuopin.web.charts import households_by_status
from tuopin.web.deps import LangDep, PrincipalDep, SessionDep, StateDep, TodayDep

router = APIRouter()
LAYOUT = {"margin": {"l": 56, "r": 16, "t": 48, "b": 64}, "height": 320}


def incidence_chart(board: Dashboard, lang: str) -> str:
    """Incidence (poor people ÷ people, %) of each region one level down, as bars."""
    rows = board.breakdown
    figure = {
        "data": [{"type": "bar", "x": [r["name"] for r in rows],
                  "y": [round(100 * r["incidence"], 2) if r["incidence"] is not None else None
                        for r in rows], "marker": {"color": "#c0392b"}}],
        "layout": {**LAYOUT, "title": {"text": translate("Incidence by region (%)", lang)},
                   "yaxis": {"rangemode": "tozero"}},
    }
    return json.dumps(figure, ensure_ascii=False)


def trend_chart(board: Dashboard, lang: str) -> str:
    """Poor households in each year's newest run of the standard, as a line."""
    figure = {
        "data": [{"type": "scatter", "mode": "lines+markers",
                  "x": [str(t["year"]) for t in board.trend],
                  "y": [t["poor_households"] for t in board.trend],
                  "line": {"color": "#1f4f99"}}],
        "layout": {**LAYOUT, "title": {"text": translate("Poor households by year", lang)},
                   "xaxis": {"type": "category"}, "yaxis": {"rangemode": "tozero"}},
    }
    return json.dumps(figure, ensure_ascii=False)


@router.get("/")
def home(request: Request, db: SessionDep, state: StateDep, principal: PrincipalDep,
         today: TodayDep, lang: LangDep,
         standard: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    def figures() -> tuple[dict[str, int], Dashboard]:
        return (registry.household_summary(db, principal=principal),
                dashboard.overview(db, principal=principal, as_of=today, standard=standard))

    # The counts of the registry and the workflows may be dashboard_cache_seconds old; the
    # poverty figures are the run's roll-up, which never changes.
    summary, board = state.figures.get(("home", principal.scope.region_code, today, standard),
                                       figures)
    card = (state.figures.get(("funds-card", principal.scope.region_code),
                              lambda: funds.card(db, principal=principal))
            if policy.allows(principal, Action.READ_FUNDS) else None)
    return state.templates.TemplateResponse(request, "home.html", {
        "summary": summary, "chart": households_by_status(summary, lang),
        "region": principal.scope.region_code, "board": board, "year": board.year,
        "incidence_chart": incidence_chart(board, lang), "trend_chart": trend_chart(board, lang),
        "mine": None if principal.households is None else len(principal.households),
        "funds": card,
    })
