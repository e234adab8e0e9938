"""In a real browser: a cadre opens a household with a plan, checks a measure off with an
uploaded photo, and sees the dashboard's charts drawn. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.personas import MINE
from web.test_browser import browser, log_in, page, server, shot  # noqa: F401  (fixtures)
from web.test_plans_pages import PNG, app  # noqa: F401  (app: the fixture with plans)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


def test_a_cadre_checks_a_measure_off_with_a_photo_and_sees_the_dashboard(
        page: Page, tmp_path: Path) -> None:  # noqa: F811
    log_in(page, "village-cadre")
    page.goto("/?standard=cn-national")
    expect(page.locator("#trend-chart .main-svg").first).to_be_visible()
    expect(page.locator("#card-population b")).to_have_text("6")
    shot(page, "dashboard-village")

    page.goto(f"/households/{MINE[0]}")
    row = page.locator("#measures tbody tr").first  # loaded into the page by htmx
    expect(row).to_have_attribute("data-status", "planned")
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    row.locator("details.step summary").first.click()
    row.locator("form.complete input[type=file]").set_input_files(str(photo))
    shot(page, "measure-upload")
    row.locator("form.complete button[type=submit]").click()

    expect(page.locator(".flash")).to_be_visible()
    done = page.locator("#measures tbody tr").first
    expect(done).to_have_attribute("data-status", "done")
    expect(done.locator("td.evidence")).to_have_text("1")
    shot(page, "measure-done")


def test_the_county_dashboard_draws_the_incidence_chart(page: Page) -> None:  # noqa: F811
    log_in(page, "county-officer")
    expect(page.locator("#incidence-chart .main-svg").first).to_be_visible()
    expect(page.locator("#trend-chart .main-svg").first).to_be_visible()
    expect(page.locator("#breakdown a")).to_have_count(2)
    shot(page, "dashboard-county")
