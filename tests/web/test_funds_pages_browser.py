"""The funds pages in a real browser: a village cadre follows the dashboard's funds card to
their project, reveals a payment's account in place (an audited reveal), and downloads the
village's disclosure. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from web.personas import P_VILLAGE, PAY_ACCOUNT
from web.test_browser import browser, log_in, page, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402


def test_a_cadre_opens_their_project_reveals_an_account_and_downloads_the_notice(
        page: Page) -> None:  # noqa: F811
    log_in(page, "village-cadre")
    expect(page.locator("#card-funds-disbursed")).to_contain_text("1,000.00")
    page.click("#funds-card h2 a")
    expect(page.locator("#project-balances")).to_contain_text(P_VILLAGE)
    shot(page, "funds-village")
    page.click(f"a[href='/funds/projects/{P_VILLAGE}']")
    row = page.locator("tr[data-payment='D001']")
    expect(row).to_contain_text("*" * (len(PAY_ACCOUNT) - 4) + PAY_ACCOUNT[-4:])
    row.locator("form:has(input[value='account']) .reveal").click()
    expect(row.locator(".revealed")).to_have_text(PAY_ACCOUNT)
    shot(page, "funds-project")
    with page.expect_download() as download:
        page.click("#disclosure a >> nth=0")
    assert download.value.suggested_filename == f"disclosure-{P_VILLAGE}.xlsx"
