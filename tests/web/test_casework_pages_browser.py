"""In a real browser: a cadre proposes a household's exit from the panel on its page, and
records a shock that opens a monitoring case. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from web.test_browser import browser, log_in, page, server, shot  # noqa: F401  (fixtures)
from web.test_casework_pages import EXIT_RUN, H2, H3, app, clock  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


def test_a_cadre_proposes_an_exit_and_records_a_shock(page: Page) -> None:  # noqa: F811
    log_in(page, "village-cadre")
    page.goto(f"/households/{H2}")
    panel = page.locator("#exit-panel")  # loaded into the page by htmx
    expect(panel).to_have_attribute("data-state", "not_exited")
    panel.locator("details.step summary").first.click()
    expect(panel.locator(f"input[name=run][value='{EXIT_RUN}']")).to_have_count(1)
    panel.locator("textarea[name=minutes]").fill("村民主评议：同意退出")
    shot(page, "exit-propose")
    panel.locator("form.exit-propose button[type=submit]").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("#exit-panel")).to_have_attribute("data-state", "pre_exit")
    shot(page, "exit-proposed")

    page.goto(f"/households/{H3}")
    monitoring = page.locator("#monitoring-panel")
    monitoring.locator("details.step summary").last.click()
    monitoring.locator("select[name=kind]").select_option("disaster")
    monitoring.locator("form.monitoring-shock button[type=submit]").click()
    expect(page.locator("#monitoring-panel .monitoring-case")).to_have_attribute(
        "data-state", "proposed")
    shot(page, "monitoring-case-opened")
