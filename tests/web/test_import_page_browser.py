"""In a real browser: a cadre uploads a households file with a bad row, reads the report,
uploads the corrected file and confirms it. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import OTHER_VILLAGE, VILLAGE, write_csv
from web.test_browser import browser, log_in, page, server, shot  # noqa: F401  (fixtures)
from web.test_import_page import app  # noqa: F401  (app: the fixture with a data folder)

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402

NEW = f"{VILLAGE}0009"


def test_a_cadre_reads_the_report_of_a_bad_file_then_imports_the_corrected_one(
        page: Page, tmp_path: Path) -> None:  # noqa: F811
    rows: list[dict[str, object]] = [
        {"number": NEW, "village_code": VILLAGE, "status": "ordinary"},
        {"number": f"{OTHER_VILLAGE}0009", "village_code": OTHER_VILLAGE, "status": "poor"}]
    bad = write_csv(tmp_path / "农户.csv", rows)
    log_in(page, "village-cadre")
    page.click("nav a[href='/import']")
    page.select_option("#kind", "households")
    page.set_input_files("#file", str(bad))
    shot(page, "import-form")
    page.click("#check")

    expect(page.locator("#problems tbody tr")).to_have_count(1)
    expect(page.locator("#problems tbody td").first).to_have_text("3")
    expect(page.locator("#confirm")).to_have_count(0)
    expect(page.locator("#confirm-skip")).to_be_visible()
    shot(page, "import-report")

    page.click("#again")
    good = write_csv(tmp_path / "农户-改.csv", rows[:1])
    page.select_option("#kind", "households")
    page.set_input_files("#file", str(good))
    page.click("#check")
    page.click("#confirm")
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("#count-inserted")).to_have_text("1")
    shot(page, "import-done")
