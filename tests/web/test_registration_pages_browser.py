"""In a real browser: a village cadre registers a household from the village page, adding a
member row on the way (without JavaScript's help). Screenshots go to test-artifacts/.

A refused form answers 400, which the browser reports as a console error that the page
fixture fails on; refusals are tested without a browser (test_registration_pages.py)."""

from __future__ import annotations

from datetime import date

import pytest

from factories import VILLAGE, person_id
from web.test_browser import browser, log_in, page, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


def test_a_cadre_registers_a_household_with_an_extra_member_row(page: Page) -> None:  # noqa: F811
    log_in(page, "village-cadre")
    page.goto(f"/villages/{VILLAGE}")
    page.locator("#register").click()
    expect(page.locator("fieldset.member-row")).to_have_count(4)
    page.fill("#f-members\\.0\\.name", "新户主")
    page.fill("#f-members\\.0\\.id_number", person_id(date(1985, 6, 15), 31))
    page.locator("#add-row").click()
    expect(page.locator("fieldset.member-row")).to_have_count(5)
    expect(page.locator("#f-members\\.0\\.name")).to_have_value("新户主")  # kept
    page.fill("#f-members\\.4\\.name", "新孩子")
    page.fill("#f-members\\.4\\.id_number", person_id(date(2015, 1, 1), 42))
    page.select_option("#f-members\\.4\\.relation", "child")
    shot(page, "registration-form")
    page.locator("#save").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("h1")).to_contain_text(f"{VILLAGE}0004")
    expect(page.locator("#members")).to_contain_text("新孩子")
    shot(page, "registration-saved")
