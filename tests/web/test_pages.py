"""The home page, the region tree and the village page show the user's region, counted."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from factories import COUNTY, OTHER_VILLAGE, VILLAGE
from tuopin.i18n import gettext
from web.personas import MINE, OTHERS

Clients = Callable[[str | None], TestClient]


def test_the_home_page_draws_the_households_by_status(client_for: Clients) -> None:
    html = client_for("county_officer").get("/").text
    figure = re.search(r'data-figure="([^"]+)"', html)
    assert figure
    data = json.loads(figure.group(1).replace("&#34;", '"'))["data"][0]
    assert data["y"] == [3, 2, 0, 0]  # the first household of each village is poor
    assert data["x"][1] == gettext("poor household", "zh")
    assert '<script src="/assets/plotly.min.js"' in html


def test_a_helper_sees_how_many_households_are_theirs(client_for: Clients) -> None:
    html = client_for("helper").get("/").text
    assert f"<b>2</b><span>{gettext('My households', 'zh')}</span>" in html


def test_the_region_tree_rolls_counts_up_and_links_villages(client_for: Clients) -> None:
    html = client_for("county_officer").get("/regions").text
    assert html.index(COUNTY) < html.index(VILLAGE) < html.index(OTHER_VILLAGE)
    assert f'href="/villages/{VILLAGE}"' in html and f'href="/regions?root={COUNTY}' in html
    county_row = html.split(f"<small class=\"code\">{COUNTY}000000")[1].split("</tr>")[0]
    assert re.findall(r"<td>(\d+)</td>", county_row) == ["5", "10", "2", "0", "0"]


def test_an_admin_drills_down_from_the_provinces(client_for: Clients) -> None:
    client = client_for("admin")
    assert VILLAGE not in client.get("/regions").text  # three levels: province to county
    assert f'href="/villages/{VILLAGE}"' in client.get(f"/regions?root={COUNTY}").text


def test_a_malformed_region_code_is_not_found(client_for: Clients) -> None:
    client = client_for("admin")
    assert client.get("/regions?root=12x").status_code == 404
    assert client.get("/villages/999").status_code == 404


def test_the_village_page_lists_its_households_with_their_heads(client_for: Clients) -> None:
    html = client_for("county_officer").get(f"/villages/{VILLAGE}").text
    assert re.findall(r'href="/households/(\d{16})"', html) == MINE
    assert "户主0" in html and not any(n in html for n in OTHERS)


def test_a_helper_sees_only_their_households_in_the_village(client_for: Clients) -> None:
    html = client_for("helper").get(f"/villages/{VILLAGE}").text
    assert re.findall(r'href="/households/(\d{16})"', html) == MINE[:2]


def test_an_unknown_page_is_a_translated_404(client_for: Clients) -> None:
    answer = client_for("county_officer").get("/no/such/page")
    assert answer.status_code == 404 and gettext("Not found", "zh") in answer.text


def test_a_bad_query_parameter_is_a_400_page(client_for: Clients) -> None:
    client = client_for("county_officer")
    answer = client.post(f"/households/{MINE[0]}/reveal",
                         data={"field": "phone", "member_id": "x",
                               "csrf_token": re.search(r'data-csrf="([^"]+)"',
                                                       client.get("/").text).group(1)})  # type: ignore[union-attr]
    assert answer.status_code == 400 and "<html" in answer.text
