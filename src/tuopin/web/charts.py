"""Plotly figures as JSON for static/app.js to draw (Plotly.js itself: /assets)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from tuopin.domain.enums import HouseholdStatus
from tuopin.i18n import translate


def households_by_status(summary: Mapping[str, int], lang: str) -> str:
    """A bar chart of the region's households by status."""
    poor = summary.get("poor_households", 0)
    exited = summary.get("exited_households", 0)
    monitored = summary.get("monitored_households", 0)
    ordinary = max(0, summary.get("households", 0) - poor - exited - monitored)
    statuses = [HouseholdStatus.ORDINARY, HouseholdStatus.POOR, HouseholdStatus.EXITED,
                HouseholdStatus.MONITORED]
    figure = {
        "data": [{"type": "bar", "x": [translate(s.title, lang) for s in statuses],
                  "y": [ordinary, poor, exited, monitored],
                  "marker": {"color": ["#8a8f98", "#c0392b", "#27ae60", "#e67e22"]}}],
        "layout": {"title": {"text": translate("Households by status", lang)},
                   "margin": {"l": 48, "r": 16, "t": 48, "b": 48}, "height": 320},
    }
    return json.dumps(figure, ensure_ascii=False)
