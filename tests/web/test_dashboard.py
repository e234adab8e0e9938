"""The dashboard on /: figures of the user's region from the newest run, charts as JSON,
the breakdown one level down with drill-down links, nothing from outside the region."""

from __future__ import annotations

import html as htmllib
import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from factories import COUNTY, OTHER_VILLAGE, VILLAGE
from web.personas import OUTSIDE_COUNTY
from web.test_access import expect

Clients = Callable[[str | None], TestClient]


@pytest.mark.parametrize(("persona", "status"), list(expect(200).items()))
def test_each_persona_gets_the_dashboard_of_its_region(client_for: Clients,
                                                       persona: str | None, status: int) -> None:
    assert client_for(persona).get("/?standard=cn-national").status_code == status


def _card(html: str, name: str) -> str:
    found = re.search(rf'id="card-{name}"><b>(?:<a [^>]*>)?([^<]*)<', html)
    assert found, name
    return found.group(1)


def _figure(html: str, chart: str) -> dict[str, object]:
    found = re.search(rf'id="{chart}" data-figure="([^"]*)"', html)
    assert found, chart
    figure = json.loads(htmllib.unescape(found.group(1)))
    assert isinstance(figure, dict)
    return figure


def test_the_county_dashboard_shows_the_runs_figures_and_both_charts(
        client_for: Clients) -> None:
    html = client_for("county_officer").get("/").text
    assert "cn-national" in html and "2019" in html
    assert int(_card(html, "population")) == 10  # five households of two
    assert int(_card(html, "poor-households")) > 0
    assert _card(html, "incidence").endswith("%")
    assert _card(html, "overdue") == "0" and _card(html, "exits") == "0"
    bars = _figure(html, "incidence-chart")["data"][0]  # type: ignore[index]
    assert bars["type"] == "bar" and bars["x"] == ["平襄镇", "义岗镇"]
    line = _figure(html, "trend-chart")["data"][0]  # type: ignore[index]
    assert line["type"] == "scatter" and line["x"] == ["2019"]


def test_the_exits_card_names_the_latest_year_with_data_not_today(
        client_for: Clients) -> None:
    # the world's one run is of 2019; the app's today is in 2026
    html = client_for("county_officer").get("/").text
    label = re.search(r'id="card-exits"><b>[^<]*</b><span>([^<]*)</span>', html)
    assert label and "2019" in label.group(1) and "2026" not in label.group(1)


def test_the_breakdown_drills_down_to_the_next_level(client_for: Clients) -> None:
    county = client_for("county_officer").get("/").text
    table = county.split('id="breakdown"')[1].split("</table>")[0]
    assert set(re.findall(r'href="/regions\?root=(\d{12})"', table)) == {
        "621121001000", "621121002000"}
    village = client_for("village_cadre").get("/").text
    assert 'id="breakdown"' not in village and 'id="incidence-chart"' not in village


@pytest.mark.parametrize(("persona", "inside"), [
    ("county_officer", COUNTY), ("village_cadre", VILLAGE), ("other_cadre", OTHER_VILLAGE),
    ("outsider", OUTSIDE_COUNTY)])
def test_no_figure_comes_from_outside_the_users_region(client_for: Clients, persona: str,
                                                       inside: str) -> None:
    html = client_for(persona).get("/").text
    codes = set(re.findall(r'href="/(?:regions\?root=|villages/)(\d{12})"', html))
    assert all(code.startswith(inside) for code in codes)
    people = {"county_officer": 10, "village_cadre": 6, "other_cadre": 4, "outsider": 2}
    assert int(_card(html, "population")) == people[persona]
